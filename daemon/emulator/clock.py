"""Emulated time, and the timers that fire on it.

A scaled clock runs by itself, time_scale times faster than the wall clock, and its
timers are the event loop's. A manual clock stands still until `advance` moves it, and
then fires the timers that fall due, each at its own time: tests hold time in their hands.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from dataclasses import dataclass, field
from typing import Callable, Protocol

from .scenario import MANUAL, SCALED

# Steps like 0.1 do not add up exactly: a timer due this close after an advance's end fires in it.
DUE_SLACK = 1e-4


class Timer(Protocol):
    def cancel(self) -> None: ...


class ScaledClock:
    """Emulated time: starts at the wall clock, then runs time_scale times faster."""

    mode = SCALED

    def __init__(self, time_scale: float):
        self.time_scale = time_scale
        self._wall0 = time.time()
        self._mono0 = time.monotonic()

    def now(self) -> float:
        return self._wall0 + (time.monotonic() - self._mono0) * self.time_scale

    def later(self, seconds: float, fn: Callable, *args) -> Timer:
        """Call fn(*args) once `seconds` emulated seconds have passed."""
        loop = asyncio.get_running_loop()
        return loop.call_later(seconds / self.time_scale, fn, *args)


@dataclass(order=True)
class ManualTimer:
    due: float
    seq: int                                        # same due time: first set, first fired
    fn: Callable = field(compare=False)
    args: tuple = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class ManualClock:
    """Emulated time that starts at the wall clock and moves only when advanced."""

    mode = MANUAL
    time_scale = 0.0        # emulated seconds per real second: it stands still

    def __init__(self):
        self._now = time.time()
        self._due: list[ManualTimer] = []           # a heap, earliest first
        self._seq = itertools.count()

    def now(self) -> float:
        return self._now

    def later(self, seconds: float, fn: Callable, *args) -> Timer:
        """Call fn(*args) when an advance reaches `seconds` emulated seconds from now."""
        timer = ManualTimer(self._now + seconds, next(self._seq), fn, args)
        heapq.heappush(self._due, timer)
        return timer

    def advance(self, seconds: float) -> int:
        """Move forward, firing each timer due on the way at its own time (timers those
        set fire too when they fall in the window); how many fired."""
        until = self._now + seconds
        fired = 0
        while self._due and self._due[0].due <= until + DUE_SLACK:
            timer = heapq.heappop(self._due)
            if timer.cancelled:
                continue
            self._now = max(self._now, timer.due)
            fired += 1
            try:
                timer.fn(*timer.args)
            except Exception as exc:  # as the event loop does: report it and go on
                asyncio.get_running_loop().call_exception_handler(
                    {"message": "an emulator timer failed", "exception": exc})
        self._now = max(self._now, until)
        return fired


Clock = ScaledClock | ManualClock


def make_clock(mode: str, time_scale: float) -> Clock:
    return ManualClock() if mode == MANUAL else ScaledClock(time_scale)
