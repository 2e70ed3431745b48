"""The agent: log-on, log-off and state (F14, F15, F17)."""

from __future__ import annotations

from typing import Annotated

from ..states import SETTABLE
from .context import Context
from .registry import Length, OneOf, Range, command

Text = Annotated[str, Length(1, 200)]


@command("login", "Log on to the Infinity server; PASSWORD overrides the configured one.")
async def login(ctx: Context, password: Annotated[str, Length(1, 1000)] | None = None) -> dict:
    return await ctx.session.login(password)


@command("logout", "Log off from the Infinity server.")
async def logout(ctx: Context) -> dict:
    return await ctx.session.logout()


@command("state", "The agent's state; with NAME, set it (a break with a REASON or OTHER "
                  "text, for a while, or after the call).")
async def state(ctx: Context, name: Annotated[str, OneOf(SETTABLE)] | None = None,
                reason: Text | None = None, other: Text | None = None,
                for_seconds: Annotated[float, Range(0.001, 604800)] | None = None,
                after_call: bool = False) -> dict:
    if name is None:
        return ctx.session.view()
    return await ctx.session.set_state(name, reason, other, for_seconds, after_call)
