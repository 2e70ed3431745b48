"""Output: JSON for scripts, aligned text and tables for people, CSV for spreadsheets.

Imports neither Typer nor rich (the hot path of cccli/hot.py prints through it)."""

from __future__ import annotations

import json
import sys
import unicodedata
from datetime import datetime

from daemon.units import duration
from daemon.wire import Direction, ErrorCode, Exit, WireError, for_json


def emit_json(value) -> None:
    sys.stdout.write(json.dumps(for_json(value), ensure_ascii=False, indent=2) + "\n")


def out(value, as_json: bool, text, empty: str | None = None) -> None:
    """The value as JSON for scripts, else `text` for people: a string, or a function of
    the value returning one (or printing a table itself). An empty value with `empty`
    fails with that message instead, for people only."""
    if as_json:
        emit_json(value)
    elif not value and empty is not None:
        fail(empty, Exit.FAILED)
    else:
        shown = text(value) if callable(text) else text
        if shown:
            print(shown)


def template(text: str | None, listing: str, as_json: bool) -> str | None:
    """A `--format TEMPLATE` checked before anything runs: one line if it is wrong."""
    if text is None:
        return None
    from daemon import templates

    if as_json:
        raise WireError(ErrorCode.BAD_INPUT, "--json and --format ask for two formats: "
                        "give one")
    try:
        templates.check(text, listing)
    except templates.FormatError as exc:
        raise WireError(ErrorCode.BAD_INPUT, str(exc)) from None
    return text


def listed(items: list[dict], as_json: bool, text, template: str | None,
           empty: str | None = None) -> None:
    """A listing: JSON, a line per item from `template` (none when there are none, as a
    script wants), or `text` for people."""
    if template is None:
        out(items, as_json, text, empty)
        return
    from daemon import templates

    try:
        lines = [templates.line(template, item) for item in items]
    except templates.FormatError as exc:
        raise WireError(ErrorCode.BAD_INPUT, str(exc)) from None
    if lines:
        print("\n".join(lines))


def fail(message: str, code: Exit) -> None:
    """One line on stderr and a non-zero exit: the shape of every error of `cc`."""
    sys.stderr.write(f"cc: {plain(message)}\n")
    raise SystemExit(int(code))


def warn(message: str) -> None:
    """One line on stderr for something that worked, but not as the user may expect."""
    sys.stderr.write(f"cc: warning: {plain(message)}\n")


def plain(message: str) -> str:
    """A message without control characters but its line breaks and tabs: what a server,
    the team store or a colleague put in it (a name, an option) never drives the terminal."""
    if message.isprintable():
        return message
    return "".join("?" if unicodedata.category(ch) == "Cc" and ch not in "\n\t" else ch
                   for ch in message)


def local_time(iso: str | None) -> str:
    if not iso:
        return ""
    return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def arrow(direction: str | None) -> str:
    return "->" if direction == Direction.OUT else "<-"


def call_line(call: dict) -> str:
    hold = f", hold {duration(call['hold_seconds'])}" if call.get("hold_seconds") else ""
    talk = f" talk {duration(call['talk_seconds'])}" if call.get("connected_at") else ""
    ended = f" ({call['outcome']})" if call.get("ended_at") else ""
    if call.get("contact"):
        who = call["contact"] + (f", {call['account']}" if call.get("account") else "")
        ended += f"  [{who}]"
    elif call.get("contact_candidates"):
        ended += f"  [one of: {'; '.join(json.loads(call['contact_candidates']))}]"
    elif call.get("account"):
        ended += f"  [{call['account']}]"
    # A contact's or account's name may hold anything an import or a colleague put there.
    return plain(f"call {call['call_id']} {arrow(call['direction'])} {call['number']}  "
                 f"{call['state_name']}{talk}{hold}{ended}")


