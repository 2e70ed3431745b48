"""The XML journal of every message exchanged with the server (F10, docs/infinity.md).

One `<message>` element per line, appended, rotated by size. Passwords are `***`.
Read back with defusedxml: a journal may come from another site, so it is untrusted.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

from .privacy import masked_fields

log = logging.getLogger("cc.journal")

SECRET_PARAMS = re.compile(r"pass", re.IGNORECASE)   # parameters never written in clear
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
# Characters XML 1.0 cannot carry, even escaped (and lone surrogates, which UTF-8 cannot).
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
MAX_LINE = 1_000_000          # bytes; the writer never exceeds it, the reader refuses more
MAX_DEPTH = 64                # element nesting the reader accepts (the writer stays under 40)
_FILL_DEPTH = 32              # deeper JSON from the server is journalled as text
_RAW_SHOWN = 4096             # characters of an unreadable or oversized body kept


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _text(value) -> str:
    return _XML_BAD.sub("\ufffd", str(value))


def _add_value(parent: ET.Element, key, value, depth: int) -> None:
    name = str(key)
    if _NAME.match(name):
        child = ET.SubElement(parent, name)
    else:
        child = ET.SubElement(parent, "field", name=_text(name))
    _fill(child, value, depth + 1)


def _fill(elem: ET.Element, value, depth: int = 0) -> None:
    if depth > _FILL_DEPTH and isinstance(value, (dict, list)):
        elem.text = _text(json.dumps(value, ensure_ascii=False)[:_RAW_SHOWN])
    elif isinstance(value, dict):
        for k, v in value.items():
            _add_value(elem, k, v, depth)
    elif isinstance(value, list):
        for item in value:
            _fill(ET.SubElement(elem, "item"), item, depth + 1)
    elif value is not None:
        elem.text = _text(value)


def _one_line(xml: str) -> str:
    """Serialised XML on one line: ElementTree escapes CR and LF in attributes, not in text."""
    return xml.replace("\r", "&#13;").replace("\n", "&#10;")


class Journal:
    def __init__(self, path: Path, max_bytes: int = 10_485_760, backups: int = 5,
                 enabled: bool = True):
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.backups = backups
        self.enabled = enabled
        self.mask_numbers = False     # privacy.mask_numbers: callers' numbers masked
        self.seq = 0
        self._lock = threading.Lock()
        self._file = None
        self._cut = False        # the last write failed half-way: start the next on a new line
        self._failing = False    # a write failed; logged once until one succeeds again
        if enabled:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._cut = not _ends_a_line(self.path)
            self._file = open(self.path, "a", encoding="utf-8")

    def switch(self, enabled: bool) -> None:
        """journal.enabled changed in a running daemon: open or close the file."""
        with self._lock:
            if enabled and not self._file:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._cut = not _ends_a_line(self.path)
                self._file = open(self.path, "a", encoding="utf-8")
            elif not enabled and self._file:
                self._file.close()
                self._file = None
            self.enabled = enabled

    def close(self) -> None:
        if self._file:
            self._file.close()
            self._file = None

    def _write(self, attrs: dict, fill=None) -> None:
        if not self._file:
            return
        with self._lock:
            self.seq += 1
            head = {"seq": str(self.seq), "at": _now(),
                    **{k: _text(v) for k, v in attrs.items()}}
            elem = ET.Element("message", head)
            if fill:
                fill(elem)
            # A pretty-printed answer's CR/LF would cut the line: as character references.
            line = _one_line(ET.tostring(elem, encoding="unicode"))
            if len(line) * 4 > MAX_LINE and len(line.encode()) > MAX_LINE:
                elem = ET.Element("message", {**head, "truncated": str(len(line))})
                ET.SubElement(elem, "raw").text = _text(line[:_RAW_SHOWN])
                line = _one_line(ET.tostring(elem, encoding="unicode"))
            try:
                self._file.write(("\n" if self._cut else "") + line + "\n")
                self._file.flush()
                self._cut = self._failing = False
                if self._file.tell() >= self.max_bytes:
                    self._rotate()
            except OSError as exc:
                # A full disk must not stop the daemon: the journal is a record, not a duty.
                self._cut = True
                if not self._failing:
                    log.error("cannot write the journal %s: %s", self.path, exc)
                self._failing = True

    def _rotate(self) -> None:
        self._file.close()
        self._file = None
        try:
            for n in range(self.backups - 1, 0, -1):
                older = self.path.with_name(f"{self.path.name}.{n}")
                if older.exists():
                    os.replace(older, self.path.with_name(f"{self.path.name}.{n + 1}"))
            if self.backups > 0:
                os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
            else:
                self.path.unlink()
        finally:
            self._file = open(self.path, "a", encoding="utf-8")

    def _params(self, params: dict):
        if self.mask_numbers:
            params = masked_fields(params)

        def fill(elem):
            for name, value in params.items():
                shown = "***" if SECRET_PARAMS.search(name) else value
                ET.SubElement(elem, "param", name=_text(name)).text = _text(shown)
        return fill

    def sent(self, path: str, params: dict) -> None:
        self._write({"dir": "sent", "kind": "request", "path": path}, self._params(params))

    def received(self, path: str, status: int, ms: float, body: bytes) -> None:
        text = body.decode("utf-8", errors="replace")

        def fill(elem):
            try:
                doc = json.loads(text.translate(str.maketrans("", "", "\r\n\t")))
            except (ValueError, RecursionError):
                ET.SubElement(elem, "raw").text = _text(text[:_RAW_SHOWN])
                return
            doc = doc if isinstance(doc, dict) else {"raw": doc}
            _fill(elem, masked_fields(doc) if self.mask_numbers else doc)
        self._write({"dir": "received", "kind": "response", "path": path,
                     "status": status, "ms": f"{ms:.0f}"}, fill)

    def failed(self, path: str, ms: float, what: str) -> None:
        self._write({"dir": "received", "kind": "failure", "path": path, "ms": f"{ms:.0f}",
                     "error": what})

    def event(self, path: str, params: dict) -> None:
        self._write({"dir": "received", "kind": "event", "path": path}, self._params(params))

    def rejected(self, path: str, params: dict, why: str, count: int = 1) -> None:
        """A request the event listener refused; `count` > 1 sums up a flood in one line."""
        attrs = {"dir": "received", "kind": "rejected", "path": path[:200], "why": why[:500]}
        if count != 1:
            attrs["count"] = count
        self._write(attrs, self._params({k[:100]: v[:1000] for k, v in
                                         list(params.items())[:20]}))


def _ends_a_line(path: Path) -> bool:
    """False when a file ends in the middle of a line (a write cut short by a full disk)."""
    try:
        with open(path, "rb") as fh:
            if fh.seek(0, os.SEEK_END) == 0:
                return True
            fh.seek(-1, os.SEEK_END)
            return fh.read(1) == b"\n"
    except OSError:
        return True


# -- reading back: every line is untrusted input

class JournalError(Exception):
    """A journal `cc journal` refuses; the message names the file, the line and the problem."""


_DECLARATION = re.compile(rb"<\?xml[^<>]*\?>")
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_POSITION = re.compile(r":? line \d+, column \d+$")


def _open(path):
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise JournalError(f"{path}: no such file (the daemon writes its journal there while "
                           "journal.enabled is on)") from None
    except OSError as exc:
        raise JournalError(f"{path}: cannot read it: {exc.strerror or exc}") from None


def read(path: Path):
    """Yield each journal line as a `<message>` Element, from the first line on, as it is
    read (a line at a time: memory stays small whatever the file's size); raise
    JournalError at the first line that is not one. DTDs and entities are refused, never
    expanded or fetched."""
    with _open(path) as fh:
        lineno = 0
        while True:
            try:
                raw = fh.readline(MAX_LINE + 1)
            except OSError as exc:     # a directory, a device, a vanished mount
                raise JournalError(f"{path}: cannot read it: {exc.strerror or exc}") from None
            if not raw:
                return
            lineno += 1
            where = f"{path}:{lineno}"
            if len(raw) > MAX_LINE:
                raise JournalError(f"{where}: refused a line longer than {MAX_LINE:,} bytes "
                                   "(a cc journal has none)")
            elem = _message(raw, where, lineno == 1)
            if elem is not None:
                yield elem


def last(path: Path, count: int, keep=lambda message: True) -> list[dict]:
    """The last `count` messages (as_dict) that `keep` accepts, in the file's order.
    A regular file is read from its end, so a big journal's tail comes at once; a pipe
    is read through, keeping only `count` messages."""
    import collections

    with _open(path) as fh:
        try:    # /proc files are "regular" but have no size and no end to seek to
            end = fh.seek(0, os.SEEK_END) if os.path.isfile(path) else 0
        except OSError:
            end = 0
        if not end:
            kept = collections.deque(maxlen=count)
            kept.extend(m for m in map(as_dict, read(path)) if keep(m))
            return list(kept)
        found = []
        try:
            for elem in _backwards(fh, path, end):
                message = as_dict(elem)
                if keep(message):
                    found.append(message)
                    if len(found) == count:
                        break
        except OSError as exc:        # a vanished mount, a disk error
            raise JournalError(f"{path}: cannot read it: {exc.strerror or exc}") from None
        return found[::-1]


_BLOCK = 1 << 16


def _backwards(fh, path, end: int):
    """Each `<message>` of an open file from the last line to the first, read in blocks
    from `end` back; lines are checked as `read` checks them."""
    pos, head = end, b""        # head: the start of the file's text after `pos` (one line)
    while True:
        if pos > 0:
            step = min(_BLOCK, pos)
            pos -= step
            fh.seek(pos)
            head = fh.read(step) + head
        lines = head.split(b"\n")
        head = lines[0] if pos > 0 else b""
        rest = lines[1:] if pos > 0 else lines
        cursor = pos + len(lines[0]) + 1 if pos > 0 else 0   # where rest[0] starts
        starts = []
        for line in rest:
            starts.append(cursor)
            cursor += len(line) + 1
        for line, start in zip(reversed(rest), reversed(starts)):
            if len(line) >= MAX_LINE:
                raise JournalError(f"{_where(fh, path, start)}: refused a line longer than "
                                   f"{MAX_LINE:,} bytes (a cc journal has none)")
            try:
                elem = _message(line, None, start == 0)
            except JournalError as exc:
                raise JournalError(f"{_where(fh, path, start)}: {exc}") from None
            if elem is not None:
                yield elem
        if pos == 0:
            return
        if len(head) >= MAX_LINE:
            raise JournalError(f"{_where(fh, path, pos)}: refused a line longer than "
                               f"{MAX_LINE:,} bytes (a cc journal has none)")


def _where(fh, path, offset: int) -> str:
    """FILE:LINE of the line starting at byte `offset`: its newlines counted, on error only."""
    fh.seek(0)
    lines, left = 1, offset
    while left > 0:
        block = fh.read(min(_BLOCK * 16, left))
        if not block:
            break
        lines += block.count(b"\n")
        left -= len(block)
    return f"{path}:{lines}"


def _message(raw: bytes, where: str | None, first: bool):
    """One line as a `<message>` Element, None for a blank line or the XML declaration;
    JournalError (prefixed with `where` when given) for anything else."""
    from defusedxml import DefusedXmlException
    from defusedxml import ElementTree as SafeET

    at = f"{where}: " if where else ""
    line = raw.strip()
    if first and line.startswith(b"\xef\xbb\xbf"):
        line = line[3:]
    if not line or _DECLARATION.fullmatch(line):
        return None
    _check_text(line, at)
    _check_dtd(line, at)
    try:
        elem = SafeET.fromstring(line, forbid_dtd=True, forbid_entities=True,
                                 forbid_external=True)
    except DefusedXmlException as exc:
        raise JournalError(f"{at}refused unsafe XML ({type(exc).__name__}); "
                           "entities are never expanded") from None
    except ET.ParseError as exc:
        raise JournalError(f"{at}{_parse_problem(exc)}") from None
    if elem.tag != "message":
        raise JournalError(f"{at}a <{printable(elem.tag)[:40]}> element, not a "
                           "journal <message>")
    if _too_deep(elem):
        raise JournalError(f"{at}refused elements nested deeper than {MAX_DEPTH}")
    return elem


def _check_text(line: bytes, at: str) -> None:
    if line.startswith(b"\x1f\x8b"):
        raise JournalError(f"{at}binary data, gzip-compressed (unpack it first: "
                           "`gunzip FILE`)")
    bad = _CONTROL.search(line)
    if bad:
        raise JournalError(f"{at}binary data (byte 0x{bad.group()[0]:02x} at column "
                           f"{bad.start() + 1}), not XML text")
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JournalError(f"{at}not UTF-8 text (byte 0x{line[exc.start]:02x} at column "
                           f"{exc.start + 1})") from None


def _check_dtd(line: bytes, at: str) -> None:
    upper = line.upper()
    if b"<!ENTITY" in upper:
        external = b" SYSTEM" in upper or b" PUBLIC" in upper
        raise JournalError(f"{at}refused {'an external' if external else 'an'} entity "
                           f"declaration (<!ENTITY>): entities are never "
                           f"{'fetched' if external else 'expanded'}, and a cc journal has "
                           "no DTD")
    if b"<!DOCTYPE" in upper:
        raise JournalError(f"{at}refused a DTD (<!DOCTYPE>): a cc journal has none, "
                           "and entities are never expanded")


def _parse_problem(exc: ET.ParseError) -> str:
    import pyexpat

    codes = pyexpat.errors.codes
    column = (exc.position[1] + 1) if getattr(exc, "position", None) else 0
    code = getattr(exc, "code", None)
    if code in (codes[pyexpat.errors.XML_ERROR_NO_ELEMENTS],
                codes[pyexpat.errors.XML_ERROR_UNCLOSED_TOKEN],
                codes[pyexpat.errors.XML_ERROR_PARTIAL_CHAR],
                codes[pyexpat.errors.XML_ERROR_UNCLOSED_CDATA_SECTION]):
        return f"truncated: the line ends at column {column} before its element is closed"
    if code == codes[pyexpat.errors.XML_ERROR_UNDEFINED_ENTITY]:
        return (f"refused an entity reference at column {column}: entities are never "
                "expanded")
    what = _POSITION.sub("", str(exc))
    return f"not well-formed XML ({what} at column {column})"


def _too_deep(elem: ET.Element) -> bool:
    stack = [(elem, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        stack.extend((child, depth + 1) for child in node)
    return False


def printable(text: str) -> str:
    """Untrusted text made safe for a terminal: no control characters, on one line."""
    if text.isprintable():      # the common case, at C speed
        return text
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" if ord(ch) < 256
                   else f"\\u{ord(ch):04x}" for ch in text)


def _value(elem: ET.Element):
    """A response's XML back into the JSON shape it was written from."""
    children = list(elem)
    if not children:
        return elem.text or ""
    if all(child.tag == "item" for child in children):
        return [_value(child) for child in children]
    found = {}
    for child in children:
        key = child.get("name", "") if child.tag == "field" else child.tag
        found[key] = _value(child)
    return found


def as_dict(elem: ET.Element) -> dict:
    """One journal message as plain values: its attributes, then params or the body."""
    found = {k: v for k, v in elem.attrib.items()}
    if "seq" in found and found["seq"].isdigit():
        found["seq"] = int(found["seq"])
    params = {child.get("name", ""): child.text or "" for child in elem if child.tag == "param"}
    if params or found.get("kind") in ("request", "event", "rejected"):
        found["params"] = params
    body = [child for child in elem if child.tag != "param"]
    if body:
        found["body"] = _value(elem) if not params else {c.tag: _value(c) for c in body}
    return found
