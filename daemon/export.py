"""Writers for the call log's output formats: stable column names, one row at a time.

Light on purpose: the CLI uses it for `cc log` on standard output, and the daemon for
`--output FILE`, which it writes itself from one cursor in a thread of its own. An output
file is only ever a regular file, written beside its place and renamed into it.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import stat
from pathlib import Path

from daemon import templates
from daemon.wire import LOG_COLUMNS, for_json

FORMATS = ("table", "json", "ndjson", "csv", "asterisk-csv")
FormatError = templates.FormatError     # what cccli.log catches
DISPOSITION = {"answered": "ANSWERED", "busy": "BUSY", "failed": "FAILED"}


class PathError(ValueError):
    """A place an export may not be written; the message names it and why."""


SYSTEM_TREES = (Path("/proc"), Path("/sys"), Path("/dev"))   # the kernel's, not files
KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"),
         (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
         (stat.S_ISSOCK, "a socket"), (stat.S_ISLNK, "a symbolic link"))


def kind_of(mode: int) -> str:
    """What a file that is not a regular one is, in words."""
    return next((name for test, name in KINDS if test(mode)), "not a regular file")


def output_path(text: str) -> Path:
    """The file an export may write: an absolute path to a regular file or to none yet, in
    an existing folder outside /proc, /sys and /dev. Folders are resolved (a link among
    them is followed once, here); the file itself is never a link. Raises PathError."""
    path = Path(text)
    if not path.is_absolute():
        raise PathError(f"{text} is not an absolute path")
    folder = path.parent.resolve()
    system = next((t for t in SYSTEM_TREES if folder == t or t in folder.parents), None)
    if system is not None:
        raise PathError(f"{path} is under {system}, which holds no files of yours: write "
                        "the export to an ordinary folder")
    if not folder.is_dir():
        raise PathError(f"there is no folder {folder}")
    target = folder / path.name
    try:
        mode = os.lstat(target).st_mode
    except FileNotFoundError:
        return target
    except OSError as exc:
        raise PathError(f"cannot use {target}: {exc.strerror}") from None
    if not stat.S_ISREG(mode):
        raise PathError(f"{target} is {kind_of(mode)}, not a regular file: give the path of "
                        "a file to write")
    return target


@contextlib.contextmanager
def replacing(target: Path):
    """A text stream on a new file beside `target` that takes its place when the block
    ends well (fsynced, then renamed); after any failure the new file is gone and
    `target` is as it was."""
    import tempfile     # here: `cc log` on a terminal never needs it

    fd, part = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with open(fd, "w", encoding="utf-8", newline="") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(part, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(part)
        raise


def check_template(template: str) -> None:
    """A `cc log --format` template (see daemon.templates)."""
    templates.check(template, "log")


_asterisk_time = templates.local_time


def asterisk_row(row: dict) -> list:
    """One call as Asterisk's cdr_csv writes it to Master.csv, in its column order
    (accountcode, src, dst, dcontext, clid, channel, dstchannel, lastapp, lastdata, start,
    answer, end, duration, billsec, disposition, amaflags, uniqueid, userfield), so
    existing CDR tools read ours: duration = whole call, billsec = from the answer on."""
    wait, talk, hold = (row.get(k) or 0 for k in ("wait_seconds", "talk_seconds",
                                                   "hold_seconds"))
    answered = bool(row.get("connected_at"))
    ext, number = row.get("extension") or "", row.get("number") or ""
    src, dst = (ext, number) if row["direction"] == "out" else (number, ext)
    return [row.get("agent") or "", src, dst, "from-internal" if row["direction"] == "out"
            else "from-external", f'"{src}" <{src}>', f"Infinity/{ext}", "", "Dial", dst,
            _asterisk_time(row.get("started_at")), _asterisk_time(row.get("connected_at")),
            _asterisk_time(row.get("ended_at")), round(wait + talk + hold),
            round(talk + hold) if answered else 0,
            DISPOSITION.get(row.get("outcome"), "NO ANSWER"), "DOCUMENTATION",
            row.get("call_id") or "", row.get("outcome") or ""]


class Writer:
    """Streams rows to `out` in one format; `close()` finishes the document."""

    def __init__(self, out, fmt: str, columns: tuple[str, ...]):
        self.out, self.fmt, self.columns = out, fmt, columns
        self.count = 0
        if fmt == "csv":
            self.csv = csv.writer(out, lineterminator="\n")
            self.csv.writerow(columns)
        elif fmt == "asterisk-csv":
            self.csv = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
        elif fmt == "json":
            out.write("[")

    def write(self, row: dict) -> None:
        picked = {c: row.get(c) for c in self.columns}
        if self.fmt == "csv":
            self.csv.writerow(["" if v is None else v for v in picked.values()])
        elif self.fmt == "asterisk-csv":
            self.csv.writerow(asterisk_row(row))
        elif self.fmt == "json":
            self.out.write(("," if self.count else "") + "\n  " +
                           json.dumps(for_json(picked), ensure_ascii=False))
        elif self.fmt == "ndjson":
            self.out.write(json.dumps(for_json(picked), ensure_ascii=False) + "\n")
        else:   # a template
            self.out.write(templates.line(self.fmt, row) + "\n")
        self.count += 1

    def close(self) -> None:
        if self.fmt == "json":
            self.out.write("\n]\n" if self.count else "]\n")


def refusal(output, database: Path, folders) -> str | None:
    """Why `output` must not be written, if it is the call log `database` (or one of its
    write-ahead files) or lies in one of the daemon's own `folders`: opening a file to
    write empties it, a call log as any other."""
    from .store import log_files

    target = Path(output).resolve()
    for kept in (*log_files(Path(database)), *folders):
        kept = Path(kept).resolve()
        if target == kept:
            return f"cannot write {output}: it is the call log {kept} itself; write elsewhere"
        if kept in target.parents:
            return (f"cannot write {output}: {kept} holds the call log, its spool and the "
                    "journal; write elsewhere")
    return None


def write_file(database, target: Path, fmt: str, columns: tuple[str, ...], sql_for,
               mask_numbers: bool = False) -> int:
    """Export straight from the database (read-only, its own connection) into `target`
    (an `output_path`). `sql_for(columns)` gives the query selecting those columns;
    returns the row count. `mask_numbers`: callers' numbers masked (privacy.py)."""
    from .privacy import NUMBER_COLUMNS, mask, masked_row
    from .store import open_log

    conn = open_log(database, read_only=True)
    count = 0

    def counted(rows):
        nonlocal count
        for row in rows:
            count += 1
            yield row
    try:
        with replacing(target) as out:
            if fmt == "csv":     # the common case, kept in C: tuples straight to csv
                sql, args = sql_for(columns)
                writer = csv.writer(out, lineterminator="\n")
                writer.writerow(columns)
                cursor = conn.execute(sql, args)
                hidden = [n for n, c in enumerate(columns) if c in NUMBER_COLUMNS]
                while rows := cursor.fetchmany(10_000):
                    if mask_numbers and hidden:
                        rows = [tuple(mask(v) if n in hidden else v for n, v in enumerate(r))
                                for r in rows]
                    writer.writerows(rows)
                    count += len(rows)
            else:
                sql, args = sql_for(LOG_COLUMNS)
                cursor = conn.execute(sql, args)
                names = [d[0] for d in cursor.description]
                rows = Writer(out, fmt, columns)
                for values in counted(cursor):
                    row = dict(zip(names, values))
                    rows.write(masked_row(row) if mask_numbers else row)
                rows.close()
        return count
    finally:
        conn.close()
