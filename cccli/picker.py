"""A filter-as-you-type list for a person at a terminal (F6): type to narrow, arrows to
move, Enter to choose, Esc or Ctrl-C to give up."""

from __future__ import annotations

import os
import sys

SHOWN = 10


def pick(items: list[tuple[str, object]], prompt: str) -> object | None:
    """Return the value of the chosen (label, value) pair, or None when cancelled."""
    import termios
    import tty

    fd = os.open("/dev/tty", os.O_RDWR)
    saved = termios.tcgetattr(fd)
    query, cursor = "", 0

    def write(text: str) -> None:
        os.write(fd, text.encode())

    def matches() -> list[tuple[str, object]]:
        q = query.lower()
        return [item for item in items if q in item[0].lower()]

    def draw() -> None:
        found = matches()[:SHOWN]
        lines = [f"{prompt}{query}"]
        lines += [("> " if i == cursor else "  ") + label for i, (label, _) in enumerate(found)]
        if not found:
            lines.append("  (no match)")
        write("\r\x1b[J" + "\r\n".join(lines))
        below = len(lines) - 1
        if below:
            write(f"\x1b[{below}A")
        write(f"\r\x1b[{len(prompt) + len(query)}C" if prompt or query else "\r")

    try:
        tty.setraw(fd)
        draw()
        while True:
            key = os.read(fd, 8).decode(errors="ignore")
            found = matches()
            if key in ("\r", "\n"):
                if found:
                    return found[min(cursor, len(found) - 1)][1]
            elif key in ("\x03", "\x1b"):
                return None
            elif key in ("\x7f", "\x08"):
                query, cursor = query[:-1], 0
            elif key == "\x1b[A":
                cursor = max(0, cursor - 1)
            elif key == "\x1b[B":
                cursor = min(max(0, min(len(found), SHOWN) - 1), cursor + 1)
            elif key.isprintable():
                query, cursor = query + key, 0
            draw()
    finally:
        write("\r\x1b[J")
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        os.close(fd)


def at_terminal() -> bool:
    return sys.stdin.isatty() and os.path.exists("/dev/tty")
