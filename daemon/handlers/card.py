"""The call card: wrap-up after a call, and editing a logged call's card (F7, F25, F30)."""

from __future__ import annotations

from typing import Any

from ..control import ended
from ..infinity import CallAction
from ..states import line_name
from ..store import LINKS
from ..wire import ErrorCode, WireError
from .context import Context
from .registry import LogId, command



@command("wrapup", "Fill in the call card with FIELDS; DONE closes processing (HANGUP: "
                   "hang up a call still up, or keep it).")
async def wrapup(ctx: Context, done: bool = False, fields: dict[str, str] | None = None,
                 log_id: LogId | None = None, hangup: bool | None = None) -> dict:
    call = ctx.session.wrapup_call
    row = edit_card(ctx, log_id, fields) if fields else None
    if done:
        await ctx.session.ready()
        active = ctx.tracker.active()
        if active and hangup is None:
            ids = ", ".join(f"{c.call_id} ({line_name(c.state)})" for c in active)
            raise WireError(ErrorCode.STATE_FORBIDS, f"a call is still up: {ids}; close "
                            "wrap-up with --hangup or --keep")
        if active and hangup:
            for other in active:
                await ctx.control.act(CallAction.HANG_UP, other, ended)
        await ctx.session.finish_wrapup()
    elif row is not None:
        return row
    return ctx.store.get(call.log_id) if call and call.log_id else {}


@command("log_edit", "Change the card of the logged call LOG_ID.")
async def log_edit(ctx: Context, log_id: LogId, fields: dict[str, str]) -> dict:
    return edit_card(ctx, log_id, fields)


@command("card", "The card of the logged call LOG_ID; without it, of the call being filled "
                 "in (the one in wrap-up, else the last call), or {} when the log is empty.")
async def card(ctx: Context, log_id: LogId | None = None) -> dict:
    if log_id is None:
        log_id = _current_id(ctx)
        if log_id is None:
            return {}
    return _card_row(ctx, log_id)


def _current_id(ctx: Context) -> int | None:
    """The logged call whose card is being filled in: the one in wrap-up, else the last."""
    wrapped = ctx.session.wrapup_call
    return wrapped.log_id if wrapped and wrapped.log_id else (ctx.store.last() or {}).get("id")


def _card_row(ctx: Context, log_id: int | None) -> dict:
    if log_id is None:
        log_id = _current_id(ctx)
    if log_id is None:
        raise WireError(ErrorCode.NO_SUCH_CALL, "no call to fill in: the call log is empty")
    row = ctx.store.get(log_id)
    if row is None:
        raise WireError(ErrorCode.NO_SUCH_CALL, f"no call {log_id} in the call log "
                        "(see `cc log`)")
    return row


def edit_card(ctx: Context, log_id: int | None, fields: dict[str, Any]) -> dict:
    row = _card_row(ctx, log_id)
    log_id = row["id"]
    if "number" in fields:
        raise WireError(ErrorCode.BAD_INPUT, f"the number of a saved call cannot be changed: "
                        f"call {log_id} stays {row['number']}")
    checked = {}
    for key, value in fields.items():
        if key in ("call_type", "result"):
            _in_catalogue(ctx, "types" if key == "call_type" else "results", value)
        elif key == "note":
            key, value = "notes", "\n".join(filter(None, [row.get("notes"), value]))
        elif key.startswith("link_"):
            link_columns({key[5:]: value})
        elif key != "subject":
            raise WireError(ErrorCode.BAD_INPUT, f"unknown field '{key}'")
        checked[key] = value
    return ctx.store.edit(log_id, checked)


def link_columns(links: dict[str, str]) -> dict[str, str]:
    """The card's columns for links given by kind (task=T-77); an unknown kind is refused."""
    for kind in links:
        if kind not in LINKS:
            raise WireError(ErrorCode.BAD_INPUT, f"unknown link '{kind}': use "
                            f"{', '.join(LINKS)}")
    return {f"link_{kind}": value for kind, value in links.items()}


def _in_catalogue(ctx: Context, kind: str, value: str) -> None:
    known = [c["name"] for c in ctx.store.catalog(kind)]
    if value and known and value not in known:
        raise WireError(ErrorCode.BAD_INPUT, f"'{value}' is not in the {kind} catalogue "
                        f"({', '.join(known)}; add it with `cc catalog add {kind} {value}`)")
