"""The agent's profile: where config, data, journal and sockets live, and the settings.

Shared by the CLI and the daemon, so it imports nothing heavy at module level.
`CC_HOME=DIR` moves everything under DIR, so several agents (and tests) never collide.
"""

from __future__ import annotations

import math
import os
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .states import AGENT_STATES, setting_key

APP = "cc"


class ConfigError(Exception):
    """A settings problem, worded as one line that names the problem and the fix."""


@dataclass(frozen=True)
class Setting:
    """One setting: its default (which fixes its type), the comment a new config file
    shows, and optionally what it accepts: a range, a list of choices, or a check that
    returns what a wrong value should have been (None when the value is fine)."""

    key: str
    default: object
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    check: Callable[[Any], str | None] | None = None

    @property
    def kind(self) -> type:
        return type(self.default)

    def accepts(self) -> str:
        """What the setting takes, in words: the end of "KEY must be ..."."""
        if self.choices:
            return "one of " + ", ".join(self.choices)
        words = {bool: "true or false", int: "a whole number", float: "a number",
                 str: "text"}[self.kind]
        low, high = (None if x is None else f"{x:.0f}" if float(x).is_integer() else f"{x:g}"
                     for x in (self.minimum, self.maximum))
        if low is not None and high is not None:
            return f"{words} from {low} to {high}"
        if low is not None:
            return f"{words} of at least {low}"
        if high is not None:
            return f"{words} of at most {high}"
        return words

    def refuses(self, value) -> str | None:
        """What the (already typed) value should have been, or None when it is fine."""
        if isinstance(value, float) and not math.isfinite(value):
            return self.accepts()
        if self.choices and value not in self.choices:
            return self.accepts()
        if self.minimum is not None and value < self.minimum:
            return self.accepts()
        if self.maximum is not None and value > self.maximum:
            return self.accepts()
        return self.check(value) if self.check else None


def _host(value: str, bracketed: bool = True) -> str | None:
    """A host name or address: no scheme, path, port or spaces. An IPv6 address goes in
    brackets where it becomes a URL's host ([::1]), bare where it is bound (::1)."""
    ipv6 = "[::1]" if bracketed else "::1"
    wanted = f"a host name or address (no http://, path or port), e.g. pbx.example.local, " \
             f"10.0.0.5 or {ipv6}"
    if not value or any(c.isspace() or c in "/?#@" for c in value):
        return wanted
    if ":" in value:        # only an IPv6 address has colons
        import ipaddress

        address = value[1:-1] if bracketed and value[:1] + value[-1:] == "[]" else value
        try:
            ipaddress.IPv6Address(address)
        except ValueError:
            return wanted
        if bracketed and address == value:
            return wanted
    return None


def _bind_host(value: str) -> str | None:
    """Empty (chosen at start), or an address (or name) to bind, IPv6 without brackets."""
    if value and _host(value, bracketed=False):
        return ("empty (chosen at start), 0.0.0.0 (every address), or one address of this "
                "machine (no http://, path or port), e.g. 192.0.2.10 or ::1")
    return None


def _events_url(value: str) -> str | None:
    """Empty, or the http(s) URL the server pushes events to: no query, fragment or login."""
    from urllib.parse import urlsplit

    if problem := _web_url(value):
        return problem + " (e.g. http://203.0.113.7:8085)"
    parts = urlsplit(value)
    if parts.query or parts.fragment or "#" in value or "?" in value:
        return "a URL without ?query or #fragment (the server adds each event's own)"
    if parts.username is not None:
        return "a URL without user@ (a secret goes in events.token)"
    return None


def _web_url(value: str) -> str | None:
    """Empty, or an http(s) URL with a host."""
    from urllib.parse import urlsplit

    if not value:
        return None
    try:
        parts = urlsplit(value)
        parts.port      # raises on a port that is not a number in range
    except ValueError as exc:
        return f"an http:// or https:// URL ({exc}), or empty"
    if parts.scheme not in ("http", "https") or not parts.hostname or " " in value:
        return "an http:// or https:// URL with a host, or empty"
    return None


