"""Call control shared by the commands: which call a command means, and asking the server
for an action and waiting until the call shows its result."""

from __future__ import annotations

import logging

from .calls import Call, CallTracker
from .infinity import CallAction, InfinityClient, InfinityError
from .states import HELD, line_name
from .wire import ErrorCode, WireError

log = logging.getLogger("cc.control")


def resumed(call: Call) -> bool:
    return call.state not in HELD


def ended(call: Call) -> bool:
    return call.ended


def forbid(call: Call, verb: str, needs: str) -> WireError:
    return WireError(ErrorCode.STATE_FORBIDS, f"call {call.call_id} is {line_name(call.state)}: "
                     f"{verb} needs {needs}")


class Control:
    def __init__(self, tracker: CallTracker, client: InfinityClient, session, settings: dict):
        self.tracker = tracker
        self.client = client
        self.session = session
        self.settings = settings

    @property
    def settle(self) -> float:
        """How long a change may take to show: one poll, and a second for the answer."""
        return self.settings["server.poll_interval"] + 1

    def pick(self, call_id: str | None, wanted=None, verb: str = "") -> Call:
        """The call named by `--call`, else the only active one (or the only one in a
        `wanted` state)."""
        if call_id:
            call = self.tracker.calls.get(str(call_id))
            if call is None or call.ended:
                raise WireError(ErrorCode.NO_SUCH_CALL, f"no active call {call_id} "
                                "(see `cc status`)")
            return call
        active = self.tracker.active()
        if wanted:
            matching = [c for c in active if c.state in wanted]
            if len(matching) == 1:
                return matching[0]
        if not active:
            raise WireError(ErrorCode.NO_SUCH_CALL, f"no call to {verb}: the line is idle")
        if len(active) > 1:
            ids = ", ".join(c.call_id for c in active)
            raise WireError(ErrorCode.BAD_INPUT, f"several calls ({ids}): name one with --call")
        return active[0]

    async def on_call(self, call_id: str | None, command: str, action: CallAction, done,
                      states=None, needs: str = "", verb: str = "") -> dict:
        """The whole of a simple call command: once logged in, pick the call, check it is
        in one of `states`, ask the server for `action` and wait until `done`."""
        await self.session.ready()
        call = self.pick(call_id, states, verb or command)
        if states is not None and call.state not in states:
            raise forbid(call, command, needs)
        return await self.act(action, call, done)

    async def act(self, action: CallAction, call: Call, done) -> dict:
        """Ask the server, then wait (briefly) until the call shows the result."""
        if action == CallAction.HANG_UP:
            call.dropped_by_agent = True
        try:
            await self.client.call_action(action, self.session.id_user, call.call_id)
        except InfinityError as exc:
            raise WireError(ErrorCode.SERVER, f"the server refused to {action.verb} call "
                            f"{call.call_id}: {exc}") from None
        await self.tracker.wait_for(call, done, self.settle)
        return call.view()

    async def wait_end(self, call: Call) -> None:
        await self.tracker.wait_for(call, ended, self.settle)
