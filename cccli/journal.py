"""`cc journal [FILE]` (`cc journal show`): the XML journal of messages exchanged with the
server, read back safely; a journal may come from another site: the reader refuses hostile
XML. `cc journal share FILE`: a copy fit for a bug report (daemon/journal_share.py).

`journal` is a group whose first word picks `show` or `share`; any other first word (a
file, an option, nothing) is `show`'s, so `cc journal` and `cc journal FILE` read as ever.
A file named `share` or `show` is `./share`."""

from __future__ import annotations

import json as jsonlib
import sys
from datetime import datetime
from enum import Enum
from typing import Annotated, Optional

import typer
from typer.core import TyperGroup

from daemon import profile
from daemon.wire import ErrorCode, WireError


class _ShowUnlessNamed(TyperGroup):
    """`cc journal ARGS` is `cc journal show ARGS` unless ARGS start with a sub-command
    (or ask for the group's help)."""

    def parse_args(self, ctx, args):
        if not args or (args[0] not in self.commands and args[0] not in ctx.help_option_names):
            args = ["show", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(cls=_ShowUnlessNamed, no_args_is_help=False,
                  help="The journal of every message exchanged with the server: `cc journal "
                       "[FILE]` shows it (as `cc journal show`), `cc journal share FILE` "
                       "writes a copy fit to attach to a bug report.")


class Kind(str, Enum):
    request = "request"
    response = "response"
    event = "event"
    failure = "failure"
    rejected = "rejected"


@app.command("show")
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
    passwords show as ***. `cc journal [FILE]` says the same."""
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


@app.command("share")
def share(dest: Annotated[str, typer.Argument(
              metavar="FILE", help="Where to write the copy; - writes it to stdout.")],
          source: Annotated[Optional[str], typer.Option(
              "--from", metavar="JOURNAL", help="Share this journal file (and its rotated "
              "JOURNAL.1, JOURNAL.2, ...) instead of this profile's.")] = None,
          force: Annotated[bool, typer.Option(
              "--force", help="Replace FILE if it exists.")] = False,
          json: Annotated[bool, typer.Option(
              "--json", help="What was replaced, as JSON (on stderr when FILE is -).")
          ] = False) -> None:
    """Write a copy of the journal fit to attach to a bug report, with callers' numbers,
    logins, names and ids replaced.

    The journal's rotated files are read too, oldest first. Numbers, logins, names,
    e-mails and ids become stand-ins, the same original the same stand-in throughout, so
    the session still reads as it happened (a number keeps its length and country code);
    passwords and anything named like a secret are ***, free text is replaced. The
    stand-ins are random for each share and never kept. FILE is created readable by you
    only (0600). Lines that cannot be read are left out and counted. Says what it
    replaced, by kind."""
    from daemon import journal_share
    from daemon.journal import JournalError

    path = source or str(profile.paths().journal)
    try:
        report = journal_share.share(path, dest, force=force)
    except (journal_share.ShareError, JournalError) as exc:
        raise WireError(ErrorCode.BAD_INPUT, str(exc)) from None
    except BrokenPipeError:          # `cc journal share - | head`: the reader has seen enough
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return
    said = jsonlib.dumps(report.as_dict(), ensure_ascii=True) if json else report.summary()
    from daemon.journal import printable

    print(said if json else printable(said), file=sys.stderr if dest == "-" else sys.stdout)
