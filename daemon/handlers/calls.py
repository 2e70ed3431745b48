"""Call control: dial, redial, answer, reject, hang up, hold, resume, touch tones."""

from __future__ import annotations

import logging
from typing import Annotated

from .. import phone
from ..control import ended, forbid, resumed
from ..infinity import AnswerLost, BadResponse, CallAction, InfinityError
from ..profile import DIAL_MODES
from ..states import HELD, RINGING, TALKING, LineState, line_name
from ..store import LINKS
from ..wire import Direction, ErrorCode, WireError
from .card import link_columns
from .context import Context
from .registry import CallId, Length, LogId, Match, OneOf, Range, command

log = logging.getLogger("cc.calls")
Number = Annotated[str, Length(1, 64)]
Wait = Annotated[float, Range(0, 86400)] | None
Mode = Annotated[str, OneOf(DIAL_MODES)] | None
# A link's value as a task, sale, ... names it: one line of printable text.
LinkValue = Annotated[str, Match(r"[^\x00-\x1f\x7f]{1,200}", "1 to 200 characters on one line")]
Links = dict[str, LinkValue] | None
# An outgoing call of the agent's on its way: the line is taken until it connects or ends.
PLACING = frozenset({LineState.DIALTONE, LineState.DIAL_NUMBER, LineState.ALERTING,
                     LineState.REMINDER})


@command("calls", "The active calls, oldest first.")
async def calls(ctx: Context) -> list[dict]:
    return [c.view() for c in sorted(ctx.tracker.active(), key=lambda c: c.started_at)]


@command("dial", "Place a call; with WAIT, block until it connects or ends (hang up after "
                 "WAIT seconds). LINKS (kind -> value: task, sale, ...) are pre-filled on "
                 "the call's card; CONTACT_ID is the contact chosen by name, whose number "
                 "this is.")
async def dial(ctx: Context, number: Number, wait: Wait = None, mode: Mode = None,
               links: Links = None,
               contact_id: Annotated[int, Range(1, 2**62)] | None = None) -> dict:
    # CONTACT_ID: the contact chosen by name (F31); else the number's one contact, if it
    # has one (F5).
    chosen = _chosen(ctx, contact_id, number)
    return await _dial(ctx, phone.clean(number), wait, mode, links or {}, **chosen)


async def _dial(ctx: Context, number: str, wait: float | None, mode: str | None,
                links: dict[str, str], **details) -> dict:
    """Place the call with `links` on its card and `details` (contact, ...) and, with
    `wait`, wait until it connects or ends."""
    call = await _place(ctx, number, mode, card=link_columns(links), **details)
    if wait is None:
        return {**call.view(), "links": links}
    # In callback mode the far end's answer rings the agent's phone back (Reminder).
    settled = await ctx.tracker.wait_for(
        call, lambda c: c.ended or c.connected_at is not None
        or c.state == LineState.REMINDER, wait, ctx.session.clock)
    if not settled:
        call.dropped_by_agent = True
        try:
            await ctx.client.call_action(CallAction.HANG_UP, ctx.session.id_user, call.call_id)
        except InfinityError as exc:
            log.warning("could not hang up call %s after --timeout: %s", call.call_id, exc)
        await ctx.control.wait_end(call)
    return {**call.view(), "links": links, "timed_out": not settled}


@command("redial", "Call the number of the last call, or of the logged call LOG_ID, again, "
                   "with its links, contact and account on the new call's card.")
async def redial(ctx: Context, log_id: LogId | None = None,
                 wait: Wait = None) -> dict:
    row = ctx.store.get(log_id) if log_id is not None else ctx.store.last()
    if row is None:
        raise WireError(ErrorCode.NO_SUCH_CALL,
                        f"no call {log_id} in the call log (see `cc log`)" if log_id is not None
                        else "the call log is empty: nothing to redial")
    if not row.get("number"):
        raise WireError(ErrorCode.BAD_INPUT, f"call {row['id']} has no number to redial")
    if row["number"] == phone.ANONYMOUS:
        raise WireError(ErrorCode.BAD_INPUT, f"call {row['id']} came from an anonymous caller "
                        "who withheld their number: there is no number to redial")
    links = {kind: row[f"link_{kind}"] for kind in LINKS if row.get(f"link_{kind}")}
    # The contact the call was linked to, even when the number is shared (F21).
    who = {name: row[name] for name in ("contact", "account") if row.get(name)}
    who.update({name: value for name, value in ctx.store.links(row["id"]).items() if value})
    if who:
        who["contact_candidates"] = ""
    return await _dial(ctx, row["number"], wait, None, links, **who)


