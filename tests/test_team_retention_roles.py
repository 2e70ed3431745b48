"""Retention and masking in the team store, role by role: an agent purges only its own
old calls, through the administrator's function, whatever it passes; a viewer reads
numbers only masked, only of the teams it views, and cannot read cc.calls nor write
anything; a lead adds viewers to its own teams only. Each test connects as the role and tries
to cross the line."""

from __future__ import annotations

import json
import os
import subprocess

import psycopg
import pytest

from daemon.testing import CC
from tests.test_team_roles import PASSWORDS, add_call, as_role, store, team  # noqa: F401

OLD, NEW = "2020-01-01T09:00:00+00:00", "2099-01-01T09:00:00+00:00"


def test_an_agent_purges_only_its_own_old_calls(store):  # noqa: F811
    with as_role(store, "ivanova") as iv, as_role(store, "petrenko") as pe:
        add_call(iv, "iv-old", 1, started_at=OLD)
        add_call(iv, "iv-new", 2, started_at=NEW)
        add_call(pe, "pe-old", 1, started_at=OLD)
        assert iv.execute("select cc.purge_calls(365)").fetchone()[0] == 1
        # Petrenko's old call stays: the function takes the agent from the session.
        rows = store.admin_sql("select call_id from cc.calls order by call_id",
                               database=store.DATABASE).split()
        assert rows == ["iv-new", "pe-old"]
        # No plain delete reaches another's rows, and SET ROLE does not fool the function.
        assert iv.execute("delete from cc.calls where call_id = 'pe-old'").rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            iv.execute("set role petrenko")
        assert pe.execute("select cc.purge_calls(365)").fetchone()[0] == 1


def test_purge_refuses_nonsense_days_and_outsiders(store):  # noqa: F811
    with as_role(store, "ivanova") as iv:
        with pytest.raises(psycopg.errors.InvalidParameterValue):
            iv.execute("select cc.purge_calls(0)")
    with as_role(store, "boss") as boss:      # a lead is no agent: no execute right
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            boss.execute("select cc.purge_calls(1)")


def viewer(server, login: str, team_name: str, password: str = "vi-pw") -> None:
    """`cc team add-viewer LOGIN --team TEAM` as the administrator."""
    team(server, "add-viewer", login, "--team", team_name, "--password-stdin",
         stdin=password + "\n")


def as_viewer(server, login: str = "quality", password: str = "vi-pw"):
    return psycopg.connect(server.url(login, password), autocommit=True)


def as_lead(server, *args):
    """`cc team ARGS` as Sales's lead, boss."""
    return subprocess.run([CC, "team", *args, "--url", server.url("boss", "")],
                          env={**os.environ, "CC_TEAM_PASSWORD": PASSWORDS["boss"],
                               "CC_HOME": str(server.dir / "boss-profile")},
                          capture_output=True, text=True, timeout=60)


