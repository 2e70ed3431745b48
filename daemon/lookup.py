"""What the directory and the contacts share: reading a user's file, picking one match."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import stat
from pathlib import Path
from typing import Callable

from .export import kind_of
from .folding import fold
from .wire import ErrorCode, WireError

IMPORT_LOCK_WAIT = 30.0    # seconds an import waits for another writer of the call log


def import_reader(path: str | None, text: str | None, name: str | None, remote: bool,
                  max_bytes: int) -> Callable[[], tuple[Path, str]]:
    """What an import reads, checked now and read later (in the import's thread): the file
    PATH on the daemon's machine, or the TEXT of a file a client sent, NAME naming it in
    messages. A client of the remote endpoint may send text only."""
    if (path is None) == (text is None):
        raise WireError(ErrorCode.BAD_INPUT, "give either path (a file on the daemon's "
                        "machine) or text (the file's content)")
    if path is not None and remote:
        raise WireError(ErrorCode.BAD_INPUT, "a remote client may not name a file on the "
                        "daemon's machine: send the file's text instead (`cc contacts import "
                        "FILE` and `cc who import FILE` do)")
    if path is not None:
        return lambda: read_text(path, max_bytes)
    return lambda: sent_text(name or "the sent file", text, max_bytes)


class TooBig(Exception):
    """A file over its limit; `size` when the file says it (a growing one, or one of
    /proc's, is only found out by reading)."""

    def __init__(self, size: int | None):
        super().__init__(size)
        self.size = size

    def shown(self) -> str:
        return f" ({self.size:,} bytes)" if self.size is not None else ""


def read_regular(path: str, max_bytes: int) -> bytes:
    """The bytes of a user's file: a regular file of at most `max_bytes` (raises TooBig).
    A FIFO or a device could block or never end, so neither is read at all."""
    try:    # O_NONBLOCK: opening a FIFO must not wait for a writer
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise WireError(ErrorCode.BAD_INPUT, f"cannot read {path}: {exc.strerror}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise WireError(ErrorCode.BAD_INPUT, f"{path} is {kind_of(info.st_mode)}, not a "
                        "regular file: give the path of a file")
    with open(fd, "rb") as fh:
        if info.st_size > max_bytes:
            raise TooBig(info.st_size)
        try:
            data = fh.read(max_bytes + 1)
        except OSError as exc:
            raise WireError(ErrorCode.BAD_INPUT, f"cannot read {path}: {exc.strerror}") \
                from None
    if len(data) > max_bytes:
        raise TooBig(None)
    return data


def read_text(path: str, max_bytes: int) -> tuple[Path, str]:
    """A file on this machine to import, as text (`read_regular`)."""
    try:
        return Path(path), decoded(Path(path), read_regular(path, max_bytes))
    except TooBig as exc:
        raise _too_big(Path(path), max_bytes, exc.size) from None


def sent_text(name: str, text: str, max_bytes: int) -> tuple[Path, str]:
    """A file's text a client sent instead of a path: the same limit as a file."""
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:     # JSON can carry a lone surrogate; no file holds one
        raise WireError(ErrorCode.BAD_INPUT, f"cannot read {name}: not UTF-8 text") from None
    if size > max_bytes:
        raise _too_big(Path(name), max_bytes, size)
    return Path(name), text.removeprefix("\ufeff")


def decoded(file: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise WireError(ErrorCode.BAD_INPUT, f"cannot read {file}: not UTF-8 text (byte "
                        f"{exc.start + 1}); save it as UTF-8") from None


def _too_big(file: Path, max_bytes: int, size: int | None) -> WireError:
    return WireError(ErrorCode.BAD_INPUT, f"{file}{TooBig(size).shown()} is over the import "
                     f"limit of {max_bytes:,} bytes (import.max_bytes): split the file, or "
                     "raise the setting and restart the daemon")


def csv_rows(file: Path, text: str, columns: str, skipped: list[str]):
    """(line number, row with lower-case keys) of a CSV file whose header names `name`;
    a row without a name is noted in `skipped` with its line, and the others still load."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    fields = {(f or "").strip().lower() for f in reader.fieldnames or ()}
    if "name" not in fields:
        raise WireError(ErrorCode.BAD_INPUT, f"{file}: the first line must name the columns, with "
                        f"at least 'name' (known: {columns})")
    for lineno, raw in enumerate(reader, 2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
        if not row.get("name"):
            skipped.append(f"{file}:{lineno}: the name is empty")
            continue
        yield lineno, row


def one(found: list[dict], query: str, what: str, listing: str) -> dict:
    """The one entry a name means: an exact name, or the only partial match."""
    exact = [c for c in found if fold(c["name"]) == fold(query.strip())]
    if len(exact) == 1:
        return exact[0]
    if not found:
        raise WireError(ErrorCode.BAD_INPUT, f"no {what} matches '{query}' (see `{listing}`)")
    if len(found) > 1:
        names = "; ".join(c["name"] for c in found[:8])
        raise WireError(ErrorCode.BAD_INPUT, f"'{query}' matches {len(found)} {what}s ({names}): "
                        "be more precise")
    return found[0]


@contextlib.contextmanager
def writing(database: Path):
    """A plain connection of the import's own (its thread's) to the call log, in one
    transaction: the daemon's loop never waits for an import, and its readers see the
    whole import or none of it."""
    from .store import open_log

    conn = open_log(database, timeout=IMPORT_LOCK_WAIT)
    conn.execute("PRAGMA foreign_keys = ON")
    try:
        conn.execute("begin immediate")
        yield conn
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.close()
