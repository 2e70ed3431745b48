"""The call log: pages, one call, exports, removal, recordings, static groups, recent
numbers (F13, F19, F21, F36, F42, F43, F57, F59)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Annotated

from .. import export, filters, phone, privacy
from ..attachments import drain
from ..calls import iso
from ..infinity import InfinityError
from ..retention import MAX_DAYS
from ..store import SORT_COLUMNS, open_log
from ..wire import LOG_COLUMNS, NAME_PATTERN, OUTCOMES, ErrorCode, WireError
from .context import REMOTE, Context
from .registry import UNBOUNDED, Length, LogId, Match, OneOf, Range, command, shared

log = logging.getLogger("cc.log")
LOG_PAGE = 5000      # rows per `log` reply; the CLI pages through bigger results
PAGE_BYTES = 4 * 2**20   # and at most about this much text per reply (card notes are long)
ROW_OVERHEAD = 800       # a row's JSON beyond its text: keys, numbers, punctuation


def _no_such_call(log_id: int | None) -> WireError:
    return WireError(ErrorCode.NO_SUCH_CALL,
                     f"no call {log_id} in the call log (see `cc log`)" if log_id is not None
                     else "the call log is empty")


Filter = Annotated[str, Length(1, 200)] | None
GroupName = Annotated[str, Match(NAME_PATTERN, "a name of letters, digits, _, - and . "
                                               "(up to 64, not starting with - or .)")]
FILTERS = shared(
    period=(Filter, None), agent=(Filter, None),
    direction=(Annotated[str, OneOf(("in", "out"))] | None, None),
    outcome=(Annotated[str, OneOf(OUTCOMES)] | None, None),
    missed=(bool, False), number=(Filter, None), contact=(Filter, None),
    call_type=(Filter, None), subject=(Filter, None), result=(Filter, None),
    links=(dict[str, Annotated[str, Length(1, 200)]] | None, None),
    group=(GroupName | None, None),
    sort=(Annotated[str, OneOf(tuple(SORT_COLUMNS))], "start"), desc=(bool, True))


def _parsed(ctx: Context, given: dict) -> dict:
    """The request's filters, checked and ready for the store: a filter that cannot
    match for a reason the agent can fix (a typo, a group that does not exist) is
    refused with that reason rather than answered with no calls."""
    ctx.store.flush()
    try:
        found = filters.parse({k: given[k] for k in filters.NAMES},
                              ctx.settings["contacts.default_region"])
        filters.check(ctx.store.db.conn, found)
    except filters.FilterError as exc:
        raise WireError(ErrorCode.BAD_INPUT, str(exc)) from None
    return {**found, "sort": given["sort"], "desc": given["desc"]}


def _no_such_group(ctx: Context, name: str) -> WireError:
    return WireError(ErrorCode.BAD_INPUT,
                     filters.no_group(name, [g["name"] for g in ctx.store.groups()]))


@command("log", "One page of the call log (LIMIT rows after the cursor AFTER, fewer when "
                "they pass 4 MiB of text), filtered and sorted; `next` is the cursor of the "
                "following page.", FILTERS)
async def log_page(ctx: Context, limit: Annotated[int, Range(1, LOG_PAGE)] = 20,
                   after: Annotated[list[str | int | float | None], Length(2, 2)] | None = None,
                   **filters) -> dict:
    rows = ctx.store.find(limit=limit + 1, after=after, **_parsed(ctx, filters))
    more = len(rows) > limit
    rows = rows[:limit]
    kept = _within(rows, PAGE_BYTES)
    more = more or kept < len(rows)
    rows = rows[:kept]
    column = SORT_COLUMNS[filters["sort"]]
    after = [rows[-1][column], rows[-1]["id"]] if more else None
    if ctx.settings["privacy.mask_numbers"]:     # the table and every export from pages
        rows = [privacy.masked_row(row) for row in rows]
    return {"rows": rows, "next": after}


def _within(rows: list[dict], budget: int) -> int:
    """How many of `rows` (at least one) fit in `budget` characters of text."""
    used = 0
    for n, row in enumerate(rows):
        used += sum(len(v) for v in row.values() if isinstance(v, str)) + ROW_OVERHEAD
        if used > budget and n:
            return n
    return len(rows)


@command("log_export", "Write the matching calls to the file PATH (absolute; a regular file "
                       "or none yet) in FORMAT with COLUMNS: the daemon writes it from one "
                       "cursor, in a thread, beside PATH and renames it into place. Refused "
                       "over the remote endpoint: a remote client pages through `log`.",
         FILTERS)
async def log_export(ctx: Context, path: Annotated[str, Length(1, 4096)],
                     format: Annotated[str, OneOf(export.FORMATS[1:])],
                     columns: Annotated[list[Annotated[str, OneOf(LOG_COLUMNS)]],
                                        Length(1, len(LOG_COLUMNS))],
                     limit: Annotated[int, Range(1, UNBOUNDED)] | None = None,
                     **filters) -> dict:
    if REMOTE.get():
        raise WireError(ErrorCode.BAD_INPUT, "log_export writes a file on the daemon's "
                        "machine, which a remote client may not name: page through `log` "
                        "and write the file on yours (`cc log --output FILE` does)")
    try:    # in a thread too: a folder on a hung network mount must not stall the daemon
        target = await asyncio.to_thread(export.output_path, path)
    except export.PathError as exc:
        raise WireError(ErrorCode.BAD_INPUT, f"cannot export there: {exc}") from None
    parsed = _parsed(ctx, filters)
    refused = export.refusal(path, ctx.paths.database, ctx.paths.own)
    if refused:
        raise WireError(ErrorCode.BAD_INPUT, refused)

    def sql_for(cols):
        return ctx.store.select(limit=limit, columns=cols, **parsed)
    try:
        count = await asyncio.to_thread(export.write_file, ctx.paths.database, target,
                                        format, tuple(columns), sql_for,
                                        ctx.settings["privacy.mask_numbers"])
    except OSError as exc:
        raise WireError(ErrorCode.FAILED, f"cannot write {target}: {exc.strerror}; nothing "
                        "was written") from None
    return {"written": count, "path": str(target)}


@command("log_show", "The logged call LOG_ID, every field, and the static groups it is "
                     "in.")
async def log_show(ctx: Context, log_id: LogId) -> dict:
    row = ctx.store.get(log_id)
    if row is None:
        raise _no_such_call(log_id)
    return {**row, "groups": ctx.store.groups_of(log_id)}


@command("log_history", "The change log of the logged call LOG_ID, oldest first: when, by "
                        "whom (an agent's login, a colleague's for a card handed over in a "
                        "transfer, or the daemon), how (cc, handover, daemon), which field, "
                        "its old and its new value.")
async def log_history(ctx: Context, log_id: LogId) -> dict:
    ctx.store.flush()
    row = ctx.store.get(log_id)
    if row is None:
        raise _no_such_call(log_id)
    (server,) = ctx.store.db.execute("select server from calls where id = ?",
                                     [log_id]).fetchone()
    return {"id": row["id"], "call_id": row["call_id"], "server": server,
            "agent": row["agent"], "counter_number": row["counter_number"],
            "changes": ctx.store.history(log_id)}


@command("log_rm", "Remove the logged call LOG_ID, or every call when LOG_ID is null, with "
                   "their attached files (any copy that could not be removed: files_left).")
async def log_rm(ctx: Context, log_id: LogId | None = None) -> dict:
    if log_id is not None and ctx.store.get(log_id) is None:
        raise _no_such_call(log_id)
    ctx.store.flush()
    removed = ctx.store.remove(log_id)      # committed: now its files leave the disk
    return {"removed": removed, **await drain(ctx.files)}


@command("log_purge", "Remove the calls that started more than DAYS days ago from the call "
                     "log and this agent's from the team store (retention, as "
                     "log.retention_days does daily); what went from where.")
async def log_purge(ctx: Context, days: Annotated[int, Range(1, MAX_DAYS)]) -> dict:
    return await ctx.retention.purge(days)


@command("recordings", "Fetch the recordings of the logged call LOG_ID (default: the last "
                       "call) into the data directory.")
async def recordings(ctx: Context, log_id: LogId | None = None) -> list[dict]:
    row = ctx.store.get(log_id) if log_id is not None else ctx.store.last()
    if row is None:
        raise _no_such_call(log_id)
    try:
        connections = await ctx.client.connections(row["call_id"])
    except InfinityError as exc:
        raise WireError(ErrorCode.SERVER, f"the server has no record of call {row['id']}: "
                        f"{exc}") from None
    folder = ctx.paths.data_dir / "recordings"
    folder.mkdir(parents=True, exist_ok=True)
    found = []
    for conn in connections:
        try:
            audio = await ctx.client.recording(conn.id)
        except InfinityError as exc:
            log.info("no recording for connection %s: %s", conn.id, exc)
            continue
        file = folder / f"{row['counter_number'] or row['call_id']}-{conn.id}{_audio_suffix(audio)}"
        file.write_bytes(audio)
        found.append({"connection": conn.id, "path": str(file), "bytes": len(audio)})
    if not found:
        raise WireError(ErrorCode.NO_SUCH_CALL, f"call {row['id']} ({row['number']}) has no "
                        "recording")
    return found


def _audio_suffix(audio: bytes) -> str:
    """The file name's end for audio in the server's default codec, known by its first bytes."""
    if audio[:4] == b"RIFF":
        return ".wav"
    if audio[:3] == b"ID3" or (len(audio) > 1 and audio[0] == 0xFF and audio[1] & 0xE0 == 0xE0):
        return ".mp3"
    return ".gsm"


# -- static groups: hand-picked calls (F43, F59)
LogIds = Annotated[list[LogId], Length(1, 1000)]


@command("log_groups", "The static groups, each with how many calls it holds.")
async def log_groups(ctx: Context) -> list[dict]:
    return ctx.store.groups()


@command("log_group_add", "Put the logged calls LOG_IDS in the static group NAME (made if "
                          "new); all or none: an id the log lacks refuses the lot.")
async def log_group_add(ctx: Context, name: GroupName, log_ids: LogIds) -> dict:
    ctx.store.flush()
    missing = ctx.store.missing(log_ids)
    if missing:
        raise WireError(ErrorCode.NO_SUCH_CALL, f"no call {', '.join(map(str, missing))} in "
                        "the call log (see `cc log`); no call was added")
    added = ctx.store.group_add(name, log_ids, iso(time.time()))
    return {"name": name, "added": added, "calls": len(ctx.store.group_calls(name))}


@command("log_group_rm", "Take the calls LOG_IDS out of the static group NAME (they stay "
                         "in the log); all or none: an id not in the group refuses the lot.")
async def log_group_rm(ctx: Context, name: GroupName, log_ids: LogIds) -> dict:
    held = ctx.store.group_calls(name)
    if held is None:
        raise _no_such_group(ctx, name)
    absent = sorted(set(log_ids) - set(held))
    if absent:
        raise WireError(ErrorCode.BAD_INPUT, f"call {', '.join(map(str, absent))} is not in "
                        f"group '{name}' (it holds {len(held)} call(s): `cc log --group "
                        f"{name}`); no call was taken out")
    removed = ctx.store.group_remove(name, log_ids)
    return {"name": name, "removed": removed, "calls": len(held) - removed}


@command("log_group_delete", "Delete the static group NAME; its calls stay in the log.")
async def log_group_delete(ctx: Context, name: GroupName) -> dict:
    held = ctx.store.group_calls(name)
    if held is None or not ctx.store.group_delete(name):
        raise _no_such_group(ctx, name)
    return {"name": name, "calls": len(held)}


# -- recent numbers (F13)
RECENT = {"all": {}, "dialed": {"direction": "out"},
          "received": {"direction": "in", "outcome": "answered"}, "missed": {"missed": True}}


@command("recent", "The LIMIT numbers called or calling most recently, newest first, each "
                   "once however it was written (by its key); KIND: all, dialed, received "
                   "(answered incoming) or missed (incoming, not accepted).")
async def recent(ctx: Context, kind: Annotated[str, OneOf(tuple(RECENT))] = "all",
                 limit: Annotated[int, Range(1, 100)] = 10) -> list[dict]:
    ctx.store.flush()
    sql, args = ctx.store.select(limit=None, columns=("number", "number_key", "direction",
                                                      "outcome", "started_at", "contact"),
                                 **RECENT[kind])
    # In a thread, on a connection of its own: a log of many calls to few numbers is read
    # whole (about a second for 300,000 calls), and the daemon must not stall meanwhile.
    return await asyncio.to_thread(_recent, ctx.paths.database, sql, args,
                                   ctx.settings["contacts.default_region"], limit)


def _recent(database, sql: str, args: list, region: str, limit: int) -> list[dict]:
    """The first LIMIT distinct numbers of the query's rows (newest first)."""
    conn = open_log(database, read_only=True)
    found: dict[str, dict] = {}
    keyed: dict[str, str] = {}      # a call keyed before keys knew the region: keyed now
    try:
        for number, key, *rest in conn.execute(sql, args):
            if not number:
                continue
            if not (key or "").startswith("+"):
                if number not in keyed:
                    keyed[number] = phone.key(number, region)
                key = keyed[number]
            if key not in found:
                found[key] = dict(zip(("number", "direction", "outcome", "started_at",
                                       "contact"), (number, *rest)))
                if len(found) == limit:
                    break
    finally:
        conn.close()
    return [{**entry, "contact": entry["contact"] or ""} for entry in found.values()]
