"""Emulated time, and the timers that fire on it."""

from __future__ import annotations

import asyncio
import time
from typing import Callable, Protocol


class Timer(Protocol):
    def cancel(self) -> None: ...


class ScaledClock:
    """Emulated time: starts at the wall clock, then runs time_scale times faster."""

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
