"""Call control: dial, answer, hang up, hold and resume."""

from __future__ import annotations

import re
from enum import Enum
from typing import Annotated, Optional

import typer

from daemon import phone, profile
from daemon.states import LineState
from daemon.wire import OUTCOME_EXIT, ErrorCode, Exit, WireError

from . import client, complete, contacts, picker, quick, render
from .options import (CallId, CardLinks, CardNote, CardResult, CardSubject, CardType,
                      Json, card_fields)

_DTMF = re.compile(r"^[0-9*#]{1,64}$")


Wait = Annotated[bool, typer.Option("--wait", help="Block until the call connects, is busy, "
                                     "unanswered or fails; the exit code says which.")]
Timeout = Annotated[float, typer.Option("--timeout", min=1, max=3600, help="With --wait: "
                                        "seconds before giving up and hanging up.")]
WAIT_MESSAGES = {
    "busy": "{number} is busy",
    "not-answered": "{number} did not answer",
    "timed-out": "{number} did not answer within {timeout:g} s; the call was hung up",
    "rejected": "{number} rejected the call",
    "failed": "the call to {number} failed",
}


def _placed(cmd: str, wait: bool, timeout: float, json: bool, **args) -> None:
    if not wait:
        render.out(client.request(cmd, **args), json, render.call_line)
        return
    call = client.request(cmd, wait=timeout, timeout=timeout + 15, **args)
    render.out(call, json, render.call_line)
    # In callback mode the server rings the agent back once the far end answers.
    ringback = call["state"] == LineState.REMINDER
    if ringback and not json:
        print("the far end answered: your phone rings, pick up with `cc answer`")
    outcome = "answered" if call["connected_at"] or ringback else call["outcome"]
    if call.get("timed_out"):
        outcome = "timed-out"
    code = OUTCOME_EXIT.get(outcome, Exit.CALL_FAILED)
    if code != Exit.OK:
        render.fail(WAIT_MESSAGES.get(outcome, "the call to {number} ended: "
                                      + outcome).format(timeout=timeout, **call),
                    code)


DialMode = Enum("DialMode", {mode: mode for mode in profile.DIAL_MODES}, type=str)


def dial(number: Annotated[Optional[str], typer.Argument(
             help="The number to call; @ALIAS or @N for a quick-dial entry.")] = None,
         contact: Annotated[Optional[str], typer.Option(
             "--contact", help="Call a contact by name.")] = None,
         pick: Annotated[Optional[int], typer.Option(
             "--pick", help="With --contact: which of its numbers (1, 2, ...).")] = None,
         mode: Annotated[Optional[DialMode], typer.Option(
             "--mode", help="offhook: connects when the far end answers; callback: the "
                            "server rings the number, then your phone (default: dial.mode)")]
         = None,
         wait: Wait = False, timeout: Timeout = 60.0, json: Json = False) -> None:
    """Call a number, a contact or a quick-dial entry."""
    if contact:
        if number:
            raise WireError(ErrorCode.BAD_INPUT, "give a NUMBER or --contact NAME, not both")
        number = contacts.pick_number(contact, pick)
    elif not number:
        raise WireError(ErrorCode.BAD_INPUT,
                        "what to call? cc dial NUMBER | @ALIAS | --contact NAME")
    elif number.startswith("@"):
        number = quick.lookup(number[1:])
    _placed("dial", wait, timeout, json, number=phone.clean(number),
            mode=mode.value if mode else None)


def redial(log_id: Annotated[Optional[int], typer.Argument(
               help="A call log id (see `cc log`); default: the last call.")] = None,
           wait: Wait = False, timeout: Timeout = 60.0, json: Json = False) -> None:
    """Call the number of the last call, or of a logged one, again."""
    _placed("redial", wait, timeout, json, log_id=log_id)


def calls(json: Json = False) -> None:
    """The active calls, oldest first, with their ids."""
    active = client.request("calls")
    render.out(active, json, lambda found: "\n".join(map(render.call_line, found))
               or "line idle")


def reject(call: CallId = None, json: Json = False) -> None:
    """Reject the ringing incoming call."""
    render.out(client.request("reject", call_id=call), json, render.call_line)


def dtmf(digits: Annotated[str, typer.Argument(help="Digits to send: 0-9, *, #.")],
         call: CallId = None, json: Json = False) -> None:
    """Send touch-tone digits on the connected call (e.g. to an IVR menu)."""
    if not _DTMF.match(digits):
        raise WireError(ErrorCode.BAD_INPUT,
                        f"'{digits}' cannot be sent as tones: use 0-9, * and #")
    result = client.request("dtmf", digits=digits, call_id=call)
    render.out(result, json, f"sent {digits} on call {result['call_id']}")


def answer(call: CallId = None, json: Json = False) -> None:
    """Answer the ringing call."""
    render.out(client.request("answer", call_id=call), json, render.call_line)


def hangup(call: CallId = None, json: Json = False) -> None:
    """Hang up or cancel the current call."""
    render.out(client.request("hangup", call_id=call), json, render.call_line)


def hold(call: CallId = None, json: Json = False) -> None:
    """Put the call on hold, or resume it if it is held (a toggle)."""
    render.out(client.request("hold", call_id=call), json, render.call_line)


def unhold(call: CallId = None, json: Json = False) -> None:
    """Resume a call on hold."""
    render.out(client.request("unhold", call_id=call), json, render.call_line)


