"""Call control: dial, answer, hang up, hold and resume."""

from __future__ import annotations

import re
from typing import Annotated

import typer

from daemon.wire import WireError

from . import client, render
from .options import CallId, Json

_SEPARATORS = re.compile(r"[\s\-().]")
_NUMBER = re.compile(r"^\+?[0-9]{2,20}$")


def normalise_number(raw: str) -> str:
    """Strip the separators people type; refuse anything that is not a phone number."""
    number = _SEPARATORS.sub("", raw)
    if not _NUMBER.match(number):
        raise WireError("bad_input", f"'{raw}' is not a phone number: use 2 to 20 digits, "
                        "optionally after a +, e.g. +380441110001 or 102")
    return number


def _show(call: dict, as_json: bool) -> None:
    if as_json:
        render.emit_json(call)
    else:
        print(render.call_line(call))


def dial(number: Annotated[str, typer.Argument(help="The number to call.")],
         json: Json = False) -> None:
    """Call a number (F12)."""
    _show(client.request("dial", number=normalise_number(number)), json)


def answer(call: CallId = None, json: Json = False) -> None:
    """Answer the ringing call."""
    _show(client.request("answer", call_id=call), json)


def hangup(call: CallId = None, json: Json = False) -> None:
    """Hang up or cancel the current call (F29)."""
    _show(client.request("hangup", call_id=call), json)


def hold(call: CallId = None, json: Json = False) -> None:
    """Put the call on hold, or resume it if it is held (a toggle, F34)."""
    _show(client.request("hold", call_id=call), json)


def unhold(call: CallId = None, json: Json = False) -> None:
    """Resume a call on hold."""
    _show(client.request("unhold", call_id=call), json)
