"""The team's saved filters and catalogues in the team store (issue 15): who reads and
changes them is row-level security's, so each test connects as a role and tries to cross
the line. Sales: ivanova, petrenko, lead boss; Support: kovalenko."""

from __future__ import annotations

import json

import psycopg
import pytest

from daemon.store import CATALOG_DEFAULTS
from daemon.team.schema import VERSION
from tests.test_team_roles import as_role, store, team  # noqa: F401


def add_filter(conn, team_name: str, name: str, **extra):
    columns = {"team": team_name, "name": name,
               "definition": json.dumps({"period": "today"}), **extra}
    conn.execute(f"insert into cc.saved_filters ({', '.join(columns)}) values "
                 f"({', '.join(['%s'] * len(columns))})", list(columns.values()))


def filters(conn) -> set[tuple[str, str, str]]:
    return {tuple(r) for r in conn.execute(
        "select team, name, owner::text from cc.saved_filters")}


def test_the_teams_filters_are_read_by_its_agents_and_lead_only(store):  # noqa: F811
    with as_role(store, "ivanova") as iv, as_role(store, "petrenko") as pe, \
            as_role(store, "kovalenko") as ko, as_role(store, "boss") as boss:
        add_filter(iv, "Sales", "missed-today")
        add_filter(ko, "Support", "escalations")
        add_filter(boss, "Sales", "week")
        sales = {("Sales", "missed-today", "ivanova"), ("Sales", "week", "boss")}
        assert filters(iv) == filters(pe) == filters(boss) == sales
        assert filters(ko) == {("Support", "escalations", "kovalenko")}


def test_an_agent_adds_filters_to_its_own_team_as_itself_only(store):  # noqa: F811
    with as_role(store, "ivanova") as iv, as_role(store, "boss") as boss:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            add_filter(iv, "Support", "theirs")                 # another team
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            add_filter(iv, "Sales", "forged", owner="petrenko")  # as someone else
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            add_filter(boss, "Support", "not-led")              # a team boss does not lead
        with pytest.raises(psycopg.errors.CheckViolation):
            add_filter(iv, "Sales", "no spaces")                # the local name rule
        assert filters(iv) == set()


def test_only_the_owner_or_the_lead_changes_or_removes_a_filter(store):  # noqa: F811
    with as_role(store, "ivanova") as iv, as_role(store, "petrenko") as pe, \
            as_role(store, "boss") as boss:
        add_filter(iv, "Sales", "mine")
        add_filter(iv, "Sales", "second")
        # A colleague can neither overwrite (an upsert) nor change nor remove it.
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            pe.execute("insert into cc.saved_filters (team, name, definition) values "
                       "('Sales', 'mine', '{}') on conflict (team, name) do update set "
                       "definition = excluded.definition")
        assert pe.execute("update cc.saved_filters set definition = '{}'").rowcount == 0
        assert pe.execute("delete from cc.saved_filters").rowcount == 0
        # Its owner cannot give it away nor move it to another team.
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            iv.execute("update cc.saved_filters set owner = 'petrenko' where name = 'mine'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            iv.execute("update cc.saved_filters set team = 'Support' where name = 'mine'")
        assert iv.execute("update cc.saved_filters set definition = '{\"missed\": true}' "
                          "where name = 'mine'").rowcount == 1
        # The lead changes and removes its team's filters, but moves none out of the team.
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            boss.execute("update cc.saved_filters set team = 'Support' where name = 'mine'")
        assert boss.execute("update cc.saved_filters set definition = '{}' "
                            "where name = 'mine'").rowcount == 1
        assert boss.execute("delete from cc.saved_filters where name = 'second'"
                            ).rowcount == 1
        assert iv.execute("delete from cc.saved_filters where name = 'mine'").rowcount == 1
        assert filters(boss) == set()


def catalog(conn, team_name: str | None = None) -> set[tuple[str, str, str]]:
    return {tuple(r) for r in conn.execute("select team, kind, name from cc.catalog")
            if team_name is None or r[0] == team_name}


def test_a_team_starts_with_a_new_logs_catalogues(store):  # noqa: F811
    defaults = {(kind, name, colour) for kind, name, colour in CATALOG_DEFAULTS}
    team(store, "add-team", "Billing")
    for name in ("Sales", "Billing"):
        got = store.admin_sql(f"select kind, name, colour from cc.catalog where team = "
                              f"'{name}'", database="cc")
        assert {tuple(line.split("|")) for line in got.splitlines()} == defaults


def test_the_lead_keeps_the_catalogue_and_the_agents_read_it(store):  # noqa: F811
    with as_role(store, "ivanova") as iv, as_role(store, "kovalenko") as ko, \
            as_role(store, "boss") as boss:
        boss.execute("insert into cc.catalog (team, kind, name, colour) values "
                     "('Sales', 'results', 'sold', 'green')")
        assert ("Sales", "results", "sold") in catalog(iv)
        assert {t for t, _, _ in catalog(iv)} == {"Sales"}
        assert {t for t, _, _ in catalog(ko)} == {"Support"}         # Sales's stays apart
        assert {t for t, _, _ in catalog(boss)} == {"Sales"}
        for sql in ("insert into cc.catalog (team, kind, name) values "
                    "('Sales', 'results', 'mine')",
                    "update cc.catalog set colour = 'red' where name = 'sold'",
                    "delete from cc.catalog where name = 'sold'"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                iv.execute(sql)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            boss.execute("insert into cc.catalog (team, kind, name) values "
                         "('Support', 'results', 'planted')")
        assert boss.execute("delete from cc.catalog where team = 'Support'").rowcount == 0
        with pytest.raises(psycopg.errors.CheckViolation):
            boss.execute("update cc.catalog set colour = 'plaid' where name = 'sold'")


def test_the_shared_tables_come_with_the_current_schema(store):  # noqa: F811
    assert store.admin_sql("select version from cc.schema_version", database="cc") == \
        str(VERSION)


def test_teams_made_before_the_catalogues_get_a_new_logs_entries(postgres):
    """A store at the version before this migration, with a team, brought up to date."""
    from daemon.team import schema

    mine = schema.MIGRATIONS.index(schema._shared_filters_and_catalogues)
    with psycopg.connect(postgres.url(), autocommit=True) as admin:
        full = schema.MIGRATIONS
        try:
            schema.MIGRATIONS = full[:mine]
            schema.VERSION = mine
            schema.migrate(admin)
        finally:
            schema.MIGRATIONS, schema.VERSION = full, len(full)
        admin.execute("insert into cc.teams (name) values ('Sales')")
        assert schema.migrate(admin) == (mine, VERSION)
        got = admin.execute("select kind, name, colour from cc.catalog where team = 'Sales'"
                            ).fetchall()
    assert set(got) == set(CATALOG_DEFAULTS)
