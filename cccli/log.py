"""`cc log`: the call log, filtered, sorted, exported; `cc log show ID`; saved filters."""

from __future__ import annotations

import contextlib
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from daemon import profile, wire
from daemon.wire import ErrorCode, LOG_COLUMNS, WireError

from . import client, complete, picker, render
from .contacts import Kind
from .options import CardLinks, CardNote, CardSubject, CardType, Json, card_fields

PAGE = 5000


class Direction(str, Enum):
    in_ = wire.Direction.IN.value
    out = wire.Direction.OUT.value


class Sort(str, Enum):
    start = "start"
    talk = "talk"
    hold = "hold"
    wait = "wait"
    processing = "processing"


FILTER_KEYS = ("period", "agent", "direction", "result", "missed", "number", "contact", "sort",
               "desc")


def log(words: Annotated[Optional[list[str]], typer.Argument(
            metavar="[NAME | show ID | edit ID | rm ID | save NAME]",
            help="A saved filter's NAME; `show ID` for one call's full record; "
                 "`edit ID` with card options; `rm ID` (or --all); `save NAME` keeps the "
                 "filters given as NAME.")] = None,
        period: Annotated[Optional[str], typer.Option(
            "--period", "-p", autocompletion=complete.periods,
            help="today, yesterday, this-week, last-week, this-month, last-month, or FROM..TO "
                 "(YYYY-MM-DD).")] = None,
        agent: Annotated[Optional[str], typer.Option(help="Only this agent's calls.")] = None,
        direction: Annotated[Optional[Direction], typer.Option(
            help="Incoming or outgoing calls.")] = None,
        result: Annotated[Optional[str], typer.Option(
            help="Only calls with this outcome (answered, missed, busy, ...).")] = None,
        missed: Annotated[Optional[bool], typer.Option(
            "--missed", help="Only missed calls.")] = None,
        number: Annotated[Optional[str], typer.Option(
            help="Calls whose number contains this.")] = None,
        contact: Annotated[Optional[str], typer.Option(
            help="Calls whose contact or account contains this.")] = None,
        sort: Annotated[Optional[Sort], typer.Option(help="Sort by this time.")] = None,
        desc: Annotated[Optional[bool], typer.Option(
            "--desc/--asc", help="Largest or newest first (default), or the reverse.")] = None,
        columns: Annotated[Optional[str], typer.Option(
            help="Comma-separated columns for json, ndjson and csv.")] = None,
        limit: Annotated[Optional[int], typer.Option(
            "--limit", "-n", min=1, help="At most this many calls (default: 20 in a table, "
                                         "all in other formats).")] = None,
        format: Annotated[str, typer.Option(
            "--format", "-f", autocompletion=complete.log_formats,
            help="table, json, ndjson, csv, asterisk-csv, or a template such as "
                 "'{start} {number} {outcome}'.")] = "table",
        output: Annotated[Optional[str], typer.Option(
            "--output", "-o", help="Write to this file instead of standard output.")] = None,
        call_type: CardType = None, subject: CardSubject = None, link: CardLinks = None,
        note: CardNote = None,
        account: Annotated[Optional[str], typer.Option(
            help="With edit: the account the call is linked to ('' for none).")] = None,
        found: Annotated[bool, typer.Option(
            "--found", help="With edit: choose who called among the contacts found by the "
                            "call's number (at a terminal; --pick N in scripts).")] = False,
        pick: Annotated[Optional[int], typer.Option(
            "--pick", min=1, help="With edit: the Nth contact found by the call's number.")]
        = None,
        new_contact: Annotated[Optional[str], typer.Option(
            "--new-contact", help="With edit: make a contact of this name from the call "
                                  "(its number, the card's account) and link the call to it.")]
        = None,
        new_account: Annotated[Optional[str], typer.Option(
            "--new-account", help="With edit: make an account of this name and link the "
                                  "call to it.")] = None,
        kind: Annotated[Optional[Kind], typer.Option(
            "--kind", help="With --new-contact: the kind of the call's number.")] = None,
        new_number: Annotated[Optional[str], typer.Option(
            "--set-number", help="Refused: a saved call's number never changes.")]
        = None,
        database: Annotated[Optional[Path], typer.Option(
            help="Read this call log file itself, without the daemon: a copy, or a damaged "
                 "log the daemon set aside.")] = None,
        all_: Annotated[bool, typer.Option("--all", help="With rm: every call.")] = False,
        yes: Annotated[bool, typer.Option("--yes", "-y", help="With rm: do not ask.")]
        = False,
        json: Json = False) -> None:
    """The call log, newest first."""
    words = words or []
    given = {"period": period, "agent": agent,
             "direction": direction.value if direction else None, "result": result,
             "missed": missed, "number": number, "contact": contact,
             "sort": sort.value if sort else None, "desc": desc}
    action = words[0] if words and words[0] in ("edit", "rm", "show", "save") else None
    if action == "edit":
        fields = card_fields(call_type, subject, result, link, note)
        if new_number is not None:
            fields["number"] = new_number
        links = {k: v for k, v in (("contact", contact), ("account", account), ("pick", pick),
                                   ("new_contact", new_contact), ("new_account", new_account),
                                   ("kind", kind.value if kind else None)) if v is not None}
        _edit(words[1:], fields, links, found, json)
    elif any(v is not None for v in (account, found or None, pick, new_contact, new_account,
                                     kind)):
        raise WireError(ErrorCode.BAD_INPUT, "--account, --found, --pick, --new-contact, "
                        "--new-account and --kind change a call's card: use them with "
                        "`cc log edit ID`")
    elif action == "rm":
        _remove(words[1:], all_, yes, json)
    elif action == "show":
        if len(words) != 2 or not words[1].isdigit():
            raise WireError(ErrorCode.BAD_INPUT, "usage: cc log show ID (an id from `cc log`)")
        render.out(client.request("log_show", log_id=int(words[1])), json, _record)
    elif action == "save":
        _save(words[1:], given)
    else:
        _list(words, given, "json" if json else format, columns, limit, output, database)


