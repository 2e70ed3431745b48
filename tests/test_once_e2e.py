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
