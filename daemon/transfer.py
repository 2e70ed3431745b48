"""Transfers (F35): blind, or consult — the caller waits on hold while the agent talks
to the target, then the agent completes (joins them) or cancels (takes the caller back).
A consult whose target does not answer within `transfer.timeout` is cancelled by itself.

The state lives on the two calls: the caller's call names its consult leg
(`transfer_leg`); clearing it ends the consult, which the timer checks.
"""

from __future__ import annotations

import logging

from .calls import Call
from .control import Control, ended, forbid, resumed
from .infinity import CallAction, InfinityError
from .states import HELD, LineState
from .wire import Direction, ErrorCode, WireError

log = logging.getLogger("cc.transfer")
TRANSFERABLE = frozenset({LineState.CONNECTED, *HELD})


class Transfers:
    def __init__(self, control: Control, directory, settings: dict, spawn, publish):
        self.control = control
        self.tracker = control.tracker
        self.client = control.client
        self.directory = directory
        self.settings = settings
        self.spawn = spawn
        self.publish = publish

    async def start(self, target: str, blind: bool, call_id: str | None) -> dict:
        call = self.control.pick(call_id, {LineState.CONNECTED}, "transfer")
        if call.state not in TRANSFERABLE:
            raise forbid(call, "transfer", "a connected call")
        number, who = self.directory.resolve(target)
        call.transfer_from = self.settings["server.login"]
        call.transfer_to, call.transfer_number = who, number
        id_user = self.control.session.id_user
        try:
            if blind:
                await self.client.quick_transfer(id_user, call.call_id, number)
            else:
                leg_id = await self.client.start_transfer(id_user, call.call_id, number)
        except InfinityError as exc:
            call.transfer_from = call.transfer_to = call.transfer_number = ""
            raise WireError(ErrorCode.SERVER, f"the server refused the transfer to {who}: "
                            f"{exc}") from None
        self.tracker.save(call)
        if blind:
            await self.control.wait_end(call)
            return call.view()
        self.tracker.confirm(leg_id)
        leg = self.tracker.seen(leg_id, Direction.OUT, number)
        leg.consult_for = call.call_id
        call.transfer_leg = leg.call_id
        self.spawn(self._timeout(call, leg))
        settle = self.control.settle
        await self.tracker.wait_for(call, lambda c: c.state in HELD or c.ended, settle)
        await self.tracker.wait_for(leg, lambda c: c.state != LineState.UNKNOWN, settle)
        return {**call.view(), "transfer_leg": leg.view()}

    async def complete(self, call_id: str | None) -> dict:
        first = self.consulting(call_id)
        leg = self.tracker.calls[first.transfer_leg]
        if leg.state != LineState.CONNECTED:
            raise forbid(leg, "transfer complete", "the target to have answered")
        try:
            await self.client.finish_transfer(self.control.session.id_user, first.call_id)
        except InfinityError as exc:
            raise WireError(ErrorCode.SERVER, f"the server refused to complete the transfer: "
                            f"{exc}") from None
        await self.control.wait_end(first)
        return first.view()

    async def cancel(self, call_id: str | None) -> dict:
        return await self._take_back(self.consulting(call_id))

    def consult_to_hang_up(self, call_id: str | None) -> Call | None:
        """The caller's call when `cc hangup` means its consult leg: the leg named, or,
        with no call named, the leg of the consult in progress."""
        for call in self.tracker.active():
            leg = self.tracker.calls.get(call.transfer_leg) if call.transfer_leg else None
            if leg is not None and not leg.ended and call_id in (None, leg.call_id):
                return call
        return None

    async def hang_up_leg(self, first: Call) -> dict:
        """Hanging up on the consult target: the guide's "hang up to complete" once the
        target has answered (transfer.hangup_completes); before that, the consult is
        cancelled and the caller resumed. With the setting off, the caller stays on hold."""
        leg = self.tracker.calls[first.transfer_leg]
        if leg.state != LineState.CONNECTED:
            return {**await self._take_back(first), "transfer": "cancelled"}
        if self.settings["transfer.hangup_completes"]:
            return {**await self.complete(first.call_id), "transfer": "completed"}
        first.transfer_leg = ""
        first.transfer_to = first.transfer_number = first.transfer_from = ""
        self.tracker.save(first)
        await self.control.act(CallAction.HANG_UP, leg, ended)
        return {**first.view(), "transfer": "abandoned"}

    def consulting(self, call_id: str | None) -> Call:
        """The call whose consult transfer is in progress."""
        for call in self.tracker.active():
            if call.transfer_leg and (call_id in (None, call.call_id, call.transfer_leg)):
                leg = self.tracker.calls.get(call.transfer_leg)
                if leg is not None and not leg.ended:
                    return call
        raise WireError(ErrorCode.NO_SUCH_CALL, "no consult transfer in progress "
                        "(start one with `cc transfer TARGET`)")

    async def _take_back(self, first: Call) -> dict:
        """Hang up on the consult target and resume the caller."""
        leg = self.tracker.calls[first.transfer_leg]
        first.transfer_leg = ""      # tells the consult timer that this transfer is over
        first.transfer_to = first.transfer_number = first.transfer_from = ""
        if not leg.ended:
            await self.control.act(CallAction.HANG_UP, leg, ended)
        self.tracker.save(first)
        if first.state in HELD:
            await self.control.act(CallAction.RESUME, first, resumed)
        return first.view()

    async def _timeout(self, first: Call, leg: Call) -> None:
        answered = await self.tracker.wait_for(
            leg, lambda c: c.connected_at is not None or c.ended,
            self.settings["transfer.timeout"], self.control.session.clock)
        if first.ended or first.transfer_leg != leg.call_id:
            return
        if not answered or leg.ended:
            log.info("consult target of call %s did not answer; taking the caller back",
                     first.call_id)
            try:
                await self._take_back(first)
            except WireError as exc:
                log.warning("could not take the caller back: %s", exc.message)
            self.publish("transfer", {"call_id": first.call_id, "returned": True})
