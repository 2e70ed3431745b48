"""cccli.render.out: JSON for scripts, text for people, one way."""

from __future__ import annotations

import json

import pytest

from cccli import render


def test_json_for_scripts_text_for_people(capsys):
    render.out({"n": 1}, True, "ignored")
    assert json.loads(capsys.readouterr().out) == {"n": 1}
    render.out({"n": 1}, False, "one line")
    assert capsys.readouterr().out == "one line\n"
    render.out([1, 2], False, lambda value: "\n".join(map(str, value)))
    assert capsys.readouterr().out == "1\n2\n"
    render.out([], False, lambda value: "")
    assert capsys.readouterr().out == ""


def test_an_empty_value_fails_for_people_but_not_for_scripts(capsys):
    render.out([], True, str, empty="no colleague matches 'x'")
    assert json.loads(capsys.readouterr().out) == []
    with pytest.raises(SystemExit) as caught:
        render.out([], False, str, empty="no colleague matches 'x'")
    assert caught.value.code == 1
    assert capsys.readouterr().err == "cc: no colleague matches 'x'\n"


def test_a_forced_stop_says_the_calls_kept_only_in_memory_are_lost_not_kept():
    view = {"waiting_calls": 3, "spooled_calls": 1, "spool": "/home/a/calls.spool",
            "store_error": "database or disk is full"}
    assert render.waiting_lines(view)[1] == ("warning 2 call(s) are kept only in memory: "
                                             "database or disk is full")
    assert render.waiting_lines(view, stopped=True) == [
        "warning 1 call(s) wait in /home/a/calls.spool for the call log (database or disk is "
        "full); they are written as soon as it can take them, at the latest at the next start",
        "warning 2 call(s) kept only in memory are lost: database or disk is full"]


def test_a_call_line_never_drives_the_terminal():
    call = {"call_id": "c1", "direction": "in", "number": "+380671112233",
            "state_name": "Connected", "contact": "Olena\x1b[2J\x1b]0;owned\x07",
            "account": "Acme\rX"}
    line = render.call_line(call)
    assert "\x1b" not in line and "\x07" not in line and "\r" not in line
    assert line.endswith("[Olena?[2J?]0;owned?, Acme?X]")
