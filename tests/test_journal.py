"""The XML journal (F10): written by the daemon, rotated by size, read back by `cc journal`,
which refuses a hostile journal (another site's file is untrusted input) with one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CC, wait_until
from daemon.journal import Journal, JournalError, as_dict, read
from daemon.testing import write_journal
from daemon.wire import Exit

LOGON = ('<message seq="1" at="2026-11-25T09:41:07.120Z" dir="sent" kind="request" '
         'path="/user/logon/"><param name="Login">ivanova</param>'
         '<param name="Password">***</param></message>\n')
ANSWER = ('<message seq="2" at="2026-11-25T09:41:07.131Z" dir="received" kind="response" '
          'path="/user/logon/" status="200" ms="11"><result><IDUser>5001790109</IDUser>'
          '</result></message>\n')

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
]>
<message seq="1" kind="event">&lol9;</message>
"""
ONE_LINE_LAUGHS = ('<!DOCTYPE m [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
                   '<message seq="1" kind="event"><param name="x">&b;</param></message>\n')
EXTERNAL_ENTITY = ('<!DOCTYPE m [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
                   '<message seq="1" kind="event"><param name="x">&xxe;</param></message>\n')
EXTERNAL_DTD = '<!DOCTYPE message SYSTEM "http://evil.example/cc.dtd">\n<message/>\n'

# (what, file bytes, the line refused, words the one line must carry)
HOSTILE = [
    ("billion laughs", BILLION_LAUGHS.encode(), 2, ["DTD", "never expanded"]),
    ("billion laughs on one line", LOGON.encode() + ONE_LINE_LAUGHS.encode(), 2,
     ["entity", "never expanded"]),
    ("external entity", EXTERNAL_ENTITY.encode(), 1, ["external entity", "never fetched"]),
    ("external DTD", EXTERNAL_DTD.encode(), 1, ["DTD"]),
    ("an undeclared entity", b'<message seq="1">&xxe;</message>\n', 1,
     ["entity reference", "never expanded"]),
    ("a huge line", LOGON.encode() + b'<message seq="2">' + b"a" * 1_100_000 + b"</message>\n",
     2, ["longer than 1,000,000 bytes"]),
    ("binary junk", bytes(range(256)) * 8, 1, ["binary data"]),
    ("gzip", b"\x1f\x8b\x08\x00" + os.urandom(64), 1, ["gzip"]),
    ("not UTF-8", LOGON.encode() + b'<message seq="2" path="/x/\xff\xfe"/>\n', 2,
     ["not UTF-8"]),
    ("a truncated line", (LOGON + ANSWER + LOGON[:70]).encode(), 3, ["truncated"]),
    ("another document", b"<html><body>hello</body></html>\n", 1, ["not a journal <message>"]),
    ("deep nesting", b"<message>" + b"<a>" * 100 + b"</a>" * 100 + b"</message>\n", 1,
     ["nested deeper"]),
]


