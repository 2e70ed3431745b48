"""The team's saved filters (issue 15): `cc log save NAME --team` keeps a filter in the
team store (a real PostgreSQL server) for the whole team, straight from the CLI; `cc log
NAME` finds this profile's filter first, then the team's, and with the store out of
reach the copy last read. Each role runs `cc` and tries to cross its line."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from daemon.testing import CC
from tests.test_team_report import calls  # noqa: F401
from tests.test_team_roles import PASSWORDS, store, team  # noqa: F401


def cc_as(server, login: str, *args, check: bool = False):
    """`cc ARGS` as `login` with a profile of its own whose team.url is the store."""
    home = server.dir / f"{login}-profile"
    env = {**os.environ, "CC_TEAM_PASSWORD": PASSWORDS[login], "CC_HOME": str(home),
           "TZ": "UTC"}
    if not (home / "config.toml").exists():
        subprocess.run([CC, "config", "set", "team.url", server.url(login, "")], env=env,
                       check=True, capture_output=True, timeout=60)
    done = subprocess.run([CC, *args], env=env, capture_output=True, text=True, timeout=60)
    if check and done.returncode != 0:
        raise AssertionError(f"cc {' '.join(args)} exited {done.returncode}: {done.stderr}")
    return done


@pytest.fixture
def log_file(tmp_path):
    """A call log of this cc's with an answered call and a missed one."""
    import sqlite_utils

    from daemon.store import MIGRATIONS

    path = tmp_path / "calls.db"
    db = sqlite_utils.Database(path)
    for step in MIGRATIONS:
        step(db)
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
    db["calls"].insert_all([
        {"call_id": "c1", "direction": "in", "agent": "ivanova", "number": "0441110001",
         "number_key": "0441110001", "outcome": "answered",
         "started_at": "2026-11-20T10:00:00+00:00"},
        {"call_id": "c2", "direction": "in", "agent": "ivanova", "number": "0441110002",
         "number_key": "0441110002", "outcome": "missed",
         "started_at": "2026-11-20T11:00:00+00:00"}])
    db.close()
    return path


def listed(done) -> list[str]:
    assert done.returncode == 0, done.stderr
    return [row["call_id"] for row in json.loads(done.stdout)]


def saved(server, login: str) -> list[tuple]:
    done = cc_as(server, login, "log", "saved", "--json", check=True)
    return [(e["name"], e["team"], e["owner"]) for e in json.loads(done.stdout)]


def test_a_filter_saved_for_the_team_serves_every_colleague(store, log_file):  # noqa: F811
    done = cc_as(store, "petrenko", "log", "save", "missed-calls", "--missed", "--team")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "saved team filter 'missed-calls' for team Sales: --missed\n"
    # ivanova has no such filter of her own: the team's serves her.
    assert listed(cc_as(store, "ivanova", "log", "missed-calls", "--database", str(log_file),
                        "--json")) == ["c2"]
    assert saved(store, "ivanova") == [("missed-calls", "Sales", "petrenko")]
    text = cc_as(store, "ivanova", "log", "saved", check=True).stdout
    assert text == "missed-calls  --missed  [team Sales, petrenko]\n"
    # Support's agent sees none of it.
    assert saved(store, "kovalenko") == []
    refused = cc_as(store, "kovalenko", "log", "missed-calls", "--database", str(log_file))
    assert refused.returncode == 9 and "no saved filter 'missed-calls'" in refused.stderr


def test_a_local_filter_wins_and_saving_a_team_one_of_its_name_warns(store,  # noqa: F811
                                                                       log_file):
    cc_as(store, "ivanova", "log", "save", "mine", "--outcome", "answered", check=True)
    done = cc_as(store, "ivanova", "log", "save", "mine", "--missed", "--team", check=True)
    assert "your local filter 'mine' wins on this machine" in done.stderr
    assert listed(cc_as(store, "ivanova", "log", "mine", "--database", str(log_file),
                        "--json")) == ["c1"]
    assert listed(cc_as(store, "petrenko", "log", "mine", "--database", str(log_file),
                        "--json")) == ["c2"]
    assert saved(store, "ivanova") == [("mine", None, None), ("mine", "Sales", "ivanova")]
    cc_as(store, "ivanova", "log", "forget", "mine", check=True)       # the local one
    assert listed(cc_as(store, "ivanova", "log", "mine", "--database", str(log_file),
                        "--json")) == ["c2"]
    done = cc_as(store, "ivanova", "log", "forget", "mine")
    assert done.returncode == 9 and "`cc log forget mine --team`" in done.stderr