def _line_allows_dial(ctx: Context) -> None:
    """F24: one call at a time on the line; a second needs the first on hold."""
    for call in ctx.tracker.active():
        if call.state in TALKING:
            raise WireError(ErrorCode.STATE_FORBIDS, f"call {call.call_id} ({call.number}) is "
                            f"{line_name(call.state)}: put it on hold first (`cc hold`), "
                            "then dial")
        if call.state in PLACING:
            raise WireError(ErrorCode.STATE_FORBIDS, f"call {call.call_id} ({call.number}) is "
                            f"{line_name(call.state)}: wait for it, or hang it up "
                            "(`cc hangup`), then dial")


def _chosen(ctx: Context, contact_id: int | None, number: str) -> dict:
    """The card's contact and account when the agent named the contact."""
    if contact_id is None:
        return {}
    contact = ctx.contacts.get(contact_id)
    if ctx.contacts.key(number) not in {ctx.contacts.key(p) for p in contact["phones"]}:
        raise WireError(ErrorCode.BAD_INPUT, f"{number} is not a number of {contact['name']}")
    return {"contact": contact["name"], "contact_id": contact["id"],
            "account": contact["account"], "account_id": contact["account_id"],
            "contact_candidates": ""}


async def _place(ctx: Context, number: str, mode: str | None, **details):
    id_user = await ctx.session.ready()
    _line_allows_dial(ctx)
    mode = mode or ctx.settings["dial.mode"]     # one of DIAL_MODES: checked at load
    try:
        call_id = await ctx.client.make_call(id_user, number, mode)
    except (BadResponse, AnswerLost) as exc:
        raise WireError(ErrorCode.SERVER, f"{exc}; the call may have been placed anyway: "
                        "see `cc status` before dialling again") from None
    except InfinityError as exc:
        raise WireError(ErrorCode.SERVER, f"the server refused the call to {number}: {exc}") \
            from None
    # Dialling until the server says more (its events may have come first).
    known = ctx.tracker.confirm(call_id)
    return ctx.tracker.seen(call_id, Direction.OUT, number,
                            None if known else LineState.DIAL_NUMBER, dial_mode=mode, **details)


@command("answer", "Answer the ringing call.")
async def answer(ctx: Context, call_id: CallId = None) -> dict:
    return await ctx.control.on_call(call_id, "answer", CallAction.ANSWER, _talking_or_ended,
                                     RINGING, "a ringing call")


@command("reject", "Reject the ringing incoming call.")
async def reject(ctx: Context, call_id: CallId = None) -> dict:
    await ctx.session.ready()
    call = ctx.control.pick(call_id, RINGING, "reject")
    if call.state not in RINGING or call.direction != Direction.IN:
        raise forbid(call, "reject", "a ringing incoming call")
    return await ctx.control.act(CallAction.HANG_UP, call, ended)


@command("hangup", "Hang up or cancel the call; during a consult transfer, hang up on the "
                   "target: once it answered this completes the transfer "
                   "(transfer.hangup_completes), before that it takes the caller back.")
async def hangup(ctx: Context, call_id: CallId = None) -> dict:
    await ctx.session.ready()
    consult = ctx.transfers.consult_to_hang_up(call_id)
    if consult is not None:
        return await ctx.transfers.hang_up_leg(consult)
    return await ctx.control.on_call(call_id, "hangup", CallAction.HANG_UP, ended,
                                     verb="hang up")


@command("hold", "A toggle: hold the connected call, resume a held one.")
async def hold(ctx: Context, call_id: CallId = None) -> dict:
    await ctx.session.ready()
    call = ctx.control.pick(call_id, verb="hold")
    if call.state in HELD:
        return await ctx.control.act(CallAction.RESUME, call, resumed)
    if call.state != LineState.CONNECTED:
        raise forbid(call, "hold", "a connected call")
    return await ctx.control.act(CallAction.HOLD, call, lambda c: c.state in HELD or c.ended)


@command("unhold", "Resume the call on hold.")
async def unhold(ctx: Context, call_id: CallId = None) -> dict:
    return await ctx.control.on_call(call_id, "unhold", CallAction.RESUME, resumed, HELD,
                                     "a call on hold", verb="resume")


def _talking_or_ended(call) -> bool:
    return call.state in TALKING or call.ended


@command("dtmf", "Send touch-tone DIGITS (0-9, *, #) on the connected call.")
async def dtmf(ctx: Context, digits: Annotated[str, Match(r"[0-9*#]{1,64}", "0-9, * and #")],
               call_id: CallId = None) -> dict:
    id_user = await ctx.session.ready()
    call = ctx.control.pick(call_id, {LineState.CONNECTED}, "send digits to")
    if call.state != LineState.CONNECTED:
        raise forbid(call, "dtmf", "a connected call")
    try:
        await ctx.client.send_digits(id_user, call.call_id, digits)
    except InfinityError as exc:
        raise WireError(ErrorCode.SERVER, f"the server refused the digits: {exc}") from None
    return {**call.view(), "digits": digits}
