"""Reminders on calls (`cc remind`, `cc wrapup --remind`): kept in the call log, fired on
the daemon's clock as a `cc watch` event, `hooks.on_reminder` and a desktop notice, each
once, also when one fell due while the daemon was down. The emulator and the daemon are
real processes on manual clocks."""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from datetime import datetime, timedelta

import pytest

from daemon.clock import ENV as TEST_CLOCK
from daemon.testing import wait_until

CALLER = "+380671112233"
# The daemon's polls wait on its clock too: a test that moves it hours polls less often.
SLOW_POLLS = {"server.poll_interval": 600, "directory.poll_interval": 600}


@pytest.fixture
def emulator(emulator_factory):
    """Calls ring until the test answers or rejects them: the server's time stands still."""
    return emulator_factory(manual_clock=True)


def recorder(tmp_path) -> tuple[str, object]:
    """A hook command that appends its environment's CC_ fields and its stdin to a file,
    and that file."""
    out = tmp_path / "reminded.jsonl"
    script = tmp_path / "record.py"
    script.write_text(
        "import json, os, sys\n"
        "env = {k: v for k, v in os.environ.items() if k.startswith('CC_')}\n"
        f"open({str(out)!r}, 'a').write(json.dumps({{'env': env, 'stdin': json.load("
        "sys.stdin)}) + '\\n')\n")
    return f"{sys.executable} {script}", out