EDIT_OPTIONS = ("--type, --subject, --result, --link, --note, --contact, --account, --found, "
                "--pick, --new-contact or --new-account")


def _edit(rest: list[str], fields: dict, links: dict, found: bool, as_json: bool) -> None:
    if len(rest) > 1 or rest and not rest[0].isdigit():
        raise WireError(ErrorCode.BAD_INPUT, f"usage: cc log edit [ID] with {EDIT_OPTIONS} "
                        "(no ID: the call in wrap-up, else the last call)")
    if not fields and not links and not found:
        raise WireError(ErrorCode.BAD_INPUT, f"nothing to change: give {EDIT_OPTIONS}")
    if "kind" in links and "new_contact" not in links:
        raise WireError(ErrorCode.BAD_INPUT, "--kind is the kind of the call's number for "
                        "--new-contact NAME: give that too")
    if found and {"pick", "contact", "new_contact"} & set(links):
        raise WireError(ErrorCode.BAD_INPUT, "--found asks who called: give it without "
                        "--contact, --pick or --new-contact")
    log_id = int(rest[0]) if rest else None
    if found:
        log_id, links["pick"] = _choose_caller(log_id)
    if links:       # the whole card in one request: all of it is written, or none
        row = client.request("log_contact", log_id=log_id, fields=fields, **links)["call"]
    elif log_id is not None:
        row = client.request("log_edit", log_id=log_id, fields=fields)
    else:           # the current card: the call in wrap-up, else the last call
        row = client.request("wrapup", fields=fields)
    render.out(row, as_json, _record)


def _choose_caller(log_id: int | None) -> tuple[int, int]:
    """Which of the contacts found by the call's number called: the choice at a terminal
    (elsewhere the error lists them for --pick N)."""
    answer = client.request("log_contact", log_id=log_id)
    call, found = answer["call"], answer["found"]
    if not found:
        raise WireError(ErrorCode.BAD_INPUT, f"no contact has the number of call {call['id']} "
                        f"({call['number'] or 'no number'}): link one with --contact NAME, or "
                        "make one with --new-contact NAME")
    items = [(f"{c['name']}" + (f" ({c['account']})" if c["account"] else ""), n)
             for n, c in enumerate(found, 1)]
    return call["id"], picker.choose(items, "who called: ", f"the number {call['number']}",
                                     "contact", ask_one=True, gave_up="nothing changed")


def _save(rest: list[str], given: dict) -> None:
    if len(rest) != 1:
        raise WireError(ErrorCode.BAD_INPUT, "usage: cc log save NAME --period ... (the filters)")
    saved = {k: v for k, v in given.items() if v is not None}
    if not saved:
        raise WireError(ErrorCode.BAD_INPUT, "nothing to save: give the filters, e.g. "
                        f"cc log save {rest[0]} --period last-week --missed")
    save_filter(rest[0], saved)
    print(f"saved filter '{rest[0]}': " + " ".join(f"--{k} {v}" for k, v in saved.items()))


