"""The hold rule (F34): a call held too long makes its agent Busy, then No phone;
leaving hold gives the agent back the state they had."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .calls import BUSY, HOLD, NO_PHONE, Call

if TYPE_CHECKING:
    from .switch import Switch

HOLD_RULE_SECONDS = 30.0   # on hold this long -> Busy, twice as long -> No phone


class HoldRule:
    def __init__(self, switch: Switch):
        self.switch = switch
        self.directory = switch.directory

    def start(self, call: Call) -> None:
        """The call has just gone on hold."""
        self.switch.later(call, "hold1", HOLD_RULE_SECONDS, self._fire, call, 1, BUSY)
        self.switch.later(call, "hold2", 2 * HOLD_RULE_SECONDS, self._fire, call, 2, NO_PHONE)

    def _fire(self, call: Call, stage: int, state: int) -> None:
        call.timers.pop(f"hold{stage}", None)
        user = call.user
        if call.state != HOLD or not user.logged_on:
            return
        call.hold_stage = stage
        if user.rule_saved_state is None:
            user.rule_saved_state = user.state
        if user.state != state:
            self.directory.set_user_state(user, state)

    def end(self, call: Call) -> None:
        """The call has just left hold, or ended."""
        self.switch.cancel(call, "hold1")
        self.switch.cancel(call, "hold2")
        stage, call.hold_stage = call.hold_stage, 0
        user = call.user
        if stage == 0 or user.rule_saved_state is None or not user.logged_on:
            return
        # Another call of the agent still held too long keeps the rule in force.
        if any(c.hold_stage and c is not call for c in self.directory.active_calls(user)):
            return
        saved, user.rule_saved_state = user.rule_saved_state, None
        if user.state != saved:
            self.directory.set_user_state(user, saved)