def records(out) -> list[dict]:
    return [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []


def reminder_agent(emulator, agent_factory, tmp_path, ahead: float = 0, **settings):
    hook, out = recorder(tmp_path)
    agent = agent_factory(emulator, manual_clock=True,
                          **{"hooks.on_reminder": hook, **SLOW_POLLS, **settings})
    if ahead:
        agent.env[TEST_CLOCK] = f"manual+{ahead}"
    agent.start()
    agent.wait_logged_in()
    return agent, out


def logged_call(agent, emulator) -> dict:
    """A call that rang and was rejected: a row of the call log."""
    call_id = str(emulator.admin("call-in", From=CALLER, To="101")["IDCall"])
    agent.wait_call_state("Ringing")
    agent.cc("reject")
    return agent.log_row(call_id, outcome="rejected")


def answered_call(agent, emulator) -> dict:
    """A call answered and hung up: with wrapup.enabled, the call in wrap-up."""
    call_id = str(emulator.admin("call-in", From=CALLER, To="101")["IDCall"])
    agent.wait_call_state("Ringing")
    agent.cc("answer")
    agent.wait_call_state("Connected")
    agent.cc("hangup")
    return agent.log_row(call_id, outcome="answered")


def fed(agent, since: int = 0) -> list[dict]:
    """The reminders `cc watch --since` prints, as JSON."""
    count = len(agent.request("events_since", seq=since)["events"])
    if not count:
        return []
    lines = agent.cc("watch", "--since", since, "--count", count, "--json").stdout
    return [m["data"] for m in map(json.loads, lines.splitlines()) if m["kind"] == "reminder"]


def restart(agent, ahead: float) -> None:
    """Stop the daemon, and start it again with its clock `ahead` seconds after now."""
    agent.stop(keep_home=True)
    agent.env[TEST_CLOCK] = f"manual+{ahead}"
    agent.start()
    agent.wait_logged_in()


def test_a_reminder_fires_at_its_time_as_a_watch_event_a_hook_and_a_notice(
        emulator, agent_factory, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    notices = tmp_path / "notices.txt"
    (bin_dir / "notify-send").write_text(f"#!/bin/sh\nprintf '%s|' \"$@\" >> {notices}\n"
                                         f"echo >> {notices}\n")
    (bin_dir / "notify-send").chmod(0o755)
    hook, out = recorder(tmp_path)
    agent = agent_factory(emulator, manual_clock=True,
                          **{"hooks.on_reminder": hook, **SLOW_POLLS})
    agent.env["PATH"] = f"{bin_dir}:{agent.env['PATH']}"
    agent.start()
    agent.wait_logged_in()
    row = logged_call(agent, emulator)
    notices.unlink(missing_ok=True)      # the ring's and the end's notices
    made = agent.json("remind", row["id"], "in", "2h", "call", "back", "about", "the", "refund")
    assert (made["log_id"], made["text"], made["fired"], made["moved_to_tomorrow"]) == \
        (row["id"], "call back about the refund", False, False)
    assert made["counter_number"] == row["counter_number"] and made["number"] == CALLER
    seq = agent.status()["seq"]

    agent.advance(7199)
    assert [r["id"] for r in agent.json("remind", "--list")] == [made["id"]]
    assert records(out) == [] and fed(agent, seq) == []
    agent.advance(2)
    [fired] = wait_until(lambda: records(out), 10, "the reminder's hook")
    env, given = fired["env"], fired["stdin"]
    assert (env["CC_EVENT"], env["CC_REMINDER_ID"], env["CC_REMINDER_TEXT"], env["CC_LOG_ID"],
            env["CC_NUMBER"], env["CC_COUNTER_NUMBER"]) == (
        "on_reminder", str(made["id"]), "call back about the refund", str(row["id"]), CALLER,
        row["counter_number"])
    assert given["event"] == "on_reminder" and given["reminder"]["id"] == made["id"]
    assert given["reminder"]["fired"] is True
    [event] = fed(agent, seq)
    assert (event["id"], event["text"], event["due_at"]) == (made["id"], made["text"],
                                                             made["due_at"])
    shown = agent.cc("watch", "--since", seq, "--count",
                     len(agent.request("events_since", seq=seq)["events"])).stdout
    assert f"reminder {made['id']}: call {row['id']} {row['counter_number']} {CALLER} -- " \
        "call back about the refund" in shown
    notice = wait_until(lambda: notices.exists() and notices.read_text().splitlines(), 10,
                        "the desktop notice")
    assert notice == [f"--app-name=cc|cc|Reminder: call back about the refund "
                      f"({row['counter_number']} with {CALLER})|"]
    assert agent.json("remind", "--list") == []
    assert [r["fired"] for r in agent.json("remind", "--list", "--all")] == [True]
    agent.advance(3600)                  # fired once: never again
    assert len(records(out)) == 1 and len(fed(agent, seq)) == 1


def test_a_reminder_due_while_the_daemon_was_down_fires_once_at_its_start(
        emulator, agent_factory, tmp_path):
    agent, out = reminder_agent(emulator, agent_factory, tmp_path)
    row = logged_call(agent, emulator)
    first = agent.json("remind", row["id"], "in 1h", "first")
    second = agent.json("remind", row["id"], "in 3h", "second")
    restart(agent, 2 * 3600)             # the first fell due while the daemon was down
    wait_until(lambda: len(records(out)) == 1, 10, "the missed reminder at the start")
    assert [e["id"] for e in fed(agent)] == [first["id"]]
    assert [r["id"] for r in agent.json("remind", "--list")] == [second["id"]]
    restart(agent, 4 * 3600)
    # One pass fires whatever is due, in order: once the second is told, the first was not.
    wait_until(lambda: fed(agent), 10, "the second reminder at the start")
    assert [e["id"] for e in fed(agent)] == [second["id"]]
    wait_until(lambda: len(records(out)) == 2, 10, "the second reminder's hook")
    assert [r["env"]["CC_REMINDER_TEXT"] for r in records(out)] == ["first", "second"]
    assert agent.json("remind", "--list") == []
    restart(agent, 5 * 3600)
    assert agent.json("remind", "--list") == [] and fed(agent) == []
    assert len(agent.json("remind", "--list", "--all")) == 2


def test_reminders_are_listed_removed_and_go_with_their_call(emulator, agent_factory,
                                                             tmp_path):
    agent, out = reminder_agent(emulator, agent_factory, tmp_path)
    one, two = logged_call(agent, emulator), logged_call(agent, emulator)
    later = agent.json("remind", one["id"], "in 3h", "later")
    sooner = agent.json("remind", two["id"], "in", "1h")
    third = agent.json("remind", two["id"], "in 2h", "third")
    assert [r["id"] for r in agent.json("remind", "--list")] == [sooner["id"], third["id"],
                                                                 later["id"]]
    lines = agent.cc("remind", "--list").stdout.splitlines()
    assert len(lines) == 3 and lines[0].split()[0] == str(sooner["id"])
    assert lines[2].endswith(f"call {one['id']} {one['counter_number']} {CALLER} -- later")
    assert agent.cc("remind", "rm", third["id"]).stdout.startswith(
        f"reminder {third['id']} removed (call {two['id']} ")
    done = agent.cc("remind", "rm", third["id"], check=False)
    assert done.returncode == 9 and done.stderr == \
        f"cc: no reminder {third['id']} (see `cc remind --list --all`)\n"
    # `cc log rm` takes the call's reminders with it.
    agent.cc("log", "rm", two["id"], "--yes")
    assert [r["id"] for r in agent.json("remind", "--list", "--all")] == [later["id"]]
    # So does the retention purge.
    agent.stop(keep_home=True)
    with sqlite3.connect(agent.database) as db:
        db.execute("update calls set started_at = '2020-03-01T09:00:00.000+00:00' "
                   "where id = ?", (one["id"],))
    agent.start()
    agent.wait_logged_in()
    agent.cc("log", "purge", "--older-than", "365d")
    assert agent.json("remind", "--list", "--all") == []
    assert agent.cc("remind", "--list").stdout == "no reminders\n"
    agent.advance(4 * 3600)
    assert records(out) == [] and fed(agent) == []


def test_wrapup_remind_sets_a_reminder_on_the_call_in_wrapup(emulator, agent_factory,
                                                            tmp_path):
    agent, out = reminder_agent(emulator, agent_factory, tmp_path,
                                **{"wrapup.enabled": True})
    row = answered_call(agent, emulator)
    assert agent.status()["wrapup"]
    done = agent.cc("wrapup", "--result", "callback", "--remind", "in 0m", check=False)
    assert done.returncode == 9 and done.stderr.count("\n") == 1
    assert agent.json("log", "show", row["id"])["result"] in (None, "")   # nothing changed
    card = agent.json("wrapup", "--result", "callback", "--remind", "in 30m")
    assert card["id"] == row["id"] and card["result"] == "callback"
    reminder = card["reminder"]
    assert (reminder["log_id"], reminder["text"], reminder["result"]) == (row["id"], None,
                                                                          "callback")
    said = agent.cc("wrapup", "--remind", "in 1h").stdout.splitlines()
    assert said[0].endswith("result=callback")
    assert said[1].startswith("reminder ") and said[1].endswith(f"call {row['id']} "
                                                                 f"{row['counter_number']} "
                                                                 f"{row['number']}")
    agent.cc("wrapup", "done")
    agent.advance(1801)
    [fired] = wait_until(lambda: records(out), 10, "the reminder's hook")
    assert fired["env"]["CC_LOG_ID"] == str(row["id"])
    assert fired["env"]["CC_RESULT"] == "callback"


def next_noon() -> float:
    """Seconds from now to the next local noon: a daemon's clock started there reads
    clock times on a known side of now, whatever the date and the zone's rules."""
    now = datetime.now().astimezone()
    noon = now.replace(hour=12, minute=0, second=0, microsecond=0)
    if noon <= now:
        noon = (now + timedelta(days=1)).replace(hour=12, minute=0, second=0, microsecond=0)
    return noon.timestamp() - time.time()


def test_a_clock_time_past_today_is_tomorrows_and_bad_times_are_refused_in_one_line(
        emulator, agent_factory, tmp_path):
    agent, _ = reminder_agent(emulator, agent_factory, tmp_path, ahead=next_noon())
    row = logged_call(agent, emulator)
    today = agent.json("remind", row["id"], "13:00")
    assert today["moved_to_tomorrow"] is False
    assert datetime.fromisoformat(today["due_at"]).strftime("%H:%M") == "13:00"
    passed = agent.cc("remind", row["id"], "11:00", "call", "the", "bank").stdout
    assert passed.startswith(f"reminder {today['id'] + 1} at ")
    assert " 11:00 (tomorrow: that time has passed today): call " in passed
    assert passed.strip().endswith("-- call the bank")
    moved = agent.json("remind", "--list")[-1]
    assert (datetime.fromisoformat(moved["due_at"]) - datetime.fromisoformat(
        today["due_at"])).total_seconds() in (22 * 3600, 21 * 3600, 23 * 3600)   # DST

    for args, code, says in [
            ((row["id"], "25:00"), 9, "25:00 is no time of day"),
            ((row["id"], "yesterday"), 9, "cannot read the time 'yesterday'"),
            ((row["id"], "2020-01-01T09:00"), 9, "is in the past: give a later time"),
            ((row["id"], "2030-01-01"), 9, "a date without a time"),
            ((row["id"], "in", "0m"), 9, "is now, not later"),
            ((row["id"],), 9, "give WHEN after the call's ID"),
            ((), 9, "give ID WHEN [TEXT], rm N, or --list"),
            (("x", "15:30"), 9, "ID is a call's id in the call log (see `cc log`), not 'x'"),
            ((999, "in 1h"), 5, "no call 999 in the call log"),
            ((row["id"], "in 1h", "x" * 501), 9, "text is 501 characters long: at most 500"),
            ((row["id"], "in 1h", "a\x01b"), 9, "one line without control characters"),
            (("rm",), 9, "give the reminder's number"),
            (("rm", "0"), 9, "N is a reminder's number"),
            (("--list", "5"), 9, "--list takes no ID or WHEN")]:
        done = agent.cc("remind", *args, check=False)
        assert done.returncode == code, (args, done.stderr)
        assert done.stderr.startswith("cc: ") and done.stderr.count("\n") == 1, done.stderr
        assert says in done.stderr, (args, done.stderr)
    assert len(agent.json("remind", "--list")) == 2      # nothing refused was kept
