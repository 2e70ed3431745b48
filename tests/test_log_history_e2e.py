"""A call's details (F60): the change log of its card (who changed what, when) and its long
description, edited in $EDITOR at a terminal. The emulator, the daemon and `cc` are real
processes; the editor is a script on a real pseudo-terminal."""

from __future__ import annotations

import sqlite3
import stat

import pytest

from daemon.testing import CC
from daemon.wire import DESCRIPTION_BYTES, WireError
from terminal import Terminal

ANSWERS = "+380441110001"


def finished_call(agent) -> dict:
    call = agent.json("dial", ANSWERS, "--wait")
    agent.cc("hangup")
    return agent.log_row(call["call_id"], outcome="answered")


def history(agent, log_id) -> list[tuple]:
    return [(c["changed_by"], c["via"], c["field"], c["old_value"], c["new_value"])
            for c in agent.json("log", "history", str(log_id))["changes"]]


def test_every_change_to_a_card_is_in_its_history_with_who_and_when(agent):
    agent.cc("contacts", "add", "Maria Koval", "--phone", ANSWERS)
    row = finished_call(agent)
    log_id = str(row["id"])
    agent.cc("wrapup", "--subject", "Order 42", "--note", "call back")
    agent.cc("log", "edit", log_id, "--subject", "Order 43", "--result", "resolved",
             "--link", "task=T-77", "--account", "")
    agent.cc("log", "edit", log_id, "--subject", "Order 43")         # no change: no entry
    agent.cc("log", "edit", log_id, "--new-contact", "Olena Ivanova")
    assert history(agent, log_id) == [
        ("daemon", "daemon", "contact", None, "Maria Koval"),      # found by the number
        ("ivanova", "cc", "subject", None, "Order 42"),
        ("ivanova", "cc", "notes", None, "call back"),
        ("ivanova", "cc", "subject", "Order 42", "Order 43"),
        ("ivanova", "cc", "result", None, "resolved"),
        ("ivanova", "cc", "link_task", None, "T-77"),
        ("ivanova", "cc", "contact", "Maria Koval", "Olena Ivanova")]
    changes = agent.json("log", "history", log_id)
    assert changes["id"] == row["id"] and changes["counter_number"] == "CALL-000001"
    assert all(c["changed_at"].startswith("20") for c in changes["changes"])
    shown = agent.cc("log", "history", log_id).stdout.splitlines()
    assert shown[0].split() == ["when", "by", "field", "old", "new"]
    assert shown[4].split()[2:] == ["ivanova", "subject", "Order", "42", "Order", "43"]
    done = agent.cc("log", "history", "99", check=False)
    assert done.returncode != 0 and done.stderr == "cc: no call 99 in the call log (see " \
        "`cc log`)\n"
    done = agent.cc("log", "history", check=False)
    assert done.returncode == 9 and "usage: cc log history ID" in done.stderr
    done = agent.cc("log", "history", log_id, "--subject", "x", check=False)
    assert done.returncode == 9 and "--subject does not apply to `cc log history`" in \
        done.stderr


def test_nobody_rewrites_the_change_log_and_it_goes_with_its_call(agent):
    first, second = finished_call(agent), finished_call(agent)
    for row in (first, second):
        agent.cc("log", "edit", str(row["id"]), "--subject", "Refund")
    with sqlite3.connect(agent.database) as db:
        for sql in ("update call_changes set new_value = 'x'", "delete from call_changes"):
            try:
                db.execute(sql)
            except sqlite3.IntegrityError as exc:
                assert str(exc) == "the change log is append only"
            else:
                raise AssertionError(f"{sql}: the log let it through")
    agent.cc("log", "rm", str(first["id"]), "--yes")
    with sqlite3.connect(agent.database) as db:
        left = db.execute("select call_row, new_value from call_changes").fetchall()
    assert left == [(second["id"], "Refund")]


def test_a_description_is_set_read_back_exported_and_in_the_history(agent):
    row = finished_call(agent)
    log_id = str(row["id"])
    agent.cc("log", "edit", log_id, "--description", "Wants the invoice\nin two copies")
    assert agent.json("log", "show", log_id)["description"] == \
        "Wants the invoice\nin two copies"
    shown = agent.cc("log", "show", log_id).stdout
    assert "\ndescription            Wants the invoice\n                       in two " \
        "copies\n" in shown
    agent.cc("log", "edit", log_id, "--description", "-", input="From a script\n")
    exported = agent.json("log", "--columns", "id,description")
    assert exported == [{"id": row["id"], "description": "From a script"}]
    assert history(agent, log_id)[-2:] == [
        ("ivanova", "cc", "description", None, "Wants the invoice\nin two copies"),
        ("ivanova", "cc", "description", "Wants the invoice\nin two copies",
         "From a script")]
    agent.cc("log", "edit", log_id, "--description", "")           # '' clears it
    assert agent.json("log", "show", log_id)["description"] is None      # empty: null


