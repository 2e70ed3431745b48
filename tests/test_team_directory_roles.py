"""The team's contacts and accounts in the team store: who reads and writes them is
PostgreSQL's row-level security, what a record may hold is the database's checks. Each
test connects as a role and tries to cross the line."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from test_team_roles import as_role, store  # noqa: F401  (the fixture)


def add_contact(conn, name: str = "Olha Bondar", numbers: str = '[{"number": '
                '"+380501112233", "kind": "mobile"}]', **extra) -> str:
    uid = extra.pop("uid", str(uuid.uuid4()))
    columns = {"uid": uid, "name": name, "numbers": numbers, **extra}
    conn.execute(f"insert into cc.contacts ({', '.join(columns)}) values "
                 f"({', '.join(['%s'] * len(columns))})", list(columns.values()))
    return uid


def names(conn, table: str = "contacts") -> set[str]:
    return {row[0] for row in conn.execute(f"select name from cc.{table}")}


def test_an_agent_reads_and_writes_its_teams_contacts_only(store):  # noqa: F811
    with as_role(store, "ivanova") as iv, as_role(store, "petrenko") as pe, \
            as_role(store, "kovalenko") as ko:
        olha = add_contact(iv)
        add_contact(ko, "Support's own")
        # A colleague of the team reads and changes it; the other team sees nothing.
        assert names(pe) == {"Olha Bondar"} and names(ko) == {"Support's own"}
        assert pe.execute("update cc.contacts set name = 'Olha B.' where uid = %s",
                          (olha,)).rowcount == 1
        assert ko.execute("update cc.contacts set name = 'taken' where uid = %s",
                          (olha,)).rowcount == 0
        # Nor can an agent write into another team, nor move a record there.
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            add_contact(ko, "planted", team="Sales")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            iv.execute("update cc.contacts set team = 'Support' where uid = %s", (olha,))
        # Removal is a tombstone that travels to the colleagues, never a delete.
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            iv.execute("delete from cc.contacts where uid = %s", (olha,))
        assert names(iv) == {"Olha B."}


def test_the_writer_the_time_and_the_revision_are_the_stores(store):  # noqa: F811
    with as_role(store, "ivanova") as iv, as_role(store, "petrenko") as pe:
        olha = add_contact(iv, updated_by="petrenko", revision=1,
                           updated_at="2000-01-01T00:00:00Z")
        by, at_year, first = iv.execute("select updated_by, extract(year from updated_at), "
                                        "revision from cc.contacts").fetchone()
        assert by == "ivanova" and at_year > 2000
        pe.execute("update cc.contacts set updated_by = 'ivanova', revision = 1 "
                   "where uid = %s", (olha,))
        by, second = iv.execute("select updated_by, revision from cc.contacts").fetchone()
        assert by == "petrenko" and second > first


def test_a_lead_keeps_the_contacts_of_its_teams_only(store):  # noqa: F811
    with as_role(store, "ivanova") as iv, as_role(store, "kovalenko") as ko, \
            as_role(store, "boss") as boss:
        add_contact(iv)
        add_contact(ko, "Support's own")
        assert names(boss) == {"Olha Bondar"}
        add_contact(boss, "From the lead", team="Sales")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            add_contact(boss, "Into Support", team="Support")
        assert names(iv) == {"Olha Bondar", "From the lead"}


def test_the_store_refuses_records_no_directory_can_hold(store):  # noqa: F811
    with as_role(store, "ivanova") as iv:
        for bad in ({"uid": "not-a-uuid"}, {"name": "  "}, {"name": "x" * 201},
                    {"numbers": '[{"number": "+380501112233", "kind": "telex"}]'},
                    {"numbers": '[{"number": "", "kind": "work"}]'},
                    {"numbers": '{"number": "+380501112233"}'},
                    {"numbers": '[{"kind": "work"}]'}, {"account_uid": "Acme"}):
            with pytest.raises(psycopg.errors.CheckViolation):
                add_contact(iv, **{"name": "Olha", **bad})
        # A tombstone needs no name; an account is kept the same way.
        add_contact(iv, "", deleted=True)
        iv.execute("insert into cc.accounts (uid, name) values (%s, 'Acme Ltd')",
                   (str(uuid.uuid4()),))
        assert names(iv, "accounts") == {"Acme Ltd"}


def test_a_role_outside_the_team_reads_no_contacts(store):  # noqa: F811
    with as_role(store, "ivanova") as iv:
        add_contact(iv)
    store.admin_sql("create role outsider login password 'out-pw' in role cc_agent")
    with psycopg.connect(store.url("outsider", "out-pw"), autocommit=True) as outsider:
        assert names(outsider) == set()
        with pytest.raises((psycopg.errors.InsufficientPrivilege,
                            psycopg.errors.IntegrityError)):
            add_contact(outsider, "planted")


def test_a_team_s_writers_commit_in_revision_order_so_no_pull_misses_one(store):  # noqa: F811
    """A daemon pulls "every record above the last revision I saw": a revision drawn by a
    write still open must not be passed by one committed after it. The store draws
    revisions under a lock per team, so the second writer waits for the first."""
    import threading

    from daemon.testing import wait_until

    with as_role(store, "ivanova") as first, as_role(store, "petrenko") as second, \
            as_role(store, "petrenko") as reader:
        first.execute("begin")
        add_contact(first, "Olha Bondar")             # drawn, not committed
        done = threading.Event()

        def write_second():
            add_contact(second, "Ivan Bondar")
            done.set()
        writer = threading.Thread(target=write_second)
        writer.start()
        try:
            wait_until(lambda: store.admin_sql(
                "select count(*) from pg_locks where locktype = 'advisory' and not granted")
                == "1", 10, "the second writer waiting for the first")
            assert not done.is_set() and names(reader) == set()
            first.execute("commit")
            writer.join(10)
        finally:
            if writer.is_alive():
                first.execute("rollback")
                writer.join(10)
        order = [row[0] for row in reader.execute("select name from cc.contacts "
                                                  "order by revision")]
        assert order == ["Olha Bondar", "Ivan Bondar"]