def _endpoint(value: str) -> str | None:
    """Empty, or tcp://HOST:PORT for ZeroMQ to bind (HOST may be * for every address)."""
    import re

    found = re.fullmatch(r"tcp://(\*|\[[0-9A-Fa-f:.]+\]|[^\s:/\[\]]+):(\d{1,5})", value)
    if value and not (found and 1 <= int(found.group(2)) <= 65535):
        return "tcp://HOST:PORT with a port from 1 to 65535 (e.g. tcp://0.0.0.0:5555), or empty"
    return None


def _number_mask(value: str) -> str | None:
    """A format with the counter {n} that formats, and no giant widths."""
    import re
    import string

    wanted = "a mask with {n} for the counter, e.g. CALL-{n:06} or {n}"
    try:
        fields = list(string.Formatter().parse(value))
        names = {name for _, name, _, _ in fields if name is not None}
        if names != {"n"}:      # the counter, and nothing else (no n.attribute either)
            return wanted
        if any(int(digits) > 99 for _, _, spec, _ in fields
               for digits in re.findall(r"\d+", spec or "")):
            return f"{wanted}, with widths under 100"
        value.format(n=1)
    except (ValueError, KeyError, IndexError, AttributeError, TypeError) as exc:
        return f"{wanted} ({exc})"
    return None


def _break_reasons(value: str) -> str | None:
    """Comma-separated reasons, each a name, or name=ID for a server state of its own."""
    import re

    for item in value.split(","):
        if item.strip() and not re.fullmatch(r"[^=,]*[^=,\s](=\d{1,10})?", item.strip()):
            return ("reasons separated by commas, each a name or name=ID with a whole "
                    f"number ID, e.g. lunch,training=306 ('{item.strip()}' is neither)")
    return None


def _region(value: str) -> str | None:
    """Empty (no default region), or a region phonenumbers knows, in capitals."""
    if not value:
        return None
    import phonenumbers

    if value not in phonenumbers.SUPPORTED_REGIONS:
        return "a two-letter region code in capitals (ISO 3166, e.g. UA, PL, GB), or empty"
    return None


def _mail_address(value: str) -> str | None:
    """Empty, or one mail address (name@example.com)."""
    from .mail import address_problem

    return address_problem(value) if value else None


def _team_url(value: str) -> str | None:
    from .team.connect import check_url

    return check_url(value)


DAY = 86_400.0
PORT = {"minimum": 1, "maximum": 65535}
# Intervals and timeouts: a shorter one would hammer the server or mean nothing.
SECONDS = {"minimum": 0.2, "maximum": DAY}
STATE_ID = {"minimum": 0, "maximum": 2**31 - 1}
DIAL_MODES = ("offhook", "callback")


