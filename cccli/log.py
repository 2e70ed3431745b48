"""The call log: newest first, as a table, JSON or CSV."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from daemon.wire import LOG_COLUMNS

from . import client, render
from .options import Json


class LogFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


def log(limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=100_000,
                                           help="How many calls to show.")] = 20,
        format: Annotated[LogFormat, typer.Option("--format", "-f",
                                                  help="Output format.")] = LogFormat.table,
        json: Json = False) -> None:
    """The call log, newest first (F19)."""
    rows = client.request("log", limit=limit)
    if json or format is LogFormat.json:
        render.emit_json(rows)
    elif format is LogFormat.csv:
        render.log_csv(rows, LOG_COLUMNS)
    elif not rows:
        print("the call log is empty")
    else:
        render.log_table(rows)
