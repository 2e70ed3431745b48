"""Polling: the source of truth when push events are late or lost (docs/infinity.md
"Robustness"). Every `server.poll_interval` the agent's state and active calls are asked
for and reconciled with the call tracker; answered calls get the server's own figures.

An event about a call the daemon does not know makes a poll due at once (`due`): only
the server's list turns a call into a record. Such polls are coalesced: one that finds no
new call spends the early poll until the next regular one, so a flood of forged events
costs the server one extra poll, not one each.
"""

from __future__ import annotations

import asyncio
import logging

from .infinity import InfinityError, Unreachable

log = logging.getLogger("cc.poller")
MAX_ASKED = 256     # unknown calls remembered while an early poll runs


class SessionGone(Exception):
    """The server no longer knows the agent's session (it restarted, or logged us off)."""


class Poller:
    def __init__(self, session):
        self.session = session
        self.client = session.client
        self.tracker = session.tracker
        self._orphans_done = False
        self._lock = asyncio.Lock()
        self._early: asyncio.Task | None = None
        self._asked: set[str] = set()   # unknown calls named since the early poll began
        self._spent = False        # an early poll found nothing new since the last regular one

    def start(self) -> None:
        self._spent = False
        self.session.supervisor.keep("poller", self._loop)

    def stop(self) -> None:
        self.session.supervisor.stop("poller")
        if self._early is not None:
            self._early.cancel()
            self._early = None

    def due(self, call_id: str) -> None:
        """Poll now: an event named a call the daemon does not know yet."""
        if not self.session.logged_in or self._spent:
            return
        if len(self._asked) < MAX_ASKED:
            self._asked.add(call_id)
        if self._early is None:
            self._early = asyncio.get_running_loop().create_task(self._poll_early())

    async def _poll_early(self) -> None:
        try:
            while self._asked:
                asked, self._asked = self._asked, set()
                try:
                    await self.once()
                except (InfinityError, SessionGone) as exc:    # the regular poll will see
                    log.info("early poll failed: %s", exc)
                except Exception:       # a bug: said, and the regular poll goes on
                    log.exception("early poll failed")
                known = self.tracker.calls
                if not any(call_id in known for call_id in asked):
                    self._spent = True
                    self._asked.clear()
                    return
                self._asked = {call_id for call_id in self._asked if call_id not in known}
        finally:
            self._early = None

    async def _loop(self) -> None:
        session = self.session
        while session.logged_in:
            await session.clock.sleep(session.settings["server.poll_interval"])
            self._spent = False
            try:
                await self.once()
            except Unreachable as exc:
                session.lost(str(exc))
                return
            except SessionGone as exc:
                session.lost(f"the server no longer knows the session: {exc}")
                return
            except InfinityError as exc:
                if exc.not_found:     # the server forgot us (restart): log on again
                    session.lost(f"the server no longer knows the session: {exc}")
                    return
                log.warning("poll failed: %s", exc)
            # Anything else is a bug: the supervisor logs it and starts polling again.

    async def once(self) -> None:
        async with self._lock:       # an early poll and a regular one never interleave
            await self._poll()

    async def _poll(self) -> None:
        session = self.session
        code = await self.client.get_state(session.id_user)
        if code == session.states.id("offline"):
            raise SessionGone("it shows the agent logged off")
        session.state_changed(code)
        asked_at = self.tracker.clock()
        active = await self.client.active_calls(session.id_user)
        for row in active:
            self.tracker.confirm(row.call_id)
            new = row.call_id not in self.tracker.calls
            call = self.tracker.seen(row.call_id, row.direction, row.number, row.state,
                                     row.reason, at=asked_at)
            if new:
                self.tracker.arrived(call, seance=row.seance)
        present = {row.call_id for row in active}
        self.tracker.vanished(present, asked_at)
        if not self._orphans_done:
            self._orphans_done = True
            self.tracker.finish_orphans(present)
        self.tracker.forget_finished()
        for call in self.tracker.active():
            if call.connected_at is not None:
                await self.figures(call, final=False)

    async def figures(self, call, final: bool = True) -> None:
        """The server's own durations of a call: refreshed while it lasts, final at its end."""
        try:
            records = await self.client.connections(call.call_id)
        except InfinityError as exc:
            if final:
                log.warning("no server figures for call %s (%s); keeping local ones",
                            call.call_id, exc)
            return
        # A transferred call has a connection per agent it reached: this agent's figures
        # are those of their own (all of them when the server names nobody).
        session = self.session
        records = [r for r in records if r.has(session.id_user, session.extension)] or records
        if not records:
            return
        self.tracker.apply_server_figures(call, {
            "wait_seconds": min(r.wait_seconds for r in records),
            "talk_seconds": sum(r.talk_seconds for r in records),
            "hold_seconds": sum(r.hold_seconds for r in records)}, final,
            full_seconds=max(r.full_seconds for r in records))
