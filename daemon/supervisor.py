"""The daemon's long-lived loops (polling, reconnecting, writing the call log, the
colleagues' states), kept running: a loop that fails is logged (its traceback once per
distinct error), counted, and started again after a pause that doubles up to a minute
(and starts from a second again once the loop has run well for a minute).
`cc status` and `cc doctor` show every failure, so none goes unnoticed.

A loop handles the failures it expects (the server refusing, the network down) itself;
what reaches the supervisor is a bug, or a fault nobody foresaw.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Awaitable, Callable

log = logging.getLogger("cc.supervisor")
PAUSE_CAP = 60.0        # seconds between restarts of a loop that keeps failing


class MadeToFail(Exception):
    """A failure a test asked for (the daemon's test-only `fail_task` command)."""


@dataclass
class Watched:
    name: str
    make: Callable[[], Awaitable[None]]
    task: asyncio.Task | None = None
    looping: bool = False                    # in the loop (not pausing after a failure)
    failures: int = 0
    in_a_row: int = 0                        # failures with less than PAUSE_CAP between them
    last_error: str | None = None
    failed_at: str | None = None           # ISO time of the last failure
    told: set[str] = field(default_factory=set)
    sabotaged: bool = False

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def view(self) -> dict:
        return {"name": self.name, "running": self.running, "failures": self.failures,
                "last_error": self.last_error, "failed_at": self.failed_at}


class Supervisor:
    def __init__(self, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 now: Callable[[], float] = time.monotonic):
        self.sleep, self.now = sleep, now      # the daemon's clock: a manual one in tests
        self.watched: dict[str, Watched] = {}

    def keep(self, name: str, make: Callable[[], Awaitable[None]]) -> None:
        """Run the loop `make()` as `name`, unless it runs already; restart it if it fails.
        A loop that returns has ended by design (the session it served is gone)."""
        watched = self.watched.get(name)
        if watched is not None and watched.running:
            return
        if watched is None:
            watched = self.watched[name] = Watched(name, make)
        watched.make = make
        watched.task = asyncio.get_running_loop().create_task(self._keep(watched))

    def stop(self, name: str) -> None:
        watched = self.watched.get(name)
        if watched is not None and watched.running:
            watched.task.cancel()
            watched.task = None      # it ends by itself; `keep` may start a new one now

    def fail(self, name: str) -> bool:
        """Tests only: make the running loop `name` fail now, as a bug would."""
        watched = self.watched.get(name)
        if watched is None or not watched.running or not watched.looping:
            return False
        watched.sabotaged = True
        watched.task.cancel()
        return True

    def failures(self) -> list[dict]:
        """The loops that failed at least once, for `cc status` and `cc doctor`."""
        return [w.view() for w in self.watched.values() if w.failures]

    def names(self) -> list[str]:
        return [name for name, w in self.watched.items() if w.running]

    async def close(self) -> None:
        tasks = [w.task for w in self.watched.values() if w.running]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _keep(self, watched: Watched) -> None:
        while True:
            watched.looping, began = True, self.now()
            try:
                await watched.make()
                return
            except asyncio.CancelledError as exc:
                task = asyncio.current_task()
                if watched.sabotaged:
                    task.uncancel()
                    watched.sabotaged = False
                    error: BaseException = MadeToFail("made to fail on purpose (a test)")
                elif task.cancelling():     # stopped: the loop itself was cancelled
                    raise
                else:       # work it awaited was cancelled by someone else: a failure
                    error = exc
            except Exception as exc:        # noqa: BLE001 - what a loop did not expect
                error = exc
            finally:
                watched.looping = False
            await self.sleep(self._failed(watched, error, self.now() - began))

    def _failed(self, watched: Watched, error: BaseException, ran: float) -> float:
        watched.failures += 1
        # A loop that ran well for a while starts over from the shortest pause.
        watched.in_a_row = 1 if ran >= PAUSE_CAP else watched.in_a_row + 1
        watched.last_error = f"{type(error).__name__}: {error}"
        watched.failed_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        pause = min(PAUSE_CAP, 2.0 ** (watched.in_a_row - 1))
        first = watched.last_error not in watched.told
        if len(watched.told) >= 32:      # errors that differ every time: tell them anew
            watched.told.clear()
        watched.told.add(watched.last_error)
        log.error("background task %s failed (%d time(s)): %s; restarting it in %g s",
                  watched.name, watched.failures, watched.last_error, pause,
                  exc_info=error if first else None)
        return pause
