"""Where the event listener listens, the URL the server is given, and whether a server on
another machine can reach it (docs/infinity.md "Events").

`events.listen_host` empty (the default) binds 127.0.0.1 for a server on this machine and,
for a server elsewhere, this machine's address on the route to it. The URL is
`events.public_url` when set (behind NAT), else http://the bound address:port. What
cannot work at a real site (a loopback URL for a server elsewhere, a port that changes at
every start) is said in one line each: daemon.log, `cc daemon start`, `cc status`.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field
from urllib.parse import urlsplit

EVERY_ADDRESS = ("0.0.0.0", "::")
PROBE = "/cc-ping"      # the listener answers "cc event listener ID" there (`cc doctor`)


def _addresses(host: str) -> list[ipaddress._BaseAddress]:
    """The addresses `host` stands for; [] when it resolves to none."""
    try:
        return [ipaddress.ip_address(host.strip("[]").split("%")[0])]
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in found]


def local_only(host: str) -> str | None:
    """What makes `host` unreachable from another machine ("a loopback address", ...),
    or None when it may be reachable (or cannot be told: a name that does not resolve)."""
    addresses = _addresses(host)
    if not addresses:
        return None
    if all(a.is_loopback for a in addresses):
        return "a loopback address"
    if all(a.is_link_local for a in addresses):
        return "a link-local address"
    if all(a.is_unspecified for a in addresses):
        return "no address in particular"
    return None


def on_this_machine(host: str) -> bool:
    """True when the server's host is a loopback address (a name that resolves to none
    counts as another machine's)."""
    addresses = _addresses(host)
    return bool(addresses) and all(a.is_loopback for a in addresses)


def route_address(host: str, port: int) -> str | None:
    """This machine's address on the route to host:port (no packet is sent), or None."""
    addresses = _addresses(host)
    if not addresses:
        return None
    family = socket.AF_INET6 if addresses[0].version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.connect((str(addresses[0]), port))
            return probe.getsockname()[0].split("%")[0]
    except OSError:
        return None


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


@dataclass
class Plan:
    """Where to bind, and what the URL and its warnings will be once the port is known."""

    bind: str
    remote: bool                # the server is on another machine
    route: str | None           # this machine's address toward the server
    public_url: str
    fixed_port: bool
    token: str
    server: str
    warnings: list[str] = field(default_factory=list)
    local_only: str | None = None   # why the URL cannot be reached from another machine

    def url(self, port: int) -> str:
        """The events URL the server is to push to, and the warnings it earns (resolves a
        name in events.public_url: call off the loop)."""
        if self.public_url:
            url = self.public_url.rstrip("/")
        else:
            host = self.bind
            if host in EVERY_ADDRESS:
                host = self.route if self.remote and self.route else \
                    ("::1" if host == "::" else "127.0.0.1")
            url = f"http://{url_host(host)}:{port}"
        self.warnings = self._warnings(url)
        return f"{url}/{self.token}" if self.token else url

    def _warnings(self, url: str) -> list[str]:
        self.local_only = why = local_only(urlsplit(url).hostname or "")
        if not self.remote:
            return []
        said = []
        if why and self.bind in EVERY_ADDRESS and not self.route and not self.public_url:
            said.append(f"cannot tell this machine's address toward the server {self.server} "
                        f"(its name does not resolve, or no route leads there), so the events "
                        f"URL {url} is {why}; set events.public_url to the URL the server "
                        "reaches, or events.listen_host to this machine's address")
        elif why:
            fix = ("events.public_url to a URL it reaches" if self.public_url else
                   "events.listen_host to an address of this machine it reaches (empty: "
                   "chosen for you), and events.public_url behind NAT")
            said.append(f"the server {self.server} is on another machine, but the events URL "
                        f"{url} is {why}: it cannot push events there (the daemon polls "
                        f"instead); set {fix}")
        if not self.fixed_port and not self.public_url:
            said.append("events.listen_port is 0: the listener takes a new port at every "
                        "start, which no firewall rule or eventsURL can name; set one, e.g. "
                        "`cc config set events.listen_port 8085`")
        return said


def plan(settings: dict) -> Plan:
    """The listener's address from the settings (resolves names: call off the loop)."""
    server = settings["server.host"]
    remote = not on_this_machine(server)
    bind = settings["events.listen_host"]
    route = route_address(server, settings["server.port"]) if remote else None
    if not bind:
        bind = (route or "0.0.0.0") if remote else "127.0.0.1"
    return Plan(bind, remote, route, settings["events.public_url"],
                bool(settings["events.listen_port"]), settings["events.token"], server)