def wrapup(what: Annotated[Optional[str], typer.Argument(
               metavar="[done]", help="`done` closes wrap-up; without it, fill in or show "
                                      "the card.")] = None,
           call_type: CardType = None, subject: CardSubject = None,
           result: CardResult = None, link: CardLinks = None, note: CardNote = None,
           log_id: Annotated[Optional[int], typer.Option(
               "--id", help="A logged call to fill in (default: the call in wrap-up, else "
                            "the last call).")] = None,
           hangup: Annotated[Optional[bool], typer.Option(
               "--hangup/--keep", help="With done while a call is still up: hang it up, "
                                       "or keep it.")] = None,
           json: Json = False) -> None:
    """Wrap-up: fill in the call card; `done` ends processing."""
    if what not in (None, "done"):
        raise WireError(ErrorCode.BAD_INPUT,
                        f"unknown wrap-up action '{what}': use `cc wrapup done`")
    fields = card_fields(call_type, subject, result, link, note)
    done = what == "done"
    if done and hangup is None:
        hangup = _ask_hangup()
    call = client.request("wrapup", done=done, fields=fields, log_id=log_id, hangup=hangup)
    render.out(call, json, lambda value: _card_line(value, done))


def _card_line(call: dict | None, done: bool) -> str:
    if not call:
        return "no call in wrap-up"
    if done:
        return (f"wrap-up of {call['counter_number']} ({call['number']}) closed after "
                f"{render.duration(call['processing_seconds'])}")
    card = ", ".join(f"{k}={call[k]}" for k in ("call_type", "subject", "result")
                     if call.get(k))
    return f"{call['counter_number']} {call['number']}: {card or 'card empty'}"


def _ask_hangup() -> bool | None:
    """At a terminal, ask whether to hang up a call that is still up."""
    if not picker.at_terminal():
        return None
    active = client.request("calls")
    if not active:
        return None
    return typer.confirm(f"Call {active[0]['call_id']} ({active[0]['number']}) is still "
                         f"{active[0]['state_name']}: hang it up?", default=False)


TRANSFER_ACTIONS = ("complete", "cancel")


def transfer(target: Annotated[Optional[str], typer.Argument(
                 metavar="[TARGET | complete | cancel]",
                 autocompletion=complete.transfer_targets,
                 help="A number, a colleague's name or a quick-dial @ALIAS; `complete` joins "
                      "the caller and the "
                      "target, `cancel` hangs up on the target and resumes the caller. "
                      "Without it, at a terminal: pick a colleague.")] = None,
             blind: Annotated[bool, typer.Option(
                 "--blind", help="Transfer at once, without talking to the target first.")]
             = False,
             call: CallId = None, json: Json = False) -> None:
    """Transfer the call: consult by default (the caller waits on hold), or --blind."""
    if target in TRANSFER_ACTIONS:
        result = client.request("transfer", action=target, call_id=call)
    else:
        if target is None:
            target = _pick_colleague()
        elif target.startswith("@"):
            target = quick.lookup(target[1:])
        result = client.request("transfer", target=target, blind=blind, call_id=call)
    render.out(result, json, _transfer_lines)


def _transfer_lines(result: dict) -> str:
    lines = [render.call_line(result)]
    if result.get("transfer_leg"):
        lines.append(render.call_line(result["transfer_leg"]) + "  (consult: `cc transfer "
                     "complete` or `cc transfer cancel`)")
    return "\n".join(lines)


def _pick_colleague() -> str:
    if not picker.at_terminal():
        raise WireError(ErrorCode.BAD_INPUT, "cc transfer needs a TARGET (a number or a "
                        "colleague's name) when not run at a terminal")
    items = [(f"{p['name']}  {', '.join(p['phones'])}  "
              f"{p['state']['title'] if p['state'] else ''}", p["phones"][0])
             for p in client.request("who", query="") if p["phones"]]
    if not items:
        raise WireError(ErrorCode.BAD_INPUT, "the directory has no colleague with a number: "
                        "give a number, or import colleagues with `cc who import FILE`")
    # Asked even with one colleague: a transfer is not made on a guess.
    return picker.choose(items, "transfer to: ", "the directory", "colleague",
                         gave_up="transfer cancelled", ask_one=True)


def recent(dialed: Annotated[bool, typer.Option("--dialed", help="Numbers you called.")]
           = False,
           received: Annotated[bool, typer.Option("--received", help="Calls you answered.")]
           = False,
           missed: Annotated[bool, typer.Option(
               "--missed", help="Calls you did not accept: missed and rejected ones.")]
           = False,
           dial_index: Annotated[Optional[int], typer.Option(
               "--dial", min=1, help="Call the N-th number of the list.")] = None,
           limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=100)] = 10,
           json: Json = False) -> None:
    """Recent numbers, newest first, each once however it was written: dial one with
    --dial N."""
    if dialed + received + missed > 1:
        raise WireError(ErrorCode.BAD_INPUT, "choose one of --dialed, --received, --missed")
    kind = "dialed" if dialed else "received" if received else "missed" if missed else "all"
    numbers = client.request("recent", kind=kind, limit=limit)
    if dial_index is not None:
        if dial_index > len(numbers):
            raise WireError(ErrorCode.BAD_INPUT,
                            f"--dial {dial_index}: the list has {len(numbers)} "
                            "numbers")
        _placed("dial", False, 60.0, json, number=numbers[dial_index - 1]["number"])
        return
    render.out(numbers, json, _recent_lines)


def _recent_lines(numbers: list[dict]) -> str:
    return "\n".join(f"{n:>3}  {render.arrow(entry['direction'])} {entry['number']:<16} "
                     f"{render.local_time(entry['started_at'])}  {entry['outcome']}  "
                     f"{entry['contact']}" for n, entry in enumerate(numbers, 1)) \
        or "no recent numbers"
