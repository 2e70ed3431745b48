"""The everyday commands' bodies and what they print: the agent's state, the status, and
call control. Both ways into `cc` run them: the Typer app (cccli/agent.py, cccli/calls.py
declare the commands, their help and options, and call these) and the hot path
(cccli/hot.py), which recognises these commands' plain command lines without importing
Typer. So this module imports neither Typer nor rich, nor anything that does.
"""

from __future__ import annotations

import re
from datetime import datetime

from daemon import phone
from daemon.states import LineState
from daemon.units import duration
from daemon.wire import OUTCOME_EXIT, ErrorCode, Exit, SessionStatus, WireError

from . import client, render

# The agent's state.

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h)?$")
_UNIT = {"s": 1, "m": 60, "h": 3600, None: 60}


def parse_duration(text: str) -> float:
    """`30m`, `1h`, `90s`, or plain minutes."""
    match = _DURATION.match(text.strip())
    if not match or float(match.group(1)) <= 0:
        raise WireError(ErrorCode.BAD_INPUT, f"--for '{text}' is not a duration: use e.g. 30m, 1h "
                        "or 90s")
    return float(match.group(1)) * _UNIT[match.group(2)]


def _set(name: str, json: bool, for_: str | None = None, after_call: bool = False,
         **extra) -> None:
    seconds = parse_duration(for_) if for_ else None
    render.out(client.request("state", name=name, for_seconds=seconds, after_call=after_call,
                              **extra), json, render.agent_line)


def state(name: str | None = None, json: bool = False) -> None:
    render.out(client.request("state", name=name), json, render.agent_line)


def available(json: bool = False) -> None:
    _set("available", json)


def away(for_: str | None = None, after_call: bool = False, json: bool = False) -> None:
    _set("away", json, for_, after_call)


def break_(reason: str | None = None, other: str | None = None, for_: str | None = None,
           after_call: bool = False, json: bool = False) -> None:
    if reason and other:
        raise WireError(ErrorCode.BAD_INPUT, "give a regulated REASON or --other TEXT, not both")
    _set("break", json, for_, after_call, reason=reason, other=other)


def status(json: bool = False) -> None:
    render.out(client.request("status"), json, status_lines)


def status_lines(view: dict) -> str:
    session = view["session"]
    if session == SessionStatus.RECONNECTING:
        session = f"reconnecting, next try in {view.get('next_try_in', 0):.0f} s"
    elif session == SessionStatus.DISCONNECTED:
        session = "disconnected (session.reconnect is off: log in again with `cc login`)"
    lines = [f"daemon  pid {view['pid']}, {session} ({view['server']})"]
    if view.get("last_error") and view["session"] != SessionStatus.LOGGED_IN:
        lines.append(f"error   {view['last_error']}")
    lines.append(render.agent_line(view))
    lines += [render.call_line(call) for call in view["calls"]] or ["line idle"]
    if view.get("wrapup"):
        lines.append(_wrapup_line(view["wrapup"]))
    lines += render.waiting_lines(view)
    lines += render.events_lines(view)
    lines += [f"warning {render.task_failure(task)}" for task in view.get("task_failures", ())]
    if view.get("store_notice"):
        lines.append(f"notice  {view['store_notice']}")
    if "team" in view:
        lines.append(render.team_line(view["team"]))
    if "retention" in view:
        lines.append(render.retention_line(view["retention"]))
    if "contacts_sync" in view:
        lines.append(render.contacts_sync_line(view["contacts_sync"]))
    return render.plain("\n".join(lines))     # errors quote the server and the store


def _wrapup_line(wrapup: dict) -> str:
    """Which call is in wrap-up, since when, and how long it has left with wrapup.timeout."""
    since = datetime.fromtimestamp(wrapup["since"]).strftime("%H:%M:%S") \
        if wrapup.get("since") else "?"
    left = f", {duration(wrapup['left'])} left" if "left" in wrapup else ""
    return (f"wrap-up call {wrapup['call_id']} ({wrapup['number']}) since {since}{left}: "
            "close it with `cc wrapup done`")


