"""Bugs of the daemon's house, each pinned by the run that showed it: a late poll answer,
a request the daemon cannot serve, a watcher resuming from a number."""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor

from conftest import CC, wait_until

PETRENKO = 5001790110          # the scenario's second agent, at extension 102


def test_a_poll_answered_after_the_answer_event_does_not_move_the_call_back(
        emulator_factory, agent_factory):
    emulator = emulator_factory(manual_clock=True)      # the call rings until answered
    agent = agent_factory(emulator, manual_clock=True).start()
    agent.wait_logged_in()
    # Petrenko is logged on without a daemon: the test answers for him when it chooses.
    emulator.api("/user/logon/", Login="petrenko", Password="s3cret", IDRole=1)
    call = agent.json("dial", "102")
    agent.wait_call_state("Alerting")
    # The next poll of active calls is answered at once (Alerting) but delivered 2 s late
    # (real seconds: the emulator's slow answers are not on its clock).
    emulator.admin("fault", Kind="slow", Path="/call/getactivecalls/", Delay=2, Count=1)
    with ThreadPoolExecutor(1) as pool:
        polled = pool.submit(agent.advance, 0.5)     # one poll; returns once it is handled
        wait_until(lambda: not emulator.admin("faults")["Faults"], 10,
                   "the poll to take the fault")
        theirs = next(c for c in emulator.admin("calls")["Calls"]
                      if c["IDUser"] == PETRENKO and c["Active"])
        emulator.api("/call/accept/", IDUser=PETRENKO, IDCall=theirs["IDCall"])
        agent.wait_call_state("Connected")
        polled.result(timeout=30)
    log = agent.home / "log" / "daemon.log"
    assert "ignored Alerting, older than Connected" in log.read_text()
    assert agent.status()["calls"][0]["state_name"] == "Connected"
    held = agent.json("hold")
    assert held["call_id"] == call["call_id"] and held["state_name"] == "On hold"


def test_a_daemon_bug_is_an_internal_error_not_bad_input(agent, tmp_path):
    """A ValueError inside a handler (a directory row it cannot read) was answered as a
    malformed request (exit 9) and never logged."""
    import sqlite3

    people = tmp_path / "people.csv"
    people.write_text("name,extension,phones\nPetro Petrenko,102,+380441110009\n")
    agent.cc("who", "import", people)
    db = sqlite3.connect(agent.home / "data" / "calls.db")
    with db:
        db.execute("update colleagues set phones = 'not json'")
    db.close()
    done = agent.cc("who", check=False)
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip() == "cc: internal error, see daemon.log"
    logged = (agent.home / "log" / "daemon.log").read_text()
    assert "Traceback" in logged and "JSONDecodeError" in logged


def test_watch_since_a_number_of_this_daemon_is_not_taken_for_a_restart(agent):
    seq = agent.status()["seq"]
    agent.cc("away")
    kept = agent.status()["seq"] - seq
    proc = subprocess.Popen([CC, "watch", "--json", "--since", str(seq), "--count",
                             str(kept + 1)], env=agent.env, stdout=subprocess.PIPE, text=True)
    try:
        caught_up = [json.loads(proc.stdout.readline()) for _ in range(kept)]
        # Caught up from the daemon's history; every change from now on arrives live.
        states = iter(["available", "away"] * 50)
        wait_until(lambda: agent.cc(next(states)) and proc.poll() is not None, 20,
                   "the watcher to print a live change")
        live = json.loads(proc.stdout.readline())
    finally:
        proc.kill()
    assert [m["seq"] for m in caught_up] == list(range(seq + 1, seq + kept + 1))
    assert live["kind"] != "gap" and live["seq"] == seq + kept + 1, live
