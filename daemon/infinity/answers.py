"""Parsing what an Infinity server answers, into plain Python values.

Real servers pretty-print with CR/LF/TAB and leave Windows paths' backslashes
unescaped; every known client strips the former and turns `\\` into `/`.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone

OLE_EPOCH = datetime(1899, 12, 30, tzinfo=timezone.utc)
MAX_ID = 20          # digits of an ID; real ones have about 10
NOT_FOUND = 406      # the server's answer for an object it does not know [client]
_STRIP = str.maketrans("", "", "\r\n\t")


class InfinityError(Exception):
    """The server refused a request (HTTP 406 and the like)."""

    def __init__(self, message: str, status: int | None = None, logon_result: int | None = None):
        super().__init__(message)
        self.status = status
        self.logon_result = logon_result

    @property
    def not_found(self) -> bool:
        """The server does not know the user, call or connection asked about."""
        return self.status == NOT_FOUND


class BadResponse(InfinityError):
    """The server answered something we cannot read; we say so and never guess."""


class Unreachable(InfinityError):
    """No answer at all: connection refused or dropped, or a timeout."""


class AnswerLost(Unreachable):
    """The request went out but no answer came back (none in time, the connection broke,
    an unreadable status line): it may have been carried out."""


def parse_body(text: str, path: str) -> dict:
    """The `result` object of an answer body."""
    cleaned = text.translate(_STRIP)
    try:
        doc = json.loads(cleaned)
    except (ValueError, RecursionError):
        try:
            doc = json.loads(cleaned.replace("\\", "/"))
        except (ValueError, RecursionError):
            snippet = cleaned[:60]
            raise BadResponse(f"the server's answer to {path} is not valid JSON: {snippet!r}") \
                from None
    if not isinstance(doc, dict) or not isinstance(doc.get("result"), dict):
        raise BadResponse(f"the server's answer to {path} has no \"result\" object")
    return doc["result"]


def need(result: dict, field: str, path: str):
    if field not in result:
        raise BadResponse(f"the server's answer to {path} lacks \"{field}\"")
    return result[field]


def as_int(value, field: str, path: str) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise BadResponse(f"the server's answer to {path}: {field} is not a number: {value!r}") \
            from None


MAX_DURATION = 7 * 86400.0     # seconds: no one call lasts a week
OLE_RANGE = (32874.0, 73051.0)  # 1990-01-01 to 2100-01-01 as OLE dates


def _number(value) -> float | None:
    """A day fraction or OLE date as the server writes it (comma decimal), or None."""
    text = str(value).strip().replace(",", ".")
    if not text or text == "null":
        return None
    number = float(text)                  # ValueError for what is not a number at all
    if not math.isfinite(number):
        raise ValueError(f"{text!r} is not a finite number")
    return number


def day_fraction_seconds(value) -> float:
    """`"0,0034722"` (a fraction of a day, comma decimal) -> 300.0 seconds; ValueError for
    a value that cannot be a call's duration (negative, a week or more, not finite)."""
    days = _number(value)
    if days is None:
        return 0.0
    seconds = days * 86400.0
    if not 0.0 <= seconds < MAX_DURATION:
        raise ValueError(f"{value!r} is not a duration")
    return seconds


def ole_datetime(value) -> datetime | None:
    """An OLE automation date (days since 1899-12-30, comma decimal) as UTC; ValueError
    for one outside 1990-2100."""
    days = _number(value)
    if days is None:
        return None
    if not OLE_RANGE[0] <= days < OLE_RANGE[1]:
        raise ValueError(f"{value!r} is not a date this century")
    return OLE_EPOCH + timedelta(days=days)


def clean_id(value, field: str) -> str:
    """A call or connection ID: digits only (ValueError names the field otherwise)."""
    text = str(value).strip()
    if not text.isdigit() or len(text) > MAX_ID:
        raise ValueError(f"{field} is not an ID: {text[:40]!r}")
    return text
