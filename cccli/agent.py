"""Agent commands: log in and out, the agent's state, the daemon's status."""

from __future__ import annotations

import re
from datetime import datetime
from enum import Enum
from typing import Annotated, Optional

import typer

from daemon.units import duration
from daemon.wire import ErrorCode, SessionStatus, WireError

from . import client, complete, render
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
    render.out(client.request("state", name=name.value if name else None), json,
               render.agent_line)


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h)?$")
_UNIT = {"s": 1, "m": 60, "h": 3600, None: 60}


def parse_duration(text: str) -> float:
    """`30m`, `1h`, `90s`, or plain minutes."""
    match = _DURATION.match(text.strip())
    if not match or float(match.group(1)) <= 0:
        raise WireError(ErrorCode.BAD_INPUT, f"--for '{text}' is not a duration: use e.g. 30m, 1h "
                        "or 90s")
    return float(match.group(1)) * _UNIT[match.group(2)]


For = Annotated[Optional[str], typer.Option("--for", help="Return to Available by itself "
                                            "after this long (30m, 1h, 90s).")]
AfterCall = Annotated[bool, typer.Option("--after-call", help="Start when the current call "
                                         "ends.")]


def _set(name: str, json: bool, for_: str | None = None, after_call: bool = False,
         **extra) -> None:
    seconds = parse_duration(for_) if for_ else None
    render.out(client.request("state", name=name, for_seconds=seconds, after_call=after_call,
                              **extra), json, render.agent_line)


def available(json: Json = False) -> None:
    """Become Available: calls reach you."""
    _set("available", json)


def away(for_: For = None, after_call: AfterCall = False, json: Json = False) -> None:
    """Become Away: no call reaches you."""
    _set("away", json, for_, after_call)


def break_(reason: Annotated[Optional[str], typer.Argument(
               help="A regulated reason (see states.break_reasons).",
               autocompletion=complete.break_reasons)] = None,
           other: Annotated[Optional[str], typer.Option(
               "--other", help="A reason of your own, in words.")] = None,
           for_: For = None, after_call: AfterCall = False, json: Json = False) -> None:
    """Take a break: outgoing calls allowed, no incoming."""
    if reason and other:
        raise WireError(ErrorCode.BAD_INPUT, "give a regulated REASON or --other TEXT, not both")
    _set("break", json, for_, after_call, reason=reason, other=other)


def status(json: Json = False) -> None:
    """The session, the agent's state and the active calls."""
    render.out(client.request("status"), json, _status_lines)


def _status_lines(view: dict) -> str:
    session = view["session"]
    if session == SessionStatus.RECONNECTING:
        session = f"reconnecting, next try in {view.get('next_try_in', 0):.0f} s"
    elif session == SessionStatus.DISCONNECTED:
        session = "disconnected (session.reconnect is off: log in again with `cc login`)"
    lines = [f"daemon  pid {view['pid']}, {session} ({view['server']})"]
    if view.get("last_error") and view["session"] != SessionStatus.LOGGED_IN:
        lines.append(f"error   {view['last_error']}")
    lines.append(render.agent_line(view))
    lines += [render.call_line(call) for call in view["calls"]] or ["line idle"]
    if view.get("wrapup"):
        lines.append(_wrapup_line(view["wrapup"]))
    lines += render.waiting_lines(view)
    lines += render.events_lines(view)
    lines += [f"warning {render.task_failure(task)}" for task in view.get("task_failures", ())]
    if view.get("store_notice"):
        lines.append(f"notice  {view['store_notice']}")
    if "team" in view:
        lines.append(render.team_line(view["team"]))
    if "retention" in view:
        lines.append(render.retention_line(view["retention"]))
    if "contacts_sync" in view:
        lines.append(render.contacts_sync_line(view["contacts_sync"]))
    return "\n".join(lines)


def _wrapup_line(wrapup: dict) -> str:
    """Which call is in wrap-up, since when, and how long it has left with wrapup.timeout."""
    since = datetime.fromtimestamp(wrapup["since"]).strftime("%H:%M:%S") \
        if wrapup.get("since") else "?"
    left = f", {duration(wrapup['left'])} left" if "left" in wrapup else ""
    return (f"wrap-up call {wrapup['call_id']} ({wrapup['number']}) since {since}{left}: "
            "close it with `cc wrapup done`")
