"""The call log store on its own: migrations, keyset paging, period bounds."""

from __future__ import annotations

import os
import sqlite3
from datetime import date

import pytest

from daemon import periods
from daemon.store import MIGRATIONS, Store, open_log


def row(n: int, talk: float | None) -> dict:
    return {"id": None, "call_id": str(5000 + n), "direction": "out" if n % 2 else "in",
            "number": f"+38044{n:07}", "agent": "ivanova",
            "started_at": f"2026-11-{1 + n % 20:02}T10:00:{n % 60:02}.000+00:00",
            "talk_seconds": talk, "outcome": "answered"}


def test_pages_cover_every_call_once_in_order(tmp_path):
    store = Store(tmp_path / "calls.db")
    for n in range(23):
        store.save(row(n, None if n % 5 == 0 else float(n % 7)))
    for sort in ("start", "talk"):
        seen, cursor = [], None
        while True:
            page = store.find(sort=sort, limit=5, after=cursor)
            seen += page
            if len(page) < 5:
                break
            key = "started_at" if sort == "start" else "talk_seconds"
            cursor = [page[-1][key], page[-1]["id"]]
        assert sorted(r["id"] for r in seen) == list(range(1, 24))
        assert seen == store.find(sort=sort, limit=None)


def test_an_old_database_opens_in_the_new_version_without_loss(tmp_path):
    path = tmp_path / "calls.db"
    import sqlite_utils

    db = sqlite_utils.Database(path)
    MIGRATIONS[0](db)
    db.execute("PRAGMA user_version = 1")
    db["calls"].insert({"call_id": "7", "direction": "in", "started_at": "2026-11-01T00:00:00",
                        "number": "+380441110001"})
    db.close()
    store = Store(path)
    assert store.version == len(MIGRATIONS)
    assert store.get(1)["number"] == "+380441110001"
    assert store.get(1)["transfer_from"] is None


def test_a_database_from_a_newer_cc_is_refused(tmp_path):
    path = tmp_path / "calls.db"
    sqlite3.connect(path).execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(RuntimeError, match="newer cc"):
        Store(path)


def test_named_periods():
    wednesday = date(2026, 11, 25)
    assert periods.days("this-week", wednesday) == (date(2026, 11, 23), date(2026, 11, 29))
    assert periods.days("last-week", wednesday) == (date(2026, 11, 16), date(2026, 11, 22))
    assert periods.days("last-month", wednesday) == (date(2026, 10, 1), date(2026, 10, 31))
    assert periods.days("this-month", date(2026, 12, 31)) == (date(2026, 12, 1),
                                                              date(2026, 12, 31))
    assert periods.days("2026-11-01..", wednesday) == (date(2026, 11, 1), None)
    with pytest.raises(periods.PeriodError):
        periods.days("2026-11-05..2026-11-01")


def test_migrating_a_large_old_log_is_set_based_and_keeps_every_call(tmp_path):
    import time

    import sqlite_utils

    path = tmp_path / "calls.db"
    db = sqlite_utils.Database(path)
    for step in MIGRATIONS[:3]:
        step(db)
    db.execute("PRAGMA user_version = 3")
    db["calls"].insert_all(({"call_id": str(n), "direction": "in", "number": "+380444557890",
                             "started_at": f"2026-11-01T00:{n // 60 % 60:02}:{n % 60:02}"}
                            for n in range(20_000)), batch_size=5000)
    db.close()
    began = time.monotonic()
    store = Store(path)
    took = time.monotonic() - began
    assert store.db.execute("select count(*), min(counter), max(counter) from calls"
                            ).fetchone() == (20_000, 1, 20_000)
    assert store.get(1)["counter_number"] == "CALL-000001"
    assert store.db.execute("select count(*) from calls where number_key = '+380444557890'"
                            ).fetchone()[0] == 20_000
    print(f"migrated 20,000 calls from v3 in {took:.2f} s")
    plan = store.db.execute("explain query plan select max(counter) from calls").fetchall()
    assert "USING" in str(plan) and "INDEX" in str(plan)


def test_open_log_makes_a_wal_log_and_reads_it_without_changing_it(tmp_path):
    path = tmp_path / "a #?%20 b" / "calls.db"     # URI characters must stay a file name
    conn = open_log(path)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    conn.execute("create table calls (x)")
    conn.commit()
    conn.close()
    reader = open_log(path, read_only=True)
    try:
        assert reader.execute("select name from sqlite_master").fetchall() == [("calls",)]
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            reader.execute("insert into calls values (1)")
    finally:
        reader.close()


