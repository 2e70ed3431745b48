"""Every call once: a daemon restarted while the server still lists a finished call (its
linger window) logs nothing more for it, cleanly stopped or killed."""

from __future__ import annotations

import os
import signal

import pytest

from conftest import advance, wait_until

ANSWERS = "+380441110001"


@pytest.mark.parametrize("how", ["stop", "kill"])
def test_a_restart_inside_the_servers_linger_window_logs_no_call_twice(manual, how):
    emulator, agent = manual
    call = agent.dial_answered(ANSWERS, after=2)
    advance(3, emulator, agent)
    agent.cc("hangup")
    agent.log_row(call["call_id"], outcome="answered", durations_from="server")
    assert emulator.call(call["call_id"])["State"] == 100    # still listed, as finished
    if how == "stop":
        agent.cc("daemon", "stop")
    else:
        pid = agent.daemon_pid()
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not os.path.exists(f"/proc/{pid}"), 10, "the daemon to die")
    agent.start()
    agent.wait_logged_in()                    # its first poll lists the finished call
    advance(1, emulator, agent)               # and two more polls
    rows = [r for r in agent.json("log") if r["call_id"] == call["call_id"]]
    assert [(r["outcome"], r["talk_seconds"]) for r in rows] == [("answered", 3.0)]
    assert agent.json("calls") == []


def test_a_call_left_open_on_one_server_is_not_logged_again_once_the_agent_moves_to_another(
        emulator_factory, agent_factory):
    first, second = emulator_factory(manual_clock=True), emulator_factory(manual_clock=True)
    agent = agent_factory(first, manual_clock=True).start()
    agent.wait_logged_in()
    call = agent.dial_answered(ANSWERS, after=2)
    agent.log_row(call["call_id"], line_state="Connected")
    pid = agent.daemon_pid()
    os.kill(pid, signal.SIGKILL)               # killed mid-call: its record stays open
    wait_until(lambda: not os.path.exists(f"/proc/{pid}"), 10, "the daemon to die")
    agent.cc("config", "set", "server.port", second.port)      # the backup server, say
    agent.emulator = second
    agent.start()
    agent.wait_logged_in()
    advance(1, second, agent)                 # polls of a server that never knew the call
    rows = [r for r in agent.json("log") if r["call_id"] == call["call_id"]]
    assert len(rows) == 1, rows
    assert rows[0]["line_state"] == "Connected"     # the other server's call: not judged here