def test_a_viewer_sees_numbers_only_masked(store):  # noqa: F811
    viewer(store, "quality", "Sales")
    with as_role(store, "ivanova") as iv:
        add_call(iv, "1", 1, number="+380671234533", transfer_number="2001")
    with as_viewer(store) as quality:
        number, transfer = quality.execute(
            "select number, transfer_number from cc.calls_masked").fetchone()
        assert number == "+38067•••••33"
        assert transfer == "2001"           # an extension is the team's, not a caller's
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            quality.execute("select number from cc.calls")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            quality.execute("select cc.purge_calls(1)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            quality.execute("delete from cc.calls_masked")
    with as_role(store, "boss") as boss:    # the view is the viewer's, not everyone's
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            boss.execute("select number from cc.calls_masked")


def test_a_viewer_sees_only_the_calls_of_the_teams_it_views(store):  # noqa: F811
    viewer(store, "quality", "Sales")
    with as_role(store, "ivanova") as iv, as_role(store, "petrenko") as pe, \
            as_role(store, "kovalenko") as ko:
        add_call(iv, "sales-1", 1, number="+380671234533")
        add_call(pe, "sales-2", 1, number="+380671234534")
        add_call(ko, "support-1", 1, number="+380671234535")
    with as_viewer(store) as quality:
        seen = quality.execute("select call_id, number from cc.calls_masked "
                               "order by call_id").fetchall()
        assert seen == [("sales-1", "+38067•••••33"), ("sales-2", "+38067•••••34")]
        # No filter of its own widens the view: the store filters on the viewer.
        assert quality.execute("select count(*) from cc.calls_masked "
                               "where agent = 'kovalenko'").fetchone()[0] == 0
    viewer(store, "quality", "Support")
    with as_viewer(store) as quality:
        assert quality.execute("select count(*) from cc.calls_masked").fetchone()[0] == 3
    # A cc_viewer role the administrator made but put on no team sees nothing.
    store.admin_sql("create role idle login password 'id-pw' in role cc_viewer")
    with as_viewer(store, "idle", "id-pw") as idle:
        assert idle.execute("select count(*) from cc.calls_masked").fetchone()[0] == 0


def test_a_viewer_writes_nothing_and_cannot_add_itself_to_another_team(store):  # noqa: F811
    viewer(store, "quality", "Sales")
    with as_role(store, "ivanova") as iv:
        add_call(iv, "1", 1)
    with as_viewer(store) as quality:
        for statement in (
                "insert into cc.viewers (login, team) values ('quality', 'Support')",
                "update cc.viewers set team = 'Support'",
                "delete from cc.viewers",
                "update cc.calls_masked set subject = 'x'",
                "insert into cc.calls (server, call_id, counter, counter_number, direction, "
                "started_at) values ('emu', 'q', 1, 'x', 'in', now())",
                "update cc.calls set subject = 'x'",
                "update cc.teams set lead = 'quality'",
                "insert into cc.agents (login, team, prefix) values ('quality', 'Sales', 'Q')"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                quality.execute(statement)
        # It sees which teams it views, and no one else's rows.
        assert quality.execute("select login, team from cc.viewers").fetchall() == [
            ("quality", "Sales")]
    assert store.admin_sql("select count(*) from cc.viewers", database="cc") == "1"


def test_a_lead_adds_viewers_to_its_own_teams_only(store):  # noqa: F811
    viewer(store, "quality", "Support")          # the administrator makes the role
    done = as_lead(store, "add-viewer", "quality", "--team", "Sales")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "viewer quality reads the calls of team 'Sales', numbers masked"
    refused = as_lead(store, "add-viewer", "kovalenko", "--team", "Support")
    assert refused.returncode != 0 and refused.stderr.count("\n") == 1, refused.stderr
    assert refused.stderr.startswith("cc: the team store refused")
    newcomer = as_lead(store, "add-viewer", "newcomer", "--team", "Sales")
    assert newcomer.returncode != 0 and "Traceback" not in newcomer.stderr
    assert store.admin_sql("select count(*) from pg_roles where rolname = 'newcomer'") == "0"
    with as_role(store, "boss") as boss:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            boss.execute("insert into cc.viewers (login, team) values ('boss', 'Support')")
        assert boss.execute("delete from cc.viewers where team = 'Support'").rowcount == 0
    rows = store.admin_sql("select login || ':' || team from cc.viewers order by 1",
                           database="cc").split()
    assert rows == ["quality:Sales", "quality:Support"]
    shown = team(store, "show").stdout
    assert "team Sales (lead: boss)" in shown
    assert shown.count("  viewers (numbers masked): quality") == 2
    # The lead sees its own teams' viewers; an agent those of its team; the viewer its own.
    lead = json.loads(as_lead(store, "show", "--json").stdout)
    assert lead["viewers"] == [{"login": "quality", "team": "Sales"}]
    agent = subprocess.run([CC, "team", "show", "--json", "--url", store.url("kovalenko", "")],
                           env={**os.environ, "CC_TEAM_PASSWORD": PASSWORDS["kovalenko"],
                                "CC_HOME": str(store.dir / "ko-profile")},
                           capture_output=True, text=True, timeout=60)
    assert json.loads(agent.stdout)["viewers"] == [{"login": "quality", "team": "Support"}]
    no_team = team(store, "add-viewer", "quality", "--team", "Nope", check=False)
    assert no_team.stderr == "cc: there is no team 'Nope': add it with `cc team add-team`\n"
