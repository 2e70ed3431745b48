"""Masking callers' numbers (`privacy.mask_numbers`): the journal and the exports show
the country and operator code and the last two digits, `+38067•••••33`. Two digits
let an agent tell callers in a short list apart and match a number read out on the phone,
yet leave a hundred candidates per operator code even with the rest known; the head is
routing, not identity. Four characters or fewer is an extension, the team's own: kept.
The team store's cc.calls_masked view masks the same way (daemon/team/schema.py)."""

from __future__ import annotations

import re

KEEP_HEAD, KEEP_TAIL = 6, 2
HIDDEN = "•"
# The log's columns and the Infinity fields (ANumber, BNumber, AbonentNumber, Number,
# DialNumber) that hold a caller's number.
NUMBER_COLUMNS = ("number", "transfer_number")
NUMBER_FIELD = re.compile(r"number|phone|caller", re.IGNORECASE)


def mask(number):
    """The number with its middle hidden; anything but a longer text as it is."""
    if not isinstance(number, str) or len(number) <= 4:
        return number
    if len(number) >= 11:
        return number[:KEEP_HEAD] + HIDDEN * (len(number) - KEEP_HEAD - KEEP_TAIL) \
            + number[-KEEP_TAIL:]
    return HIDDEN * (len(number) - KEEP_TAIL) + number[-KEEP_TAIL:]


def masked_row(row: dict) -> dict:
    """A call's row with its numbers masked."""
    return {k: mask(v) if k in NUMBER_COLUMNS else v for k, v in row.items()}


def masked_fields(value):
    """A message from or to the server with every number field's value masked."""
    if isinstance(value, dict):
        return {k: (mask(str(v)) if isinstance(v, (str, int)) and not isinstance(v, bool)
                    and NUMBER_FIELD.search(str(k)) else masked_fields(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [masked_fields(v) for v in value]
    return value
