"""What the emulated server knows: users, calls, their states, and the errors it answers.

Plain data: the behaviour lives in `model.py` and the objects it is made of.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from .scenario import NumberRule, UserSpec

if TYPE_CHECKING:
    from .clock import Timer
    from .groups import GroupRing

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
BREAK = 301
AWAY = 302
NO_PHONE = 303
BUSY = 304
RESERVED = 305
OFFLINE = 399
SETTABLE_STATES = (READY, BREAK, AWAY, NO_PHONE, BUSY, RESERVED)

Emit = Callable[[str, dict], None]


class ApiError(Exception):
    """A request the server refuses: answered 406 with ErrorMessage (and any extra fields)."""

    def __init__(self, message: str, **extra):
        super().__init__(message)
        self.message = message
        self.extra = extra


@dataclass
class User:
    spec: UserSpec
    state: int = OFFLINE
    host_name: str = ""
    # The state the server set by itself (Busy, No phone) while it holds, and the one the
    # agent had before, to give back when it no longer does (presence.py).
    server_state: int | None = None
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
    timers: dict[str, Timer] = field(default_factory=dict)
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
    # A transfer goes on as another user's call: one call of the server with several
    # connections, each recorded. The first call holds the later ones (`later`), and
    # each later one points at it (`first`).
    first: Call | None = field(default=None, repr=False)
    later: list[Call] = field(default_factory=list, repr=False)

    @property
    def internal(self) -> bool:
        return self.peer is not None

    @property
    def connections(self) -> list[Call]:
        """Every connection of the server's call this one is part of, in order."""
        first = self.first or self
        return [first, *first.later]

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


def expect_state(call: Call, *states: int) -> None:
    """Refuse a request about a call that is in none of these states."""
    if call.state not in states:
        wanted = " or ".join(CALL_STATE_NAMES[s] for s in states)
        raise ApiError(f"Call {call.id} is {state_text(call)}, not {wanted}")
