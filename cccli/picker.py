"""Choosing one of several: `--pick N`, or a list for a person at a terminal.

The list runs on prompt_toolkit, imported only when a list is shown (cccli starts fast).
It reads the keys the way a terminal sends them: keys typed before it draws are read
first, not thrown away, and an escape sequence or a UTF-8 letter cut in two by a slow
link is put together again before it counts as a key.

Two ways to use it, after the guide's setting "automatic filtering in the transfer card":
- filter as you type: every key narrows the list; arrows move, Enter takes the marked row;
- no filtering: the whole list is shown, numbered; arrows move, or type a row's number;
  Enter with other text searches (narrows the list), Esc clears the search.
A list may have several views (Colleagues, All; Tab switches) and may take what is typed
when nothing matches it (a number to transfer to).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Callable, NamedTuple

from daemon import phone
from daemon.wire import ErrorCode, WireError

SHOWN = 10          # rows on screen at once; the list scrolls past them
ESCAPE_WAIT = 0.5   # seconds a lone ESC waits for the rest of a key before it is Esc


class Row(NamedTuple):
    """One line of the list: what is shown, what choosing it gives, the numbers a typed
    piece of a number is matched against (separators aside), and, when shorter than the
    line, what the hint under the list calls it."""
    label: str
    value: object
    numbers: tuple[str, ...] = ()
    brief: str = ""


@dataclass
class View:
    """A named list of rows; `load` is called the first time the view is shown; `empty`
    says what an empty one means."""
    title: str
    load: Callable[[], list[Row]]
    empty: str = "empty"
    rows: list[Row] | None = field(default=None, repr=False)


class Typed(NamedTuple):
    """What to do with typed text that matches no row: `value` turns it into a choice, or
    None when it cannot be one (e.g. not a phone number); `verb` says it in the hint."""
    verb: str
    value: Callable[[str], object | None]
    what: str = "a number"


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
    rows = [Row(label, value) for label, value in items]
    chosen = ask([View(f"{noun.capitalize()}s", lambda: rows)], prompt)
    if chosen is None:
        raise WireError(ErrorCode.FAILED, f"{gave_up}: no {noun} was chosen")
    return chosen


def matching(rows: list[Row], query: str) -> list[Row]:
    """The rows whose label holds every word of `query` (any case), or, for a piece of a
    number, whose numbers hold its digits however either is written."""
    words = query.lower().split()
    if not words:
        return rows
    part = phone.partial(query)

    def hit(row: Row) -> bool:
        label = row.label.lower()
        if all(word in label for word in words):
            return True
        return bool(part) and any(part in phone.digits(n) for n in row.numbers)

    return [row for row in rows if hit(row)]


class Choice(NamedTuple):
    """What Enter does now: `kind` is "row" (take `row`), "search" (narrow the list by the
    text), "typed" (take `value`, made from the text) or "none" (`why` says why not)."""
    kind: str
    row: Row | None = None
    value: object = None
    why: str = ""


class Picker:
    """The list's state and what each key does to it, apart from any terminal."""

    def __init__(self, views: list[View], live: bool = True, typed: Typed | None = None):
        if not views:
            raise ValueError("a picker needs at least one view")
        self.views, self.live, self.typed = views, live, typed
        self.view = 0
        self.text = ""          # what is typed
        self.search = ""        # without live filtering: the search Enter applied
        self.cursor = 0         # the marked row, an index into shown()
        self.notice = ""        # a one-off word from the last key (e.g. a failed load)
        self._shown: tuple[tuple[int, str], list[Row]] | None = None
        self.page = SHOWN       # rows on screen: fewer on a short terminal

    def all_rows(self) -> list[Row]:
        view = self.views[self.view]
        if view.rows is None:
            try:
                view.rows = view.load()
            except WireError as exc:
                view.rows = []
                self.notice = f"{view.title}: {exc.message}"
        return view.rows

    def shown(self) -> list[Row]:
        """The rows the list shows now (kept until the view or the query changes: one
        screen asks several times, and a contacts book may have thousands)."""
        key = (self.view, self.text if self.live else self.search)
        if self._shown is None or self._shown[0] != key:
            self._shown = (key, matching(self.all_rows(), key[1]))
        return self._shown[1]

    def type(self, text: str) -> None:
        if text != self.text:
            self.text, self.notice = text, ""
            if self.live:
                self.cursor = 0

    def move(self, by: int) -> None:
        rows = self.shown()
        self.cursor = max(0, min(len(rows) - 1, self.cursor + by)) if rows else 0

    def switch(self, by: int = 1) -> None:
        self.view = (self.view + by) % len(self.views)
        self.cursor, self.search, self.notice = 0, "", ""
        self.all_rows()         # loaded here, by a key, rather than while drawing

    def choice(self) -> Choice:
        """What Enter would do with the list and the text as they are."""
        text = self.text.strip()
        rows = self.shown()
        noun = self.views[self.view].title
        if not self.live and text:
            if text.isdigit() and 1 <= int(text) <= len(rows):
                return Choice("row", rows[int(text) - 1])
            if matching(self.all_rows(), text):
                return Choice("search")
        elif rows:
            return Choice("row", rows[min(self.cursor, len(rows) - 1)])
        if text and self.typed:
            value = self.typed.value(text)
            if value is not None:
                return Choice("typed", value=value)
            return Choice("none", why=f"nothing in {noun} matches '{text}': type a name, "
                                      f"or {self.typed.what} to {self.typed.verb}")
        if text:
            return Choice("none", why=f"nothing in {noun} matches '{text}'")
        return Choice("none", why=f"{noun}: the list is empty" + (
            f"; type {self.typed.what} to {self.typed.verb}" if self.typed else ""))

    def enter(self) -> tuple[bool, object]:
        """(True, value) when a choice is made; (False, None) when the list stays open."""
        choice = self.choice()
        if choice.kind == "row":
            return True, choice.row.value
        if choice.kind == "typed":
            return True, choice.value
        if choice.kind == "search":
            self.search, self.text, self.cursor = self.text.strip(), "", 0
        else:
            self.notice = choice.why
        return False, None

    def escape(self) -> bool:
        """True to give up; without live filtering Esc first clears a search."""
        if not self.live and self.search:
            self.search, self.cursor, self.notice = "", 0, ""
            return False
        return True

    def lines(self) -> list[str]:
        """The rows on screen: a window of `page` rows that follows the marked one."""
        rows = self.shown()
        if not rows:
            return ["  (no match)" if self.all_rows() else
                    f"  ({self.views[self.view].empty})"]
        cursor = min(self.cursor, len(rows) - 1)
        page = self.page
        start = min(max(0, cursor - page + 1), max(0, len(rows) - page))
        width = len(str(len(rows)))
        out = [f"  ... {start} above"] if start else []
        for n, row in enumerate(rows[start:start + page], start + 1):
            mark = ">" if n - 1 == cursor else " "
            out.append(f"{mark} {row.label}" if self.live else f"{mark} {n:>{width}}  {row.label}")
        if len(rows) > start + page:
            out.append(f"  ... {len(rows) - start - page} more")
        return out

    def keys(self) -> str:
        """The keys the list takes now, for the line above it."""
        keys = ["Up/Down"] + (["a row's number"] if not self.live else [])
        if len(self.views) > 1:
            keys.append(f"Tab: {self.views[(self.view + 1) % len(self.views)].title}")
        keys.append("Esc: clear the search" if not self.live and self.search
                    else "Esc: give up")
        return "  ".join(keys)

    def hint(self) -> str:
        """The line under the list: what Enter does now, or why it does nothing."""
        if self.notice:
            return self.notice
        choice = self.choice()
        if choice.kind == "row":
            verb = f"{self.typed.verb} " if self.typed else ""
            return f"Enter: {verb}" + " ".join((choice.row.brief or choice.row.label).split())
        if choice.kind == "search":
            return f"Enter: search for '{self.text.strip()}'"
        if choice.kind == "typed":
            return f"Enter: {self.typed.verb} {self.text.strip()}"
        return choice.why


