"""Replaying a journal: `cc emulator run --replay JOURNAL` plays the server of a recorded
session (docs/infinity.md, "The XML journal").

Requests are answered with the journal's recorded answers:
- a method that changes something (log-on, dial, hold, ...) must be the journal's next
  one, in order; recorded requests that never got an answer (a network drop) may be
  passed over, as a daemon may try again fewer times than the recorded one did;
- a method that only reads (getstate, getactivecalls, connectionsbycall) takes the first
  recorded read of the same path and parameters not yet used after where the session
  stands (the last change answered, or the last event pushed), and never one past the
  next recorded change: reads show the server as it was between the two. Once they are
  used up, the latest answer before that change serves again (a daemon that polls more
  often sees the same state again; one that polls less skips the reads it missed);
- parameters match when equal, or when they legitimately differ: passwords (`***` in
  the journal), the log-on's Login and HostHame (another agent's profile, another
  machine), times, and IDs the server gave (an ID the daemon sends in place of a recorded
  one always stands for it, both ways).
A request nothing answers gets HTTP 406 and one line on the emulator's output naming it
and the nearest recorded request. A recorded failure (no answer) closes the connection.

Events are paced by the request before them in the journal: an event is pushed once
that request has been answered, at its recorded time after it (emulated seconds: the
time scale shortens the wait, a manual clock waits for /_emulator/advance/), in the
journal's order. A ring after a log-on, a connect after a dial, therefore never comes
before the request it answered. Events due while nobody is subscribed wait for the
first subscriber.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote, urlencode

from .. import journal as journal_mod
from ..infinity.client import READS
from .params import normalize_path

# Parameters that differ from one agent's session to another's, never a sign of a change.
VOLATILE = {"Login", "HostHame"}
# Fields of an answer that are lists: an empty one is journalled as an empty element.
LIST_FIELDS = {"Data", "Connections", "IDCalls", "Calls", "Users"}
MAX_AUDIO = 64 * 1024 * 1024            # bytes of silence a recording's stand-in may have
_AUDIO = re.compile(r"^<(\d{1,12}) bytes of audio>$")
_EVENT_PATH = re.compile(r"^(/[A-Za-z][A-Za-z0-9_-]{0,63}){1,4}/$")   # pushed to a listener
MAX_WAIT = 86400.0                      # seconds an event may wait after its request
_ID = re.compile(r"^\d{4,20}$")
_TIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d|\d{5}[,.]\d+$)")   # ISO, or an OLE date


class ReplayError(ValueError):
    """The journal cannot be replayed (unreadable, or no request in it); one line."""


@dataclass
class Recorded:
    """A request in the journal and what came back."""

    index: int                   # its place among the journal's requests
    seq: str
    at: float                    # epoch seconds it was sent
    path: str
    params: dict
    status: int | None = None    # None: no answer (a failure, or the journal ends)
    body: bytes = b""
    content_type: str = "application/json"
    failure: str | None = None   # why no answer came, as the journal says
    audio: int = 0               # a recording's size: that many zero bytes, made when asked
    used: bool = False

    @property
    def read(self) -> bool:
        return self.path in READS

    @property
    def answered(self) -> bool:
        return self.status is not None

    def shown(self) -> str:
        return f"{self.path}?{query(self.params)} (recorded at {iso(self.at)}, seq {self.seq})"


@dataclass
class Event:
    anchor: int                  # index of the request before it in the journal, -1: none
    at: float
    path: str
    params: dict
    seq: str


@dataclass
class Outcome:
    """What to do with one request: answer it (status, body) or drop the connection."""

    recorded: Recorded | None
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    drop: bool = False
    refusal: str | None = None


def query(params: dict) -> str:
    """Parameters as a query string a person reads: `+` and `*` left as they are."""
    return urlencode(params, quote_via=lambda text, *_: quote(text, safe="+*/:@,;!'()$"))


def iso(at: float) -> str:
    if not math.isfinite(at):
        return "an unreadable time"
    return datetime.fromtimestamp(at, timezone.utc).isoformat(
        timespec="milliseconds").replace("+00:00", "Z")


def _at(text: str | None) -> float:
    try:
        return datetime.fromisoformat((text or "").replace("Z", "+00:00")).timestamp()
    except ValueError:
        return math.nan


def _value(elem, tag: str):
    """A journalled answer's element back into JSON: lists and objects as they were; a
    leaf is its text (numbers stay strings, as many servers write them anyway)."""
    children = list(elem)
    if not children:
        if elem.text:
            return elem.text
        return [] if tag in LIST_FIELDS else {} if tag == "result" else ""
    if all(child.tag == "item" for child in children):
        return [_value(child, "item") for child in children]
    found = {}
    for child in children:
        key = child.get("name", "") if child.tag == "field" else child.tag
        found[key] = _value(child, key)
    return found


def _body(elem) -> tuple[bytes, str]:
    """The answer's body as it came (for JSON: as it read) and its content type."""
    import json

    parts = [child for child in elem if child.tag != "param"]
    if len(parts) == 1 and parts[0].tag == "raw" and not list(parts[0]):
        text = parts[0].text or ""
        kind = "application/json" if text.lstrip()[:1] in ("{", "[") else "text/plain"
        return text.encode("utf-8"), kind
    if not parts:
        return b"", "text/plain"
    doc = {child.tag if child.tag != "field" else child.get("name", ""):
           _value(child, child.tag) for child in parts}
    if list(doc) == ["raw"] and not isinstance(doc["raw"], str):
        doc = doc["raw"]                  # a JSON answer that was not an object
    return json.dumps(doc, ensure_ascii=False).encode("utf-8"), "application/json"