def test_open_log_read_only_never_creates_a_log(tmp_path):
    with pytest.raises(FileNotFoundError):
        open_log(tmp_path / "calls.db", read_only=True)
    with pytest.raises(IsADirectoryError):
        open_log(tmp_path, read_only=True)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only directory")
def test_open_log_reads_a_copy_in_a_directory_it_cannot_write(tmp_path):
    store = Store(tmp_path / "copy" / "calls.db")
    store.save(row(1, 30.0))
    store.close()                   # the last connection folds the WAL file back in
    (tmp_path / "copy").chmod(0o555)
    try:
        conn = open_log(tmp_path / "copy" / "calls.db", read_only=True)
        assert conn.execute("select count(*) from calls").fetchone() == (1,)
        conn.close()
    finally:
        (tmp_path / "copy").chmod(0o755)


def test_an_older_log_with_a_call_twice_keeps_its_first_record_and_then_refuses_a_second(
        tmp_path):
    import sqlite_utils

    from daemon import store as calls_log

    path = tmp_path / "calls.db"
    db = sqlite_utils.Database(path)
    for step in calls_log.MIGRATIONS[:6]:
        step(db)
    db.execute("PRAGMA user_version = 6")
    base = {"call_id": "5007", "direction": "out", "number": "+380441110001",
            "started_at": "2026-11-25T09:00:00+00:00"}
    db["calls"].insert_all([
        {**base, "agent": "ivanova", "outcome": "answered", "counter": 1},
        {**base, "agent": "ivanova", "outcome": "not-answered", "counter": 2},
        {**base, "agent": "petrenko", "outcome": "answered", "counter": 3}])
    db.close()
    log = calls_log.Store(path)
    rows = [(r["agent"], r["outcome"]) for r in log.db["calls"].rows_where(order_by="id")]
    assert rows == [("ivanova", "answered"), ("petrenko", "answered")]
    log.save({**base, "id": None, "server": "", "agent": "ivanova", "outcome": "missed"})
    assert log.pending == {} and log.db["calls"].count == 2


def test_a_crash_at_any_statement_of_a_migration_leaves_a_log_the_next_start_migrates(
        tmp_path):
    import shutil

    import sqlite_utils

    old = tmp_path / "old.db"
    db = sqlite_utils.Database(old)
    for step in MIGRATIONS[:3]:
        step(db)
    db.execute("PRAGMA user_version = 3")
    db["calls"].insert_all([row(1, 30.0), row(2, 4.0)])
    db.close()
    statements = 0
    while True:
        statements += 1
        path = tmp_path / f"crash-{statements}" / "calls.db"
        path.parent.mkdir()
        shutil.copy(old, path)
        pid = os.fork()
        if pid == 0:        # the daemon, killed as it sends its nth statement of the upgrade
            executed = 0
            real = sqlite_utils.Database.execute

            def dies_at_the_nth(self, sql, *args):
                nonlocal executed
                executed += 1
                if executed == statements:
                    os._exit(9)
                return real(self, sql, *args)
            sqlite_utils.Database.execute = dies_at_the_nth
            Store(path).close()
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        store = Store(path)         # the next start
        assert store.version == len(MIGRATIONS)
        assert [(r["call_id"], r["talk_seconds"]) for r in store.find(limit=None, desc=False)
                ] == [("5001", 30.0), ("5002", 4.0)], f"killed at statement {statements}"
        assert "calls_identity" in {i.name for i in store.db["calls"].indexes}
        store.close()
        if os.waitstatus_to_exitcode(status) == 0:      # the upgrade ran to its end
            break
    print(f"killed at each of {statements} statements")
    assert statements > 20


def damage_an_index(database) -> None:
    """Garbage over the pages of one index: the quick check fails, the calls still read."""
    overwrite_root_pages(database, "idx_calls_talk_seconds")


