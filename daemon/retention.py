"""Retention: calls older than `log.retention_days` leave the local call log and, for a
team's daemon, this agent's rows leave the team store (through the store's own
cc.purge_calls, which knows the agent from the session). `cc log purge --older-than`
does it by hand; the daemon does it daily, on its own clock.

    retention = Retention(store, settings, clock, team)
    supervisor.keep("retention", retention.keep_purging)
    await retention.purge(365)   # {"days": 365, "before": "…", "local": 12, "team": 40}
"""

from __future__ import annotations

import logging
import re

from .calls import iso

log = logging.getLogger("cc.retention")

DAY = 86400.0
FIRST_RUN = 60.0        # daemon-clock seconds after start: a start stays quick
MAX_DAYS = 36500
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
        self.last: dict | None = None

    async def purge(self, days: int) -> dict:
        """Remove the calls that started more than `days` days ago (by the daemon's
        clock), here and in the team store; what went from where."""
        before = iso(self.clock.time() - days * DAY)
        self.store.flush()
        done = {"days": days, "before": before, "local": self.store.purge(before)}
        if self.team is not None:
            from .team.connect import TeamError

            try:
                done["team"] = await self.team.purge(days)
            except TeamError as exc:    # the store down: the local purge stands
                done["team"] = None
                done["team_error"] = str(exc)
        log.info("purged calls older than %d days: %s", days, done)
        self.last = done
        return done

    async def keep_purging(self) -> None:
        """Kept by the supervisor: purge once a day when log.retention_days is set (read
        each time, so `cc config set` applies at the next run)."""
        await self.clock.sleep(FIRST_RUN)
        while True:
            if days := self.settings["log.retention_days"]:
                await self.purge(int(days))
            await self.clock.sleep(DAY)
