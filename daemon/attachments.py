"""Files attached to a call (`cc log attach`): copied into the profile's data directory,
one folder per call, a row per file in the call log (table call_files, _v13).

    data/files/CALL_ROW/STORED       the copy (STORED: the sanitised name, numbered on a clash)
    data/files/.incoming/*.part      a copy being written; renamed into its folder

A file is checked before anything is copied (a regular file, within files.max_bytes),
copied beside its folder under a temporary name, hashed as it goes, and linked into
place in the same transaction as its row: all the files of one `attach` are attached,
or none. Removing a row (a detach, or its call's removal: `cc log rm`, the retention
purge) queues its file in call_files_gone in the same transaction; `drain` removes the
queued files once that transaction is committed, and keeps any it cannot remove, said,
for the next drain (each removal, and the daemon's start).

Files stay with the agent who attached them: nothing here goes to the team store, nor
with a transfer's hand-over.
"""

from __future__ import annotations

import base64
import binascii
import errno
import hashlib
import logging
import os
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .export import kind_of
from .store import FILE_NAME_MAX
from .wire import ErrorCode, WireError

log = logging.getLogger("cc.files")

INCOMING = ".incoming"
NAME_BYTES = 200            # an attached file's name in UTF-8, room left for " (N)"
MAX_FILES = 100             # files in one attach
CHUNK = 1 << 20
# What a name may not hold, as any of these become "_": controls (newlines, escapes),
# invisible formatting (bidi overrides, zero-width), line separators, lone surrogates.
HIDDEN = frozenset(("Cc", "Cf", "Cs", "Zl", "Zp"))
KERNEL_VIEWS = ("/proc", "/sys")


def safe_name(given: str) -> str:
    """The name a file is kept and shown under: its last part (a name with path
    separators is a path), no controls or invisible characters, no leading dots or
    spaces, at most FILE_NAME_MAX characters and NAME_BYTES bytes (the extension kept);
    "file" when nothing is left."""
    text = unicodedata.normalize("NFC", given.replace("\\", "/")).rsplit("/", 1)[-1]
    text = "".join("_" if unicodedata.category(ch) in HIDDEN else ch for ch in text)
    text = text.strip().lstrip(". ").rstrip()
    if not text:
        return "file"
    stem, dot, ext = text.rpartition(".")
    if not dot or not stem or len(ext) > 16:
        stem, ext = text, ""
    else:
        ext = "." + ext
    while stem and (len(stem) + len(ext) > FILE_NAME_MAX or
                    len((stem + ext).encode("utf-8")) > NAME_BYTES):
        stem = stem[:-1]
    return (stem.rstrip() or "file") + ext


def numbered(name: str, taken) -> str:
    """`name`, or `stem (2).ext`, `stem (3).ext`... : the first not in `taken`."""
    if name not in taken:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, ext = name, ""
    else:
        ext = "." + ext
    n = 2
    while f"{stem} ({n}){ext}" in taken:
        n += 1
    return f"{stem} ({n}){ext}"


@dataclass
class Staged:
    """A file copied to a temporary name, not yet attached."""

    name: str
    size: int
    sha256: str
    temp: Path


