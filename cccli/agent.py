"""Agent commands: log in and out, the agent's state, the daemon's status."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from . import client, render
from .options import Json


class StateName(str, Enum):
    available = "available"
    break_ = "break"
    away = "away"


def _show(view: dict, as_json: bool) -> None:
    if as_json:
        render.emit_json(view)
    else:
        print(render.agent_line(view))


def login(json: Json = False) -> None:
    """Log in to the Infinity server (the password comes from CC_PASSWORD or the settings)."""
    _show(client.request("login", password=client.env_password()), json)


def logout(json: Json = False) -> None:
    """Log out of the Infinity server."""
    _show(client.request("logout"), json)


def state(name: Annotated[Optional[StateName], typer.Argument(
        help="The state to set; without it, show the current state.")] = None,
        json: Json = False) -> None:
    """Show the agent's state, or set it: available, break or away."""
    if name is None:
        _show(client.request("state"), json)
    else:
        _show(client.request("state", name=name.value), json)


def status(json: Json = False) -> None:
    """The session, the agent's state and the active calls."""
    view = client.request("status")
    if json:
        render.emit_json(view)
        return
    session = view["session"]
    if session == "reconnecting":
        session = f"reconnecting, next try in {view.get('next_try_in', 0):.0f} s"
    print(f"daemon  pid {view['pid']}, {session} ({view['server']})")
    if view.get("last_error") and view["session"] != "logged in":
        print(f"error   {view['last_error']}")
    print(render.agent_line(view))
    for call in view["calls"]:
        print(render.call_line(call))
    if not view["calls"]:
        print("line idle")
    if view.get("unsaved_calls"):
        print(f"warning {view['unsaved_calls']} call(s) not yet written to the call log: "
              f"{view.get('store_error')}")
