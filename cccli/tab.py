"""What a Tab offers: the completion scripts of cccli/shells.py run `cc` with
_CC_COMPLETE=bash|zsh|fish and _CC_LINE=the command line up to the cursor, and this
answers before anything else of `cc` is imported.

Commands, options and choices come from cccli/tabtree.py, which scripts/gen_docs.py
writes from the Typer app (a test fails when it is stale), so a Tab costs neither Typer
nor the Click tree. Values that live elsewhere come from the functions of
cccli/complete.py that the commands name as their `autocompletion`: quick.toml and the
saved filters from files, log ids, recent numbers and contacts from the daemon.

The answer is one line saying what kind it is, `words` or `files` (the shell completes
file names itself), then one line per candidate, as the shell reads them: bash the bare
value, zsh `value:description` for _describe, fish `value<TAB>description`.
"""

from __future__ import annotations

import os
import shlex
import sys

SHELLS = ("bash", "zsh", "fish")
VAR, LINE = "_CC_COMPLETE", "_CC_LINE"
WIDTH = 60      # the longest description


class Context:
    """What a completion function may ask of the command line: the values given so far,
    by parameter name (the `ctx.params` of Click)."""

    def __init__(self, params: dict):
        self.params = params


def split(line: str) -> tuple[list[str], str]:
    """The words before the cursor and the one being typed ('' after a space). An open
    quote is part of the word being typed, as the shell sees it."""
    lexer = shlex.shlex(line, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    words = []
    try:
        words.extend(lexer)
    except ValueError:          # an open quote: the rest is the word being typed
        return words, lexer.token
    if line[-1:].isspace() or not words:
        return words, ""
    return words[:-1], words[-1]


def _option(node: dict, name: str) -> dict | None:
    for option in node["options"]:
        if name in option["names"]:
            return option
    return None


def resolve(words: list[str]) -> tuple[dict, dict, list[str], dict | None, bool]:
    """Walk the tree along the words typed: the command reached, the values given by
    parameter name, the positional words, an option still waiting for its value, and
    whether `--` ended the options."""
    from .tabtree import TREE

    node, params, positional, waiting, only_args = TREE, {}, [], None, False
    for word in words:
        if waiting is not None:
            _given(params, waiting, word)
            waiting = None
        elif not only_args and word == "--":
            only_args = True
        elif not only_args and word.startswith("-") and len(word) > 1:
            name, eq, value = word.partition("=")
            option = _option(node, name)
            if option is not None and option["value"] is not None:
                if eq:
                    _given(params, option, value)
                else:
                    waiting = option
            elif option is not None:
                params[option["dest"]] = True
        elif node["commands"] and not positional and word in node["commands"]:
            node, params = node["commands"][word], {}
        else:
            positional.append(word)
    return node, params, positional, waiting, only_args


def _given(params: dict, option: dict, value: str) -> None:
    if option["multiple"]:
        params.setdefault(option["dest"], []).append(value)
    else:
        params[option["dest"]] = value


def candidates(line: str) -> tuple[str, list[tuple[str, str]], str]:
    """('words' or 'files', [(value, description)], the text each value follows, as in
    `--format=`) for the command line typed up to the cursor."""
    words, incomplete = split(line)
    node, params, positional, waiting, only_args = resolve(words[1:])
    if waiting is not None:
        return values(waiting["value"], incomplete, params) + ("",)
    if not only_args and incomplete.startswith("-"):
        name, eq, value = incomplete.partition("=")
        option = _option(node, name) if eq else None
        if option is not None and option["value"] is not None:
            return values(option["value"], value, params) + (name + "=",)
        return "words", [(name, option["help"]) for option in node["options"]
                         if option["multiple"] or option["dest"] not in params
                         for name in option["names"] if name.startswith(incomplete)], ""
    if node["commands"] and not positional:
        return "words", [(name, sub["help"]) for name, sub in node["commands"].items()
                         if name.startswith(incomplete)], ""
    left = list(positional)
    for argument in node["arguments"]:
        if argument["nargs"] == -1:
            params[argument["dest"]] = left
            return values(argument["value"], incomplete, params) + ("",)
        if not left:
            return values(argument["value"], incomplete, params) + ("",)
        params[argument["dest"]] = left.pop(0)
    return "words", [], ""


def values(source: list, incomplete: str, params: dict) -> tuple[str, list]:
    """The values of a parameter: its choices, the answer of its function in
    cccli/complete.py, or the shell's file names."""
    kind = source[0]
    if kind == "choices":
        return "words", [(choice, "") for choice in source[1] if choice.startswith(incomplete)]
    if kind == "call":
        from . import complete

        function = getattr(complete, source[1])
        found = function(Context(params), incomplete) if source[2] else function(incomplete)
        if found is complete.FILES:
            return "files", []
        return "words", list(found)
    if kind == "files":
        return "files", []
    return "words", []


def lines(shell: str, kind: str, found: list[tuple[str, str]], before: str) -> list[str]:
    """The answer as the shell's script reads it."""
    out = [kind]
    for value, description in found:
        # What the daemon sends (names from a directory, a CRM, the server): no control
        # character reaches the shell, which prints candidates as they are.
        value = "".join(ch if ch.isprintable() else " " for ch in value)
        description = " ".join("".join(ch if ch.isprintable() else " "
                                       for ch in description).split())
        if len(description) > WIDTH:    # fish reads a wrapped description as a value
            description = description[:WIDTH - 3] + "..."
        if shell == "bash":
            out.append(value)       # bash has the text after `=` as the word being typed
        elif shell == "zsh":
            value = (before + value).replace("\\", "\\\\").replace(":", "\\:")
            out.append(f"{value}:{description}" if description else value)
        else:
            out.append(f"{before}{value}\t{description}" if description else before + value)
    return out


def main() -> None:
    """Answer one Tab and exit; any failure offers nothing, silently (a Tab never prints
    a traceback into the command line)."""
    shell = os.environ.get(VAR, "")
    try:
        if shell not in SHELLS:
            raise SystemExit(2)     # an older script of another cc: nothing to offer
        kind, found, before = candidates(os.environ.get(LINE, ""))
        sys.stdout.write("\n".join(lines(shell, kind, found, before)) + "\n")
    except SystemExit:
        raise
    except BaseException:       # noqa: BLE001 - a Tab must never show a traceback
        if os.environ.get("CC_DEBUG"):
            raise
        sys.exit(1)
    sys.exit(0)
