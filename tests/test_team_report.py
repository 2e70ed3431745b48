"""Team reports (`cc report --team`): the local report's figures across agents, read
straight from the team store (a real PostgreSQL server) with the reader's own role, no
daemon. Row-level security decides whose calls count, so each role runs the command and
gets only what it may see."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess

import psycopg
import pytest

from daemon.testing import CC
from tests.test_team_roles import PASSWORDS, add_call, as_role, store  # noqa: F401

DAY = "2026-11-25"


def cc_as(postgres, login: str, *args, password: str | None = None, env=None):
    """`cc ARGS` as `login`, with its password in CC_TEAM_PASSWORD and a profile of its own."""
    env = {**os.environ, "CC_TEAM_PASSWORD": password or PASSWORDS[login], "TZ": "UTC",
           "CC_HOME": str(postgres.dir / f"{login}-profile"), **(env or {})}
    return subprocess.run([CC, *args, "--url", postgres.url(login, "")], env=env,
                          capture_output=True, text=True, timeout=60)


def rows(done) -> dict[tuple[str, str], dict]:
    """The (day, agent) and TOTAL rows of a CSV report (not the hours of the day)."""
    assert done.returncode == 0, done.stderr
    return {(row["day"], row["agent"]): row for row in csv.DictReader(io.StringIO(done.stdout))
            if not row["hour"]}


def hours(done) -> dict[str, dict]:
    assert done.returncode == 0, done.stderr
    return {row["hour"]: row for row in csv.DictReader(io.StringIO(done.stdout)) if row["hour"]}


@pytest.fixture
def calls(store):  # noqa: F811
    """ivanova: 2 answered (60 s, 120 s; resolved, escalated; after 4 and 25 s of
    ringing) and 1 missed; petrenko: 1 out (callback); kovalenko (Support): 1 answered,
    and one the day after."""
    with as_role(store, "ivanova") as iv, as_role(store, "petrenko") as pe, \
            as_role(store, "kovalenko") as ko:
        add_call(iv, "i1", 1, outcome="answered", talk_seconds=60, wait_seconds=4,
                 started_at=f"{DAY}T09:00:00+00:00", result="resolved")
        add_call(iv, "i2", 2, outcome="answered", talk_seconds=120, wait_seconds=25,
                 started_at=f"{DAY}T10:00:00+00:00", result="escalated")
        add_call(iv, "i3", 3, outcome="missed", started_at=f"{DAY}T23:59:59+00:00")
        add_call(pe, "p1", 1, direction="out", outcome="answered", talk_seconds=30,
                 started_at=f"{DAY}T11:00:00+00:00", result="callback")
        add_call(ko, "k1", 1, outcome="answered", talk_seconds=10,
                 started_at=f"{DAY}T12:00:00+00:00")
        add_call(ko, "k2", 2, outcome="answered", talk_seconds=10,
                 started_at="2026-11-26T00:00:00+00:00")
    return store


def test_a_lead_reports_its_team_across_agents(calls):
    got = rows(cc_as(calls, "boss", "report", "--team", "--period", f"{DAY}..{DAY}",
                     "--format", "csv"))
    assert set(got) == {(DAY, "ivanova"), (DAY, "petrenko"), ("TOTAL", "")}
    iv = got[(DAY, "ivanova")]
    assert (iv["calls_in"], iv["answered"], iv["missed"]) == ("3", "2", "1")
    assert (iv["avg_talk_seconds"], iv["max_talk_seconds"], iv["avg_answer_seconds"]) == \
        ("90.0", "120.0", "14.5")
    assert got[(DAY, "petrenko")]["calls_out"] == "1"
    total = got[("TOTAL", "")]
    assert (total["calls_in"], total["calls_out"]) == ("3", "1")       # no Support calls


def test_a_lead_sees_results_hours_and_service_level_of_its_team(calls):
    period = f"{DAY}..{DAY}"
    done = cc_as(calls, "boss", "report", "--team", "--period", period, "--format", "csv")
    total = rows(done)[("TOTAL", "")]
    assert json.loads(total["results"]) == {"callback": 1, "escalated": 1, "resolved": 1,
                                            "no result": 1}
    assert json.loads(rows(done)[(DAY, "petrenko")]["results"]) == {"callback": 1}
    assert (total["calls_out_connected"], total["calls_out_not_connected"]) == ("1", "0")
    # answered after 4 and 25 s of ringing, one missed: 1 of 3 within 20 s
    assert (total["answered_in_time"], total["service_level"],
            total["service_level_seconds"]) == ("1", "0.3333", "20")
    assert {hour: (row["calls_in"], row["answered"], row["calls_out"])
            for hour, row in hours(done).items()} == {
        "09": ("1", "1", "0"), "10": ("1", "1", "0"), "11": ("0", "0", "1"),
        "23": ("1", "0", "0")}
    env = {**os.environ, "CC_HOME": str(calls.dir / "boss-profile")}
    subprocess.run([CC, "config", "set", "report.service_level_seconds", "30"], env=env,
                   check=True, capture_output=True, timeout=60)
    text = cc_as(calls, "boss", "report", "--team", "--period", period)
    assert text.returncode == 0, text.stderr
    assert "Answer rate 67% low; service level 67% low (answered within 30 s of ringing)" \
        in text.stdout
    assert "Results: callback 1, escalated 1, resolved 1, no result 1" in text.stdout
    page = cc_as(calls, "boss", "report", "--team", "--period", period, "--format", "html")
    assert page.returncode == 0 and "<svg" not in page.stdout
    assert "Results of the call cards" in page.stdout


def test_a_lead_mails_its_team_report_named_after_the_team(calls, tmp_path):
    """`cc report --team --mail`: the subject names the period and the team."""
    from tests.test_report_mail import FAKE_SENDMAIL, sent

    outbox = tmp_path / "outbox"
    (outbox / "bin").mkdir(parents=True)
    (outbox / "bin" / "sendmail").write_text(FAKE_SENDMAIL)
    (outbox / "bin" / "sendmail").chmod(0o755)
    env = {"FAKE_MAIL_DIR": str(outbox),
           "PATH": f"{outbox / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    done = cc_as(calls, "boss", "report", "--team", "--period", f"{DAY}..{DAY}", "--mail",
                 "lead@example.com", env=env)
    assert done.returncode == 0, done.stderr
    message = sent(outbox)
    assert message["Subject"] == f"Call report: {DAY}, all agents of team Sales"
    text, page = message.get_payload()
    assert "ivanova" in text.get_content() and "petrenko" in page.get_content()
    assert "kovalenko" not in text.get_content()
    # an agent of a team that does not share its calls reads its own: the title says so
    agent = cc_as(calls, "ivanova", "report", "--team", "--period", f"{DAY}..{DAY}")
    assert agent.stdout.splitlines()[0] == f"Call report: {DAY}, agent ivanova of team Sales"


def test_hours_are_local_on_the_night_the_clocks_go_back(store):  # noqa: F811
    """Kyiv leaves summer time at 04:00 on 2026-10-25 (the day has 25 hours): each call
    is counted in its local hour and day."""
    if not os.path.exists("/usr/share/zoneinfo/Europe/Kyiv"):
        pytest.skip("no time zone data for Europe/Kyiv")
    with as_role(store, "ivanova") as iv:
        for n, utc in enumerate(("2026-10-24T21:30:00+00:00",    # 00:30 summer time
                                 "2026-10-25T00:30:00+00:00",    # 03:30 summer time
                                 "2026-10-25T01:30:00+00:00",    # 03:30 again, winter
                                 "2026-10-25T21:30:00+00:00",    # 23:30
                                 "2026-10-25T22:30:00+00:00"),   # 00:30 the next day
                           start=1):
            add_call(iv, f"d{n}", n, outcome="answered", wait_seconds=3, started_at=utc)
    done = cc_as(store, "boss", "report", "--team", "--period", "2026-10-25..2026-10-25",
                 "--format", "csv", env={"TZ": "Europe/Kyiv"})
    assert set(rows(done)) == {("2026-10-25", "ivanova"), ("TOTAL", "")}
    assert rows(done)[("TOTAL", "")]["calls_in"] == "4"
    assert {hour: row["calls_in"] for hour, row in hours(done).items()} == {
        "00": "1", "03": "2", "23": "1"}


def test_a_lead_chooses_agents_and_the_text_report_names_the_store(calls):
    got = rows(cc_as(calls, "boss", "report", "--team", "--agent", "petrenko",
                     "--period", f"{DAY}..{DAY}", "--format", "csv"))
    assert set(got) == {(DAY, "petrenko"), ("TOTAL", "petrenko")}
    text = cc_as(calls, "boss", "report", "--team", "--agent", "ivanova", "--agent",
                 "petrenko", "--period", f"{DAY}..{DAY}")
    assert text.returncode == 0, text.stderr
    assert "ivanova" in text.stdout and "petrenko" in text.stdout
    assert "kovalenko" not in text.stdout


def test_an_agent_reports_only_its_own_calls(calls):
    got = rows(cc_as(calls, "ivanova", "report", "--team", "--period", f"{DAY}..{DAY}",
                     "--format", "csv"))
    assert set(got) == {(DAY, "ivanova"), ("TOTAL", "ivanova")}     # its own, named
    # Naming a colleague does not cross the line: the store shows none of its calls.
    other = rows(cc_as(calls, "ivanova", "report", "--team", "--agent", "petrenko",
                       "--period", f"{DAY}..{DAY}", "--format", "csv"))
    assert set(other) == {("TOTAL", "petrenko")}
    assert other[("TOTAL", "petrenko")]["calls_out"] == "0"


def test_an_agent_of_a_team_that_shares_reads_the_team(calls):
    calls.admin_sql("update cc.teams set agents_see_team = true where name = 'Sales'",
                    database="cc")
    got = rows(cc_as(calls, "ivanova", "report", "--team", "--period", f"{DAY}..{DAY}",
                     "--format", "csv"))
    assert set(got) == {(DAY, "ivanova"), (DAY, "petrenko"), ("TOTAL", "")}


def test_an_open_period_runs_from_the_first_to_the_last_visible_call(calls):
    got = rows(cc_as(calls, "kovalenko", "report", "--team", "--period", f"{DAY}..",
                     "--format", "csv"))
    assert set(got) == {(DAY, "kovalenko"), ("2026-11-26", "kovalenko"),
                        ("TOTAL", "kovalenko")}


def test_team_report_mistakes_are_one_line(calls, tmp_path):
    unknown = cc_as(calls, "boss", "report", "--team", "--agent", "nobody")
    assert unknown.returncode != 0
    assert "no agent nobody in the team store" in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1
    wrong = cc_as(calls, "boss", "report", "--team", password="not-it")
    assert wrong.returncode != 0 and "refused boss's password" in wrong.stderr
    assert len(wrong.stderr.strip().splitlines()) == 1


def test_a_second_database_is_refused_not_silently_used(tmp_path):
    env = {**os.environ, "CC_HOME": str(tmp_path / "profile")}
    done = subprocess.run([CC, "report", "--database", str(tmp_path / "a.db"), "--database",
                           str(tmp_path / "b.db")], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode != 0
    assert "--database was given more than once" in done.stderr
    several = subprocess.run([CC, "report", "--agent", "a", "--agent", "b"], env=env,
                             capture_output=True, text=True, timeout=60)
    assert several.returncode != 0 and "several --agent need --team" in several.stderr


def test_the_store_itself_hides_other_teams_calls_from_a_lead(calls):
    with as_role(calls, "boss") as boss:
        seen = {r[0] for r in boss.execute("select distinct agent::text from cc.calls")}
        assert seen == {"ivanova", "petrenko"}
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            boss.execute("update cc.calls set outcome = 'missed'")