class Files:
    """The files of the calls in `store` (its call_files rows), kept under `folder`."""

    def __init__(self, store, folder: Path):
        self.store, self.folder = store, Path(folder)

    @property
    def db(self):
        return self.store.db

    # -- attaching (stage_* in a thread: the copying; attach on the loop: the rows)
    def stage_paths(self, paths: list[str], max_bytes: int) -> list[Staged]:
        """Copy the files at `paths` (absolute, on this machine) to temporary names: each
        checked first (a regular file, symbolic links followed, within `max_bytes`),
        then copied; none when one fails."""
        opened = []
        try:
            for path in paths:
                opened.append((path, _open_regular(path, max_bytes)))
            staged: list[Staged] = []
            try:
                for path, fd in opened:
                    staged.append(self._copy(path, fd, max_bytes))
            except BaseException:
                self.discard(staged)
                raise
            return staged
        finally:
            for _, fd in opened:
                os.close(fd)

    def stage_sent(self, names: list[str], contents: list[str],
                   max_bytes: int) -> list[Staged]:
        """Write the files a client sent (base64) to temporary names; none when one is
        over `max_bytes` or not base64."""
        decoded = []
        for name, text in zip(names, contents):
            if len(text) * 3 // 4 > max_bytes + 3:       # before decoding: no big buffer
                raise _too_big(repr(safe_name(name)), len(text) * 3 // 4, max_bytes)
            try:
                data = base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError):
                raise WireError(ErrorCode.BAD_INPUT, f"the content sent for "
                                f"{safe_name(name)!r} is not base64") from None
            if len(data) > max_bytes:
                raise _too_big(repr(safe_name(name)), len(data), max_bytes)
            decoded.append((name, data))
        staged: list[Staged] = []
        try:
            for name, data in decoded:
                temp = self._temp()
                with open(temp, "wb") as out:
                    out.write(data)
                    out.flush()
                    os.fsync(out.fileno())
                staged.append(Staged(safe_name(name), len(data),
                                     hashlib.sha256(data).hexdigest(), temp))
        except OSError as exc:
            self.discard(staged)
            raise _cannot_write(self.folder, exc) from None
        return staged

    def _temp(self) -> Path:
        incoming = self.folder / INCOMING
        incoming.mkdir(mode=0o700, parents=True, exist_ok=True)
        while True:
            temp = incoming / f"{os.urandom(8).hex()}.part"
            try:
                os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC,
                                 0o600))
                return temp
            except FileExistsError:
                continue

    def _copy(self, path: str, fd: int, max_bytes: int) -> Staged:
        digest, size = hashlib.sha256(), 0
        try:
            temp = self._temp()
        except OSError as exc:
            raise _cannot_write(self.folder, exc) from None
        try:
            with open(temp, "wb") as out:
                while chunk := _read(path, fd):
                    size += len(chunk)
                    if size > max_bytes:     # it grew since it was checked
                        raise _too_big(path, None, max_bytes)
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        except OSError as exc:
            temp.unlink(missing_ok=True)
            raise _cannot_write(self.folder, exc) from None
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return Staged(safe_name(path), size, digest.hexdigest(), temp)

    @staticmethod
    def discard(staged: list[Staged]) -> None:
        for item in staged:
            try:
                item.temp.unlink(missing_ok=True)
            except OSError as exc:
                log.warning("cannot remove the temporary copy %s: %s", item.temp, exc)

    def attach(self, call_row: int, staged: list[Staged], when: str) -> list[dict]:
        """The staged files as the call's, in one transaction: each row written and its
        copy linked into the call's folder (never over a file there); none when one
        fails. The temporary copies stay for the caller to discard."""
        folder = self.folder / str(call_row)
        linked: list[Path] = []
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            with self.db.conn:
                taken = {r[0] for r in self.db.execute(
                    "select stored from call_files where call_row = ?", [call_row])}
                taken |= set(os.listdir(folder))
                n = self.db.execute("select coalesce(max(n), 0) from call_files where "
                                    "call_row = ?", [call_row]).fetchone()[0]
                for item in staged:
                    n += 1
                    while True:
                        stored = numbered(item.name, taken)
                        taken.add(stored)
                        try:
                            _place(item.temp, folder / stored)
                        except FileExistsError:
                            continue
                        except FileNotFoundError:
                            if folder.is_dir() or not item.temp.exists():
                                raise
                            # A drain removed the call's emptied folder meanwhile.
                            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
                            taken.discard(stored)
                            continue
                        break
                    linked.append(folder / stored)
                    self.db.execute(
                        "insert into call_files (call_row, n, name, stored, size, sha256, "
                        "attached_at) values (?, ?, ?, ?, ?, ?, ?)",
                        [call_row, n, item.name, stored, item.size, item.sha256, when])
        except BaseException as exc:
            for path in linked:
                try:
                    path.unlink(missing_ok=True)
                except OSError as gone:
                    log.warning("cannot remove %s after a failed attach: %s", path, gone)
            if isinstance(exc, OSError):
                raise _cannot_write(folder, exc) from None
            if getattr(exc, "sqlite_errorname", "") == "SQLITE_CONSTRAINT_FOREIGNKEY":
                raise WireError(ErrorCode.NO_SUCH_CALL, f"call {call_row} was removed while "
                                "its files were copied; nothing was attached") from None
            raise
        return self.of(call_row)[-len(staged):] if staged else []

    # -- reading
    def of(self, call_row: int) -> list[dict]:
        """The call's files, by number."""
        rows = self.db.execute(
            "select n, name, size, sha256, attached_at, stored from call_files where "
            "call_row = ? order by n", [call_row]).fetchall()
        return [self._shown(call_row, row) for row in rows]

    def one(self, call_row: int, n: int) -> dict | None:
        row = self.db.execute(
            "select n, name, size, sha256, attached_at, stored from call_files where "
            "call_row = ? and n = ?", [call_row, n]).fetchone()
        return self._shown(call_row, row) if row else None

    def _shown(self, call_row: int, row) -> dict:
        n, name, size, sha256, when, stored = row
        path = self.folder / str(call_row) / stored
        return {"n": n, "name": name, "size": size, "sha256": sha256, "attached_at": when,
                "stored": stored, "path": str(path), "missing": not path.is_file()}

    # -- removing
    def detach(self, call_row: int, n: int) -> bool:
        """Take file N off the call (its copy queued for removal); whether it had one."""
        with self.db.conn:
            return self.db.execute("delete from call_files where call_row = ? and n = ?",
                                   [call_row, n]).rowcount > 0

    def queued(self) -> list[str]:
        """The files whose rows are gone and whose copies are still on disk, as
        CALL_ROW/STORED; never one a live row has again."""
        return [r[0] for r in self.db.execute(
            "select path from call_files_gone g where not exists (select 1 from call_files "
            "f where f.call_row || '/' || f.stored = g.path) order by since, path")]

    def remove(self, paths: list[str]) -> tuple[list[str], list[str]]:
        """Remove these queued copies from disk (in a thread: no database here); the
        removed ones and, for the others, "PATH: why" each."""
        done, left = [], []
        for rel in paths:
            call, _, stored = rel.partition("/")
            if not call.isdigit() or not stored or "/" in stored or stored.startswith("."):
                done.append(rel)        # not a path of ours: never followed
                continue
            path = self.folder / call / stored
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                left.append(f"{path}: {exc.strerror or exc}")
                continue
            done.append(rel)
            try:
                (self.folder / call).rmdir()    # the call's folder, once empty
            except OSError:
                pass
        return done, left

    def forget(self, paths: list[str]) -> None:
        """Take removed copies out of the queue."""
        if paths:
            with self.db.conn:
                self.db.conn.executemany("delete from call_files_gone where path = ?",
                                         [(p,) for p in paths])

    def clear_incoming(self) -> None:
        """Copies a stopped daemon left half written (at start)."""
        incoming = self.folder / INCOMING
        try:
            names = os.listdir(incoming)
        except OSError:
            return
        for name in names:
            if name.endswith(".part"):
                try:
                    (incoming / name).unlink()
                except OSError as exc:
                    log.warning("cannot remove %s: %s", incoming / name, exc)


