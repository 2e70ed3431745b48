"""The eventsURL listener: the server pushes events to it as HTTP GETs (docs/infinity.md "Events").

It answers 200 at once and hands each event, parsed into a typed value (`values.py`), to
a callback. Anything else is refused with a 4xx: a path without the secret of
`events.token` when one is set (403), a method other than GET (405), a query longer than
MAX_QUERY (414), a path that is not a documented event (404), an event without the fields
it needs or with a field that is not what it should be (400), more than `max_rate`
requests a second (429). Refusals are journalled at most once a second, with a count, so
a flood can fill neither the disk nor the CPU.

Whoever reaches the port can try to hold it: at most MAX_CONNECTIONS connections are
kept (more are closed at once), each must deliver a whole request within
REQUEST_SECONDS of opening or of its last answer (a slow or idle client is closed), and a
body is never waited for. What goes wrong on a connection (a request that is not HTTP, a
slow client, one over the limit) is counted and logged at most once a minute, never a
traceback per request.
"""

from __future__ import annotations

import asyncio
import collections
import hmac
import logging
import re
import secrets
import time

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from ..clock import WallClock
from ..reach import PROBE
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
MAX_CONNECTIONS = 256      # open at once; a server pushing events needs a few
BACKLOG = 128              # connections the system queues; asyncio accepts that many at once
REQUEST_SECONDS = 5.0      # for a whole request, from the connection's start or last answer
TROUBLE_INTERVAL = 60.0    # seconds (the daemon's clock) between two log lines of trouble
TOKEN = re.compile(r"[A-Za-z0-9._~-]+")     # what a URL path segment carries unescaped


def check_token(token: str) -> str:
    """`events.token` as the listener uses it, or ValueError naming what it may hold."""
    if token and not TOKEN.fullmatch(token):
        raise ValueError("events.token may hold only letters, digits and - . _ ~ (it becomes "
                         "part of the events URL); e.g. `cc config set events.token "
                         "$(openssl rand -hex 16)`")
    return token


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
        way = values.direction(_int(params, "Direction", False))
        # An empty Number announces a call without caller ID; a missing one says nothing.
        number = _text(params, "Number") if "Number" in params else None
        return values.CallCreated(call_id, id_user, ext, values.caller_number(number, way), way,
                                  _text(params, "TransferFrom"), _text(params, "Group"), at,
                                  _text(params, "IDSeance"))
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


class Troubles:
    """What goes wrong on the listener's connections, by kind: the first is logged at
    once, the rest are counted and summed up in one line at most once a minute (on the
    daemon's clock), so a flood leaves a line a minute, never a line (or a traceback) each.
    """

    def __init__(self, clock=None, interval: float = TROUBLE_INTERVAL):
        self.clock = clock or WallClock()
        self.interval = interval
        self.total: collections.Counter = collections.Counter()      # kind -> since start
        self.pending: collections.Counter = collections.Counter()    # kind -> not yet logged
        self.last: dict[str, str] = {}                               # kind -> latest detail
        self.logged_at = float("-inf")
        self._timer: asyncio.Task | None = None

    def note(self, kind: str, detail: str = "") -> None:
        self.total[kind] += 1
        detail = _printable(detail)
        now = self.clock.time()
        if not self.pending and now - self.logged_at >= self.interval:
            self.logged_at = now
            log.warning("event listener: %s%s (more are counted and logged at most once a "
                        "minute)", kind, f": {detail}" if detail else "")
            return
        self.pending[kind] += 1
        self.last[kind] = detail
        if self._timer is None:
            due = self.logged_at + self.interval
            self._timer = asyncio.get_running_loop().create_task(self._flush_at(due))

    async def _flush_at(self, due: float) -> None:
        await self.clock.sleep(max(0.0, due - self.clock.time()))
        self._timer = None
        self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        parts = [f"{kind} x{count:,}" + (f" (last: {self.last[kind]})" if self.last[kind]
                                          else "")
                 for kind, count in self.pending.most_common()]
        log.warning("event listener, since the last line: %s", "; ".join(parts))
        self.pending.clear()
        self.logged_at = self.clock.time()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.flush()


def _printable(text: str, limit: int = 120) -> str:
    """What a client sent, safe for a log line: no control characters, not too long."""
    return re.sub(r"[^\x20-\x7e]", "?", text[:limit])


class _ServerLog:
    """Stands in for aiohttp's server logger: a request that is not HTTP is counted as
    malformed, never logged with a traceback per request."""

    def __init__(self, troubles: Troubles):
        self.troubles = troubles

    def exception(self, msg, *args, exc_info=None, **kwargs) -> None:
        if isinstance(exc_info, HttpProcessingError):
            self.troubles.note("malformed request", str(exc_info.message))
        else:
            self.troubles.note("failure answering a request", repr(exc_info))

    def debug(self, msg, *args, exc_info=None, **kwargs) -> None:
        if isinstance(exc_info, HttpProcessingError):     # not HTTP at all (e.g. TLS)
            self.troubles.note("malformed request", str(exc_info.message))

    def warning(self, msg, *args, **kwargs) -> None:
        log.warning(msg, *args)

    def error(self, msg, *args, **kwargs) -> None:
        log.error(msg, *args)

    def info(self, msg, *args, **kwargs) -> None:
        pass


