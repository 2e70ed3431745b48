"""The call state machine: creating calls, moving them through their states, their timers.

Groups and the hold rule hang off it, since calls ending and leaving hold drive them.
"""

from __future__ import annotations

import itertools
import time
from typing import Callable

from .calls import (ALERTING, CALLBACK, CONNECTED, DISCONNECTED, FINISHED, HOLD, IN, OUT, REMINDER,
                    RINGING, Call, User)
from .clock import Clock
from .directory import Directory
from .groups import Groups
from .holdrule import HoldRule
from .presence import Presence

BUSY_FAILS_AFTER = 1.0     # a busy far end ends the call after this many seconds


def first_id() -> int:
    """Where this run's IDs start: the wall clock in milliseconds, so a daemon that outlives
    an emulator restart never meets one ID for two calls (a run would have to hand out
    more IDs than milliseconds pass before the next one starts)."""
    return int(time.time() * 1000)


class Switch:
    def __init__(self, directory: Directory, clock: Clock):
        self.directory = directory
        self.scenario = directory.scenario
        self.clock = clock
        self.emit = directory.emit
        self._ids = itertools.count(first_id())
        self.groups = Groups(self)
        self.hold_rule = HoldRule(self)
        self.presence = Presence(directory)

    # ----- creating calls ----------------------------------------------------------

    def new_call(self, user: User, direction: int, number: str, tag: str = "", *,
                 internal: bool = False, mode: str = "", group: str = "", transfer_from: str = "",
                 transfer_for: int | None = None, goes_on: Call | None = None) -> Call:
        """A new call; `goes_on`: the call a transfer hands on, which this one continues
        as a connection of the same call."""
        call = Call(
            id=next(self._ids),
            user=user,
            direction=direction,
            number=number,
            created=self.clock.now(),
            connection_id=next(self._ids),
            # [ours] A call a transfer hands on is the same session: its legs share the id.
            seance_id=(goes_on.first or goes_on).seance_id if goes_on is not None
            else next(self._ids),
            # [ours] Number rules describe outside numbers; a colleague answers by hand.
            rule=None if internal else self.scenario.rule_for(number),
            tag=tag,
            mode=mode,
            group=group,
            transfer_from=transfer_from,
            transfer_for=transfer_for,
        )
        self.directory.calls[call.id] = call
        if goes_on is not None:
            call.first = goes_on.first or goes_on
            call.first.later.append(call)
        params = {
            "IDCall": call.id, "Extension": user.extension, "IDUser": user.id,
            "Number": number, "Direction": direction, "IDSeance": call.seance_id,
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

    def dial(self, user: User, number: str, tag: str, mode: str, colleague: User | None,
             transfer_for: int | None = None) -> Call:
        call = self.new_call(user, OUT, number, tag, internal=colleague is not None, mode=mode,
                             transfer_for=transfer_for)
        self.set_call_state(call, ALERTING)
        if colleague is not None:
            self._ring_colleague(call, colleague)
            return call
        rule = call.rule
        if rule is not None and rule.busy:
            self.later(call, "busy", BUSY_FAILS_AFTER, self.end, call, "Busy")
            return call
        self._ring_out(call)
        # A number no rule matches rings until ring_timeout.
        if rule is not None and not rule.never_answer:
            self.later(call, "answer", rule.answer_after, self.far_end_answers, call)
        return call

    def _ring_colleague(self, call: Call, colleague: User) -> None:
        """An internal call: the colleague's own call rings, or ours fails as busy."""
        if self.directory.why_unavailable(colleague, internal=True) is not None:
            # The colleague sees nothing, as with a busy outside number.
            self.later(call, "busy", BUSY_FAILS_AFTER, self.end, call, "Busy")
            return
        leg = self.new_call(colleague, IN, call.user.extension, internal=True)
        call.peer, leg.peer = leg, call
        self.set_call_state(leg, RINGING)
        self._ring_out(call)
        self._ring_out(leg)

    def ring(self, user: User, from_number: str, seconds: float | None = None, **marks) -> Call:
        call = self.new_call(user, IN, from_number, **marks)
        self.set_call_state(call, RINGING)
        self._ring_out(call, seconds)
        return call

    def _ring_out(self, call: Call, seconds: float | None = None) -> None:
        """Unanswered for ring_timeout (or `seconds`), the call ends with NoAnswer."""
        timeout = self.scenario.ring_timeout if seconds is None else seconds
        self.later(call, "ring", timeout, self.end, call, "NoAnswer")

    # ----- the state machine -------------------------------------------------------

    def set_call_state(self, call: Call, new: int) -> None:
        old = call.state
        now = self.clock.now()
        if old == HOLD and new != HOLD:
            call.holds[-1][1] = now
            self.hold_rule.end(call)
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
        self.presence.update(call.user)

    def far_end_answers(self, call: Call) -> None:
        """The other side picks up: a dialled number, or the colleague an internal call rang."""
        if call.state != ALERTING:
            return
        if call.mode == CALLBACK:
            # The agent's own phone rings back; not picked up in time, the call ends.
            self.cancel(call, "ring")
            self.set_call_state(call, REMINDER)
            self._ring_out(call)
        else:
            self.connect(call)

    def connect(self, call: Call) -> None:
        self.cancel(call, "ring")
        self.set_call_state(call, CONNECTED)
        if call.rule is not None and call.rule.hangup_after > 0:
            self.later(call, "hangup", call.rule.hangup_after, self.end, call)

    def hold(self, call: Call) -> None:
        self.set_call_state(call, HOLD)
        self.hold_rule.start(call)

    def end(self, call: Call, reason: str = "Normal") -> None:
        """Any live state -> 99 Disconnected -> 100 Finished; the call lingers, then is deleted.

        The other leg of an internal call ends with it, for the same reason; a group's
        call ending unanswered lets the group ring on.
        """
        if call.finished:
            return
        call.end_reason = reason
        self.cancel(call)
        self.set_call_state(call, DISCONNECTED)
        self.set_call_state(call, FINISHED)
        self.later(call, "linger", self.scenario.finished_linger, self._delete, call)
        if call.peer is not None:
            self.end(call.peer, reason)
        if call.ring is not None:
            self.groups.call_ended(call.ring)

    def _delete(self, call: Call) -> None:
        call.active = False
        call.timers.clear()
        self.emit("/call/OnCallDeleted/", {
            "IDCall": call.id, "Extension": call.user.extension, "IDUser": call.user.id,
        })

    # ----- timers ------------------------------------------------------------------

    def later(self, call: Call, name: str, seconds: float, fn: Callable, *args) -> None:
        """Run fn(*args) after `seconds` emulated seconds, as the call's timer `name`."""
        self.cancel(call, name)
        call.timers[name] = self.clock.later(seconds, fn, *args)

    @staticmethod
    def cancel(call: Call, name: str | None = None) -> None:
        """Stop one of the call's timers, or all of them."""
        names = [name] if name is not None else list(call.timers)
        for key in names:
            handle = call.timers.pop(key, None)
            if handle is not None:
                handle.cancel()
