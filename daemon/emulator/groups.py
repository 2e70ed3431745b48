"""Groups (F33): ring-all rings every available member at once, hunt one after another;
a member is available when logged on, Ready and without a live call."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .calls import ApiError, Call, User
from .scenario import HUNT, GroupSpec

if TYPE_CHECKING:
    from .switch import Switch


@dataclass(eq=False)
class GroupRing:
    """One outside call to a group: the calls it rang, and who is still to try."""

    spec: GroupSpec
    caller: str
    pending: list[User] = field(default_factory=list)   # hunt: members not tried yet
    calls: list[Call] = field(default_factory=list)
    over: bool = False      # answered, or the caller gave up: ring nobody else


class Groups:
    def __init__(self, switch: Switch):
        self.switch = switch
        self.directory = switch.directory

    def ring(self, group: GroupSpec, from_number: str) -> list[Call]:
        """An outside call to the group; the calls it rang."""
        members = [self.directory.user_by_extension(ext) for ext in group.extensions]
        available = [u for u in members if self.directory.why_unavailable(u) is None]
        if not available:
            raise ApiError(f"No agent of group {group.number} is available")
        ring = GroupRing(group, from_number)
        if group.order == HUNT:
            ring.pending = members[members.index(available[0]) + 1:]
            self._ring_member(ring, available[0])
        else:
            for user in available:
                self._ring_member(ring, user)
        return list(ring.calls)

    def _ring_member(self, ring: GroupRing, user: User) -> None:
        # [ours] A hunted agent rings hunt_timeout instead of ring_timeout.
        seconds = ring.spec.hunt_timeout if ring.spec.order == HUNT else None
        call = self.switch.ring(user, ring.caller, seconds, group=ring.spec.number)
        call.ring = ring
        ring.calls.append(call)

    def answered(self, call: Call) -> None:
        """An agent took a group's call: the others' calls stop ringing."""
        ring = call.ring
        if ring is None:
            return
        ring.over = True
        for other in ring.calls:
            if other is not call:
                self.switch.end(other, "AnsweredElsewhere")

    def caller_hangs_up(self, call: Call) -> bool:
        """The caller of a group hangs up: every call still ringing stops. False if not a group's."""
        ring = call.ring
        if ring is None or ring.over:
            return False
        ring.over = True
        for leg in ring.calls:
            self.switch.end(leg)
        return True

    def call_ended(self, ring: GroupRing) -> None:
        if ring.over or any(not c.finished for c in ring.calls):
            return
        # Hunt: the next available member in order; busy ones are skipped for good.
        while ring.spec.order == HUNT and ring.pending:
            user = ring.pending.pop(0)
            if self.directory.why_unavailable(user) is None:
                self._ring_member(ring, user)
                return
        ring.over = True        # nobody left: the caller gives up
