"""What the server says, as typed values: the rest of the daemon sees only these.

Every event carries `at`, when the daemon learnt it (the monotonic clock), and a poll's
rows carry the time the poll was sent: an update older than one already applied must
not undo it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..phone import ANONYMOUS
from ..wire import Direction

# Direction codes on the wire [com]: 0 unknown, 1 in, 2 out.
DIRECTION_CODES = {1: Direction.IN, 2: Direction.OUT}


def direction(code: int | None) -> Direction:
    return DIRECTION_CODES.get(code, Direction.UNKNOWN) if code is not None \
        else Direction.UNKNOWN


def caller_number(raw: str | None, way: Direction) -> str:
    """The far end's number as the daemon keeps it: an incoming call's "anonymous" (in
    any case) is a call without caller ID, and so is an empty Number when the server
    announces the call; None (not said) and "" elsewhere are a number not known yet."""
    text = (raw or "").strip()
    if way == Direction.IN and (text.lower() == ANONYMOUS or (raw is not None and not text)):
        return ANONYMOUS
    return text


@dataclass(frozen=True)
class AgentStateChanged:
    """Any user's state changed: the agent's own, or a colleague's."""

    id_user: int
    extension: str
    state: int
    at: float


@dataclass(frozen=True)
class CallCreated:
    call_id: str
    id_user: int | None
    extension: str
    number: str
    direction: Direction
    transfer_from: str       # [ours] the extension that transferred the call here
    group: str               # [ours] the group number the call came in on
    at: float
    seance: str = ""         # [ours] the server's session id, shared by a call's legs


@dataclass(frozen=True)
class CallStateChanged:
    call_id: str
    id_user: int | None
    extension: str
    state: int
    reason: str              # [ours] why a call ended: Busy, Rejected, ...
    at: float


@dataclass(frozen=True)
class CallDeleted:
    call_id: str
    id_user: int | None
    extension: str
    at: float


@dataclass(frozen=True)
class RestartRequested:
    """[ours] The server asks its clients to log on afresh."""

    reason: str
    at: float


ServerEvent = AgentStateChanged | CallCreated | CallStateChanged | CallDeleted \
    | RestartRequested


@dataclass(frozen=True)
class ActiveCall:
    """A row of the server's active calls."""

    call_id: str
    state: int
    direction: Direction
    number: str
    reason: str
    seance: str = ""         # [ours] the server's session id, shared by a call's legs


@dataclass(frozen=True)
class ConnectionRecord:
    """The server's own figures for one connection of a call."""

    id: str
    started_at: datetime | None
    full_seconds: float
    wait_seconds: float
    talk_seconds: float
    hold_seconds: float
    # Who took part ("" when the server does not say): a transferred call has a
    # connection per agent it reached.
    a_number: str = ""
    b_id_user: str = ""

    def has(self, id_user: int, extension: str) -> bool:
        """Whether this agent took part: called from their extension, or reached on it."""
        return self.b_id_user == str(id_user) or bool(extension and self.a_number == extension)
