"""Reminders on logged calls (F60): set, list, remove. They fire in daemon/reminders.py."""

from __future__ import annotations

from typing import Annotated

from .. import privacy
from ..reminders import TEXT_MAX, WhenError, parse_when
from ..wire import ErrorCode, WireError
from .context import Context
from .registry import UNBOUNDED, Length, LogId, Match, Range, command

When = Annotated[str, Length(1, 100)]
Text = Annotated[str, Length(0, TEXT_MAX), Match(r"[^\x00-\x1f\x7f]*",
                                                   "one line without control characters")]
ReminderId = Annotated[int, Range(1, UNBOUNDED)]


def due(ctx: Context, when: str) -> tuple[float, bool]:
    """WHEN on the daemon's clock, in this machine's zone; one line when it cannot be."""
    try:
        return parse_when(when, ctx.session.clock.time())
    except WhenError as exc:
        raise WireError(ErrorCode.BAD_INPUT, str(exc)) from None


def add(ctx: Context, log_id: int, moment: tuple[float, bool], text: str = "") -> dict:
    """A reminder at `moment` (from `due`) on the logged call `log_id`, as `remind` answers."""
    try:
        made = ctx.reminders.add(log_id, moment[0], text)
    except WhenError as exc:
        raise WireError(ErrorCode.BAD_INPUT, str(exc)) from None
    if made is None:
        raise WireError(ErrorCode.NO_SUCH_CALL, f"no call {log_id} in the call log "
                        "(see `cc log`)")
    return {**_shown(ctx, made), "moved_to_tomorrow": moment[1]}


@command("remind", "Remind the agent of the logged call LOG_ID at WHEN (15:30, tomorrow 9:00, "
                   "in 2h, an ISO time; a clock time already past today is tomorrow's), with "
                   "TEXT.")
async def remind(ctx: Context, log_id: LogId, when: When, text: Text = "") -> dict:
    return add(ctx, log_id, due(ctx, when), text)


@command("reminders", "The reminders not yet fired, soonest first; FIRED: after the 100 "
                      "fired last.")
async def reminders(ctx: Context, fired: bool = False) -> list[dict]:
    return [_shown(ctx, r) for r in ctx.reminders.listed(fired)]


@command("remind_rm", "Remove the reminder REMINDER_ID (fired or not).")
async def remind_rm(ctx: Context, reminder_id: ReminderId) -> dict:
    removed = ctx.reminders.remove(reminder_id)
    if removed is None:
        raise WireError(ErrorCode.BAD_INPUT, f"no reminder {reminder_id} (see "
                        "`cc remind --list --all`)")
    return _shown(ctx, removed)


def _shown(ctx: Context, reminder: dict) -> dict:
    if ctx.settings["privacy.mask_numbers"]:
        return {**reminder, "number": privacy.mask(reminder["number"])}
    return reminder