async def drain(files: Files | None) -> dict:
    """Remove the queued copies from disk (after the commit that queued them): how many
    went, and what could not be removed ("PATH: why" each, logged too; kept queued)."""
    import asyncio

    paths = files.queued() if files is not None else []
    if not paths:
        return {"files_removed": 0, "files_left": []}
    done, left = await asyncio.to_thread(files.remove, paths)
    files.forget(done)
    for line in left:
        log.warning("cannot remove the attached file %s; tried again at the next removal "
                    "and the next start", line)
    return {"files_removed": len(done), "files_left": left}


def _place(temp: Path, target: Path) -> None:
    """The temporary copy at `target`, never over a file there (FileExistsError): a hard
    link, or where the file system has none (FAT, some FUSE) a rename, the name checked
    first (only this daemon writes the folder)."""
    try:
        os.link(temp, target)
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
            raise
        if os.path.lexists(target):
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(target)) \
                from None
        os.rename(temp, target)


def read_regular(path: str, room: int, remote_cap: int) -> bytes:
    """The bytes of the file `path` for a remote daemon (the client's side): checked as
    the daemon checks a path, within the `room` one request of `remote_cap` bytes has."""
    try:
        fd = _open_regular(path, room)
    except WireError as exc:
        if not isinstance(exc, _TooBig):
            raise
        raise WireError(ErrorCode.BAD_INPUT, f"{path}{exc.shown} is over the {room:,} bytes "
                        f"a remote daemon takes (base64, in a request of at most "
                        f"{remote_cap:,} bytes): attach it on the daemon's machine; nothing "
                        "was attached") from None
    try:
        with open(fd, "rb", closefd=True) as fh:
            data = fh.read(room + 1)
    except OSError as exc:
        raise WireError(ErrorCode.BAD_INPUT, f"cannot read {path}: {exc.strerror}; nothing "
                        "was attached") from None
    if len(data) > room:
        raise WireError(ErrorCode.BAD_INPUT, f"{path} grew past the {room:,} bytes a remote "
                        "daemon takes: attach it on the daemon's machine; nothing was "
                        "attached")
    return data