def agent_line(view: dict) -> str:
    state = view["agent_state"]["title"]
    if view.get("state_reason"):
        state += f" ({view['state_reason']})"
    if view.get("state_until"):
        state += f" until {datetime.fromtimestamp(view['state_until']).strftime('%H:%M:%S')}"
    if view.get("pending_state"):
        state += f"; {view['pending_state']} after the call"
    who = view.get("login") or "(no login set)"
    ext = f" (ext {view['extension']})" if view.get("extension") else ""
    return plain(f"agent {who}{ext}: {state}")     # a state's title is the server's


# The log's default table: key columns never drop; the rest drop highest first when the
# terminal is narrow (the agent first when the rows are one agent's, the outcome last).
LOG_TABLE = (("id", "id", 0), ("no.", "counter_number", 2), ("start", "started_at", 0),
             ("dir", "direction", 0), ("number", "number", 0), ("outcome", "outcome", 1),
             ("result", "result", 3), ("wait", "wait_seconds", 6), ("talk", "talk_seconds", 4),
             ("hold", "hold_seconds", 7), ("agent", "agent", 8))
FREE_TEXT = ("notes", "subject", "contact", "account", "end_reason")


def log_table(rows: list[dict], colours: dict[str, str] | None = None,
              columns: tuple[str, ...] | None = None) -> None:
    """The log as a table: the usual columns (those a narrow terminal has room for), or
    exactly `columns` (the log's own names; free text cut to fit); each result in its
    catalogue colour on a terminal."""
    from .table import Column, show

    if columns is None:
        many = len({r.get("agent") for r in rows}) > 1
        heads = [(key, Column(head, drop=5 if key == "agent" and many else drop,
                              right=key == "id" or key.endswith("_seconds")))
                 for head, key, drop in LOG_TABLE
                 if key != "result" or any(r.get("result") for r in rows)]
    else:
        heads = [(key, Column(key, right=key == "id" or key.endswith("_seconds"),
                              shrink=key in FREE_TEXT or key.startswith("link_")))
                 for key in columns]
    tty = colour_on()
    cells, styles = [], []
    for r in rows:
        row, style = [], []
        for key, _ in heads:
            value = r.get(key)
            colour = (colours or {}).get(value or "", "") if key == "result" and tty else ""
            style.append(str(ANSI[colour]) if colour in ANSI else "")
            if key.endswith("_seconds"):
                row.append(duration(value))
            elif key.endswith("_at"):
                row.append(local_time(value))
            else:
                row.append(" ".join(str(value).split()) if value is not None else "")
        cells.append(row)
        styles.append(style)
    show([c for _, c in heads], cells, styles, bold_head=tty)


def colleagues(rows: list[dict]) -> None:
    """Colleagues: name, numbers and state always; position and department as room allows."""
    from .table import Column, show

    show([Column("name"), Column("position", drop=2, shrink=True),
          Column("department", drop=3, shrink=True), Column("phones"), Column("state")],
         [[r["name"], r["position"], r["department"], ", ".join(r["phones"]),
           r["state"]["title"] if r["state"] else "unknown"] for r in rows],
         bold_head=colour_on())


def imported(result: dict, what: str, as_json: bool, parts: tuple[str, ...] = ()) -> None:
    """An import's count (and its PARTS: added, updated, ...); rows it skipped go to stderr
    by line, and the exit says so."""
    counts = ", ".join(f"{result[p]} {p}" for p in parts)
    out(result, as_json, f"imported {result['imported']} {what}" + (f": {counts}"
                                                                     if counts else ""))
    skipped = result.get("skipped") or []
    for line in skipped[:-1]:
        sys.stderr.write(f"cc: skipped {line}\n")
    if skipped:
        fail(f"skipped {skipped[-1]} ({len(skipped)} row(s) skipped in all; the others "
             "were imported)", Exit.BAD_INPUT)


def contact_line(contact: dict) -> str:
    account = f" ({contact['account']})" if contact.get("account") else ""
    return f"{contact['name']}{account}: {numbers(contact)}"


def account_line(account: dict) -> str:
    people = "; contacts: " + ", ".join(account["contacts"]) if account.get("contacts") else ""
    return f"{account['name']} [account]: {numbers(account)}{people}"


