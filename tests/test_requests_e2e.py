"""The request socket under hostile input: a message over the size cap, SQL-shaped export
columns, exports aimed at FIFOs, devices, /proc and links, an export that fails midway,
imports of FIFOs, devices and oversized files, and `cc status` while an import waits.
Unit tests of the same guards (output paths, reading a user's file, the client's wait)
come first; the end-to-end ones drive a real daemon through `cc` and its raw socket."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
from pathlib import Path

import pytest
import zmq

from conftest import wait_until
from daemon import export, lookup, wire
from daemon.testing import TimedOut
from daemon.wire import ErrorCode, WireError
from test_nothing_lost_e2e import fill, small_disk

BUSY = "+380441110002"             # busy after 1 s (the tests' scenario)
NEVER_ANSWERS = "+380441110003"


# -- unit: where an export may go, and how it is written

def test_an_output_path_is_an_absolute_regular_file_or_none_yet(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "victim").write_text("keep\n")
    (tmp_path / "link").symlink_to(tmp_path / "victim")
    refused = {"calls.csv": "not an absolute path", str(tmp_path / "fifo"): "is a FIFO",
               str(tmp_path / "link"): "is a symbolic link", str(tmp_path): "is a folder",
               "/dev/null": "is under /dev", "/proc/self/comm": "is under /proc",
               "/sys/kernel/notes": "is under /sys",
               str(tmp_path / "nowhere" / "calls.csv"): "there is no folder"}
    for path, says in refused.items():
        with pytest.raises(export.PathError, match=says):
            export.output_path(path)
    assert export.output_path(str(tmp_path / "victim")) == tmp_path / "victim"
    assert export.output_path(str(tmp_path / "new.csv")) == tmp_path / "new.csv"


def test_a_failed_write_leaves_the_old_file_and_no_temporary_one(tmp_path):
    target = tmp_path / "calls.csv"
    target.write_text("the last good export\n")
    with pytest.raises(RuntimeError):
        with export.replacing(target) as out:
            out.write("half of a new one\n")
            out.flush()
            raise RuntimeError("the database went away")
    assert [p.name for p in tmp_path.iterdir()] == ["calls.csv"]
    assert target.read_text() == "the last good export\n"
    with export.replacing(target) as out:
        out.write("a new one\n")
    assert [p.name for p in tmp_path.iterdir()] == ["calls.csv"]
    assert target.read_text() == "a new one\n"


def test_a_file_to_import_is_read_only_if_regular_and_within_its_limit(tmp_path):
    os.mkfifo(tmp_path / "fifo")         # no writer: an open that waited would hang here
    for path, says in ((tmp_path / "fifo", "is a FIFO"), ("/dev/zero", "character device"),
                       (tmp_path, "is a folder"), (tmp_path / "none", "No such file")):
        with pytest.raises(WireError, match=says) as refused:
            lookup.read_regular(str(path), 1000)
        assert refused.value.code == ErrorCode.BAD_INPUT
    sparse = tmp_path / "sparse.csv"
    with open(sparse, "wb") as fh:
        fh.truncate(1001)
    with pytest.raises(lookup.TooBig) as big:
        lookup.read_regular(str(sparse), 1000)
    assert big.value.size == 1001
    with pytest.raises(lookup.TooBig) as grew:       # /proc says 0 bytes: found by reading
        lookup.read_regular("/proc/self/maps", 100)
    assert grew.value.size is None
    assert lookup.read_regular(str(sparse), 1001) == b"\0" * 1001


# -- unit: what the client does when the daemon cannot or will not answer

def test_the_client_refuses_a_request_over_the_cap_before_sending_it():
    with pytest.raises(WireError, match="over the 1,048,576 the daemon takes") as refused:
        wire.exchange("ipc:///nonexistent/cli.sock", "contacts_import", 1,
                      text="x" * wire.MAX_REQUEST_BYTES)
    assert refused.value.code == ErrorCode.BAD_INPUT


def test_the_client_stops_waiting_when_the_daemon_drops_the_connection(tmp_path):
    router = zmq.Context.instance().socket(zmq.ROUTER)
    router.setsockopt(zmq.LINGER, 0)
    router.setsockopt(zmq.MAXMSGSIZE, 16)        # every request is too long for this one
    router.bind(f"ipc://{tmp_path}/cli.sock")
    try:
        with pytest.raises(wire.Dropped) as dropped:     # not NoAnswer at the deadline
            wire.exchange(f"ipc://{tmp_path}/cli.sock", "status", 60)
        assert not dropped.value.refused
    finally:
        router.close()


# -- end to end: the size cap

def peak_rss_mib(pid: int) -> float:
    """The daemon's peak resident memory so far (VmHWM): a spike freed since still shows."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def raw_request(agent, body: bytes, timeout: float = 15) -> bytes | None:
    """`body` sent on the daemon's request socket as any client may; the reply, or None
    when the daemon closed the connection instead (a socket monitor sees it)."""
    sock = zmq.Context.instance().socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    monitor = sock.get_monitor_socket(zmq.EVENT_DISCONNECTED)
    try:
        sock.connect(f"ipc://{agent.home / 'run' / wire.REQUEST_SOCKET}")
        sock.send(body)
        poller = zmq.Poller()
        poller.register(sock, zmq.POLLIN)
        poller.register(monitor, zmq.POLLIN)
        ready = dict(poller.poll(int(timeout * 1000)))
        if sock in ready:
            return sock.recv()
        if monitor in ready:
            return None
        raise TimedOut(f"neither a reply nor a closed connection within {timeout:g} s")
    finally:
        sock.disable_monitor()
        monitor.close()
        sock.close()


