"""Survive the network and the server (issue "Survive the network…"): fault injection
through the emulator's admin endpoints, the daemon and `cc` as real processes."""

from __future__ import annotations

import contextlib
import math
import os
import signal

import pytest
import zmq

from conftest import advance, wait_until
from daemon import wire

ANSWERS = "+380441110001"


@contextlib.contextmanager
def quick_status(agent):
    """`status` straight over the daemon's socket, for figures finer than a process start."""
    sock = zmq.Context.instance().socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVTIMEO, 10_000)
    sock.connect(f"ipc://{agent.home / 'run' / wire.REQUEST_SOCKET}")

    def status():
        sock.send(wire.request("status"))
        return wire.parse_reply(sock.recv())
    try:
        yield status
    finally:
        sock.close()


def session(agent) -> str:
    return agent.status()["session"]


def test_network_drop_while_idle_reconnects_and_keeps_a_break(emulator_factory,
                                                              agent_factory):
    emulator = emulator_factory(manual_clock=True)
    agent = agent_factory(emulator, manual_clock=True).start()
    agent.wait_logged_in()
    agent.cc("break", "lunch")
    emulator.admin("network", Down="forever")
    advance(0.5, emulator, agent)                   # the next poll finds no server
    status = agent.status()
    assert status["session"] == "reconnecting" and 0 < status["next_try_in"] <= 0.2
    assert "reconnecting, next try in" in agent.cc("status").stdout
    done = agent.cc("dial", ANSWERS, check=False)
    assert done.returncode == 7 and "reconnecting" in done.stderr
    advance(1.0, emulator, agent)                   # tries while the network is down
    assert session(agent) == "reconnecting"
    emulator.admin("network", Down=0)
    advance(1.0, emulator, agent)                   # the backoff is capped at 1 s here
    assert session(agent) == "logged in"
    assert agent.status()["agent_state"]["name"] == "break"


def test_without_reconnect_a_lost_session_says_disconnected_until_cc_login(emulator_factory,
                                                                         agent_factory):
    emulator = emulator_factory(manual_clock=True)
    agent = agent_factory(emulator, manual_clock=True, **{"session.reconnect": False}).start()
    agent.wait_logged_in()
    emulator.admin("network", Down="forever")
    advance(0.5, emulator, agent)                   # the next poll finds no server
    status = agent.status()
    assert status["session"] == "disconnected" and "next_try_in" not in status
    shown = agent.cc("status").stdout
    assert "disconnected (session.reconnect is off: log in again with `cc login`)" in shown
    assert "reconnecting" not in shown
    done = agent.cc("dial", ANSWERS, check=False)
    assert done.returncode == 4 and "disconnected" in done.stderr and "cc login" in done.stderr
    advance(60, emulator, agent)                    # nothing tries by itself
    assert session(agent) == "disconnected"
    emulator.admin("network", Down=0)
    assert agent.json("login")["session"] == "logged in"


def test_network_drop_mid_call_finishes_the_record_from_the_server(emulator_factory,
                                                                   agent_factory):
    emulator = emulator_factory(manual_clock=True)
    agent = agent_factory(emulator, manual_clock=True).start()
    agent.wait_logged_in()
    call = agent.dial_answered("+380441110004", after=1)      # far end hangs up after 5 s
    emulator.admin("network", Down="forever")
    agent.advance(0.5)                              # the next poll finds no server
    assert session(agent) == "reconnecting"
    emulator.advance(5)                             # the call ends while we are away
    assert emulator.call(call["call_id"])["Ended"]
    assert [c["state_name"] for c in agent.json("calls")] == ["Connected"]
    emulator.admin("network", Down=0)
    agent.advance(0.2)                              # the first try of the reconnect backoff
    assert session(agent) == "logged in"
    row = agent.log_row(call["call_id"], outcome="answered", durations_from="server")
    assert abs(row["talk_seconds"] - 5.0) < 0.01
    assert agent.json("calls") == []


def test_server_restart_forgets_the_session_and_the_daemon_logs_in_again(emulator,
                                                                          agent_factory):
    agent = agent_factory(emulator, manual_clock=True).start()
    agent.wait_logged_in()
    agent.cc("away")
    emulator.admin("restart")
    assert emulator.admin("users")["Users"][0]["IDUserState"] == 399       # offline
    agent.advance(0.5)                      # the next poll finds the session gone
    assert session(agent) == "reconnecting"
    agent.advance(0.2)                      # the first try of the reconnect backoff
    assert session(agent) == "logged in"
    assert emulator.admin("users")["Users"][0]["IDUserState"] != 399
    assert agent.status()["agent_state"]["name"] == "away"


