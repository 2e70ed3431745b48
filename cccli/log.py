"""`cc log`: the call log, filtered, sorted, exported; `cc log show ID`; saved filters
(dynamic groups) and static groups of hand-picked calls."""

from __future__ import annotations

import contextlib
import os
import re
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from daemon import profile, wire
from daemon.wire import ErrorCode, LOG_COLUMNS, NAME_PATTERN, OUTCOMES, WireError

from . import client, complete, picker, render, teamshared
from .contacts import Kind
from .options import Json, card_fields

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


# The words after `cc log`; a saved filter may have none of these names.
ACTIONS = ("show", "edit", "rm", "purge", "save", "saved", "forget", "group", "groups",
           "attach", "files", "open", "detach", "history")
# What a saved filter keeps, by option name (as filters.toml writes it).
FILTER_KEYS = ("period", "agent", "direction", "outcome", "result", "missed", "number",
               "contact", "type", "subject", "link", "group", "sort", "desc")
SAVED_KEYS = FILTER_KEYS + ("columns",)
FILTERS_VERSION = 2     # a filter saved without it is older: its `result` was the outcome
LISTING = FILTER_KEYS + ("columns", "limit", "format", "output", "database", "json", "team",
                         "url")
# The options each use of `cc log` takes; any other one given is refused, never ignored.
TAKES = {
    None: LISTING, "show": ("json",), "history": ("team", "url", "json"),
    "edit": ("type", "subject", "result", "link", "note", "description", "contact",
             "account", "found", "pick", "new-contact", "new-account", "kind", "set-number",
             "json"),
    "rm": ("all", "yes", "json"), "purge": ("older-than", "json"),
    "save": SAVED_KEYS + ("team", "team-name"), "saved": ("json",),
    "forget": ("team", "team-name"),
    "group": ("json",), "groups": ("json",),
    "attach": ("json",), "files": ("json",), "open": ("print", "json"), "detach": ("json",),
}
ELSEWHERE = {"note": "cc log edit ID --note TEXT", "set-number": "cc log edit ID",
             "description": "cc log edit ID --description [TEXT]",
             **{name: f"cc log edit ID --{name}" for name in (
                 "account", "found", "pick", "new-contact", "new-account", "kind")},
             "all": "cc log rm --all", "yes": "cc log rm", "print": "cc log open ID N"}


