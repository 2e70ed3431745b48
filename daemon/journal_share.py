"""A copy of the journal fit to attach to a bug report (`cc journal share`).

Every value that could lead back to a caller, an agent or a call is replaced by a
stand-in, the same original by the same stand-in through the whole copy, so the session
still reads as it happened: a number keeps its length, its `+`, its separators and its
country code or trunk prefix; an id keeps its form (digits stay digits, a UUID stays a
UUID); logins, names, e-mails, host names and free text become `login1`, `name1`,
`mail1@example.invalid`, `host1`, `text1`; passwords, tokens and secrets are `***`.

Each line is parsed (the journal's own reader: defusedxml, no DTD, no entity) and
rebuilt from its elements; a line that does not parse is dropped and counted, never
copied. A value is judged by its field's name where the name is known, and by its shape
where it is not: whatever looks like a number, an id or an e-mail is replaced, free text
is replaced whole. Text that must keep its structure to be useful (an error message, a
recording's path, an unparsable answer) keeps its words, with every number, id, e-mail
and every login or name found anywhere in the journal replaced inside it (a name also
declined, a login also glued to digits, an extension's short number too), percent-encoded
and base64 text scrubbed as the text it stands for, and the value of a `Key=value` or a
`"Key": "value"` whose key names a secret, a login or a name masked or replaced.

The stand-ins come from random tables made for one share and never stored: two shares of
the same journal have different stand-ins, and nothing in a copy leads back.

The field names are the Infinity protocol's (daemon/infinity/FIELDS, the emulator's
events): a reader of the wire's record has to know them, like the fault proxy.
"""

from __future__ import annotations

import collections
import contextlib
import os
import re
import secrets
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from . import journal
from .privacy import HIDDEN

KINDS = ("number", "id", "login", "name", "email", "host", "text", "digits", "password")
MASK = "***"

# Known fields (lower-cased) and what their values are. `keep`: states, directions,
# times, durations, counts: kept when they have such a shape, scrubbed otherwise.
# `scrub`: text kept for its structure with what identifies replaced inside it.
FIELDS = {
    "login": "login", "password": "password", "hosthame": "host", "hostname": "host",
    "iduser": "id", "idcall": "id", "idseance": "id", "idconnection": "id", "id": "id",
    "biduser": "id", "transferfor": "id", "connections": "id", "idcalls": "id",
    "number": "number", "anumber": "number", "bnumber": "number",
    "abonentnumber": "number", "dialnumber": "number", "extension": "number",
    "transferfrom": "number", "transferto": "number", "peer": "number",
    "digits": "digits", "tag": "text",
    "iduserstate": "keep", "idrole": "keep", "logonresult": "keep", "state": "keep",
    "oldstate": "keep", "callstate": "keep", "direction": "keep",
    "connectiondirection": "keep", "reason": "keep", "mode": "keep", "allinfo": "keep",
    "codec": "keep", "providername": "keep", "timestart": "keep", "timestartdate": "keep",
    "timestarttime": "keep", "durationfull": "keep", "durationwait": "keep",
    "durationtalk": "keep", "durationhold": "keep", "durationconference": "keep",
    "aabonenttype": "keep", "babonenttype": "keep", "group": "keep", "count": "keep",
    "errormessage": "scrub", "awavfile": "scrub", "bwavfile": "scrub", "raw": "scrub",
    "result": "container", "data": "container",
}
# An unknown field's kind from the words of its name (IDUser: id, user; caller_name:
# caller, name), the first rule that matches.
_WORD_RULES = (
    ("password", {"password", "passwd", "pass", "pwd", "pin", "token", "secret", "secrets",
                  "credential", "credentials", "cookie", "apikey", "key", "auth",
                  "authorization", "signature", "otp", "hash", "salt"}),
    ("email", {"email", "mail", "emails"}),
    ("login", {"login", "logon", "username", "account", "uid", "nickname"}),
    ("host", {"host", "hostname", "computer", "machine", "workstation", "ip", "mac"}),
    ("name", {"name", "names", "fio", "agent", "operator", "contact", "person", "client",
              "customer", "surname", "firstname", "lastname", "fullname", "display",
              "nick", "patronymic", "author", "owner"}),
    ("id", {"id", "ids", "uuid", "guid", "seance", "session", "connection", "ticket",
            "deal", "order", "lead", "crm"}),
    ("number", {"number", "numbers", "phone", "phones", "tel", "msisdn", "extension",
                "ext", "ani", "dnis", "cli", "caller", "callee", "from", "to", "abonent",
                "subscriber", "dial", "destination", "target", "mobile", "fax"}),
    ("text", {"note", "notes", "comment", "comments", "text", "description", "descr",
              "subject", "message", "msg", "address", "city", "street", "tag", "tags",
              "memo", "remark", "body", "content", "title", "info", "label"}),
    ("scrub", {"file", "path", "wav", "url", "uri", "link", "record", "recording",
               "error", "why"}),
    ("keep", {"state", "status", "type", "direction", "result", "code", "count",
              "duration", "time", "date", "seconds", "mode", "role", "codec", "version",
              "level", "priority", "kind", "reason", "size", "ms"}),
)
_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
# The message's own attributes: kept as they are when they have their shape.
_ATTRS = {"seq": r"[0-9]{1,20}", "status": r"[0-9]{1,3}", "ms": r"[0-9]{1,12}",
          "count": r"[0-9]{1,12}", "truncated": r"[0-9]{1,12}",
          "dir": r"sent|received", "kind": r"[a-z]{1,20}",
          "at": r"[0-9]{4}-[0-9]{2}-[0-9]{2}[0-9T:.+\-Z ]{0,30}"}
