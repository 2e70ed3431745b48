"""`cc remind`: reminders on logged calls, fired by the daemon at their time."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Optional

import typer

from daemon.wire import ErrorCode, WireError

from . import client, render
from .options import Json

TEXT_MAX = 500      # as the daemon's (daemon/reminders.py), said here before a request
USAGE = "give ID WHEN [TEXT], rm N, or --list (see `cc remind --help`)"
# WHEN's first word that takes the next one too, unquoted: `in 2h`, `tomorrow 9:00`, a date.
JOINS = re.compile(r"in|tomorrow|\d{4}-\d{2}-\d{2}", re.IGNORECASE)


def remind(words: Annotated[Optional[list[str]], typer.Argument(
               metavar="ID WHEN [TEXT] | rm N",
               help="ID: the call's id in the call log (`cc log`); WHEN: 15:30, tomorrow "
                    "9:00, in 2h, in 30m or an ISO time such as 2026-12-01T09:00, in the "
                    "local time zone (a clock time already past today is tomorrow's); TEXT: "
                    "what to remember. `rm N` removes the reminder N.")] = None,
           listing: Annotated[bool, typer.Option(
               "--list", help="List the reminders not yet fired, soonest first.")] = False,
           fired: Annotated[bool, typer.Option(
               "--all", help="List the 100 reminders fired last too (implies --list).")] = False,
           json: Json = False) -> None:
    """Remind yourself of a call: the daemon shows a desktop notice, tells `cc watch` and
    runs hooks.on_reminder at the time (at its next start, if it was not running)."""
    words = words or []
    if listing or fired:
        if words:
            raise WireError(ErrorCode.BAD_INPUT, "--list takes no ID or WHEN: "
                            "`cc remind --list` or `cc remind ID WHEN [TEXT]`")
        rows = client.request("reminders", fired=fired)
        render.out(rows, json, _table, empty=None)
        return
    if not words:
        raise WireError(ErrorCode.BAD_INPUT, USAGE)
    if words[0] == "rm":
        if len(words) != 2:
            raise WireError(ErrorCode.BAD_INPUT, "give the reminder's number: `cc remind rm "
                            "N` (see `cc remind --list`)")
        number = _number(words[1], "N is a reminder's number (see `cc remind --list`)")
        removed = client.request("remind_rm", reminder_id=number)
        render.out(removed, json, lambda r: f"reminder {r['id']} removed ({_line(r)})")
        return
    log_id = _number(words[0], "ID is a call's id in the call log (see `cc log`)")
    when, text = split_when(words[1:])
    if not when:
        raise WireError(ErrorCode.BAD_INPUT, "give WHEN after the call's ID, such as 15:30, "
                        "tomorrow 9:00 or in 2h")
    if len(text) > TEXT_MAX:
        raise WireError(ErrorCode.BAD_INPUT, f"the reminder's text is {len(text)} characters "
                        f"long: at most {TEXT_MAX}")
    made = client.request("remind", log_id=log_id, when=when, text=text)
    render.out(made, json, said)


def split_when(words: list[str]) -> tuple[str, str]:
    """WHEN and TEXT from the words after ID: `in 2h` and `tomorrow 9:00` need no quotes."""
    if len(words) >= 2 and JOINS.fullmatch(words[0]):
        return f"{words[0]} {words[1]}", " ".join(words[2:])
    return (words[0] if words else ""), " ".join(words[1:])


def said(made: dict) -> str:
    """What `cc remind` (and `cc wrapup --remind`) answers a reminder set."""
    moved = " (tomorrow: that time has passed today)" if made.get("moved_to_tomorrow") else ""
    return f"reminder {made['id']} at {_when(made['due_at'])}{moved}: {_line(made)}"


def _number(text: str, what: str) -> int:
    if not text.isdecimal() or not 1 <= int(text) < 2**53:
        raise WireError(ErrorCode.BAD_INPUT, f"{what}, not {text!r}")
    return int(text)


def _when(iso: str | None) -> str:
    return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M") if iso else ""


def _line(reminder: dict) -> str:
    who = reminder["contact"] or reminder["number"]
    about = f"call {reminder['log_id']} {reminder['counter_number']} {who}"
    # A contact's name comes from a directory or a CRM: it never drives the terminal.
    return render.plain(f"{about} -- {reminder['text']}" if reminder["text"] else about)


def _table(rows: list[dict]) -> str:
    if not rows:
        return "no reminders"
    return "\n".join(
        f"{r['id']:>4}  {_when(r['due_at'])}  "
        + (f"fired {_when(r['fired_at'])}  " if r["fired"] else "")
        + _line(r) for r in rows)
