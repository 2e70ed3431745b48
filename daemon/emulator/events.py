"""Pushing events to subscribers, as a server pushes them to its eventsURL."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import quote, urlencode

import aiohttp
from yarl import URL

EVENT_TIMEOUT = 5.0               # real seconds for one event delivery


def log(message: str) -> None:
    print(f"emulator: {message}", file=sys.stderr, flush=True)


@dataclass
class Subscriber:
    url: str
    # Event URLs, and futures that flush() waits on, in the order they were queued.
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)
    worker: asyncio.Task | None = None


class EventPusher:
    """Pushes events as HTTP GETs: one queue and worker per subscriber, so each gets
    its events in order and a slow or dead subscriber delays nobody else."""

    def __init__(self, network_down: Callable[[], bool]):
        self.network_down = network_down
        self.subscribers: dict[str, Subscriber] = {}
        self.session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=EVENT_TIMEOUT))

    async def close(self) -> None:
        for sub in self.subscribers.values():
            if sub.worker is not None:
                sub.worker.cancel()
        await asyncio.gather(*(s.worker for s in self.subscribers.values() if s.worker), return_exceptions=True)
        self.subscribers.clear()
        if self.session is not None:
            await self.session.close()

    def subscribe(self, url: str) -> None:
        if url not in self.subscribers:
            sub = Subscriber(url)
            sub.worker = asyncio.get_running_loop().create_task(self._deliver(sub))
            self.subscribers[url] = sub

    def unsubscribe(self, url: str) -> None:
        sub = self.subscribers.pop(url, None)
        if sub is not None and sub.worker is not None:
            sub.worker.cancel()

    def emit(self, path: str, params: dict) -> None:
        query = urlencode({k: str(v) for k, v in params.items()}, quote_via=quote)
        if self.network_down():
            log(f"network down, event lost: {path}?{query}")
            return
        for sub in self.subscribers.values():
            sub.queue.put_nowait(f"{sub.url.rstrip('/')}{path}?{query}")

    async def flush(self) -> None:
        """Return once every event emitted so far has been delivered or dropped."""
        waits = []
        for sub in self.subscribers.values():
            reached = asyncio.get_running_loop().create_future()
            sub.queue.put_nowait(reached)
            # A subscriber that goes away meanwhile has nothing left to deliver.
            waits.append(asyncio.wait([reached, sub.worker], return_when=asyncio.FIRST_COMPLETED))
        await asyncio.gather(*waits)

    async def _deliver(self, sub: Subscriber) -> None:
        while True:
            target = await sub.queue.get()
            if isinstance(target, asyncio.Future):
                if not target.done():
                    target.set_result(None)
                continue
            if self.network_down():
                log(f"network down, event lost: {target}")
                continue
            try:
                async with self.session.get(URL(target, encoded=True)) as resp:
                    await resp.read()
                    if resp.status >= 400:
                        log(f"event {target} answered HTTP {resp.status} (not retried)")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any delivery failure: drop it, never retry
                log(f"event {target} dropped: {exc.__class__.__name__}: {exc}")
