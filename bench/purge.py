"""Retention's purge at 300,000 calls: how long the daemon's event loop is held.

The daemon purges in chunks (daemon/retention.py, CHUNK calls a transaction) and serves
its loop between them; a ticker task on the same loop records the longest stretch it
waited for its turn while `Retention.purge` removed every call of a synthetic log.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from pathlib import Path

from daemon import clock as clocks
from daemon.retention import CHUNK, Retention
from daemon.store import Store

from .common import ms, note, on_cleanup, standalone, verdict

CALLS = 300_000
TARGET = 0.5        # seconds the loop may be held at most


def run() -> list[str]:
    folder = Path(tempfile.mkdtemp(prefix="cc-bench-purge-"))
    on_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))
    store = Store(folder / "calls.db")
    on_cleanup(store.close)
    _fill(store, CALLS)
    note(f"{CALLS:,} old calls in the log")
    retention = Retention(store, {"log.retention_days": 1}, clocks.WallClock())
    removed, seconds, held = asyncio.run(_purge(retention))
    return [f"retention purge of {CALLS:,} calls in the daemon ({CHUNK:,} a transaction): "
            f"the event loop held at most {ms(held)}, the purge {seconds:.1f} s, "
            f"{removed:,} removed (target: held < {ms(TARGET)}) "
            f"{verdict(held < TARGET and removed == CALLS)}"]


def _fill(store: Store, calls: int) -> None:
    """CALLS calls of two years ago, made by SQLite itself (Python would take a minute):
    spread over 50 agents, 10,000 numbers, four outcomes, durations on every index."""
    begun = time.time() - 800 * 86400
    with store.db.conn:
        store.db.execute(f"""
            with recursive g(n) as (select 1 union all select n + 1 from g where n < {calls})
            insert into calls (server, call_id, agent, extension, counter, counter_number,
                               direction, number, number_key, started_at, connected_at,
                               ended_at, wait_seconds, talk_seconds, hold_seconds,
                               processing_seconds, outcome, line_state, updated_at)
            select 'http://bench', 5000000000 + n, 'a' || (n % 50), 100 + n % 50, n,
                   printf('CALL-%06d', n), case when n % 4 then 'in' else 'out' end,
                   '+38044' || ((n * 7919) % 10000), '38044' || ((n * 7919) % 10000),
                   strftime('%Y-%m-%dT%H:%M:%f+00:00', {begun} + n * 60, 'unixepoch'),
                   strftime('%Y-%m-%dT%H:%M:%f+00:00', {begun} + n * 60 + 5, 'unixepoch'),
                   strftime('%Y-%m-%dT%H:%M:%f+00:00', {begun} + n * 60 + 50, 'unixepoch'),
                   (n * 13) % 40, (n * 7) % 900, (n * 3) % 7, (n * 11) % 60,
                   case n % 10 when 7 then 'missed' when 8 then 'rejected'
                               else 'answered' end, 'Finished',
                   strftime('%Y-%m-%dT%H:%M:%f+00:00', {begun} + n * 60 + 50, 'unixepoch')
              from g""")


async def _purge(retention: Retention) -> tuple[int, float, float]:
    longest, turn, purging = 0.0, time.perf_counter(), True

    async def ticker():
        nonlocal longest, turn
        while purging:
            now = time.perf_counter()
            longest, turn = max(longest, now - turn), now
            await asyncio.sleep(0)
    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    started = time.perf_counter()
    done = await retention.purge(1)
    seconds = time.perf_counter() - started
    purging = False
    await task
    return done["local"], seconds, longest


if __name__ == "__main__":
    standalone(run)
