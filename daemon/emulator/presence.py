"""The states the server sets by itself (F17, F34).

An agent whose line is busy shows Busy to everyone (user/getstate, OnStateChanged) until
the line is free again. A call on hold frees the line, so a short hold lets calls reach
the agent; held 30 s it makes them Busy, 60 s No phone (the hold rule's stages, counted
on the call by holdrule.py). Once none of that holds, the agent gets back the state
they had, unless they chose one meanwhile: the agent's own choice is never undone.
"""

from __future__ import annotations

from .calls import ALERTING, BUSY, CALLBACK, CONNECTED, NO_PHONE, Call, User
from .directory import Directory


def line_busy(call: Call) -> bool:
    """The call takes the agent's line: talking, or dialling out from the agent's phone
    (a callback dials the far end first, with the agent's line still free)."""
    if call.state == CONNECTED:
        return True
    return call.state == ALERTING and call.mode != CALLBACK


class Presence:
    def __init__(self, directory: Directory):
        self.directory = directory

    def server_state(self, user: User) -> int | None:
        """The state the server gives the agent now because of their calls, or None."""
        calls = [c for c in self.directory.active_calls(user) if not c.finished]
        if any(c.hold_stage == 2 for c in calls):
            return NO_PHONE
        if any(c.hold_stage == 1 or line_busy(c) for c in calls):
            return BUSY
        return None

    def update(self, user: User) -> None:
        """Something about the agent's calls changed: apply what the server now says."""
        if not user.logged_on:
            return
        wanted = self.server_state(user)
        if wanted == user.server_state:
            return
        user.server_state = wanted
        if wanted is None:
            saved, user.rule_saved_state = user.rule_saved_state, None
            if saved is not None and saved != user.state:
                self.directory.set_user_state(user, saved)
            return
        if user.rule_saved_state is None:
            user.rule_saved_state = user.state
        if user.state != wanted:
            self.directory.set_user_state(user, wanted)

    def chosen(self, user: User, state: int) -> None:
        """The agent sets a state: it shows at once, and nothing gives back an older one."""
        user.rule_saved_state = None
        if state != user.state:
            self.directory.set_user_state(user, state)

    @staticmethod
    def forget(user: User) -> None:
        """The session ends: nothing is left to give back."""
        user.server_state = user.rule_saved_state = None