def log(words: Annotated[Optional[list[str]], typer.Argument(
            metavar="[NAME | ACTION ...]",
            autocompletion=complete.log_words,
            help="A saved filter's NAME, or an action: `show ID` for one call's full "
                 "record; `history ID` its card's change log: who changed what, when "
                 "(--team: as the team store recorded it); "
                 "`edit ID` with card options; `rm ID` (or --all); `purge "
                 "--older-than AGE` removes old calls (here and this agent's in the team "
                 "store); `save NAME` keeps the "
                 "filters and --columns given as NAME (with --team: for the team, in the "
                 "team store; a local filter of the same name wins), `saved` lists them, "
                 "`forget NAME` (--team) deletes one; `group add NAME ID...` puts calls in "
                 "a static group, `group rm NAME ID...` takes them out, `group delete "
                 "NAME` deletes it, `groups` lists them; `attach ID FILE...` keeps copies "
                 "of files with a call, `files ID` lists them, `open ID N` opens one "
                 "(--print: its path), `detach ID N` removes one.")] = None,
        period: Annotated[Optional[str], typer.Option(
            "--period", "-p", autocompletion=complete.periods,
            help="today, yesterday, this-week, last-week, this-month, last-month, or FROM..TO "
                 "(YYYY-MM-DD).")] = None,
        agent: Annotated[Optional[str], typer.Option(help="Only this agent's calls.")] = None,
        direction: Annotated[Optional[Direction], typer.Option(
            help="Incoming or outgoing calls.")] = None,
        outcome: Annotated[Optional[str], typer.Option(
            autocompletion=complete.outcomes,
            help=f"Only calls that ended so: {', '.join(OUTCOMES)}.")] = None,
        result: Annotated[Optional[str], typer.Option(
            "--result", help="Only calls with this result on their card (catalogue); with "
                             "edit: set it.")] = None,
        missed: Annotated[Optional[bool], typer.Option(
            "--missed", help="Only missed calls: incoming ones not accepted, rejected ones "
                             "too.")] = None,
        number: Annotated[Optional[str], typer.Option(
            help="Calls to or from this number, however it was written, or whose number "
                 "holds these digits.")] = None,
        contact: Annotated[Optional[str], typer.Option(
            help="Calls whose contact or account contains this.")] = None,
        call_type: Annotated[Optional[str], typer.Option(
            "--type", help="Only calls of this type (catalogue); with edit: set it.")] = None,
        subject: Annotated[Optional[str], typer.Option(
            "--subject", help="Only calls whose subject contains this (any case); with "
                              "edit: set it.")] = None,
        link: Annotated[Optional[list[str]], typer.Option(
            "--link", help="KIND=VALUE with KIND task, sale, project, project_path, "
                           "incident, campaign or survey: only calls so linked, e.g. the "
                           "calls of a task; with edit: set it (repeatable).")] = None,
        group: Annotated[Optional[str], typer.Option(
            "--group", help="Only the calls of this static group (`cc log groups`).")]
        = None,
        sort: Annotated[Optional[Sort], typer.Option(help="Sort by this time.")] = None,
        desc: Annotated[Optional[bool], typer.Option(
            "--desc/--asc", help="Largest or newest first (default), or the reverse.")] = None,
        columns: Annotated[Optional[str], typer.Option(
            help="Comma-separated columns of the table, json, ndjson or csv.")] = None,
        limit: Annotated[Optional[int], typer.Option(
            "--limit", "-n", min=1, help="At most this many calls (default: 20 in a table, "
                                         "all in other formats).")] = None,
        format: Annotated[Optional[str], typer.Option(
            "--format", "-f", autocompletion=complete.log_formats,
            help="table (default), json, ndjson, csv, asterisk-csv, or a template such as "
                 "'{start} {number} {outcome} {talk}': the columns in braces, {start} in "
                 "local time, each X_seconds also as {X} in m:ss.")] = None,
        output: Annotated[Optional[str], typer.Option(
            "--output", "-o", help="Write to this file instead of standard output.")] = None,
        note: Annotated[Optional[str], typer.Option(
            "--note", help="With edit: add a note to the call.")] = None,
        describe: Annotated[bool, typer.Option(
            "--description", help="With edit: set the call's long description to the TEXT "
                                  "given after the ID (`cc log edit ID --description TEXT`; "
                                  "- reads it from standard input, '' clears it, 64 KiB at "
                                  "most); with no TEXT, at a terminal, write it in $VISUAL "
                                  "or $EDITOR (else vi), starting from the current one.")]
        = False,
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
        team: Annotated[bool, typer.Option(
            "--team", help="List the team store's calls (team.url, or --url) with your "
                           "own role: a lead sees its teams', an agent its own (or its "
                           "team's, when the team allows it). --agent NAME reads the team "
                           "store too when team.url is set. With save and forget: the "
                           "team's saved filter. With history: the call's changes as the "
                           "team store recorded them.")] = False,
        team_name: Annotated[Optional[str], typer.Option(
            "--team-name", metavar="TEAM",
            help="With save --team and forget --team: the team (a lead of several teams "
                 "names one).")] = None,
        url: Annotated[Optional[str], typer.Option(
            help="With --team: the team store as postgresql://ROLE@HOST[:PORT]/DATABASE "
                 "(default: team.url).")] = None,
        all_: Annotated[bool, typer.Option("--all", help="With rm: every call.")] = False,
        older_than: Annotated[Optional[str], typer.Option(
            "--older-than", help="With purge: the calls that started longer ago than this, "
                                 "in days or weeks: 365d, 30d, 12w.")] = None,
        yes: Annotated[bool, typer.Option("--yes", "-y", help="With rm: do not ask.")]
        = False,
        print_path: Annotated[bool, typer.Option(
            "--print", help="With open: print the file's path instead of opening it.")]
        = False,
        json: Json = False) -> None:
    """The call log, newest first."""
    words = words or []
    filters = {"period": period, "agent": agent,
               "direction": direction.value if direction else None,
               "outcome": outcome, "result": result,
               "missed": missed, "number": number, "contact": contact, "type": call_type,
               "subject": subject, "link": link or None, "group": group,
               "sort": sort.value if sort else None, "desc": desc}
    given = {**filters, "columns": columns, "limit": limit, "format": format,
             "output": output, "note": note, "set-number": new_number, "database": database,
             "description": describe or None,
             "all": all_ or None, "older-than": older_than, "yes": yes or None,
             "json": json or None,
             "account": account, "found": found or None, "pick": pick,
             "new-contact": new_contact, "new-account": new_account, "kind": kind,
             "team": team or None, "url": url, "team-name": team_name,
             "print": print_path or None}
    action = words[0] if words and words[0] in ACTIONS else None
    _only(action, {k for k, v in given.items() if v is not None})
    if action == "edit":
        fields = card_fields(call_type, subject, result, link, note)
        if new_number is not None:
            fields["number"] = new_number
        links = {k: v for k, v in (("contact", contact), ("account", account), ("pick", pick),
                                   ("new_contact", new_contact), ("new_account", new_account),
                                   ("kind", kind.value if kind else None)) if v is not None}
        rest = words[1:]
        if describe:
            rest, fields["description"] = _description(rest)
        _edit(rest, fields, links, found, json)
    elif action == "rm":
        _remove(words[1:], all_, yes, json)
    elif action == "purge":
        _purge(words[1:], older_than, json)
    elif action == "history":
        if len(words) != 2 or not words[1].isdigit():
            raise WireError(ErrorCode.BAD_INPUT, "usage: cc log history ID (an id from `cc "
                            "log`)")
        done = client.request("log_history", log_id=int(words[1]))
        if team or url:
            done = _team_history(done, url)
        render.out(done, json, _history)
    elif action == "show":
        if len(words) != 2 or not words[1].isdigit():
            raise WireError(ErrorCode.BAD_INPUT, "usage: cc log show ID (an id from `cc log`)")
        render.out(client.request("log_show", log_id=int(words[1])), json, _record)
    elif action == "save":
        _save(words[1:], {k: v for k, v in filters.items() if v is not None}, columns,
              team, team_name)
    elif action == "saved":
        _no_more(words, 1, "cc log saved")
        render.out(saved_filters(), json, _saved_lines)
    elif action == "forget":
        _no_more(words, 2, "cc log forget NAME [--team]")
        forget_filter(words[1], team, team_name)
    elif action == "group":
        _group(words[1:], json)
    elif action in ("attach", "files", "open", "detach"):
        from . import logfiles

        if action == "open":
            logfiles.open_(words[1:], print_path, json)
        else:
            {"attach": logfiles.attach, "files": logfiles.listing,
             "detach": logfiles.detach}[action](words[1:], json)
    elif action == "groups":
        _no_more(words, 1, "cc log groups")
        render.out(client.request("log_groups"), json, _group_lines)
    else:
        fmt = _format(format, json)
        from . import teamlog

        if teamlog.wanted(team, url, agent):
            if len(words) > 1:
                raise WireError(ErrorCode.BAD_INPUT, f"unexpected '{words[1]}': cc log [NAME] "
                                "--team [options]")
            if words:       # a saved filter, the options given over it
                saved = load_filter(words[0])
                saved_columns = saved.pop("columns", None)
                columns = columns if columns is not None else saved_columns
                filters = {**saved, **{k: v for k, v in filters.items() if v is not None}}
            cols = _columns(columns) if columns else None
            teamlog.run(filters, fmt, 20 if limit is None and fmt == "table" else limit, url,
                        database, lambda rows: _show_team(rows, filters, fmt, cols, output))
            return
        _list(words, filters, fmt, columns, limit, output, database)


