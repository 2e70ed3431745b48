"""The spool and the call log's own guards, on their own: what waits is written once, in
its latest form; a crash mid-line costs only that line; the schema refuses impossible
durations."""

from __future__ import annotations

import asyncio
import errno
import os
import sqlite3
from types import SimpleNamespace

import pytest

from daemon.handlers import system
from daemon.spool import RESERVE, Spool
from daemon.store import MIGRATIONS, Store, open_store
from daemon.wire import WireError


def row(call_id: str, **fields) -> dict:
    return {"id": None, "server": "http://pbx:10080", "call_id": call_id, "agent": "ivanova",
            "direction": "in", "started_at": "2026-11-20T10:00:00.000+00:00", **fields}


def test_the_spool_keeps_each_calls_latest_record_until_it_is_written(tmp_path):
    spool = Spool(tmp_path / "calls.spool")
    assert spool.open() == {}
    assert os.path.getsize(spool.path) >= RESERVE     # room taken before it is needed
    assert spool.add(row("1", outcome="ringing")) and spool.add(row("2"))
    assert spool.add(row("1", outcome="answered"))
    assert spool.written(("http://pbx:10080", "2", "ivanova"))
    spool.close()
    with open(spool.path, "r+b") as fh:          # a crash in the middle of the next line
        fh.seek(spool.end)
        fh.write(b'{"row": {"call_id": "3", "ser')
    again = Spool(spool.path)
    waiting = again.open()
    assert list(waiting) == [("http://pbx:10080", "1", "ivanova")]
    assert waiting[("http://pbx:10080", "1", "ivanova")]["outcome"] == "answered"
    again.clear()
    again.close()
    assert Spool(spool.path).open() == {}


def test_a_call_spooled_after_a_crash_cut_an_entry_short_is_kept(tmp_path):
    spool = Spool(tmp_path / "calls.spool")
    spool.open()
    spool.add(row("1"))
    spool.close()
    with open(spool.path, "r+b") as fh:          # killed in the middle of the next entry
        fh.seek(spool.end)
        fh.write(b'{"row":{"call_id":"2","ser')
    after_the_crash = Spool(spool.path)
    assert list(after_the_crash.open()) == [("http://pbx:10080", "1", "ivanova")]
    assert after_the_crash.add(row("3", outcome="missed"))
    after_the_crash.close()
    waiting = Spool(spool.path).open()
    assert sorted(key[1] for key in waiting) == ["1", "3"]
    assert waiting[("http://pbx:10080", "3", "ivanova")]["outcome"] == "missed"


