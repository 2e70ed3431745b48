"""The catalogues of call types and results, with their colours (F20, F44). With a team
store they are the team's, edited in the store by `cc catalog` itself; the log's catalog
table is then the daemon's copy (daemon/team/catalogue.py), which catalog_refresh renews."""

from __future__ import annotations

from typing import Annotated

from ..store import CATALOG_COLOURS as COLOURS
from ..wire import ErrorCode, WireError
from .context import Context
from .registry import Length, OneOf, command

Kind = Annotated[str, OneOf(("types", "results"))]
Name = Annotated[str, Length(1, 100)]
REFRESH_WAIT = 5.0      # real seconds a refresh asked for may take


@command("catalog", "The catalogue KIND (types or results).")
async def catalog(ctx: Context, kind: Kind) -> list[dict]:
    return ctx.store.catalog(kind)


@command("catalog_add", "Add NAME to the catalogue KIND, with a COLOUR.")
async def catalog_add(ctx: Context, kind: Kind, name: Name,
                      colour: Annotated[str, OneOf(("", *COLOURS))] = "") -> list[dict]:
    _local(ctx)
    ctx.store.catalog_add(kind, name, colour)
    return ctx.store.catalog(kind)


@command("catalog_rm", "Remove NAME from the catalogue KIND.")
async def catalog_rm(ctx: Context, kind: Kind, name: Name) -> list[dict]:
    _local(ctx)
    if not ctx.store.catalog_rm(kind, name):
        raise WireError(ErrorCode.BAD_INPUT, f"'{name}' is not in the {kind} catalogue")
    return ctx.store.catalog(kind)


@command("catalog_refresh", "With a team store: copy the team's catalogues now (after an "
                            "edit); whether the copy was made within a few seconds.")
async def catalog_refresh(ctx: Context) -> dict:
    if ctx.team is None:
        return {"team": False, "refreshed": False}
    return {"team": True, "refreshed": await ctx.team.catalogues.refresh_now(
        ctx.team.wake, REFRESH_WAIT)}


def _local(ctx: Context) -> None:
    """This log's catalogues are a copy of the team's when there is a team store."""
    if ctx.team is not None:
        raise WireError(ErrorCode.BAD_INPUT, "the catalogues are the team's, kept in the team "
                        "store: `cc catalog add|rm` edits them there (its lead's command)")