def _show_team(rows, filters: dict, fmt: str, cols, output: str | None) -> None:
    """The team store's rows (`cc log --team`) as the local listing shows its own."""
    if fmt == "table":
        _table(list(rows), filters, cols, output, dict)
    elif output:
        count = _write_file(rows, output, fmt, cols or LOG_COLUMNS)
        print(f"wrote {count} calls to {output}", file=sys.stderr)
    else:
        _write(rows, sys.stdout, fmt, cols or LOG_COLUMNS)


def _only(action: str | None, given: set[str]) -> None:
    """Refuse an option this use of `cc log` would not use: never ignore one."""
    takes = TAKES[action]
    extra = [name for name in given if name not in takes]
    if not extra:
        return
    name = extra[0]
    where = f"`cc log {action}`" if action else "listing the log"
    if name in ELSEWHERE and action != "edit":
        raise WireError(ErrorCode.BAD_INPUT, f"--{name} does not apply to {where}: it goes "
                        f"with `{ELSEWHERE[name]}`")
    shown = ", ".join(f"--{t}" for t in takes) or "no options"
    raise WireError(ErrorCode.BAD_INPUT, f"--{name} does not apply to {where} (it takes "
                    f"{shown})")


def _no_more(words: list[str], count: int, usage: str) -> None:
    if len(words) != count:
        raise WireError(ErrorCode.BAD_INPUT, f"usage: {usage}")


def _format(fmt: str | None, as_json: bool) -> str:
    if as_json and fmt not in (None, "json"):
        raise WireError(ErrorCode.BAD_INPUT, f"--json and --format {fmt} ask for two "
                        "formats: give one")
    return "json" if as_json else fmt or "table"


