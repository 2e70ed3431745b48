"""Retention and masking in the team store, role by role: an agent purges only its own
old calls, through the administrator's function, whatever it passes; a viewer reads
numbers only masked and cannot read cc.calls. Each test connects as the role and tries
to cross the line."""

from __future__ import annotations

import psycopg
import pytest

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


def test_a_viewer_sees_numbers_only_masked(store):  # noqa: F811
    store.admin_sql("create role quality login password 'qu-pw' in role cc_viewer")
    with as_role(store, "ivanova") as iv:
        add_call(iv, "1", 1, number="+380671234533", transfer_number="2001")
    with psycopg.connect(store.url("quality", "qu-pw"), autocommit=True) as viewer:
        number, transfer = viewer.execute(
            "select number, transfer_number from cc.calls_masked").fetchone()
        assert number == "+38067•••••33"
        assert transfer == "2001"           # an extension is the team's, not a caller's
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            viewer.execute("select number from cc.calls")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            viewer.execute("select cc.purge_calls(1)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            viewer.execute("delete from cc.calls_masked")
    with as_role(store, "boss") as boss:    # the view is the viewer's, not everyone's
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            boss.execute("select number from cc.calls_masked")
