"""Files kept with a call (`cc log attach|files|open|detach`): copied by the daemon into the
profile's data directory, a folder per call, checked before copying (regular files only,
files.max_bytes), names made safe; over the remote endpoint the bytes travel in the
request; removing a call (`cc log rm`, the retention purge) removes its files. The
emulator and the daemon are real processes, driven through `cc`."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from conftest import CC
from daemon import store as store_module
from daemon import wire
from daemon.testing import wait_until
from daemon.wire import ErrorCode, WireError
from tests.test_completions import complete_bash, shell_env
from tests.test_remote import curve_keys, free_port, remote_profile

YEARS_AGO = "2020-03-01T09:00:00.000+00:00"


def busy_call(agent, emulator) -> dict:
    """A call in the log: dialled, busy after a second of the emulator's clock."""
    call = agent.json("dial", "+380441110002")
    emulator.advance(1)
    return agent.log_row(call["call_id"], outcome="busy")


@pytest.fixture
def logged(emulator_factory, agent_factory):
    emulator = emulator_factory(manual_clock=True)
    agent = agent_factory(emulator).start()
    agent.wait_logged_in()
    return agent, emulator, busy_call(agent, emulator)


def files_dir(agent) -> Path:
    return agent.home / "data" / "files"


def refused(agent, *args, env=None) -> subprocess.CompletedProcess:
    """`cc ARGS` that must fail in one line, no traceback."""
    done = subprocess.run([CC, *map(str, args)], env=env or agent.env, capture_output=True,
                          text=True, timeout=30)
    assert done.returncode != 0, done.stdout
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr, done.stderr
    return done


