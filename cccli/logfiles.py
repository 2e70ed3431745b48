"""`cc log attach|files|open|detach`: files kept with a logged call, in the profile's data
directory (the daemon copies them; over CC_REMOTE their bytes travel in the request)."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys

from daemon import wire
from daemon.wire import ErrorCode, WireError

from . import client, render

MAX_FILES = 100         # daemon/attachments.py's MAX_FILES
ATTACH_TIMEOUT = 300.0  # seconds: the daemon copies up to files.max_bytes a file


def _log_id(word: str | None, usage: str) -> int:
    if word is None or not word.isdigit() or int(word) < 1:
        raise WireError(ErrorCode.BAD_INPUT, f"usage: {usage} (an id from `cc log`)")
    return int(word)


def _number(word: str, log_id: int, usage: str) -> int:
    if not word.isdigit() or int(word) < 1:
        raise WireError(ErrorCode.BAD_INPUT, f"'{word}' is not a file's number: see `cc log "
                        f"files {log_id}` ({usage})")
    return int(word)


def attach(rest: list[str], as_json: bool) -> None:
    usage = "cc log attach ID FILE..."
    log_id = _log_id(rest[0] if rest else None, usage)
    files = rest[1:]
    if not files:
        raise WireError(ErrorCode.BAD_INPUT, f"usage: {usage}: name the files to attach")
    if len(files) > MAX_FILES:
        raise WireError(ErrorCode.BAD_INPUT, f"{len(files)} files at once: attach at most "
                        f"{MAX_FILES} in one command")
    if client.remote_endpoint():
        done = client.request("log_attach", timeout=ATTACH_TIMEOUT, log_id=log_id,
                              **_sent(files, log_id))
    else:
        done = client.request("log_attach", timeout=ATTACH_TIMEOUT, log_id=log_id,
                              paths=[os.path.abspath(f) for f in files])
    render.out(done, as_json, lambda rows: "\n".join(
        f"attached {row['name']} to call {log_id} as file {row['n']} ("
        + (f"{row['stored']}, " if row["stored"] != row["name"] else "")
        + f"{_size(row['size'])})" for row in rows))


def _sent(files: list[str], log_id: int) -> dict:
    """The files' names and bytes (base64) for a remote daemon, which reads no file of
    this machine: all of them within one request, or one line saying they do not fit."""
    from daemon.attachments import read_regular

    room = (wire.MAX_REQUEST_BYTES - 1024) * 3 // 4      # one file alone, in base64
    names, contents = [], []
    for path in files:
        data = read_regular(path, room, remote_cap=wire.MAX_REQUEST_BYTES)
        names.append(os.path.basename(os.path.abspath(path)))
        contents.append(base64.b64encode(data).decode("ascii"))
    size = len(wire.request("log_attach", log_id=log_id, names=names, contents=contents))
    if size > wire.MAX_REQUEST_BYTES:
        raise WireError(ErrorCode.BAD_INPUT, f"these {len(files)} files come to {size:,} "
                        f"bytes in base64, over the {wire.MAX_REQUEST_BYTES:,} a remote daemon "
                        "takes in one request: attach them one at a time, or on the daemon's "
                        "machine; nothing was attached")
    return {"names": names, "contents": contents}


def listing(rest: list[str], as_json: bool) -> None:
    usage = "cc log files ID"
    log_id = _log_id(rest[0] if rest else None, usage)
    if len(rest) != 1:
        raise WireError(ErrorCode.BAD_INPUT, f"usage: {usage} (an id from `cc log`)")
    render.out(client.request("log_files", log_id=log_id), as_json,
               lambda rows: _table(rows, log_id))


def _table(rows: list[dict], log_id: int) -> str:
    if not rows:
        return f"call {log_id} has no files: attach one with `cc log attach {log_id} FILE`"
    from .table import Column, show

    show([Column("n", right=True), Column("name", shrink=True), Column("size", right=True),
          Column("attached")],
         [[str(r["n"]), r["stored"] + (" (missing)" if r["missing"] else ""), _size(r["size"]),
           render.local_time(r["attached_at"])] for r in rows])
    return ""


def open_(rest: list[str], print_only: bool, as_json: bool) -> None:
    log_id, n = _call_and_file(rest, "cc log open ID N [--print]")
    found = client.request("log_file", log_id=log_id, n=n)
    if client.remote_endpoint():
        raise WireError(ErrorCode.BAD_INPUT, f"file {n} of call {log_id} is on the daemon's "
                        f"machine ({found['path']}): open it there")
    opener = None if print_only else _opener()
    if opener is not None:
        try:
            subprocess.Popen([opener, found["path"]], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
        except OSError as exc:
            render.warn(f"cannot run {opener}: {exc.strerror or exc}; its path instead")
            opener = None
    shown = {**found, "opened_with": opener}
    render.out(shown, as_json, found["path"] if opener is None else
               f"opening file {n} of call {log_id} ({found['stored']}) with "
               f"{os.path.basename(opener)}")


def _opener() -> str | None:
    """The desktop's opener, when there is a desktop: xdg-open under X11 or Wayland,
    `open` on macOS; None elsewhere (a console, ssh without X forwarding)."""
    if sys.platform == "darwin":
        return shutil.which("open")
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return None
    return shutil.which("xdg-open")


def _call_and_file(rest: list[str], usage: str) -> tuple[int, int]:
    """ID and N of `cc log open|detach ID N`, each checked."""
    log_id = _log_id(rest[0] if rest else None, usage)
    if len(rest) != 2:
        raise WireError(ErrorCode.BAD_INPUT, f"usage: {usage} (N: a number from `cc log "
                        f"files {log_id}`)")
    return log_id, _number(rest[1], log_id, usage)


def detach(rest: list[str], as_json: bool) -> None:
    log_id, n = _call_and_file(rest, "cc log detach ID N")
    done = client.request("log_detach", log_id=log_id, n=n)
    render.out(done, as_json, f"detached file {n} ({done['stored']}) from call {log_id}")
    left_behind(done)


def left_behind(done: dict) -> None:
    """One warning per attached file whose copy could not be removed (at most ten)."""
    left = done.get("files_left") or []
    for line in left[:10]:
        render.warn(f"cannot remove {line}; the daemon tries again at the next removal and "
                    "at its next start")
    if len(left) > 10:
        render.warn(f"and {len(left) - 10} more files (see the daemon's log)")


def _size(size: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return str(size)
