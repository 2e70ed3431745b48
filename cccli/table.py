"""Tables for people, laid out as `git log --oneline`, `ls -l` or `gh` do: at a terminal
the key columns never shrink and the least useful ones drop first when the width runs
out; in a pipe every column has its natural width. Columns are two spaces apart, and no
line ends in spaces.

    table.show([Column("id", right=True), Column("notes", drop=1, shrink=True)], rows)

Rich's tables cannot drop columns by usefulness and pad the last column, so the layout
is here; rich only measures cells (wide characters take two).
"""

from __future__ import annotations

import shutil
import sys
import unicodedata
from dataclasses import dataclass

GAP = "  "
MIN_SHRUNK = 8          # a shrinkable column keeps at least this many cells, … included


@dataclass(frozen=True)
class Column:
    head: str
    drop: int = 0           # 0: never dropped; otherwise the highest drops first
    right: bool = False     # numbers and durations align right
    shrink: bool = False    # free text: cut with … rather than dropped


def width() -> int | None:
    """The terminal's width at a terminal (COLUMNS first, as everywhere), None in a pipe:
    a pipe gets every column whole."""
    if not sys.stdout.isatty():
        return None
    return shutil.get_terminal_size().columns       # reads COLUMNS before asking the tty


def cells(text: str) -> int:
    from rich.cells import cell_len

    return cell_len(text)


def plain(text: str) -> str:
    """A cell without control characters (whitespace as one space, others as ?): a value
    from the server, the team store or a colleague never drives the terminal."""
    if text.isprintable():      # the common case, at C speed
        return text
    return "".join(ch if ch.isprintable() else " " if ch.isspace() else
                   "?" if unicodedata.category(ch) == "Cc" else ch for ch in text)


def _cut(text: str, room: int) -> str:
    if cells(text) <= room:
        return text
    while text and cells(text) > room - 1:
        text = text[:-1]
    return text + "…"


def fit(columns: list[Column], rows: list[list[str]], room: int | None
        ) -> tuple[list[int], list[int]]:
    """Which columns to show (indices, in order) and each one's width: free text gives
    way first (down to MIN_SHRUNK), then the least useful columns drop."""
    natural = [max([cells(c.head)] + [cells(r[i]) for r in rows])
               for i, c in enumerate(columns)]
    shown = list(range(len(columns)))
    if room is None:
        return shown, natural
    droppable = sorted((i for i, c in enumerate(columns) if c.drop),
                       key=lambda i: (-columns[i].drop, -i))
    while True:
        widths = _share(columns, natural, shown, room)
        if widths is not None or not droppable:
            break
        shown.remove(droppable.pop(0))
    if widths is None:              # the key columns alone are wider: as narrow as it gets
        widths = {i: min(natural[i], MIN_SHRUNK) if columns[i].shrink else natural[i]
                  for i in shown}
    return shown, [widths[i] for i in shown]


def _share(columns, natural, shown, room) -> dict[int, int] | None:
    """Widths of the `shown` columns within `room`, free text sharing what the others
    leave (each at least MIN_SHRUNK or its natural width); None when they cannot fit."""
    free = [i for i in shown if columns[i].shrink]
    left = room - len(GAP) * (len(shown) - 1) - sum(natural[i] for i in shown
                                                    if not columns[i].shrink)
    widths = {i: natural[i] for i in shown}
    if left >= sum(natural[i] for i in free):
        return widths
    if left < sum(min(natural[i], MIN_SHRUNK) for i in free):
        return None
    for n, i in enumerate(sorted(free, key=lambda i: natural[i])):   # narrowest first
        widths[i] = max(min(natural[i], MIN_SHRUNK), min(natural[i], left // (len(free) - n)))
        left -= widths[i]
    return widths


def lines(columns: list[Column], rows: list[list[str]], room: int | None = None,
          styles: list[list[str]] | None = None, bold_head: bool = False) -> list[str]:
    """The table's lines; `styles` gives an ANSI colour code per cell (or "")."""
    rows = [[plain(text) for text in row] for row in rows]
    shown, widths = fit(columns, rows, room)
    out = []
    head = [(columns[i].head, "1" if bold_head else "") for i in shown]
    body = [[(row[i], (styles[n][i] if styles else "")) for i in shown]
            for n, row in enumerate(rows)]
    for record in [head, *body]:
        parts = []
        for k, ((text, style), w) in enumerate(zip(record, widths)):
            text = _cut(text, w)
            pad = " " * (w - cells(text))
            last = k == len(widths) - 1
            if style:
                text = f"\x1b[{style}m{text}\x1b[0m"
            parts.append(pad + text if columns[shown[k]].right else
                         text + ("" if last else pad))
        out.append(GAP.join(parts).rstrip())
    return out


def show(columns: list[Column], rows: list[list[str]],
         styles: list[list[str]] | None = None, bold_head: bool = False) -> None:
    sys.stdout.write("".join(line + "\n" for line in
                             lines(columns, rows, width(), styles, bold_head)))