EDIT_OPTIONS = ("--type, --subject, --result, --link, --note, --description, --contact, "
                "--account, --found, --pick, --new-contact or --new-account")


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
    if "description" in fields:
        log_id = _describe(log_id, fields)
        if not fields and not links and not found:
            return
    if found:
        log_id, links["pick"] = _choose_caller(log_id)
    if links:       # the whole card in one request: all of it is written, or none
        row = client.request("log_contact", log_id=log_id, fields=fields, **links)["call"]
    elif log_id is not None:
        row = client.request("log_edit", log_id=log_id, fields=fields)
    else:           # the current card: the call in wrap-up, else the last call
        row = client.request("wrapup", fields=fields)
    render.out(row, as_json, _record)


DESCRIBE_USAGE = ("usage: cc log edit [ID] --description [TEXT] (TEXT: the description; - "
                  "reads it from standard input; none: write it in your editor)")


def _description(rest: list[str]) -> tuple[list[str], str | None]:
    """The words after `cc log edit` with --description: [ID] [TEXT], as (the ID's word
    if any, the description). No TEXT means the editor; a TEXT of digits alone goes after
    an ID, else it is the ID."""
    if len(rest) > 2 or (len(rest) == 2 and not rest[0].isdigit()):
        raise WireError(ErrorCode.BAD_INPUT, DESCRIBE_USAGE)
    ids = [w for w in rest[:1] if w.isdigit()] if len(rest) < 2 else rest[:1]
    text = rest[len(ids)] if len(rest) > len(ids) else None
    if text == "-":
        from .editor import description_from_stdin

        text = description_from_stdin()
    return ids, text


def _describe(log_id: int | None, fields: dict) -> int | None:
    """--description without TEXT: the description written in the editor, at a terminal
    only. Left as it was, or emptied (a slip, or a change of mind: clearing is `--description
    ''`), it is not changed; the card's other fields still are."""
    from daemon.wire import DESCRIPTION_BYTES

    text = fields["description"]
    if text is None:
        if not picker.at_terminal():
            raise WireError(ErrorCode.BAD_INPUT, "--description needs its text when not at a "
                            "terminal: cc log edit ID --description TEXT (- reads it from "
                            "standard input)")
        from . import editor

        row = client.request("log_show", log_id=log_id) if log_id is not None else \
            client.request("card")
        if not row:
            raise WireError(ErrorCode.NO_SUCH_CALL, "no call to describe: the call log is "
                            "empty")
        current = (row.get("description") or "").rstrip()
        what = f"the description of call {row['id']}"
        text = editor.edit(current, what, DESCRIPTION_BYTES)
        if not text and current:
            raise WireError(ErrorCode.FAILED, f"the file was left empty, so {what} was not "
                            f"changed (clear it with `cc log edit {row['id']} --description "
                            "''`)")
        log_id = row["id"]      # the call whose description was edited, whatever comes
        if text == current:
            print(f"{what} is unchanged", file=sys.stderr)
            del fields["description"]
            return log_id
    if len(text.encode("utf-8", "surrogatepass")) > DESCRIPTION_BYTES:
        raise WireError(ErrorCode.BAD_INPUT, f"the description is over "
                        f"{DESCRIPTION_BYTES // 1024} KiB, more than a call's description "
                        "holds: shorten it")
    fields["description"] = text
    return log_id


def _team_history(local: dict, url: str | None) -> dict:
    """The change log of the same call as the team store recorded it (its writers are the
    roles that wrote the call there), read with the user's own role."""
    from daemon.team import log as team_log

    rows = teamshared.run_online(lambda conn: team_log.changes(
        conn, local["server"], local["call_id"], local["agent"] or ""), url)
    return {**local, "changes": rows, "source": "team store"}


def _history(done: dict) -> str:
    """A call's change log as a table: when, by whom, which field, from what to what (each
    value on one line, cut to fit; --json has them whole)."""
    from .table import Column, lines, width

    changes = done["changes"]
    if not changes:
        where = " in the team store" if done.get("source") else ""
        return (f"call {done['id']} ({done['counter_number']}): no changes to its card"
                f"{where} yet")

    def shown(value) -> str:
        return " ".join((value or "").split()) or "-"
    rows = [[render.local_time(c["changed_at"]),
             c["changed_by"] + (" (hand-over)" if c["via"] == "handover" else ""),
             c["field"], shown(c["old_value"]), shown(c["new_value"])] for c in changes]
    columns = [Column("when"), Column("by"), Column("field"), Column("old", shrink=True),
               Column("new", shrink=True)]
    return "\n".join(lines(columns, rows, width()))


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


