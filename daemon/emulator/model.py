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

from .scenario import HUNT, GroupSpec, NumberRule, Scenario, UserSpec

# Call states [com].
RINGING = 1
REMINDER = 2
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

# [ours] Dial modes of call/make: offhook dials from the agent's phone; callback rings
# the number first and then rings the agent's phone back (F27).
OFFHOOK = "offhook"
CALLBACK = "callback"
DIAL_MODES = (OFFHOOK, CALLBACK)

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


@dataclass(eq=False)      # calls point at each other (peer, ring): compare by identity
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
    transfer_for: int | None = None     # on a consult leg: the call it transfers
    transfer_from: str = ""             # the extension that transferred this call here
    transfer_to: str = ""               # on a transferred call: the number it went to
    hold_stage: int = 0                 # how far the hold rule has gone (0, 1, 2)
    # [ours] why it ended: Normal, Busy, NoAnswer, Rejected, AnsweredElsewhere, Transferred
    end_reason: str = ""
    mode: str = ""                      # dial mode of a call the agent made; "" for incoming
    group: str = ""                     # the group number an incoming call came through
    # An internal call is two calls, one per user; each is the other's peer.
    peer: Call | None = field(default=None, repr=False)
    ring: GroupRing | None = field(default=None, repr=False)

    @property
    def internal(self) -> bool:
        return self.peer is not None

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


