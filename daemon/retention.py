"""Retention: calls older than `log.retention_days` leave the local call log and, for a
team's daemon, this agent's rows leave the team store (through the store's own
cc.purge_calls, which knows the agent from the session). `cc log purge --older-than`
does it by hand; the daemon does it daily, on its own clock.

    retention = Retention(store, settings, clock, team)
    supervisor.keep("retention", retention.keep_purging)
    await retention.purge(365)   # {"days": 365, "before": "…", "local": 12, "team": 40}
    retention.view()             # {"days": 30, "last": {…, "at": "…"}, "next": "…"}

The last purge is kept in the call log (log_meta), so `cc status` and `cc doctor` still
show it after a restart. The local purge goes in chunks of CHUNK calls, each its own
transaction, the event loop served between them: a year of calls would otherwise hold
the daemon for seconds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sqlite3

from .calls import iso

log = logging.getLogger("cc.retention")

DAY = 86400.0
FIRST_RUN = 60.0        # daemon-clock seconds after start: a start stays quick
MAX_DAYS = 36500
CHUNK = 2_000           # calls a transaction of the local purge removes
LAST = "retention_last"     # the log_meta key of the last purge
AGE = re.compile(r"(\d{1,6})([dw])")


def parse_age(text: str) -> int:
    """`365d`, `30d`, `12w` as days; ValueError with the one line to show otherwise."""
    found = AGE.fullmatch(text.strip())
    days = int(found[1]) * (7 if found[2] == "w" else 1) if found else 0
    if not found or not 1 <= days <= MAX_DAYS:
        raise ValueError(f"--older-than takes days or weeks such as 365d, 30d or 12w "
                         f"(1 day to {MAX_DAYS} days), not {text!r}")
    return days


class Retention:
    def __init__(self, store, settings: dict, clock, team=None):
        self.store, self.settings, self.clock, self.team = store, settings, clock, team
        self.last: dict | None = self._kept()
        self.next_at: float | None = None      # the daily run's next time, on the clock
        self.files = None       # attachments.Files: the purged calls' files leave the disk

    def view(self) -> dict | None:
        """The setting, the last purge and the next daily one; None when retention is
        off and no purge ever ran."""
        days = self.settings["log.retention_days"]
        if not days and self.last is None:
            return None
        due = iso(self.next_at) if days and self.next_at is not None else None
        return {"days": int(days or 0), "last": self.last, "next": due}

    def _kept(self) -> dict | None:
        row = self.store.db.execute("select value from log_meta where key = ?",
                                    [LAST]).fetchone()
        try:
            kept = json.loads(row[0]) if row else None
        except ValueError:
            kept = None
        return kept if isinstance(kept, dict) else None

    def _keep(self, done: dict) -> None:
        try:
            with self.store.db.conn:
                self.store.db.execute("insert or replace into log_meta (key, value) "
                                      "values (?, ?)", [LAST, json.dumps(done)])
        except sqlite3.Error as exc:    # the purge stands; only its record is missing
            log.warning("cannot record the last purge in the call log: %s", exc)

    async def purge(self, days: int) -> dict:
        """Remove the calls that started more than `days` days ago (by the daemon's
        clock), here and in the team store; what went from where."""
        before = iso(self.clock.time() - days * DAY)
        self.store.flush()
        local = 0
        while True:
            removed = self.store.purge(before, CHUNK)
            local += removed
            if removed < CHUNK:
                break
            await asyncio.sleep(0)      # the loop serves its requests and events between
        done = {"days": days, "before": before, "local": local}
        if self.files is not None:      # after the commits: their files leave the disk
            from .attachments import drain

            left = (await drain(self.files))["files_left"]
            if left:
                done["files_left"] = left
        if self.team is not None:
            from .team.connect import TeamError

            try:
                done["team"] = await self.team.purge(days)
            except TeamError as exc:    # the store down: the local purge stands
                done["team"] = None
                done["team_error"] = str(exc)
        log.info("purged calls older than %d days: %s", days, done)
        self.last = {**done, "at": iso(self.clock.time())}
        self._keep(self.last)
        return done

    async def keep_purging(self) -> None:
        """Kept by the supervisor: purge once a day when log.retention_days is set (read
        each time, so `cc config set` applies at the next run)."""
        self.next_at = self.clock.time() + FIRST_RUN
        await self.clock.sleep(FIRST_RUN)
        while True:
            if days := self.settings["log.retention_days"]:
                await self.purge(int(days))
            self.next_at = self.clock.time() + DAY
            await self.clock.sleep(DAY)
