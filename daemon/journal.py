"""The XML journal of every message exchanged with the server (F10, PROTOCOL.md).

One `<message>` element per line, appended, rotated by size. Passwords are `***`.
Read back with defusedxml: a journal may come from another site, so it is untrusted.
"""

from __future__ import annotations

import json
import os
import re
import threading
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

SECRET_PARAMS = re.compile(r"pass", re.IGNORECASE)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
_XML_BAD = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
MAX_LINE = 1_000_000


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _text(value) -> str:
    return _XML_BAD.sub("\ufffd", str(value))


def _add_value(parent: ET.Element, key, value) -> None:
    name = str(key)
    if _NAME.match(name):
        child = ET.SubElement(parent, name)
    else:
        child = ET.SubElement(parent, "field", name=_text(name))
    _fill(child, value)


def _fill(elem: ET.Element, value) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _add_value(elem, k, v)
    elif isinstance(value, list):
        for item in value:
            _fill(ET.SubElement(elem, "item"), item)
    elif value is not None:
        elem.text = _text(value)


class Journal:
    def __init__(self, path: Path, max_bytes: int = 10_485_760, backups: int = 5,
                 enabled: bool = True):
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.backups = backups
        self.enabled = enabled
        self.seq = 0
        self._lock = threading.Lock()
        self._file = None
        if enabled:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "a", encoding="utf-8")

    def close(self) -> None:
        if self._file:
            self._file.close()
            self._file = None

    def _write(self, attrs: dict, fill=None) -> None:
        if not self._file:
            return
        with self._lock:
            self.seq += 1
            elem = ET.Element("message", {"seq": str(self.seq), "at": _now(),
                                          **{k: _text(v) for k, v in attrs.items()}})
            if fill:
                fill(elem)
            self._file.write(ET.tostring(elem, encoding="unicode") + "\n")
            self._file.flush()
            if self._file.tell() >= self.max_bytes:
                self._rotate()

    def _rotate(self) -> None:
        self._file.close()
        for n in range(self.backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{n}")
            if older.exists():
                os.replace(older, self.path.with_name(f"{self.path.name}.{n + 1}"))
        if self.backups > 0:
            os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        else:
            self.path.unlink()
        self._file = open(self.path, "a", encoding="utf-8")

    @staticmethod
    def _params(params: dict):
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
            except ValueError:
                ET.SubElement(elem, "raw").text = _text(text[:4096])
                return
            _fill(elem, doc if isinstance(doc, dict) else {"raw": doc})
        self._write({"dir": "received", "kind": "response", "path": path,
                     "status": status, "ms": f"{ms:.0f}"}, fill)

    def failed(self, path: str, ms: float, what: str) -> None:
        self._write({"dir": "received", "kind": "failure", "path": path, "ms": f"{ms:.0f}",
                     "error": what})

    def event(self, path: str, params: dict) -> None:
        self._write({"dir": "received", "kind": "event", "path": path}, self._params(params))

    def rejected(self, path: str, params: dict, why: str) -> None:
        self._write({"dir": "received", "kind": "rejected", "path": path[:200], "why": why},
                    self._params(dict(list(params.items())[:20])))


class JournalError(Exception):
    pass


def read(path: Path):
    """Yield each journal line as an Element, refusing hostile XML instead of expanding it."""
    from defusedxml import ElementTree as SafeET
    from defusedxml import DefusedXmlException

    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            if len(raw) > MAX_LINE:
                raise JournalError(f"{path}:{lineno}: line longer than {MAX_LINE} bytes; "
                                   "not a cc journal")
            line = raw.strip()
            if not line:
                continue
            try:
                yield SafeET.fromstring(line)
            except DefusedXmlException as exc:
                raise JournalError(f"{path}:{lineno}: refused unsafe XML "
                                   f"({type(exc).__name__})") from None
            except ET.ParseError as exc:
                raise JournalError(f"{path}:{lineno}: not well-formed XML ({exc})") from None
