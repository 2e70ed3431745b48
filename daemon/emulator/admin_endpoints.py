"""The emulator's own admin endpoints under /_emulator/ (docs/infinity.md, Part 2).

They steer the emulated server for tests and demos; `admin.py` is their client.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from .admin import ADMIN_PREFIX, FOREVER
from .calls import ApiError, Call, User
from .faults import DEFAULT_SLOW_DELAY, FAULT_KINDS, Fault
from .params import float_param, int_param, normalize_path, number_param, param
from .scenario import ANONYMOUS, EVENTS_URL_FORM, MANUAL, is_valid_events_url

if TYPE_CHECKING:
    from .server import Emulator


def call_record(call: Call, now: float) -> dict:
    """The emulator's own record of a call, for /_emulator/calls/."""
    return {
        "IDCall": call.id,
        "IDUser": call.user.id,
        "Extension": call.user.extension,
        "Direction": call.direction,
        "Number": call.number,
        "State": call.state,
        "Created": call.created,
        "Connected": call.connected,
        "Ended": call.ended,
        "WaitSeconds": call.wait_seconds(now),
        "TalkSeconds": call.talk_seconds(now),
        "HoldSeconds": call.hold_seconds(now),
        "IDConnection": call.connection_id,
        # [ours] every connection of the server's call, this one's among them (transfers)
        "Connections": [part.connection_id for part in call.connections],
        "IDSeance": call.seance_id,
        "Active": call.active,
        "Tag": call.tag,
        "Reason": call.end_reason,
        "Mode": call.mode,
        "Group": call.group,
        "TransferFrom": call.transfer_from,
        "TransferTo": call.transfer_to,
        # [ours] the consult leg's first call, and the other leg of an internal call
        "TransferFor": call.transfer_for,
        "Peer": call.peer.id if call.peer is not None else None,
    }


def user_record(user: User) -> dict:
    return {
        "IDUser": user.id,
        "Login": user.spec.login,
        "Extension": user.extension,
        "Name": user.spec.name,
        "Position": user.spec.position,
        "Department": user.spec.department,
        "IDUserState": user.state,
    }


def events_url(q) -> str:
    url = param(q, "URL")
    if not is_valid_events_url(url):
        raise ApiError(f"Malformed parameter URL: {url!r} (expected {EVENTS_URL_FORM})")
    return url


class AdminEndpoints:
    def __init__(self, emulator: Emulator):
        self.emulator = emulator
        self.model = emulator.model
        self.pusher = emulator.pusher
        self.clock = emulator.clock
        self.table: dict[str, Callable[[Any], dict | Awaitable[dict]]] = {
            "subscribe": self.subscribe,
            "unsubscribe": self.unsubscribe,
            "call-in": self.call_in,
            "hangup": self.hangup,
            "network": self.network,
            "fault": self.fault,
            "faults": self.faults,
            "restart": self.restart,
            "ask-restart": self.ask_restart,
            "clock": self.clock_now,
            "advance": self.advance,
            "calls": self.calls,
            "users": self.users,
        }

    def subscribe(self, q) -> dict:
        url = events_url(q)
        self.pusher.subscribe(url)
        return {"Subscribed": url}

    def unsubscribe(self, q) -> dict:
        url = events_url(q)
        self.pusher.unsubscribe(url)   # idempotent, like subscribe
        return {"Unsubscribed": url}

    def call_in(self, q) -> dict:
        # From=anonymous: a call without caller ID, whose number the server writes its way.
        if param(q, "From").lower() == ANONYMOUS:
            number = self.model.scenario.anonymous_number
        else:
            number = number_param(q, "From", also=f" (or {ANONYMOUS})")
        calls = self.model.call_in(number, param(q, "To"))
        # IDCalls lists every call rung so far: a ring-all group rings several at once;
        # [ours] a call to one extension answers IDCalls too, with its one call.
        return {"IDCall": calls[0].id, "IDCalls": [call.id for call in calls]}

    def hangup(self, q) -> dict:
        call = self.model.far_end_hangup(int_param(q, "IDCall"))
        return {"IDCall": call.id}

    def network(self, q) -> dict:
        network = self.emulator.network
        if (q.get("Down") or "").strip().lower() == FOREVER:
            network.drop(math.inf)
            return {"Down": FOREVER, "DownUntil": None}
        seconds = float_param(q, "Down", also=f" (or {FOREVER})")
        network.drop(seconds)
        return {"Down": seconds, "DownUntil": network.down_until}

    def fault(self, q) -> dict:
        kind = param(q, "Kind")
        if kind == "none":
            self.emulator.faults.clear()
            return {"Faults": 0}
        if kind not in FAULT_KINDS:
            raise ApiError(f"Unknown fault Kind {kind} (one of: {', '.join(FAULT_KINDS)}, "
                           "or none to clear)")
        count = int_param(q, "Count") if (q.get("Count") or "").strip() else 1
        if count < 1:
            raise ApiError("Malformed parameter Count: it must be 1 or more")
        path = self._fault_path(q, kind)
        delay = float_param(q, "Delay", DEFAULT_SLOW_DELAY)
        self.emulator.faults.add(Fault(kind, count, path, delay))
        return {"Fault": kind, "Count": count, "Path": path,
                "Delay": delay if kind == "slow" else None}

    @staticmethod
    def _fault_path(q, kind: str) -> str | None:
        """The one method a fault hits, or None for any."""
        path = normalize_path(q["Path"].strip()) if (q.get("Path") or "").strip() else None
        if path is not None and not path.startswith("/"):
            path = "/" + path
        if path is not None and path.startswith(ADMIN_PREFIX):
            raise ApiError("Faults never apply to /_emulator/ endpoints")
        if kind == "unknown-state":
            if path not in (None, "/user/getstate/"):
                raise ApiError("Fault unknown-state only applies to /user/getstate/")
            path = "/user/getstate/"
        return path

    def faults(self, q) -> dict:
        """The faults still waiting for a request: a test knows when one has been taken."""
        return {"Faults": [{"Kind": f.kind, "Path": f.path, "Remaining": f.remaining}
                           for f in self.emulator.faults.waiting]}

    def restart(self, q) -> dict:
        self.model.restart()
        return {}

    def ask_restart(self, q) -> dict:
        """[ours] The server asks its clients to restart (F4): /user/OnRestartRequired/."""
        self.pusher.emit("/user/OnRestartRequired/", {"Reason": q.get("Reason") or "update"})
        return {}

    def clock_now(self, q) -> dict:
        return {"Now": self.clock.now(), "TimeScale": self.clock.time_scale,
                "Mode": self.clock.mode}

    async def advance(self, q) -> dict:
        """Move a manual clock on, firing the timers due on the way; answer once the
        events they raised have reached every subscriber."""
        if self.clock.mode != MANUAL:
            raise ApiError("The clock is scaled and runs by itself: only a manual clock is "
                           "advanced (start the emulator with --manual-clock, or "
                           'clock = "manual" in [server])')
        seconds = float_param(q, "Seconds", above_zero=True)
        fired = self.clock.advance(seconds)
        now = self.clock.now()
        await self.pusher.flush()
        return {"Now": now, "Fired": fired}

    def calls(self, q) -> dict:
        now = self.clock.now()
        return {"Calls": [call_record(call, now) for call in self.model.calls.values()]}

    def users(self, q) -> dict:
        return {"Users": [user_record(user) for user in self.model.users]}
