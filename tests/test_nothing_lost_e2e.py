"""Nothing lost: calls the call log cannot take (a full disk) wait in the spool across a stop
or a crash and reach the log at the next start, once; a damaged log is set aside at start,
stays readable, and a fresh one takes the new calls."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import sqlite3
import subprocess
from pathlib import Path

import pytest

from conftest import advance, wait_until

ANSWERS = "+380441110001"


@contextlib.contextmanager
def small_disk(where: Path, size: str = "4m"):
    """A tmpfs of `size` mounted at `where` (the profile's data folder) for the block."""
    where.mkdir(mode=0o700)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs",
                              str(where)], capture_output=True, text=True)
    if mounted.returncode != 0:
        if os.environ.get("CI") == "true":
            pytest.fail(f"cannot mount a small file system: {mounted.stderr.strip()}")
        pytest.skip("mounting a file system needs root (the CI runs as root)")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path) -> Path:
    """Fill the disk to the last byte; the file that holds it all."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as fh:
        for size in (1 << 16, 1 << 12, 1 << 9, 1):
            try:
                while True:
                    fh.write(b"\0" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
    return filler


def one_call(emulator, agent) -> str:
    """An answered outgoing call of three seconds, over; its call id."""
    call = agent.dial_answered(ANSWERS, after=2)
    advance(3, emulator, agent)
    agent.cc("hangup")
    wait_until(lambda: agent.json("calls") == [], 15, "the call to end")
    return call["call_id"]


def logged(agent, call_id: str) -> list[dict]:
    return [r for r in agent.json("log") if r["call_id"] == call_id]


@pytest.mark.parametrize("how", ["room-comes-back", "stop", "kill"])
def test_calls_made_on_a_full_disk_wait_in_the_spool_and_reach_the_log_once(
        emulator_factory, agent_factory, how):
    emulator = emulator_factory(manual_clock=True)
    agent = agent_factory(emulator, manual_clock=True)
    with small_disk(agent.home / "data") as disk:
        agent.start()
        agent.wait_logged_in()
        before = one_call(emulator, agent)
        agent.log_row(before, outcome="answered")
        filler = fill(disk)
        during = [one_call(emulator, agent) for _ in range(2)]
        status = wait_until(lambda: (s := agent.status())["spooled_calls"] == 2 and s, 15,
                            "two calls in the spool")
        assert status["waiting_calls"] == 2 and "full" in status["store_error"]
        shown = agent.cc("status").stdout
        assert f"2 call(s) wait in {agent.home / 'data' / 'calls.spool'}" in shown, shown
        doctor = agent.cc("doctor", check=False)
        assert doctor.returncode == 1 and "2 call(s) wait in" in doctor.stdout, doctor.stdout
        if how == "stop":
            stopped = agent.cc("daemon", "stop")
            assert "2 call(s) wait in" in stopped.stdout, stopped.stdout
        elif how == "kill":
            pid = agent.daemon_pid()
            os.kill(pid, signal.SIGKILL)
            wait_until(lambda: not os.path.exists(f"/proc/{pid}"), 10, "the daemon to die")
        filler.unlink()
        if how == "room-comes-back":      # written by the running daemon, within seconds
            wait_until(lambda: agent.status()["waiting_calls"] == 0, 15, "the calls written")
        else:
            agent.start()
            agent.wait_logged_in()
        for call_id in during:
            rows = logged(agent, call_id)
            assert [(r["outcome"], r["direction"]) for r in rows] == [("answered", "out")]
        assert len(logged(agent, before)) == 1
        assert agent.status()["waiting_calls"] == 0
        counters = sorted(r["counter_number"] for r in agent.json("log"))
        assert len(set(counters)) == 3, counters
        agent.cc("daemon", "stop")


def damage_index(database: Path) -> None:
    """Overwrite the pages of one index of the calls with garbage, as a failing disk does."""
    conn = sqlite3.connect(database)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    root = conn.execute("select rootpage from sqlite_master "
                        "where name = 'idx_calls_talk_seconds'").fetchone()[0]
    conn.close()
    with open(database, "r+b") as fh:
        fh.seek((root - 1) * page_size)
        fh.write(bytes(range(256)) * (page_size // 256))


@pytest.mark.parametrize("damage", ["an-index-page", "the-header"])
def test_a_damaged_log_is_set_aside_at_start_kept_readable_and_a_fresh_one_begun(
        manual, damage):
    emulator, agent = manual
    old = [one_call(emulator, agent) for _ in range(2)]
    for call_id in old:
        agent.log_row(call_id, outcome="answered")
    agent.cc("daemon", "stop")
    emulator.advance(31)          # past the server's linger: it lists the old calls no more
    if damage == "the-header":
        with open(agent.database, "r+b") as fh:
            fh.write(b"this is not a call log at all")
    else:
        damage_index(agent.database)
    started = agent.cc("daemon", "start", "--timeout", 60, timeout=90)
    agent.subscribe()
    agent.wait_logged_in()
    asides = sorted(agent.database.parent.glob("calls.damaged-*.db"))
    assert len(asides) == 1, asides
    aside = asides[0]
    said = f"it is kept as {aside} (read it with `cc log --database {aside}`)"
    assert said in started.stdout, started.stdout
    assert said in agent.cc("status").stdout
    new = one_call(emulator, agent)
    rows = agent.json("log")
    assert [r["call_id"] for r in rows] == [new]
    listed = agent.cc("log", "--database", aside, "--json", check=False)
    assert "Traceback" not in listed.stderr
    if damage == "the-header":
        assert listed.returncode == 8 and listed.stderr.count("\n") == 1, listed.stderr
        assert f"cannot read {aside} as a call log" in listed.stderr
    else:
        import json
        assert sorted(r["call_id"] for r in json.loads(listed.stdout)) == sorted(old)
        assert rows[0]["counter_number"] == "CALL-000003"     # the old log's numbers go on
    doctor = agent.cc("doctor", check=False).stdout
    assert f"1 damaged log(s) set aside, the last {aside}" in doctor, doctor


def test_an_export_onto_the_call_log_or_the_spool_is_refused_and_both_stay_whole(manual):
    import hashlib
    import shutil

    emulator, agent = manual
    call_id = one_call(emulator, agent)
    agent.log_row(call_id, outcome="answered")
    data = agent.database.parent
    for target in (agent.database, data / "calls.db-wal", data / "calls.spool",
                   agent.home / "log" / "journal.xml"):
        done = agent.cc("log", "--format", "csv", "--output", target, check=False)
        assert done.returncode == 9 and f"cannot write {target}" in done.stderr, done.stderr
    done = agent.cc("report", "--output", agent.database, check=False)
    assert done.returncode == 9 and "it is the call log" in done.stderr, done.stderr
    assert [r["call_id"] for r in agent.json("log")] == [call_id]
    copy = agent.home / "copy.db"
    agent.cc("daemon", "stop")
    shutil.copy(agent.database, copy)
    before = hashlib.sha256(copy.read_bytes()).hexdigest()
    done = agent.cc("log", "--database", copy, "--format", "csv", "--output", copy,
                    check=False)
    assert done.returncode == 9 and f"cannot write {copy}" in done.stderr, done.stderr
    assert hashlib.sha256(copy.read_bytes()).hexdigest() == before
    agent.start()
    assert quick_check(agent.database) == "ok"
    assert [r["call_id"] for r in agent.json("log")] == [call_id]


def quick_check(database: Path) -> str:
    conn = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)
    try:
        return conn.execute("PRAGMA quick_check").fetchone()[0]
    finally:
        conn.close()


def test_cc_log_database_reads_a_log_of_an_older_cc_and_refuses_what_is_no_log_in_one_line(
        tmp_path):
    import json

    import sqlite_utils

    from conftest import CC
    from daemon.store import MIGRATIONS

    def cc_log(database: Path) -> subprocess.CompletedProcess:
        return subprocess.run([CC, "log", "--database", str(database), "--json"],
                              env={**os.environ, "CC_HOME": str(tmp_path / "home")},
                              capture_output=True, text=True, timeout=30)

    old = tmp_path / "calls.damaged-20261120-100000.db"    # set aside before its upgrade
    db = sqlite_utils.Database(old)
    for step in MIGRATIONS[:4]:
        step(db)
    db.execute("PRAGMA user_version = 4")
    db["calls"].insert({"call_id": "5007", "direction": "in", "agent": "ivanova",
                        "started_at": "2026-11-20T10:00:00+00:00", "talk_seconds": 12.0})
    db.close()
    listed = cc_log(old)
    assert listed.returncode == 0, listed.stderr
    [call] = json.loads(listed.stdout)
    assert (call["call_id"], call["talk_seconds"], call["counter_number"]) == ("5007", 12.0,
                                                                                None)
    fifo, empty = tmp_path / "fifo", tmp_path / "empty.db"
    os.mkfifo(fifo)
    empty.touch()
    for path, said in ((fifo, "not a regular file"), (Path("/dev/zero"), "not a regular file"),
                       (empty, "not a call log")):
        done = cc_log(path)         # a FIFO kept it waiting for a writer, for ever
        assert done.returncode == 8 and said in done.stderr, done.stderr
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
