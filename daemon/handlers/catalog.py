"""The catalogues of call types and results, with their colours (F20, F44)."""

from __future__ import annotations

from typing import Annotated

from ..store import CATALOG_COLOURS as COLOURS
from ..wire import ErrorCode, WireError
from .context import Context
from .registry import Length, OneOf, command

Kind = Annotated[str, OneOf(("types", "results"))]
Name = Annotated[str, Length(1, 100)]


@command("catalog", "The catalogue KIND (types or results).")
async def catalog(ctx: Context, kind: Kind) -> list[dict]:
    return ctx.store.catalog(kind)


@command("catalog_add", "Add NAME to the catalogue KIND, with a COLOUR.")
async def catalog_add(ctx: Context, kind: Kind, name: Name,
                      colour: Annotated[str, OneOf(("", *COLOURS))] = "") -> list[dict]:
    ctx.store.catalog_add(kind, name, colour)
    return ctx.store.catalog(kind)


@command("catalog_rm", "Remove NAME from the catalogue KIND.")
async def catalog_rm(ctx: Context, kind: Kind, name: Name) -> list[dict]:
    if not ctx.store.catalog_rm(kind, name):
        raise WireError(ErrorCode.BAD_INPUT, f"'{name}' is not in the {kind} catalogue")
    return ctx.store.catalog(kind)
