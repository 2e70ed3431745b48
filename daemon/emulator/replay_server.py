"""The HTTP side of a replay (`replay.py` decides what each request gets): the methods
answered from the journal, its events pushed, and the admin endpoints a replay has."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from .admin import ADMIN_PREFIX
from .admin_endpoints import events_url
from .calls import ApiError
from .clock import make_clock
from .events import EventPusher, log
from .methods import json_body
from .params import float_param, normalize_path
from .replay import Event, Replay, iso
from .scenario import MANUAL
from .server import Emulator, Served


@dataclass
class Due:
    at: float                    # emulated epoch seconds
    event: Event


class Replayer(Served):
    """A server that answers as the journal says (the emulator's `--replay`)."""

    def __init__(self, replay: Replay, clock_mode: str, time_scale: float):
        self.replay = replay
        self.clock = make_clock(clock_mode, time_scale)
        self.pusher = EventPusher(lambda: False)
        self.due: list[Due] = []          # released, not pushed yet, in the journal's order
        self.waiting: list[Event] = []    # due while nobody was subscribed
        self.pushed = 0
        self.table = {"subscribe": self.subscribe, "unsubscribe": self.unsubscribe,
                      "clock": self.clock_now, "advance": self.advance,
                      "replay": self.status}

    async def start(self) -> None:
        await self.pusher.start()
        replay = self.replay
        log(f"replaying {replay.path}: {len(replay.requests)} requests, "
            f"{len(replay.events)} events")
        cut = sum(r.failure == "truncated" for r in replay.requests)
        if cut:
            log(f"replay: {cut} answers were too long for the journal (over 1 MB) and are "
                "replayed as no answer")
        if replay.skipped:
            log(f"replay: {replay.skipped} events left out: their path is not an event's")

    async def close(self) -> None:
        await self.pusher.close()

    # ----- the methods -----------------------------------------------------------------

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        path = normalize_path(request.path)
        if path.startswith(ADMIN_PREFIX):
            return await self.dispatch_admin(path, request)
        outcome = self.replay.answer(path, dict(request.query))
        if outcome.refusal is not None:
            log(f"replay: {outcome.refusal}")
            body = json_body({"result": {"ErrorMessage": outcome.refusal}})
            return Emulator._response(406, body, "application/json")
        for wait, event in self.replay.released(outcome.recorded):
            self.due.append(Due(self.clock.now() + wait, event))
            self.clock.later(wait, self._release, event)
        if outcome.drop:
            return Emulator.drop_connection(request)
        return Emulator._response(outcome.status, outcome.body, outcome.content_type)

    def _release(self, event: Event) -> None:
        """Push every released event up to `event`, in the journal's order."""
        while self.due and event in (d.event for d in self.due):
            self._push(self.due.pop(0).event)

    def _push(self, event: Event) -> None:
        if not self.pusher.subscribers:
            self.waiting.append(event)
            return
        self.pushed += 1
        self.replay.pushed(event)
        self.pusher.emit(event.path, event.params)

    # ----- the admin endpoints ---------------------------------------------------------

    async def dispatch_admin(self, path: str, request: web.Request) -> web.Response:
        name = path[len(ADMIN_PREFIX):].strip("/")
        handler = self.table.get(name)
        if handler is None:
            def handler(query):
                raise ApiError(f"{path} is not served while replaying a journal (the "
                               f"journal plays the server; known: "
                               f"{', '.join(sorted(self.table))})")
        return await self.admin_answer(handler, request)

    def subscribe(self, q) -> dict:
        url = events_url(q)
        self.pusher.subscribe(url)
        waiting, self.waiting = self.waiting, []
        for event in waiting:
            self._push(event)
        return {"Subscribed": url}

    def unsubscribe(self, q) -> dict:
        url = events_url(q)
        self.pusher.unsubscribe(url)
        return {"Unsubscribed": url}

    def clock_now(self, q) -> dict:
        return {"Now": self.clock.now(), "TimeScale": self.clock.time_scale,
                "Mode": self.clock.mode}

    async def advance(self, q) -> dict:
        if self.clock.mode != MANUAL:
            raise ApiError("The clock is scaled and runs by itself: only a manual clock is "
                           "advanced (start the emulator with --manual-clock)")
        fired = self.clock.advance(float_param(q, "Seconds", above_zero=True))
        now = self.clock.now()
        await self.pusher.flush()
        return {"Now": now, "Fired": fired}

    def status(self, q) -> dict:
        """Where the replay stands: a test moves the clock to the events it waits for."""
        replay = self.replay
        expected = replay.expecting()
        return {
            "Journal": str(replay.path), "Requests": len(replay.requests),
            "Answered": replay.answered, "Refused": replay.refused,
            "Used": sum(r.used for r in replay.requests),
            "Next": expected.shown() if expected is not None else None,
            "Events": len(replay.events), "Pushed": self.pushed,
            "Released": replay.next_event, "Waiting": len(self.waiting),
            "Due": [{"Path": d.event.path, "At": d.at, "Recorded": iso(d.event.at)}
                    for d in self.due],
        }
