"""The emulated server's behaviour: what users and the far end do to calls.

Nothing here knows about HTTP. The server layer parses requests, calls these methods
and turns `ApiError` into 406 answers; the model reports events through the `emit`
callable it is given. Everything runs on one asyncio loop, so there is no locking.

`Model` is the directory of users and calls plus the actions requests ask for; the
call state machine and its timers are `Switch`, which groups and the hold rule hang
off, and transfers are `Transfers`.
"""

from __future__ import annotations

from .calls import (CONNECTED, DIAL_MODES, FINISHED, HOLD, IN, OFFHOOK, OFFLINE, READY, REMINDER,
                    RINGING, SETTABLE_STATES, ApiError, Call, Emit, User, expect_state, state_text)
from .clock import Clock
from .directory import Directory
from .scenario import Scenario
from .switch import Switch
from .transfers import Transfers


class Model(Directory):
    def __init__(self, scenario: Scenario, clock: Clock, emit: Emit):
        super().__init__(scenario, emit)
        self.clock = clock
        self.switch = Switch(self, clock)
        self.transfers = Transfers(self.switch)

    # ----- users -------------------------------------------------------------------

    def logon(self, user: User, host_name: str) -> None:
        user.host_name = host_name
        if not user.logged_on:
            self.set_user_state(user, READY)

    def logoff(self, user: User) -> None:
        if not user.logged_on:
            return
        # Forget the saved state first so that ending the calls does not give it back.
        self.switch.presence.forget(user)
        for call in self.active_calls(user):
            if not call.finished:
                self.switch.end(call)
        self.set_user_state(user, OFFLINE)

    def set_state(self, user: User, state: int) -> None:
        self.require_logged_on(user)
        if state not in SETTABLE_STATES:
            allowed = ", ".join(str(s) for s in SETTABLE_STATES)
            raise ApiError(f"State {state} cannot be set (allowed: {allowed})")
        self.switch.presence.chosen(user, state)

    # ----- creating calls ----------------------------------------------------------

    def make_call(self, user: User, number: str, tag: str = "", mode: str = OFFHOOK) -> Call:
        self.require_logged_on(user)
        if mode not in DIAL_MODES:
            raise ApiError(f"Malformed parameter Mode: {mode!r} (offhook or callback)")
        return self.switch.dial(user, number, tag, mode, self.colleague(user, number))

    def call_in(self, from_number: str, to: str) -> list[Call]:
        """An outside call to an extension or a group; the calls it rang."""
        group = self.scenario.group_for(to)
        if group is not None:
            return self.switch.groups.ring(group, from_number)
        user = self.user_by_extension(to)
        self.require_available(user)
        return [self.switch.ring(user, from_number)]

    # ----- what the agent does -----------------------------------------------------

    def drop(self, user: User, call_id: int) -> None:
        call = self.agent_call(user, call_id)
        if call.finished:
            raise ApiError(f"Call {call.id} is {state_text(call)}, already ended")
        # [ours] Refusing a callback's ring-back is a rejection too.
        self.switch.end(call, "Rejected" if call.state in (RINGING, REMINDER) else "Normal")

    def accept(self, user: User, call_id: int) -> None:
        call = self.agent_call(user, call_id)
        if call.state == REMINDER:
            self.switch.connect(call)
            return
        if call.state != RINGING or call.direction != IN:
            raise ApiError(f"Call {call.id} is {state_text(call)}, not Ringing or Reminder")
        self.switch.groups.answered(call)
        self.switch.connect(call)
        if call.peer is not None:
            self.switch.far_end_answers(call.peer)

    def hold(self, user: User, call_id: int) -> None:
        call = self.agent_call(user, call_id)
        expect_state(call, CONNECTED)
        self.switch.hold(call)

    def unhold(self, user: User, call_id: int) -> None:
        call = self.agent_call(user, call_id)
        expect_state(call, HOLD)
        self.switch.set_call_state(call, CONNECTED)

    def send_digits(self, user: User, call_id: int) -> None:
        call = self.agent_call(user, call_id)
        expect_state(call, CONNECTED)

    # ----- what the far end and the emulator admin do ------------------------------

    def far_end_hangup(self, call_id: int) -> Call:
        call = self.calls.get(call_id)
        if call is None or not call.active:
            raise ApiError("Call not found")
        if call.finished:
            raise ApiError(f"Call {call.id} is {state_text(call)}, already ended")
        if not self.switch.groups.caller_hangs_up(call):
            self.switch.end(call)
        return call

    def restart(self) -> None:
        """Forget every session as a real restart would: no events, calls leave the list."""
        now = self.clock.now()
        for call in self.calls.values():
            self.switch.cancel(call)
            call.hold_stage = 0
            if not call.finished:
                if call.holds and call.holds[-1][1] is None:
                    call.holds[-1][1] = now
                call.ended = now
                call.state = FINISHED
            call.active = False
        for user in self.users:
            user.state = OFFLINE
            self.switch.presence.forget(user)

    def shutdown(self) -> None:
        for call in self.calls.values():
            self.switch.cancel(call)
