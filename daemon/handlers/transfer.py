"""`cc transfer`: blind or consult, complete or cancel (the object is `daemon/transfer.py`)."""

from __future__ import annotations

from typing import Annotated

from ..wire import ErrorCode, WireError
from .context import Context
from .registry import CallId, Length, OneOf, command


@command("transfer", "Transfer the call to TARGET (a number or a colleague), blind or "
                     "consult; ACTION complete or cancel ends a consult.")
async def transfer(ctx: Context, target: Annotated[str, Length(1, 200)] | None = None,
                   blind: bool = False,
                   action: Annotated[str, OneOf(("complete", "cancel"))] | None = None,
                   call_id: CallId = None) -> dict:
    await ctx.session.ready()
    if action == "complete":
        return await ctx.transfers.complete(call_id)
    if action == "cancel":
        return await ctx.transfers.cancel(call_id)
    if not target:
        raise WireError(ErrorCode.BAD_INPUT, "name a transfer target: a number or a colleague")
    return await ctx.transfers.start(target, blind, call_id)
