"""Reminders on calls (F60): `cc remind ID WHEN [TEXT]`, `cc wrapup --remind WHEN`.

A reminder is a row of the call log (table `reminders`, going with its call through
`cc log rm` and the retention purge), not only a timer: one that fell due while the
daemon was down fires at its start. Each fires at most once: it is marked fired in the
database before it is announced (a `reminder` event for `cc watch`, `hooks.on_reminder`,
a desktop notice), so a crash between the two loses the notice, never repeats it.
Reminders stay with the agent who set them: nothing here touches the team store.

    reminders = Reminders(store, clock, announce)
    supervisor.keep("reminders", reminders.keep_firing)
    due, moved = parse_when("15:30", clock.time())    # moved: 15:30 had passed today
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from datetime import datetime, timedelta, tzinfo
from typing import Callable

log = logging.getLogger("cc.reminders")

TEXT_MAX = 500                   # characters of a reminder's text
PENDING_MAX = 1000               # reminders not yet fired an agent may have
FIRED_SHOWN = 100                # fired reminders `cc remind --list --all` shows, latest
AHEAD_MAX_DAYS = 3660            # a reminder at most about ten years ahead
NAP_MAX = 60.0                   # clock seconds between looks, whatever the next due is
EARLY = 0.01                     # a reminder this close to due fires (float rounding)
EXAMPLES = "15:30, tomorrow 9:00, in 2h, in 30m or 2026-12-01T09:00"

CLOCK = re.compile(r"(\d{1,2})[:.](\d{2})")
TOMORROW = re.compile(r"tomorrow\s+(.+)")
AFTER = re.compile(r"in\s*((?:\d{1,6}\s*[dhm]\s*)+)")
PART = re.compile(r"(\d{1,6})\s*([dhm])")
UNIT = {"d": 86400, "h": 3600, "m": 60}
ISO = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?"
                 r"(Z|[+-]\d{2}:?\d{2})?", re.IGNORECASE)


class WhenError(ValueError):
    """WHEN cannot be read or is in the past, or no more reminders may be set; the message
    is the one line to show."""


def parse_when(text: str, now: float, zone: tzinfo | None = None) -> tuple[float, bool]:
    """WHEN as a Unix time, and whether a clock time already past today was moved to
    tomorrow. Clock times and ISO times without an offset are in `zone` (None: the
    machine's local zone); `in 2h` counts from `now`."""
    given = " ".join(text.split()).lower()
    if not given:
        raise WhenError(f"give WHEN, such as {EXAMPLES}")
    if (found := AFTER.fullmatch(given)) is not None:
        seconds = sum(int(n) * UNIT[u] for n, u in PART.findall(found[1]))
        if seconds <= 0:
            raise WhenError(f"{text!r} is now, not later: give a time ahead, such as in 30m")
        return _ahead(now + seconds, text, now), False
    if (found := TOMORROW.fullmatch(given)) is not None:
        return _ahead(_clock_on(found[1], text, now, zone, days=1), text, now), False
    if CLOCK.fullmatch(given) is not None:
        due = _clock_on(given, text, now, zone, days=0)
        if due > now:
            return _ahead(due, text, now), False
        return _ahead(_clock_on(given, text, now, zone, days=1), text, now), True
    if ISO.fullmatch(given) is not None:
        return _ahead(_iso(given, text, zone), text, now, dated=True), False
    raise WhenError(f"cannot read the time {text!r}: give WHEN as {EXAMPLES}")


def _clock_on(clock: str, text: str, now: float, zone: tzinfo | None, days: int) -> float:
    found = CLOCK.fullmatch(clock)
    if found is None:
        raise WhenError(f"cannot read the clock time in {text!r}: give hours and minutes, "
                        "such as tomorrow 9:00")
    hour, minute = int(found[1]), int(found[2])
    if hour > 23 or minute > 59:
        raise WhenError(f"{clock} is no time of day: give hours 0-23 and minutes 0-59")
    today = datetime.fromtimestamp(now, zone)       # naive local time when zone is None
    day = today.date() + timedelta(days=days)
    # Wall-clock arithmetic: "tomorrow 9:00" is 9:00 on the next day whatever DST does.
    wall = datetime(day.year, day.month, day.day, hour, minute, tzinfo=today.tzinfo)
    return wall.timestamp()


def _iso(given: str, text: str, zone: tzinfo | None) -> float:
    if ISO.fullmatch(given)[1] is None:
        raise WhenError(f"{text!r} is a date without a time: add one, such as "
                        f"{given}T09:00")
    try:
        when = datetime.fromisoformat(given.upper().replace(" ", "T"))
    except ValueError:
        raise WhenError(f"{text!r} is no date and time: give one such as "
                        "2026-12-01T09:00") from None
    if when.tzinfo is None and zone is not None:
        when = when.replace(tzinfo=zone)
    try:
        return when.timestamp()
    except (ValueError, OverflowError):     # year 1 less an offset: before any Unix time
        raise WhenError(f"{text!r} is in the past: give a later time") from None


def _ahead(due: float, text: str, now: float, dated: bool = False) -> float:
    if due <= now:
        try:
            shown = f" ({local_text(due)})" if dated else ""
        except (ValueError, OverflowError, OSError):     # before year 1 in this zone
            shown = ""
        raise WhenError(f"{text!r}{shown} is in the past: give a later time")
    if due - now > AHEAD_MAX_DAYS * 86400:
        raise WhenError(f"{text!r} is more than {AHEAD_MAX_DAYS // 366} years ahead: give "
                        "a nearer time")
    return due


def local_text(ts: float) -> str:
    """A Unix time as the agent reads it: local date and time to the minute."""
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def local_iso(ts: float | None) -> str | None:
    """A Unix time in ISO 8601 with the local offset, for JSON."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts).astimezone().isoformat(timespec="seconds")


# A reminder with what the agent needs to recognise its call.
SELECT = """select r.id, r.call_row, r.due_at, r.text, r.created_at, r.fired_at,
                   c.call_id, c.counter_number, c.number, c.contact, c.subject, c.result
            from reminders r join calls c on c.id = r.call_row"""


class Reminders:
    def __init__(self, store, clock, announce: Callable[[dict], None]):
        """`announce(reminder)`: tell the agent, once the reminder is marked fired."""
        self.store, self.clock, self.announce = store, clock, announce
        self._changed = asyncio.Event()

    @property
    def db(self) -> sqlite3.Connection:
        return self.store.db.conn

    def add(self, log_id: int, due: float, text: str) -> dict | None:
        """A new reminder on the logged call `log_id`; None when there is no such call."""
        self.store.flush()
        pending = self.db.execute("select count(*) from reminders where fired_at is null"
                                  ).fetchone()[0]
        if pending >= PENDING_MAX:
            raise WhenError(f"{pending} reminders wait already, the most there may be: remove "
                            "some (`cc remind --list`, `cc remind rm N`)")
        with self.db:
            cursor = self.db.execute(
                "insert into reminders (call_row, due_at, text, created_at) "
                "select id, ?, ?, ? from calls where id = ?",
                [due, text, self.clock.time(), log_id])
        if cursor.rowcount != 1:
            return None
        self._changed.set()
        return self.get(cursor.lastrowid)

    def get(self, reminder_id: int) -> dict | None:
        row = self.db.execute(f"{SELECT} where r.id = ?", [reminder_id]).fetchone()
        return view(row) if row else None

    def listed(self, fired: bool = False) -> list[dict]:
        """The pending reminders, soonest first; with `fired`, after the FIRED_SHOWN fired
        last, in the order they fired."""
        rows = self.db.execute(f"{SELECT} where r.fired_at is null order by r.due_at, r.id"
                               ).fetchall()
        if fired:
            rows = self.db.execute(
                f"select * from ({SELECT} where r.fired_at is not null order by r.fired_at "
                "desc, r.id desc limit ?) order by fired_at, id", [FIRED_SHOWN]
            ).fetchall() + rows
        return [view(row) for row in rows]

    def remove(self, reminder_id: int) -> dict | None:
        found = self.get(reminder_id)
        if found is not None:
            with self.db:
                self.db.execute("delete from reminders where id = ?", [reminder_id])
            self._changed.set()
        return found

    def fire_due(self) -> int:
        """Fire every reminder due now on the daemon's clock; how many fired."""
        now = self.clock.time()
        fired = 0
        for (reminder_id,) in self.db.execute(
                "select id from reminders where fired_at is null and due_at <= ? "
                "order by due_at, id", [now + EARLY]).fetchall():
            with self.db:
                taken = self.db.execute("update reminders set fired_at = ? where id = ? "
                                        "and fired_at is null", [now, reminder_id]).rowcount
            if taken != 1:
                continue
            fired += 1
            reminder = self.get(reminder_id)
            if reminder is None:
                continue
            try:
                self.announce(reminder)
            except Exception:       # marked fired: a failed notice is logged, never repeated
                log.exception("reminder %s fired but could not be announced", reminder_id)
        return fired

    def next_due(self) -> float | None:
        row = self.db.execute("select min(due_at) from reminders where fired_at is null"
                              ).fetchone()
        return row[0] if row else None

    async def keep_firing(self) -> None:
        """Kept by the supervisor: fire what is due (at start, what fell due while the
        daemon was down), then sleep on the daemon's clock until the next is due or a
        reminder is added or removed."""
        while True:
            self._changed.clear()
            self.fire_due()
            due = self.next_due()
            if due is None:
                await self._changed.wait()
                continue
            # Looked at every NAP_MAX too: a machine that slept put the loop's timers behind.
            nap = min(NAP_MAX, max(0.0, due - self.clock.time()))
            await self.clock.within(self._changed.wait(), nap)


def view(row) -> dict:
    (reminder_id, call_row, due, text, created, fired, call_id, counter_number, number,
     contact, subject, result) = row
    return {"id": reminder_id, "log_id": call_row, "call_id": call_id,
            "counter_number": counter_number, "number": number, "contact": contact or "",
            "subject": subject or "", "result": result or "", "due_at": local_iso(due),
            "text": text, "created_at": local_iso(created), "fired_at": local_iso(fired),
            "fired": fired is not None}