def test_http_500_slow_and_unknown_state_answers_do_not_break_the_daemon(emulator,
                                                                         agent_factory):
    agent = agent_factory(emulator, manual_clock=True).start()
    agent.wait_logged_in()
    emulator.admin("fault", Kind="http500", Count=3, Path="/call/getactivecalls/")
    emulator.admin("fault", Kind="unknown-state", Count=3, Path="/user/getstate/")
    agent.advance(1.5)                      # three polls, each taking both faults
    assert emulator.admin("faults")["Faults"] == []
    assert agent.status()["agent_state"]["title"] == "state 777"
    agent.advance(0.5)                      # a good poll
    assert agent.status()["agent_state"]["name"] == "available"
    emulator.admin("fault", Kind="slow", Count=1, Path="/call/make/", Delay=5)
    done = agent.cc("dial", ANSWERS, check=False)
    assert done.returncode == 7 and "did not answer /call/make/ within 3 s" in done.stderr
    assert "may have been placed anyway" in done.stderr
    placed = wait_until(lambda: agent.json("calls"), 15, "the call the slow server placed")
    agent.cc("hangup", "--call", placed[0]["call_id"])
    call = agent.json("dial", ANSWERS, "--wait")
    agent.cc("hangup")
    agent.log_row(call["call_id"], outcome="answered")


def test_sigterm_stops_cleanly_and_frees_the_sockets(agent):
    pid = agent.json("daemon", "status")["pid"]
    os.kill(pid, signal.SIGTERM)
    wait_until(lambda: not os.path.exists(f"/proc/{pid}") or
               open(f"/proc/{pid}/stat").read().split(")")[-1].split()[0] == "Z",
               10, "the daemon to exit")
    assert not (agent.home / "run" / "cli.sock").exists()
    assert not (agent.home / "run" / "events.sock").exists()
    assert agent.cc("status", check=False).returncode == 3
    agent.start()
    agent.wait_logged_in()


def test_the_daemon_refuses_a_socket_directory_others_can_enter(emulator, agent_factory):
    agent = agent_factory(emulator)
    run = agent.home / "run"
    run.mkdir(mode=0o755)
    os.chmod(run, 0o755)
    done = agent.cc("daemon", "start", check=False)
    assert done.returncode == 8 and f"chmod 700 {run}" in done.stderr


def test_a_locked_database_keeps_the_call_in_memory_and_writes_it_later(emulator, agent):
    import sqlite3

    db = sqlite3.connect(agent.home / "data" / "calls.db", isolation_level=None)
    db.execute("BEGIN EXCLUSIVE")
    try:
        call = agent.json("dial", ANSWERS, "--wait")
        agent.cc("hangup")
        status = wait_until(lambda: (s := agent.status())["waiting_calls"] and s, 10,
                            "the daemon to say the call is not yet written")
        assert "locked" in status["store_error"]
        assert "call(s) wait in" in agent.cc("status").stdout
    finally:
        db.execute("ROLLBACK")
        db.close()
    row = agent.log_row(call["call_id"], outcome="answered", durations_from="server")
    assert [r["call_id"] for r in agent.json("log")].count(call["call_id"]) == 1
    assert row["counter_number"] == "CALL-000001"


def test_events_twice_late_or_out_of_order_log_the_call_once(emulator, agent_factory):
    import urllib.parse
    import urllib.request

    agent = agent_factory(emulator, manual_clock=True).start()
    agent.wait_logged_in()
    base = agent.status()["events_url"]

    def push(path, **params):
        query = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{base}{path}?{query}", timeout=5) as resp:
            assert resp.status == 200

    me = {"Extension": "101", "IDUser": 5001790109}
    call = agent.json("dial", ANSWERS, "--wait")
    push("/call/OnCallStateChanged/", IDCall=call["call_id"], OldState=13, State=21, **me)
    push("/call/OnCallCreated/", IDCall=call["call_id"], Number=ANSWERS, Direction=2, **me)
    agent.cc("hangup")
    agent.log_row(call["call_id"], outcome="answered", durations_from="server")
    # A late "connected" for a call that has ended changes nothing.
    push("/call/OnCallStateChanged/", IDCall=call["call_id"], OldState=13, State=21, **me)
    assert agent.json("calls") == []
    # A call known only from events (out of order, twice) that the server never lists is
    # no call: nothing is tracked or logged for it, then or after the next poll.
    push("/call/OnCallStateChanged/", IDCall=7700000001, OldState=0, State=1, **me)
    push("/call/OnCallCreated/", IDCall=7700000001, Number="+380671119999", Direction=1, **me)
    push("/call/OnCallCreated/", IDCall=7700000001, Number="+380671119999", Direction=1, **me)
    assert agent.json("calls") == []
    agent.advance(0.5)
    assert agent.json("calls") == []
    assert [r["call_id"] for r in agent.json("log")] == [call["call_id"]]


