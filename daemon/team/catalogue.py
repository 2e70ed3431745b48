"""The daemon's copy of its team's catalogues (call types and results): the local log's
catalog table, which wrap-up checks and listings' colours read, refreshed from the team
store when the replicator joins, then every REFRESH_EVERY seconds of the daemon's clock,
and at once when asked (`cc catalog add|rm` with a team store asks after an edit). A
store out of reach leaves the last copy standing.

    catalogues = Catalogues(store, clock)
    await catalogues.keep_fresh(pool)           # the replicator, each round
    await catalogues.refresh_now(wake, 5.0)     # the catalog_refresh request
"""

from __future__ import annotations

import asyncio
import logging

from .shared import TEAM_CATALOGUES

log = logging.getLogger("cc.team")

REFRESH_EVERY = 300.0       # daemon-clock seconds between refreshes


class Catalogues:
    def __init__(self, store, clock):
        self.store, self.clock = store, clock
        self.refreshed_at: float | None = None
        self._pool = None           # the pool of the last refresh: a new one is a new join
        self._waiting: list[asyncio.Future] = []

    async def keep_fresh(self, pool) -> None:
        """Refresh when joined anew, when due, or when asked; else nothing."""
        if pool is self._pool and not self._waiting and \
                self.clock.time() < self.refreshed_at + REFRESH_EVERY:
            return
        waiting, self._waiting = self._waiting, []
        async with pool.connection() as conn:
            entries = await (await conn.execute(TEAM_CATALOGUES)).fetchall()
        if self.store.catalog_replace(entries):
            log.info("the team's catalogues changed: %d entries", len(entries))
        self._pool, self.refreshed_at = pool, self.clock.time()
        for future in waiting:
            if not future.done():
                future.set_result(len(entries))

    async def refresh_now(self, wake, timeout: float) -> bool:
        """Ask for a refresh and wait (real seconds) until it is done; whether it was."""
        future = asyncio.get_running_loop().create_future()
        self._waiting.append(future)
        wake()
        try:
            await asyncio.wait_for(future, timeout)
            return True
        except asyncio.TimeoutError:
            return False
