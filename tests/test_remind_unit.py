"""Reading a reminder's WHEN (`cc remind`): clock times, tomorrow, `in 2h`, ISO times. A
fixed `now` in a fixed-offset zone: the results never depend on today's date or DST."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from cccli.remind import split_when
from daemon.reminders import WhenError, parse_when

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