def load(path: Path) -> tuple[list[Recorded], list[Event], int]:
    """The journal's requests (each with its answer) and events, in the journal's order,
    and how many events were left out (a path that is not an event's)."""
    requests: list[Recorded] = []
    events: list[Event] = []
    skipped = 0                                  # events whose path no listener has
    waiting: dict[str, list[Recorded]] = {}      # path -> requests not answered yet
    try:
        for elem in journal_mod.read(path):
            kind, attrs = elem.get("kind"), elem.attrib
            where = normalize_path(attrs.get("path") or "/")
            params = {p.get("name", ""): p.text or "" for p in elem if p.tag == "param"}
            if kind == "request":
                sent = Recorded(len(requests), attrs.get("seq", "?"), _at(attrs.get("at")),
                                where, params)
                requests.append(sent)
                waiting.setdefault(where, []).append(sent)
            elif kind in ("response", "failure") and waiting.get(where):
                sent = waiting[where].pop(0)
                if kind == "failure":
                    sent.failure = attrs.get("error") or "no answer"
                elif "truncated" in attrs:
                    sent.failure = "truncated"
                else:
                    status = attrs.get("status", "")
                    if not (status.isascii() and status.isdigit() and 200 <= int(status) <= 599):
                        sent.failure = f"status {status[:20]!r}"
                        continue
                    sent.status = int(status)
                    raw = elem.find("raw")
                    audio = _AUDIO.match(raw.text or "") if raw is not None else None
                    if audio:
                        sent.audio = min(int(audio.group(1)), MAX_AUDIO)
                        sent.content_type = "audio/wav"
                    else:
                        sent.body, sent.content_type = _body(elem)
            elif kind == "event" and not _EVENT_PATH.match(where):
                skipped += 1
            elif kind == "event":
                events.append(Event(len(requests) - 1, _at(attrs.get("at")), where, params,
                                    attrs.get("seq", "?")))
    except journal_mod.JournalError as exc:
        raise ReplayError(f"cannot replay {exc}") from None
    if not requests:
        raise ReplayError(f"{path}: no request to the server in it, nothing to replay "
                          "(is it a cc journal? `cc journal` shows it)")
    for sent in requests:            # a request whose answer the journal lacks
        if not sent.answered and sent.failure is None:
            sent.failure = "no answer in the journal"
    return requests, events, skipped


@dataclass
class Aliases:
    """IDs the daemon sends in place of recorded ones: each stands for one, both ways."""

    sent_for: dict = field(default_factory=dict)       # recorded -> sent
    recorded_for: dict = field(default_factory=dict)   # sent -> recorded

    def fits(self, recorded: str, sent: str) -> bool:
        return self.sent_for.get(recorded, sent) == sent and \
            self.recorded_for.get(sent, recorded) == recorded

    def take(self, recorded: str, sent: str) -> None:
        self.sent_for[recorded] = sent
        self.recorded_for[sent] = recorded


