"""`cc log --team` and `cc log --agent NAME` (F58): the team store's calls listed with the
reader's own role, straight from a real PostgreSQL server, no daemon. Each role runs the
command and tries to see past its line."""

from __future__ import annotations

import json

from tests.test_team_report import DAY, calls, cc_as  # noqa: F401
from tests.test_team_roles import store  # noqa: F401


def listed(done) -> list[tuple[str, str]]:
    assert done.returncode == 0, done.stderr
    return [(row["agent"], row["call_id"]) for row in json.loads(done.stdout)]


def test_a_lead_lists_its_teams_calls_newest_first(calls):  # noqa: F811
    got = listed(cc_as(calls, "boss", "log", "--team", "--json"))
    assert got == [("ivanova", "i3"), ("petrenko", "p1"), ("ivanova", "i2"),
                   ("ivanova", "i1")]
    first = json.loads(cc_as(calls, "boss", "log", "--team", "--json").stdout)[0]
    assert first["counter_number"] == "IVANOVA-000003" and first["outcome"] == "missed"
    assert listed(cc_as(calls, "boss", "log", "--agent", "petrenko", "--json")) == \
        [("petrenko", "p1")]
    table = cc_as(calls, "boss", "log", "--team", "--limit", "1")
    assert table.returncode == 0, table.stderr
    assert "IVANOVA-000003" in table.stdout and "PETRENKO" not in table.stdout


def test_filters_narrow_the_team_listing(calls):  # noqa: F811
    got = listed(cc_as(calls, "boss", "log", "--team", "--outcome", "answered",
                       "--direction", "in", "--period", f"{DAY}..{DAY}", "--json"))
    assert got == [("ivanova", "i2"), ("ivanova", "i1")]
    csv = cc_as(calls, "boss", "log", "--team", "--format", "csv", "--columns",
                "agent,call_id")
    assert csv.stdout.splitlines() == ["agent,call_id", "ivanova,i3", "petrenko,p1",
                                       "ivanova,i2", "ivanova,i1"]


def test_an_agent_lists_only_its_own_calls(calls):  # noqa: F811
    assert listed(cc_as(calls, "petrenko", "log", "--team", "--json")) == \
        [("petrenko", "p1")]
    # Asking for a colleague's calls crosses no line: the store returns none.
    assert listed(cc_as(calls, "petrenko", "log", "--agent", "ivanova", "--json")) == []
    assert listed(cc_as(calls, "kovalenko", "log", "--team", "--json")) == \
        [("kovalenko", "k2"), ("kovalenko", "k1")]


def test_an_agent_of_a_sharing_team_lists_the_team(calls):  # noqa: F811
    calls.admin_sql("update cc.teams set agents_see_team = true where name = 'Sales'",
                    database="cc")
    assert listed(cc_as(calls, "petrenko", "log", "--agent", "ivanova", "--json")) == \
        [("ivanova", "i3"), ("ivanova", "i2"), ("ivanova", "i1")]


def test_team_listing_mistakes_are_one_line(calls):  # noqa: F811
    for args, says in ((("--contact", "Acme"), "--contact does not apply to the team store"),
                       (("--format", "asterisk-csv"), "--format asterisk-csv does not apply"),
                       (("--outcome", "lost"), "unknown outcome 'lost'"),
                       (("--period", "someday"), "someday")):
        done = cc_as(calls, "boss", "log", "--team", *args)
        assert done.returncode != 0 and says in done.stderr, (args, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