# The one list of settings: defaults, types and the comments of a new config file.
SETTINGS: tuple[Setting, ...] = (
    Setting("server.host", "127.0.0.1", "Infinity server host", check=_host),
    Setting("server.port", 10080, "Infinity integration port (10080 on most sites)", **PORT),
    Setting("server.login", "", "your Infinity login"),
    Setting("server.password", "", "password here only if the file is private (chmod 600); "
            "prefer CC_PASSWORD or password_command"),
    Setting("server.password_command", "", "a command that prints the password, "
            "e.g. \"pass show infinity\""),
    Setting("server.role_id", 0, "IDRole sent at log-on", **STATE_ID),
    Setting("server.hostname", "", "HostHame sent at log-on (empty: this machine's name)"),
    Setting("server.timeout", 5.0, "seconds to wait for an answer from the server",
            **SECONDS),
    Setting("server.poll_interval", 2.0, "seconds between polls of state and active calls",
            **SECONDS),
    Setting("directory.poll_interval", 30.0, "seconds between polls of colleagues' states",
            **SECONDS),
    Setting("session.auto_login", True, "log in when the daemon starts"),
    Setting("session.reconnect", True, "reconnect after a network failure"),
    Setting("session.backoff_initial", 1.0, "first reconnect delay, seconds", **SECONDS),
    Setting("session.backoff_cap", 60.0, "longest reconnect delay, seconds", **SECONDS),
    Setting("session.logout_on_stop", False, "log out when the daemon stops"),
    Setting("states.break_reasons", "lunch,training,meeting,technical",
            "regulated break reasons, comma-separated; reason=ID gives one its own "
            "IDUserState", check=_break_reasons),
    *(Setting(setting_key(short), code, f"IDUserState of {title}", **STATE_ID)
      for code, (short, title) in AGENT_STATES.items()),
    Setting("log.number_mask", "CALL-{n:06}", "how calls are numbered: {n} is the "
            "counter, e.g. CALL-{n:06} or {n}", check=_number_mask),
    Setting("log.retention_days", 0, "calls older than this many days leave the call log "
            "(and this agent's in the team store), checked daily; 0: keep for ever",
            minimum=0, maximum=36500),
    Setting("privacy.mask_numbers", False, "hide the middle of callers' numbers in the "
            "journal and in exports (+38067•••••33)"),
    Setting("contacts.default_region", "UA", check=_region,
            help="region for numbers written without a country "
            "code (ISO 3166 code, e.g. UA, PL, GB)"),
    Setting("import.max_bytes", 52_428_800, "largest file `cc contacts import` and "
            "`cc who import` read, in bytes (50 MiB)"),
    Setting("files.max_bytes", 26_214_400, "largest file `cc log attach` copies to a call, "
            "in bytes (25 MiB)", minimum=1, maximum=2**40),
    Setting("dial.mode", "offhook", "offhook: the call connects when the far end answers; "
            "callback: the server rings the number, then your phone, and `cc answer` "
            "connects", choices=DIAL_MODES),
    Setting("transfer.filter_as_you_type", True, "the transfer list narrows with every key "
            "typed; false: the whole list is shown, numbered, and Enter searches"),
    Setting("transfer.timeout", 30.0, "seconds a consult transfer's target may ring before "
            "the caller is taken back", **SECONDS),
    Setting("transfer.hangup_completes", True, "hanging up on a consult transfer's target "
            "once it answered completes the transfer (false: the caller stays on hold)"),
    Setting("wrapup.enabled", False, "stay Busy after a connected call until `cc wrapup done` "
            ""),
    Setting("wrapup.timeout", 0.0, "seconds after which wrap-up closes by itself (0: never)",
            minimum=0, maximum=DAY),
    *(Setting(f"hooks.{event}", "", f"command run {when}, the call as JSON on stdin")
      for event, when in (("on_ring", "when a call rings"), ("on_answer", "when a call "
                          "connects"), ("on_end", "when a call ends"),
                          ("on_wrapup_done", "when wrap-up closes"))),
    Setting("hooks.on_reminder", "", "command run when a reminder (`cc remind`) falls due, "
            "the reminder as JSON on stdin"),
    Setting("notify.desktop", True, "a desktop notice (notify-send) when a call rings or ends "
            "or a reminder falls due, where the machine has one"),
    Setting("hooks.timeout", 10.0, "seconds before a hook is killed", **SECONDS),
    Setting("kb.url", "", "knowledge base search URL; {subject} is replaced", check=_web_url),
    Setting("remote.endpoint", "", "a TCP endpoint for remote control, e.g. "
            "tcp://0.0.0.0:5555; CURVE keys required (`cc daemon keys`); empty: off",
            check=_endpoint),
    Setting("events.listen_host", "", "address the event listener binds (empty: 127.0.0.1 "
            "for a server on this machine, else this machine's address toward the server; "
            "0.0.0.0: every address)", check=_bind_host),
    Setting("events.listen_port", 0, "port of the event listener, the one to open in a "
            "firewall (0: any free port, new at every start)", minimum=0, maximum=65535),
    Setting("events.max_rate", 20000, "events per second the listener takes; more get 429",
            minimum=1),
    Setting("events.public_url", "", check=_events_url, help="URL the server pushes events "
            "to, when it reaches this machine by another address (NAT, a proxy) (empty: "
            "http://listen_host:port)"),
    Setting("events.token", "", "a secret the events URL carries as its first path segment "
            "(letters, digits, - . _ ~); events without it are refused (empty: none)"),
    Setting("journal.enabled", True, "journal every message exchanged with the server"),
    Setting("journal.max_bytes", 10_485_760, "rotate the journal at this size (bytes)",
            minimum=65_536),
    Setting("journal.backups", 5, "rotated journals to keep", minimum=0, maximum=1000),
    Setting("team.url", "", "the team store: postgresql://LOGIN@HOST[:PORT]/DATABASE, the "
            "password in CC_TEAM_PASSWORD, team.password_command or ~/.pgpass (empty: "
            "this machine's call log only)", check=_team_url),
    Setting("team.password_command", "", "a command that prints the team store's "
            "password (e.g. `pass show cc/team`)"),
    Setting("report.service_level_seconds", 20, "`cc report`'s service level: the share "
            "of incoming calls answered within this many seconds of ringing",
            minimum=1, maximum=3600),
    Setting("report.mail_from", "", "the From address of `cc report --mail` (empty: "
            "you@this-machine)", check=_mail_address),
    Setting("report.sendmail", "", "the sendmail `cc report --mail` hands the message to, "
            "e.g. /usr/sbin/sendmail or msmtp (empty: sendmail on PATH, else "
            "/usr/sbin/sendmail)"),
)
BY_KEY = {s.key: s for s in SETTINGS}

