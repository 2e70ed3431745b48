"""The hold rule (F34): a call held too long makes its agent Busy, then No phone.

This counts the stages on the call; presence.py turns them into the agent's state and
gives back the state they had when the call leaves hold or ends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .calls import HOLD, Call

if TYPE_CHECKING:
    from .switch import Switch

HOLD_RULE_SECONDS = 30.0   # on hold this long -> Busy, twice as long -> No phone


class HoldRule:
    def __init__(self, switch: Switch):
        self.switch = switch

    def start(self, call: Call) -> None:
        """The call has just gone on hold."""
        self.switch.later(call, "hold1", HOLD_RULE_SECONDS, self._fire, call, 1)
        self.switch.later(call, "hold2", 2 * HOLD_RULE_SECONDS, self._fire, call, 2)

    def _fire(self, call: Call, stage: int) -> None:
        call.timers.pop(f"hold{stage}", None)
        if call.state != HOLD:
            return
        call.hold_stage = stage
        self.switch.presence.update(call.user)

    def end(self, call: Call) -> None:
        """The call has just left hold, or ended."""
        self.switch.cancel(call, "hold1")
        self.switch.cancel(call, "hold2")
        call.hold_stage = 0
