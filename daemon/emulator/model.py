"""The emulated server's state: clock, users, calls, the call state machine and timers.

Nothing here knows about HTTP. The server layer parses requests, calls these methods
and turns `ApiError` into 406 answers; the model reports events through the `emit`
callable it is given. Everything runs on one asyncio loop, so there is no locking.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from typing import Callable

from .scenario import NumberRule, Scenario, UserSpec

# Call states [com].
RINGING = 1
ALERTING = 13
CONNECTED = 21
HOLD = 41
DISCONNECTED = 99
FINISHED = 100
CALL_STATE_NAMES = {
    0: "Unknown", 1: "Ringing", 2: "Reminder", 11: "Dialtone", 12: "DialNumber",
    13: "Alerting", 21: "Connected", 31: "Conference", 32: "InConference", 41: "Hold",
    42: "OnHold", 51: "Transfer", 99: "Disconnected", 100: "Finished",
}

# Directions [com].
IN = 1
OUT = 2

# User states [client]; 305 Reserved is [ours].
READY = 300
NO_PHONE = 303
BUSY = 304
OFFLINE = 399
SETTABLE_STATES = (300, 301, 302, 303, 304, 305)
# States in which an agent cannot take a new call.
UNAVAILABLE_STATES = (NO_PHONE, BUSY)

HOLD_RULE_SECONDS = 30.0   # F34: on hold this long -> Busy, twice as long -> No phone
BUSY_FAILS_AFTER = 1.0     # a busy far end ends the call after this many seconds
FIRST_ID = 5007182329      # IDs look like real ones: about 10 digits

Emit = Callable[[str, dict], None]


class ApiError(Exception):
    """A request the server refuses: answered 406 with ErrorMessage (and any extra fields)."""

    def __init__(self, message: str, **extra):
        super().__init__(message)
        self.message = message
        self.extra = extra


class Clock:
    """Emulated time: starts at the wall clock, then runs time_scale times faster."""

    def __init__(self, time_scale: float):
        self.time_scale = time_scale
        self._wall0 = time.time()
        self._mono0 = time.monotonic()

    def now(self) -> float:
        return self._wall0 + (time.monotonic() - self._mono0) * self.time_scale

    def real_seconds(self, emulated: float) -> float:
        return emulated / self.time_scale


@dataclass
class User:
    spec: UserSpec
    state: int = OFFLINE
    host_name: str = ""
    # The state the agent had before the hold rule moved them, while it has.
    rule_saved_state: int | None = None

    @property
    def id(self) -> int:
        return self.spec.id

    @property
    def extension(self) -> str:
        return self.spec.extension

    @property
    def logged_on(self) -> bool:
        return self.state != OFFLINE


@dataclass
class Call:
    id: int
    user: User
    direction: int
    number: str                 # the remote party's number
    created: float
    connection_id: int
    seance_id: int
    rule: NumberRule | None
    tag: str = ""
    state: int = 0
    connected: float | None = None
    ended: float | None = None
    holds: list[list] = field(default_factory=list)   # [start, end or None]
    active: bool = True         # still listed by call/getactivecalls
    timers: dict[str, asyncio.TimerHandle] = field(default_factory=dict)
    transfer_leg: int | None = None     # the consult leg started from this call
    hold_stage: int = 0                 # how far the hold rule has gone (0, 1, 2)
    end_reason: str = ""                # [ours] why it ended: Normal, Busy, NoAnswer, Rejected

    @property
    def a_number(self) -> str:
        return self.user.extension if self.direction == OUT else self.number

    @property
    def b_number(self) -> str:
        return self.number if self.direction == OUT else self.user.extension

    @property
    def finished(self) -> bool:
        return self.state in (DISCONNECTED, FINISHED)

    def _end_or(self, now: float) -> float:
        return self.ended if self.ended is not None else now

    def full_seconds(self, now: float) -> float:
        return self._end_or(now) - self.created

    def wait_seconds(self, now: float) -> float:
        until = self.connected if self.connected is not None else self._end_or(now)
        return until - self.created

    def hold_seconds(self, now: float) -> float:
        end = self._end_or(now)
        return sum(((stop if stop is not None else end) - start for start, stop in self.holds), 0.0)

    def talk_seconds(self, now: float) -> float:
        if self.connected is None:
            return 0.0
        return self._end_or(now) - self.connected - self.hold_seconds(now)


def state_text(call: Call) -> str:
    return f"{CALL_STATE_NAMES.get(call.state, 'Unknown')} ({call.state})"


class Model:
    def __init__(self, scenario: Scenario, clock: Clock, emit: Emit):
        self.scenario = scenario
        self.clock = clock
        self.emit = emit
        self.users = [User(spec) for spec in scenario.users]
        self.calls: dict[int, Call] = {}          # every call ever known, for stat/*
        self._ids = itertools.count(FIRST_ID)

    # ----- lookups -------------------------------------------------------------

    def user_by_id(self, user_id: int) -> User:
        for user in self.users:
            if user.id == user_id:
                return user
        raise ApiError("User not found")

    def user_by_extension(self, extension: str) -> User:
        for user in self.users:
            if user.extension == extension:
                return user
        raise ApiError(f"Extension {extension} not found")

    def user_by_login(self, login: str) -> User | None:
        for user in self.users:
            if user.spec.login == login:
                return user
        return None

    def active_call(self, user: User, call_id: int) -> Call:
        """A call in the active list that belongs to this user."""
        call = self.calls.get(call_id)
        if call is None or not call.active:
            raise ApiError("Call not found")
        if call.user is not user:
            raise ApiError(f"Call {call_id} is not a call of extension {user.extension}")
        return call

    def known_call(self, call_id: int) -> Call:
        """Any call ever made, as the statistics know it."""
        call = self.calls.get(call_id)
        if call is None:
            raise ApiError("Call not found")
        return call

    def call_by_connection(self, connection_id: int) -> Call:
        for call in self.calls.values():
            if connection_id in (call.connection_id, call.seance_id):
                return call
        raise ApiError("Connection not found")

    def active_calls(self, user: User | None = None) -> list[Call]:
        return [c for c in self.calls.values() if c.active and (user is None or c.user is user)]

    # ----- users -------------------------------------------------------------------

    def logon(self, user: User, host_name: str) -> None:
        user.host_name = host_name
        if not user.logged_on:
            self._set_user_state(user, READY)

    def logoff(self, user: User) -> None:
        if not user.logged_on:
            return
        # Forget the hold rule first so that ending held calls does not restore a state.
        user.rule_saved_state = None
        for call in self.active_calls(user):
            if not call.finished:
                self._end(call)
        self._set_user_state(user, OFFLINE)

    def set_state(self, user: User, state: int) -> None:
        self._require_logged_on(user)
        if state not in SETTABLE_STATES:
            allowed = ", ".join(str(s) for s in SETTABLE_STATES)
            raise ApiError(f"State {state} cannot be set (allowed: {allowed})")
        # The agent's own choice wins over the hold rule: unhold will not undo it.
        user.rule_saved_state = None
        if state != user.state:
            self._set_user_state(user, state)

    def _set_user_state(self, user: User, state: int) -> None:
        user.state = state
        self.emit("/user/OnStateChanged/", {"IDUser": user.id, "IDUserState": state})

    def _require_logged_on(self, user: User) -> None:
        if not user.logged_on:
            raise ApiError("User is not logged on")

    def _require_available(self, user: User) -> None:
        if not user.logged_on:
            raise ApiError(f"Extension {user.extension} is not logged on (state {user.state})")
        if user.state in UNAVAILABLE_STATES:
            raise ApiError(f"Extension {user.extension} is not available (state {user.state})")

    # ----- creating calls ----------------------------------------------------------

    def make_call(self, user: User, number: str, tag: str = "") -> Call:
        self._require_logged_on(user)
        return self._dial(user, number, tag)

    def call_in(self, from_number: str, extension: str) -> Call:
        user = self.user_by_extension(extension)
        self._require_available(user)
        return self._ring(user, from_number)

    def _new_call(self, user: User, direction: int, number: str, tag: str) -> Call:
        call = Call(
            id=next(self._ids),
            user=user,
            direction=direction,
            number=number,
            created=self.clock.now(),
            connection_id=next(self._ids),
            seance_id=next(self._ids),
            rule=self.scenario.rule_for(number),
            tag=tag,
        )
        self.calls[call.id] = call
        self.emit("/call/OnCallCreated/", {
            "IDCall": call.id, "Extension": user.extension, "IDUser": user.id,
            "Number": number, "Direction": direction,
        })
        return call

    def _dial(self, user: User, number: str, tag: str) -> Call:
        call = self._new_call(user, OUT, number, tag)
        self._set_call_state(call, ALERTING)
        rule = call.rule
        if rule is not None and rule.busy:
            self._later(call, "busy", BUSY_FAILS_AFTER, self._end, call, "Busy")
            return call
        self._later(call, "ring", self.scenario.ring_timeout, self._end, call, "NoAnswer")
        # A number no rule matches rings until ring_timeout.
        if rule is not None and not rule.never_answer:
            self._later(call, "answer", rule.answer_after, self._far_end_answers, call)
        return call

    def _ring(self, user: User, from_number: str) -> Call:
        call = self._new_call(user, IN, from_number, "")
        self._set_call_state(call, RINGING)
        self._later(call, "ring", self.scenario.ring_timeout, self._end, call, "NoAnswer")
        return call

    # ----- what the agent does -----------------------------------------------------

    def drop(self, user: User, call_id: int) -> None:
        call = self._agent_call(user, call_id)
        if call.finished:
            raise ApiError(f"Call {call.id} is {state_text(call)}, already ended")
        self._end(call, "Rejected" if call.state == RINGING else "Normal")

    def accept(self, user: User, call_id: int) -> None:
        call = self._agent_call(user, call_id)
        if call.state != RINGING or call.direction != IN:
            raise ApiError(f"Call {call.id} is {state_text(call)}, not Ringing")
        self._connect(call)

    def hold(self, user: User, call_id: int) -> None:
        call = self._agent_call(user, call_id)
        self._expect(call, CONNECTED)
        self._hold(call)

    def unhold(self, user: User, call_id: int) -> None:
        call = self._agent_call(user, call_id)
        self._expect(call, HOLD)
        self._set_call_state(call, CONNECTED)

    def quick_transfer(self, user: User, call_id: int, number: str) -> None:
        call = self._agent_call(user, call_id)
        self._expect(call, CONNECTED, HOLD)
        target = next((u for u in self.users if u.extension == number), None)
        if target is user:
            raise ApiError(f"Call {call.id} cannot be transferred to its own extension {number}")
        if target is not None:
            self._require_available(target)
        self._end(call)
        if target is not None:
            self._ring(target, call.number)

    def start_transfer(self, user: User, call_id: int, number: str) -> Call:
        call = self._agent_call(user, call_id)
        self._expect(call, CONNECTED, HOLD)
        leg = self.calls.get(call.transfer_leg) if call.transfer_leg else None
        if leg is not None and not leg.finished:
            raise ApiError(f"Call {call.id} already has a transfer in progress (call {leg.id})")
        if call.state == CONNECTED:
            self._hold(call)
        leg = self._dial(user, number, "")
        call.transfer_leg = leg.id
        return leg

    def finish_transfer(self, user: User, call_id: int) -> None:
        call = self._agent_call(user, call_id)
        first = call
        if call.transfer_leg is None:
            # The agent may name the consult leg instead of the first one.
            first = next((c for c in self.active_calls(user) if c.transfer_leg == call.id), None)
            if first is None:
                raise ApiError(f"Call {call.id} has no transfer in progress")
        leg = self.calls[first.transfer_leg]
        for part in (first, leg):
            if part.finished:
                raise ApiError(f"Call {part.id} is {state_text(part)}, the transfer cannot be finished")
        self._end(first)
        self._end(leg)

    def send_digits(self, user: User, call_id: int) -> None:
        call = self._agent_call(user, call_id)
        self._expect(call, CONNECTED)

    def _agent_call(self, user: User, call_id: int) -> Call:
        self._require_logged_on(user)
        return self.active_call(user, call_id)

    @staticmethod
    def _expect(call: Call, *states: int) -> None:
        if call.state not in states:
            wanted = " or ".join(CALL_STATE_NAMES[s] for s in states)
            raise ApiError(f"Call {call.id} is {state_text(call)}, not {wanted}")

    # ----- what the far end and the emulator admin do ------------------------------

    def far_end_hangup(self, call_id: int) -> Call:
        call = self.calls.get(call_id)
        if call is None or not call.active:
            raise ApiError("Call not found")
        if call.finished:
            raise ApiError(f"Call {call.id} is {state_text(call)}, already ended")
        self._end(call)
        return call

    def restart(self) -> None:
        """Forget every session as a real restart would: no events, calls leave the list."""
        now = self.clock.now()
        for call in self.calls.values():
            self._cancel(call)
            call.hold_stage = 0
            if not call.finished:
                if call.holds and call.holds[-1][1] is None:
                    call.holds[-1][1] = now
                call.ended = now
                call.state = FINISHED
            call.active = False
        for user in self.users:
            user.state = OFFLINE
            user.rule_saved_state = None

    def shutdown(self) -> None:
        for call in self.calls.values():
            self._cancel(call)

    # ----- the state machine -------------------------------------------------------

    def _set_call_state(self, call: Call, new: int) -> None:
        old = call.state
        now = self.clock.now()
        if old == HOLD and new != HOLD:
            call.holds[-1][1] = now
            self._hold_rule_end(call)
        if new == HOLD:
            call.holds.append([now, None])
        if new == CONNECTED and call.connected is None:
            call.connected = now
        params = {"IDCall": call.id, "Extension": call.user.extension, "IDUser": call.user.id,
                  "OldState": old, "State": new}
        if new == DISCONNECTED:
            call.ended = now
            params["Reason"] = call.end_reason
        call.state = new
        self.emit("/call/OnCallStateChanged/", params)

    def _far_end_answers(self, call: Call) -> None:
        if call.state == ALERTING:
            self._connect(call)

    def _connect(self, call: Call) -> None:
        self._cancel(call, "ring")
        self._set_call_state(call, CONNECTED)
        if call.rule is not None and call.rule.hangup_after > 0:
            self._later(call, "hangup", call.rule.hangup_after, self._end, call)

    def _hold(self, call: Call) -> None:
        self._set_call_state(call, HOLD)
        self._later(call, "hold1", HOLD_RULE_SECONDS, self._hold_rule_fire, call, 1, BUSY)
        self._later(call, "hold2", 2 * HOLD_RULE_SECONDS, self._hold_rule_fire, call, 2, NO_PHONE)

    def _end(self, call: Call, reason: str = "Normal") -> None:
        """Any live state -> 99 Disconnected -> 100 Finished; the call lingers, then is deleted."""
        if call.finished:
            return
        call.end_reason = reason
        self._cancel(call)
        self._set_call_state(call, DISCONNECTED)
        self._set_call_state(call, FINISHED)
        self._later(call, "linger", self.scenario.finished_linger, self._delete, call)

    def _delete(self, call: Call) -> None:
        call.active = False
        call.timers.clear()
        self.emit("/call/OnCallDeleted/", {
            "IDCall": call.id, "Extension": call.user.extension, "IDUser": call.user.id,
        })

    # The hold rule (F34): a call held too long makes its agent Busy, then No phone;
    # leaving hold gives the agent back the state they had.

    def _hold_rule_fire(self, call: Call, stage: int, state: int) -> None:
        call.timers.pop(f"hold{stage}", None)
        user = call.user
        if call.state != HOLD or not user.logged_on:
            return
        call.hold_stage = stage
        if user.rule_saved_state is None:
            user.rule_saved_state = user.state
        if user.state != state:
            self._set_user_state(user, state)

    def _hold_rule_end(self, call: Call) -> None:
        self._cancel(call, "hold1")
        self._cancel(call, "hold2")
        stage, call.hold_stage = call.hold_stage, 0
        user = call.user
        if stage == 0 or user.rule_saved_state is None or not user.logged_on:
            return
        # Another call of the agent still held too long keeps the rule in force.
        if any(c.hold_stage and c is not call for c in self.active_calls(user)):
            return
        saved, user.rule_saved_state = user.rule_saved_state, None
        if user.state != saved:
            self._set_user_state(user, saved)

    # ----- timers ------------------------------------------------------------------

    def _later(self, call: Call, name: str, seconds: float, fn, *args) -> None:
        self._cancel(call, name)
        loop = asyncio.get_running_loop()
        call.timers[name] = loop.call_later(self.clock.real_seconds(seconds), fn, *args)

    @staticmethod
    def _cancel(call: Call, name: str | None = None) -> None:
        names = [name] if name is not None else list(call.timers)
        for key in names:
            handle = call.timers.pop(key, None)
            if handle is not None:
                handle.cancel()