# Values a number field carries when there is no number.
_NO_NUMBER = {"", "anonymous", "unknown", "private", "restricted", "unavailable", "null",
              "none", "0"}
_MASKED = set("+0123456789 ()-" + HIDDEN)
_PLAIN = {"", "null", "true", "false", "none", "nan", MASK}

_DATE = (r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
         r"(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?)?"
         r"|[0-9]{1,2}[./][0-9]{1,2}[./][0-9]{4}(?: [0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?)?"
         r"|[0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?")
# A decimal: with a point, any fraction (an OLE date: 46021.5633912037); with a comma,
# at most 6 digits after it (101,79991234567 is a list, not a decimal). A field known
# to hold a time or a count keeps a comma's long fraction too (a site's locale).
_QUANTITY = re.compile(rf"[+-]?[0-9]{{1,4}}|[+-]?[0-9]{{1,6}}(?:\.[0-9]+|,[0-9]{{1,6}})"
                       rf"|{_DATE}")
_KEPT_QUANTITY = re.compile(rf"[+-]?[0-9]{{1,4}}|[+-]?[0-9]{{1,6}}[.,][0-9]+|{_DATE}")
_PHONE = r"\+?[0-9](?:[ ().\-]{0,2}[0-9]){4,}"
_PHONE_WHOLE = re.compile(rf"\s*\(?{_PHONE}\s*")
_EMAIL = r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+"
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_IDLIKE = re.compile(r"[\w\-.:{}]{4,128}")
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IP = rf"{_OCTET}(?:\.{_OCTET}){{3}}(?::[0-9]{{1,5}})?"
# What stays inside kept text: dates, times, IP addresses, decimals, short numbers.
_EMBEDDED = (rf"(?P<keep>(?<![0-9.]){_IP}(?![0-9.])|(?<![0-9])(?:{_DATE})(?![0-9])"
             r"|(?<![0-9])(?<![0-9][.,])[0-9]{1,6}(?:\.[0-9]+|,[0-9]{1,6})"
             r"(?![0-9]|[.,][0-9]))"
             rf"|(?P<email>(?<![\w.+\-]){_EMAIL})|(?P<uuid>(?<![\w-]){_UUID}(?![\w-]))"
             rf"|(?P<phone>(?<![0-9+]){_PHONE}(?![0-9]))"
             r"|(?P<digits>(?<![0-9])[0-9]{5,}(?![0-9]))")
