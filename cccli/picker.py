"""Choosing one of several: `--pick N`, or a filter-as-you-type list for a person at a
terminal: type to narrow, arrows to move, Enter to choose, Esc or Ctrl-C to give up."""

from __future__ import annotations

import os
import sys

from daemon.wire import ErrorCode, WireError

SHOWN = 10


def choose(items: list[tuple[str, object]], prompt: str, owner: str, noun: str,
           pick: int | None = None, gave_up: str = "nothing done", ask_one: bool = False):
    """The value of one (label, value) pair: the `--pick N`-th, the only one (unless
    `ask_one`), or the one chosen at a terminal; elsewhere an error that lists them."""
    if not items:
        raise WireError(ErrorCode.BAD_INPUT, f"{owner} has no {noun}s")
    if pick is not None:
        if not 1 <= pick <= len(items):
            raise WireError(ErrorCode.BAD_INPUT, f"--pick {pick}: {owner} has {len(items)} "
                            f"{noun}(s)")
        return items[pick - 1][1]
    if len(items) == 1 and not ask_one:
        return items[0][1]
    if not at_terminal():
        listed = ", ".join(f"{n}: {label}" for n, (label, _) in enumerate(items, 1))
        raise WireError(ErrorCode.BAD_INPUT, f"{owner} has {len(items)} {noun}s ({listed}): "
                        "choose one with --pick N")
    chosen = ask(items, prompt)
    if chosen is None:
        raise WireError(ErrorCode.FAILED, f"{gave_up}: no {noun} was chosen")
    return chosen


def ask(items: list[tuple[str, object]], prompt: str) -> object | None:
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