def test_a_description_over_64_kib_is_refused_at_each_edge(agent):
    row = finished_call(agent)
    log_id = str(row["id"])
    agent.cc("log", "edit", log_id, "--description", "-", input="é" * (DESCRIPTION_BYTES // 2))
    done = agent.cc("log", "edit", log_id, "--description", "-",
                    input="x" * (DESCRIPTION_BYTES + 1), check=False)
    assert done.returncode == 9 and done.stderr == (
        "cc: the description is over 64 KiB, more than a call's description holds: shorten "
        "it\n")
    for given in ("-", "é" * (DESCRIPTION_BYTES // 2 + 1)):     # no part of one is kept
        done = agent.cc("log", "edit", log_id, "--description", given, check=False,
                        input="x" * DESCRIPTION_BYTES + "\n" + "y" * 10**6)
        assert done.returncode == 9 and "over 64 KiB" in done.stderr
    # The daemon checks what any client sends, and the call log's own rule holds too.
    with pytest.raises(WireError, match="the description is 65537 bytes"):
        agent.request("log_edit", log_id=row["id"],
                      fields={"description": "x" * (DESCRIPTION_BYTES + 1)})
    with sqlite3.connect(agent.database) as db:
        try:
            db.execute("update calls set description = description || 'x'")
        except sqlite3.IntegrityError as exc:
            assert "CHECK constraint failed" in str(exc)
        else:
            raise AssertionError("the call log took a description over 64 KiB")
    assert len(agent.json("log", "show", log_id)["description"]) == DESCRIPTION_BYTES // 2


def test_without_text_and_not_at_a_terminal_the_description_is_one_line_of_error(agent):
    row = finished_call(agent)
    done = agent.cc("log", "edit", str(row["id"]), "--description", check=False, input="")
    assert done.returncode == 9 and done.stderr == (
        "cc: --description needs its text when not at a terminal: cc log edit ID "
        "--description TEXT (- reads it from standard input)\n")
    done = agent.cc("log", "edit", str(row["id"]), "--description", "a", "b", check=False)
    assert done.returncode == 9 and "usage: cc log edit [ID] --description [TEXT]" in \
        done.stderr


def fake_editor(tmp_path, name: str, body: str):
    """An editor: a script that gets the file's path as $1 (and keeps what it was given)."""
    script = tmp_path / name
    script.write_text(f"#!/bin/sh\ncp \"$1\" {tmp_path}/{name}.seen\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def at_terminal(agent, args: list[str], env: dict) -> tuple[int, str]:
    # Wide enough that no message wraps, however long the test's folder is.
    term = Terminal([CC, *args], {**agent.env, **env}, columns=400)
    try:
        code = term.finish(timeout=30)
        return code, term.text()
    finally:
        term.close()


def test_the_description_is_written_in_the_editor_at_a_terminal(agent, tmp_path):
    row = finished_call(agent)
    log_id = str(row["id"])
    agent.cc("log", "edit", log_id, "--description", "First draft")
    writes = fake_editor(tmp_path, "writes", "printf 'Line one\\nLine two\\n\\n' > \"$1\"")
    code, screen = at_terminal(agent, ["log", "edit", log_id, "--description"],
                               {"VISUAL": str(writes), "EDITOR": "false"})
    assert code == 0, screen
    assert (tmp_path / "writes.seen").read_text() == "First draft\n"   # it starts from it
    assert agent.json("log", "show", log_id)["description"] == "Line one\nLine two"
    assert history(agent, log_id)[-1] == ("ivanova", "cc", "description", "First draft",
                                          "Line one\nLine two")
    # EDITOR when VISUAL is not set; an editor that leaves the text as it was changes
    # nothing, and adds nothing to the history.
    keeps = fake_editor(tmp_path, "keeps", "true")
    code, screen = at_terminal(agent, ["log", "edit", log_id, "--description"],
                               {"VISUAL": "", "EDITOR": str(keeps)})
    assert code == 0 and f"the description of call {log_id} is unchanged" in screen
    assert (tmp_path / "keeps.seen").exists()
    assert len(history(agent, log_id)) == 2


def test_an_editor_that_empties_the_file_or_fails_changes_nothing(agent, tmp_path):
    row = finished_call(agent)
    log_id = str(row["id"])
    agent.cc("log", "edit", log_id, "--description", "Keep me")
    empties = fake_editor(tmp_path, "empties", ": > \"$1\"")
    code, screen = at_terminal(agent, ["log", "edit", log_id, "--description"],
                               {"EDITOR": str(empties), "VISUAL": ""})
    assert code == 1 and (f"the file was left empty, so the description of call {log_id} "
                          "was not changed") in " ".join(screen.split())
    too_long = fake_editor(tmp_path, "too-long", f"head -c {DESCRIPTION_BYTES + 1} /dev/zero "
                           "| tr '\\0' x > \"$1\"")
    code, screen = at_terminal(agent, ["log", "edit", log_id, "--description"],
                               {"EDITOR": str(too_long), "VISUAL": ""})
    assert code == 9 and "over 64 KiB" in screen
    fails = fake_editor(tmp_path, "fails", "exit 3")
    code, screen = at_terminal(agent, ["log", "edit", log_id, "--description"],
                               {"EDITOR": str(fails), "VISUAL": ""})
    assert code == 1 and "exited with 3" in screen
    code, screen = at_terminal(agent, ["log", "edit", log_id, "--description"],
                               {"EDITOR": str(tmp_path / "no-such-editor"), "VISUAL": ""})
    assert code == 8 and "cannot run the editor" in screen
    assert agent.json("log", "show", log_id)["description"] == "Keep me"
    assert len(history(agent, log_id)) == 1
