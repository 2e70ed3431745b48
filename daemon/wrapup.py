"""After a call: wrap-up (F7, F30) and a state asked for "after the call" (F15).

With wrapup.enabled, an answered call's end starts processing: the agent shows Busy
until `cc wrapup done` (or wrapup.timeout), then returns to the state before. A state
asked for `--after-call` starts once no call is up and wrap-up is over.
"""

from __future__ import annotations

import asyncio
import logging

from .infinity import InfinityError
from .wire import ErrorCode, WireError

log = logging.getLogger("cc.wrapup")


class AfterCall:
    def __init__(self, session):
        self.session = session
        self.call = None                      # the call being processed
        self.pending: tuple | None = None     # (name, reason, other, for_seconds)
        self.state_before: int | None = None
        self.on_done = None                   # callback(call), for hooks
        self._timer: asyncio.Task | None = None
        self.closes_at: float | None = None   # wrapup.timeout's end, on the session's clock

    def view(self) -> dict:
        view = {}
        if self.pending:
            view["pending_state"] = self.pending[0]
        if self.call is not None:
            call = self.call
            view["wrapup"] = {"call_id": call.call_id, "log_id": call.log_id,
                              "number": call.number, "since": call.processing_started_at}
            if self.closes_at is not None:
                view["wrapup"]["left"] = round(max(0.0, self.closes_at
                                                   - self.session.clock.time()), 1)
        return view

    def call_ended(self, call, logged_in: bool) -> None:
        session = self.session
        # A consult leg is no call of its own: the caller's call is the one wrapped up.
        if session.settings["wrapup.enabled"] and call.connected_at is not None and \
                logged_in and not call.consult_for:
            session.background(self.start(call))
        elif not session.tracker.active() and self.call is None:
            self.apply_pending()

    def apply_pending(self) -> None:
        if self.pending:
            name, reason, other, for_seconds = self.pending
            self.pending = None
            self.session.background(self.session.set_state(name, reason, other, for_seconds))

    async def start(self, call) -> None:
        session = self.session
        if self.call is not None:
            await self.finish()
        call.processing_started_at = session.clock.time()
        self.call = call
        session.tracker.save(call)
        self.state_before = session.wanted_state or session.states.id("available")
        await self._show(session.states.id("busy"), "show Busy for wrap-up")
        timeout = session.settings["wrapup.timeout"]
        if timeout > 0:
            self.closes_at = call.processing_started_at + timeout
            self._timer = asyncio.create_task(self._timeout(call, timeout))
        session.publish("session", session.view())

    def handover(self) -> dict | None:
        """Wrap-up in progress, for the daemon that starts after `cc daemon restart`."""
        if self.call is None or self.call.log_id is None:
            return None
        now = self.session.clock.time()
        return {"log_id": self.call.log_id, "elapsed": now - self.call.processing_started_at,
                "state_before": self.state_before,
                "left": None if self.closes_at is None else self.closes_at - now}

    def resume(self, given: dict, gone: float = 0.0) -> None:
        """Go on with the wrap-up a restarted daemon left `gone` seconds ago (the agent
        stays Busy)."""
        session = self.session
        call = session.tracker.recall(given["log_id"])
        if call is None:
            log.warning("the call in wrap-up before the restart (%s) is no longer in the log",
                        given["log_id"])
            return
        call.processing_started_at = session.clock.time() - max(0.0, given["elapsed"]) - gone
        self.call, self.state_before = call, given["state_before"]
        if given["left"] is not None:
            left = max(0.0, given["left"] - gone)
            self.closes_at = session.clock.time() + left
            self._timer = asyncio.get_running_loop().create_task(self._timeout(call, left))

    async def _timeout(self, call, seconds: float) -> None:
        await self.session.clock.sleep(seconds)
        self._timer = None
        if self.call is call:
            log.info("wrap-up of call %s closed by its timeout", call.call_id)
            await self.finish()

    async def finish(self) -> dict:
        """`cc wrapup done`: processing ends; the agent's state before wrap-up returns."""
        call, session = self.call, self.session
        if call is None:
            raise self.none_in_wrapup()
        if self._timer and self._timer is not asyncio.current_task():
            self._timer.cancel()
        self._timer = self.closes_at = None
        call.processing_ended_at = session.clock.time()
        self.call = None
        session.tracker.save(call)
        if self.on_done:
            self.on_done(call)
        if self.pending and not session.tracker.active():
            self.apply_pending()
        elif session.logged_in:
            await self._show(self.state_before, "leave Busy after wrap-up")
        session.publish("session", session.view())
        return call.view()

    def none_in_wrapup(self) -> WireError:
        if not self.session.settings["wrapup.enabled"]:
            why = "wrap-up is off (`cc config set wrapup.enabled true` turns it on)"
        else:
            why = "wrap-up starts when a connected call ends"
        return WireError(ErrorCode.STATE_FORBIDS, f"no call is in wrap-up: {why}; nothing "
                         "was closed or hung up")

    async def _show(self, code: int, what: str) -> None:
        try:
            await self.session.client.set_state(self.session.id_user, code)
            await self.session.refresh_state()
        except InfinityError as exc:
            log.warning("could not %s: %s", what, exc)

    def cancel(self) -> None:
        if self._timer and not self._timer.done():
            self._timer.cancel()
        self._timer = self.closes_at = None