def _save(rest: list[str], saved: dict, columns: str | None, team: bool = False,
          team_name: str | None = None) -> None:
    if len(rest) != 1:
        raise WireError(ErrorCode.BAD_INPUT, "usage: cc log save NAME --period ... (the filters)")
    name = rest[0]
    if name in ACTIONS:
        raise WireError(ErrorCode.BAD_INPUT, f"'{name}' names an action of `cc log` (`cc log "
                        f"{name}`), so a filter of that name could never be used: choose "
                        "another name")
    if not re.fullmatch(NAME_PATTERN, name):
        raise WireError(ErrorCode.BAD_INPUT, f"'{name}' cannot name a filter: use letters, "
                        "digits, _, - and . (up to 64, starting with a letter or digit)")
    if columns is not None:
        saved["columns"] = ",".join(_columns(columns))
    if not saved:
        raise WireError(ErrorCode.BAD_INPUT, "nothing to save: give the filters, e.g. "
                        f"cc log save {name} --period last-week --missed")
    if team_name is not None and not team:
        raise WireError(ErrorCode.BAD_INPUT, "--team-name goes with --team (a team filter)")
    _wire(saved)        # refuse a filter that could not be used, before keeping it
    if not team:
        save_filter(name, saved)
        print(f"saved filter '{name}': {_options(saved)}")
        return
    from . import teamfilters

    if not teamfilters.enabled():
        raise WireError(ErrorCode.CONFIG, f"--team: {teamshared.NO_STORE}")
    kept = teamfilters.save(name, {"version": FILTERS_VERSION, **saved}, team_name)
    print(f"saved team filter '{name}' for team {kept}: {_options(saved)}")
    if name in _filters_doc():
        print(f"cc: warning: your local filter '{name}' wins on this machine: `cc log forget "
              f"{name}` to use the team's", file=sys.stderr)


def _options(saved: dict) -> str:
    """A saved filter as the options that make it."""
    words = []
    for key, value in saved.items():
        if key == "desc":
            words.append("--desc" if value else "--asc")
        elif value is True:
            words.append(f"--{key}")
        elif isinstance(value, list):
            words += [f"--{key} {_quoted(v)}" for v in value]
        else:
            words.append(f"--{key} {_quoted(str(value))}")
    return " ".join(words)


def _quoted(text: str) -> str:
    import shlex

    return shlex.quote(text)


def _saved_lines(saved: list[dict]) -> str:
    if not saved:
        return f"no saved filters ({_filters_file()}): cc log save NAME --period ... (filters)"
    width = max(len(entry["name"]) for entry in saved)
    return "\n".join(f"{entry['name']:<{width}}  {_options(entry['filters'])}"
                     + (f"  [team {entry['team']}, {entry['owner']}]" if entry["team"] else "")
                     for entry in saved)


def _group(rest: list[str], as_json: bool) -> None:
    usage = ("usage: cc log group add NAME ID... | cc log group rm NAME ID... | "
             "cc log group delete NAME")
    what = rest[0] if rest else None
    if what == "delete" and len(rest) == 2:
        done = client.request("log_group_delete", name=rest[1])
        render.out(done, as_json, f"deleted group '{done['name']}' (its {done['calls']} "
                                  "call(s) stay in the log)")
        return
    if what not in ("add", "rm") or len(rest) < 3:
        raise WireError(ErrorCode.BAD_INPUT, usage)
    bad = next((word for word in rest[2:] if not word.isdigit() or int(word) < 1), None)
    if bad is not None:
        raise WireError(ErrorCode.BAD_INPUT, f"'{bad}' is not a call's id: give ids from "
                        "`cc log` (whole numbers)")
    ids = list(dict.fromkeys(int(word) for word in rest[2:]))
    if what == "add":
        done = client.request("log_group_add", name=rest[1], log_ids=ids)
        text = (f"added {done['added']} call(s) to group '{done['name']}' "
                f"({done['calls']} in it)")
    else:
        done = client.request("log_group_rm", name=rest[1], log_ids=ids)
        text = (f"took {done['removed']} call(s) out of group '{done['name']}' "
                f"({done['calls']} left)")
    render.out(done, as_json, text)


def _group_lines(groups: list[dict]) -> str:
    if not groups:
        return "no groups: put calls in one with `cc log group add NAME ID...`"
    width = max(len(g["name"]) for g in groups)
    return "\n".join(f"{g['name']:<{width}}  {g['calls']} call(s)  since "
                     f"{render.local_time(g['created_at'])}" for g in groups)


