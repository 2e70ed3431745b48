"""The call tracker: line states, times and durations of the agent's calls.

Fed by push events and by polling alike (docs/infinity.md "Robustness"): whichever
reports a call first creates it, duplicates and late events change nothing, and a
call that vanished from the server's active list is ended. Every update carries when
the server said it (`at`, on the tracker's clock): an older one never undoes a newer
one, so a poll answered after a push event cannot move a call back. Every change is
saved.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from .clock import WallClock
from .phone import ANONYMOUS
from .states import (BEFORE_ANSWER, ENDED, HELD, LINE_NAMES, TALKING, LineState,
                     line_name)
from .wire import Direction

log = logging.getLogger("cc.calls")
NEVER = float("-inf")
WALL = WallClock()


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds")


@dataclass
class Call:
    call_id: str
    direction: Direction            # UNKNOWN until the server says
    number: str
    state: int = LineState.UNKNOWN
    state_at: float = NEVER         # when the server said `state` (the tracker's clock)
    heard_at: float = NEVER         # when the server last spoke of the call at all
    started_at: float = field(default_factory=time.time)
    connected_at: float | None = None
    ended_at: float | None = None
    hold_since: float | None = None
    held_seconds: float = 0.0       # closed hold intervals
    log_id: int | None = None
    dropped_by_agent: bool = False
    end_reason: str = ""            # the server's reason for the end, when it gives one
    durations_from: str = "local"
    processing_started_at: float | None = None    # wrap-up (F7, F30)
    processing_ended_at: float | None = None
    transfer_from: str = ""
    transfer_to: str = ""
    transfer_number: str = ""
    dial_mode: str = ""
    group_number: str = ""
    transfer_leg: str = ""          # consult transfer: the leg to the target
    consult_for: str = ""           # on that leg: the caller's call, whose card it is
    seance: str = ""                # the server's session id ([ours]), shared by the legs
    contact: str = ""               # F5: filled when exactly one contact has the number
    account: str = ""
    contact_candidates: str = ""    # JSON list of names when several have it
    number_key: str = ""            # the number normalised, for matching contacts
    contact_id: int | None = None   # the contact and account the card is linked to (F52)
    account_id: int | None = None
    server_figures: dict | None = None
    card: dict = field(default_factory=dict)    # card columns its next record writes once
    logged: bool = False            # its record was complete before this daemon saw it
    resumed: bool = False           # taken up from its record: no daemon saw all of it

    @property
    def ended(self) -> bool:
        return self.ended_at is not None

    def hold_seconds(self, now: float | None = None) -> float:
        open_hold = 0.0
        if self.hold_since is not None:
            open_hold = (self.ended_at or now or time.time()) - self.hold_since
        return self.held_seconds + open_hold

    def figures(self, now: float | None = None) -> dict:
        """Time to connect, talk and hold, in seconds: the server's when it gave them."""
        if self.server_figures:
            return dict(self.server_figures)
        now = self.ended_at or now or time.time()
        wait_end = self.connected_at or now
        talk = 0.0
        if self.connected_at is not None:
            talk = max(0.0, now - self.connected_at - self.hold_seconds(now))
        return {"wait_seconds": round(wait_end - self.started_at, 3),
                "talk_seconds": round(talk, 3),
                "hold_seconds": round(self.hold_seconds(now), 3)}

    @property
    def outcome(self) -> str:
        if not self.ended:
            return "active"
        if self.connected_at is not None:
            return "answered"
        reason = self.end_reason.lower()
        if reason in ("busy", "failed"):
            return reason
        if reason == "answeredelsewhere":
            return "answered-elsewhere"
        if self.direction == Direction.IN:
            return "rejected" if self.dropped_by_agent else "missed"
        if self.dropped_by_agent:
            return "cancelled"
        return "rejected" if reason == "rejected" else "not-answered"

    def view(self) -> dict:
        """The call as the CLI sees it."""
        return {"call_id": self.call_id, "direction": self.direction, "number": self.number,
                "state": int(self.state), "state_name": line_name(self.state),
                "started_at": iso(self.started_at), "connected_at": iso(self.connected_at),
                "ended_at": iso(self.ended_at), "outcome": self.outcome,
                "log_id": self.log_id, **self.figures(), **self.extras()}

    def processing_seconds(self) -> float | None:
        if self.processing_started_at is None or self.processing_ended_at is None:
            return None
        return round(self.processing_ended_at - self.processing_started_at, 3)

    def extras(self) -> dict:
        return {"end_reason": self.end_reason, "transfer_from": self.transfer_from,
                "transfer_to": self.transfer_to, "transfer_number": self.transfer_number,
                "processing_started_at": iso(self.processing_started_at),
                "processing_ended_at": iso(self.processing_ended_at),
                "processing_seconds": self.processing_seconds(), "dial_mode": self.dial_mode,
                "group_number": self.group_number, "contact": self.contact,
                "account": self.account, "contact_candidates": self.contact_candidates}


