"""Reminders on their own: reading WHEN (`cc remind`: clock times, tomorrow, `in 2h`, ISO
times) from a fixed `now` in a fixed-offset zone, so the results never depend on today's
date or DST; the reminders' table and their firing on a real call log."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from cccli.remind import split_when
from daemon import reminders as reminders_module
from daemon.clock import ManualClock
from daemon.reminders import Reminders, WhenError, parse_when
from daemon.store import Store

ZONE = timezone(timedelta(hours=2))
NOW = datetime(2026, 11, 26, 14, 0, tzinfo=ZONE).timestamp()


def at(*fields, zone=ZONE) -> float:
    return datetime(*fields, tzinfo=zone).timestamp()


@pytest.mark.parametrize("when, due, moved", [
    ("15:30", at(2026, 11, 26, 15, 30), False),
    ("9.05", at(2026, 11, 27, 9, 5), True),            # passed today: tomorrow's
    ("14:00", at(2026, 11, 27, 14, 0), True),          # now is not later
    ("tomorrow 9:00", at(2026, 11, 27, 9, 0), False),
    ("  Tomorrow   23:59 ", at(2026, 11, 27, 23, 59), False),
    ("in 2h", NOW + 7200, False),
    ("in 30m", NOW + 1800, False),
    ("IN 1h30m", NOW + 5400, False),
    ("in 1d", NOW + 86400, False),
    ("2026-12-01T09:00", at(2026, 12, 1, 9, 0), False),
    ("2026-12-01 09:00:30", at(2026, 12, 1, 9, 0, 30), False),
    ("2026-12-01T09:00Z", at(2026, 12, 1, 9, 0, zone=timezone.utc), False),
    ("2026-12-01T09:00+05:00", at(2026, 12, 1, 9, 0, zone=timezone(timedelta(hours=5))),
     False),
])
def test_when_is_read_in_the_local_zone_from_now(when, due, moved):
    assert parse_when(when, NOW, ZONE) == (due, moved)


@pytest.mark.parametrize("when, says", [
    ("", "give WHEN"),
    ("soon", "cannot read the time 'soon'"),
    ("25:00", "25:00 is no time of day"),
    ("12:60", "12:60 is no time of day"),
    ("tomorrow", "cannot read the time"),
    ("tomorrow noon", "cannot read the clock time"),
    ("in 0m", "is now, not later"),
    ("in 2x", "cannot read the time"),
    ("in 999999d", "years ahead"),
    ("2026-11-20T09:00", "is in the past"),
    ("2026-11-26T13:59", "is in the past"),
    ("2026-12-01", "a date without a time"),
    ("2026-13-01T09:00", "is no date and time"),
    ("0001-01-01T00:00", "is in the past"),          # no Unix time at all: was a crash
    ("0001-01-01T00:00+14:00", "is in the past"),
])
def test_a_bad_when_is_refused_in_one_line(when, says):
    with pytest.raises(WhenError) as refused:
        parse_when(when, NOW, ZONE)
    assert says in str(refused.value) and "\n" not in str(refused.value)


def test_tomorrow_keeps_the_wall_clock_across_a_dst_change():
    kyiv = ZoneInfo("Europe/Kyiv")      # summer time begins on 29 March 2026, at 03:00
    now = datetime(2026, 3, 28, 12, 0, tzinfo=kyiv).timestamp()
    due, _ = parse_when("tomorrow 9:00", now, kyiv)
    assert datetime.fromtimestamp(due, kyiv).strftime("%d %H:%M %z") == "29 09:00 +0300"
    assert parse_when("in 1d", now, kyiv)[0] == now + 86400     # elapsed time, not wall


@pytest.mark.parametrize("words, split", [
    (["in", "2h", "call", "back"], ("in 2h", "call back")),
    (["tomorrow", "9:00"], ("tomorrow 9:00", "")),
    (["2026-12-01", "09:00", "x"], ("2026-12-01 09:00", "x")),
    (["in 2h", "call"], ("in 2h", "call")),
    (["15:30", "call", "the", "bank"], ("15:30", "call the bank")),
    ([], ("", "")),
])
def test_when_needs_no_quotes_on_the_command_line(words, split):
    assert split_when(words) == split


# -- the reminders' table and their firing, on a real call log and a manual clock


def logged(tmp_path, calls: int = 1):
    store = Store(tmp_path / "calls.db")
    for n in range(calls):
        store.save({"id": None, "call_id": str(7000 + n), "direction": "in",
                    "number": f"+38044{n:07}", "agent": "ivanova",
                    "started_at": "2026-11-26T10:00:00.000+00:00", "outcome": "missed"})
    store.flush()
    return store, ManualClock(start=NOW)


def test_a_reminder_is_marked_fired_before_it_is_announced_and_never_again(tmp_path):
    store, clock = logged(tmp_path)
    seen = []

    def announce(reminder):
        (fired_at,) = store.db.execute("select fired_at from reminders where id = ?",
                                       [reminder["id"]]).fetchone()
        seen.append((reminder["id"], fired_at))
        raise RuntimeError("the notice failed")        # logged; the reminder stays fired

    reminders = Reminders(store, clock, announce)
    made = reminders.add(1, NOW + 60, "call back")
    assert reminders.add(99, NOW + 60, "") is None       # no such call
    assert reminders.fire_due() == 0 and seen == []
    clock._time = NOW + 60
    assert reminders.fire_due() == 1 and seen == [(made["id"], NOW + 60)]
    assert reminders.fire_due() == 0 and len(seen) == 1
    assert reminders.listed() == [] and reminders.listed(fired=True)[0]["fired"] is True


def test_pending_reminders_are_capped_and_the_fired_ones_listed_are_the_latest(
        tmp_path, monkeypatch):
    monkeypatch.setattr(reminders_module, "PENDING_MAX", 3)
    monkeypatch.setattr(reminders_module, "FIRED_SHOWN", 2)
    store, clock = logged(tmp_path)
    reminders = Reminders(store, clock, lambda reminder: None)
    ids = [reminders.add(1, NOW + n, str(n))["id"] for n in (1, 2, 3)]
    with pytest.raises(WhenError, match="3 reminders wait already"):
        reminders.add(1, NOW + 4, "4")
    clock._time = NOW + 3
    assert reminders.fire_due() == 3
    later = reminders.add(1, NOW + 10, "later")["id"]
    assert [r["id"] for r in reminders.listed(fired=True)] == [ids[1], ids[2], later]


def test_the_database_keeps_reminders_with_their_calls_and_their_text_short(tmp_path):
    store, clock = logged(tmp_path, calls=2)
    reminders = Reminders(store, clock, lambda reminder: None)
    reminders.add(1, NOW + 60, "")
    reminders.add(2, NOW + 60, "")
    with pytest.raises(sqlite3.IntegrityError):
        with store.db.conn:
            store.db.execute("insert into reminders (call_row, due_at, text, created_at) "
                             "values (1, ?, ?, ?)", [NOW, "x" * 501, NOW])
    with pytest.raises(sqlite3.IntegrityError):      # a call the log does not have
        with store.db.conn:
            store.db.execute("insert into reminders (call_row, due_at, created_at) "
                             "values (99, ?, ?)", [NOW, NOW])
    store.remove(1)
    assert [r["log_id"] for r in reminders.listed()] == [2]
    store.remove(None)
    assert reminders.listed(fired=True) == []


def test_a_reminder_s_line_never_drives_the_terminal():
    """Red team: a contact's name from an imported directory or a CRM (or the text) with
    escape sequences reached the terminal as they were in `cc remind --list`."""
    from cccli import remind

    row = {"id": 1, "log_id": 7, "counter_number": 3, "contact": "Olena\x1b]0;pwned\x07",
           "number": "+380441110001", "text": "call\x9b31m back", "due_at": None,
           "fired": False, "fired_at": None}
    for shown in (remind._table([row]), remind.said(row)):
        assert "\x1b" not in shown and "\x07" not in shown and "\x9b" not in shown, shown
        assert "Olena" in shown and "back" in shown