_EMBEDDED_RE = re.compile(_EMBEDDED)
# Inside an unparsable answer: "Key": "value", "Key": 123, <Key>value</Key>,
# <param name="Key">value</param>, each value judged by its key.
_PAIRS = (r'"(?P<jkey>[^"\\]{1,64})"\s*:\s*(?:"(?P<jstr>(?:[^"\\]|\\.)*)"'
          r'|(?P<jnum>-?[0-9][0-9.eE+\-]*))'
          r'|<param name="(?P<pkey>[^"<>]{1,64})">(?P<pval>[^<]*)<'
          r'|<(?P<xkey>[A-Za-z_][\w.\-]{0,63})>(?P<xval>[^<]*)</(?P=xkey)>')
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]{0,39}")
_ASCII = re.compile(r"[ -~]{0,200}")
_SEGMENT = re.compile(r"[A-Za-z_][A-Za-z_.\-]{0,39}")       # a word of a path: kept
_SHOWN_PROBLEMS = 5
# A percent-encoded run (with its plain characters between), a base64 blob.
_ENCODED_RE = re.compile(r"(?P<percent>[\w.\-~+]{0,32}%[0-9A-Fa-f]{2}"
                         r"(?:[\w.\-~+]*%[0-9A-Fa-f]{2})*[\w.\-~+]*)"
                         r"|(?P<base64>(?<![\w+/=\-])[\w+/\-]{16,}={0,2}(?![\w+/=\-]))",
                         re.ASCII)
# Key=value (a query string), "Key": "value" (JSON) inside kept text.
_PAIR_RE = re.compile(r"(?<![\w.\-])(?P<key>[A-Za-z_][\w.\-]{0,40})=(?P<value>[^&\s\"'<>,;=]+)"
                      r'|"(?P<jkey>[A-Za-z_][\w.\- ]{0,40})"\s*:\s*"(?P<jvalue>(?:[^"\\]|\\.)*)"',
                      re.ASCII)
_BY_KEY = {"password", "login", "name", "email", "host"}
_TOKEN_RE = re.compile(r"[\w.@+\-]+")
_RUN_RE = re.compile(r"[^\W\d_]+")
_ENDINGS = set("аеёиоуыэюяйьaeiouy")


@dataclass
class Report:
    """What a share wrote and what it replaced."""

    dest: str
    files: list[str] = field(default_factory=list)
    messages: int = 0
    dropped: int = 0
    problems: list[str] = field(default_factory=list)     # the first few dropped lines
    replaced: collections.Counter = field(default_factory=collections.Counter)
    distinct: collections.Counter = field(default_factory=collections.Counter)

    def as_dict(self) -> dict:
        return {"file": self.dest, "journals": self.files, "messages": self.messages,
                "dropped": self.dropped, "problems": self.problems,
                "replaced": {k: self.replaced[k] for k in KINDS},
                "distinct": {k: self.distinct[k] for k in KINDS}}

    def summary(self) -> str:
        where = "stdout" if self.dest == "-" else self.dest
        kinds = ", ".join(f"{_counted(self.replaced[k], k)} ({self.distinct[k]} distinct)"
                          for k in KINDS if self.replaced[k])
        line = (f"wrote {self.messages} messages from {len(self.files)} journal file"
                f"{'' if len(self.files) == 1 else 's'} to {where}; replaced "
                f"{kinds or 'nothing'}")
        if self.dropped:
            line += (f"; dropped {self.dropped} unreadable line"
                     f"{'' if self.dropped == 1 else 's'} (first: {self.problems[0]})")
        return line


_NAMED = {"number": ("number", "numbers"), "id": ("id", "ids"), "login": ("login", "logins"),
          "name": ("name", "names"), "email": ("e-mail", "e-mails"),
          "host": ("host name", "host names"), "text": ("free text", "free texts"),
          "digits": ("DTMF digit string", "DTMF digit strings"),
          "password": ("unmasked password", "unmasked passwords")}


def _counted(count: int, kind: str) -> str:
    return f"{count} {_NAMED[kind][count != 1]}"


class ShareError(Exception):
    """A share refused: one line naming the problem and the way out."""


def sources(path: Path) -> list[Path]:
    """The journal and its rotated files, oldest first: FILE.N ... FILE.1, FILE."""
    path = Path(path)
    rotated = []
    try:
        for other in path.parent.iterdir():
            suffix = other.name[len(path.name) + 1:]
            if other.name.startswith(path.name + ".") and suffix.isdigit() \
                    and other.is_file():
                rotated.append((int(suffix), other))
    except OSError:
        pass
    found = [p for _, p in sorted(rotated, reverse=True)]
    if path.exists() or not found:
        found.append(path)
    return found


