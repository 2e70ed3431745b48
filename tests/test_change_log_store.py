"""The call log's change log on its own (F60): what the database records and keeps, who it
names, and that its rows go only with their calls (`cc log rm`, the retention purge)."""

from __future__ import annotations

import sqlite3

import pytest

from daemon.store import MIGRATIONS, Store


def call(n: int, started_at: str = "2026-11-20T10:00:00.000+00:00", **card) -> dict:
    return {"server": "emu", "call_id": str(n), "direction": "in", "agent": "ivanova",
            "started_at": started_at, "outcome": "answered", **card}


def fields(store: Store, row_id: int) -> list[tuple]:
    return [(c["changed_by"], c["via"], c["field"], c["old_value"], c["new_value"])
            for c in store.history(row_id)]


def test_the_log_records_who_changed_which_field_from_what_to_what(tmp_path):
    store = Store(tmp_path / "calls.db")
    row_id = store.save(call(1, contact="Maria Koval"))     # found by the number
    store.save(call(1, contact="Maria Koval", outcome="answered"))     # no card change
    store.edit(row_id, {"subject": "Order", "notes": ""}, by="ivanova")
    store.fill_card(("emu", "1", "ivanova"), {"subject": "theirs", "result": "resolved"},
                    by="petrenko")       # a hand-over fills only what is empty
    store.renumber(row_id)
    assert fields(store, row_id) == [
        ("daemon", "daemon", "contact", None, "Maria Koval"),
        ("ivanova", "cc", "subject", None, "Order"),
        ("petrenko", "handover", "result", None, "resolved"),
        ("daemon", "daemon", "counter_number", "CALL-000001", "CALL-000002")]
    # The team's prefix adopted: the same numbers spelled the team's way, not a change.
    store.db.execute("update calls set counter_number = 'IVA-' || printf('%06d', counter)")
    assert len(store.history(row_id)) == 4


def test_nobody_rewrites_a_change_and_a_change_goes_only_with_its_call(tmp_path):
    store = Store(tmp_path / "calls.db")
    old = store.save(call(1, "2020-01-01T10:00:00.000+00:00", subject="old"))
    gone = store.save(call(2, subject="gone"))
    kept = store.save(call(3, subject="kept"))
    for sql in ("update call_changes set new_value = 'x'", "delete from call_changes",
                f"delete from call_changes where call_row = {kept}"):
        with pytest.raises(sqlite3.IntegrityError, match="append only"):
            store.db.execute(sql)
    assert store.purge("2025-01-01T00:00:00.000+00:00") == 1        # retention
    assert store.remove(gone) == 1                                   # cc log rm
    assert store.db.execute("select call_row from call_changes").fetchall() == [(kept,)]
    assert store.history(old) == [] and len(store.history(kept)) == 1
    assert store.remove(None) == 1                                   # cc log rm --all
    assert store.db.execute("select count(*) from call_changes").fetchone() == (0,)
    # A new call given a removed call's row id starts with no history of its own.
    again = store.save(call(4, subject="new"))
    assert again == old and fields(store, again) == [("daemon", "daemon", "subject", None,
                                                      "new")]


def test_a_writer_named_by_a_crash_is_forgotten_at_the_next_start(tmp_path):
    store = Store(tmp_path / "calls.db")
    row_id = store.save(call(1))
    store.db.execute("insert into log_meta (key, value) values ('change_by', 'ivanova'), "
                     "('change_via', 'cc')")      # as a crash mid-edit could leave them
    store.db.conn.commit()
    store.close()
    store = Store(tmp_path / "calls.db")
    store.save(call(1, subject="the daemon's"))
    assert fields(store, row_id) == [("daemon", "daemon", "subject", None, "the daemon's")]


def test_an_older_log_gains_the_description_and_the_change_log_with_its_calls(tmp_path):
    import sqlite_utils

    path = tmp_path / "calls.db"
    db = sqlite_utils.Database(path)
    for step in MIGRATIONS[:-1]:
        step(db)
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) - 1}")
    db["calls"].insert({"call_id": "1", "direction": "in", "started_at": "2026-11-01T00:00",
                        "agent": "ivanova", "server": "emu", "subject": "kept"})
    db.close()
    store = Store(path)
    assert store.version == len(MIGRATIONS)
    assert store.get(1)["subject"] == "kept" and store.get(1)["description"] is None
    assert store.history(1) == []
    store.edit(1, {"description": "é" * 32768}, by="ivanova")    # 64 KiB of UTF-8
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        store.edit(1, {"description": "é" * 32768 + "x"}, by="ivanova")
    assert [c["field"] for c in store.history(1)] == ["description"]