def test_only_the_owner_or_the_lead_changes_or_forgets_a_team_filter(store):  # noqa: F811
    cc_as(store, "ivanova", "log", "save", "today", "--period", "today", "--team",
          check=True)
    for args in (("save", "today", "--missed", "--team"), ("forget", "today", "--team")):
        done = cc_as(store, "petrenko", "log", *args)
        assert done.returncode == 10, done.stderr
        does = "changes" if args[0] == "save" else "removes"
        assert done.stderr == (f"cc: the team filter 'today' is ivanova's: only ivanova or "
                               f"the team's lead (boss) {does} it; save yours under another "
                               "name\n")
    done = cc_as(store, "boss", "log", "forget", "today", "--team", check=True)
    assert done.stdout == "forgot team Sales's saved filter 'today'\n"
    assert saved(store, "ivanova") == []


def test_a_lead_of_two_teams_names_the_team(store):  # noqa: F811
    team(store, "add-team", "Support", "--lead", "boss")
    done = cc_as(store, "boss", "log", "save", "week", "--period", "this-week", "--team")
    assert done.returncode == 9
    assert done.stderr == "cc: you lead Sales, Support: name the team with --team-name TEAM\n"
    cc_as(store, "boss", "log", "save", "week", "--period", "this-week", "--team",
          "--team-name", "Support", check=True)
    assert saved(store, "kovalenko") == [("week", "Support", "boss")]
    assert saved(store, "ivanova") == []
    cc_as(store, "boss", "log", "save", "week", "--period", "this-week", "--team",
          "--team-name", "Sales", check=True)
    done = cc_as(store, "boss", "log", "forget", "week", "--team")
    assert done.returncode == 9 and done.stderr == (
        "cc: teams Sales, Support each have a filter 'week': name one with --team-name TEAM\n")
    cc_as(store, "boss", "log", "forget", "week", "--team", "--team-name", "Sales",
          check=True)
    assert saved(store, "kovalenko") == [("week", "Support", "boss")]
    # An agent names no other team than its own.
    done = cc_as(store, "ivanova", "log", "save", "x", "--missed", "--team", "--team-name",
                 "Support")
    assert done.returncode == 10 and "for your own team only" in done.stderr


def test_with_the_store_down_the_copy_last_read_serves(store, log_file):  # noqa: F811
    cc_as(store, "petrenko", "log", "save", "missed-calls", "--missed", "--team",
          check=True)
    assert saved(store, "ivanova") == [("missed-calls", "Sales", "petrenko")]    # read once
    store.stop()
    done = cc_as(store, "ivanova", "log", "missed-calls", "--database", str(log_file),
                 "--json")
    assert listed(done) == ["c2"]
    assert done.stderr.count("\n") == 1 and "cannot reach the team store" in done.stderr \
        and "using the copy of 20" in done.stderr
    # Tab completion offers it from the copy.
    from tests.test_completions import complete_bash, shell_env

    env = shell_env(store.dir / "ivanova-profile")
    assert complete_bash("cc log mis", env) == ["missed-calls"]
    assert complete_bash("cc log forget mis", env) == ["missed-calls"]
    # Saving needs the store itself.
    done = cc_as(store, "ivanova", "log", "save", "x", "--missed", "--team")
    assert done.returncode == 1 and done.stderr.count("\n") == 1


def test_without_a_team_store_team_filters_are_one_line(tmp_path):
    env = {**os.environ, "CC_HOME": str(tmp_path)}
    for args in (("log", "save", "x", "--missed", "--team"), ("log", "forget", "x", "--team")):
        done = subprocess.run([CC, *args], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 8, done.stderr
        assert done.stderr == ("cc: --team: this needs the team store: set team.url (`cc "
                               "config set team.url postgresql://LOGIN@HOST/DATABASE`)\n")


def test_a_saved_filter_lists_the_teams_calls_too(calls):  # noqa: F811
    """A lead, who runs no daemon, uses the team's filters on the team store's calls."""
    cc_as(calls, "boss", "log", "save", "answered-in", "--outcome", "answered", "--direction",
          "in", "--columns", "agent,call_id", "--team", check=True)
    done = cc_as(calls, "boss", "log", "answered-in", "--team", "--format", "csv")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["agent,call_id", "ivanova,i2", "ivanova,i1"]
    # What the team's listing cannot apply is refused, saved or not.
    cc_as(calls, "boss", "log", "save", "by-subject", "--subject", "refund", "--team",
          check=True)
    done = cc_as(calls, "boss", "log", "by-subject", "--team")
    assert done.returncode == 9 and "--subject does not apply to the team store" in done.stderr