def share(source_path, dest_path, force: bool = False) -> Report:
    """Write a shareable copy of the journal at `source_path` (with its rotated files,
    oldest first) to `dest_path` ("-": stdout), created 0600; an existing file is
    replaced only with `force`. Raises ShareError or journal.JournalError."""
    files = sources(Path(source_path))
    for path in files:
        if path.exists() and not path.is_file():
            raise ShareError(f"{path} is not a journal file (a folder, a pipe or a device); "
                             "name the journal file itself")
    dest = str(dest_path)
    if dest != "-":
        _check_dest(Path(dest), files, force)
    with contextlib.ExitStack() as stack:
        # Each file opened once: the second pass reads the very bytes the first read,
        # whatever the running daemon appends or rotates meanwhile.
        handles = [(path, stack.enter_context(journal._open(path))) for path in files]
        return _share(handles, dest, force)


def _share(handles: list, dest: str, force: bool) -> Report:
    scrubber = Scrubber()
    ends = []
    for path, fh in handles:               # first pass: what to look for everywhere
        for _, elem, _ in _lines(path, fh):
            if elem is not None:
                scrubber.collect(elem)
        ends.append(fh.tell())
    scrubber.ready()
    report = Report(dest=dest, files=[str(p) for p, _ in handles])

    def write(out) -> None:
        for (path, fh), end in zip(handles, ends):
            fh.seek(0)
            for lineno, elem, problem in _lines(path, fh, end):
                if elem is None:
                    report.dropped += 1
                    if len(report.problems) < _SHOWN_PROBLEMS:
                        report.problems.append(f"{path}:{lineno}: {problem}")
                    continue
                scrubber.message(elem)
                out.write(journal._one_line(ET.tostring(elem, encoding="unicode")) + "\n")
                report.messages += 1

    if dest == "-":
        write(sys.stdout)
        sys.stdout.flush()
    else:
        _write_file(Path(dest), force, write)
    report.replaced = scrubber.replaced
    report.distinct = collections.Counter({k: len(v) for k, v in scrubber.seen.items()})
    return report


def _check_dest(dest: Path, files: list[Path], force: bool) -> None:
    for source in files:
        try:
            if dest.exists() and os.path.samefile(dest, source):
                raise ShareError(f"{dest} is the journal itself: name another file for "
                                 "the shared copy")
        except OSError:
            pass
    if dest.is_dir():
        raise ShareError(f"{dest} is a folder: name a file for the shared copy, e.g. "
                         f"{dest / 'journal-shared.xml'}")
    if not dest.parent.is_dir():
        raise ShareError(f"{dest.parent}: no such folder: create it or name a file in "
                         "an existing one")
    if (dest.exists() or dest.is_symlink()) and not force:
        raise ShareError(f"{dest} exists: name a new file, or add --force to replace it")


