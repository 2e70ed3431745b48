"""Retention: `cc log purge --older-than AGE` and `log.retention_days` (run daily on the
daemon's clock) remove old calls from the local log and this agent's from the team store,
a real PostgreSQL server, through the store's own function; a purge queues nothing for
the outbox; `cc status` and `cc doctor` show the last purge, also after a restart. The
emulator, the daemons and PostgreSQL are real processes."""

from __future__ import annotations

import json
import re
import sqlite3

from daemon.testing import wait_until
from tests.test_team_replication_e2e import (  # noqa: F401
    member, one_call, store, team_view)

YEARS_AGO = "2020-03-01T09:00:00.000+00:00"


def age(agent, call_id: str) -> None:
    """Make a call of the stopped daemon's log one from years ago, as an old log has."""
    with sqlite3.connect(agent.database) as db:
        db.execute("update calls set started_at = ? where call_id = ?", (YEARS_AGO, call_id))


def local_calls(agent) -> list[str]:
    return [row["call_id"] for row in agent.json("log")]


def test_purge_removes_old_calls_here_and_only_this_agents_in_the_team_store(
        store, emulator_factory, agent_factory):  # noqa: F811
    emulator = emulator_factory(manual_clock=True)
    agent = member(store, emulator, agent_factory)
    old, new = one_call(agent, emulator), one_call(agent, emulator)
    agent.stop(keep_home=True)
    age(agent, old)                      # the change queues the call for the store
    agent.start()
    agent.wait_logged_in()

    def aged_in_store():
        return store.admin_sql("select count(*) from cc.calls where started_at < '2021-01-01'",
                               database="cc") == "1" and team_view(agent)["outbox"] == 0
    wait_until(aged_in_store, 30, "the old call in the team store")
    # A colleague's old call: not this agent's to purge.
    store.admin_sql("insert into cc.calls (server, call_id, agent, counter, counter_number, "
                    "direction, started_at) values ('emu', 'theirs', 'petrenko', 1, 'x', "
                    f"'in', '{YEARS_AGO}')", database="cc")
    done = agent.cc("log", "purge", "--older-than", "365d")
    assert done.stdout.startswith("purged 1 call(s) that started before 20")
    assert done.stdout.strip().endswith("from the call log, 1 from the team store")
    assert local_calls(agent) == [new]
    assert team_view(agent)["outbox"] == 0           # no delete queued for the purged call
    left = store.admin_sql("select call_id from cc.calls order by call_id", database="cc")
    assert sorted(left.split()) == sorted([new, "theirs"])
    again = agent.json("log", "purge", "--older-than", "52w")
    assert (again["local"], again["team"], again["days"]) == (0, 0, 364)


def retention_line(agent) -> str:
    return next(line for line in agent.cc("status").stdout.splitlines()
                if line.startswith("retention"))


def doctor_check(agent, name: str) -> dict:
    done = agent.cc("doctor", "--json", check=False)
    return next(c for c in json.loads(done.stdout) if c["check"] == name)


def test_retention_days_purges_daily_on_the_daemons_clock_and_status_shows_the_last_purge(
        emulator_factory, agent_factory):
    emulator = emulator_factory(manual_clock=True)
    agent = agent_factory(emulator, manual_clock=True, **{"log.retention_days": 30}).start()
    agent.wait_logged_in()
    old, new = one_call(agent, emulator), one_call(agent, emulator)
    agent.stop(keep_home=True)
    age(agent, old)
    agent.start()
    agent.wait_logged_in()
    assert sorted(local_calls(agent)) == sorted([old, new])    # not before its first run
    assert retention_line(agent).startswith(
        "retention calls older than 30 days go daily; no purge yet; next 20")
    assert agent.status()["retention"]["last"] is None
    agent.advance(61)
    wait_until(lambda: local_calls(agent) == [new], what="the daily purge")
    assert "purged calls older than 30 days" in agent.daemon_log.read_text()
    wait_until(lambda: agent.status()["retention"]["last"] is not None, what="the purge shown")
    shown = agent.status()["retention"]
    assert (shown["days"], shown["last"]["days"], shown["last"]["local"]) == (30, 30, 1)
    assert "team" not in shown["last"]                   # no team store here
    line = retention_line(agent)
    assert re.fullmatch(r"retention calls older than 30 days go daily; last purge "
                        r"20\S+ \S+ \(older than 30 days\): 1 call\(s\) from the call log; "
                        r"next 20\S+ \S+", line), line
    check = doctor_check(agent, "retention")
    assert check["ok"] is True and check["detail"] == line.removeprefix("retention ")
    # Kept in the call log: a daemon started again still shows the last purge.
    agent.stop(keep_home=True)
    agent.start()
    agent.wait_logged_in()
    assert agent.status()["retention"]["last"] == shown["last"]
    assert "; last purge " in retention_line(agent)


def test_an_age_it_cannot_read_is_refused_in_one_line(emulator_factory, agent_factory):
    agent = agent_factory(emulator_factory())
    for wrong in ("5y", "0d", "365", "-3d", "99999999d"):
        done = agent.cc("log", "purge", "--older-than", wrong, check=False)
        assert done.returncode != 0 and "Traceback" not in done.stderr
        assert done.stderr.strip().splitlines() == [
            f"cc: --older-than takes days or weeks such as 365d, 30d or 12w (1 day to 36500 "
            f"days), not {wrong!r}"], done.stderr
    missing = agent.cc("log", "purge", check=False)
    assert missing.returncode != 0 and "usage: cc log purge --older-than AGE" in missing.stderr


def test_a_store_out_of_reach_leaves_the_local_purge_standing_and_says_so(
        store, emulator_factory, agent_factory):  # noqa: F811
    emulator = emulator_factory(manual_clock=True)
    agent = member(store, emulator, agent_factory)
    old = one_call(agent, emulator)
    wait_until(lambda: team_view(agent)["outbox"] == 0, what="the call sent")
    agent.stop(keep_home=True)
    age(agent, old)
    store.stop("immediate")
    agent.start()
    agent.wait_logged_in()
    done = agent.cc("log", "purge", "--older-than", "30d", timeout=60)
    lines = done.stdout.strip().splitlines()
    assert lines[0].endswith("from the call log") and lines[0].startswith("purged 1 call(s)")
    assert lines[1].startswith("the team store was not purged (")
    assert local_calls(agent) == []
    # Retention is off, but a purge ran: status and doctor say the store still has them.
    line = retention_line(agent)
    assert line.startswith("retention off (log.retention_days); last purge ")
    assert "(older than 30 days): 1 call(s) from the call log, the team store not purged " \
        "(cannot reach the team store at 127.0.0.1" in line, line
    last = agent.status()["retention"]["last"]
    assert last["team"] is None and last["team_error"].startswith("cannot reach")
    check = doctor_check(agent, "retention")
    assert check["ok"] is False
    assert check["detail"].endswith("purge again with `cc log purge --older-than 30d` once "
                                    "it is back")
