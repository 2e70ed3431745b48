"""The team store's change log of call cards (F60), role by role: the store records every
card field a write sets or changes, with its own time and the writing role; nobody writes,
changes or removes a row by hand, the administrator included; a row goes only with its
call; it is read as the calls are. Each test connects as the role and tries."""

from __future__ import annotations

import psycopg
import pytest

from tests.test_team_roles import add_call, as_role, store, team  # noqa: F401

OLD = "2020-01-01T09:00:00+00:00"


def changes(conn, call_id: str) -> list[tuple]:
    return [tuple(r) for r in conn.execute(
        "select h.changed_by::text, h.field, h.old_value, h.new_value from cc.call_changes h "
        "join cc.calls c on c.id = h.call where c.call_id = %s order by h.id", (call_id,))]


def test_the_store_records_each_card_change_by_the_role_that_wrote_it(store):  # noqa: F811
    with as_role(store, "ivanova") as iv:
        add_call(iv, "1", 1, subject="Invoice", contact="Olena")
        iv.execute("update cc.calls set subject = 'Invoice copy', notes = 'sent', "
                   "description = 'A long story', outcome = 'answered' where call_id = '1'")
        iv.execute("update cc.calls set subject = 'Invoice copy' where call_id = '1'")
        assert changes(iv, "1") == [
            ("ivanova", "subject", None, "Invoice"), ("ivanova", "contact", None, "Olena"),
            ("ivanova", "subject", "Invoice", "Invoice copy"),
            ("ivanova", "notes", None, "sent"),
            ("ivanova", "description", None, "A long story")]


def test_nobody_writes_changes_or_removes_a_change_by_hand(store):  # noqa: F811
    with as_role(store, "ivanova") as iv:
        add_call(iv, "1", 1, subject="Invoice")
        (call,) = iv.execute("select id from cc.calls where call_id = '1'").fetchone()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            iv.execute("insert into cc.call_changes (call, field, new_value) values "
                       "(%s, 'subject', 'forged')", (call,))
        for sql in ("update cc.call_changes set new_value = 'x'", "delete from cc.call_changes",
                    "truncate cc.call_changes"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                iv.execute(sql)
    # Not the administrator either: the database refuses it (a trigger), not only a grant.
    for sql in ("update cc.call_changes set new_value = 'x'", "delete from cc.call_changes",
                "truncate cc.call_changes", "insert into cc.call_changes (call, field) "
                "select id, 'subject' from cc.calls"):
        with pytest.raises(RuntimeError, match="change log"):
            store.admin_sql(sql, database=store.DATABASE)
    assert store.admin_sql("select count(*) from cc.call_changes", database=store.DATABASE) \
        == "1"


def test_a_change_goes_only_with_its_call(store):  # noqa: F811
    with as_role(store, "ivanova") as iv:
        add_call(iv, "gone", 1, subject="a")
        add_call(iv, "old", 2, subject="b", started_at=OLD)
        add_call(iv, "kept", 3, subject="c")
        iv.execute("delete from cc.calls where call_id = 'gone'")     # `cc log rm`, replicated
        assert iv.execute("select cc.purge_calls(365)").fetchone()[0] == 1    # retention
        left = store.admin_sql("select c.call_id from cc.call_changes h join cc.calls c on "
                               "c.id = h.call", database=store.DATABASE)
        assert left == "kept"
        assert store.admin_sql("select count(*) from cc.call_changes",
                               database=store.DATABASE) == "1"


def test_changes_are_read_as_the_calls_are(store):  # noqa: F811
    with as_role(store, "ivanova") as iv, as_role(store, "petrenko") as pe, \
            as_role(store, "boss") as boss, as_role(store, "kovalenko") as ko:
        add_call(iv, "1", 1, subject="mine")
        assert changes(pe, "1") == [] and changes(ko, "1") == []
        assert changes(boss, "1") == [("ivanova", "subject", None, "mine")]
        team(store, "add-team", "Sales", "--lead", "boss", "--agents-see-team")
        assert changes(pe, "1") == [("ivanova", "subject", None, "mine")]


def test_the_store_refuses_a_description_over_64_kib(store):  # noqa: F811
    with as_role(store, "ivanova") as iv:
        add_call(iv, "1", 1, description="é" * 32768)       # 64 KiB of UTF-8 exactly
        with pytest.raises(psycopg.errors.CheckViolation):
            iv.execute("update cc.calls set description = description || 'x'")
