"""`cc` is also the C compiler's name. Installed in a virtual environment or in
~/.local/bin, ours comes first on PATH, so `make`, configure scripts and build tools that
run `cc` would run the contact-centre tool. This is the first thing `cc` does: a command
line a compiler would be given (a source file, `-c`, `-o`, `-E`, the probes configure
scripts make: `--version`, `-v`, `-dumpversion`, `-print-…`) goes, untouched, to the next
`cc` on PATH by exec, so its output and exit code are the compiler's own; ours says
nothing. `cccli` never hands over.

Imports only the standard library: a build runs `cc` thousands of times.
"""

from __future__ import annotations

import os
import sys

# Our commands and groups (a test keeps this equal to the app's); -h/--help are ours too.
COMMANDS = frozenset({
    "accounts", "answer", "available", "away", "break", "calls", "catalog", "completion",
    "config", "contacts", "daemon", "dial", "doctor", "dtmf", "emulator", "hangup", "hold",
    "journal", "kb", "log", "login", "logout", "play", "quick", "recent", "redial", "reject",
    "remind", "report", "state", "status", "team", "transfer", "unhold", "version", "watch",
    "who", "wrapup",
})
OURS = COMMANDS | {"-h", "--help"}
# What compilers and linkers take as input (gcc's list of suffixes, and the objects).
SOURCES = (".c", ".h", ".i", ".ii", ".s", ".S", ".sx", ".o", ".a", ".so", ".cc", ".cp",
           ".cxx", ".cpp", ".c++", ".C", ".hh", ".hpp", ".m", ".mm", ".M")
# The paths of our own `cc`s a hand-over has passed, so a second copy of ours further on
# PATH passes it on instead of handing back (no loop, however many copies).
PASSED = "CC_AGENT_PASSED"
NOT_FOUND = 127     # as a shell's "command not found"


def for_compiler(args: list[str]) -> bool:
    """Whether a command line is a compiler's: its first word is an option we do not
    have, or it names a source or object file. A mistyped command of ours (`cc stauts`)
    is not, and gets our own error."""
    if not args or args[0] in OURS:
        return False
    return args[0].startswith("-") or any(a.endswith(SOURCES) for a in args)


def next_compiler(passed: set[str]) -> str | None:
    """The first `cc` on PATH that is not one of ours already passed."""
    for folder in os.environ.get("PATH", os.defpath).split(os.pathsep):
        candidate = os.path.join(folder or ".", "cc")
        if (os.path.isfile(candidate) and os.access(candidate, os.X_OK)
                and os.path.realpath(candidate) not in passed):
            return candidate
    return None


def hand_over(args: list[str]) -> None:
    """Exec the next `cc` on PATH with `args`; never returns. Without one, exit 127 with
    one line, as a shell would for a missing compiler."""
    passed = {p for p in os.environ.get(PASSED, "").split(os.pathsep) if p}
    passed.add(os.path.realpath(sys.argv[0]))
    compiler = next_compiler(passed)
    if compiler is None:
        sys.stderr.write("cc: no C compiler named cc on PATH (this cc is the contact-centre "
                         "tool: `cc --help`; install gcc or clang for builds)\n")
        sys.exit(NOT_FOUND)
    os.environ[PASSED] = os.pathsep.join(sorted(passed))
    try:
        os.execv(compiler, [compiler, *args])
    except OSError as exc:
        sys.stderr.write(f"cc: cannot run the C compiler {compiler}: {exc.strerror}\n")
        sys.exit(NOT_FOUND)


def main() -> None:
    """The `cc` entry point: a compiler's command line goes to the compiler, anything
    else to the contact-centre tool."""
    if "_CC_COMPLETE" not in os.environ and for_compiler(sys.argv[1:]):
        hand_over(sys.argv[1:])
    ours()


def ours() -> None:
    """The contact-centre tool (`cccli`'s entry point): a Tab of the completion scripts
    (cccli/shells.py, with _CC_COMPLETE set) is answered by cccli.tab alone, a hot command
    line by cccli.hot without the Typer app, anything else by the app."""
    if "_CC_COMPLETE" in os.environ:
        from .tab import main as tab

        tab()
    from .hot import main as hot

    hot(sys.argv[1:])
    from .app import main as app

    app()