def _wire(filters: dict) -> dict:
    """The daemon's arguments for filters given by option name (as typed or saved)."""
    args = {"call_type" if k == "type" else k: v for k, v in filters.items()
            if k not in ("link", "columns")}
    if args.get("outcome") is not None and args["outcome"] not in OUTCOMES:
        raise WireError(ErrorCode.BAD_INPUT, f"unknown outcome '{args['outcome']}': use "
                        f"{', '.join(OUTCOMES)}")
    links: dict[str, str] = {}
    for item in filters.get("link") or ():
        kind, sep, value = item.partition("=")
        kind, value = kind.strip(), value.strip()
        if not sep or not kind:
            raise WireError(ErrorCode.BAD_INPUT,
                            f"--link '{item}': write KIND=VALUE, e.g. task=T-77")
        if not value:
            raise WireError(ErrorCode.BAD_INPUT,
                            f"--link {kind}= needs a value, e.g. --link {kind}=T-77")
        if kind in links and links[kind] != value:
            raise WireError(ErrorCode.BAD_INPUT, f"--link {kind}= given twice ({links[kind]}, "
                            f"{value}): a call has one {kind}; give one")
        links[kind] = value
    if links:
        args["links"] = links
    return args


def _list(words: list[str], given: dict, fmt: str, columns: str | None, limit: int | None,
          output: str | None, database: Path | None) -> None:
    if len(words) > 1:
        raise WireError(ErrorCode.BAD_INPUT, f"unexpected '{words[1]}': cc log [NAME] [options]")
    filters = load_filter(words[0]) if words else {}
    saved_columns = filters.pop("columns", None)
    filters.update({k: v for k, v in given.items() if v is not None})
    from daemon import export

    if fmt not in export.FORMATS:
        if "{" not in fmt:
            raise WireError(ErrorCode.BAD_INPUT, f"unknown format '{fmt}': use "
                            f"{', '.join(export.FORMATS)} or a template like '{{start}} "
                            "{number}'")
        _checked(export.check_template, fmt)
    if columns is not None and fmt not in ("table", "json", "ndjson", "csv"):
        raise WireError(ErrorCode.BAD_INPUT, "--columns does not apply to "
                        + ("--format asterisk-csv, whose columns are Asterisk's" if
                           fmt == "asterisk-csv" else "a template, which names its own "
                           "fields"))
    chosen = columns if columns is not None else saved_columns
    cols = _columns(chosen) if chosen else None
    if limit is None and fmt == "table":
        limit = 20
    args = _wire(filters)
    if database is not None:
        _run_file(database, args, fmt, cols, limit, output)
    else:
        _run(args, fmt, cols, limit, output)


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
    from .logfiles import left_behind

    left_behind(result)


def _purge(rest: list[str], older_than: str | None, as_json: bool) -> None:
    from daemon.retention import parse_age

    if rest or older_than is None:
        raise WireError(ErrorCode.BAD_INPUT, "usage: cc log purge --older-than AGE "
                        "(days or weeks: 365d, 30d, 12w)")
    try:
        days = parse_age(older_than)
    except ValueError as exc:
        raise WireError(ErrorCode.BAD_INPUT, str(exc)) from None
    render.out(client.request("log_purge", days=days), as_json, purged_line)


def purged_line(done: dict) -> str:
    """What a purge removed, in one line (or two when the team store was not reached)."""
    line = (f"purged {done['local']} call(s) that started before {done['before'][:10]} "
            f"from the call log")
    if done.get("team") is not None:
        line += f", {done['team']} from the team store"
    if done.get("team_error"):
        line += (f"\nthe team store was not purged ({done['team_error']}); the daemon "
                 "purges it at its next daily run, or run this again")
    if done.get("files_left"):
        from .logfiles import left_behind

        left_behind(done)
    return line


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
    cursor, sent = None, 0
    while True:
        size = PAGE if limit is None else min(PAGE, limit - sent)
        page = client.request("log", limit=size, after=cursor, timeout=60, **filters)
        for row in page["rows"]:
            yield row
        sent += len(page["rows"])
        cursor = page["next"]
        if cursor is None or (limit is not None and sent >= limit):
            return


def _table(rows: list[dict], filters: dict, cols, output: str | None, colours) -> None:
    if output:
        raise WireError(ErrorCode.BAD_INPUT, "--output needs a file format: --format csv, json, "
                        "ndjson or asterisk-csv")
    if rows:
        shows_result = cols is None or "result" in cols
        render.log_table(rows, colours() if render.colour_on() and shows_result and
                         any(r.get("result") for r in rows) else {}, cols)
    else:
        filtered = any(k not in ("sort", "desc") for k in filters)
        print("no calls match" if filtered else "the call log is empty")


