"""Colleagues and their live states (F16, F18)."""

from __future__ import annotations

from typing import Annotated

from ..wire import SessionStatus
from .contacts import IMPORT_HELP, Path, Text, import_reader
from .context import Context
from .registry import Length, command


@command("who", "Colleagues matching QUERY (a name or part of a number) with their states.")
async def who(ctx: Context, query: Annotated[str, Length(0, 200)] = "") -> list[dict]:
    return ctx.directory.search(query)


@command("who_import", "Replace the directory of colleagues with a CSV file. " + IMPORT_HELP)
async def who_import(ctx: Context, path: Path = None, text: Text = None,
                     name: Path = None) -> dict:
    count, skipped = await ctx.directory.import_csv(import_reader(ctx, path, text, name))
    if ctx.session.status == SessionStatus.LOGGED_IN:
        ctx.spawn(ctx.directory.refresh(ctx.client))
    return {"imported": count, "skipped": skipped}