# Calls.

_DTMF = re.compile(r"^[0-9*#]{1,64}$")
WAIT_MESSAGES = {
    "busy": "{number} is busy",
    "not-answered": "{number} did not answer",
    "timed-out": "{number} did not answer within {timeout:g} s; the call was hung up",
    "rejected": "{number} rejected the call",
    "failed": "the call to {number} failed",
}


def placed(cmd: str, wait: bool, timeout: float, json: bool, **args) -> None:
    """Place a call (dial, redial) and print it; with `wait`, block until it connects or
    ends, and exit with the code its outcome has."""
    if not wait:
        render.out(client.request(cmd, **args), json, _placed_line)
        return
    call = client.request(cmd, wait=timeout, timeout=timeout + 15, **args)
    render.out(call, json, _placed_line)
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


def _placed_line(call: dict) -> str:
    """The call, and the links its card starts with (a redial's, or `--link`)."""
    links = call.get("links") or {}
    return render.call_line(call) + "".join(f"  {kind}={value}"
                                            for kind, value in links.items())


def dial(number: str | None = None, contact: str | None = None, pick: int | None = None,
         mode: str | None = None, link: list[str] | None = None, wait: bool = False,
         timeout: float = 60.0, json: bool = False) -> None:
    links = None
    if link:
        from .options import parse_links

        links = parse_links(link)
    contact_id = None
    if contact:
        if number:
            raise WireError(ErrorCode.BAD_INPUT, "give a NUMBER or --contact NAME, not both")
        from . import contacts

        number, contact_id = contacts.pick_number(contact, pick)
    elif not number:
        raise WireError(ErrorCode.BAD_INPUT,
                        "what to call? cc dial NUMBER | @ALIAS | --contact NAME")
    elif number.startswith("@"):
        from . import quick

        number = quick.lookup(number[1:])
    placed("dial", wait, timeout, json, number=phone.clean(number), mode=mode,
           links=links or None, contact_id=contact_id)


def calls(json: bool = False, format: str | None = None) -> None:
    format = render.template(format, "calls", json)
    active = client.request("calls")
    render.listed(active, json, lambda found: "\n".join(map(render.call_line, found))
                  or "line idle", format)


def reject(call: str | None = None, json: bool = False) -> None:
    render.out(client.request("reject", call_id=call), json, render.call_line)


def dtmf(digits: str, call: str | None = None, json: bool = False) -> None:
    if not _DTMF.match(digits):
        raise WireError(ErrorCode.BAD_INPUT,
                        f"'{digits}' cannot be sent as tones: use 0-9, * and #")
    result = client.request("dtmf", digits=digits, call_id=call)
    render.out(result, json, f"sent {digits} on call {result['call_id']}")


def answer(call: str | None = None, json: bool = False) -> None:
    render.out(client.request("answer", call_id=call), json, render.call_line)


def hangup(call: str | None = None, json: bool = False) -> None:
    render.out(client.request("hangup", call_id=call), json, _hangup_lines)


CONSULT_ENDS = {
    "completed": "transfer completed: the caller is put through to {transfer_to}",
    "cancelled": "the target had not answered: consult cancelled, the caller is back",
    "abandoned": "the target is hung up on; the caller stays on hold (`cc unhold` resumes)",
}


def _hangup_lines(result: dict) -> str:
    line = render.call_line(result)
    if result.get("transfer") in CONSULT_ENDS:
        line += "\n" + CONSULT_ENDS[result["transfer"]].format(**result)
    return line


def hold(call: str | None = None, json: bool = False) -> None:
    render.out(client.request("hold", call_id=call), json, render.call_line)


def unhold(call: str | None = None, json: bool = False) -> None:
    render.out(client.request("unhold", call_id=call), json, render.call_line)
