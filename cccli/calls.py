"""Call control: dial, answer, hang up, hold and resume."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from daemon import phone, profile
from daemon.wire import ErrorCode, WireError

from . import actions, client, complete, picker, quick, render
from .options import (CallId, CardLinks, CardNote, CardResult, CardSubject, CardType,
                      Json, card_fields, template_option)

Wait = Annotated[bool, typer.Option("--wait", help="Block until the call connects, is busy, "
                                     "unanswered or fails; the exit code says which.")]
Timeout = Annotated[float, typer.Option("--timeout", min=1, max=3600, help="With --wait: "
                                        "seconds before giving up and hanging up.")]
DialMode = Enum("DialMode", {mode: mode for mode in profile.DIAL_MODES}, type=str)


def dial(number: Annotated[Optional[str], typer.Argument(
             help="The number to call; @ALIAS or @N for a quick-dial entry.",
             autocompletion=complete.dial_targets)] = None,
         contact: Annotated[Optional[str], typer.Option(
             "--contact", help="Call a contact by name.",
             autocompletion=complete.contact_names)] = None,
         pick: Annotated[Optional[int], typer.Option(
             "--pick", help="With --contact: which of its numbers (1, 2, ...).")] = None,
         mode: Annotated[Optional[DialMode], typer.Option(
             "--mode", help="offhook: connects when the far end answers; callback: the "
                            "server rings the number, then your phone (default: dial.mode)")]
         = None,
         link: Annotated[Optional[list[str]], typer.Option(
             "--link", help="Pre-fill a link on the call's card, as calling from a task "
                            "does: KIND=VALUE with KIND task, sale, project, project_path, "
                            "incident, campaign or survey (repeatable).")] = None,
         wait: Wait = False, timeout: Timeout = 60.0, json: Json = False) -> None:
    """Call a number, a contact or a quick-dial entry."""
    actions.dial(number, contact, pick, mode.value if mode else None, link, wait, timeout,
                 json)


def redial(log_id: Annotated[Optional[int], typer.Argument(
               help="A call log id (see `cc log`); default: the last call.",
               autocompletion=complete.log_ids)] = None,
           wait: Wait = False, timeout: Timeout = 60.0, json: Json = False) -> None:
    """Call the number of the last call, or of a logged one, again."""
    actions.placed("redial", wait, timeout, json, log_id=log_id)


def calls(json: Json = False,
          format: template_option("call", "{call_id} {number} {talk}",
                                         "; each X_seconds is also {X} as m:ss") = None) -> None:
    """The active calls, oldest first, with their ids."""
    actions.calls(json, format)


def reject(call: CallId = None, json: Json = False) -> None:
    """Reject the ringing incoming call."""
    actions.reject(call, json)


def dtmf(digits: Annotated[str, typer.Argument(help="Digits to send: 0-9, *, #.")],
         call: CallId = None, json: Json = False) -> None:
    """Send touch-tone digits on the connected call (e.g. to an IVR menu)."""
    actions.dtmf(digits, call, json)


def answer(call: CallId = None, json: Json = False) -> None:
    """Answer the ringing call."""
    actions.answer(call, json)


def hangup(call: CallId = None, json: Json = False) -> None:
    """Hang up or cancel the current call. During a consult transfer it hangs up on the
    target: once the target answered, that completes the transfer (setting
    transfer.hangup_completes); before, the caller is taken back."""
    actions.hangup(call, json)


def hold(call: CallId = None, json: Json = False) -> None:
    """Put the call on hold, or resume it if it is held (a toggle)."""
    actions.hold(call, json)


def unhold(call: CallId = None, json: Json = False) -> None:
    """Resume a call on hold."""
    actions.unhold(call, json)


def wrapup(what: Annotated[Optional[str], typer.Argument(
               metavar="[done]", help="`done` closes wrap-up; without it, fill in or show "
                                      "the card.")] = None,
           call_type: CardType = None, subject: CardSubject = None,
           result: CardResult = None, link: CardLinks = None, note: CardNote = None,
           log_id: Annotated[Optional[int], typer.Option(
               "--id", help="A logged call to fill in (default: the call in wrap-up, else "
                            "the call up now -- the caller's during a consult transfer -- "
                            "else the last call).")] = None,
           call: CallId = None,
           hangup: Annotated[Optional[bool], typer.Option(
               "--hangup/--keep", help="With done while a call is still up: hang it up, "
                                       "or keep it.")] = None,
           description: Annotated[Optional[str], typer.Option(
               "--description", metavar="TEXT", help="The call's long description, beside "
               "the notes: TEXT replaces it ('' clears it, - reads it from standard input; "
               "`cc log edit ID --description` writes it in your editor).")] = None,
           remind: Annotated[Optional[str], typer.Option(
               "--remind", metavar="WHEN", help="Set a reminder on the call at WHEN, as `cc "
                                                "remind` takes it (15:30, tomorrow 9:00, in "
                                                "2h).")] = None,
           json: Json = False) -> None:
    """Wrap-up: fill in the call card; `done` ends processing."""
    if what not in (None, "done"):
        raise WireError(ErrorCode.BAD_INPUT,
                        f"unknown wrap-up action '{what}': use `cc wrapup done`")
    fields = card_fields(call_type, subject, result, link, note)
    if description is not None:
        from .editor import description_from_stdin

        fields["description"] = description_from_stdin() if description == "-" \
            else description
    done = what == "done"
    if done and hangup is None:
        hangup = _ask_hangup()
    card = client.request("wrapup", done=done, fields=fields, log_id=log_id, call_id=call,
                          hangup=hangup, remind=remind)
    render.out(card, json, lambda value: _card_line(value, done))


def _card_line(call: dict, done: bool) -> str:
    if done:
        return (f"wrap-up of {call['counter_number']} ({call['number']}) closed after "
                f"{render.duration(call['processing_seconds'])}")
    card = ", ".join(f"{k}={call[k]}" for k in ("call_type", "subject", "result")
                     if call.get(k))
    line = f"{call['counter_number']} {call['number']}: {card or 'card empty'}"
    if call.get("reminder"):        # --remind WHEN
        from .remind import said

        line += "\n" + said(call["reminder"])
    return line


def _ask_hangup() -> bool | None:
    """At a terminal, ask whether to hang up a call that is still up (when a call is in
    wrap-up: otherwise the daemon says there is nothing to close)."""
    if not picker.at_terminal():
        return None
    status = client.request("status")
    active = status["calls"]
    if not active or not status.get("wrapup"):
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
                      "Without it, at a terminal: pick from a list, or type a number.")]
                 = None,
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
        lines.append(render.call_line(result["transfer_leg"]) + "  (consult: `cc hangup` or "
                     "`cc transfer complete` joins them, `cc transfer cancel` takes the "
                     "caller back)")
    return "\n".join(lines)


def _pick_colleague() -> str:
    """At a terminal, the transfer target chosen from the colleagues (or, on Tab, from
    everyone: colleagues and the contacts book), or a number typed that matches none."""
    if not picker.at_terminal():
        raise WireError(ErrorCode.BAD_INPUT, "cc transfer needs a TARGET (a number or a "
                        "colleague's name) when not run at a terminal")
    colleagues = _colleague_cells(client.request("who", query=""))
    views = [picker.View("Colleagues", lambda: _rows(colleagues), "no colleague with a "
                         "number: import them with `cc who import FILE`"),
             picker.View("All", lambda: _rows(colleagues + _contact_cells(
                 client.request("contacts", query=""))))]
    typed = picker.Typed("transfer to", lambda text: phone.strip(text)
                         if phone.is_number(text) else None)
    # Asked even with one colleague: a transfer is not made on a guess.
    chosen = picker.ask(views, "transfer to: ", typed=typed,
                        live=bool(profile.load()["transfer.filter_as_you_type"]))
    if chosen is None:
        raise WireError(ErrorCode.FAILED, "transfer cancelled: no target was chosen")
    return chosen


def _colleague_cells(found: list[dict]) -> list[tuple[tuple[str, ...], str, tuple]]:
    """One row per number of each colleague: (name, number, state, department), the
    number to transfer to, and the numbers a typed piece of a number is matched against."""
    return [((p["name"], number, p["state"]["title"] if p["state"] else "",
              p["department"] or ""), number, (number,))
            for p in found for number in p["phones"]]


def _contact_cells(found: list[dict]) -> list[tuple[tuple[str, ...], str, tuple]]:
    """One row per number of each contact: (name, number as written, account, ""), the
    number to dial (E.164 where it can be), and both forms to match against."""
    return [((c["name"], shown, c["account"], ""), dial, (shown, dial))
            for c in found for shown, dial in zip(c["phones"], c["dial"])]


def _rows(cells: list[tuple[tuple[str, ...], str, tuple]]) -> list[picker.Row]:
    labels = _aligned([shown for shown, _, _ in cells])
    return [picker.Row(label, value, numbers, f"{shown[0]} {shown[1]}")
            for label, (shown, value, numbers) in zip(labels, cells)]


def _aligned(rows: list[tuple[str, ...]]) -> list[str]:
    """Each row's cells joined, every column but the last as wide as its widest cell."""
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return ["  ".join([cell.ljust(w) for cell, w in zip(row, widths)] + [row[-1]]).rstrip()
            for row in rows]


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
           json: Json = False,
           format: template_option("number", "{start} {number} {contact}",
                                         "; {start} is started_at in local time") = None) -> None:
    """Recent numbers, newest first, each once however it was written: dial one with
    --dial N."""
    format = render.template(format, "recent", json)
    if format is not None and dial_index is not None:
        raise WireError(ErrorCode.BAD_INPUT, "--format lists the numbers; --dial calls one: "
                        "give one of them")
    if dialed + received + missed > 1:
        raise WireError(ErrorCode.BAD_INPUT, "choose one of --dialed, --received, --missed")
    kind = "dialed" if dialed else "received" if received else "missed" if missed else "all"
    numbers = client.request("recent", kind=kind, limit=limit)
    if dial_index is not None:
        if dial_index > len(numbers):
            raise WireError(ErrorCode.BAD_INPUT,
                            f"--dial {dial_index}: the list has {len(numbers)} "
                            "numbers")
        actions.placed("dial", False, 60.0, json, number=numbers[dial_index - 1]["number"])
        return
    render.listed(numbers, json, _recent_lines, format)


def _recent_lines(numbers: list[dict]) -> str:
    return "\n".join(f"{n:>3}  {render.arrow(entry['direction'])} {entry['number']:<16} "
                     f"{render.local_time(entry['started_at'])}  {entry['outcome']}  "
                     f"{entry['contact']}" for n, entry in enumerate(numbers, 1)) \
        or "no recent numbers"
