"""The eventsURL listener: the server pushes events to it as HTTP GETs (PROTOCOL.md "Events").

It answers 200 at once and hands each event, parsed into plain values, to a callback.
Anything but the documented event paths gets 404 and a journal line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

EVENT_PATHS = {
    "/user/onstatechanged": "state",
    "/call/oncallcreated": "call_created",
    "/call/oncallstatechanged": "call_state",
    "/call/oncalldeleted": "call_deleted",
}
MAX_QUERY = 2048


@dataclass
class Event:
    kind: str          # one of EVENT_PATHS' values
    params: dict = field(default_factory=dict)

    def int(self, name: str, default: int | None = None) -> int | None:
        try:
            return int(self.params.get(name, ""))
        except ValueError:
            return default


class EventListener:
    def __init__(self, host: str, port: int, on_event, journal=None):
        self.host, self.port = host, port
        self.on_event = on_event
        self.journal = journal
        self._runner: web.AppRunner | None = None

    async def start(self) -> int:
        app = web.Application(client_max_size=4096)
        app.router.add_route("GET", "/{tail:.*}", self._handle)
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

    async def _handle(self, request: web.Request) -> web.Response:
        path = request.path.rstrip("/").lower()
        kind = EVENT_PATHS.get(path)
        params = dict(request.query)
        if kind is None or len(request.query_string) > MAX_QUERY:
            if self.journal:
                self.journal.rejected(request.path, params, "unknown event path"
                                      if kind is None else "query too long")
            return web.Response(status=404 if kind is None else 414, text="not an event\n")
        if self.journal:
            self.journal.event(request.path, params)
        self.on_event(Event(kind, params))
        return web.Response(text="OK")