def test_an_entry_the_full_disk_cut_short_is_not_counted_as_spooled(tmp_path, monkeypatch,
                                                                     caplog):
    from daemon import spool as spooling

    monkeypatch.setattr(spooling, "RESERVE", 4096)     # room for a few entries only
    spool = Spool(tmp_path / "calls.spool")
    spool.open()
    assert spool.add(row("1"))
    real_pwrite, real_fallocate = os.pwrite, os.posix_fallocate

    def room_for_half(fd, data, offset):    # what a write past the reserved room does
        return real_pwrite(fd, data[:len(data) // 2], offset)

    def no_room(fd, offset, length):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(os, "posix_fallocate", no_room)
    for n in range(2, 40):                  # the reserve runs low: told once, not each time
        assert spool.add(row(str(n)))
    monkeypatch.setattr(os, "pwrite", room_for_half)
    assert not spool.add(row("40"))
    monkeypatch.setattr(os, "pwrite", real_pwrite)
    monkeypatch.setattr(os, "posix_fallocate", real_fallocate)
    assert spool.error == "No space left on device"
    spool.close()
    again = Spool(spool.path)
    assert sorted(int(key[1]) for key in again.open()) == list(range(1, 40))
    assert again.add(row("41"))
    again.close()
    assert len(Spool(spool.path).open()) == 40
    told = [r.getMessage() for r in caplog.records if r.name == "cc.spool"]
    assert len([m for m in told if "cannot reserve room" in m]) == 1, told
    assert not [m for m in told if "not spooled calls" in m], told


def test_a_huge_spool_is_read_in_one_pass(tmp_path):
    import time

    from daemon.spool import waiting

    # A live call adds an entry (700 bytes) at every poll while the log refuses it: 10 MB
    # for a day of talking. Reading must not copy all it read so far at each step: that
    # took 18 s for 40 MB, and over two minutes for this file with no end mark (garbage).
    path = tmp_path / "calls.spool"
    with open(path, "wb") as fh:
        for _ in range(64):
            fh.write(b"x" * (1 << 20))
    began = time.monotonic()
    assert waiting(path) == {}
    assert time.monotonic() - began < 10.0


def test_a_spool_full_of_garbage_is_told_in_one_line_not_one_per_line(tmp_path, caplog):
    from daemon.spool import waiting

    path = tmp_path / "calls.spool"
    path.write_bytes(b"not json\n" * 20_000 + b'{"row": 5}\n' + b'{"written": 7}\n')
    Spool(path).open()          # at every start of the daemon
    waiting(path)               # at every cc doctor with the daemon stopped
    told = [r.getMessage() for r in caplog.records if r.name == "cc.spool"]
    assert told == [f"{path}: 20002 of its 20002 lines are not spooled calls (the first is "
                    "line 1); skipped"] * 2


def test_a_spool_that_is_not_a_regular_file_is_refused(tmp_path):
    from daemon.spool import waiting

    # A spool linked to /dev/null "kept" calls nowhere; a FIFO kept its reader waiting.
    linked, fifo = tmp_path / "linked.spool", tmp_path / "fifo.spool"
    linked.symlink_to(os.devnull)
    os.mkfifo(fifo)
    for path in (linked, fifo):
        with pytest.raises(OSError, match="not a regular file"):
            Spool(path).open()          # the daemon's start
        with pytest.raises(OSError, match="not a regular file"):
            waiting(path)               # cc doctor with the daemon stopped


def test_a_spooled_call_is_written_at_start_once_even_if_the_log_has_it(tmp_path):
    store = Store(tmp_path / "calls.db")
    store.save(row("1", outcome="ringing"))
    store.close()
    spool = Spool(tmp_path / "calls.spool")
    spool.open()
    spool.add(row("1", outcome="answered", talk_seconds=30.0))     # its update failed
    spool.add(row("2", outcome="missed"))                          # never written
    spool.close()
    store = open_store(tmp_path / "calls.db", "CALL-{n:06}", tmp_path / "calls.spool")
    got = {r["call_id"]: (r["outcome"], r["counter_number"]) for r in store.find(limit=None)}
    assert got == {"1": ("answered", "CALL-000001"), "2": ("missed", "CALL-000002")}
    assert store.waiting()["waiting_calls"] == 0
    store.close()
    assert Spool(tmp_path / "calls.spool").open() == {}     # emptied once all were written


def test_a_spooled_record_older_than_the_logs_does_not_overwrite_it(tmp_path):
    # The state a crash leaves between the log taking a newer record of a spooled call
    # and the spool saying so: the spool's record is older than the log's.
    spool = Spool(tmp_path / "calls.spool")
    spool.open()
    spool.add(row("1", line_state="Connected", ended_at=None, talk_seconds=5.0,
                  updated_at="2026-11-20T10:00:05.000+00:00"))
    spool.close()
    store = Store(tmp_path / "calls.db")
    store.save(row("1", line_state="Finished", ended_at="2026-11-20T10:01:00.000+00:00",
                   talk_seconds=55.0, updated_at="2026-11-20T10:01:00.500+00:00"))
    store.close()
    store = open_store(tmp_path / "calls.db", "CALL-{n:06}", tmp_path / "calls.spool")
    kept = store.find(limit=None)
    assert [(r["line_state"], r["ended_at"], r["talk_seconds"]) for r in kept] == [
        ("Finished", "2026-11-20T10:01:00.000+00:00", 55.0)]
    assert store.waiting()["waiting_calls"] == 0


def test_spooled_rows_of_the_wrong_shape_are_written_as_far_as_they_can_be_and_harm_no_call(
        tmp_path, caplog):
    import json

    store = Store(tmp_path / "calls.db")
    store.save(row("1", outcome="answered"))
    store.close()
    entries = [row(5), row("6", colour="blue"), row("7", id=1, outcome="missed"),
               {"server": "http://pbx:10080", "call_id": "8", "agent": "ivanova"}]
    (tmp_path / "calls.spool").write_text("".join(json.dumps({"row": {**r}}) + "\n"
                                                  for r in entries))
    store = open_store(tmp_path / "calls.db", "CALL-{n:06}", tmp_path / "calls.spool")
    logged = {r["call_id"]: r["outcome"] for r in store.find(limit=None)}
    assert logged == {"1": "answered", "5": None, "6": None, "7": "missed"}
    assert store.waiting()["waiting_calls"] == 0     # a newer cc's column: left out
    told = " ".join(r.getMessage() for r in caplog.records)
    assert "call 8 cannot be logged (NOT NULL constraint failed: calls.direction)" in told
    assert "in the call log already" not in told


def test_a_locked_log_costs_one_wait_per_flush_not_one_per_waiting_call(tmp_path):
    import time

    from daemon.store import LOCK_WAIT

    Store(tmp_path / "calls.db").close()
    spool = Spool(tmp_path / "calls.spool")
    spool.open()
    for n in range(20):
        spool.add(row(str(n)))
    spool.close()
    other = sqlite3.connect(tmp_path / "calls.db")
    other.execute("begin immediate")            # someone holds the log's write lock
    began = time.monotonic()                    # the daemon's start, then each flush:
    store = open_store(tmp_path / "calls.db", "CALL-{n:06}", tmp_path / "calls.spool")
    assert time.monotonic() - began < 5 * LOCK_WAIT      # 20 waits of 0.25 s took 5 s
    assert store.waiting()["spooled_calls"] == 20 and "locked" in store.last_error
    other.rollback()
    other.close()
    store.flush()
    assert store.waiting()["waiting_calls"] == 0 and len(store.find(limit=None)) == 20


def test_a_call_kept_nowhere_but_in_memory_stops_a_shutdown_unless_forced(tmp_path, caplog):
    store = open_store(tmp_path / "calls.db", "CALL-{n:06}", tmp_path / "calls.spool")
    store.db.conn.execute("PRAGMA query_only = 1")    # the log refuses writes, say
    os.close(store.spool.fd)                           # and so does the spool
    store.spool.fd = os.open(os.devnull, os.O_RDONLY)
    store.save(row("1"))
    assert store.waiting()["waiting_calls"] == 1 and store.waiting()["spooled_calls"] == 0
    stopped = []
    ctx = SimpleNamespace(store=store, stop=lambda: stopped.append(True))
    with pytest.raises(WireError, match="1 call.s. are kept only in memory.*--force"):
        asyncio.run(system.shutdown(ctx))
    assert stopped == []
    assert asyncio.run(system.shutdown(ctx, force=True))["waiting_calls"] == 1
    assert stopped == [True]
    store.close()       # the forced stop, or a SIGTERM, which asks nobody: daemon.log says it
    told = [r.getMessage() for r in caplog.records if r.name == "cc.store"]
    assert told[-1] == ("1 call(s) kept only in memory are lost at the stop (attempt to write "
                        "a readonly database): call id 1"), told


@pytest.mark.parametrize("bad", [float("inf"), -1.0, 7 * 86400.0])
def test_the_schema_refuses_a_duration_no_call_has(tmp_path, bad):
    store = Store(tmp_path / "calls.db")
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        with store.db.conn:
            store.db["calls"].insert(row("1", talk_seconds=bad))
    store.save(row("2", talk_seconds=bad, hold_seconds=2.0))     # through the store: kept,
    kept = store.find(limit=None)[0]                            # without the bad figures
    assert (kept["call_id"], kept["talk_seconds"], kept["hold_seconds"]) == ("2", None, None)


def test_an_impossible_duration_an_older_cc_stored_is_cleared_by_the_migration(tmp_path):
    import sqlite_utils

    path = tmp_path / "calls.db"
    db = sqlite_utils.Database(path)
    for step in MIGRATIONS[:7]:
        step(db)
    db.execute("PRAGMA user_version = 7")
    db["calls"].insert(row("1", talk_seconds=float("inf"), wait_seconds=4.0))
    db.conn.commit()
    db.close()
    store = Store(path)
    kept = store.find(limit=None)[0]
    assert (kept["talk_seconds"], kept["wait_seconds"]) == (None, 4.0)
    names = {r[0] for r in store.db.execute("select name from sqlite_master "
                                            "where tbl_name = 'calls' and type = 'index'")}
    assert {"calls_identity", "idx_calls_started_at", "idx_calls_counter"} <= names