@dataclass(eq=False)
class GroupRing:
    """One outside call to a group (F33): the calls it rang, and who is still to try."""

    spec: GroupSpec
    caller: str
    pending: list[User] = field(default_factory=list)   # hunt: members not tried yet
    calls: list[Call] = field(default_factory=list)
    over: bool = False      # answered, or the caller gave up: ring nobody else


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

    def _why_unavailable(self, user: User) -> str | None:
        """Why a colleague or group member cannot be rung now, or None if they can."""
        if not user.logged_on:
            return "not logged on"
        if user.state != READY:
            return f"state {user.state}"
        live = next((c for c in self.active_calls(user) if not c.finished), None)
        if live is not None:
            return f"on call {live.id}"
        return None

    def _colleague(self, user: User, number: str) -> User | None:
        """The user whose extension a dialled number is, if any; refuses what cannot be dialled."""
        if number == user.extension:
            raise ApiError(f"Number {number} is the extension of the caller itself")
        group = self.scenario.group_for(number)
        if group is not None:
            # [ours] The emulator routes a group only for calls from outside.
            raise ApiError(f"Number {number} is a group: the emulator rings groups only "
                           "for incoming calls (/_emulator/call-in/)")
        return next((u for u in self.users if u.extension == number), None)

    # ----- creating calls ----------------------------------------------------------

    def make_call(self, user: User, number: str, tag: str = "", mode: str = OFFHOOK) -> Call:
        self._require_logged_on(user)
        if mode not in DIAL_MODES:
            raise ApiError(f"Malformed parameter Mode: {mode!r} (offhook or callback)")
        return self._dial(user, number, tag, mode, self._colleague(user, number))

    def call_in(self, from_number: str, to: str) -> list[Call]:
        """An outside call to an extension or a group; the calls it rang."""
        group = self.scenario.group_for(to)
        if group is not None:
            return self._ring_group(group, from_number)
        user = self.user_by_extension(to)
        self._require_available(user)
        return [self._ring(user, from_number)]

    def _new_call(self, user: User, direction: int, number: str, tag: str = "", *, internal: bool = False,
                  mode: str = "", group: str = "", transfer_from: str = "",
                  transfer_for: int | None = None) -> Call:
        call = Call(
            id=next(self._ids),
            user=user,
            direction=direction,
            number=number,
            created=self.clock.now(),
            connection_id=next(self._ids),
            seance_id=next(self._ids),
            # [ours] Number rules describe outside numbers; a colleague answers by hand.
            rule=None if internal else self.scenario.rule_for(number),
            tag=tag,
            mode=mode,
            group=group,
            transfer_from=transfer_from,
            transfer_for=transfer_for,
        )
        self.calls[call.id] = call
        params = {
            "IDCall": call.id, "Extension": user.extension, "IDUser": user.id,
            "Number": number, "Direction": direction,
        }
        # [ours] where the call comes from, only when it says something
        if group:
            params["Group"] = group
        if transfer_from:
            params["TransferFrom"] = transfer_from
        if transfer_for is not None:
            params["TransferFor"] = transfer_for
        self.emit("/call/OnCallCreated/", params)
        return call

    def _dial(self, user: User, number: str, tag: str, mode: str, colleague: User | None,
              transfer_for: int | None = None) -> Call:
        call = self._new_call(user, OUT, number, tag, internal=colleague is not None, mode=mode,
                              transfer_for=transfer_for)
        self._set_call_state(call, ALERTING)
        if colleague is not None:
            self._ring_colleague(call, colleague)
            return call
        rule = call.rule
        if rule is not None and rule.busy:
            self._later(call, "busy", BUSY_FAILS_AFTER, self._end, call, "Busy")
            return call
        self._later(call, "ring", self.scenario.ring_timeout, self._end, call, "NoAnswer")
        # A number no rule matches rings until ring_timeout.
        if rule is not None and not rule.never_answer:
            self._later(call, "answer", rule.answer_after, self._far_end_answers, call)
        return call

    def _ring_colleague(self, call: Call, colleague: User) -> None:
        """An internal call: the colleague's own call rings, or ours fails as busy."""
        if self._why_unavailable(colleague) is not None:
            # The colleague sees nothing, as with a busy outside number.
            self._later(call, "busy", BUSY_FAILS_AFTER, self._end, call, "Busy")
            return
        leg = self._new_call(colleague, IN, call.user.extension, internal=True)
        call.peer, leg.peer = leg, call
        self._set_call_state(leg, RINGING)
        self._later(call, "ring", self.scenario.ring_timeout, self._end, call, "NoAnswer")
        self._later(leg, "ring", self.scenario.ring_timeout, self._end, leg, "NoAnswer")

    def _ring(self, user: User, from_number: str, seconds: float | None = None, **marks) -> Call:
        call = self._new_call(user, IN, from_number, **marks)
        self._set_call_state(call, RINGING)
        timeout = self.scenario.ring_timeout if seconds is None else seconds
        self._later(call, "ring", timeout, self._end, call, "NoAnswer")
        return call

    # Groups (F33): ring-all rings every available member at once, hunt one after
    # another; a member is available when logged on, Ready and without a live call.

    def _ring_group(self, group: GroupSpec, from_number: str) -> list[Call]:
        members = [self.user_by_extension(ext) for ext in group.extensions]
        available = [u for u in members if self._why_unavailable(u) is None]
        if not available:
            raise ApiError(f"No agent of group {group.number} is available")
        ring = GroupRing(group, from_number)
        if group.order == HUNT:
            ring.pending = members[members.index(available[0]) + 1:]
            self._ring_member(ring, available[0])
        else:
            for user in available:
                self._ring_member(ring, user)
        return list(ring.calls)

    def _ring_member(self, ring: GroupRing, user: User) -> None:
        # [ours] A hunted agent rings hunt_timeout instead of ring_timeout.
        seconds = ring.spec.hunt_timeout if ring.spec.order == HUNT else None
        call = self._ring(user, ring.caller, seconds, group=ring.spec.number)
        call.ring = ring
        ring.calls.append(call)

    def _group_call_ended(self, ring: GroupRing) -> None:
        if ring.over or any(not c.finished for c in ring.calls):
            return
        # Hunt: the next available member in order; busy ones are skipped for good.
        while ring.spec.order == HUNT and ring.pending:
            user = ring.pending.pop(0)
            if self._why_unavailable(user) is None:
                self._ring_member(ring, user)
                return
        ring.over = True        # nobody left: the caller gives up

    # ----- what the agent does -----------------------------------------------------

    def drop(self, user: User, call_id: int) -> None:
        call = self._agent_call(user, call_id)
        if call.finished:
            raise ApiError(f"Call {call.id} is {state_text(call)}, already ended")
        # [ours] Refusing a callback's ring-back is a rejection too.
        self._end(call, "Rejected" if call.state in (RINGING, REMINDER) else "Normal")

    def accept(self, user: User, call_id: int) -> None:
        call = self._agent_call(user, call_id)
        if call.state == REMINDER:
            self._connect(call)
            return
        if call.state != RINGING or call.direction != IN:
            raise ApiError(f"Call {call.id} is {state_text(call)}, not Ringing or Reminder")
        ring = call.ring
        if ring is not None:
            ring.over = True
            for other in ring.calls:
                if other is not call:
                    self._end(other, "AnsweredElsewhere")
        self._connect(call)
        if call.peer is not None:
            self._far_end_answers(call.peer)

    def hold(self, user: User, call_id: int) -> None:
        call = self._agent_call(user, call_id)
        self._expect(call, CONNECTED)
        self._hold(call)

    def unhold(self, user: User, call_id: int) -> None:
        call = self._agent_call(user, call_id)
        self._expect(call, HOLD)
        self._set_call_state(call, CONNECTED)

    # Transfers (F35). The transferred party is the call's outside number; the call
    # that reaches a colleague carries TransferFrom, the agent's call TransferTo.

    def quick_transfer(self, user: User, call_id: int, number: str) -> None:
        call = self._agent_call(user, call_id)
        self._expect(call, CONNECTED, HOLD)
        self._require_transferable(call)
        if number == user.extension:
            raise ApiError(f"Call {call.id} cannot be transferred to its own extension {number}")
        target = self._colleague(user, number)
        if target is not None:
            why = self._why_unavailable(target)
            if why is not None:
                raise ApiError(f"Extension {number} is not available ({why})")
        call.transfer_to = number
        self._end(call, "Transferred")
        if target is not None:
            self._ring(target, call.number, transfer_from=user.extension)

    def start_transfer(self, user: User, call_id: int, number: str) -> Call:
        call = self._agent_call(user, call_id)
        self._expect(call, CONNECTED, HOLD)
        self._require_transferable(call)
        leg = self.calls.get(call.transfer_leg) if call.transfer_leg else None
        if leg is not None and not leg.finished:
            raise ApiError(f"Call {call.id} already has a transfer in progress (call {leg.id})")
        colleague = self._colleague(user, number)
        if call.state == CONNECTED:
            self._hold(call)
        leg = self._dial(user, number, "", OFFHOOK, colleague, transfer_for=call.id)
        call.transfer_leg = leg.id
        return leg

    def finish_transfer(self, user: User, call_id: int) -> None:
        call = self._agent_call(user, call_id)
        first = call
        if call.transfer_leg is None:
            # The agent may name the consult leg instead of the first one.
            first = self.calls.get(call.transfer_for) if call.transfer_for is not None else None
            if first is None or first.transfer_leg != call.id:
                raise ApiError(f"Call {call.id} has no transfer in progress")
        leg = self.calls[first.transfer_leg]
        if first.finished:
            raise ApiError(f"Call {first.id} is {state_text(first)}, the transfer cannot be finished")
        if leg.state != CONNECTED:
            raise ApiError(f"Call {leg.id} is {state_text(leg)}, not Connected: the transfer cannot be finished")
        target = leg.peer.user if leg.peer is not None else None
        first.transfer_to = leg.number
        self._end(first, "Transferred")
        self._end(leg, "Transferred")       # an internal leg ends the colleague's consult call too
        if target is not None:
            joined = self._new_call(target, IN, first.number, transfer_from=user.extension)
            joined.connected = joined.created       # straight to Connected: no wait at all
            self._connect(joined)

    def _require_transferable(self, call: Call) -> None:
        # [ours] Re-pairing the two legs of an internal call is beyond the emulator.
        if call.internal:
            raise ApiError(f"Call {call.id} is an internal call with extension {call.peer.user.extension}: "
                           "the emulator transfers only calls with an outside number")

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
        ring = call.ring
        if ring is not None and not ring.over:
            # The caller of a group hangs up: every call still ringing stops.
            ring.over = True
            for leg in ring.calls:
                self._end(leg)
        else:
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
        if call.state != ALERTING:
            return
        if call.mode == CALLBACK:
            # The agent's own phone rings back; not picked up in time, the call ends.
            self._cancel(call, "ring")
            self._set_call_state(call, REMINDER)
            self._later(call, "ring", self.scenario.ring_timeout, self._end, call, "NoAnswer")
        else:
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
        """Any live state -> 99 Disconnected -> 100 Finished; the call lingers, then is deleted.

        The other leg of an internal call ends with it, for the same reason; a group's
        call ending unanswered lets the group ring on.
        """
        if call.finished:
            return
        call.end_reason = reason
        self._cancel(call)
        self._set_call_state(call, DISCONNECTED)
        self._set_call_state(call, FINISHED)
        self._later(call, "linger", self.scenario.finished_linger, self._delete, call)
        if call.peer is not None:
            self._end(call.peer, reason)
        if call.ring is not None:
            self._group_call_ended(call.ring)

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