@pytest.mark.slow
@pytest.mark.parametrize("seconds", [1, 30, 600])
def test_network_drops_of_any_length_end_in_a_reconnect_within_the_backoff_cap(
        emulator_factory, agent_factory, seconds):
    # The daemon's default timings, poll 2 s and backoff 1 s doubling to 60 s, on manual
    # clocks that the test moves together a second at a time, looking after each step.
    poll, cap, step = 2.0, 60.0, 1.0
    emulator = emulator_factory(manual_clock=True)
    agent = agent_factory(emulator, manual_clock=True, **{
        "server.poll_interval": poll, "session.backoff_initial": 1.0,
        "session.backoff_cap": cap}).start()
    agent.wait_logged_in()
    agent.cc("break", "lunch")
    call = agent.dial_answered(ANSWERS, after=2)
    emulator.admin("network", Down=seconds)
    seen, moved = set(), 0.0
    with quick_status(agent) as status:       # a `cc` process per look would be slow
        while True:
            advance(step, emulator, agent)
            moved += step
            state = status()["session"]
            seen.add(state)
            if state == "logged in" and moved >= seconds:
                break
            assert moved < seconds + cap + step, f"still {state} {moved:g} s after the drop"
    late = moved - seconds          # seconds between the network's return and the log-on
    print(f"network drop of {seconds} s: logged in again {late:g} s after it came back")
    # The drop is seen at the first poll after it began (2 s in); one of 1 s is over by then.
    assert ("reconnecting" in seen) == (seconds > poll)
    assert late <= cap                # a try at most every backoff_cap seconds
    # The server kept the session: Busy on the call still up, the break after it.
    assert agent.status()["agent_state"]["name"] == "busy"
    agent.cc("hangup")
    agent.log_row(call["call_id"], outcome="answered", durations_from="server")
    wait_until(lambda: agent.status()["agent_state"]["name"] == "break", 10, "the break")


def test_the_server_asking_clients_to_restart_logs_on_again_keeping_the_state(
        emulator, agent_factory):
    agent = agent_factory(emulator, manual_clock=True).start()
    agent.wait_logged_in()
    agent.cc("away")
    before = agent.answers_from_server("/user/logon/")
    emulator.admin("ask-restart", Reason="update")
    wait_until(lambda: session(agent) == "reconnecting", 10, "the request to restart to arrive")
    agent.advance(0.2)                      # the first try of the reconnect backoff
    assert agent.answers_from_server("/user/logon/") == before + 1
    assert session(agent) == "logged in"
    assert agent.status()["agent_state"]["name"] == "away"


# Through the fault proxy: what the polls meet while a call is up.
POLLED = ("/user/getstate/", "/call/getactivecalls/", "/stat/connectionsbycall/")
# Each fault a poll meets, two answers at a time, and what the daemon's journal then says
# of the request (None: an answer it read, then refused).
POLL_FAULTS = {"oversize": ({}, "oversized"), "drop": ({}, "ServerDisconnectedError"),
               "broken-status-line": ({}, "ClientResponseError")}
NOT_FINITE = {"/user/getstate/": ("IDUserState", "1e300"),
              "/call/getactivecalls/": ("State", "nan"),
              "/stat/connectionsbycall/": ("TimeStart", "1e300")}


def behind(proxy, agent_factory):
    """An agent's daemon on a manual clock that reaches the emulator through `proxy`."""
    agent = agent_factory(proxy.emulator, manual_clock=True,
                          **{"server.port": proxy.port}).start()
    agent.wait_logged_in()
    return agent


def poll_until(condition, emulator, agent, what: str, polls: int = 20):
    """Move both clocks on a poll interval (0.5 s) at a time until `condition` holds."""
    for _ in range(polls):
        if condition():
            return
        advance(0.5, emulator, agent)
    assert condition(), f"still not {what} after {polls} polls"


def failures(agent, path: str) -> list[str]:
    """The errors the daemon's journal gives for requests to `path` that got no answer."""
    import re

    journal = (agent.home / "log" / "journal.xml").read_text(errors="replace")
    return [re.search(r'error="([^"]*)"', line).group(1) for line in journal.splitlines()
            if 'kind="failure"' in line and f'path="{path}"' in line]


def stored_durations(agent) -> list:
    """Every duration the call log holds, as SQLite has it."""
    import sqlite3

    db = sqlite3.connect(f"file:{agent.database}?mode=ro", uri=True)
    try:
        return [v for row in db.execute("SELECT wait_seconds, talk_seconds, hold_seconds, "
                                        "processing_seconds FROM calls") for v in row]
    finally:
        db.close()


def assert_commands_work(agent) -> None:
    for args in (["status"], ["log"], ["report", "--period", "today"]):
        done = agent.cc(*args, check=False)
        assert done.returncode == 0 and "Traceback" not in done.stdout + done.stderr, \
            (args, done.stderr)