def test_a_request_one_byte_over_the_cap_is_dropped_and_the_daemon_answers_the_next(agent):
    pid = agent.daemon_pid()
    status = wire.request("status")
    at_cap = status + b" " * (wire.MAX_REQUEST_BYTES - len(status))
    assert json.loads(raw_request(agent, at_cap))["result"]["login"] == "ivanova"
    before = peak_rss_mib(pid)
    assert raw_request(agent, at_cap + b" ") is None
    assert raw_request(agent, b"x" * (64 * 2**20)) is None       # dropped before it is kept
    grown = peak_rss_mib(pid) - before
    assert grown < 8, f"the daemon's peak memory grew {grown:.1f} MiB"
    assert agent.status()["session"] == "logged in"


def test_cc_says_so_at_once_when_the_daemon_dies_while_it_waits(manual):
    emulator, agent = manual
    running = agent.begin("dial", NEVER_ANSWERS, "--wait", "--timeout", "3600")
    wait_until(lambda: agent.status()["calls"], 15, "the call to be placed")
    os.kill(agent.daemon_pid(), signal.SIGKILL)
    done = running.finish(check=False, timeout=30)         # not the hour it asked to wait
    assert done.returncode == 3, done.stderr
    assert done.stderr.startswith("cc: the cc daemon closed the connection before answering "
                                  "dial") and len(done.stderr.splitlines()) == 1


# -- end to end: exports

@pytest.fixture
def logged_call(emulator_factory, agent_factory):
    """An agent with one busy call in its log (manual emulator clock); its log id."""
    emulator = emulator_factory(manual_clock=True)
    agent = agent_factory(emulator).start()
    agent.wait_logged_in()
    call = agent.json("dial", BUSY)
    emulator.advance(1)
    return agent, agent.log_row(call["call_id"], outcome="busy")["id"]


def test_sql_shaped_export_columns_are_refused_and_nothing_is_written(agent, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    pwned = tmp_path / "pwned.db"
    for column in ("id from calls; --", "number) from calls union select sqlite_version() --",
                   "*", f"id from calls; attach database '{pwned}' as p; --",
                   "(select group_concat(sql) from sqlite_master)"):
        with pytest.raises(WireError) as refused:
            agent.request("log_export", path=str(out / "calls.csv"), format="csv",
                          columns=["id", column])
        assert refused.value.code == ErrorCode.BAD_INPUT
        assert "argument 'columns[1]' must be one of id, call_id" in refused.value.message
    assert list(out.iterdir()) == [] and not pwned.exists()
    done = agent.cc("log", "--format", "csv", "--columns", "id from calls --", "--output",
                    out / "calls.csv", check=False)
    assert done.returncode == 9 and "unknown column 'id from calls --'" in done.stderr
    assert list(out.iterdir()) == []


def test_exports_go_to_regular_files_only(logged_call, tmp_path):
    agent, _ = logged_call
    tmp_path = tmp_path / "exports"
    tmp_path.mkdir()
    os.mkfifo(tmp_path / "fifo")
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    (tmp_path / "link.csv").symlink_to(victim)
    (tmp_path / "folder").mkdir()
    for target, says in ((tmp_path / "fifo", "is a FIFO, not a regular file"),
                         ("/dev/null", "is under /dev"), ("/proc/self/comm", "is under /proc"),
                         (tmp_path / "link.csv", "is a symbolic link, not a regular file"),
                         (tmp_path / "folder", "is a folder"),
                         (tmp_path / "nowhere" / "calls.csv", "there is no folder")):
        done = agent.cc("log", "--format", "csv", "--output", target, check=False, timeout=20)
        assert done.returncode == 9, (target, done.stderr)
        assert done.stderr.startswith("cc: cannot export there: ") and says in done.stderr
        assert len(done.stderr.splitlines()) == 1
    assert victim.read_text() == "keep me\n"
    done = agent.cc("log", "--format", "csv", "--output", victim)    # a regular file: replaced
    assert "wrote 1 calls" in done.stderr and victim.read_text().startswith("id,call_id,")
    assert (tmp_path / "link.csv").is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo", "folder", "link.csv",
                                                          "victim.txt"]