def numbers(record: dict) -> str:
    """A contact's or account's numbers with their kinds; those no call is matched to
    (fax, pager) are marked so."""
    listed = [f"{n['number']} ({n['kind']})" for n in record.get("numbers", [])]
    return ", ".join(listed) or "no phone number"


ANSI = {"green": 32, "yellow": 33, "red": 31, "blue": 34, "magenta": 35, "cyan": 36,
        "grey": 90, "white": 37}


def colour_on() -> bool:
    import os

    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def coloured(text: str, colour: str) -> str:
    """Text in a catalogue colour on a terminal; plain in a pipe or with NO_COLOR."""
    if not colour or colour not in ANSI or not colour_on():
        return text
    return f"\x1b[{ANSI[colour]}m{text}\x1b[0m"


def task_failure(task: dict) -> str:
    """One line on a background task of the daemon that failed and was restarted."""
    return (f"the daemon's {task['name']} task failed {task['failures']} time(s), last at "
            f"{local_time(task['failed_at'])}: {task['last_error']}; "
            f"{'restarted' if task['running'] else 'restarting'} (see daemon.log)")


def waiting_lines(view: dict, stopped: bool = False) -> list[str]:
    """What `cc status` and `cc daemon stop` say of calls the call log cannot take yet;
    `stopped`: the daemon is gone (a forced stop), and what it held in memory with it."""
    waiting, spooled = view.get("waiting_calls", 0), view.get("spooled_calls", 0)
    lines = []
    if spooled:
        lines.append(f"warning {spooled} call(s) wait in {view['spool']} for the call log "
                     f"({view.get('store_error')}); they are written as soon as it can take "
                     "them, at the latest at the next start")
    if waiting > spooled:
        kept = "kept only in memory are lost" if stopped else "are kept only in memory"
        lines.append(f"warning {waiting - spooled} call(s) {kept}: {view.get('store_error')}")
    return lines


def events_lines(view: dict) -> list[str]:
    """What `cc status` and `cc daemon start` say of an events URL a server cannot use."""
    return [f"warning {line}" for line in (view.get("events") or {}).get("warnings", ())]


def retention_line(retention: dict) -> str:
    """Retention in one line: the setting, the last purge (what went from where, or why
    the team store was not purged), the next daily one."""
    days = retention["days"]
    line = (f"retention calls older than {days} days go daily" if days
            else "retention off (log.retention_days)")
    last = retention.get("last")
    if last:
        line += (f"; last purge {local_time(last['at'])} (older than {last['days']} days): "
                 f"{last['local']} call(s) from the call log")
        if last.get("team_error"):
            line += f", the team store not purged ({last['team_error']})"
        elif last.get("team") is not None:
            line += f", {last['team']} from the team store"
    elif days:
        line += "; no purge yet"
    if retention.get("next"):
        line += f"; next {local_time(retention['next'])}"
    return line


def team_line(team: dict) -> str:
    """The team store in one line: the outbox, the last sync, what is wrong."""
    synced = f"last sync {local_time(team['last_sync'])}" if team.get("last_sync") \
        else "never synced"
    line = f"team    {team['outbox']} call(s) in the outbox, {synced}"
    if team.get("refused"):
        line += f"; {team['refused']} refused (see daemon.log)"
    if team.get("last_error"):
        line += f"\nerror   team store: {team['last_error']}"
    if team.get("warning"):
        line += f"\nwarning team store: {team['warning']}"
    return line


def contacts_sync_line(sync: dict) -> str:
    """The team's contacts in one line: changes waiting to go, the last pull, what is wrong."""
    pulled = f"last pull {local_time(sync['last_pull'])}" if sync.get("last_pull") \
        else "never pulled"
    line = f"contacts {sync['outbox']} change(s) to send, {pulled}"
    if sync.get("refused"):
        line += f"; {sync['refused']} refused (see daemon.log)"
    if sync.get("last_error"):
        line += f"\nerror   team contacts: {sync['last_error']}"
    return line
