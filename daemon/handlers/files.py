"""Files attached to a logged call: attach, list, one file's path, detach (F60)."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

from .. import attachments
from ..calls import iso
from ..wire import ErrorCode, WireError
from .context import REMOTE, Context
from .registry import UNBOUNDED, Length, LogId, Range, command

FileNo = Annotated[int, Range(1, UNBOUNDED)]
Names = Annotated[list[Annotated[str, Length(1, 4096)]], Length(1, attachments.MAX_FILES)]


def _call(ctx: Context, log_id: int) -> dict:
    ctx.store.flush()
    row = ctx.store.get(log_id)
    if row is None:
        raise WireError(ErrorCode.NO_SUCH_CALL, f"no call {log_id} in the call log (see "
                        "`cc log`)")
    return row


@command("log_attach", "Attach files to the logged call LOG_ID: PATHS (absolute, on the "
                       "daemon's machine: regular files, symbolic links followed), or "
                       "NAMES with their CONTENTS in base64 (what a remote client sends); "
                       "each within files.max_bytes; all of them, or none. The files "
                       "attached, numbered.")
async def log_attach(ctx: Context, log_id: LogId, paths: Names | None = None,
                     names: Names | None = None,
                     contents: Annotated[list[str], Length(1, attachments.MAX_FILES)] |
                     None = None) -> list[dict]:
    if (paths is None) == (names is None) or (names is None) != (contents is None):
        raise WireError(ErrorCode.BAD_INPUT, "give either paths (files on the daemon's "
                        "machine) or names with their contents")
    if names is not None and len(names) != len(contents):
        raise WireError(ErrorCode.BAD_INPUT, f"{len(names)} names for {len(contents)} "
                        "contents: give one name per file")
    if paths is not None and REMOTE.get():
        raise WireError(ErrorCode.BAD_INPUT, "a remote client may not name a file on the "
                        "daemon's machine: send the file's content instead (`cc log attach "
                        "ID FILE` does)")
    if paths is not None and not all(p.startswith("/") for p in paths):
        raise WireError(ErrorCode.BAD_INPUT, "paths must be absolute")
    _call(ctx, log_id)
    limit = int(ctx.settings["files.max_bytes"])
    if paths is not None:
        staged = await asyncio.to_thread(ctx.files.stage_paths, paths, limit)
    else:
        staged = await asyncio.to_thread(ctx.files.stage_sent, names, contents, limit)
    try:
        return ctx.files.attach(log_id, staged, iso(time.time()))
    finally:
        ctx.files.discard(staged)


@command("log_files", "The files attached to the logged call LOG_ID, by number: name, "
                      "size, sha256, when, where (path), and whether the copy is missing.")
async def log_files(ctx: Context, log_id: LogId) -> list[dict]:
    _call(ctx, log_id)
    return ctx.files.of(log_id)


def _file(ctx: Context, log_id: int, n: int) -> dict:
    _call(ctx, log_id)
    found = ctx.files.one(log_id, n)
    if found is None:
        have = [f["n"] for f in ctx.files.of(log_id)]
        raise WireError(ErrorCode.BAD_INPUT, f"call {log_id} has no file {n} (" + (
            f"its files: {', '.join(map(str, have))}; `cc log files {log_id}`" if have else
            f"it has none; attach one with `cc log attach {log_id} FILE`") + ")")
    return found


@command("log_file", "File N of the logged call LOG_ID, with its path on the daemon's "
                     "machine (refused when its copy is missing).")
async def log_file(ctx: Context, log_id: LogId, n: FileNo) -> dict:
    found = _file(ctx, log_id, n)
    if found["missing"]:
        raise WireError(ErrorCode.FAILED, f"file {n} of call {log_id} is missing from "
                        f"{found['path']}: `cc log detach {log_id} {n}` takes it off")
    return found


@command("log_detach", "Take file N off the logged call LOG_ID and remove its copy; the "
                       "file, and any copy that could not be removed (files_left).")
async def log_detach(ctx: Context, log_id: LogId, n: FileNo) -> dict:
    found = _file(ctx, log_id, n)
    ctx.files.detach(log_id, n)
    return {**found, **await attachments.drain(ctx.files)}
