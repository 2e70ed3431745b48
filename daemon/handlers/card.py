"""The call card: wrap-up after a call, and editing a logged call's card (F7, F25, F30)."""

from __future__ import annotations

from typing import Any

from ..control import ended
from ..infinity import CallAction
from ..states import line_name
from ..store import LINKS
from ..wire import DESCRIPTION_BYTES, ErrorCode, WireError
from . import remind as reminders
from .context import Context
from .registry import CallId, LogId, command
from .remind import When


@command("wrapup", "Fill in the call card with FIELDS (the call in wrap-up, else the current "
                   "call -- during a consult transfer the caller's -- else the last; LOG_ID "
                   "or CALL_ID chooses); DONE closes wrap-up (HANGUP: hang up a call still "
                   "up, or keep it); REMIND sets a reminder on that call (as remind's WHEN).")
async def wrapup(ctx: Context, done: bool = False, fields: dict[str, str] | None = None,
                 log_id: LogId | None = None, call_id: CallId = None,
                 hangup: bool | None = None, remind: When | None = None) -> dict:
    if log_id is not None and call_id is not None:
        raise WireError(ErrorCode.BAD_INPUT, "give --id LOG_ID or --call CALL_ID, not both")
    moment = reminders.due(ctx, remind) if remind is not None else None
    if done:
        await ctx.session.ready()
        if ctx.session.wrapup_call is None:     # checked first: nothing changes on a refusal
            raise ctx.session.after_call.none_in_wrapup()
        active = ctx.tracker.active()
        if active and hangup is None:
            ids = ", ".join(f"{c.call_id} ({line_name(c.state)})" for c in active)
            raise WireError(ErrorCode.STATE_FORBIDS, f"a call is still up: {ids}; close "
                            "wrap-up with --hangup or --keep")
    target = card_of(ctx, log_id, call_id)
    row = edit_card(ctx, target, fields) if fields else ctx.store.get(target)
    if row is None:
        raise WireError(ErrorCode.NO_SUCH_CALL, f"no call {target} in the call log "
                        "(see `cc log`)")
    reminder = reminders.add(ctx, target, moment) if moment is not None else None
    if done:
        if hangup:
            for other in ctx.tracker.active():
                await ctx.control.act(CallAction.HANG_UP, other, ended)
        closed = await ctx.session.finish_wrapup()
        row = ctx.store.get(closed["log_id"]) if closed.get("log_id") else closed
    return row if reminder is None else {**row, "reminder": reminder}


def card_of(ctx: Context, log_id: int | None, call_id: str | None) -> int:
    """Whose card `cc wrapup` means: LOG_ID, or the call CALL_ID; else the call in wrap-up;
    else the call up now (during a consult transfer, the caller's); else the last call,
    where a consult leg stands for its caller's call."""
    tracker = ctx.tracker
    if log_id is not None:
        return log_id
    if call_id is not None:
        call = tracker.calls.get(call_id)
        row = ctx.store.open_row(tracker.server, call_id, tracker.agent) if call is None \
            else None
        found = call.log_id if call is not None else row["id"] if row else None
        if found is None:
            raise WireError(ErrorCode.NO_SUCH_CALL, f"no call {call_id} in the call log "
                            "(see `cc status` or `cc log`)")
        return found
    wrapped = ctx.session.wrapup_call
    if wrapped is not None and wrapped.log_id:
        return wrapped.log_id
    up = [c for c in tracker.active() if not c.consult_for]
    if len(up) > 1:
        ids = ", ".join(c.call_id for c in up)
        raise WireError(ErrorCode.BAD_INPUT, f"several calls ({ids}): name one with --call")
    if up and up[0].log_id:
        return up[0].log_id
    last = ctx.store.last()
    if last is None:
        raise WireError(ErrorCode.NO_SUCH_CALL, "no call to fill in: the call log is empty")
    leg = tracker.calls.get(last["call_id"])
    caller = tracker.calls.get(leg.consult_for) if leg is not None and leg.consult_for \
        else None
    return caller.log_id if caller is not None and caller.log_id else last["id"]


@command("log_edit", "Change the card of the logged call LOG_ID.")
async def log_edit(ctx: Context, log_id: LogId, fields: dict[str, str]) -> dict:
    return edit_card(ctx, log_id, fields)


@command("card", "The card of the logged call LOG_ID; without it, of the call being filled "
                 "in (as wrapup means it), or {} when the log is empty.")
async def card(ctx: Context, log_id: LogId | None = None) -> dict:
    if log_id is None:
        log_id = _current_id(ctx)
        if log_id is None:
            return {}
    return _card_row(ctx, log_id)


def _current_id(ctx: Context) -> int | None:
    """The logged call whose card is being filled in, as `cc wrapup` means it (card_of);
    None when the log is empty."""
    if ctx.store.last() is None:
        return None
    return card_of(ctx, None, None)


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
        elif key == "description":
            description_checked(value)
        elif key != "subject":
            raise WireError(ErrorCode.BAD_INPUT, f"unknown field '{key}'")
        checked[key] = value
    return ctx.store.edit(log_id, checked, by=agent_of(ctx))


def agent_of(ctx: Context) -> str:
    """Who the change log names for a change an agent asks for: this daemon's login."""
    return ctx.settings["server.login"] or "agent"


def description_checked(text: str) -> str:
    """A call's description as the card takes it: text of at most DESCRIPTION_BYTES."""
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise WireError(ErrorCode.BAD_INPUT, "the description is not valid text (a lone "
                        "surrogate): give UTF-8 text") from None
    if size > DESCRIPTION_BYTES:
        raise WireError(ErrorCode.BAD_INPUT, f"the description is {size} bytes, more than "
                        f"a call's description holds ({DESCRIPTION_BYTES // 1024} KiB): "
                        "shorten it")
    if "\x00" in text:
        raise WireError(ErrorCode.BAD_INPUT, "the description holds a NUL character: give "
                        "plain text")
    return text


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
