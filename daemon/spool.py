"""Calls the call log cannot take yet, kept on disk until it can (a full disk, a damaged or
locked database): an append-only file beside the log, replayed at the next start.

The file holds one JSON line per entry: `{"row": {...}}` (a call's latest record) or
`{"written": [server, call_id, agent]}` (that call reached the log since). Each entry is
fsynced before the write that failed is reported. A full disk must not stop the spool
itself, so the file is made with room reserved in advance (zeros after the last entry):
entries are written into that room, and the first zero byte marks the end.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import stat
from pathlib import Path

from .store import Key, identity

log = logging.getLogger("cc.spool")
RESERVE = 1 << 20      # bytes kept ready: about a thousand records of calls


def waiting(path: Path) -> dict[Key, dict]:
    """The calls a spool file holds, read without changing it (for `cc doctor`)."""
    fd = _opened(path, os.O_RDONLY)
    try:
        return fold(_used(fd), path)
    finally:
        os.close(fd)


def _opened(path: Path, flags: int) -> int:
    """The spool's file descriptor; OSError if it is not a regular file (/dev/null keeps
    nothing, and a FIFO would keep its reader waiting for a writer)."""
    fd = os.open(path, flags | os.O_NONBLOCK, 0o600)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file", str(path))
    return fd


def _used(fd: int) -> bytes:
    chunks = []         # joined once: adding each to the last would copy all read so far
    while chunk := os.read(fd, 1 << 20):
        end = chunk.find(b"\0")
        if end >= 0:
            chunks.append(chunk[:end])
            break
        chunks.append(chunk)
    return b"".join(chunks)


def fold(used: bytes, path: Path) -> dict[Key, dict]:
    """Each call's latest record, from the entries in order; a call written since is gone."""
    waiting: dict[Key, dict] = {}
    lines, bad = used.splitlines(), []
    for number, line in enumerate(lines, 1):
        try:
            entry = json.loads(line)
            if "row" in entry:
                row = entry["row"]
                key = identity(row)
                waiting[key] = {**waiting.get(key, {}), **row}
            else:
                waiting.pop(tuple(entry["written"]), None)
        except (ValueError, KeyError, TypeError, AttributeError):
            # A line cut short by a crash mid-write: the entries around it stand.
            bad.append(number)
    if bad:         # one line, however many: this is read at every start and cc doctor
        log.warning("%s: %d of its %d lines are not spooled calls (the first is line %d); "
                    "skipped", path, len(bad), len(lines), bad[0])
    return waiting


class Spool:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.fd: int | None = None
        self.end = 0                   # where the next entry goes
        self.error: str | None = None  # why the last entry could not be written
        self.short: str | None = None  # why room could not be reserved, told once

    def open(self) -> dict[Key, dict]:
        """Open (or make) the file; the calls it still holds, each at its latest record."""
        self.fd = _opened(self.path, os.O_RDWR | os.O_CREAT)
        used = _used(self.fd)
        if used and not used.endswith(b"\n"):
            # A crash cut the last entry short (it was never reported written): blank it,
            # or the next entry would join it and be skipped with it.
            cut = used.rfind(b"\n") + 1
            try:
                os.pwrite(self.fd, b"\0" * (len(used) - cut), cut)
                used = used[:cut]
            except OSError as exc:
                log.warning("cannot blank the cut-short entry of %s: %s", self.path,
                            exc.strerror)
        self.end = len(used)
        self._reserve()
        return fold(used, self.path)

    def _reserve(self) -> None:
        try:
            size = os.fstat(self.fd).st_size
            if size < self.end + RESERVE:
                os.posix_fallocate(self.fd, 0, self.end + RESERVE)
        except OSError as exc:
            if self.short != exc.strerror:      # tried at every entry once room runs low
                log.warning("cannot reserve room for the spool %s: %s", self.path,
                            exc.strerror)
            self.short = exc.strerror
            return
        self.short = None

    def add(self, row: dict) -> bool:
        return self._append({"row": row})

    def written(self, key: Key) -> bool:
        return self._append({"written": list(key)})

    def _append(self, entry: dict) -> bool:
        line = json.dumps(entry, separators=(",", ":"), allow_nan=False).encode() + b"\n"
        try:
            written = os.pwrite(self.fd, line, self.end)
            if written < len(line):     # past the reserved room on a full disk
                os.pwrite(self.fd, b"\0" * written, self.end)
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            os.fsync(self.fd)
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            if self.error != reason:
                log.error("cannot write the spool %s: %s", self.path, reason)
            self.error = reason
            return False
        self.end += len(line)
        self.error = None
        if os.fstat(self.fd).st_size < self.end + RESERVE // 4:
            self._reserve()
        return True

    def clear(self) -> None:
        """Every call reached the log: blank the entries, keeping the room reserved."""
        if self.end == 0:
            return
        try:
            os.pwrite(self.fd, b"\0" * self.end, 0)
            os.fsync(self.fd)
        except OSError as exc:
            log.warning("cannot clear the spool %s: %s", self.path, exc.strerror)
            return
        self.end = 0

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
