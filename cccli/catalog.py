"""`cc catalog list|add|rm types|results|break-reasons`."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from daemon import profile
from daemon.wire import ErrorCode, WireError

from . import client, render
from .options import Json

app = typer.Typer(help="Catalogues: call types, call results (with colours), break reasons "
                       ".", no_args_is_help=True)
BREAKS = "states.break_reasons"


class Kind(str, Enum):
    types = "types"
    results = "results"
    break_reasons = "break-reasons"


KindArg = Annotated[Kind, typer.Argument(help="Which catalogue.")]


def _break_reasons() -> list[str]:
    return [r.strip() for r in str(profile.load()[BREAKS]).split(",") if r.strip()]


def _set_break_reasons(reasons: list[str]) -> list[dict]:
    profile.set_value(BREAKS, ",".join(reasons))
    try:
        client.request("reload", timeout=3)
    except WireError as exc:
        if exc.code != ErrorCode.NOT_RUNNING:
            raise
    return [{"name": r, "colour": ""} for r in reasons]


def _print(entries: list[dict], as_json: bool) -> None:
    render.out(entries, as_json, lambda found: "\n".join(
        render.coloured(e["name"], e.get("colour", "")) +
        (f"  ({e['colour']})" if e.get("colour") else "") for e in found))


@app.command("list")
def list_(kind: KindArg, json: Json = False) -> None:
    """The entries of a catalogue."""
    if kind is Kind.break_reasons:
        _print([{"name": r, "colour": ""} for r in _break_reasons()], json)
    else:
        _print(client.request("catalog", kind=kind.value), json)


@app.command()
def add(kind: KindArg, name: Annotated[str, typer.Argument(help="The new entry.")],
        colour: Annotated[Optional[str], typer.Option(
            help="Results only: green, yellow, red, blue, magenta, cyan, grey, white.")]
        = None,
        json: Json = False) -> None:
    """Add an entry (a result may have a colour, used by listings)."""
    if kind is Kind.break_reasons:
        reasons = _break_reasons()
        if name.split("=")[0] in [r.split("=")[0] for r in reasons]:
            raise WireError(ErrorCode.BAD_INPUT, f"'{name}' is already a break reason")
        _print(_set_break_reasons(reasons + [name]), json)
    else:
        _print(client.request("catalog_add", kind=kind.value, name=name, colour=colour or ""),
               json)


@app.command()
def rm(kind: KindArg, name: Annotated[str, typer.Argument(help="The entry to remove.")],
       json: Json = False) -> None:
    """Remove an entry."""
    if kind is Kind.break_reasons:
        reasons = _break_reasons()
        kept = [r for r in reasons if r.split("=")[0] != name]
        if kept == reasons:
            raise WireError(ErrorCode.BAD_INPUT, f"'{name}' is not a break reason")
        _print(_set_break_reasons(kept), json)
    else:
        _print(client.request("catalog_rm", kind=kind.value, name=name), json)