@pytest.mark.parametrize("path", POLLED)
def test_poll_answers_lost_or_mangled_mid_call_do_not_stop_polling(proxy, agent_factory, path):
    emulator = proxy.emulator
    agent = behind(proxy, agent_factory)
    call = agent.dial_answered(ANSWERS, after=2)
    field, value = NOT_FINITE[path]
    faults = {**POLL_FAULTS, "patch": ({"Field": field, "Value": value}, None)}
    for kind, (params, journalled) in faults.items():
        served, failed = proxy.served(path), len(failures(agent, path))
        proxy.rule(path, kind, Count=2, **params)
        poll_until(lambda: proxy.served(path) == served + 2, emulator, agent,
                   f"two {kind} answers served")
        met = failures(agent, path)[failed:]     # aiohttp tries a dropped GET twice
        assert set(met) == ({journalled} if journalled else set()), (kind, met)
        after = proxy.seen(path)
        poll_until(lambda: proxy.seen(path) >= after + 3, emulator, agent,
                   f"polling again after {kind}")
        assert agent.status()["session"] == "logged in", kind
    agent.cc("hangup")
    row = agent.log_row(call["call_id"], outcome="answered", durations_from="server")
    truth = emulator.call(call["call_id"])
    assert (row["wait_seconds"], row["talk_seconds"]) == pytest.approx(
        (truth["WaitSeconds"], truth["TalkSeconds"]), abs=0.01)
    assert all(v is None or (math.isfinite(v) and v >= 0) for v in stored_durations(agent))
    assert_commands_work(agent)


@pytest.mark.parametrize("field,value", [("DurationTalk", "inf"), ("DurationTalk", "1e300"),
                                         ("DurationTalk", "-0,5"), ("DurationTalk", "nan"),
                                         ("DurationFull", "-inf")])
def test_a_duration_the_server_lies_about_is_dropped_and_the_call_keeps_its_own(
        proxy, agent_factory, field, value):
    emulator = proxy.emulator
    agent = behind(proxy, agent_factory)
    call = agent.dial_answered(ANSWERS, after=2)
    proxy.rule("/stat/connectionsbycall/", "patch", Field=field, Value=value)
    advance(3, emulator, agent)
    lied = proxy.served("/stat/connectionsbycall/")
    assert lied >= 3                        # a poll every 0.5 s asks for the figures
    agent.cc("hangup")
    row = agent.log_row(call["call_id"], outcome="answered")
    assert row["durations_from"] == "local" and 0 <= row["talk_seconds"] <= 3.5
    wait_until(lambda: "keeping local ones" in agent.daemon_log.read_text(), 10,
               "the daemon to refuse the server's figures")
    assert proxy.served("/stat/connectionsbycall/") > lied     # the final ask, refused too
    assert all(v is None or (math.isfinite(v) and v >= 0) for v in stored_durations(agent))
    assert_commands_work(agent)


def test_a_dial_whose_answer_is_lost_is_sent_once_and_says_the_call_may_be_up(
        proxy, agent_factory):
    agent = behind(proxy, agent_factory)
    proxy.rule("/call/make/", "drop-after", Count=1)     # placed, but the answer is lost
    dialled = agent.cc("dial", ANSWERS, check=False)
    assert dialled.returncode == 7, dialled.stderr
    assert "the call may have been placed anyway" in dialled.stderr, dialled.stderr
    assert proxy.seen("/call/make/") == 1       # never sent a second time
    # The server did place it: the next poll finds it, and the daemon tracks it.
    poll_until(lambda: agent.json("calls"), proxy.emulator, agent, "the call tracked")
    assert [c["number"] for c in agent.json("calls")] == [ANSWERS]


def test_only_methods_that_read_may_be_sent_again():
    from daemon.infinity import PATHS
    from daemon.infinity.client import READS

    assert READS <= set(PATHS)
    assert not {"/call/make/", "/user/logon/", "/user/setstate/", "/call/hold/"} & READS


def test_a_log_on_the_server_fails_with_500_is_tried_again_with_the_same_password(
        proxy, agent_factory):
    emulator = proxy.emulator
    agent = behind(proxy, agent_factory)
    proxy.rule("/user/logon/", "status", Status=503)      # every log-on, until cleared
    before = proxy.seen("/user/logon/")                    # the first log-on
    emulator.admin("network", Down="forever")
    advance(0.5, emulator, agent)                   # the next poll finds no server
    emulator.admin("network", Down=0)
    poll_until(lambda: proxy.served("/user/logon/") >= 2, emulator, agent, "tried twice")
    status = agent.status()
    assert status["session"] == "reconnecting", status     # not logged out
    assert "the server failed the log-on" in status["last_error"]
    proxy.clear()
    poll_until(lambda: session(agent) == "logged in", emulator, agent, "logged in again")
    assert proxy.seen("/user/logon/") == before + proxy.served("/user/logon/") + 1
