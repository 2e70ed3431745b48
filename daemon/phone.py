"""Phone numbers, one way for the CLI, the daemon and the emulator.

`clean` is what a person may type; `key` is what two numbers are compared by (E.164 for
a valid public number, else the digits). phonenumbers loads only inside `e164`, so the
CLI can import this module at every start.
"""

from __future__ import annotations

import re

from .wire import NUMBER_KINDS, ErrorCode, WireError

_SEPARATORS = re.compile(r"[\s\-().]")       # what people put between digits to read them
_NUMBER = re.compile(r"\+?[0-9]{2,20}")
_DIALABLE = re.compile(r"\+?[0-9*#]+")
_PARTIAL = re.compile(r"[\d\s+()\-.]+")
_NOT_DIGITS = re.compile(r"\D")
_LIST = re.compile(r"[;|]")

# The number of an incoming call without caller ID, as the log keeps and shows it.
ANONYMOUS = "anonymous"


def strip(raw: str) -> str:
    """The number without the separators people type: spaces, dashes, dots, parentheses."""
    return _SEPARATORS.sub("", raw)


def _brackets_pair(raw: str) -> bool:
    """At most one pair of parentheses, opened before it is closed: `+38 (044) 111`, not
    `+1 (555` (a number cut short) or `555) 1`."""
    opened, closed = raw.count("("), raw.count(")")
    return opened == closed <= 1 and raw.find("(") <= raw.find(")")


def is_number(raw: str) -> bool:
    """True when `raw`, separators aside, is 2 to 20 digits, optionally after a +, with
    its parentheses (if any) in one pair."""
    return bool(_NUMBER.fullmatch(strip(raw))) and _brackets_pair(raw)


def clean(raw: str) -> str:
    """The number without separators; refuse anything that is not a phone number."""
    if raw.strip().lower() == ANONYMOUS:
        raise WireError(ErrorCode.BAD_INPUT, "an anonymous caller withheld their number: "
                        "there is no number to call")
    if _NUMBER.fullmatch(strip(raw)) and not _brackets_pair(raw):
        raise WireError(ErrorCode.BAD_INPUT, f"'{raw}' is not a phone number: its brackets "
                        "do not pair (a number cut short?); type it whole, e.g. "
                        "+1 (555) 010-0199")
    if not is_number(raw):
        raise WireError(ErrorCode.BAD_INPUT, f"'{raw}' is not a phone number: use 2 to 20 "
                        "digits, optionally after a +, e.g. +380441110001 or 102")
    return strip(raw)


def dialable(number: str) -> bool:
    """True for a number without separators that a switch can dial: digits, * and #,
    optionally after a +."""
    return bool(_DIALABLE.fullmatch(number))


def digits(text: str) -> str:
    return _NOT_DIGITS.sub("", text or "")


def partial(query: str) -> str | None:
    """The digits of a search made of digits and separators only (a piece of a number),
    else None (a name)."""
    text = query.strip()
    return digits(text) if _PARTIAL.fullmatch(text) else None


def split(text: str) -> list[str]:
    """The numbers of a file's one cell, separated by ; or |."""
    return [p.strip() for p in _LIST.split(text or "") if p.strip()]


def e164(raw: str, region: str) -> str | None:
    """The number in E.164 when it is a valid public number in `region`, else None."""
    import phonenumbers

    text = (raw or "").strip()
    candidates = [text]
    if digits(text).startswith("80") and not text.startswith("+") and \
            _trunk_prefix(region) == "0":
        # "8" before the trunk prefix "0" is the long-distance code of the Soviet plan that
        # people still type in such regions (8 044 ... in UA); where phonenumbers says the
        # trunk prefix is "8" itself (RU, KZ, BY), the parse below already reads it.
        candidates.append(digits(text)[1:])
    for candidate in candidates:
        try:
            parsed = phonenumbers.parse(candidate, region or None)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return None


def _trunk_prefix(region: str) -> str | None:
    """The national (trunk) prefix phonenumbers knows for `region`: "0" in UA, "8" in RU."""
    from phonenumbers import PhoneMetadata

    metadata = PhoneMetadata.metadata_for_region(region) if region else None
    return metadata.national_prefix if metadata else None


def key(raw: str, region: str) -> str:
    """What numbers are matched by: E.164 when it is a valid public number, else its
    digits (extensions), so `8 (044) 455-78-90` and `+380444557890` are one number."""
    return e164(raw, region) or digits(raw)


def kinded(text: str) -> tuple[str, str]:
    """(number, kind) of `KIND:NUMBER` (e.g. mobile:+380501112233), or of a bare number
    (kind "other", a telephone of no stated kind)."""
    kind, sep, number = text.partition(":")
    if sep and kind.strip().lower() in NUMBER_KINDS:
        return number.strip(), kind.strip().lower()
    return text.strip(), "other"
