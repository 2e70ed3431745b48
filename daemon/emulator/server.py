"""The HTTP side of the emulator: request dispatch, answer formatting, faults, serving.

One aiohttp application answers both the Infinity methods (`methods.py`, docs/infinity.md)
and the emulator's own admin endpoints under /_emulator/ (`admin_endpoints.py`). Admin
endpoints are never affected by injected faults or network drops, so tests can always
steer the emulator.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import signal

from aiohttp import web

from .admin import ADMIN_PREFIX
from .admin_endpoints import AdminEndpoints
from .calls import ApiError
from .clock import make_clock
from .events import EventPusher, log
from .faults import HTTP500_BODY, MALFORMED_BODY, Fault, Faults, Network, with_extra_fields
from .methods import Answer, Methods, json_body
from .model import Model
from .params import normalize_path
from .scenario import MANUAL, Scenario


class Served:
    """What the emulator and a journal's replay (replay_server.py) serve alike: one
    aiohttp route to `dispatch`, the time scale of their clock, an admin endpoint's
    answer. Each has its own `clock` and `dispatch`."""

    @property
    def time_scale(self) -> float:
        return self.clock.time_scale

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self.dispatch)
        return app

    @staticmethod
    async def admin_answer(handler, request: web.Request) -> web.Response:
        """An admin endpoint's result (awaited if it must be), or 406 with its ApiError."""
        try:
            payload, status = handler(request.query), 200
            if inspect.isawaitable(payload):
                payload = await payload
        except ApiError as exc:
            payload, status = {"ErrorMessage": exc.message, **exc.extra}, 406
        return Emulator._response(status, json_body({"result": payload}), "application/json")


class Emulator(Served):
    def __init__(self, scenario: Scenario, time_scale: float | None = None):
        self.scenario = scenario
        self.clock = make_clock(scenario.clock, time_scale if time_scale is not None else scenario.time_scale)
        self.network = Network(self.clock)
        self.pusher = EventPusher(self.network.down)
        self.model = Model(scenario, self.clock, self.pusher.emit)
        self.faults = Faults()
        self.methods = Methods(self.model)
        self.admin = AdminEndpoints(self)

    async def start(self) -> None:
        await self.pusher.start()
        # As a real server takes its eventsURL from its configuration.
        for url in self.scenario.events_urls:
            self.pusher.subscribe(url)
            log(f"pushing events to {url} (the scenario's events_url)")

    async def close(self) -> None:
        self.model.shutdown()
        await self.pusher.close()

    # ----- request dispatch ----------------------------------------------------------

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        path = normalize_path(request.path)
        if path.startswith(ADMIN_PREFIX):
            return await self.dispatch_admin(path, request)
        if self.network.down():
            return self.drop_connection(request)
        handler = self.methods.table.get(path)
        if handler is None:
            answer = Answer(404, body=f"Unknown method {path}".encode(), content_type="text/plain")
        else:
            try:
                produced = handler(request.query)
                answer = produced if isinstance(produced, Answer) else Answer(result=produced)
            except ApiError as exc:
                answer = Answer(406, result={"ErrorMessage": exc.message, **exc.extra})
        fault = self.faults.take(path)
        if fault is not None:
            return await self.faulty(answer, fault)
        return self.respond(answer)

    async def dispatch_admin(self, path: str, request: web.Request) -> web.Response:
        name = path[len(ADMIN_PREFIX):].strip("/")
        handler = self.admin.table.get(name)
        if handler is None:
            known = ", ".join(sorted(self.admin.table))
            payload = {"ErrorMessage": f"Unknown admin endpoint {path} (known: {known})"}
            return self._response(404, json_body({"result": payload}), "application/json")
        return await self.admin_answer(handler, request)

    def respond(self, answer: Answer) -> web.Response:
        if answer.result is not None:
            body = json_body({"result": answer.result}, raw=self.scenario.raw_answers)
        else:
            body = answer.body or b""
        return self._response(answer.status, body, answer.content_type)

    @staticmethod
    def _response(status: int, body: bytes, content_type: str) -> web.Response:
        charset = "utf-8" if content_type.startswith(("application/json", "text/")) else None
        return web.Response(status=status, body=body, content_type=content_type, charset=charset)

    @staticmethod
    def drop_connection(request: web.Request) -> web.Response:
        # Close the socket with no answer at all, as an unreachable server would.
        # aiohttp then fails to write the response below and lets it go quietly.
        if request.transport is not None:
            request.transport.close()
        return web.Response(status=503)

    async def faulty(self, answer: Answer, fault: Fault) -> web.Response:
        # The method has already run: a broken answer does not mean nothing happened.
        if fault.kind == "http500":
            return self._response(500, HTTP500_BODY.encode(), "text/html")
        if fault.kind == "malformed":
            return self._response(200, MALFORMED_BODY, "application/json")
        if fault.kind == "truncated":
            full = self.respond(answer).body
            return self._response(answer.status, full[: len(full) // 2], answer.content_type)
        if fault.kind == "slow":
            await asyncio.sleep(fault.delay)
        elif fault.kind == "unknown-state" and answer.result and "IDUserState" in answer.result:
            answer.result = {**answer.result, "IDUserState": 777}
        elif fault.kind == "extra-fields" and answer.result is not None:
            answer.result = with_extra_fields(answer.result)
        return self.respond(answer)


# ----- serving -------------------------------------------------------------------


def write_port_file(path: str, port: int) -> None:
    """Write the port atomically, so a reader never sees a half-written file."""
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="ascii") as out:
        out.write(f"{port}\n")
    os.replace(tmp, path)


async def serve(scenario: Scenario | None, host: str, port: int, time_scale: float | None,
                port_file: str | None, replayer=None) -> None:
    """Serve the scenario, or with `replayer` (replay_server.Replayer) a journal."""
    emulator = replayer or Emulator(scenario, time_scale)
    await emulator.start()
    runner = web.AppRunner(emulator.app(), access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as exc:
            raise OSError(
                f"cannot listen on {host}:{port}: {exc.strerror or exc} "
                "(choose another --host or --port; --port 0 picks a free port)"
            ) from None
        actual_port = runner.addresses[0][1]
        if port_file:
            try:
                write_port_file(port_file, actual_port)
            except OSError as exc:
                raise OSError(
                    f"cannot write the port file {port_file}: {exc.strerror or exc} "
                    "(check that its directory exists and is writable)"
                ) from None
        clock = "manual clock" if emulator.clock.mode == MANUAL else f"time scale {emulator.time_scale:g}"
        print(f"emulator listening on http://{host}:{actual_port} ({clock})", flush=True)

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(signum, stop.set)
            except (NotImplementedError, RuntimeError):
                pass  # no signal handlers here (Windows): Ctrl-C still ends asyncio.run
        await stop.wait()
    finally:
        await emulator.close()
        await runner.cleanup()