def _run(filters: dict, fmt: str, cols, limit: int | None, output: str | None) -> None:
    if fmt == "table":
        _table(list(pages(filters, limit)), filters, cols, output, lambda: {
            c["name"]: c["colour"] for c in client.request("catalog", kind="results")})
        return
    cols = cols or LOG_COLUMNS
    from daemon import export

    if output and (client.remote_endpoint() or fmt not in export.FORMATS):
        # A remote daemon names no file on this machine (and the daemon writes no
        # templates): its pages come back and are written here.
        count = _write_file(pages(filters, limit), output, fmt, cols)
        print(f"wrote {count} calls to {output}", file=sys.stderr)
        return
    if output:
        # The daemon writes the file itself from one cursor: no paging, no JSON.
        with _progress(output):
            done = client.request("log_export", path=os.path.abspath(output), format=fmt,
                                  columns=list(cols), limit=limit, timeout=3600, **filters)
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
        _table(list(rows), filters, cols, output, dict)
    elif output:
        _write_file(rows, output, fmt, cols or LOG_COLUMNS)
    else:
        _write(rows, sys.stdout, fmt, cols or LOG_COLUMNS)


def _file_rows(path: Path, args: dict, limit: int | None):
    import sqlite3

    from daemon import filters
    from daemon.privacy import masked_row
    from daemon.store import Store, open_log

    try:
        conn = open_log(path, read_only=True)
        have = {r[1] for r in conn.execute("PRAGMA table_info(calls)")}
    except OSError as exc:
        raise WireError(ErrorCode.CONFIG, f"cannot read {path}: {exc.strerror}") from None
    except sqlite3.Error as exc:
        raise WireError(ErrorCode.CONFIG, f"cannot read {path} as a call log: {exc}") from None
    conn.row_factory = sqlite3.Row
    try:
        if not have:
            raise WireError(ErrorCode.CONFIG, f"{path} is not a call log: it has no calls table")
        _older(conn, have)
        settings = profile.load()
        found = filters.parse({k: args.get(k) for k in filters.NAMES},
                              str(settings["contacts.default_region"]))
        filters.check(conn, found)
        sort = {k: args[k] for k in ("sort", "desc") if args.get(k) is not None}
        sql, params = Store.select(limit=limit, **found, **sort)
        shown = masked_row if settings["privacy.mask_numbers"] else dict
        for row in conn.execute(sql, params):
            yield shown(dict(row))
    except filters.FilterError as exc:
        raise WireError(ErrorCode.BAD_INPUT, str(exc)) from None
    except sqlite3.Error as exc:
        raise WireError(ErrorCode.FAILED, f"{path} cannot be read further: {exc} (a damaged "
                        "log may still show calls of another period or filter)") from None
    finally:
        conn.close()


def _older(conn, have: set[str]) -> None:
    """A log set aside before an upgrade has an older cc's tables: in this connection's
    temporary schema (which the file never sees), the columns it lacks read as empty and
    the groups it lacks as none."""
    lacking = [c for c in (*LOG_COLUMNS, "number_key") if c not in have]
    if lacking:
        conn.execute("create temp view calls as select *, " +
                     ", ".join(f"null as {c}" for c in lacking) + " from main.calls")
    if not conn.execute("select 1 from sqlite_master where name = 'call_groups'").fetchone():
        conn.execute("create temp table call_groups (id integer primary key, name text)")
        conn.execute("create temp table call_group_members (group_id int, call_row int, "
                     "call_id text)")


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
        elif isinstance(value, list):
            value = ", ".join(value)
        elif isinstance(value, str):    # notes, a description: each line under the first
            value = value.replace("\n", "\n" + " " * (width + 2))
        lines.append(f"{key:<{width}}  {'' if value is None else value}")
    return "\n".join(lines)


def _filters_file():
    return profile.paths().config_file.with_name("filters.toml")


