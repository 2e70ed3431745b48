"""The CLI's side of what a team shares besides calls (team filters, catalogues): it talks
to the team store directly, with the profile's team.url and its password sources, so a
lead needs no daemon. The work is in daemon.team.shared."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from daemon import profile
from daemon.wire import ErrorCode, Exit, WireError

from . import render

TeamName = Annotated[Optional[str], typer.Option(
    "--team-name", metavar="TEAM",
    help="With a team store: the team (needed by a lead of several teams; an agent's is "
         "its own).")]
NO_STORE = ("this needs the team store: set team.url (`cc config set team.url "
            "postgresql://LOGIN@HOST/DATABASE`)")


class Unreachable(Exception):
    """The team store is out of reach (down, or the network): a cached copy may do."""

    def __init__(self, line: str):
        # explain() speaks of the daemon's outbox: no outbox waits for these commands.
        super().__init__(line.split("; the calls wait in the outbox")[0])


def url(given: str | None = None) -> str:
    return given or profile.load()["team.url"]


def run(work, given_url: str | None = None):
    """`work(conn)` on the team store with the user's own role; every failure one line.
    Raises Unreachable when the store cannot be reached at all."""
    import psycopg

    from daemon.team import schema
    from daemon.team.connect import TeamError, _unreachable, connect, explain, password
    from daemon.team.shared import Refused

    settings = profile.load()
    where = given_url or settings["team.url"]
    if not where:
        render.fail(NO_STORE, Exit.CONFIG)
    try:
        conn = connect(where, password(settings), autocommit=True)
    except TeamError as exc:
        # connect() keeps psycopg's error as the context of its one line.
        if exc.__context__ is not None and _unreachable(exc.__context__):
            raise Unreachable(str(exc)) from None
        render.fail(str(exc), Exit.CONFIG)
    try:
        with conn:
            if (problem := schema.mismatch(schema.version(conn))) is not None:
                render.fail(problem, Exit.CONFIG)
            return work(conn)
    except Refused as exc:
        render.fail(str(exc), Exit.AUTH)
    except TeamError as exc:
        render.fail(str(exc), Exit.BAD_INPUT)
    except psycopg.Error as exc:
        if _unreachable(exc):
            raise Unreachable(explain(exc, where)) from None
        render.fail(explain(exc, where), Exit.FAILED)


def run_online(work, given_url: str | None = None):
    """As run(), the store out of reach being one more failure."""
    try:
        return run(work, given_url)
    except Unreachable as exc:
        render.fail(str(exc), Exit.FAILED)


def refresh_daemon() -> None:
    """Ask this profile's daemon, if one runs, to refresh its copy of the catalogues."""
    from . import client

    try:
        client.request("catalog_refresh", timeout=10)
    except WireError as exc:        # the edit is made: this is only the daemon's copy
        if exc.code != ErrorCode.NOT_RUNNING:
            print(f"cc: warning: the daemon did not refresh its copy now ({exc}); it will "
                  "within five minutes", file=sys.stderr)