def ask(views: list[View], prompt: str, live: bool = True, typed: Typed | None = None,
        terminal: tuple | None = None) -> object | None:
    """The value chosen at the terminal, or None when the person gives up (Esc, Ctrl-C).
    `terminal` is a prompt_toolkit (input, output) pair; by default, /dev/tty."""
    try:
        import prompt_toolkit  # noqa: F401 -- a dependency, missing from an old install
    except ImportError:
        raise WireError(ErrorCode.CONFIG, "choosing from a list needs prompt_toolkit, which "
                        "is not installed: reinstall cc (pip install -e .), or name your "
                        "choice on the command line") from None
    state = Picker(views, live, typed)
    if terminal is not None:
        return _run(state, prompt, *terminal)
    encoding = sys.stdin.encoding or "utf-8"
    with open("/dev/tty", encoding=encoding) as tty_in, \
            open("/dev/tty", "w", encoding=encoding) as tty_out:
        from prompt_toolkit.input.vt100 import Vt100Input
        from prompt_toolkit.output.vt100 import Vt100_Output

        output = Vt100_Output.from_pty(tty_out, term=os.environ.get("TERM"))
        # The list never needs to know where the cursor is: no cursor position request,
        # so a terminal (or a test) that does not answer one costs no wait and no warning.
        output.enable_cpr = False
        # Keys typed before now were echoed by the terminal: the list takes them as typed
        # into it, so their echo goes.
        output.write_raw("\r\x1b[K")
        return _run(state, prompt, Vt100Input(tty_in), output)