def test_an_export_that_fails_midway_leaves_the_old_file_and_no_temporary_one(logged_call,
                                                                              tmp_path):
    agent, log_id = logged_call
    for _ in range(3):     # 600 kB of notes: more than the disk has left
        agent.request("log_edit", log_id=log_id, fields={"note": "n" * 200_000})
    with small_disk(tmp_path / "out", "1m") as disk:
        target = disk / "calls.csv"
        target.write_text("the last good export\n")
        filler = fill(disk)
        os.truncate(filler, filler.stat().st_size - 64 * 1024)   # room for the first rows
        done = agent.cc("log", "--format", "csv", "--output", target, check=False)
        assert done.returncode == 1 and len(done.stderr.splitlines()) == 1
        assert "No space left on device; nothing was written" in done.stderr
        assert sorted(p.name for p in disk.iterdir()) == ["calls.csv", "filler"]
        assert target.read_text() == "the last good export\n"
        filler.unlink()
        assert "wrote 1 calls" in agent.cc("log", "--format", "csv", "--output", target).stderr
        assert sorted(p.name for p in disk.iterdir()) == ["calls.csv"]
        assert "n" * 1000 in target.read_text()


def test_a_page_of_the_log_stays_within_its_text_budget(logged_call):
    agent, first = logged_call
    for _ in range(5):     # 4.5 MB of notes: more than one page may carry
        row = agent.request("log_edit", log_id=first, fields={"note": "n" * 900_000})
    assert len(row["notes"]) > 4 * 2**20
    busy = agent.json("dial", BUSY)
    agent.emulator.advance(1)
    second = agent.log_row(busy["call_id"], outcome="busy")["id"]
    page = agent.request("log", limit=20, sort="start", desc=False)
    assert [r["id"] for r in page["rows"]] == [first] and page["next"] is not None
    rest = agent.request("log", limit=20, sort="start", desc=False, after=page["next"])
    assert [r["id"] for r in rest["rows"]] == [second] and rest["next"] is None
    lines = agent.cc("log", "--format", "ndjson", "--columns", "id").stdout.splitlines()
    assert [json.loads(line)["id"] for line in lines] == [second, first]


# -- end to end: imports

def test_an_import_takes_regular_files_only_and_says_so_at_once(agent, tmp_path):
    fifo = tmp_path / "contacts.csv"
    os.mkfifo(fifo)
    sparse = tmp_path / "huge.csv"      # the default limit, 50 MiB, and one byte more
    with open(sparse, "wb") as fh:
        fh.truncate(50 * 2**20 + 1)
    for args, says in ((("contacts", "import", fifo), "is a FIFO, not a regular file"),
                       (("who", "import", fifo), "is a FIFO, not a regular file"),
                       (("contacts", "import", "/dev/zero"), "is a character device"),
                       (("who", "import", tmp_path), "is a folder"),
                       (("contacts", "import", sparse), "(52,428,801 bytes) is over the "
                        "import limit of 52,428,800 bytes (import.max_bytes)")):
        done = agent.cc(*args, check=False, timeout=20)
        assert done.returncode == 9 and says in done.stderr, (args, done.stderr)
        assert len(done.stderr.splitlines()) == 1
    assert agent.json("contacts") == [] and agent.status()["session"] == "logged in"


def test_an_import_over_import_max_bytes_is_refused_with_one_line(emulator, agent_factory,
                                                                  tmp_path):
    agent = agent_factory(emulator, **{"import.max_bytes": 1000}).start()
    agent.wait_logged_in()
    big = tmp_path / "contacts.csv"
    big.write_text("name,account,phones\n" + "Olha Bondar,Acme,+380441110001\n" * 40)
    done = agent.cc("contacts", "import", big, check=False)
    assert done.returncode == 9 and len(done.stderr.splitlines()) == 1
    assert f"{big} (1,260 bytes) is over the import limit of 1,000 bytes" in done.stderr
    done = agent.cc("who", "import", "/proc/self/maps", check=False)   # says 0 bytes, is more
    assert done.returncode == 9 and "is over the import limit of 1,000 bytes" in done.stderr
    big.write_text("name,account,phones\n" + "Olha Bondar,Acme,+380441110001\n" * 30)
    assert "imported 30 contacts" in agent.cc("contacts", "import", big).stdout


def test_cc_status_answers_while_an_import_waits(agent, tmp_path):
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("name,account,phones\nOlha Bondar,Acme,+380441110001\n")
    other_writer = sqlite3.connect(agent.database, timeout=30)
    other_writer.execute("begin immediate")      # the import cannot write until we are done
    try:
        running = agent.begin("contacts", "import", contacts)
        wait_until(lambda: f"importing contacts from {contacts}" in
                   agent.daemon_log.read_text(errors="replace"), 15, "the import to start")
        assert agent.status()["session"] == "logged in"
        assert running.proc.poll() is None
        assert other_writer.execute("select count(*) from contacts").fetchone() == (0,)
    finally:
        other_writer.rollback()
        other_writer.close()
    assert "imported 1 contacts" in running.finish().stdout
    assert [c["name"] for c in agent.json("contacts")] == ["Olha Bondar"]
