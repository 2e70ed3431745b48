"""The hot path: the everyday commands (cccli/hotspec.py lists them) answered without
importing Typer, rich or the command modules, since an agent types `cc hold` in the middle
of a call and scripts run `cc dial` in loops.

Its picture of those commands is cccli/hotspec.py, which scripts/gen_docs.py writes from
the Typer app's own command objects (a test fails when it is stale). Its recogniser is
strict and small: the command's name, then `--opt VALUE`, `--opt=VALUE`, flags and
positional values, each value a string, a whole number, a decimal or one of a choice,
checked as Click would check it. Anything else (`--help`, a typo, an option it does not
know or that is always the app's, a value it cannot check, a repeated option, `--`, a
value starting with `-` or `@`, a remote daemon) is not decided here: `cc` goes on into
the Typer app with the command line untouched, so whatever the hot path declines behaves
exactly as it always did. What it accepts runs the same body (cccli/actions.py) with the
same values as the app would, so output and exit codes are the same too (a test drives
both paths over a corpus of command lines against a recording socket).

CC_COLD=1 turns the hot path off (for comparisons, and to rule it out).
"""

from __future__ import annotations

import os
import re
import sys

_WHOLE = re.compile(r"[0-9]+")
_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")
_DECLINE = object()     # a value the hot path leaves to the app


def _value(param: dict, text: str):
    """`text` as the parameter's value, as Click would convert it, or _DECLINE when the
    hot path cannot be sure Click would take it."""
    if text.startswith(("-", "@")):
        return _DECLINE     # an option's name to Click, or a quick-dial alias, or a number
    kind = param["type"]
    if kind == "str":
        return text
    if kind == "choice":
        return text if text in param["choices"] else _DECLINE
    if kind == "int" and _WHOLE.fullmatch(text):
        number = int(text)
    elif kind == "float" and _DECIMAL.fullmatch(text):
        number = float(text)
    else:
        return _DECLINE
    low, high = param.get("min"), param.get("max")
    if (low is not None and number < low) or (high is not None and number > high):
        return _DECLINE
    return number


def recognise(argv: list[str]) -> tuple[str, dict] | None:
    """The body in cccli/actions.py and its keyword arguments for a plain command line of
    a hot command; None for anything else."""
    from .hotspec import COMMANDS

    if not argv or argv[0] not in COMMANDS:
        return None
    body, params = COMMANDS[argv[0]]
    options = {name: p for p in params if p["kind"] != "argument" for name in p["names"]}
    positional = [p for p in params if p["kind"] == "argument"]
    given: dict = {}
    words: list[str] = []
    rest = iter(argv[1:])
    for word in rest:
        if not word.startswith("-"):
            words.append(word)
            continue
        name, eq, text = word.partition("=")
        param = options.get(name if eq and name.startswith("--") else word)
        if param is None or param["type"] == "cold" or param["dest"] in given:
            return None
        if param["kind"] == "flag":
            if eq:
                return None
            given[param["dest"]] = True
            continue
        if not eq:
            text = next(rest, None)
            if text is None:
                return None
        value = _value(param, text)
        if value is _DECLINE:
            return None
        given[param["dest"]] = value
    if len(words) > len(positional):
        return None
    for param, word in zip(positional, words):
        value = _value(param, word)
        if value is _DECLINE or param["type"] == "cold":
            return None
        given[param["dest"]] = value
    for param in params:
        if param["dest"] not in given:
            if param["required"]:
                return None
            given[param["dest"]] = param["default"]
    return body, given


def main(argv: list[str]) -> None:
    """Run a hot command line and exit; return (having done nothing) for the Typer app to
    run any other."""
    if os.environ.get("CC_COLD") or os.environ.get("CC_REMOTE"):
        return
    found = recognise(argv)
    if found is None:
        return
    body, values = found
    from . import actions
    from .guard import guarded

    guarded(lambda: getattr(actions, body)(**values))
    sys.exit(0)