def everything_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_attach_list_open_detach_and_rm_takes_the_files_away(logged, tmp_path):
    agent, _, call = logged
    cid = call["id"]
    report, notes = tmp_path / "report.pdf", tmp_path / "notes.txt"
    report.write_bytes(b"%PDF-1.4 " + bytes(range(256)) * 40)
    notes.write_text("the customer asked for a callback\n")
    done = agent.cc("log", "attach", cid, report, notes)
    assert done.stdout.splitlines() == [
        f"attached report.pdf to call {cid} as file 1 (10.0 KiB)",
        f"attached notes.txt to call {cid} as file 2 (34 bytes)"]
    again = agent.json("log", "attach", cid, report)         # the same name: numbered
    assert (again[0]["n"], again[0]["name"], again[0]["stored"]) == (3, "report.pdf",
                                                                  "report (2).pdf")
    listed = agent.json("log", "files", cid)
    assert [(f["n"], f["name"], f["size"], f["missing"]) for f in listed] == [
        (1, "report.pdf", 10249, False), (2, "notes.txt", 34, False),
        (3, "report.pdf", 10249, False)]
    assert listed[0]["sha256"] == hashlib.sha256(report.read_bytes()).hexdigest()
    folder = files_dir(agent) / str(cid)
    assert sorted(os.listdir(folder)) == ["notes.txt", "report (2).pdf", "report.pdf"]
    assert Path(listed[1]["path"]).read_text() == notes.read_text()
    report.write_bytes(b"changed later")            # a copy, not a link to the original
    assert Path(listed[0]["path"]).read_bytes().startswith(b"%PDF-1.4 ")
    table = agent.cc("log", "files", cid).stdout.splitlines()
    assert table[0].split() == ["n", "name", "size", "attached"]
    assert table[1].split()[:4] == ["1", "report.pdf", "10.0", "KiB"]
    assert len(table) == 4

    # open: --print, no desktop, and the desktop's opener (a stand-in xdg-open).
    assert agent.cc("log", "open", cid, 2, "--print").stdout == listed[1]["path"] + "\n"
    console = {k: v for k, v in agent.env.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    done = subprocess.run([CC, "log", "open", str(cid), "2"], env=console,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and done.stdout == listed[1]["path"] + "\n"
    bin_dir, seen = tmp_path / "bin", tmp_path / "opened"
    bin_dir.mkdir()
    opener = bin_dir / "xdg-open"
    opener.write_text(f"#!/bin/sh\nprintf '%s' \"$1\" > {seen}.tmp && mv {seen}.tmp {seen}\n")
    opener.chmod(0o755)
    desktop = {**console, "DISPLAY": ":99", "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    done = subprocess.run([CC, "log", "open", str(cid), "1", "--json"], env=desktop,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["opened_with"] == str(opener)
    wait_until(seen.exists, 15, "the opener run")
    assert seen.read_text() == listed[0]["path"]

    # detach: the copy leaves the disk; the other files keep their numbers.
    done = agent.cc("log", "detach", cid, 1)
    assert done.stdout.strip() == f"detached file 1 (report.pdf) from call {cid}"
    assert not Path(listed[0]["path"]).exists()
    assert [f["n"] for f in agent.json("log", "files", cid)] == [2, 3]
    assert f"call {cid} has no file 1" in refused(agent, "log", "open", cid, 1).stderr
    assert f"call {cid} has no file 1 (its files: 2, 3;" in \
        refused(agent, "log", "detach", cid, 1).stderr

    # Tab: the actions, the shell's files after `attach ID`, the call's files after open.
    tab = shell_env(agent.home, agent.env)
    assert complete_bash("cc log att", tab) == ["attach"]
    answer = subprocess.run([CC], env={**tab, "_CC_COMPLETE": "bash",
                                       "_CC_LINE": f"cc log attach {cid} "},
                            capture_output=True, text=True, timeout=30)
    assert answer.stdout.splitlines() == ["files"]      # the shell completes file names
    assert complete_bash(f"cc log open {cid} ", tab) == ["2", "3"]
    # A copy gone from the disk by other hands: listed as missing, not opened.
    Path(listed[2]["path"]).unlink()
    assert "report (2).pdf (missing)" in agent.cc("log", "files", cid).stdout
    assert f"file 3 of call {cid} is missing from {listed[2]['path']}: `cc log detach " \
        f"{cid} 3` takes it off" in refused(agent, "log", "open", cid, 3).stderr

    # rm of the call: its rows go with it (the database's cascade), then its files.
    agent.cc("log", "rm", cid, "--yes")
    assert not folder.exists()
    assert everything_under(files_dir(agent)) == [".incoming"]
    with sqlite3.connect(agent.database) as db:
        assert db.execute("select count(*) from call_files").fetchone() == (0,)
        assert db.execute("select count(*) from call_files_gone").fetchone() == (0,)
        assert db.execute("PRAGMA user_version").fetchone()[0] == \
            len(store_module.MIGRATIONS)
    assert "no call" in refused(agent, "log", "files", cid).stderr


def test_what_cannot_be_attached_is_refused_in_one_line_and_nothing_is(logged, tmp_path):
    agent, _, call = logged
    cid = call["id"]
    agent.cc("config", "set", "files.max_bytes", "1000")
    small, big = tmp_path / "small.txt", tmp_path / "big.bin"
    small.write_text("fits")
    big.write_bytes(b"x" * 1001)
    done = refused(agent, "log", "attach", cid, small, big)
    assert done.returncode == 9
    assert f"{big} (1,001 bytes) is over the limit of 1,000 bytes for an attached file " \
           "(files.max_bytes); nothing was attached" in done.stderr
    folder = tmp_path / "folder"
    folder.mkdir()
    assert f"{folder} is a folder, not a regular file" in \
        refused(agent, "log", "attach", cid, small, folder).stderr
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)                 # never waited on for a writer
    assert f"{fifo} is a FIFO" in refused(agent, "log", "attach", cid, fifo).stderr
    assert "/dev/null is a character device" in \
        refused(agent, "log", "attach", cid, "/dev/null").stderr
    assert "/proc/self/maps is under /proc, the kernel's view, not a file" in \
        refused(agent, "log", "attach", cid, "/proc/self/maps").stderr
    assert "No such file or directory" in \
        refused(agent, "log", "attach", cid, tmp_path / "absent").stderr
    link_to_dir = tmp_path / "to-folder"
    link_to_dir.symlink_to(folder)
    assert "is a folder" in refused(agent, "log", "attach", cid, link_to_dir).stderr
    assert agent.json("log", "files", cid) == []        # all or none: nothing so far
    assert "no call 999 in the call log" in refused(agent, "log", "attach", 999,
                                                    small).stderr
    assert "usage: cc log attach ID FILE..." in refused(agent, "log", "attach", cid).stderr
    assert "usage: cc log open ID N" in refused(agent, "log", "open", cid).stderr
    assert "'x' is not a file's number" in refused(agent, "log", "detach", cid, "x").stderr
    assert "--print does not apply to `cc log files`" in \
        refused(agent, "log", "files", cid, "--print").stderr
    assert f"call {cid} has no file 1 (it has none" in refused(agent, "log", "open", cid,
                                                               1).stderr
    # A symbolic link to a file is followed (the agent named it) and keeps its own name.
    link = tmp_path / "latest.txt"
    link.symlink_to(small)
    assert [f["name"] for f in agent.json("log", "attach", cid, link)] == ["latest.txt"]
    assert Path(agent.json("log", "files", cid)[0]["path"]).read_text() == "fits"
    assert not Path(agent.json("log", "files", cid)[0]["path"]).is_symlink()
    assert everything_under(files_dir(agent) / ".incoming") == []


def test_hostile_names_are_made_safe_and_stay_in_the_calls_folder(logged, tmp_path):
    agent, _, call = logged
    cid = call["id"]
    odd = tmp_path / "a\nb\x1b[31mred\u202egnp.txt"
    odd.write_text("odd")
    dotted = tmp_path / ".profile"
    dotted.write_text("dotted")
    done = agent.cc("log", "attach", cid, odd, dotted)
    assert "\x1b" not in done.stdout and done.stdout.splitlines()[0].startswith(
        "attached a_b_[31mred_gnp.txt to call")
    # What any client of the socket may send: names that are paths, controls, dots.
    sent = ["../../x", "/etc/passwd", "..", "a/../../b\r\n.sh", "n" * 400 + ".pdf", "x"]
    agent.request("log_attach", log_id=cid, names=sent,
                  contents=[base64.b64encode(n.encode()).decode() for n in sent])
    names = [f["stored"] for f in agent.json("log", "files", cid)]
    assert names == ["a_b_[31mred_gnp.txt", "profile", "x", "passwd", "file", "b__.sh",
                     "n" * 116 + ".pdf", "x (2)"]
    assert sorted(os.listdir(files_dir(agent) / str(cid))) == sorted(names)
    assert everything_under(files_dir(agent)) == sorted(
        [".incoming", str(cid)] + [f"{cid}/{n}" for n in names])
    table = agent.cc("log", "files", cid).stdout
    assert "\x1b" not in table and "\r" not in table
    with pytest.raises(WireError) as bad:
        agent.request("log_attach", log_id=cid, names=["y"], contents=["not base64!"])
    assert bad.value.code == ErrorCode.BAD_INPUT and "is not base64" in str(bad.value)
    with pytest.raises(WireError) as relative:
        agent.request("log_attach", log_id=cid, paths=["etc/passwd"])
    assert "absolute" in str(relative.value)
    agent.cc("log", "rm", "--all", "--yes")         # every call, every file
    assert everything_under(files_dir(agent)) == [".incoming"]


def test_over_the_remote_endpoint_the_bytes_travel_in_the_request(
        emulator_factory, agent_factory, tmp_path):
    emulator = emulator_factory(manual_clock=True)
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    agent = agent_factory(emulator, **{"remote.endpoint": endpoint})
    agent.cc("daemon", "keys")
    agent.start()
    agent.wait_logged_in()
    cid = busy_call(agent, emulator)["id"]
    client = remote_profile(tmp_path, agent.home / "keys")
    env = {**agent.env, **client, "CC_REMOTE": endpoint}
    keys = Path(client["CC_HOME"]) / "keys"

    def remote(*args) -> subprocess.CompletedProcess:
        return subprocess.run([CC, *map(str, args)], env=env, capture_output=True, text=True,
                              timeout=60)

    scan = tmp_path / "scan.png"
    scan.write_bytes(os.urandom(500_000))
    done = remote("log", "attach", cid, scan)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"attached scan.png to call {cid} as file 1 (488.3 KiB)"
    copy = files_dir(agent) / str(cid) / "scan.png"
    assert copy.read_bytes() == scan.read_bytes()
    listed = json.loads(remote("log", "files", cid, "--json").stdout)
    assert listed[0]["sha256"] == hashlib.sha256(scan.read_bytes()).hexdigest()
    # Over what one request carries: refused here, before anything is sent.
    large = tmp_path / "large.bin"
    large.write_bytes(b"\0" * 800_000)
    done = refused(agent, "log", "attach", cid, large, env=env)
    assert done.returncode == 9 and f"{large} (800,000 bytes) is over the 785,664 bytes a " \
        "remote daemon takes (base64, in a request of at most 1,048,576 bytes)" in done.stderr
    done = refused(agent, "log", "attach", cid, scan, scan, env=env)
    assert "these 2 files come to 1,333," in done.stderr and "one at a time" in done.stderr
    folder = tmp_path / "folder"
    folder.mkdir()
    assert "is a folder" in refused(agent, "log", "attach", cid, folder, env=env).stderr
    # A remote client names no file of the daemon's machine, and opens none here.
    with pytest.raises(WireError) as named:
        wire.exchange(endpoint, "log_attach", 10, curve_keys(keys), log_id=cid,
                      paths=[str(scan)])
    assert named.value.code == ErrorCode.BAD_INPUT and "remote client" in str(named.value)
    assert "is on the daemon's machine" in refused(agent, "log", "open", cid, 1,
                                                   env=env).stderr
    assert [f["n"] for f in agent.json("log", "files", cid)] == [1]
    done = remote("log", "detach", cid, 1)
    assert done.returncode == 0 and not copy.exists()


def age(agent, call_id: str) -> None:
    with sqlite3.connect(agent.database) as db:
        db.execute("update calls set started_at = ? where call_id = ?", (YEARS_AGO, call_id))


def test_a_purge_removes_the_files_and_a_file_that_cannot_go_is_said_then_retried(
        logged, tmp_path):
    agent, emulator, old = logged
    new = busy_call(agent, emulator)
    paper = tmp_path / "paper.txt"
    paper.write_text("kept")
    agent.cc("log", "attach", old["id"], paper)
    agent.cc("log", "attach", new["id"], paper, paper)
    agent.stop(keep_home=True)
    age(agent, old["call_id"])
    agent.start()
    agent.wait_logged_in()
    done = agent.cc("log", "purge", "--older-than", "30d")
    assert done.stdout.startswith("purged 1 call(s)") and done.stderr == ""
    assert not (files_dir(agent) / str(old["id"])).exists()
    assert sorted(os.listdir(files_dir(agent) / str(new["id"]))) == ["paper (2).txt",
                                                                    "paper.txt"]
    # A copy that cannot be removed (here a folder stands in its place): said, kept
    # queued, and removed at the daemon's next start once it can be.
    stuck = files_dir(agent) / str(new["id"]) / "paper.txt"
    stuck.unlink()
    stuck.mkdir()
    (stuck / "inside").write_text("x")
    done = agent.cc("log", "rm", new["id"], "--yes")
    assert done.stdout.strip() == "removed 1 call(s)" and "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [
        f"cc: warning: cannot remove {stuck}: Is a directory; the daemon tries again at the "
        "next removal and at its next start"]
    assert not (files_dir(agent) / str(new["id"]) / "paper (2).txt").exists()
    (stuck / "inside").unlink()
    stuck.rmdir()
    stuck.write_text("left behind")
    agent.stop(keep_home=True)
    agent.start()
    wait_until(lambda: not stuck.exists(), 15, "the left file removed at start")
    with sqlite3.connect(agent.database) as db:
        wait_until(lambda: db.execute("select count(*) from call_files_gone").fetchone()
                   == (0,), 15, "the queue emptied")
