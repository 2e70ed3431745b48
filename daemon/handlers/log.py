"""The call log: pages, one call, exports, removal, recordings (F19, F21, F36, F42, F43)."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

from .. import export, periods
from ..infinity import InfinityError
from ..store import SORT_COLUMNS
from ..wire import LOG_COLUMNS, ErrorCode, WireError
from .context import REMOTE, Context
from .registry import UNBOUNDED, Length, LogId, OneOf, Range, command, shared

log = logging.getLogger("cc.log")
LOG_PAGE = 5000      # rows per `log` reply; the CLI pages through bigger results
PAGE_BYTES = 4 * 2**20   # and at most about this much text per reply (card notes are long)
ROW_OVERHEAD = 800       # a row's JSON beyond its text: keys, numbers, punctuation


def _no_such_call(log_id: int | None) -> WireError:
    return WireError(ErrorCode.NO_SUCH_CALL,
                     f"no call {log_id} in the call log (see `cc log`)" if log_id is not None
                     else "the call log is empty")


Filter = Annotated[str, Length(1, 200)] | None
FILTERS = shared(
    period=(Filter, None), agent=(Filter, None),
    direction=(Annotated[str, OneOf(("in", "out"))] | None, None), outcome=(Filter, None),
    missed=(bool, False), number=(Filter, None), contact=(Filter, None),
    sort=(Annotated[str, OneOf(tuple(SORT_COLUMNS))], "start"), desc=(bool, True))


def _checked_period(period: str | None) -> None:
    try:
        periods.bounds(period) if period else None
    except periods.PeriodError as exc:
        raise WireError(ErrorCode.BAD_INPUT, str(exc)) from None


@command("log", "One page of the call log (LIMIT rows after the cursor AFTER, fewer when "
                "they pass 4 MiB of text), filtered and sorted; `next` is the cursor of the "
                "following page.", FILTERS)
async def log_page(ctx: Context, limit: Annotated[int, Range(1, LOG_PAGE)] = 20,
                   after: Annotated[list[str | int | float | None], Length(2, 2)] | None = None,
                   **filters) -> dict:
    _checked_period(filters["period"])
    ctx.store.flush()
    rows = ctx.store.find(limit=limit + 1, after=after, **filters)
    more = len(rows) > limit
    rows = rows[:limit]
    kept = _within(rows, PAGE_BYTES)
    more = more or kept < len(rows)
    rows = rows[:kept]
    column = SORT_COLUMNS[filters["sort"]]
    return {"rows": rows, "next": [rows[-1][column], rows[-1]["id"]] if more else None}


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
    _checked_period(filters["period"])
    refused = export.refusal(path, ctx.paths.database, ctx.paths.own)
    if refused:
        raise WireError(ErrorCode.BAD_INPUT, refused)
    ctx.store.flush()

    def sql_for(cols):
        return ctx.store.select(limit=limit, columns=cols, **filters)
    try:
        count = await asyncio.to_thread(export.write_file, ctx.paths.database, target,
                                        format, tuple(columns), sql_for)
    except OSError as exc:
        raise WireError(ErrorCode.FAILED, f"cannot write {target}: {exc.strerror}; nothing "
                        "was written") from None
    return {"written": count, "path": str(target)}


@command("log_show", "The logged call LOG_ID, every field.")
async def log_show(ctx: Context, log_id: LogId) -> dict:
    row = ctx.store.get(log_id)
    if row is None:
        raise _no_such_call(log_id)
    return row


@command("log_rm", "Remove the logged call LOG_ID, or every call when LOG_ID is null.")
async def log_rm(ctx: Context, log_id: LogId | None = None) -> dict:
    if log_id is not None and ctx.store.get(log_id) is None:
        raise _no_such_call(log_id)
    ctx.store.flush()
    return {"removed": ctx.store.remove(log_id)}


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
