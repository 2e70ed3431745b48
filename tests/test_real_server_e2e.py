"""A server on another machine: the event listener listens where that server can reach
it, advertises a URL it can use, says in one line when it cannot, and `cc doctor` tells
which URL, whether this daemon's listener answers on it, and when the last event came.

The emulator listening on this machine's own (non-loopback) address plays a server on
another machine: for the daemon, any server not on a loopback address is elsewhere.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess

import pytest

from conftest import advance, wait_until
from daemon import reach


def this_machine_address() -> str | None:
    """An IPv4 address of this machine other than loopback: the one toward the outside
    world, else the first `hostname -I` lists; None on a machine with loopback only."""
    found = reach.route_address("198.51.100.1", 9)
    if found and not reach.local_only(found):
        return found
    try:
        listed = subprocess.run(["hostname", "-I"], capture_output=True, text=True,
                                timeout=10).stdout.split()
    except (OSError, subprocess.SubprocessError):
        listed = []
    return next((a for a in listed if "." in a and not reach.local_only(a)), None)


@pytest.fixture
def address() -> str:
    found = this_machine_address()
    if found is None:      # containers may have loopback only: nothing to be sure of in CI
        pytest.skip("this machine has no address but loopback")
    return found


def free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def events_check(agent) -> dict:
    done = agent.cc("doctor", "--json", check=False)
    return {c["check"]: c for c in json.loads(done.stdout)}["events"]


def doctor_line(agent, name: str) -> str:
    return next(line for line in agent.cc("doctor", check=False).stdout.splitlines()
                if line.split()[1:2] == [name])


def wait_event(agent) -> dict:
    return wait_until(lambda: (e := agent.status()["events"])["last_event_at"] is not None
                      and e, 15, "an event pushed to the daemon")


@pytest.mark.parametrize("listen_host", ["", "0.0.0.0"], ids=["chosen", "every-address"])
def test_a_daemon_listening_on_this_machines_address_gets_the_servers_events(
        address, listen_host, emulator_factory, agent_factory):
    emulator = emulator_factory(host=address)
    port = free_port(address)
    agent = agent_factory(emulator, **{"events.listen_host": listen_host,
                                       "events.listen_port": port})
    started = agent.cc("daemon", "start", "--timeout", 60, timeout=90)
    assert "warning" not in started.stdout, started.stdout
    status = agent.wait_logged_in()
    url = f"http://{address}:{port}"
    bound = f"{address if listen_host == '' else '0.0.0.0'}:{port}"
    assert status["events_url"] == url and status["events"]["bind"] == bound
    assert status["events"]["warnings"] == [] and status["events"]["remote_server"] is True
    if listen_host == "":          # this address only: not loopback
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
    agent.subscribe()              # the server's administrator sets its eventsURL to `url`
    agent.cc("dial", "+380441110001")
    wait_event(agent)
    check = events_check(agent)
    assert check["ok"] is True and check["warning"] is False
    assert re.fullmatch(
        rf"events URL {re.escape(url)} answers \(this daemon's listener, bound to "
        rf"{re.escape(bound)}, an address other machines can reach\); the last event came "
        r"\d+ s ago", check["detail"]), check["detail"]


def test_a_server_elsewhere_and_a_loopback_listener_is_said_in_one_line_everywhere(
        address, emulator_factory, agent_factory):
    emulator = emulator_factory(host=address)
    port = free_port("127.0.0.1")
    agent = agent_factory(emulator, **{"events.listen_host": "127.0.0.1",
                                       "events.listen_port": port})
    warning = (f"the server {address} is on another machine, but the events URL "
               f"http://127.0.0.1:{port} is a loopback address: it cannot push events there "
               "(the daemon polls instead); set events.listen_host to an address of this "
               "machine it reaches (empty: chosen for you), and events.public_url behind NAT")
    started = agent.cc("daemon", "start", "--timeout", 60, timeout=90)
    assert f"warning {warning}" in started.stdout.splitlines(), started.stdout
    agent.wait_logged_in()
    assert f"warning {warning}" in agent.cc("status").stdout.splitlines()
    assert warning in agent.daemon_log.read_text()
    done = agent.cc("doctor", check=False)
    assert done.returncode == 1 and "events" in done.stderr
    assert doctor_line(agent, "events") == f"FAIL  events     {warning}"


def test_a_port_that_changes_at_every_start_is_a_warning_for_a_server_elsewhere(
        address, emulator_factory, agent_factory):
    emulator = emulator_factory(host=address)
    agent = agent_factory(emulator).start()      # events.listen_port 0, the default
    agent.wait_logged_in()
    warning = ("events.listen_port is 0: the listener takes a new port at every start, "
               "which no firewall rule or eventsURL can name; set one, e.g. `cc config set "
               "events.listen_port 8085`")
    assert f"warning {warning}" in agent.cc("status").stdout.splitlines()
    check = events_check(agent)
    assert check["ok"] is True and check["warning"] is True and warning in check["detail"]
    assert doctor_line(agent, "events").startswith(
        f"WARN  events     events URL {agent.status()['events_url']} answers")


def test_no_event_in_ten_minutes_logged_in_is_a_warning_naming_the_likely_causes(
        emulator_factory, agent_factory):
    emulator = emulator_factory(manual_clock=True)
    agent = agent_factory(emulator, manual_clock=True, **{
        "server.poll_interval": 60, "directory.poll_interval": 600}).start(subscribe=False)
    agent.wait_logged_in()
    url = agent.status()["events_url"]
    port = url.rsplit(":", 1)[1]
    check = events_check(agent)
    assert check["warning"] is False and check["detail"].endswith(
        "; no event yet, logged in 0 s ago")
    advance(601, emulator, agent)        # the server's administrator never set eventsURL
    check = events_check(agent)
    assert check["ok"] is True and check["warning"] is True
    assert check["detail"].endswith(
        f"; no event in 10 min logged in: the server does not reach {url} (a firewall "
        f"closing port {port}, a NAT not forwarding it, or a server eventsURL other than "
        "this one: give its administrator this URL); no event yet")
    assert doctor_line(agent, "events").startswith("WARN  events")
    agent.subscribe()                    # now it is set
    agent.cc("dial", "+380441110001")
    wait_event(agent)
    advance(90, emulator, agent)
    check = events_check(agent)
    assert check["warning"] is False and check["detail"].endswith(
        "; the last event came 90 s ago"), check["detail"]


def test_an_address_not_of_this_machine_stops_the_start_in_one_line(emulator, agent_factory):
    agent = agent_factory(emulator, **{"events.listen_host": "203.0.113.9",
                                       "events.listen_port": 8085})
    done = agent.cc("daemon", "start", "--timeout", 60, check=False, timeout=90)
    assert done.returncode != 0 and done.stdout == ""
    assert done.stderr == (
        "cc: the daemon exited at start: cc daemon: cannot listen for server events on "
        "203.0.113.9:8085: "
        "203.0.113.9 is not an address of this machine; set events.listen_host to one of its "
        "addresses (`hostname -I`), 0.0.0.0 for all, or empty\n")


def test_a_port_in_use_stops_the_start_in_one_line(emulator, agent_factory):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        agent = agent_factory(emulator, **{"events.listen_port": port})
        done = agent.cc("daemon", "start", "--timeout", 60, check=False, timeout=90)
    assert done.returncode != 0
    assert done.stderr == (
        "cc: the daemon exited at start: cc daemon: cannot listen for server events on "
        f"127.0.0.1:{port}: "
        "the port is in use by another program; change events.listen_port\n")


@pytest.mark.parametrize("key,value,says", [
    ("events.listen_host", "http://0.0.0.0", "empty (chosen at start), 0.0.0.0 (every "
                                             "address), or one address of this machine"),
    ("events.listen_port", "70000", "a whole number from 0 to 65535"),
    ("events.public_url", "203.0.113.7:8085", "an http:// or https:// URL"),
    ("events.public_url", "http://203.0.113.7:8085/?x=1", "without ?query or #fragment"),
])
def test_a_bad_events_setting_is_one_line(tmp_path, key, value, says):
    env = {"CC_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    from conftest import CC

    done = subprocess.run([CC, "config", "set", key, value], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 8 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(f"cc: setting {key} must be ")
    assert says in done.stderr


def test_the_url_names_a_reachable_address_never_every_address():
    def url(bind, remote, route=None, public="", token="", port=8085):
        where = reach.Plan(bind, remote, route, public, True, token, "pbx")
        return where.url(port), where.warnings

    assert url("0.0.0.0", True, "192.0.2.2") == ("http://192.0.2.2:8085", [])
    assert url("::", True, "2001:db8::2") == ("http://[2001:db8::2]:8085", [])
    assert url("0.0.0.0", False) == ("http://127.0.0.1:8085", [])
    assert url("::1", False, token="s3") == ("http://[::1]:8085/s3", [])
    assert url("127.0.0.1", True, public="https://203.0.113.7:443/cc/") == (
        "https://203.0.113.7:443/cc", [])
    assert url("127.0.0.1", True, public="http://localhost:9/")[1][0].startswith(
        "the server pbx is on another machine, but the events URL http://localhost:9 is a "
        "loopback address")
    assert url("0.0.0.0", True, None)[1][0] == (
        "cannot tell this machine's address toward the server pbx (its name does not resolve, "
        "or no route leads there), so the events URL http://127.0.0.1:8085 is a loopback "
        "address; set events.public_url to the URL the server reaches, or events.listen_host "
        "to this machine's address")
    assert reach.local_only("fe80::1") == "a link-local address"
    assert reach.local_only("169.254.1.1") == "a link-local address"
    assert reach.local_only("192.0.2.2") is None
    assert reach.on_this_machine("localhost") and not reach.on_this_machine("192.0.2.2")