def overwrite_root_pages(database, *names: str) -> None:
    """Garbage over the first page of each table or index named."""
    conn = sqlite3.connect(database)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    roots = [conn.execute("select rootpage from sqlite_master where name = ?",
                          [name]).fetchone()[0] for name in names]
    conn.close()
    with open(database, "r+b") as fh:
        for root in roots:
            fh.seek((root - 1) * page_size)
            fh.write(bytes(range(256)) * (page_size // 256))


def test_card_numbers_go_on_after_damaged_logs_even_when_the_start_that_set_one_aside_failed(
        tmp_path, monkeypatch):
    from daemon.store import open_store

    path, spool = tmp_path / "calls.db", tmp_path / "calls.spool"
    store = Store(path)
    for n in range(3):
        store.save(row(n, 10.0))
    store.close()
    damage_an_index(path)
    def disk_full(self):
        raise sqlite3.OperationalError("database or disk is full")
    monkeypatch.setattr(Store, "migrate", disk_full)
    with pytest.raises(sqlite3.OperationalError):       # set aside, then the disk was full
        open_store(path, "CALL-{n:06}", spool)
    monkeypatch.undo()
    store = open_store(path, "CALL-{n:06}", spool)      # the next start: a fresh log
    assert store.notice is None and store.find() == []
    store.close()
    with open(path, "r+b") as fh:           # damaged again before its first call, beyond reading
        fh.write(b"this is not a call log at all")
    store = open_store(path, "CALL-{n:06}", spool)
    assert "damaged" in store.notice
    store.save(row(4, 10.0))
    assert store.last()["counter_number"] == "CALL-000004"
    assert len(list(tmp_path.glob("calls.damaged-*.db"))) == 2


def test_a_card_number_is_never_given_twice_after_removals_or_a_restart(tmp_path):
    """F22: the database keeps the highest number given; removing calls lowers nothing."""
    path = tmp_path / "calls.db"
    store = Store(path)
    for n in range(3):
        store.save(row(n, 10.0))
    store.remove(3)                     # the last call: max+1 would give its number again
    store.save(row(3, 10.0))
    assert store.last()["counter_number"] == "CALL-000004"
    assert store.remove(None) == 3
    store.close()
    store = Store(path)                 # the next start
    store.save(row(4, 10.0))
    assert [r["counter_number"] for r in store.find()] == ["CALL-000005"]


def test_a_log_from_before_the_high_water_mark_keeps_its_numbers_after_rm_all(tmp_path):
    path = tmp_path / "calls.db"
    db = sqlite_utils_database(path)
    for step in MIGRATIONS:
        step(db)
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
    db["calls"].insert_all([{**row(n, 1.0), "id": None, "counter": n + 1} for n in range(7)])
    db.conn.commit()
    db.close()
    store = Store(path)
    store.remove(None)
    store.save(row(8, 1.0))
    assert store.last()["counter_number"] == "CALL-000008"


def test_the_high_water_mark_outlives_damaged_call_pages(tmp_path):
    from daemon.store import open_store

    path, spool = tmp_path / "calls.db", tmp_path / "calls.spool"
    store = Store(path)
    for n in range(5):
        store.save(row(n, 10.0))
    store.remove(5)
    store.close()
    overwrite_root_pages(path, "calls", "idx_calls_counter")    # neither reads now
    store = open_store(path, "CALL-{n:06}", spool)
    assert "damaged" in store.notice
    store.save(row(6, 10.0))
    assert store.last()["counter_number"] == "CALL-000006"


def sqlite_utils_database(path):
    import sqlite_utils

    return sqlite_utils.Database(path)


def test_a_group_holds_only_logged_calls_and_a_removed_call_leaves_it(tmp_path):
    """The database itself keeps static groups true (F43, F59), whoever writes to it."""
    store = Store(tmp_path / "calls.db")
    for n in range(3):
        store.save(row(n, 1.0))
    assert store.group_add("vip", [1, 2], "2026-11-26T08:00:00.000+00:00") == 2
    assert store.group_add("vip", [2, 3], "2026-11-26T08:00:00.000+00:00") == 1
    assert store.groups_of(2) == ["vip"]
    with pytest.raises(sqlite3.IntegrityError, match="only logged calls"):
        with store.db.conn:
            store.db.execute("insert into call_group_members values (1, 99, '5001', 'now')")
    with pytest.raises(sqlite3.IntegrityError, match="only logged calls"):
        with store.db.conn:     # row 1 is another call
            store.db.execute("insert into call_group_members values (1, 1, '5002', 'now')")
    with pytest.raises(sqlite3.IntegrityError):
        with store.db.conn:
            store.db.execute("insert into call_groups (name, created_at) values ('', 'now')")
    with store.db.conn:         # not through remove(): the member stays behind ...
        store.db.execute("delete from calls where id = 3")
    store.save(row(7, 1.0))     # ... and row 3 comes again, another call
    assert store.get(3)["call_id"] == "5007"
    assert store.group_calls("vip") == [1, 2] and store.groups_of(3) == []
    store.remove(2)
    assert store.group_calls("vip") == [1]
    store.remove(None)
    assert store.groups() == [{"name": "vip", "created_at": "2026-11-26T08:00:00.000+00:00",
                               "calls": 0}]
    store.group_add("vip", [], "now")
    assert store.group_delete("vip") and store.group_calls("vip") is None
    assert store.db.execute("select count(*) from call_group_members").fetchone()[0] == 0


def test_missed_is_every_incoming_call_not_accepted(tmp_path):
    """F57: rejected, busy and failed incoming calls are missed too; a group call a
    colleague took was accepted, and an outgoing call is never missed."""
    from daemon.wire import OUTCOMES

    store = Store(tmp_path / "calls.db")
    for n, (direction, outcome) in enumerate(
            [("in", o) for o in OUTCOMES] + [("out", "rejected"), ("out", "missed")]):
        store.save({**row(n, None), "direction": direction, "outcome": outcome})
    missed = {r["outcome"] for r in store.find(missed=True, limit=None)}
    assert missed == {"missed", "rejected", "busy", "failed"}
    assert all(r["direction"] == "in" for r in store.find(missed=True, limit=None))


def test_a_subject_is_found_in_any_case_and_its_wildcards_are_plain_text(tmp_path):
    store = Store(tmp_path / "calls.db")
    for n, subject in enumerate(["Order 42", "100% refund", "Замовлення 7", "a_b"]):
        store.save({**row(n, 1.0), "subject": subject})

    def found(text):
        return [r["subject"] for r in store.find(subject=text.casefold(), limit=None)]
    assert found("ORDER") == ["Order 42"]
    assert found("0% r") == ["100% refund"] and found("%") == ["100% refund"]
    assert found("_") == ["a_b"]
    assert found("ЗАМОВЛЕННЯ") == ["Замовлення 7"]


def test_filters_are_parsed_once_where_they_enter():
    from daemon import filters

    found = filters.parse({"number": "8 (044) 455-78-90", "subject": " ЗАМОВЛЕННЯ ",
                           "links": {"task": " T-77 "}, "missed": False, "agent": None}, "UA")
    assert found == {"number": "80444557890",
                     "number_keys": ["+380444557890", "0444557890", "80444557890"],
                     "subject": "замовлення", "links": {"task": "T-77"}}
    assert filters.parse({"number": "1110"}, "UA") == {"number": "1110"}    # a piece
    for given, said in (({"number": "Olha"}, "not a phone number"),
                        ({"links": {"ticket": "9"}}, "unknown link 'ticket'"),
                        ({"links": {"task": " "}}, "needs a value"),
                        ({"outcome": "sold"}, "unknown outcome 'sold'"),
                        ({"subject": "  "}, "needs some text"),
                        ({"period": "someday"}, "unknown period")):
        with pytest.raises(filters.FilterError, match=said):
            filters.parse(given, "UA")


def test_a_number_filter_finds_the_call_by_its_key_or_its_digits(tmp_path):
    """A whole number finds its calls however they were dialled, also calls keyed before
    keys knew the region (by their digits); a piece of one, wherever it is."""
    from daemon import filters

    store = Store(tmp_path / "calls.db")
    store.save({**row(1, 1.0), "number": "0441110001", "number_key": "+380441110001"})
    store.save({**row(2, 1.0), "number": "102", "number_key": "102"})
    store.save({**row(3, 1.0), "number": "0441110001", "number_key": "0441110001"})
    whole = filters.parse({"number": "+380441110001"}, "UA")
    assert [r["call_id"] for r in store.find(**whole)] == ["5003", "5001"]  # keyed before
    assert [r["call_id"] for r in store.find(**filters.parse({"number": "044 111 0001"},
                                                             "UA"))] == ["5003", "5001"]
    assert [r["call_id"] for r in store.find(number="1110001")] == ["5003", "5001"]
    assert [r["number"] for r in store.find(number="02")] == ["102"]
    assert store.find(**filters.parse({"number": "0441110002"}, "UA")) == []