# When a changed setting reaches a running daemon (`cc config set` tells which): at once,
# at its next log-on, or from its next start. Every setting not named here: at once.
NOW, AT_LOGIN, AT_RESTART = "now", "login", "restart"
READ_AT_LOGIN = frozenset({"server.password", "server.password_command", "server.role_id",
                           "server.hostname"})
# Who the daemon is and where it listens: fixed for the life of a daemon.
READ_AT_START = frozenset({"server.host", "server.port", "server.login", "session.auto_login",
                           "remote.endpoint", "events.listen_host", "events.listen_port",
                           "events.max_rate", "events.public_url", "events.token",
                           "team.url"})


def applies(key: str) -> str:
    """When a running daemon takes a change of `key`: NOW, AT_LOGIN or AT_RESTART."""
    return AT_RESTART if key in READ_AT_START else AT_LOGIN if key in READ_AT_LOGIN else NOW
SECRET_KEYS = {"server.password"}
URL_KEYS = {"team.url", "kb.url", "events.public_url"}     # a password in one is hidden


@dataclass(frozen=True)
class Paths:
    config_file: Path
    data_dir: Path
    run_dir: Path
    log_dir: Path

    @property
    def database(self) -> Path:
        return self.data_dir / "calls.db"

    @property
    def own(self) -> tuple[Path, ...]:
        """The folders of the daemon's records (the call log, its spool, the journal): no
        export is written there."""
        return (self.data_dir, self.log_dir)

    @property
    def spool(self) -> Path:
        """Calls the call log could not take yet, until it can (daemon/spool.py)."""
        return self.data_dir / "calls.spool"

    @property
    def journal(self) -> Path:
        return self.log_dir / "journal.xml"

    @property
    def daemon_log(self) -> Path:
        return self.log_dir / "daemon.log"

    @property
    def keys_dir(self) -> Path:
        """CURVE certificates for the remote-control endpoint (`cc daemon keys`)."""
        return self.config_file.parent / "keys"

    @property
    def lock_file(self) -> Path:
        from . import rundir

        return self.run_dir / rundir.LOCK

    @property
    def handover(self) -> Path:
        """The agent's state a daemon stopping for `cc daemon restart` leaves its successor."""
        return self.run_dir / "handover.json"

    def socket(self, name: str) -> Path:
        return self.run_dir / name


