"""`cc catalog list|add|rm types|results|break-reasons`. With a team store (team.url) the
types and results are the team's, kept in the store by its lead and read from it directly;
the daemon keeps a copy for its checks. Break reasons stay this profile's setting."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from daemon import profile
from daemon.wire import ErrorCode, WireError

from . import client, render, teamshared
from .options import Json
from .teamshared import TeamName

app = typer.Typer(help="Catalogues: call types, call results (with colours), break reasons. "
                       "With a team store (team.url) types and results are the team's, kept "
                       "by its lead; break reasons are always this profile's setting.",
                  no_args_is_help=True)
BREAKS = "states.break_reasons"


class Kind(str, Enum):
    types = "types"
    results = "results"
    break_reasons = "break-reasons"


KindArg = Annotated[Kind, typer.Argument(help="Which catalogue.")]
Url = Annotated[Optional[str], typer.Option(
    help="Types and results: the team store as postgresql://ROLE@HOST[:PORT]/DATABASE "
         "(default: team.url).")]


def _team(kind: Kind, team_name: str | None, url: str | None) -> bool:
    """Whether the catalogue is the team store's: types and results with a team store."""
    if kind is Kind.break_reasons:
        if team_name or url:
            raise WireError(ErrorCode.BAD_INPUT, "break reasons are this profile's setting, "
                            "not the team's: drop --team-name and --url")
        return False
    if team_name and not teamshared.url(url):
        raise WireError(ErrorCode.CONFIG, f"--team-name: {teamshared.NO_STORE}")
    return bool(teamshared.url(url))


def _team_edit(kind: Kind, team_name: str | None, url: str | None, edit) -> list[dict]:
    """`edit(conn, team)` on the team's catalogue KIND, then its entries; a running daemon
    of this profile is asked to take the change at once."""
    from daemon.team import shared

    def work(conn):
        team = shared.which_team(conn, team_name)
        edit(conn, team)
        return shared.catalog(conn, team, kind.value)

    entries = teamshared.run_online(work, url)
    teamshared.refresh_daemon()
    return entries


def _team_list(kind: Kind, team_name: str | None, url: str | None) -> list[dict]:
    """The team's catalogue from the store; out of reach, the daemon's last copy."""
    import sys

    from daemon.team import shared

    try:
        return teamshared.run(lambda conn: shared.catalog(
            conn, shared.which_team(conn, team_name), kind.value), url)
    except teamshared.Unreachable as exc:
        try:
            entries = client.request("catalog", kind=kind.value)
        except WireError:
            render.fail(str(exc), render.Exit.FAILED)
        print(f"cc: {exc}: the daemon's last copy of the catalogue follows", file=sys.stderr)
        return entries


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
def list_(kind: KindArg, team_name: TeamName = None, url: Url = None,
          json: Json = False) -> None:
    """The entries of a catalogue (with a team store, the team's; the daemon's copy when
    the store is out of reach)."""
    if _team(kind, team_name, url):
        _print(_team_list(kind, team_name, url), json)
    elif kind is Kind.break_reasons:
        _print([{"name": r, "colour": ""} for r in _break_reasons()], json)
    else:
        _print(client.request("catalog", kind=kind.value), json)


@app.command()
def add(kind: KindArg, name: Annotated[str, typer.Argument(help="The new entry.")],
        colour: Annotated[Optional[str], typer.Option(
            help="Results only: green, yellow, red, blue, magenta, cyan, grey, white.")]
        = None,
        team_name: TeamName = None, url: Url = None, json: Json = False) -> None:
    """Add an entry (a result may have a colour, used by listings). With a team store, to
    the team's catalogue: its lead's (or the administrator's) command."""
    if _team(kind, team_name, url):
        from daemon.team import shared

        if colour and kind is Kind.types:
            raise WireError(ErrorCode.BAD_INPUT, "--colour is for results only")
        entry, colour = _name(name), _colour(colour)
        _print(_team_edit(kind, team_name, url, lambda conn, team: shared.catalog_add(
            conn, team, kind.value, entry, colour)), json)
    elif kind is Kind.break_reasons:
        reasons = _break_reasons()
        if name.split("=")[0] in [r.split("=")[0] for r in reasons]:
            raise WireError(ErrorCode.BAD_INPUT, f"'{name}' is already a break reason")
        _print(_set_break_reasons(reasons + [name]), json)
    else:
        _print(client.request("catalog_add", kind=kind.value, name=name, colour=colour or ""),
               json)


@app.command()
def rm(kind: KindArg, name: Annotated[str, typer.Argument(help="The entry to remove.")],
       team_name: TeamName = None, url: Url = None, json: Json = False) -> None:
    """Remove an entry (with a team store, from the team's catalogue: its lead's command)."""
    if _team(kind, team_name, url):
        from daemon.team import shared

        _print(_team_edit(kind, team_name, url, lambda conn, team: shared.catalog_rm(
            conn, team, kind.value, name)), json)
    elif kind is Kind.break_reasons:
        reasons = _break_reasons()
        kept = [r for r in reasons if r.split("=")[0] != name]
        if kept == reasons:
            raise WireError(ErrorCode.BAD_INPUT, f"'{name}' is not a break reason")
        _print(_set_break_reasons(kept), json)
    else:
        _print(client.request("catalog_rm", kind=kind.value, name=name), json)


def _name(name: str) -> str:
    if not 1 <= len(name) <= 100:
        raise WireError(ErrorCode.BAD_INPUT, "a catalogue entry is 1 to 100 characters")
    return name


def _colour(colour: str | None) -> str:
    from daemon.store import CATALOG_COLOURS

    if colour and colour not in CATALOG_COLOURS:
        raise WireError(ErrorCode.BAD_INPUT, f"--colour {colour}: use "
                        f"{', '.join(CATALOG_COLOURS)}")
    return colour or ""