def _run(state: Picker, prompt: str, input, output) -> object | None:
    from prompt_toolkit.application import Application
    from prompt_toolkit.buffer import Buffer
    from prompt_toolkit.key_binding import KeyBindings
    from prompt_toolkit.layout import HSplit, Layout, Window
    from prompt_toolkit.layout.controls import BufferControl, FormattedTextControl
    from prompt_toolkit.layout.processors import BeforeInput
    from prompt_toolkit.styles import Style

    buffer = Buffer(multiline=False, on_text_changed=lambda b: state.type(b.text))
    keys = KeyBindings()

    def key(*names: str, eager: bool = False):
        """Bind a handler; an error inside it ends the list and is raised by `ask`
        (prompt_toolkit would print a traceback and wait for Enter)."""
        def bind(handler):
            def guarded(event):
                try:
                    handler(event)
                except Exception as exc:        # raised again by app.run()
                    event.app.exit(exception=exc)
            for name in names:
                keys.add(name, eager=eager)(guarded)
            return handler
        return bind

    @key("up", "c-p")
    def _(event):
        state.move(-1)

    @key("down", "c-n")
    def _(event):
        state.move(1)

    @key("pageup")
    def _(event):
        state.move(-state.page)

    @key("pagedown")
    def _(event):
        state.move(state.page)

    @key("tab")
    def _(event):
        state.switch(1)

    @key("s-tab")
    def _(event):
        state.switch(-1)

    # Enter is c-m; typed ahead while the terminal was still cooked it arrives as c-j.
    @key("enter", "c-j")
    def _(event):
        done, value = state.enter()
        if done:
            event.app.exit(result=value)
        elif not state.text:
            buffer.reset()

    # Eager: Esc then a key is Esc and the key, not an Alt-key (arrows and other escape
    # sequences are whole keys before they get here).
    @key("escape", eager=True)
    def _(event):
        if state.escape():
            event.app.exit(result=None)

    @key("c-c")
    def _(event):
        event.app.exit(result=None)

    def header():
        fragments = [("class:current" if n == state.view else "", f" {view.title} ")
                     for n, view in enumerate(state.views)]
        return fragments + [("class:hint", "   " + state.keys())]

    def rows():
        # Header, input and hint take three lines, "... above/more" two: the rest is rows.
        state.page = max(1, min(SHOWN, output.get_size().rows - 5))
        lines = state.lines()
        return [("class:current" if line.startswith(">") else "",
                 line + ("\n" if n < len(lines) - 1 else "")) for n, line in enumerate(lines)]

    layout = HSplit([
        Window(FormattedTextControl(header), height=1),
        Window(BufferControl(buffer, input_processors=[BeforeInput(prompt)]), height=1),
        Window(FormattedTextControl(rows), dont_extend_height=True),
        Window(FormattedTextControl(lambda: [("class:hint", state.hint())]), height=1),
    ])
    app = Application(layout=Layout(layout, focused_element=buffer), key_bindings=keys,
                      style=Style.from_dict({"current": "reverse", "hint": "italic"}),
                      full_screen=False, erase_when_done=True, mouse_support=False,
                      input=input, output=output)
    app.ttimeoutlen = ESCAPE_WAIT
    return app.run()


def at_terminal() -> bool:
    return sys.stdin.isatty() and os.path.exists("/dev/tty")