def cc_journal(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([CC, "journal", *map(str, args)], capture_output=True, text=True,
                          timeout=30, env=env)


def test_cc_journal_shows_the_daemons_messages_with_the_password_hidden(agent):
    agent.cc("break", "--other", "journal test")
    journal = agent.home / "log" / "journal.xml"
    wait_until(lambda: "/user/setstate/" in journal.read_text(), 10, "setstate in the journal")

    text = agent.cc("journal").stdout
    logon = [line for line in text.splitlines() if "/user/logon/" in line and "request" in line]
    assert logon and "Login=ivanova" in logon[0] and "Password=***" in logon[0]
    assert "/user/setstate/" in text and "IDUserState=301" in text
    assert "s3cret" not in text

    requests = [json.loads(line) for line in
                agent.cc("journal", "--json", "--kind", "request").stdout.splitlines()]
    assert {m["kind"] for m in requests} == {"request"}
    first = next(m for m in requests if m["path"] == "/user/logon/")
    assert first["dir"] == "sent" and first["params"]["Password"] == "***"
    assert first["params"]["Login"] == "ivanova"
    answers = [json.loads(line) for line in
               agent.cc("journal", "--json", "--kind", "response").stdout.splitlines()]
    logged_on = next(m for m in answers if m["path"] == "/user/logon/")
    assert logged_on["status"] == "200"
    assert logged_on["body"]["result"]["IDUser"] == "5001790109"
    assert "s3cret" not in agent.cc("journal", "--json").stdout

    last_two = agent.cc("journal", "--tail", "2").stdout.splitlines()
    assert len(last_two) == 2
    seqs = [m["seq"] for m in map(json.loads, agent.cc("journal", "--json").stdout.splitlines())]
    assert seqs == sorted(seqs)


def test_cc_journal_reads_a_file_named_on_the_command_line(tmp_path):
    path = tmp_path / "other-site.xml"
    path.write_text(LOGON + "\n" + ANSWER)
    done = cc_journal(path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2
    assert "sent" in lines[0] and "/user/logon/" in lines[0] and "Password=***" in lines[0]
    assert "200 11ms" in lines[1] and '"IDUser":"5001790109"' in lines[1]
    assert len(cc_journal(path, "--kind", "response").stdout.splitlines()) == 1


@pytest.mark.parametrize("what,content,line,words", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_a_hostile_journal_is_refused_with_one_line_naming_file_and_line(
        tmp_path, what, content, line, words):
    path = tmp_path / "journal.xml"
    path.write_bytes(content)
    done = cc_journal(path)
    assert done.returncode == Exit.BAD_INPUT, done.stderr
    # Shown as read: the good messages before the refused line, nothing of it or after.
    before = [raw for raw in content.split(b"\n")[:line - 1] if raw.startswith(b"<message")]
    assert len(done.stdout.splitlines()) == len(before)
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"cc: {path}:{line}: ")
    for word in words:
        assert word in lines[0]
    assert "Traceback" not in done.stderr and "lollol" not in done.stderr
    assert "root:" not in done.stderr      # /etc/passwd was never read
    # --tail reads from the end: the last bad line it meets is refused the same way.
    done = cc_journal(path, "--tail", 100)
    assert done.returncode == Exit.BAD_INPUT and done.stdout == "", done.stderr
    assert len(done.stderr.splitlines()) == 1 and done.stderr.startswith(f"cc: {path}:")
    assert "Traceback" not in done.stderr and "lollol" not in done.stderr


def test_a_missing_journal_is_bad_input(tmp_path):
    done = cc_journal(tmp_path / "nowhere.xml")
    assert done.returncode == Exit.BAD_INPUT
    assert done.stderr.strip() == f"cc: {tmp_path / 'nowhere.xml'}: no such file (the daemon " \
                                  "writes its journal there while journal.enabled is on)"
    done = cc_journal(tmp_path)
    assert done.returncode == Exit.BAD_INPUT and len(done.stderr.splitlines()) == 1


def test_control_characters_from_a_foreign_journal_are_escaped(tmp_path):
    path = tmp_path / "journal.xml"
    path.write_text('<message seq="1" kind="event" path="/x&#10;y"><param name="a">\u009b'
                    '31m</param></message>\n', encoding="utf-8")
    done = cc_journal(path)
    assert done.returncode == 0
    assert done.stdout.count("\n") == 1 and "\u009b" not in done.stdout
    assert "/x\\x0ay" in done.stdout and "a=\\x9b31m" in done.stdout


def test_rotation_keeps_the_set_number_of_backups_and_loses_no_line(tmp_path):
    path = tmp_path / "journal.xml"
    journal = Journal(path, max_bytes=4096, backups=3)

    def make_call(n):
        journal.sent("/call/make/", {"IDUser": 5001790109, "Number": f"+38044{n:07}",
                                     "Password": "s3cret"})
    make_call(0)
    per_file = -(-4096 // path.stat().st_size)      # lines that fill one file
    written = per_file * 5 // 2                     # 2.5 files: nothing is dropped yet
    for n in range(1, written):
        make_call(n)
    files = sorted(tmp_path.iterdir())
    assert [f.name for f in files] == ["journal.xml", "journal.xml.1", "journal.xml.2"]
    assert all(f.stat().st_size < 4096 + 300 for f in files)

    def seqs():
        found = []
        for name in ("journal.xml.3", "journal.xml.2", "journal.xml.1", "journal.xml"):
            if (tmp_path / name).exists():
                found += [int(e.get("seq")) for e in read(tmp_path / name)]
        return found

    assert seqs() == list(range(1, written + 1))
    for n in range(written, 2000):
        journal.event("/user/OnStateChanged/", {"IDUser": n, "IDUserState": 300})
    journal.close()
    assert sorted(f.name for f in tmp_path.iterdir()) == [
        "journal.xml", "journal.xml.1", "journal.xml.2", "journal.xml.3"]
    kept = seqs()
    assert kept[0] > 1 and kept == list(range(kept[0], 2001))   # the newest, with no gap
    assert "s3cret" not in "".join(f.read_text() for f in tmp_path.iterdir())


def test_the_writer_keeps_every_line_readable(tmp_path):
    path = tmp_path / "journal.xml"
    path.write_bytes(LOGON.encode() + b'<message seq="2" dir="sent"')   # cut by a full disk
    journal = Journal(path)
    journal.received("/call/getactivecalls/", 200, 3.0,
                     json.dumps({"result": {"Data": ["x" * 1000] * 2000}}).encode())
    journal.received("/call/make/", 200, 1.0, b"[" * 100_000 + b"]" * 100_000)
    journal.event("/user/OnStateChanged/", {"IDUser": "1\x00\ud800", "IDUserState": "300"})
    journal.close()
    lines = path.read_bytes().split(b"\n")
    assert lines[1] == b'<message seq="2" dir="sent"'       # the cut line is left as it was
    assert all(len(line) <= 1_000_000 for line in lines)
    with pytest.raises(JournalError, match=":2: truncated"):
        list(read(path))
    path.write_bytes(b"\n".join(lines[2:]))
    messages = [as_dict(e) for e in read(path)]
    assert messages[0]["truncated"] and messages[0]["path"] == "/call/getactivecalls/"
    assert messages[1]["path"] == "/call/make/" and messages[1]["body"]["raw"][:3] == "[[["
    assert messages[2]["params"]["IDUser"] == "1\ufffd\ufffd"


def peak_rss_kib(*args) -> int:
    """The peak memory (RSS, KiB) of `cc ARGS` run to its end, output discarded: measured
    by a wrapper process whose only child it is."""
    probe = ("import resource, subprocess, sys\n"
             "done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
             "assert done.returncode == 0, done\n"
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")
    done = subprocess.run([sys.executable, "-c", probe, CC, *map(str, args)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return int(done.stdout)


@pytest.mark.e2e
def test_cc_journal_shows_the_first_line_while_the_rest_is_still_unread(tmp_path):
    path = tmp_path / "journal.xml"
    write_journal(path, 20_000_000)
    size = path.stat().st_size
    reader = subprocess.Popen([CC, "journal", str(path)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    try:
        first = reader.stdout.readline()
        assert first.split()[0] == b"1" and b"/call/getactivecalls/" in first
        # We read no more, so cc blocks on a full pipe: where is it in the journal?
        fds = Path(f"/proc/{reader.pid}/fd")
        fd = next(fd for fd in os.listdir(fds) if (fds / fd).resolve() == path)
        position = int(Path(f"/proc/{reader.pid}/fdinfo/{fd}").read_text().split()[1])
        assert position < size // 20, (position, size)
    finally:
        reader.kill()
        reader.communicate()


@pytest.mark.e2e
def test_cc_journal_memory_does_not_grow_with_the_journal(tmp_path):
    small, big = tmp_path / "small.xml", tmp_path / "big.xml"
    write_journal(small, 1)
    write_journal(big, 6_000_000)
    growth = (peak_rss_kib("journal", big, "--json") -
              peak_rss_kib("journal", small, "--json")) * 1024
    assert growth < big.stat().st_size // 2, growth      # all of it kept: ~8 times the size


@pytest.mark.e2e
def test_tail_reads_the_journal_from_its_end(tmp_path):
    """The start of this journal is binary junk that reading from the start refuses:
    --tail never gets there."""
    path = tmp_path / "journal.xml"
    count = write_journal(tmp_path / "good.xml", 2_000_000)
    path.write_bytes(bytes(range(256)) + b"\n" + (tmp_path / "good.xml").read_bytes())
    done = cc_journal(path, "--tail", 3, "--json")
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["seq"] for line in done.stdout.splitlines()] == \
        [count - 2, count - 1, count]
    done = cc_journal(path, "--tail", 2, "--kind", "event", "--json")
    assert [json.loads(line)["kind"] for line in done.stdout.splitlines()] == ["event"] * 2
    assert cc_journal(path, "--tail", 3).stdout.splitlines()[-1].split()[0] == str(count)
    done = cc_journal(path)
    assert done.returncode == Exit.BAD_INPUT and f"{path}:1: binary data" in done.stderr
    assert peak_rss_kib("journal", path, "--tail", 5) < 64 * 1024


# A foreign journal's text that must never reach a terminal raw: a bidi override that
# reverses what follows, a C1 control (CSI), DEL and a line separator.
SNEAKY = "\u202e", "\u009b", "\u007f", "\u2028"


def test_json_and_text_escape_control_characters_and_bidi_overrides(tmp_path):
    path = tmp_path / "journal.xml"
    path.write_text('<message seq="1" kind="event" path="/user/&#x202E;evil/">'
                    '<param name="Number">&#x9B;31m&#x7F;+380&#x2028;441</param></message>\n',
                    encoding="utf-8")
    done = cc_journal(path, "--json")
    assert done.returncode == 0, done.stderr
    assert done.stdout.isascii() and "\\u202e" in done.stdout and "\\u009b" in done.stdout
    message = json.loads(done.stdout)
    assert message["path"] == "/user/\u202eevil/"          # escaped, not changed
    assert message["params"]["Number"] == "\u009b31m\u007f+380\u2028441"
    text = cc_journal(path).stdout
    assert not any(ch in text for ch in SNEAKY)
    assert "/user/\\u202eevil/" in text and "Number=\\x9b31m\\x7f+380\\u2028441" in text
