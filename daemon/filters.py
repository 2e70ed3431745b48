"""The call log's filters, parsed once where they enter: the daemon's `log` commands, and
`cc log --database`, which reads a log file itself (F19, F42, F43, F57, F59).

What comes out is what `Store.select` trusts: a period that has bounds, a number as its
digits and its key, links of known kinds with values, a subject folded for comparison.
"""

from __future__ import annotations

from . import periods, phone
from .store import LINKS
from .wire import OUTCOMES

# The filters `Store.select` takes besides sorting and paging, as the wire names them.
NAMES = ("period", "agent", "direction", "outcome", "missed", "number", "contact",
         "call_type", "subject", "result", "links", "group")


class FilterError(ValueError):
    """A filter that cannot be used; the message names it and the way out."""


def parse(given: dict, region: str) -> dict:
    """The filters `given` (wire names, unset ones None or absent) ready for
    `Store.select`; `region` reads numbers written without a country code."""
    out = {k: v for k, v in given.items() if v not in (None, "", {}, False)}
    if "period" in out:
        try:
            periods.bounds(out["period"])
        except periods.PeriodError as exc:
            raise FilterError(str(exc)) from None
    if "outcome" in out and out["outcome"] not in OUTCOMES:
        raise FilterError(f"unknown outcome '{out['outcome']}': use {', '.join(OUTCOMES)}")
    if "number" in out:
        text = out["number"]
        digits = phone.partial(text)
        if not digits:
            raise FilterError(f"--number '{text}' is not a phone number or a piece of one: "
                              "give digits, e.g. --number 0441110001 or --number 1110")
        out["number"] = digits
        whole = phone.e164(text, region) if phone.is_number(text) else None
        if whole:
            out["number_keys"] = _keys(whole, digits)
    if "links" in out:
        for kind, value in out["links"].items():
            if kind not in LINKS:
                raise FilterError(f"unknown link '{kind}': use {', '.join(LINKS)}, e.g. "
                                  "--link task=T-77")
            if not value.strip():
                raise FilterError(f"--link {kind}= needs a value, e.g. --link {kind}=T-77")
        out["links"] = {k: v.strip() for k, v in out["links"].items()}
    if "subject" in out:
        out["subject"] = out["subject"].strip().casefold()
        if not out["subject"]:
            raise FilterError("--subject needs some text of the subject, e.g. --subject order")
    return out


def check(conn, found: dict) -> None:
    """Refuse, with the reason, a parsed filter that names what the log `conn` (a sqlite3
    connection) does not know: a type or result neither in its catalogue nor on any call
    (a typo would list no calls and say nothing), or a group it does not have."""
    for column, kind, option in (("call_type", "types", "type"), ("result", "results",
                                                                    "result")):
        value = found.get(column)
        if value is None:
            continue
        names = [r[0] for r in _rows(conn, "select name from catalog where kind = ? "
                                           "order by name", [kind])]
        if value in names or _rows(conn, f"select 1 from calls where {column} = ? limit 1",
                                   [value]):
            continue
        if column == "result" and value in OUTCOMES:
            raise FilterError(f"'{value}' is how a call ended, not the result on its card: "
                              f"use --outcome {value}")
        raise FilterError(f"no call has the {option} '{value}' and the {kind} catalogue has "
                          f"no such entry (it has: {', '.join(names) or 'nothing'}; see "
                          f"`cc catalog list {kind}`)")
    group = found.get("group")
    if group is not None and not _rows(conn, "select 1 from call_groups where name = ?",
                                       [group]):
        known = [r[0] for r in _rows(conn, "select name from call_groups order by name", [])]
        raise FilterError(no_group(group, known))


def no_group(name: str, known: list[str]) -> str:
    return (f"no group '{name}' (groups: {', '.join(known) or 'none yet'}; put calls in "
            f"one with `cc log group add {name} ID...`)")


def _rows(conn, sql: str, args: list) -> list:
    """The rows of `sql`; none when the log is too old to have the table it reads."""
    import sqlite3

    try:
        return conn.execute(sql, args).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []
        raise


def _keys(whole: str, digits: str) -> list[str]:
    """The keys a whole number's calls may have: its E.164 form, which every call logged
    since keys exist has, and the digits of its national and typed forms, which calls
    logged before them were keyed by (without a region)."""
    import phonenumbers

    national = phonenumbers.format_number(phonenumbers.parse(whole),
                                          phonenumbers.PhoneNumberFormat.NATIONAL)
    return list(dict.fromkeys([whole, phone.digits(national), digits]))
