"""The request socket under hostile input: a message over the size cap, and what `cc`
does when the daemon drops the connection. Unit tests of the client's wait come first;
the end-to-end ones drive a real daemon through `cc` and its raw socket."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
import zmq

from conftest import wait_until
from daemon import wire
from daemon.testing import TimedOut
from daemon.wire import ErrorCode, WireError

BUSY = "+380441110002"             # busy after 1 s (the tests' scenario)
NEVER_ANSWERS = "+380441110003"


# -- unit: what the client does when the daemon cannot or will not answer

def test_the_client_refuses_a_request_over_the_cap_before_sending_it():
    with pytest.raises(WireError, match="over the 1,048,576 the daemon takes") as refused:
        wire.exchange("ipc:///nonexistent/cli.sock", "contacts_import", 1,
                      text="x" * wire.MAX_REQUEST_BYTES)
    assert refused.value.code == ErrorCode.BAD_INPUT


def test_the_client_stops_waiting_when_the_daemon_drops_the_connection(tmp_path):
    router = zmq.Context.instance().socket(zmq.ROUTER)
    router.setsockopt(zmq.LINGER, 0)
    router.setsockopt(zmq.MAXMSGSIZE, 16)        # every request is too long for this one
    router.bind(f"ipc://{tmp_path}/cli.sock")
    try:
        with pytest.raises(wire.Dropped) as dropped:     # not NoAnswer at the deadline
            wire.exchange(f"ipc://{tmp_path}/cli.sock", "status", 60)
        assert not dropped.value.refused
    finally:
        router.close()


# -- end to end: the size cap

def peak_rss_mib(pid: int) -> float:
    """The daemon's peak resident memory so far (VmHWM): a spike freed since still shows."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def raw_request(agent, body: bytes, timeout: float = 15) -> bytes | None:
    """`body` sent on the daemon's request socket as any client may; the reply, or None
    when the daemon closed the connection instead (a socket monitor sees it)."""
    sock = zmq.Context.instance().socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    monitor = sock.get_monitor_socket(zmq.EVENT_DISCONNECTED)
    try:
        sock.connect(f"ipc://{agent.home / 'run' / wire.REQUEST_SOCKET}")
        sock.send(body)
        poller = zmq.Poller()
        poller.register(sock, zmq.POLLIN)
        poller.register(monitor, zmq.POLLIN)
        ready = dict(poller.poll(int(timeout * 1000)))
        if sock in ready:
            return sock.recv()
        if monitor in ready:
            return None
        raise TimedOut(f"neither a reply nor a closed connection within {timeout:g} s")
    finally:
        sock.disable_monitor()
        monitor.close()
        sock.close()


def test_a_request_one_byte_over_the_cap_is_dropped_and_the_daemon_answers_the_next(agent):
    pid = agent.daemon_pid()
    status = wire.request("status")
    at_cap = status + b" " * (wire.MAX_REQUEST_BYTES - len(status))
    assert json.loads(raw_request(agent, at_cap))["result"]["login"] == "ivanova"
    before = peak_rss_mib(pid)
    assert raw_request(agent, at_cap + b" ") is None
    assert raw_request(agent, b"x" * (64 * 2**20)) is None       # dropped before it is kept
    grown = peak_rss_mib(pid) - before
    assert grown < 8, f"the daemon's peak memory grew {grown:.1f} MiB"
    assert agent.status()["session"] == "logged in"


def test_cc_says_so_at_once_when_the_daemon_dies_while_it_waits(manual):
    emulator, agent = manual
    running = agent.begin("dial", NEVER_ANSWERS, "--wait", "--timeout", "3600")
    wait_until(lambda: agent.status()["calls"], 15, "the call to be placed")
    os.kill(agent.daemon_pid(), signal.SIGKILL)
    done = running.finish(check=False, timeout=30)         # not the hour it asked to wait
    assert done.returncode == 3, done.stderr
    assert done.stderr.startswith("cc: the cc daemon closed the connection before answering "
                                  "dial") and len(done.stderr.splitlines()) == 1