def paths() -> Paths:
    from . import rundir

    base = rundir.home()
    if base:
        if os.path.exists(base) and not os.path.isdir(base):
            raise ConfigError(f"CC_HOME={os.environ['CC_HOME']} is not a directory: point "
                              "CC_HOME at a folder of your own (it is made if missing), or "
                              "unset it")
        base = Path(base)
        return Paths(base / "config.toml", base / "data", base / "run", base / "log")
    import platformdirs

    return Paths(
        Path(platformdirs.user_config_dir(APP)) / "config.toml",
        Path(platformdirs.user_data_dir(APP)),
        Path(rundir.run_dir()),
        Path(platformdirs.user_log_dir(APP)),
    )


def default_config_text() -> str:
    lines = ["# cc settings. Edit with `cc config set KEY VALUE`; comments are kept.", ""]
    section = None
    order = list(dict.fromkeys(s.key.split(".", 1)[0] for s in SETTINGS))
    for s in sorted(SETTINGS, key=lambda s: order.index(s.key.split(".", 1)[0])):
        sec, name = s.key.split(".", 1)
        if sec != section:
            if section is not None:
                lines.append("")
            lines.append(f"[{sec}]")
            section = sec
        lines.append(f"# {s.help}")
        lines.append(f"{name} = {_toml_literal(s.default)}")
    return "\n".join(lines) + "\n"


def _toml_literal(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        import json

        return json.dumps(value, ensure_ascii=False)
    return repr(value)


def setting(key: str) -> Setting:
    if key not in BY_KEY:
        known = ", ".join(sorted(BY_KEY))
        raise ConfigError(f"unknown setting '{key}' (known settings: {known})")
    return BY_KEY[key]


def coerce(key: str, raw) -> object:
    """A value typed by a user (or read from the file) as the setting's type, checked
    against what the setting accepts; ConfigError names the setting and what it takes."""
    entry = setting(key)
    value = _typed(entry.kind, raw)
    if value is not None and value == entry.default:
        return value        # every default is good (a test checks): spare its check
    why = entry.accepts() if value is None else entry.refuses(value)
    if why:
        raise ConfigError(f"setting {key} must be {why}, not {shown(key, raw)!r}")
    return value


def _typed(kind: type, raw):
    """`raw` as `kind`, or None when it cannot be one."""
    if isinstance(raw, kind) and not (kind is int and isinstance(raw, bool)):
        return raw
    if kind is float and isinstance(raw, int) and not isinstance(raw, bool):
        return float(raw)
    if not isinstance(raw, str):
        return None
    text = raw.strip().lower()
    if kind is bool:
        return {"true": True, "yes": True, "on": True, "1": True,
                "false": False, "no": False, "off": False, "0": False}.get(text)
    try:
        return kind(text.replace("_", "")) if kind in (int, float) else None
    except ValueError:
        return None


def read(path: Path | None = None) -> tuple[dict[str, object], list[str], list[str]]:
    """Every setting's effective value (the file's where it is good, the default
    elsewhere), each problem of the file as one line, and the names the file has that
    are no setting. A file that cannot be read or parsed raises ConfigError."""
    import tomllib

    path = path or paths().config_file
    values = {s.key: s.default for s in SETTINGS}
    try:
        text = _read_text(path)
    except FileNotFoundError:
        return values, [], []
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc} (fix the file or move it away for defaults)") from None
    problems, unknown = [], []
    for section, table in doc.items():
        if not isinstance(table, dict):
            unknown.append(section)
            continue
        for name, raw in table.items():
            key = f"{section}.{name}"
            if key not in BY_KEY:
                unknown.append(key)
                continue
            try:
                values[key] = coerce(key, raw)
            except ConfigError as exc:
                problems.append(f"{path}: {exc}; fix it there or with `cc config set {key} "
                                "VALUE`")
    return values, problems, unknown