class Replay:
    """The journal's state of play: what was answered, what comes next, which events wait."""

    def __init__(self, path: Path):
        self.path = path
        self.requests, self.events, self.skipped = load(path)
        self.actions = [r for r in self.requests if not r.read]
        self.reads: dict[str, list[Recorded]] = {}
        for sent in self.requests:
            if sent.read:
                self.reads.setdefault(sent.path, []).append(sent)
        self.aliases = Aliases()
        self.cursor = -1             # the furthest request answered: events up to it go
        self.position = -1           # where the session stands: the last change answered,
                                     # or the request before the last event pushed
        self.next_action = 0         # into self.actions
        self.next_event = 0          # into self.events: the first not yet released
        self.answered = self.refused = 0
        self.failed: Recorded | None = None    # the read just answered with no answer

    # ----- matching ------------------------------------------------------------------

    def differences(self, recorded: Recorded, sent: dict) -> list[str]:
        """The parameters in which `sent` is not the recorded request; [] when it is."""
        differ = []
        for name in dict.fromkeys([*recorded.params, *sent]):
            was, now = recorded.params.get(name), sent.get(name)
            if was == now or name in VOLATILE:
                continue
            if was is not None and now is not None:
                if journal_mod.SECRET_PARAMS.search(name):
                    continue
                if name.startswith("ID") and _ID.match(was) and _ID.match(now) and \
                        self.aliases.fits(was, now):
                    continue
                if _TIME.match(was) and _TIME.match(now):
                    continue
            differ.append(name)
        return differ

    def _take(self, recorded: Recorded, sent: dict) -> None:
        for name, was in recorded.params.items():
            now = sent.get(name)
            if name.startswith("ID") and now is not None and now != was and _ID.match(was) \
                    and _ID.match(now):
                self.aliases.take(was, now)
        recorded.used = True
        self.cursor = max(self.cursor, recorded.index)

    def _bound(self) -> int:
        """Reads never come from past the next change the journal expects."""
        return (self.actions[self.next_action].index if self.next_action < len(self.actions)
                else len(self.requests))

    def answer(self, path: str, sent: dict) -> Outcome:
        path = normalize_path(path)
        failed, self.failed = self.failed, None
        if failed is not None and failed.path == path and not self.differences(failed, sent):
            # The client's own second try of a read on a connection found closed (aiohttp
            # sends a read again, once): the recorded daemon never saw that try either.
            return Outcome(failed, drop=True)
        found = self._read(path, sent) if path in READS else self._action(path, sent)
        if isinstance(found, str):
            self.refused += 1
            return Outcome(None, 406, refusal=found)
        self.answered += 1
        if not found.answered:
            self.failed = found if found.read else None
            return Outcome(found, drop=True)
        body = bytes(found.audio) if found.audio else found.body
        return Outcome(found, found.status, body, found.content_type)

    def _action(self, path: str, sent: dict) -> Recorded | str:
        passed = self.next_action
        while passed < len(self.actions):
            expected = self.actions[passed]
            if expected.path == path and not self.differences(expected, sent):
                for skipped in self.actions[self.next_action:passed]:
                    skipped.used = True
                self.next_action = passed + 1
                self.position = max(self.position, expected.index)
                self._take(expected, sent)
                return expected
            if expected.answered:     # only requests that got no answer may be passed
                break
            passed += 1
        return self._refusal(path, sent)

    def _read(self, path: str, sent: dict) -> Recorded | str:
        bound = self._bound()
        fits = [r for r in self.reads.get(path, ()) if not self.differences(r, sent)]
        fresh = [r for r in fits if not r.used and self.position < r.index < bound]
        if fresh:
            self._take(fresh[0], sent)
            return fresh[0]
        # Polled more often than the recorded daemon: the latest state before the next
        # change serves again (else the nearest answer recorded).
        answered = [r for r in fits if r.answered]
        before = [r for r in answered if r.index < bound]
        if before:
            return before[-1]
        if answered:
            return answered[0]
        return self._refusal(path, sent)

    def _refusal(self, path: str, sent: dict) -> str:
        shown = {k: ("***" if journal_mod.SECRET_PARAMS.search(k) else v)
                 for k, v in sent.items()}
        request = f"{path}?{query(shown)}"
        near, expected = self.nearest(path, sent)
        if near is None and path not in READS:
            return (f"not in the journal: {request}; every change the journal holds has been "
                    "replayed")
        if near is None:
            return f"not in the journal: {request}; the journal has no request to {path}"
        differ = self.differences(near, sent) if near.path == path else []
        why = (f": {', '.join(differ)} {'differs' if len(differ) == 1 else 'differ'}"
               if differ else "")
        what = "the change the journal expects next" if expected else "nearest recorded"
        return f"not in the journal: {request}; {what}: {near.shown()}{why}"

    def nearest(self, path: str, sent: dict) -> tuple[Recorded | None, bool]:
        """The recorded request most like `sent`, and whether it is the change the
        journal expects next: that change for a method that changes something (or when
        no request to `path` is left), else the request to `path` with the fewest
        differences, closest to where the replay stands."""
        expected = self.expecting()
        same = [r for r in self.requests if r.path == path]
        if expected is not None and (path not in READS or not same):
            return expected, True
        if not same:
            return None, False
        return min(same, key=lambda r: (len(self.differences(r, sent)),
                                        abs(r.index - self.cursor))), False

    # ----- events --------------------------------------------------------------------

    def released(self, reference: Recorded) -> list[tuple[float, Event]]:
        """The events the request just answered lets go, each with its wait in seconds:
        its recorded time after that request, never before an earlier one."""
        due, last = [], 0.0
        while self.next_event < len(self.events) and \
                self.events[self.next_event].anchor <= self.cursor:
            event = self.events[self.next_event]
            wait = event.at - reference.at
            last = max(last, min(wait, MAX_WAIT) if math.isfinite(wait) else 0.0)
            due.append((last, event))
            self.next_event += 1
        return due

    def pushed(self, event: Event) -> None:
        """An event has gone out: reads from now on show the server after it."""
        self.position = max(self.position, event.anchor)

    def expecting(self) -> Recorded | None:
        return self.actions[self.next_action] if self.next_action < len(self.actions) else None
