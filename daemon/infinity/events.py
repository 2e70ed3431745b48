"""The eventsURL listener: the server pushes events to it as HTTP GETs (docs/infinity.md "Events").

It answers 200 at once and hands each event, parsed into a typed value (`values.py`), to
a callback. Anything else is refused with a 4xx: a method other than GET (405), a query
longer than MAX_QUERY (414), a path that is not a documented event (404), an event
without the fields it needs or with a field that is not what it should be (400), more
than `max_rate` requests a second (429). Refusals are journalled at most once a second,
with a count, so a flood can fill neither the disk nor the CPU.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time

from aiohttp import web

from . import values
from .answers import MAX_ID, clean_id

log = logging.getLogger("cc.events")

EVENT_PATHS = {
    "/user/onstatechanged": "state",
    "/call/oncallcreated": "call_created",
    "/call/oncallstatechanged": "call_state",
    "/call/oncalldeleted": "call_deleted",
    "/user/onrestartrequired": "restart",     # [ours]: the server asks clients to restart (F4)
}
MAX_QUERY = 2048
MAX_TEXT = 128             # a number, an extension or a reason longer than this is not one
MAX_RATE = 20_000          # events a second; a real server sends a few hundred at most
REJECTION_INTERVAL = 1.0   # seconds between two journal lines about refused requests


class MalformedEvent(ValueError):
    """An event the daemon cannot use; the message names the field."""


def _int(params: dict, name: str, required: bool = True) -> int | None:
    text = params.get(name, "").strip()
    if not text:
        if required:
            raise MalformedEvent(f"{name} is missing")
        return None
    if not text.isdigit() or len(text) > MAX_ID:
        raise MalformedEvent(f"{name} is not a number")
    return int(text)


def _text(params: dict, name: str) -> str:
    text = params.get(name, "").strip()
    if len(text) > MAX_TEXT:
        raise MalformedEvent(f"{name} is longer than {MAX_TEXT} characters")
    return text


def _call_id(params: dict) -> str:
    try:
        return clean_id(params.get("IDCall", ""), "IDCall")
    except ValueError as exc:
        raise MalformedEvent(str(exc)) from None


def parse_event(kind: str, params: dict, at: float) -> values.ServerEvent:
    """The typed event of a pushed request (`kind` from EVENT_PATHS), or MalformedEvent."""
    if kind == "restart":
        return values.RestartRequested(_text(params, "Reason"), at)
    if kind == "state":
        return values.AgentStateChanged(_int(params, "IDUser"), _text(params, "Extension"),
                                        _int(params, "IDUserState"), at)
    call_id, id_user, ext = _call_id(params), _int(params, "IDUser", False), \
        _text(params, "Extension")
    if kind == "call_created":
        return values.CallCreated(call_id, id_user, ext, _text(params, "Number"),
                                  values.direction(_int(params, "Direction", False)),
                                  _text(params, "TransferFrom"), _text(params, "Group"), at)
    if kind == "call_state":
        return values.CallStateChanged(call_id, id_user, ext, _int(params, "State"),
                                       _text(params, "Reason"), at)
    return values.CallDeleted(call_id, id_user, ext, at)


class TokenBucket:
    """At most `rate` takes a second on average, bursts up to one second's worth; no sleeping."""

    def __init__(self, rate: float, clock=time.monotonic):
        self.rate = rate
        self.clock = clock
        self.tokens = float(rate)
        self.filled_at = clock()

    def take(self) -> bool:
        now = self.clock()
        self.tokens = min(self.rate, self.tokens + (now - self.filled_at) * self.rate)
        self.filled_at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class Rejections:
    """Journals refused requests: the first at once, the rest summed up in one line a second."""

    def __init__(self, journal, interval: float = REJECTION_INTERVAL, clock=time.monotonic):
        self.journal = journal
        self.interval = interval
        self.clock = clock
        self.written_at = float("-inf")
        self.pending: collections.Counter = collections.Counter()   # why -> refused count
        self.last_path = ""
        self._timer: asyncio.TimerHandle | None = None

    def note(self, path: str, params: dict, why: str) -> None:
        if self.journal is None:
            return
        now = self.clock()
        if not self.pending and now - self.written_at >= self.interval:
            self.journal.rejected(path, params, why)
            self.written_at = now
            return
        self.pending[why] += 1
        self.last_path = path
        if self._timer is None:
            delay = max(0.0, self.written_at + self.interval - now)
            self._timer = asyncio.get_running_loop().call_later(delay, self.flush)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self.pending:
            return
        total = sum(self.pending.values())
        reasons = "; ".join(f"{why} x{count}" for why, count in self.pending.most_common(5))
        self.journal.rejected(self.last_path, {}, f"{total} more refused: {reasons}",
                              count=total)
        self.pending.clear()
        self.written_at = self.clock()

    def close(self) -> None:
        self.flush()


class EventListener:
    def __init__(self, host: str, port: int, on_event, journal=None,
                 max_rate: float | None = MAX_RATE):
        self.host, self.port = host, port
        self.on_event = on_event
        self.journal = journal
        self.bucket = TokenBucket(max_rate) if max_rate else None
        self.rejections = Rejections(journal)
        self._failed_at = float("-inf")   # when a failing callback was last logged
        self._runner: web.AppRunner | None = None

    async def start(self) -> int:
        app = web.Application(client_max_size=4096)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.rejections.close()

    def _refuse(self, request: web.Request, status: int, why: str, params=None,
                **headers) -> web.Response:
        self.rejections.note(request.path, params or {}, f"{status} {why}")
        return web.Response(status=status, text=f"{why}\n", headers=headers)

    async def _handle(self, request: web.Request) -> web.Response:
        if self.bucket is not None and not self.bucket.take():
            return self._refuse(request, 429, f"over {self.bucket.rate:g} events a second",
                                **{"Retry-After": "1"})
        if request.method != "GET":
            return self._refuse(request, 405, f"method {request.method[:20]} (events are GETs)",
                                Allow="GET")
        if len(request.query_string) > MAX_QUERY:
            return self._refuse(request, 414, f"query longer than {MAX_QUERY} characters")
        path = request.path.rstrip("/").lower()
        kind = EVENT_PATHS.get(path)
        params = dict(request.query)
        if kind is None:
            return self._refuse(request, 404, "unknown event path", params)
        if self.journal:
            self.journal.event(request.path, params)
        try:
            event = parse_event(kind, params, time.monotonic())
        except MalformedEvent as exc:
            return self._refuse(request, 400, f"malformed event: {exc}", params)
        if self.on_event is None:      # listening already, the daemon's parts still starting
            return web.Response(text="OK")
        try:
            self.on_event(event)
        except Exception:   # a bug must not turn an event into a 500 storm for the server
            now = time.monotonic()
            if now - self._failed_at >= REJECTION_INTERVAL:
                self._failed_at = now
                log.exception("handling %s failed", request.path)
        return web.Response(text="OK")
