"""Transfers (F35). The transferred party is the call's outside number; the call that
reaches a colleague carries TransferFrom, the agent's call TransferTo."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .calls import CONNECTED, HOLD, IN, OFFHOOK, ApiError, Call, User, expect_state, state_text

if TYPE_CHECKING:
    from .switch import Switch


class Transfers:
    def __init__(self, switch: Switch):
        self.switch = switch
        self.directory = switch.directory

    def quick(self, user: User, call_id: int, number: str) -> None:
        """A blind transfer: the call goes to `number` at once and ends here."""
        call = self._transferable(user, call_id)
        if number == user.extension:
            raise ApiError(f"Call {call.id} cannot be transferred to its own extension {number}")
        target = self.directory.colleague(user, number)
        if target is not None:
            why = self.directory.why_unavailable(target)
            if why is not None:
                raise ApiError(f"Extension {number} is not available ({why})")
        call.transfer_to = number
        self.switch.end(call, "Transferred")
        if target is not None:
            self.switch.ring(target, call.number, transfer_from=user.extension, goes_on=call)

    def start(self, user: User, call_id: int, number: str) -> Call:
        """A consult transfer: hold the call and dial `number` as a leg of its own."""
        call = self._transferable(user, call_id)
        calls = self.directory.calls
        leg = calls.get(call.transfer_leg) if call.transfer_leg else None
        if leg is not None and not leg.finished:
            raise ApiError(f"Call {call.id} already has a transfer in progress (call {leg.id})")
        colleague = self.directory.colleague(user, number)
        if call.state == CONNECTED:
            self.switch.hold(call)
        leg = self.switch.dial(user, number, "", OFFHOOK, colleague, transfer_for=call.id)
        call.transfer_leg = leg.id
        return leg

    def finish(self, user: User, call_id: int) -> None:
        """The consult leg is answered: join the caller with its far end."""
        call = self.directory.agent_call(user, call_id)
        calls = self.directory.calls
        first = call
        if call.transfer_leg is None:
            # The agent may name the consult leg instead of the first one.
            first = calls.get(call.transfer_for) if call.transfer_for is not None else None
            if first is None or first.transfer_leg != call.id:
                raise ApiError(f"Call {call.id} has no transfer in progress")
        leg = calls[first.transfer_leg]
        if first.finished:
            raise ApiError(f"Call {first.id} is {state_text(first)}, the transfer cannot be "
                           "finished")
        if leg.state != CONNECTED:
            raise ApiError(f"Call {leg.id} is {state_text(leg)}, not Connected: the transfer "
                           "cannot be finished")
        target = leg.peer.user if leg.peer is not None else None
        first.transfer_to = leg.number
        self.switch.end(first, "Transferred")
        # An internal leg ends the colleague's consult call too.
        self.switch.end(leg, "Transferred")
        if target is not None:
            joined = self.switch.new_call(target, IN, first.number, transfer_from=user.extension,
                                          goes_on=first)
            joined.connected = joined.created       # straight to Connected: no wait at all
            self.switch.connect(joined)

    def _transferable(self, user: User, call_id: int) -> Call:
        call = self.directory.agent_call(user, call_id)
        expect_state(call, CONNECTED, HOLD)
        # [ours] Re-pairing the two legs of an internal call is beyond the emulator.
        if call.internal:
            raise ApiError(f"Call {call.id} is an internal call with extension "
                           f"{call.peer.user.extension}: "
                           "the emulator transfers only calls with an outside number")
        return call