def _filters_doc():
    """filters.toml as tomlkit reads it (comments kept), or an empty document."""
    import tomlkit
    from tomlkit.exceptions import ParseError

    path = _filters_file()
    try:
        return tomlkit.parse(path.read_text(encoding="utf-8")) if path.exists() else \
            tomlkit.document()
    except ParseError as exc:
        raise WireError(ErrorCode.CONFIG, f"{path}: {exc}; fix or remove the file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise WireError(ErrorCode.CONFIG, f"cannot read {path}: {exc}") from None


def _write_filters(doc) -> None:
    import tomlkit

    path = _filters_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(tomlkit.dumps(doc), encoding="utf-8")


def save_filter(name: str, filters: dict) -> None:
    doc = _filters_doc()
    doc[name] = {"version": FILTERS_VERSION, **filters}
    _write_filters(doc)


def forget_filter(name: str, team: bool = False, team_name: str | None = None) -> None:
    from . import teamfilters

    if team_name is not None and not team:
        raise WireError(ErrorCode.BAD_INPUT, "--team-name goes with --team (a team filter)")
    if team:
        if not teamfilters.enabled():
            raise WireError(ErrorCode.CONFIG, f"--team: {teamshared.NO_STORE}")
        print(f"forgot team {teamfilters.forget(name, team_name)}'s saved filter '{name}'")
        return
    doc = _filters_doc()
    if name not in doc:
        cached, _ = teamfilters.cached() if teamfilters.enabled() else ([], None)
        if teamfilters.find(name, cached) is not None:
            raise WireError(ErrorCode.BAD_INPUT, f"'{name}' is a team filter: `cc log forget "
                            f"{name} --team` removes it from the team store")
        raise _no_filter(name, list(doc))
    del doc[name]
    _write_filters(doc)
    print(f"forgot the saved filter '{name}'")


def saved_filters() -> list[dict]:
    """This profile's filters, then the team's (none without a team store)."""
    from . import teamfilters

    doc = _filters_doc().unwrap()
    team = []
    for e in teamfilters.all_():
        # A colleague's filter this cc cannot read is left out, said: never the whole list.
        try:
            checked = _in_order(_checked_filter(e["name"], e["filters"], e["team"]))
        except WireError as exc:
            render.warn(f"{exc.message}: left out")
            continue
        team.append({"name": e["name"], "filters": checked, "team": e["team"],
                     "owner": e["owner"]})
    return [{"name": name, "filters": _checked_filter(name, entry), "team": None,
             "owner": None} for name, entry in doc.items()] + team


def _in_order(filters: dict) -> dict:
    """A team filter's options in the order `cc log` lists them (the store keeps none)."""
    return dict(sorted(filters.items(), key=lambda item: SAVED_KEYS.index(item[0])))


def load_filter(name: str) -> dict:
    """The filter NAME: this profile's, else the team's."""
    from . import teamfilters

    doc = _filters_doc().unwrap()
    if name in doc:
        return _checked_filter(name, doc[name])
    team = teamfilters.all_()
    found = teamfilters.find(name, team)
    if found is None:
        raise _no_filter(name, list(doc) + [f"{e['name']} (team)" for e in team])
    return _checked_filter(name, found["filters"], found["team"])


def _no_filter(name: str, known: list[str]) -> WireError:
    return WireError(ErrorCode.BAD_INPUT, f"no saved filter '{name}' (saved: "
                     f"{', '.join(known) or 'none yet'}; save one with `cc log save NAME "
                     "--period ...`)")


FLAGS = ("missed", "desc")


def _checked_filter(name: str, entry, team: str | None = None) -> dict:
    """A saved filter as read from the file (or the team store), checked where it enters:
    known keys with values of their kind; one saved before outcomes and results were told
    apart has its `result` read as the outcome it then meant."""
    where = (f"team {team}'s filter '{name}'" if team else
             f"{_filters_file()}: filter '{name}'")
    if not isinstance(entry, dict):
        raise WireError(ErrorCode.CONFIG, f"{where} is not a table of options")
    entry = dict(entry)
    version = entry.pop("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or \
            not 1 <= version <= FILTERS_VERSION:
        raise WireError(ErrorCode.CONFIG, f"{where} has version {version!r}: this cc reads "
                        f"versions 1 to {FILTERS_VERSION} (save the filter again)")
    if version < FILTERS_VERSION and "result" in entry:
        entry.setdefault("outcome", entry.pop("result"))
    for key, value in entry.items():
        if key not in SAVED_KEYS:
            raise WireError(ErrorCode.CONFIG, f"{where} has the unknown option '{key}' (a "
                            f"filter keeps {', '.join(SAVED_KEYS)})")
        fits = (isinstance(value, bool) if key in FLAGS else
                isinstance(value, list) and all(isinstance(v, str) for v in value)
                if key == "link" else isinstance(value, str))
        if not fits:
            raise WireError(ErrorCode.CONFIG, f"{where}: '{key}' must be "
                            + ("true or false" if key in FLAGS else "a list of KIND=VALUE "
                               "texts" if key == "link" else "text"))
    return entry