def _open_regular(path: str, max_bytes: int) -> int:
    """An open descriptor of the regular file `path` (a symbolic link to one counts: the
    agent named it) of at most `max_bytes`; one line otherwise. O_NONBLOCK: opening a
    FIFO must not wait for a writer."""
    real = os.path.realpath(path)
    if any(real == top or real.startswith(top + "/") for top in KERNEL_VIEWS):
        raise WireError(ErrorCode.BAD_INPUT, f"{path} is under /{real.split('/')[1]}, the "
                        "kernel's view, not a file (its `self` would be the daemon): copy it "
                        "to a file first; nothing was attached")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise WireError(ErrorCode.BAD_INPUT, f"cannot read {path}: {exc.strerror}; nothing "
                        "was attached") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise WireError(ErrorCode.BAD_INPUT, f"{path} is {kind_of(info.st_mode)}, not a "
                        "regular file: only files can be attached (nothing was attached)")
    if info.st_size > max_bytes:
        os.close(fd)
        raise _too_big(path, info.st_size, max_bytes)
    return fd


def _read(path: str, fd: int) -> bytes:
    try:
        return os.read(fd, CHUNK)
    except BlockingIOError:         # O_NONBLOCK on a regular file never blocks; to be sure
        os.set_blocking(fd, True)
        return os.read(fd, CHUNK)
    except OSError as exc:
        raise WireError(ErrorCode.BAD_INPUT, f"cannot read {path}: {exc.strerror}; nothing "
                        "was attached") from None


class _TooBig(WireError):
    def __init__(self, message: str, shown: str):
        super().__init__(ErrorCode.BAD_INPUT, message)
        self.shown = shown


def _too_big(name: str, size: int | None, max_bytes: int) -> WireError:
    shown = f" ({size:,} bytes)" if size is not None else ""
    return _TooBig(f"{name}{shown} is over the limit of {max_bytes:,} bytes for an "
                   "attached file (files.max_bytes); nothing was attached", shown)


def _cannot_write(folder: Path, exc: OSError) -> WireError:
    reason = "the disk is full" if exc.errno == errno.ENOSPC else exc.strerror or str(exc)
    return WireError(ErrorCode.FAILED, f"cannot copy into {folder}: {reason}; nothing was "
                     "attached")
