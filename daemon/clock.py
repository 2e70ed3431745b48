"""The clock of the daemon's own timers: polling, reconnect backoff, `away --for`, the
wrap-up and consult timeouts, `dial --wait --timeout`.

In production it is the wall clock. Tests start a daemon with CC_TEST_CLOCK=manual (or
manual+SECONDS, a clock that starts that far ahead of the wall clock): its
timers then stand still until the `clock_advance` request moves them, together with the
emulator's manual clock, so a test moves time instead of racing it. The order of the
server's news is judged on the real monotonic clock either way (calls.py).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import os
import time

log = logging.getLogger("cc.clock")
ENV = "CC_TEST_CLOCK"
SETTLE = 5.0        # real seconds a woken timer's task may take to sleep again or finish


class WallClock:
    manual = False

    def time(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    async def within(self, awaitable, seconds: float) -> bool:
        """True when `awaitable` completes within `seconds`; it is cancelled otherwise."""
        try:
            await asyncio.wait_for(awaitable, seconds)
            return True
        except asyncio.TimeoutError:
            return False


class ManualClock(WallClock):
    """Stands still until advanced; a timer due in the window fires at its due time."""

    manual = True

    def __init__(self, start: float | None = None):
        self._time = time.time() if start is None else start
        self._elapsed = 0.0
        self._order = itertools.count()
        self._sleepers: list = []      # heap of (due, order, future, task)

    def time(self) -> float:
        return self._time

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._elapsed + seconds, next(self._order), future,
                                        asyncio.current_task()))
        try:
            await future
        finally:
            future.cancel()            # a cancelled sleeper is skipped when it falls due

    async def within(self, awaitable, seconds: float) -> bool:
        work = asyncio.ensure_future(awaitable)
        if seconds <= 0:
            await asyncio.sleep(0)
        else:
            # The waiting task itself is the sleeper: `advance` lets it finish what follows
            # the timeout (or sleep again) before it moves on, as after a plain `sleep`.
            timer = asyncio.get_running_loop().create_future()
            heapq.heappush(self._sleepers, (self._elapsed + seconds, next(self._order), timer,
                                            asyncio.current_task()))
            try:
                await asyncio.wait({work, timer}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                timer.cancel()
        if work.done():
            return True
        work.cancel()
        return False

    async def advance(self, seconds: float) -> int:
        """Move the clock on; each timer due fires in order and its task is given time to
        finish or sleep again before the next. The number of timers fired."""
        target, fired = self._elapsed + seconds, 0
        while self._sleepers and self._sleepers[0][0] <= target:
            due, _, future, task = heapq.heappop(self._sleepers)
            if future.done():
                continue
            self._move_to(due)
            future.set_result(None)
            fired += 1
            await self._settled(task)
        self._move_to(target)
        return fired

    def _move_to(self, elapsed: float) -> None:
        self._time += elapsed - self._elapsed
        self._elapsed = elapsed

    async def _settled(self, task) -> None:
        deadline = time.monotonic() + SETTLE
        await asyncio.sleep(0)
        while not task.done() and not self._asleep(task) and time.monotonic() < deadline:
            await asyncio.sleep(0.002)

    def _asleep(self, task) -> bool:
        return any(t is task and not f.done() for _, _, f, t in self._sleepers)


def from_environment() -> WallClock:
    """CC_TEST_CLOCK=manual: a manual clock from the wall clock's time; manual+SECONDS: from
    that far ahead of it, as for a daemon started again after a time away."""
    mode, _, ahead = os.environ.get(ENV, "").partition("+")
    if mode == "manual":
        log.warning("%s=manual: the daemon's timers move only when a test advances them",
                    ENV)
        try:
            start = time.time() + float(ahead or 0)
        except ValueError:
            log.warning("%s: ignored %r after manual+, not seconds", ENV, ahead)
            start = None
        return ManualClock(start)
    return WallClock()
