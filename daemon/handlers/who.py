"""Colleagues and their live states (F16, F18)."""

from __future__ import annotations

from typing import Annotated

from ..wire import SessionStatus
from .context import Context
from .registry import Length, command


@command("who", "Colleagues matching QUERY (a name or part of a number) with their states.")
async def who(ctx: Context, query: Annotated[str, Length(0, 200)] = "") -> list[dict]:
    return ctx.directory.search(query)


@command("who_import", "Replace the directory of colleagues with the CSV file PATH.")
async def who_import(ctx: Context, path: Annotated[str, Length(1, 4096)]) -> dict:
    count, skipped = ctx.directory.import_csv(path)
    if ctx.session.status == SessionStatus.LOGGED_IN:
        ctx.spawn(ctx.directory.refresh(ctx.client))
    return {"imported": count, "skipped": skipped}