def _list(words: list[str], given: dict, fmt: str, columns: str | None, limit: int | None,
          output: str | None, database: Path | None) -> None:
    if len(words) > 1:
        raise WireError(ErrorCode.BAD_INPUT, f"unexpected '{words[1]}': cc log [NAME] [options]")
    filters = load_filter(words[0]) if words else {}
    filters.update({k: v for k, v in given.items() if v is not None})
    from daemon import export

    if fmt not in export.FORMATS:
        if "{" not in fmt:
            raise WireError(ErrorCode.BAD_INPUT, f"unknown format '{fmt}': use "
                            f"{', '.join(export.FORMATS)} or a template like '{{start}} "
                            "{number}'")
        _checked(export.check_template, fmt)
    if limit is None and fmt == "table":
        limit = 20
    if database is not None:
        _run_file(database, filters, fmt, _columns(columns), limit, output)
    else:
        _run(filters, fmt, _columns(columns), limit, output)


def _remove(rest: list[str], all_: bool, yes: bool, as_json: bool) -> None:
    if all_ == bool(rest) or (rest and (len(rest) != 1 or not rest[0].isdigit())):
        raise WireError(ErrorCode.BAD_INPUT, "usage: cc log rm ID | cc log rm --all [--yes]")
    what = "every call in the log" if all_ else f"call {rest[0]}"
    if not yes:
        if not picker.at_terminal():
            raise WireError(ErrorCode.BAD_INPUT,
                            f"removing {what} needs --yes when not at a terminal")
        if not typer.confirm(f"Remove {what}?", default=False):
            raise WireError(ErrorCode.FAILED, "nothing removed")
    result = client.request("log_rm", log_id=None if all_ else int(rest[0]))
    render.out(result, as_json, f"removed {result['removed']} call(s)")


def _checked(check, value):
    from daemon import export

    try:
        return check(value)
    except export.FormatError as exc:
        raise WireError(ErrorCode.BAD_INPUT, str(exc)) from None


def _columns(text: str | None) -> tuple[str, ...]:
    if not text:
        return LOG_COLUMNS
    cols = tuple(c.strip() for c in text.split(",") if c.strip())
    unknown = [c for c in cols if c not in LOG_COLUMNS]
    if unknown or not cols:
        raise WireError(ErrorCode.BAD_INPUT, f"unknown column '{unknown[0] if unknown else text}': "
                        f"use {', '.join(LOG_COLUMNS)}")
    return cols


def pages(filters: dict, limit: int | None):
    """Every matching row, page by page (keyset cursors from the daemon)."""
    args = {("outcome" if k == "result" else k): v for k, v in filters.items()}
    cursor, sent = None, 0
    while True:
        size = PAGE if limit is None else min(PAGE, limit - sent)
        page = client.request("log", limit=size, after=cursor, timeout=60, **args)
        for row in page["rows"]:
            yield row
        sent += len(page["rows"])
        cursor = page["next"]
        if cursor is None or (limit is not None and sent >= limit):
            return


def _table(rows: list[dict], filters: dict, output: str | None, colours) -> None:
    if output:
        raise WireError(ErrorCode.BAD_INPUT, "--output needs a file format: --format csv, json, "
                        "ndjson or asterisk-csv")
    if rows:
        render.log_table(rows, colours() if render.colour_on() and
                         any(r.get("result") for r in rows) else {})
    else:
        print("no calls match" if filters else "the call log is empty")


def _run(filters: dict, fmt: str, cols, limit: int | None, output: str | None) -> None:
    if fmt == "table":
        _table(list(pages(filters, limit)), filters, output, lambda: {
            c["name"]: c["colour"] for c in client.request("catalog", kind="results")})
        return
    from daemon import export

    if output and (client.remote_endpoint() or fmt not in export.FORMATS):
        # A remote daemon names no file on this machine (and the daemon writes no
        # templates): its pages come back and are written here.
        count = _write_file(pages(filters, limit), output, fmt, cols)
        print(f"wrote {count} calls to {output}", file=sys.stderr)
        return
    if output:
        # The daemon writes the file itself from one cursor: no paging, no JSON.
        args = {("outcome" if k == "result" else k): v for k, v in filters.items()}
        with _progress(output):
            done = client.request("log_export", path=os.path.abspath(output), format=fmt,
                                  columns=list(cols), limit=limit, timeout=3600, **args)
        print(f"wrote {done['written']} calls to {output}", file=sys.stderr)
        return
    _write(pages(filters, limit), sys.stdout, fmt, cols)


def _write(rows, stream, fmt: str, cols) -> int:
    from daemon import export

    first = next(rows, None)      # the first page, or its error, before any output
    writer = export.Writer(stream, fmt, cols)
    try:
        if first is not None:
            writer.write(first)
        for row in rows:
            writer.write(row)
    except export.FormatError as exc:
        raise WireError(ErrorCode.BAD_INPUT, str(exc)) from None
    writer.close()
    return writer.count


