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
            if fmt == "csv" and len(columns) > 1 and not mask_numbers:
                count = csv_lines(conn, out, columns, sql_for)
            elif fmt == "csv":     # kept in C too: tuples straight to csv
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


# -- CSV lines made by SQLite
#
# Python's csv module writes a value as str() does, quoted when it holds a character it
# must quote. SQLite's printf('%s,%s,...') writes text and integers the same way, so a
# line SQLite makes is csv's line whenever none of its values needs quoting and every
# real number prints as Python prints it. SQLite makes the lines (in C, without one Python
# object per value), and checks each real number in SQL: a real whose text does not read
# back as the same number, or that Python would print with an exponent, is replaced by
# MARK. A block of lines is then checked at once, at C speed: no quote, no MARK, no
# other character csv quotes, and exactly the commas and newlines of its rows. A block that
# fails the check goes line by line, and a line that fails it is written by the csv
# module from the row itself. The bytes are those the csv module writes from the rows
# (tests/test_export.py compares them). Text is never decoded: SQLite's UTF-8 goes to the
# file as it is. A BLOB value (never written by cc) would print raw, not as Python's b'…'.
MARK = "\x1e"
CSV_BATCH = 5_000
EXACT_REAL = ("iif(typeof({c}) = 'real' and not (cast(cast({c} as text) as real) = {c} "
              "and (abs({c}) between 1e-4 and 999999999999999.0 or {c} = 0)), "
              "char(30), {c})")


def csv_quoted() -> bytes:
    """The characters (of ASCII) that make Python's csv module quote a value, here."""
    import io

    def line(value: str) -> str:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow([value, ""])
        return buffer.getvalue()
    return bytes(c for c in range(128) if line(f"a{chr(c)}b").startswith('"'))


def text_columns(conn, table: str = "calls") -> set[str]:
    """The columns whose values print alike in SQLite and Python whatever they hold: text
    affinity (text, or NULL), and the integer primary key."""
    found = set()
    for _, name, declared, _, _, key in conn.execute(f"pragma table_info({table})"):
        declared = (declared or "").upper()
        if (any(t in declared for t in ("CHAR", "CLOB", "TEXT")) and "INT" not in declared) \
                or (key and declared == "INTEGER"):
            found.add(name)
    return found


def csv_lines(conn, out, columns: tuple[str, ...], sql_for, batch: int = CSV_BATCH) -> int:
    """Write the header and the rows of `sql_for(...)` to the text stream `out` as Python's
    csv module would (see above); returns the row count. `sql_for` must select from
    `calls`, whose `id` finds a row again."""
    safe = text_columns(conn)
    values = [c if c in safe else EXACT_REAL.format(c=c) for c in columns]
    line = f"printf('{','.join(['%s'] * len(columns))}', {', '.join(values)})"
    sql, args = sql_for((line, "id"))
    again = f"select {', '.join(columns)} from calls where id = ?"
    quoted = csv_quoted() + MARK.encode()
    # In a block, csv's characters but the comma and the newline, whose counts are checked;
    # in one line, all but the comma.
    in_block = [bytes([c]) for c in quoted if c not in b",\n"]
    in_line = [bytes([c]) for c in quoted if c != ord(",")]
    commas = len(columns) - 1
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    out.flush()
    raw = out.buffer
    count = 0
    conn.text_factory = bytes
    try:
        cursor = conn.execute(sql, args)
        while rows := cursor.fetchmany(batch):
            block = b"\n".join([r[0] for r in rows])
            if (block.count(b",") == commas * len(rows)
                    and block.count(b"\n") == len(rows) - 1
                    and not any(c in block for c in in_block)):
                raw.write(block)
                raw.write(b"\n")
            else:
                for text, row_id in rows:
                    if text.count(b",") == commas and not any(c in text for c in in_line):
                        raw.write(text + b"\n")
                    else:
                        raw.write(_csv_row(conn, again, row_id))
            count += len(rows)
    finally:
        conn.text_factory = str
    return count


def _csv_row(conn, sql: str, row_id: int) -> bytes:
    """One row as the csv module writes it, read again by its id."""
    import io

    conn.text_factory = str
    try:
        row = conn.execute(sql, (row_id,)).fetchone()
    finally:
        conn.text_factory = bytes
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(row)
    return buffer.getvalue().encode()
