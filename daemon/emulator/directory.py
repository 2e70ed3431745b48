"""The users and calls the emulated server knows, found by what requests name them by."""

from __future__ import annotations

from .calls import BREAK, READY, ApiError, Call, Emit, User
from .scenario import Scenario


class Directory:
    def __init__(self, scenario: Scenario, emit: Emit):
        self.scenario = scenario
        self.emit = emit
        self.users = [User(spec) for spec in scenario.users]
        self.calls: dict[int, Call] = {}          # every call ever known, for stat/*

    # ----- lookups -------------------------------------------------------------

    def user_by_id(self, user_id: int) -> User:
        for user in self.users:
            if user.id == user_id:
                return user
        raise ApiError("User not found")

    def user_by_extension(self, extension: str) -> User:
        for user in self.users:
            if user.extension == extension:
                return user
        raise ApiError(f"Extension {extension} not found")

    def user_by_login(self, login: str) -> User | None:
        for user in self.users:
            if user.spec.login == login:
                return user
        return None

    def active_call(self, user: User, call_id: int) -> Call:
        """A call in the active list that belongs to this user."""
        call = self.calls.get(call_id)
        if call is None or not call.active:
            raise ApiError("Call not found")
        if call.user is not user:
            raise ApiError(f"Call {call_id} is not a call of extension {user.extension}")
        return call

    def agent_call(self, user: User, call_id: int) -> Call:
        """A call the agent acts on: theirs, active, and they are logged on."""
        self.require_logged_on(user)
        return self.active_call(user, call_id)

    def known_call(self, call_id: int) -> Call:
        """Any call ever made, as the statistics know it."""
        call = self.calls.get(call_id)
        if call is None:
            raise ApiError("Call not found")
        return call

    def call_by_connection(self, connection_id: int) -> Call:
        for call in self.calls.values():
            if connection_id in (call.connection_id, call.seance_id):
                return call
        raise ApiError("Connection not found")

    def active_calls(self, user: User | None = None) -> list[Call]:
        return [c for c in self.calls.values() if c.active and (user is None or c.user is user)]

    # ----- who can be rung ---------------------------------------------------------

    def set_user_state(self, user: User, state: int) -> None:
        user.state = state
        self.emit("/user/OnStateChanged/", {"IDUser": user.id, "IDUserState": state})

    @staticmethod
    def require_logged_on(user: User) -> None:
        if not user.logged_on:
            raise ApiError("User is not logged on")

    def refusal(self, user: User, internal: bool) -> str | None:
        """Why the server routes no incoming call to this agent now, or None (F17): only a
        Ready agent takes calls; Away, No phone, Busy and Reserved take none, Break no
        external one (internal ones too when the server allows it)."""
        if not user.logged_on:
            return "not logged on"
        if user.state == READY:
            return None
        if user.state == BREAK and internal and self.scenario.internal_calls_on_break:
            return None
        return f"state {user.state}"

    def require_available(self, user: User) -> None:
        """An outside call straight to the agent's extension rings, or is refused."""
        why = self.refusal(user, internal=False)
        if why is not None:
            raise ApiError(f"Extension {user.extension} is not available ({why})")

    def why_unavailable(self, user: User, internal: bool = False) -> str | None:
        """Why a colleague, a transfer target or a group member cannot be rung now, or
        None if they can: routed calls also skip an agent who has a live call."""
        why = self.refusal(user, internal)
        if why is not None:
            return why
        live = next((c for c in self.active_calls(user) if not c.finished), None)
        if live is not None:
            return f"on call {live.id}"
        return None

    def colleague(self, user: User, number: str) -> User | None:
        """The user whose extension a dialled number is, if any; refuses what cannot be dialled."""
        if number == user.extension:
            raise ApiError(f"Number {number} is the extension of the caller itself")
        group = self.scenario.group_for(number)
        if group is not None:
            # [ours] The emulator routes a group only for calls from outside.
            raise ApiError(f"Number {number} is a group: the emulator rings groups only "
                           "for incoming calls (/_emulator/call-in/)")
        return next((u for u in self.users if u.extension == number), None)
