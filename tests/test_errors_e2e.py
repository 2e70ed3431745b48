"""Bad input gets one clear line on stderr, a distinct exit code, and loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
from datetime import datetime

from conftest import CC, wait_until

NEVER_ANSWERS = "+380441110003"


def one_line(done) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("cc: ")
    return lines[0]


def test_commands_without_a_daemon_say_how_to_start_it(emulator, agent_factory):
    agent = agent_factory(emulator)
    for args in (["status"], ["dial", "102"], ["hold"], ["log"]):
        done = agent.cc(*args, check=False)
        assert done.returncode == 3
        assert "cc daemon start" in one_line(done)


def test_wrong_password_is_refused_and_the_daemon_stays_up(emulator, agent_factory):
    agent = agent_factory(emulator, password="wrong")
    started = agent.cc("daemon", "start", check=False)
    assert started.returncode == 10          # a service script sees the refusal
    assert "Invalid login or password" in one_line(started) and "LogonResult 3" in \
        started.stderr
    status = agent.status()
    assert status["session"] == "logged out" and status["logon_error"] == "auth"
    agent.env["CC_PASSWORD"] = "wrong"
    done = agent.cc("login", check=False)
    assert done.returncode == 10
    assert "Invalid login or password" in one_line(done)
    assert "LogonResult 3" in done.stderr
    agent.env["CC_PASSWORD"] = "s3cret"
    assert agent.json("login")["session"] == "logged in"


def test_no_password_at_daemon_start_is_a_configuration_problem(emulator, agent_factory):
    agent = agent_factory(emulator)
    agent.env.pop("CC_PASSWORD")
    started = agent.cc("daemon", "start", check=False)
    assert started.returncode == 8 and "no password" in one_line(started)
    assert agent.status()["logon_error"] == "config"      # the daemon runs: `cc login`


def test_not_logged_in_is_named(emulator, agent_factory):
    agent = agent_factory(emulator, **{"session.auto_login": False}).start()
    done = agent.cc("dial", "102", check=False)
    assert done.returncode == 4
    assert "cc login" in one_line(done)


def test_no_user_name_means_no_connection_attempt(emulator, agent_factory):
    agent = agent_factory(emulator, **{"server.login": ""}).start()
    done = agent.cc("login", check=False)
    assert done.returncode == 8
    assert "server.login" in one_line(done)
    journal = agent.home / "log" / "journal.xml"
    assert not journal.exists() or "/user/logon/" not in journal.read_text()


def test_hold_on_a_call_not_yet_answered_names_the_line_state(emulator_factory,
                                                              agent_factory):
    # Time stands still: the call rings on however slow the machine (no ring timeout).
    emulator = emulator_factory(manual_clock=True)
    agent = agent_factory(emulator, manual_clock=True).start()
    agent.wait_logged_in()
    call = agent.json("dial", NEVER_ANSWERS)
    agent.wait_call_state("Alerting")
    done = agent.cc("hold", check=False)
    assert done.returncode == 6
    assert "Alerting" in one_line(done)
    assert agent.cc("answer", check=False).returncode == 6
    agent.cc("hangup")
    agent.log_row(call["call_id"], outcome="cancelled")


def test_commands_with_no_call_or_an_unknown_call(agent):
    done = agent.cc("hangup", check=False)
    assert done.returncode == 5 and "idle" in one_line(done)
    done = agent.cc("hold", "--call", "123", check=False)
    assert done.returncode == 5 and "123" in one_line(done)


def test_a_bad_number_is_refused_before_anything_is_sent(agent):
    done = agent.cc("dial", "call-me-maybe", check=False)
    assert done.returncode == 9
    assert "not a phone number" in one_line(done)
    assert "/call/make/" not in (agent.home / "log" / "journal.xml").read_text()


def test_malformed_answer_is_reported_and_the_call_it_placed_is_not_lost(emulator, agent):
    emulator.admin("fault", Kind="malformed", Count=1, Path="/call/make/")
    done = agent.cc("dial", "+380441110001", check=False)
    assert done.returncode == 7
    assert "not valid JSON" in one_line(done) and "cc status" in done.stderr
    # The server did place the call: events and polling bring it in all the same.
    placed = agent.wait_call_state("Connected")
    agent.cc("hangup")
    agent.log_row(placed["call_id"], outcome="answered", durations_from="server")

    emulator.admin("fault", Kind="truncated", Count=1, Path="/user/setstate/")
    done = agent.cc("break", "lunch", check=False)
    assert done.returncode == 7 and "not valid JSON" in one_line(done)
    agent.cc("break", "lunch")
    assert agent.json("state")["agent_state"]["name"] == "break"


def test_the_journal_never_shows_the_password(agent):
    agent.cc("break", "lunch")
    text = (agent.home / "log" / "journal.xml").read_text()
    assert '<param name="Password">***</param>' in text
    assert "s3cret" not in text
    assert 'path="/user/setstate/"' in text


def test_a_second_daemon_for_the_same_profile_is_refused(agent):
    done = subprocess.run([CC, "daemon", "run"], env=agent.env, capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 8
    assert "already runs for this profile" in done.stderr
    assert agent.status()["session"] == "logged in"


def test_unknown_state_name_is_a_usage_error(agent):
    done = agent.cc("state", "lunch", check=False)
    assert done.returncode == 2
    assert "lunch" in done.stderr


def test_killed_daemon_restarted_mid_call_completes_the_same_record(emulator, agent):
    call = agent.json("dial", "+380441110001")
    agent.wait_call_state("Connected")
    pid = agent.json("daemon", "status")["pid"]
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: agent.cc("daemon", "status", check=False).returncode == 3
               or not os.path.exists(f"/proc/{pid}"), 10, "the daemon to die")
    agent.start()
    agent.wait_logged_in()
    agent.wait_call_state("Connected")
    agent.cc("hangup")
    row = agent.log_row(call["call_id"], outcome="answered", durations_from="server")
    rows = [r for r in agent.json("log") if r["call_id"] == call["call_id"]]
    assert len(rows) == 1 and rows[0]["id"] == row["id"]


def gone(pid: int) -> bool:
    """The process has ended (a zombie nobody has reaped yet counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_a_call_that_ended_while_the_daemon_was_dead_is_completed(emulator_factory,
                                                                  agent_factory):
    emulator = emulator_factory(manual_clock=True)
    agent = agent_factory(emulator).start()
    agent.wait_logged_in()
    call = agent.dial_answered("+380441110004", after=1)       # far end hangs up after 5 s
    pid = agent.json("daemon", "status")["pid"]
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: gone(pid), 10, "the daemon to die")
    emulator.advance(5)
    assert emulator.call(call["call_id"])["Ended"]
    agent.start()
    row = agent.log_row(call["call_id"], outcome="answered", durations_from="server")
    assert abs(row["talk_seconds"] - 5.0) < 0.01 and row["ended_at"]
    # It ended where the server says (1 s ringing, 5 s talking), not when the daemon came back.
    lasted = datetime.fromisoformat(row["ended_at"]) - datetime.fromisoformat(row["started_at"])
    assert abs(lasted.total_seconds() - 6.0) < 0.01, lasted
    import sqlite3
    db = sqlite3.connect(agent.home / "data" / "calls.db")
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_logout_then_login(agent):
    assert agent.json("logout")["agent_state"]["name"] == "offline"
    done = agent.cc("dial", "+380441110001", check=False)
    assert done.returncode == 4 and "cc login" in done.stderr
    assert agent.json("login")["agent_state"]["name"] == "available"
