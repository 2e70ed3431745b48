"""Agent commands: log in and out, the agent's state, the daemon's status."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from . import actions, client, complete, render
from .options import Json


class StateName(str, Enum):
    available = "available"
    break_ = "break"
    away = "away"


def login(json: Json = False) -> None:
    """Log in to the Infinity server (the password comes from CC_PASSWORD or the settings)."""
    render.out(client.request("login", password=client.env_password()), json,
               render.agent_line)


def logout(json: Json = False) -> None:
    """Log out of the Infinity server."""
    render.out(client.request("logout"), json, render.agent_line)


def state(name: Annotated[Optional[StateName], typer.Argument(
        help="The state to set; without it, show the current state.")] = None,
        json: Json = False) -> None:
    """Show the agent's state, or set it: available, break or away."""
    actions.state(name.value if name else None, json)


For = Annotated[Optional[str], typer.Option("--for", help="Return to Available by itself "
                                            "after this long (30m, 1h, 90s).")]
AfterCall = Annotated[bool, typer.Option("--after-call", help="Start when the current call "
                                         "ends.")]


def available(json: Json = False) -> None:
    """Become Available: calls reach you."""
    actions.available(json)


def away(for_: For = None, after_call: AfterCall = False, json: Json = False) -> None:
    """Become Away: no call reaches you."""
    actions.away(for_, after_call, json)


def break_(reason: Annotated[Optional[str], typer.Argument(
               help="A regulated reason (see states.break_reasons).",
               autocompletion=complete.break_reasons)] = None,
           other: Annotated[Optional[str], typer.Option(
               "--other", help="A reason of your own, in words.")] = None,
           for_: For = None, after_call: AfterCall = False, json: Json = False) -> None:
    """Take a break: outgoing calls allowed, no incoming."""
    actions.break_(reason, other, for_, after_call, json)


def status(json: Json = False) -> None:
    """The session, the agent's state and the active calls."""
    actions.status(json)