def _write_file(rows, output: str, fmt: str, cols) -> int:
    """Rows into the file `output` on this machine, as the daemon writes one: a regular
    file, written beside it and renamed into place, left as it was after a failure."""
    from daemon import export

    try:
        target = export.output_path(os.path.abspath(output))
    except export.PathError as exc:
        raise WireError(ErrorCode.BAD_INPUT, f"cannot export there: {exc}") from None
    try:
        with export.replacing(target) as stream:
            return _write(rows, stream, fmt, cols)
    except OSError as exc:
        raise WireError(ErrorCode.FAILED, f"cannot write {target}: {exc.strerror}; nothing "
                        "was written") from None


def _run_file(path: Path, filters: dict, fmt: str, cols, limit: int | None,
              output: str | None) -> None:
    """The listing read from a call log file itself, read-only, without the daemon."""
    from daemon.export import refusal

    refused = output and refusal(output, path, profile.paths().own)
    if refused:
        raise WireError(ErrorCode.BAD_INPUT, refused)
    rows = _file_rows(path, filters, limit)
    if fmt == "table":
        _table(list(rows), filters, output, dict)
    elif output:
        _write_file(rows, output, fmt, cols)
    else:
        _write(rows, sys.stdout, fmt, cols)


def _file_rows(path: Path, filters: dict, limit: int | None):
    import sqlite3

    from daemon import periods
    from daemon.store import Store, open_log

    args = {("outcome" if k == "result" else k): v for k, v in filters.items()}
    try:
        conn = open_log(path, read_only=True)
        # A log set aside before an upgrade has an older cc's columns: the others are empty.
        have = {r[1] for r in conn.execute("PRAGMA table_info(calls)")}
    except OSError as exc:
        raise WireError(ErrorCode.CONFIG, f"cannot read {path}: {exc.strerror}") from None
    except sqlite3.Error as exc:
        raise WireError(ErrorCode.CONFIG, f"cannot read {path} as a call log: {exc}") from None
    conn.row_factory = sqlite3.Row
    try:
        if not have:
            raise WireError(ErrorCode.CONFIG, f"{path} is not a call log: it has no calls table")
        sql, params = Store.select(limit=limit, columns=[c if c in have else f"null as {c}"
                                                         for c in LOG_COLUMNS], **args)
        for row in conn.execute(sql, params):
            yield dict(row)
    except periods.PeriodError as exc:
        raise WireError(ErrorCode.BAD_INPUT, str(exc)) from None
    except sqlite3.Error as exc:
        raise WireError(ErrorCode.FAILED, f"{path} cannot be read further: {exc} (a damaged "
                        "log may still show calls of another period or filter)") from None
    finally:
        conn.close()


@contextlib.contextmanager
def _progress(output: str):
    """A running bar on a terminal while the daemon writes the file; nothing in a pipe or
    with NO_COLOR."""
    if not sys.stderr.isatty() or os.environ.get("NO_COLOR"):
        yield
        return
    from rich.progress import BarColumn, Progress, TimeElapsedColumn

    with Progress(f"exporting to {output}", BarColumn(), TimeElapsedColumn(),
                  transient=True) as bar:
        bar.add_task("export", total=None)
        yield


def _record(row: dict) -> str:
    """One call's every field, a line each, times local and durations readable."""
    width = max(len(k) for k in row)
    lines = []
    for key, value in row.items():
        if key.endswith("_at"):
            value = render.local_time(value)
        elif key.endswith("_seconds") and value is not None:
            value = f"{render.duration(value)} ({value:.1f} s)"
        lines.append(f"{key:<{width}}  {'' if value is None else value}")
    return "\n".join(lines)


def _filters_file():
    return profile.paths().config_file.with_name("filters.toml")


def save_filter(name: str, filters: dict) -> None:
    import tomlkit

    path = _filters_file()
    doc = tomlkit.parse(path.read_text(encoding="utf-8")) if path.exists() else \
        tomlkit.document()
    doc[name] = filters
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(tomlkit.dumps(doc), encoding="utf-8")


def load_filter(name: str) -> dict:
    import tomllib

    path = _filters_file()
    saved = {}
    if path.exists():
        try:
            saved = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise WireError(ErrorCode.CONFIG, f"{path}: {exc}") from None
    if name not in saved:
        known = ", ".join(saved) or "none yet"
        raise WireError(ErrorCode.BAD_INPUT, f"no saved filter '{name}' (saved: {known}; "
                        "save one with `cc log save NAME --period ...`)")
    return {k: v for k, v in saved[name].items() if k in FILTER_KEYS}
