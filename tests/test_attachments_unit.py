"""Files kept with a call, below the daemon: the names they are kept under, and the call
log's own guard of them (checks, the cascade with the call, the queue of copies to
remove, never a copy a live row has again)."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from daemon.attachments import Files, drain, numbered, safe_name
from daemon.store import FILE_NAME_MAX, Store


@pytest.mark.parametrize("given, kept", [
    ("report.pdf", "report.pdf"),
    ("../../x", "x"),
    ("/etc/passwd", "passwd"),
    ("C:\\Users\\me\\x.bat", "x.bat"),
    ("..", "file"),
    ("", "file"),
    (".bashrc", "bashrc"),
    (" . hidden ", "hidden"),
    ("a\nb\x1b[31mred.txt", "a_b_[31mred.txt"),
    ("evil\u202egnp.exe", "evil_gnp.exe"),
    ("zero\u200bwidth", "zero_width"),
    ("a\ud800b", "a_b"),
    ("Договір №5.pdf", "Договір №5.pdf"),
])
def test_a_name_is_its_last_part_without_controls_or_leading_dots(given, kept):
    assert safe_name(given) == kept


def test_a_long_name_is_cut_keeping_its_extension_within_the_bytes_a_file_system_takes():
    assert safe_name("n" * 400 + ".pdf") == "n" * (FILE_NAME_MAX - 4) + ".pdf"
    wide = safe_name("я" * 150 + ".docx")
    assert wide.endswith(".docx") and len(wide.encode()) <= 200


def test_a_clash_is_numbered():
    assert numbered("a.pdf", set()) == "a.pdf"
    assert numbered("a.pdf", {"a.pdf", "a (2).pdf"}) == "a (3).pdf"
    assert numbered("notes", {"notes"}) == "notes (2)"


@pytest.fixture
def store(tmp_path):
    kept = Store(tmp_path / "calls.db")
    with kept.db.conn:
        for n in (1, 2):
            kept.db.execute("insert into calls (server, call_id, agent, counter, "
                            "counter_number, direction, started_at) values ('s', ?, 'a', ?, "
                            "?, 'in', '2026-01-01')", [str(n), n, f"C-{n}"])
    yield kept
    kept.close()


def insert(store, call_row: int, n: int, name: str, stored: str | None = None) -> None:
    with store.db.conn:
        store.db.execute("insert into call_files (call_row, n, name, stored, size, sha256, "
                         "attached_at) values (?, ?, ?, ?, 0, ?, 'now')",
                         [call_row, n, name, stored or name, "0" * 64])


@pytest.mark.parametrize("name", ["a/b", "..x", ".x", "a\nb", "a\x1bb", "a\\b", "",
                                  "n" * (FILE_NAME_MAX + 1)])
def test_the_call_log_refuses_a_name_no_attach_would_keep(store, name):
    with pytest.raises(sqlite3.IntegrityError):
        insert(store, 1, 1, name)


def test_a_file_row_needs_its_call_and_goes_with_it_queueing_its_copy(store, tmp_path):
    with pytest.raises(sqlite3.IntegrityError):
        insert(store, 99, 1, "orphan.txt")
    insert(store, 1, 1, "a.txt")
    insert(store, 2, 1, "b.txt")
    files = Files(store, tmp_path / "files")
    for rel in ("1/a.txt", "2/b.txt"):
        (files.folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (files.folder / rel).write_text("x")
    store.remove(1)
    assert files.queued() == ["1/a.txt"]
    assert asyncio.run(drain(files)) == {"files_removed": 1, "files_left": []}
    assert not (files.folder / "1").exists() and (files.folder / "2" / "b.txt").exists()
    assert files.queued() == []


def test_a_queued_copy_is_never_removed_once_a_live_row_has_its_name_again(store, tmp_path):
    insert(store, 1, 1, "a.txt")
    files = Files(store, tmp_path / "files")
    files.detach(1, 1)
    with store.db.conn:      # as if its removal had failed and the queue still held it
        store.db.execute("insert or ignore into call_files_gone values ('1/a.txt', 'then')")
    insert(store, 1, 2, "a.txt")             # attached again under the same name
    assert files.queued() == []
    assert store.db.execute("select count(*) from call_files_gone").fetchone() == (0,)


def test_an_attach_while_a_drain_removes_the_call_s_emptied_folder_still_attaches(
        store, tmp_path, monkeypatch):
    """Red team: a detach's drain (in a thread) removes the call's folder once empty; an
    attach to that call at the same moment had made the folder, then found it gone when
    it linked its copy, and failed ("cannot copy into ...: No such file or directory")."""
    import base64

    from daemon import attachments

    files = Files(store, tmp_path / "files")
    staged = files.stage_sent(["a.txt"], [base64.b64encode(b"x").decode()], 100)
    place = attachments._place

    def drained_meanwhile(temp, target):
        try:
            target.parent.rmdir()          # the drain's rmdir, between mkdir and link
        except OSError:
            pass
        monkeypatch.setattr(attachments, "_place", place)
        place(temp, target)

    monkeypatch.setattr(attachments, "_place", drained_meanwhile)
    [attached] = files.attach(1, staged, "now")
    files.discard(staged)
    assert (files.folder / "1" / "a.txt").read_bytes() == b"x" and not attached["missing"]
