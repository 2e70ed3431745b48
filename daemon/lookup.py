"""What the directory and the contacts share: reading a user's file, picking one match."""

from __future__ import annotations

import csv
from pathlib import Path

from .wire import ErrorCode, WireError


def read_text(path: str) -> tuple[Path, str]:
    file = Path(path)
    try:
        return file, file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise WireError(ErrorCode.BAD_INPUT, f"cannot read {file}: {exc}") from None


def csv_rows(file: Path, text: str, columns: str, skipped: list[str]):
    """(line number, row with lower-case keys) of a CSV file whose header names `name`;
    a row without a name is noted in `skipped` with its line, and the others still load."""
    reader = csv.DictReader(text.splitlines())
    fields = {(f or "").strip().lower() for f in reader.fieldnames or ()}
    if "name" not in fields:
        raise WireError(ErrorCode.BAD_INPUT, f"{file}: the first line must name the columns, with "
                        f"at least 'name' (known: {columns})")
    for lineno, raw in enumerate(reader, 2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
        if not row.get("name"):
            skipped.append(f"{file}:{lineno}: the name is empty")
            continue
        yield lineno, row


def one(found: list[dict], query: str, what: str, listing: str) -> dict:
    """The one entry a name means: an exact name, or the only partial match."""
    exact = [c for c in found if c["name"].lower() == query.strip().lower()]
    if len(exact) == 1:
        return exact[0]
    if not found:
        raise WireError(ErrorCode.BAD_INPUT, f"no {what} matches '{query}' (see `{listing}`)")
    if len(found) > 1:
        names = "; ".join(c["name"] for c in found[:8])
        raise WireError(ErrorCode.BAD_INPUT, f"'{query}' matches {len(found)} {what}s ({names}): "
                        "be more precise")
    return found[0]
