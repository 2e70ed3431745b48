"""`cc report`: a period's calls per day and agent, for people and for cron.

It reads the call log file directly (read-only) rather than asking the daemon, so it runs
from cron with no terminal and no daemon. The work is in `daemon.report`, imported inside
the command so other commands never load it.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from daemon import profile
from daemon.wire import Exit

from . import render
from .options import Json


class Format(str, Enum):
    text = "text"
    csv = "csv"
    html = "html"


def report(period: Annotated[str, typer.Option(
               "--period", "-p", help="today, yesterday, this-week, last-week, this-month, "
                                      "last-month, or FROM..TO (YYYY-MM-DD).")] = "today",
           agent: Annotated[Optional[str], typer.Option(
               help="Only this agent's calls.")] = None,
           format: Annotated[Format, typer.Option(
               "--format", "-f", help="text (a terminal or a mail body), csv (one row per "
                                      "day and agent, then TOTAL), or html (one file with "
                                      "charts).")] = Format.text,
           output: Annotated[Optional[Path], typer.Option(
               "--output", "-o",
               help="Write to this file instead of standard output.")] = None,
           database: Annotated[Optional[Path], typer.Option(
               help="The call log to read (default: this profile's data/calls.db).")] = None,
           json: Json = False) -> None:
    """Calls per day and agent for a period, with totals. Reads the call log
    directly: needs no daemon and no terminal, so cron can run it."""
    from daemon import periods
    from daemon import report as reports
    from daemon.export import refusal

    path = database or profile.paths().database
    refused = output and refusal(output, path, profile.paths().own)
    if refused:
        render.fail(refused, Exit.BAD_INPUT)
    try:
        built = reports.build(path, period, agent)
    except periods.PeriodError as exc:
        render.fail(str(exc), Exit.BAD_INPUT)
    except reports.ReportError as exc:
        render.fail(str(exc), Exit.CONFIG)
    if json:
        import json as json_module

        text = json_module.dumps(built.to_dict(), ensure_ascii=False, indent=2) + "\n"
    else:
        text = {Format.text: reports.render_text, Format.csv: reports.render_csv,
                Format.html: reports.render_html}[format](built)
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8", newline="")
    except OSError as exc:
        render.fail(f"cannot write {output}: {exc.strerror}", Exit.FAILED)
    if sys.stderr.isatty():    # silent in cron: any output there becomes a mail
        print(f"wrote the report to {output}", file=sys.stderr)