class CallTracker:
    team = None     # the team store's replicator (team.url): told of incoming calls

    def __init__(self, store, agent: str, extension: str, publish=None,
                 clock=time.monotonic, server: str = ""):
        self.store = store
        self.server = server    # with the call id and the agent: a call's identity
        self.clock = clock      # orders updates; wall time still dates the calls
        self.agent = agent
        self.extension = extension
        self.publish = publish or (lambda kind, payload: None)
        self.calls: dict[str, Call] = {}
        self.on_ended = None    # callback(call) to fetch the server's figures
        self.resolver = None    # number -> {contact, account, contact_candidates, number_key}
        self.on_change = None   # callback(call, old_state, new_state), for hooks
        self.on_confirmed = None    # callback(call_id): apply events that named it first
        self._waiters: list[tuple[Call, object, asyncio.Future]] = []

    # -- queries
    def active(self) -> list[Call]:
        return [c for c in self.calls.values() if not c.ended]

    async def wait_for(self, call: Call, predicate, timeout: float, clock=None) -> bool:
        """Wait until `predicate(call)` holds (an event or a poll changed the call); the
        timeout is on `clock` when it is a timer of the product (else real seconds)."""
        if predicate(call):
            return True
        waiter = (call, predicate, asyncio.get_running_loop().create_future())
        self._waiters.append(waiter)
        try:
            return await (clock or WALL).within(waiter[2], timeout)
        finally:
            self._waiters.remove(waiter)

    def _wake(self, call: Call) -> None:
        for waiting_call, predicate, future in self._waiters:
            if waiting_call is call and not future.done() and predicate(call):
                future.set_result(True)

    # -- changes
    def confirm(self, call_id: str) -> bool:
        """The server vouches for this call (it lists it, or answered the dial that placed
        it): the events that named it first are applied now. Whether it is known."""
        if self.on_confirmed is not None:
            self.on_confirmed(call_id)
        return call_id in self.calls

    def seen(self, call_id: str, direction: Direction = Direction.UNKNOWN, number: str = "",
             state: int | None = None, reason: str = "", at: float | None = None,
             **details) -> Call:
        """Record that the server reports this call (created, or in a poll) as of `at`
        (default: now); `details` (dial_mode, ...) are set before the change is saved and
        published. A state older than the call's current one is ignored."""
        at = self.clock() if at is None else at
        call = self.calls.get(call_id)
        new = call is None
        if new:
            call = self._adopt(call_id, direction, number)
            if call.logged:
                return call
        else:
            if number and not call.number:
                call.number = number
                self._resolve(call)
            if direction and not call.direction:     # a state event came before "created"
                call.direction = direction
                details = {**details, "direction": direction}
        for name, value in details.items():
            setattr(call, name, value)
        call.heard_at = max(call.heard_at, at)
        if state is not None and at < call.state_at:
            log.info("call %s: ignored %s, older than %s", call_id, line_name(state),
                     line_name(call.state))
            state = None
        elif state in BEFORE_ANSWER and call.connected_at is not None:
            # An event sent before the answer that arrived after a poll had seen it.
            log.info("call %s: ignored %s, it was answered already", call_id,
                     line_name(state))
            state = None
        elif state is not None:
            call.state_at = at
            if reason and not call.ended:
                call.end_reason = reason
        if state is not None and state != call.state:
            self.change(call, state)
        elif new or details:
            self.save(call)
        return call

    def _adopt(self, call_id: str, direction: Direction, number: str) -> Call:
        call = Call(call_id, direction, number or "")
        row = self.store.open_row(self.server, call_id, self.agent)
        if row and row.get("ended_at"):
            # Logged to its end already (the server lists a finished call for a while,
            # or an event came late): nothing more is recorded for it.
            call.log_id, call.logged = row["id"], True
            call.state, call.ended_at = LineState.FINISHED, time.time()
            call.number = call.number or row.get("number") or ""
            self.calls[call_id] = call
            return call
        # A daemon restarted mid-call picks up the record it wrote before.
        if row:
            call.log_id, call.resumed = row["id"], True
            call.started_at = datetime.fromisoformat(row["started_at"]).timestamp()
            if row.get("connected_at"):
                call.connected_at = datetime.fromisoformat(row["connected_at"]).timestamp()
            call.held_seconds = row.get("hold_seconds") or 0.0
            call.number = call.number or row.get("number") or ""
        self._resolve(call)
        if row and (row.get("contact_id") or row.get("account_id")):
            for name in ("contact", "account", "contact_id", "account_id"):
                setattr(call, name, row.get(name) or ("" if name in ("contact", "account")
                                                      else None))
        self.calls[call_id] = call
        return call

    def recall(self, log_id: int) -> Call | None:
        """A call that ended before this daemon started, whole from its record (to finish
        its wrap-up after a restart): saving it again writes back what the record holds."""
        row = self.store.get(log_id)
        if row is None:
            return None

        def at(text):
            return datetime.fromisoformat(text).timestamp() if text else None

        state = next((code for code, name in LINE_NAMES.items() if name == row["line_state"]),
                     LineState.FINISHED)
        call = Call(row["call_id"], Direction(row["direction"] or ""), row["number"] or "",
                    state=state, started_at=at(row["started_at"]),
                    connected_at=at(row["connected_at"]),
                    ended_at=at(row["ended_at"]) or time.time(), log_id=row["id"],
                    server_figures={k: row[k] or 0.0 for k in
                                    ("wait_seconds", "talk_seconds", "hold_seconds")})
        for name in ("end_reason", "durations_from", "transfer_from", "transfer_to",
                     "transfer_number", "dial_mode", "group_number", "contact", "account",
                     "contact_candidates"):
            setattr(call, name, row.get(name) or "")
        call.number_key = self.store.db["calls"].get(log_id).get("number_key") or ""
        call.dropped_by_agent = row["outcome"] in ("cancelled", "rejected")
        return call

    def _resolve(self, call: Call) -> None:
        # A caller without caller ID matches no contact: nothing to look up.
        if self.resolver and call.number and call.number != ANONYMOUS:
            for name, value in self.resolver(call.number).items():
                setattr(call, name, value)

    def change(self, call: Call, state: int, now: float | None = None) -> None:
        if call.ended or state == call.state:
            return
        now = now or time.time()
        old = call.state
        call.state = state
        if state in TALKING and call.connected_at is None:
            call.connected_at = now
        if state in HELD and call.hold_since is None:
            call.hold_since = now
        elif state not in HELD and call.hold_since is not None:
            call.held_seconds += now - call.hold_since
            call.hold_since = None
        if state in ENDED:
            call.ended_at = now
            if call.hold_since is not None:
                call.held_seconds += now - call.hold_since
                call.hold_since = None
        log.info("call %s: %s -> %s", call.call_id, line_name(old), line_name(state))
        self._save(call)
        self.publish("call", call.view())
        self._wake(call)
        if self.on_change:
            self.on_change(call, old, state)
        if call.ended and self.on_ended:
            self.on_ended(call)

    def vanished(self, present: set[str], asked_at: float) -> None:
        """End the calls a poll sent at `asked_at` no longer lists (their end event never
        came); a call the server reported after that poll was sent is not judged by it."""
        for call in self.active():
            if call.call_id not in present and call.heard_at < asked_at:
                self.change(call, LineState.FINISHED)

    def finish_orphans(self, present: set[str]) -> None:
        """Complete the records of calls that ended while no daemon was watching."""
        for row in self.store.unfinished(self.server, self.agent):
            if row["call_id"] not in present and row["call_id"] not in self.calls:
                log.info("call %s ended while the daemon was away; completing its record",
                         row["call_id"])
                call = self._adopt(row["call_id"], row["direction"], row["number"])
                self.change(call, LineState.FINISHED)

    def apply_server_figures(self, call: Call, figures: dict, final: bool = True,
                             full_seconds: float | None = None) -> None:
        """Take the server's own durations; a live call's are refreshed at each poll. A call
        no daemon saw to its end ends where the server says: its start plus the full
        duration, not when a daemon noticed."""
        figures = {k: round(v, 3) for k, v in figures.items()}
        if figures == call.server_figures and not final:
            return
        call.server_figures = figures
        if final:
            call.durations_from = "server"
            if call.resumed and full_seconds is not None:
                call.ended_at = call.started_at + full_seconds
        self._save(call)
        self.publish("call", call.view())

    def save(self, call: Call) -> None:
        """Write a change made outside the line states (wrap-up, transfer details)."""
        if call.logged:
            return
        self._save(call)
        self.publish("call", call.view())

    def forget_finished(self, keep_seconds: float = 600) -> None:
        cutoff = time.time() - keep_seconds
        for call_id, call in list(self.calls.items()):
            if call.ended and call.ended_at < cutoff:
                del self.calls[call_id]

    async def keep_flushing(self, every: float = 1.0) -> None:
        """Write the calls a full disk or a locked database kept in memory, when it can."""
        while True:
            await asyncio.sleep(every)
            if not self.store.pending:
                continue
            written = self.store.flush()
            for (_, call_id, _), row_id in written.items():
                call = self.calls.get(call_id)
                if call is not None and call.log_id is None:
                    call.log_id = row_id

    def arrived(self, call: Call, from_extension: str = "", seance: str = "") -> None:
        """An incoming call is here: with a team store, ask it for a card handed over with
        it (a transfer's), matched on the caller, this extension, the sender's extension
        and the server's session id where there are ones."""
        if seance:
            call.seance = seance
        if self.team is None or call.direction != Direction.IN:
            return
        self.team.arrived((self.server, call.call_id, self.agent), self.extension,
                          call.number, from_extension, call.seance)

    def take_card(self, key: tuple, card: dict, by: str = "") -> None:
        """A card handed over with a transferred call (by the colleague `by`): each field
        this call's card left empty, in the log and on the call the daemon still follows."""
        call = self.calls.get(key[1])
        if call is not None:
            for name in ("contact", "account"):
                if isinstance(card.get(name), str) and card[name] and not getattr(call, name):
                    setattr(call, name, card[name])
                    call.contact_candidates = ""
        self.store.fill_card(key, card, by)
        if call is not None:
            self.publish("call", call.view())

    def _save(self, call: Call) -> None:
        if call.logged:
            return
        row = {"server": self.server, "id": call.log_id, "call_id": call.call_id,
               "direction": call.direction, "number": call.number, "agent": self.agent,
               "extension": self.extension,
               "started_at": iso(call.started_at), "connected_at": iso(call.connected_at),
               "ended_at": iso(call.ended_at), "outcome": call.outcome,
               "line_state": line_name(call.state), "durations_from": call.durations_from,
               "updated_at": iso(time.time()), "number_key": call.number_key,
               "contact_id": call.contact_id, "account_id": call.account_id,
               **call.figures(), **call.extras(), **call.card}
        # Written once (links a dial pre-fills): the agent's later edits of the card stay.
        call.card = {}
        row_id = self.store.save(row)
        if row_id is not None:
            call.log_id = row_id
