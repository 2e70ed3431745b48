"""Tables for people (`cc log`, `cc who`): at a terminal the key columns never shrink and
the least useful drop first; in a pipe every column is whole and no line ends in spaces."""

from __future__ import annotations

import os
import subprocess

import pytest

from cccli.table import MIN_SHRUNK, Column, cells, fit, lines
from conftest import CC
from daemon.store import Store
from terminal import Terminal

LOG = [Column("id", right=True), Column("no.", drop=2), Column("start"), Column("dir"),
       Column("number"), Column("outcome", drop=1), Column("result", drop=3),
       Column("wait", drop=6, right=True), Column("talk", drop=4, right=True),
       Column("hold", drop=7, right=True), Column("agent", drop=8)]
ROW = ["1042", "CALL-001042", "2026-11-25 19:52:46", "in", "+380441110001", "answered",
       "resolved", "0:02", "10:06", "0:05", "ivanova"]


def test_a_pipe_gets_every_column_at_its_natural_width():
    shown, widths = fit(LOG, [ROW], None)
    assert shown == list(range(len(LOG)))
    assert widths == [max(len(c.head), len(v)) for c, v in zip(LOG, ROW)]


@pytest.mark.parametrize("room, gone", [
    (106, []), (100, ["agent"]), (95, ["agent", "hold"]), (88, ["agent", "hold", "wait"]),
    (80, ["agent", "hold", "wait", "talk"]),
    (60, ["agent", "hold", "wait", "talk", "result", "no."]),
    (50, ["agent", "hold", "wait", "talk", "result", "no.", "outcome"]),
    (30, ["agent", "hold", "wait", "talk", "result", "no.", "outcome"]),
])
def test_the_least_useful_columns_drop_first_and_the_key_ones_stay_whole(room, gone):
    drawn = lines(LOG, [ROW], room)
    heads = drawn[0].split()
    assert {c.head for c in LOG if c.head not in heads} == set(gone)
    for key in ("1042", "2026-11-25 19:52:46", "+380441110001"):
        assert key in drawn[1]
    assert "…" not in drawn[1]
    if room >= 45:          # the key columns' own width: below it they stay whole
        assert max(len(line) for line in drawn) <= room


def test_free_text_is_cut_before_anything_is_dropped_and_never_below_its_floor():
    columns = [Column("id", right=True), Column("number"), Column("notes", shrink=True),
               Column("agent", drop=1)]
    row = ["7", "+380441110001", "called back about the refund " * 4, "ivanova"]
    drawn = lines(columns, [row], 60)
    assert drawn[0].split() == ["id", "number", "notes", "agent"]
    assert len(drawn[1]) == 60 and "…" in drawn[1] and drawn[1].endswith("ivanova")
    narrow = lines(columns, [row], 20)
    assert "agent" not in narrow[0]
    notes = narrow[1].split("+380441110001", 1)[1].strip()
    assert len(notes) == MIN_SHRUNK and notes.endswith("…")


def test_no_line_ends_in_spaces_and_numbers_align_right():
    rows = [["1", "x", "0:02"], ["1042", "a longer cell", "10:06"]]
    columns = [Column("id", right=True), Column("text"), Column("talk", right=True)]
    for room in (None, 80):
        drawn = lines(columns, rows, room)
        assert all(line == line.rstrip() for line in drawn)
        assert drawn[1].startswith("   1  x") and drawn[2].startswith("1042  a longer")
        assert drawn[1].endswith(" 0:02") and drawn[2].endswith("10:06")


def test_wide_characters_take_two_cells():
    drawn = lines([Column("name"), Column("state")], [["Бондар Ольга", "available"],
                                                       ["王小明", "away"]], None)
    first, second = drawn[1], drawn[2]
    assert cells(first[:first.index("available")]) == cells(second[:second.index("away")]) \
        == len("Бондар Ольга") + 2


def make_log(path, count=30):
    store = Store(path)
    for n in range(count):
        store.save({"id": None, "call_id": f"c{n}", "direction": "in",
                    "number": f"+38044111{n:04}", "agent": "ivanova", "extension": "101",
                    "started_at": f"2026-11-25T10:{n:02}:00.000+00:00", "wait_seconds": 2.0,
                    "talk_seconds": 366.0, "hold_seconds": 5.0, "outcome": "answered",
                    "result": "resolved" if n % 2 else None})
    store.close()
    return path


def test_the_log_at_an_80_column_terminal_keeps_ids_and_whole_numbers(tmp_path):
    database = make_log(tmp_path / "calls.db")
    env = {**os.environ, "CC_HOME": str(tmp_path / "home")}
    env.pop("COLUMNS", None)
    term = Terminal([CC, "log", "--database", str(database), "--limit", "10"], env,
                    rows=30, columns=80)
    try:
        assert term.finish() == 0
        screen = term.text().splitlines()
    finally:
        term.close()
    assert screen[0].split()[:5] == ["id", "no.", "start", "dir", "number"]
    body = screen[1:11]
    assert [line.split()[0] for line in body] == [str(n) for n in range(30, 20, -1)]
    assert all("+38044111" in line and "…" not in line for line in body)
    assert all(len(line) <= 80 for line in screen)


def test_the_log_in_a_pipe_has_every_column_whole_and_no_trailing_spaces(tmp_path):
    database = make_log(tmp_path / "calls.db", 3)
    done = subprocess.run([CC, "log", "--database", str(database)], capture_output=True,
                          text=True, timeout=60, env={**os.environ, "CC_HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    drawn = done.stdout.splitlines()
    assert drawn[0].split() == ["id", "no.", "start", "dir", "number", "outcome", "result",
                                "wait", "talk", "hold", "agent"]
    assert len(drawn) == 4 and all(line == line.rstrip() for line in drawn)
    assert all(line.endswith("ivanova") for line in drawn[1:])