def _write_file(dest: Path, force: bool, write) -> None:
    """Into a 0600 file of its own in dest's folder, then moved into place: an existing
    file (with force) is replaced whole or not at all, and no other file is followed."""
    try:
        fd, temp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    except OSError as exc:
        raise ShareError(f"cannot write in {dest.parent}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            os.fchmod(out.fileno(), 0o600)
            write(out)
            out.flush()
            os.fsync(out.fileno())
        if force:
            os.replace(temp, dest)
        else:
            os.link(temp, dest)             # fails if a file appeared there meanwhile
            os.unlink(temp)
    except FileExistsError:
        os.unlink(temp)
        raise ShareError(f"{dest} exists: name a new file, or add --force to replace "
                         "it") from None
    except OSError as exc:
        os.unlink(temp)
        raise ShareError(f"cannot write {dest}: {exc.strerror or exc}") from None
    except BaseException:
        os.unlink(temp)
        raise


def _lines(path: Path, fh, end: int | None = None):
    """(line number, `<message>` Element or None, the problem) for each line of a journal
    open at `fh` (up to the byte `end` when given); a line the reader refuses comes with
    its problem and no Element."""
    def readline(most: int) -> bytes:
        return fh.readline(most if end is None else max(0, min(most, end - fh.tell())))

    lineno = 0
    while True:
        try:
            raw = readline(journal.MAX_LINE + 1)
        except OSError as exc:     # a directory, a device, a vanished mount
            raise journal.JournalError(f"{path}: cannot read it: "
                                       f"{exc.strerror or exc}") from None
        if not raw:
            return
        lineno += 1
        if len(raw) > journal.MAX_LINE:
            while raw and not raw.endswith(b"\n"):      # the rest of that line
                raw = readline(1 << 20)
            yield lineno, None, f"longer than {journal.MAX_LINE:,} bytes"
            continue
        try:
            elem = journal._message(raw, None, lineno == 1)
        except journal.JournalError as exc:
            yield lineno, None, str(exc)
            continue
        except (ValueError, RecursionError) as exc:
            yield lineno, None, f"unreadable ({type(exc).__name__})"
            continue
        if elem is not None:
            yield lineno, elem, None


def kind_of(name: str) -> str:
    """What a field's values are, by its name: a known field's kind, else by its words."""
    known = FIELDS.get(name.lower())
    if known:
        return known
    words = {w.lower() for w in _WORDS.findall(name)}
    joined = "".join(w.lower() for w in _WORDS.findall(name))
    for kind, names in _WORD_RULES:
        if words & names or joined in names:
            return kind
    if re.search(r"pass|secret|token", name, re.IGNORECASE):
        return "password"
    return "unknown"


class Scrubber:
    """The stand-in tables of one share. `collect` every message first (what to look for
    in free text, which digit strings are taken), then `ready`, then `message` each."""

    def __init__(self):
        self._random = secrets.SystemRandom()
        self._digits: dict[str, str] = {}          # original digits -> stand-in digits
        self._forms: dict[str, str] = {}           # original id -> stand-in of its form
        self._words: dict[tuple[str, str], str] = {}   # (kind, casefolded) -> stand-in
        self._numbered = collections.Counter()     # kind -> stand-ins issued
        self._taken: set[str] = set()              # originals: no stand-in may equal one
        self._issued: set[str] = set()
        self._known: dict[str, str] = {}           # casefolded original -> kind
        self._collecting = True
        self._found = None
        self._stems: dict[str, str] = {}           # a known word less its ending -> it
        self._short: set[str] = set()              # an extension's 3 or 4 digits
        self._embedded_re = _EMBEDDED_RE
        self._kinds: dict[str, str] = {}
        self.replaced = collections.Counter()      # kind -> values replaced
        self.seen: dict[str, set] = collections.defaultdict(set)   # kind -> originals

    # -- the two passes

    def collect(self, elem: ET.Element) -> None:
        self._walk_message(elem)

    def ready(self) -> None:
        """Every login, name, e-mail, host and text found is looked for in free text."""
        self._collecting = False
        words = sorted((w for w in self._known if len(w) >= 3), key=len, reverse=True)
        # Found declined (Ивана, Петрова, Ивановой) or glued to digits (ivanova1): the
        # word less a last vowel, then up to 3 letters, between non-letters.
        for word in words:
            stem = word[:-1] if len(word) >= 5 and word[-1] in _ENDINGS else word
            self._stems.setdefault(stem, word)
        # Looked up word by word, not by one pattern of every word: a journal of many
        # callers is scrubbed in a time that grows with its size, not its square.
        self._found = bool(words)
        if self._short:       # an extension's number in kept text: as in its field
            self._embedded_re = re.compile(_EMBEDDED + "|(?P<short>(?<![0-9])(?:" + "|".join(
                sorted(self._short, key=len, reverse=True)) + ")(?![0-9]))")

    def message(self, elem: ET.Element) -> ET.Element:
        """The message rebuilt in place with its stand-ins."""
        if self._collecting:
            self.ready()
        self._walk_message(elem)
        return elem

    # -- the walk

    def _walk_message(self, msg: ET.Element) -> None:
        for name, value in list(msg.attrib.items()):
            shape = _ATTRS.get(name)
            if shape and re.fullmatch(shape, value):
                continue
            if name == "path":
                msg.set(name, self._path(value, "token" in msg.get("why", "")))
            elif name in ("error", "why") or shape:
                msg.set(name, self._scrub(value))
            else:
                self._attribute(msg, name, value)
        msg.text = None                  # a journal line has elements only, no loose text
        for child in msg:
            child.tail = None
            if child.tag == "param":
                name = child.get("name", "")
                for attr, value in list(child.attrib.items()):
                    if attr != "name":
                        self._attribute(child, attr, value)
                child.set("name", self._key(name))
                if len(child):
                    child.text = None
                    for inner in child:
                        self._walk_body(inner, name)
                else:
                    child.text = self._field(name, child.text)
            elif child.tag == "raw":
                child.text = self._raw(child.text)
            else:
                self._walk_body(child, None)

    def _walk_body(self, elem: ET.Element, context: str | None) -> None:
        elem.tail = None
        name = elem.get("name", "") if elem.tag == "field" else elem.tag
        here = context if elem.tag == "item" else name
        if elem.tag == "field":
            elem.set("name", self._key(name))
        elif elem.tag != "item":
            renamed = self._key(name)
            if renamed != name:
                if _NAME.match(renamed):
                    elem.tag = renamed
                else:
                    elem.tag = "field"
                    elem.set("name", renamed)
        for attr, value in list(elem.attrib.items()):
            if not (attr == "name" and elem.tag == "field"):
                self._attribute(elem, attr, value)
        if len(elem):
            elem.text = None
            for child in elem:
                self._walk_body(child, here)
        else:
            elem.text = self._field(here or "", elem.text)

    def _attribute(self, elem: ET.Element, name: str, value: str) -> None:
        """An attribute of a foreign journal: its value judged by its name, and the name
        itself scrubbed (a caller's name or number used as one, a namespace's URI)."""
        local = name.rsplit("}", 1)[-1]
        renamed = self._key(local)
        if not _NAME.match(renamed or ""):
            renamed = self._word("text", local)
        if renamed != name:
            del elem.attrib[name]
            if renamed in elem.attrib:      # two names with one stand-in: the first kept
                return
        elem.set(renamed, self._field(local, value))

    def _path(self, path: str, wrong_token: bool) -> str:
        """A request's path: its words kept, any other segment (an id, a number) replaced
        by one of its form; a path refused for its events token has that segment masked."""
        segments = path.split("/")
        for n, segment in enumerate(segments):
            if wrong_token and n == 1 and segment:
                if segment != MASK:
                    self._count("password", segment)
                segments[n] = MASK
            elif segment.casefold() in self._known and not self._collecting:
                segments[n] = self._word(self._known[segment.casefold()], segment)
            elif segment and not _SEGMENT.fullmatch(segment):
                segments[n] = self._scrub(segment) if "?" in segment or "=" in segment \
                    else self._form("id", segment)
        return "/".join(segments)

    def _key(self, name: str) -> str:
        """A field's name from the server, scrubbed as text (a number used as a key)."""
        return self._scrub(name) if name else name

    # -- values

    def _field(self, name: str, value: str | None) -> str | None:
        if value is None:
            return None
        kind = self._kinds.get(name)
        if kind is None:
            kind = self._kinds[name] = kind_of(name)
        if kind == "password":
            if value == MASK or not value:
                return value
            self._count("password", value)
            return MASK
        if kind == "keep":
            if _KEPT_QUANTITY.fullmatch(value.strip()):
                return value
            # A protocol's state or reason is plain ASCII; another field's, one word.
            plain = _TOKEN if name.lower() not in FIELDS else _ASCII
            return self._scrub(value) if plain.fullmatch(value) else self._unknown(value)
        if kind in ("number", "id"):
            return self._identifier(kind, value)
        if kind == "digits":
            return self._number("digits", value) if re.fullmatch(r"[0-9*#]*[0-9][0-9*#]*",
                                                                value) else self._unknown(value)
        if kind in ("login", "name", "email", "host", "text"):
            return self._word(kind, value)
        if kind in ("scrub", "container"):
            return self._scrub(value)
        return self._unknown(value)

    def _identifier(self, kind: str, value: str) -> str:
        """A number's or an id's value: digits keep their shape, an id its form."""
        bare = value.strip()
        if bare.lower() in _NO_NUMBER or set(bare) <= {"0"}:
            return value
        if HIDDEN in bare and set(bare) <= _MASKED:
            return value      # masked already (privacy.mask_numbers): its code and 2 digits
        if _PHONE_WHOLE.fullmatch(value) or bare.isdigit():
            return self._number(kind, value)
        if re.fullmatch(_UUID, bare) or (_IDLIKE.fullmatch(bare) and any(
                c.isdigit() for c in bare)):
            return self._form("id", value)
        return self._unknown(value)

    def _unknown(self, value: str) -> str:
        """A value judged by its shape alone."""
        bare = value.strip()
        if bare.lower() in _PLAIN or _QUANTITY.fullmatch(bare) or re.fullmatch(_IP, bare):
            return value
        if _PHONE_WHOLE.fullmatch(value):
            return self._number("number" if not bare.isdigit() else "id", value)
        if re.fullmatch(_EMAIL, bare):
            return self._word("email", value)
        if re.fullmatch(_UUID, bare) or (_IDLIKE.fullmatch(bare) and any(
                c.isdigit() for c in bare)):
            return self._form("id", value)
        return self._word("text", value)

    def _scrub(self, text: str) -> str:
        """Text kept for its structure: every number, id, e-mail, login and name in it
        replaced where it stands."""
        if not text:
            return text
        if self._collecting:
            for match in _EMBEDDED_RE.finditer(text):
                if match.lastgroup in ("phone", "digits"):
                    self._taken.add(re.sub(r"[^0-9]", "", match.group()))
            return text
        pieces, last = [], 0
        for match in _ENCODED_RE.finditer(text):
            pieces += [self._plain(text[last:match.start()]), self._encoded(match)]
            last = match.end()
        return "".join(pieces) + self._plain(text[last:])

    def _plain(self, text: str) -> str:
        """Kept text: the value of a `Key=value` or `"Key": "value"` whose key names a
        secret, a login, a name, an e-mail or a host judged by its key (a server that
        echoes a request in its error message), the rest by what it holds."""
        pieces, last = [], 0
        for match in _PAIR_RE.finditer(text):
            key = match.group("key") or match.group("jkey")
            value = "value" if match.group("key") else "jvalue"
            if kind_of(key) not in _BY_KEY:
                continue
            start, end = match.span(value)
            pieces += [self._rest(text[last:start]), self._field(key, text[start:end])]
            last = end
        return "".join(pieces) + self._rest(text[last:])

    def _rest(self, text: str) -> str:
        out = self._embedded_re.sub(self._embedded, text)
        return _TOKEN_RE.sub(self._known_token, out) if self._found else out

    def _encoded(self, match: re.Match) -> str:
        """Percent-encoded text (a URL's query) or a base64 blob: scrubbed as the text it
        stands for, then encoded again; a blob that is not text is kept."""
        import base64
        from urllib.parse import quote, unquote

        found = match.group()
        try:
            if match.lastgroup == "percent":
                return quote(self._plain(unquote(found, errors="strict")), safe="/:@")
            safe = b"-_" if "-" in found or "_" in found else None     # URL-safe
            decoded = base64.b64decode(found + "=" * (-len(found) % 4), altchars=safe,
                                       validate=True).decode("utf-8")
        except ValueError:              # not UTF-8, not base64: plain text after all
            return self._plain(found)
        scrubbed = self._plain(decoded)
        if not decoded.isprintable() or scrubbed == decoded:
            return self._plain(found)
        encoded = base64.b64encode(scrubbed.encode(), altchars=safe).decode()
        return encoded if found.endswith("=") else encoded.rstrip("=")

    def _embedded(self, match: re.Match) -> str:
        kind, found = match.lastgroup, match.group()
        if kind == "keep":
            return found
        if kind == "email":
            return self._word("email", found)
        if kind == "uuid":
            return self._form("id", found)
        return self._number("number" if kind == "short" or (
            kind == "phone" and not found.isdigit()) else "id", found)

    def _known_token(self, match: re.Match) -> str:
        token = match.group()
        kind = self._known.get(token.casefold())
        if kind and len(token) >= 3:
            return self._word(kind, token)
        return _RUN_RE.sub(self._known_run, token)

    def _known_run(self, match: re.Match) -> str:
        """A run of letters: a known word, or one declined (the stand-in of the word)."""
        found = match.group()
        key = found.casefold()
        if len(key) >= 3 and key in self._known:
            return self._word(self._known[key], found)
        for cut in range(0, 4):
            stem = key[:len(key) - cut]
            if len(stem) >= 3 and stem in self._stems:
                word = self._stems[stem]
                return self._word(self._known[word], word)
        return found

    def _raw(self, text: str | None) -> str | None:
        """An answer that was not JSON, or a line cut for its size: each "Key": value
        pair judged by its key, then the rest as text."""
        if not text:
            return text
        pieces, last = [], 0
        for match in re.finditer(_PAIRS, text):
            key_group = next(g for g in ("jkey", "pkey", "xkey") if match.group(g))
            value_group = {"jkey": "jstr" if match.group("jstr") is not None else "jnum",
                           "pkey": "pval", "xkey": "xval"}[key_group]
            start, end = match.span(value_group)
            pieces.append(self._scrub(text[last:start]))
            pieces.append(self._field(match.group(key_group), text[start:end]) or "")
            last = end
        pieces.append(self._scrub(text[last:]))
        return "".join(pieces)

    # -- stand-ins

    def _count(self, kind: str, original: str) -> None:
        if not self._collecting:
            self.replaced[kind] += 1
            self.seen[kind].add(original)

    def _number(self, kind: str, value: str) -> str:
        """Each digit replaced, the rest (+, spaces, dashes, brackets) kept; a number
        longer than 10 digits keeps its first 1 to 3 (the country code or trunk prefix)."""
        digits = re.sub(r"[^0-9]", "", value)
        if not digits:
            return self._word("text", value)
        if self._collecting:
            self._taken.add(digits)
            if kind in ("number", "digits", "id") and 3 <= len(digits) <= 4:
                self._short.add(digits)
            return value
        head = len(digits) - 10 if 1 <= len(digits) - 10 <= 3 else 0
        mapped = digits[:head] + self._digits_for(digits[head:])
        self._count(kind, digits)
        it = iter(mapped)
        return "".join(next(it) if c.isdigit() and c.isascii() else c for c in value)

    def _digits_for(self, digits: str) -> str:
        found = self._digits.get(digits)
        if found is not None:
            return found
        for attempt in range(1000):
            first = "0" if digits[0] == "0" else self._random.choice("123456789")
            made = first + "".join(self._random.choice("0123456789")
                                   for _ in range(len(digits) - 1))
            if made != digits and made not in self._issued and (
                    made not in self._taken or attempt > 100):
                break
        if made == digits:          # a space too small for a new one (one digit): not this
            made = "".join(str((int(c) + 1) % 10) for c in digits)
        self._digits[digits] = made
        self._issued.add(made)
        return made

    def _form(self, kind: str, value: str) -> str:
        """An id of the same form: digits for digits, letters for letters (hex for hex),
        the punctuation kept."""
        if self._collecting:
            self._taken.add(value)
            return value
        if not any(c.isalnum() for c in value):
            return value
        found = self._forms.get(value)
        if found is None:
            hexadecimal = re.fullmatch(r"[0-9a-fA-F\-{}]+", value) is not None
            for attempt in range(1000):
                found = "".join(self._same_form(c, hexadecimal) for c in value)
                if found != value and (attempt > 100 or (found not in self._issued
                                                         and found not in self._taken)):
                    break
            self._forms[value] = found
            self._issued.add(found)
        self._count(kind, value)
        return found

    def _same_form(self, c: str, hexadecimal: bool) -> str:
        if c.isdigit():
            return self._random.choice("0123456789")
        if hexadecimal and c in "abcdef":
            return self._random.choice("0123456789abcdef")
        if hexadecimal and c in "ABCDEF":
            return self._random.choice("0123456789ABCDEF")
        if c.isalpha():
            letters = "abcdefghijklmnopqrstuvwxyz"
            picked = self._random.choice(letters)
            return picked.upper() if c.isupper() else picked
        return c

    def _word(self, kind: str, value: str) -> str:
        """login1, name2, mail3@example.invalid, host1, text4: numbered as first seen."""
        bare = value.strip()
        if not bare or bare == MASK:
            return value
        key = bare.casefold()
        if self._collecting:
            if kind in ("login", "name", "email", "host"):
                self._known.setdefault(key, kind)
                for word in re.findall(r"[^\W\d_]{3,}", bare):
                    self._known.setdefault(word.casefold(), kind)
                for part in re.findall(r"[^@\s]{3,}(?=@)", bare):
                    self._known.setdefault(part.casefold(), kind)
            return value
        found = self._words.get((kind, key))
        if found is None:
            while True:
                self._numbered[kind] += 1
                n = self._numbered[kind]
                found = (f"mail{n}@example.invalid" if kind == "email"
                         else f"{kind}{n}")
                if found.casefold() not in self._known:
                    break
            self._words[(kind, key)] = found
        self._count(kind, bare)
        return found
