"""`cc journal [FILE]`: the XML journal of messages exchanged with the server, read back
safely. A journal may come from another site: the reader refuses hostile XML."""

from __future__ import annotations

import json as jsonlib
import sys
from datetime import datetime
from enum import Enum
from typing import Annotated, Optional

import typer

from daemon import profile
from daemon.wire import ErrorCode, WireError


class Kind(str, Enum):
    request = "request"
    response = "response"
    event = "event"
    failure = "failure"
    rejected = "rejected"


def journal(file: Annotated[Optional[str], typer.Argument(
                metavar="FILE", help="A journal file (default: this profile's journal; "
                                       "rotated ones are FILE.1, FILE.2, ...).")] = None,
            tail: Annotated[Optional[int], typer.Option(
                "--tail", "-n", min=1, help="Only the last N messages.")] = None,
            kind: Annotated[Optional[Kind], typer.Option(
                help="Only messages of this kind.")] = None,
            json: Annotated[bool, typer.Option(
                "--json", help="One JSON object per message (JSON lines).")] = False) -> None:
    """The journal of every message exchanged with the server, one line per message;
    passwords show as ***."""
    from daemon import journal as journal_file

    path = file or str(profile.paths().journal)

    def keep(message: dict) -> bool:
        return kind is None or message.get("kind") == kind.value

    def show(message: dict) -> None:
        # ensure_ascii: control characters and bidi overrides (U+202E) stay escaped
        print(jsonlib.dumps(message, ensure_ascii=True) if json else line(message))
    try:
        if tail is not None:        # read from the end: a big journal's tail at once
            for message in journal_file.last(path, tail, keep):
                show(message)
        else:                       # a line at a time, shown as it is read
            for elem in journal_file.read(path):
                message = journal_file.as_dict(elem)
                if keep(message):
                    show(message)
        sys.stdout.flush()
    except journal_file.JournalError as exc:
        raise WireError(ErrorCode.BAD_INPUT, str(exc)) from None
    except BrokenPipeError:          # `cc journal | head`: the reader has seen enough
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def line(message: dict) -> str:
    """seq, local time, direction, kind, path, status and ms (or the reason), then what
    the message carried; control characters from a foreign journal are escaped."""
    from daemon.journal import printable

    status = ""
    if message.get("status"):
        status = f"{message['status']} {message.get('ms', '?')}ms"
    elif message.get("error") or message.get("why"):
        status = message.get("error") or message.get("why")
        if message.get("ms"):
            status += f" {message['ms']}ms"
    if "params" in message:
        what = " ".join(f"{k}={v}" for k, v in message["params"].items())
    elif "body" in message:
        what = jsonlib.dumps(message["body"], ensure_ascii=False, separators=(",", ":"))
    else:
        what = ""
    head = (f"{message.get('seq', '?'):>6}  {_local(message.get('at', ''))}  "
            f"{message.get('dir', '?'):<8}  {message.get('kind', '?'):<8}")
    return printable("  ".join(f for f in (head, message.get("path", ""), status, what)
                                if f)).rstrip()


def _local(at: str) -> str:
    try:
        when = datetime.fromisoformat(at.replace("Z", "+00:00"))
        if when.tzinfo is not None:
            when = when.astimezone()
    except (ValueError, OverflowError, OSError):    # a foreign journal's odd time: as it is
        return at
    return when.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
