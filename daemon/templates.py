"""`--format TEMPLATE`: one line per item from a template such as
`'{start} {number} {talk}'`, shared by `cc log`, `cc calls`, `cc recent`, `cc who` and
`cc contacts`. A template is checked once on a sample item before any line is written,
so no item can fail half-way through. Besides each listing's own fields, every duration
`X_seconds` is also `{X}` as the tables show it (m:ss, h:mm:ss from an hour on),
`{start}` is `started_at` in local time, and a list (a contact's phones) is its items
joined by ", ", a state its name."""

from __future__ import annotations

import re
import string
from datetime import datetime

from .units import duration
from .wire import CALL_FIELDS, LOG_COLUMNS


class FormatError(ValueError):
    pass


def _derived(fields: tuple[str, ...]) -> tuple[str, ...]:
    """What templates add to a listing's fields: `start`, and `X` beside `X_seconds`."""
    extra = ("start",) if "started_at" in fields else ()
    return fields + extra + tuple(f[:-len("_seconds")] for f in fields
                                  if f.endswith("_seconds"))


# Each listing's fields, as templates name them.
FIELDS = {
    "log": _derived(LOG_COLUMNS),
    "calls": _derived(CALL_FIELDS),
    "recent": _derived(("number", "direction", "outcome", "started_at", "contact")),
    "who": ("name", "position", "department", "extension", "phones", "id_user", "state"),
    "contacts": ("id", "name", "account", "account_id", "phones", "dial"),
}
NUMBERS = ("id", "account_id", "id_user", "log_id")


class _Blank(str):
    """A value the item does not have: blank whatever the spec (`{talk_seconds:>6.1f}`
    keeps its width)."""

    def __format__(self, spec: str) -> str:
        try:
            return format("", spec)
        except ValueError:
            width = re.match(r"(?:.?[<>=^])?[-+ ]?z?#?0?(\d*)", spec)[1]
            return " " * int(width or 0)


BLANK = _Blank()


def _sample(listing: str) -> dict:
    return {name: 1 if name in NUMBERS else 1.0 if name.endswith("_seconds") else "x"
            for name in FIELDS[listing]}


def check(template: str, listing: str) -> None:
    """Refuse, in one line, a template that names a field `listing` lacks, nests a field
    in a spec, asks for a width over 999 or a spec that does not fit its field."""
    fields = FIELDS[listing]
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise FormatError(f"bad --format template: {exc}") from None
    if not any(field is not None for _, field, _, _ in parts):
        raise FormatError(f"--format '{template}' names no field: write one in braces, "
                          f"e.g. '{{{fields[0]}}}'")
    for _, field, spec, conversion in parts:
        if field is None:
            continue
        if field not in fields:
            raise FormatError(f"unknown field {{{field}}} in --format: use "
                              f"{', '.join('{' + f + '}' for f in fields)}")
        if "{" in (spec or ""):
            raise FormatError(f"--format: {{{field}:{spec}}} nests a field in the format "
                              "spec; write the width as a number, e.g. {number:>15}")
        if any(int(digits) > 999 for digits in re.findall(r"\d+", spec or "")):
            raise FormatError(f"--format: {{{field}:{spec}}} asks for a width or precision "
                              "over 999")
        if conversion not in (None, "r", "s", "a"):
            raise FormatError(f"--format: {{{field}!{conversion}}}: a conversion is !r, !s "
                              "or !a")
    try:
        template.format(**_sample(listing))
    except (ValueError, TypeError) as exc:
        raise FormatError(f"bad --format template: {exc}") from None


def local_time(iso: str | None) -> str:
    if not iso:
        return ""
    return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _shown(value):
    if value is None or value == "":
        return BLANK
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value)) or BLANK
    if isinstance(value, dict):
        return value.get("name") or BLANK
    return value


def line(template: str, item: dict) -> str:
    """`item` through a template `check` passed."""
    values = {key: _shown(value) for key, value in item.items()}
    for key, value in item.items():
        if key.endswith("_seconds"):
            values[key[:-len("_seconds")]] = BLANK if value is None else duration(value)
    if "started_at" in item:
        values["start"] = local_time(item["started_at"]) or BLANK
    try:
        return template.format_map(_Missing(values))
    except (ValueError, TypeError) as exc:   # e.g. {talk_seconds:.1f}, no talk yet
        which = next((str(item[k]) for k in ("id", "call_id", "name", "number") if item.get(k)),
                     "an item")
        raise FormatError(f"--format cannot show {which}: {exc}") from None


class _Missing(dict):
    """A field a listing has but this item lacks is blank."""

    def __missing__(self, key: str):
        return BLANK