class _Connection(web.RequestHandler):
    """One client connection: a whole request within REQUEST_SECONDS of its start or of
    the last answer, or it is closed (slowly sent headers count; a body is never read)."""

    __slots__ = ("_deadline", "_heard")

    def connection_made(self, transport) -> None:
        self._deadline: asyncio.TimerHandle | None = None
        self._heard = False       # bytes of a request not answered yet
        super().connection_made(transport)
        manager = self._manager
        if len(manager.connections) > manager.limit:
            manager.troubles.note("connection over the limit closed",
                                  f"{manager.limit} are open already")
            self.force_close()
            return
        self.expect_request()

    def data_received(self, data: bytes) -> None:
        if data:
            self._heard = True
        super().data_received(data)

    def expect_request(self) -> None:
        self.handling()
        self._heard = False
        self._deadline = asyncio.get_running_loop().call_later(REQUEST_SECONDS, self._late)

    def handling(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _late(self) -> None:
        self._deadline = None
        if self._heard:           # an idle keep-alive connection simply ends
            self._manager.troubles.note(
                "slow client dropped", f"no whole request within {REQUEST_SECONDS:g} s")
        self.force_close()

    def connection_lost(self, exc) -> None:
        self.handling()
        super().connection_lost(exc)


class _Server(web.Server):
    """aiohttp's low-level server, serving each connection as a _Connection."""

    def __init__(self, handler, troubles: Troubles, limit: int = MAX_CONNECTIONS, **kwargs):
        super().__init__(handler, logger=_ServerLog(troubles), access_log=None,
                         lingering_time=0, **kwargs)
        self.troubles = troubles
        self.limit = limit

    def __call__(self) -> _Connection:
        return _Connection(self, loop=self._loop, **self._kwargs)


class EventListener:
    def __init__(self, host: str, port: int, on_event, journal=None,
                 max_rate: float | None = MAX_RATE, token: str = "", clock=None,
                 max_connections: int = MAX_CONNECTIONS, now=time.monotonic):
        # `clock` (the daemon's) paces the log lines; `now` the rate bound and the
        # journal's refusal lines, which stay on real time in the daemon.
        self.host, self.port = host, port
        self.on_event = on_event
        self.journal = journal
        self.bucket = TokenBucket(max_rate, now) if max_rate else None
        self.rejections = Rejections(journal, clock=now)
        self.token = check_token(token)
        self.troubles = Troubles(clock)
        self.clock = clock or WallClock()
        self.identity = secrets.token_hex(6)   # tells this listener from another (`cc doctor`)
        self.last_event_at: float | None = None     # the daemon's clock
        self.max_connections = max_connections
        self._failed_at = float("-inf")   # when a failing callback was last logged
        self._runner: web.ServerRunner | None = None

    async def start(self) -> int:
        server = _Server(self._serve, self.troubles, self.max_connections)
        self._runner = web.ServerRunner(server)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, backlog=BACKLOG)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.rejections.close()
        self.troubles.close()

    def _refuse(self, path: str, status: int, why: str, params=None,
                **headers) -> web.Response:
        self.rejections.note(path, params or {}, f"{status} {why}")
        return web.Response(status=status, text=f"{why}\n", headers=headers)

    async def _serve(self, request: web.BaseRequest) -> web.Response:
        connection = request.protocol
        connection.handling()
        try:
            return self._handle(request)
        finally:
            connection.expect_request()

    def _without_token(self, path: str) -> str | None:
        """The path after the token segment; None when it does not carry the token."""
        if not self.token:
            return path
        segment, _, rest = path[1:].partition("/")
        if not hmac.compare_digest(segment.encode(), self.token.encode()):
            return None
        return "/" + rest

    def _handle(self, request: web.BaseRequest) -> web.Response:
        path = self._without_token(request.path)
        if path is None:
            return self._refuse(request.path, 403, "wrong or missing events.token in the path")
        if self.bucket is not None and not self.bucket.take():
            return self._refuse(path, 429, f"over {self.bucket.rate:g} events a second",
                                **{"Retry-After": "1"})
        if request.method != "GET":
            return self._refuse(path, 405, f"method {request.method[:20]} (events are GETs)",
                                Allow="GET")
        if len(request.query_string) > MAX_QUERY:
            return self._refuse(path, 414, f"query longer than {MAX_QUERY} characters")
        if path == PROBE:
            return web.Response(text=f"cc event listener {self.identity}\n")
        kind = EVENT_PATHS.get(path.rstrip("/").lower())
        params = dict(request.query)
        if kind is None:
            return self._refuse(path, 404, "unknown event path", params)
        if self.journal:
            self.journal.event(path, params)
        try:
            event = parse_event(kind, params, time.monotonic())
        except MalformedEvent as exc:
            return self._refuse(path, 400, f"malformed event: {exc}", params)
        self.last_event_at = self.clock.time()
        if self.on_event is None:      # listening already, the daemon's parts still starting
            return web.Response(text="OK")
        try:
            self.on_event(event)
        except Exception:   # a bug must not turn an event into a 500 storm for the server
            now = time.monotonic()
            if now - self._failed_at >= REJECTION_INTERVAL:
                self._failed_at = now
                log.exception("handling %s failed", path)
        return web.Response(text="OK")