def _read_text(path: Path) -> str:
    """The config file's text; ConfigError when it cannot be read or is not UTF-8."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}): fix "
                          "the file or move it away for defaults") from None


def load(path: Path | None = None) -> dict[str, object]:
    """Every setting's effective value: the file's where given, the default elsewhere.
    The first bad value in the file raises ConfigError (`cc doctor` lists them all)."""
    values, problems, _ = read(path)
    if problems:
        more = f" ({len(problems) - 1} more: see `cc doctor`)" if len(problems) > 1 else ""
        raise ConfigError(problems[0] + more)
    return values


def set_value(key: str, raw: str, path: Path | None = None) -> object:
    """Set one setting in the file with tomlkit, keeping comments and layout. The file is
    replaced whole or not at all: a failed write (a full disk) leaves it as it was."""
    import tempfile

    import tomlkit

    value = coerce(key, raw)
    path = path or paths().config_file
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o600
    except OSError as exc:
        raise ConfigError(f"cannot use {path}: {exc.strerror or exc}; CC_HOME (or the config "
                          "directory) must be a folder you can write") from None
    try:
        text = _read_text(path)
    except FileNotFoundError:
        text = default_config_text()
    try:
        doc = tomlkit.parse(text)
    except Exception as exc:  # tomlkit raises several parse error types
        raise ConfigError(f"{path}: {exc} (fix the file before setting values)") from None
    section, name = key.split(".", 1)
    if section not in doc:
        doc[section] = tomlkit.table()
    doc[section][name] = value
    if key in SECRET_KEYS:
        mode = 0o600
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(tomlkit.dumps(doc))
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}; nothing was changed"
                          ) from None
    return value


def shown(key: str, value) -> object:
    """A value as `cc config get` may show it: secrets are never printed, nor the password
    of a URL (one the team.url check refuses)."""
    if key in SECRET_KEYS and value:
        return "***"
    if key in URL_KEYS and isinstance(value, str):
        import re

        return re.sub(r"^([a-z][a-z0-9+.-]*://[^:/@]*):[^@/]*@", r"\1:***@", value,
                      flags=re.IGNORECASE)
    return value


def make_private(folders) -> None:
    """Close what earlier versions left open to other users: every folder 0700, every
    file 0600 under the daemon's own folders (the call log, journal, logs, recordings)."""
    for folder in folders:
        if not folder.is_dir():
            continue
        for place in [folder, *folder.rglob("*")]:
            if place.is_symlink():
                continue
            wanted = 0o700 if place.is_dir() else 0o600
            if stat.S_IMODE(place.stat().st_mode) & 0o077:
                place.chmod(wanted)


def check_private(settings: dict, path: Path | None = None) -> None:
    """Refuse a config file that holds a password and that others can read."""
    path = path or paths().config_file
    if settings.get("server.password") and path.exists():
        if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(f"{path} holds a password but others can read it: "
                              f"run `chmod 600 {path}`")


def password_from_command(settings: dict, key: str) -> str:
    """What the command in setting `key` prints (a password manager's, say), or
    ConfigError naming the setting."""
    command = settings[key]
    try:
        done = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        raise ConfigError(f"{key} took over 30 s: {command}") from None
    if done.returncode != 0 or not done.stdout.strip():
        raise ConfigError(f"{key} failed (exit {done.returncode}); run it by hand to see why")
    return done.stdout.strip()


def resolve_password(settings: dict, path: Path | None = None) -> str:
    """The password, from CC_PASSWORD, server.password_command, or the (private) file."""
    env = os.environ.get("CC_PASSWORD")
    if env:
        return env
    if settings.get("server.password_command"):
        return password_from_command(settings, "server.password_command")
    password = settings.get("server.password") or ""
    if password:
        check_private(settings, path)
        return password
    raise ConfigError("no password: set CC_PASSWORD, server.password_command, "
                      "or server.password (in a file only you can read)")
