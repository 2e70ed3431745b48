"""A text written in the user's editor ($VISUAL, then $EDITOR, then vi), as git does for a
commit message: the current text in a private temporary file, the editor on the terminal,
the file read back once the editor exits."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile

from daemon.wire import ErrorCode, WireError


def editor() -> list[str]:
    """The editor's command line: VISUAL, then EDITOR (each may carry options, as
    `code --wait`), then vi."""
    for name in ("VISUAL", "EDITOR"):
        value = os.environ.get(name, "").strip()
        if value:
            try:
                words = shlex.split(value)
            except ValueError as exc:
                raise WireError(ErrorCode.CONFIG, f"${name} '{value}' cannot be read as a "
                                f"command ({exc}): fix it") from None
            if words:
                return words
    return ["vi"]


def edit(current: str, what: str, most: int) -> str:
    """The text as the user left it in the editor, started on `current`; `what` names it
    in errors. The end's blank lines and spaces are cut (editors add a last newline); a
    file far over `most` is not read whole (the caller refuses a text over `most`)."""
    command = editor()
    fd, path = tempfile.mkstemp(prefix="cc-", suffix=".txt")    # mode 0600: only ours
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(current + "\n" if current else "")
        terminal = None
        if not sys.stdout.isatty():     # output piped (--json): the editor draws on the tty
            try:
                terminal = open("/dev/tty", "w")
            except OSError:
                pass
        try:
            done = subprocess.run([*command, path], stdout=terminal)
        except OSError as exc:
            raise WireError(ErrorCode.CONFIG, f"cannot run the editor '{command[0]}': "
                            f"{exc.strerror}; set VISUAL or EDITOR to one you have") from None
        finally:
            if terminal is not None:
                terminal.close()
        if done.returncode != 0:
            raise WireError(ErrorCode.FAILED, f"the editor '{command[0]}' exited with "
                            f"{done.returncode}: {what} was not changed")
        try:
            with open(path, encoding="utf-8") as file:
                text = file.read(4 * most + 1)
            # Past 4 × `most` characters it is over however its end is trimmed: kept so.
            return text if len(text) > 4 * most else text.rstrip()
        except UnicodeDecodeError:
            raise WireError(ErrorCode.BAD_INPUT, f"the file the editor left is not UTF-8 "
                            f"text: {what} was not changed") from None
        except OSError as exc:
            raise WireError(ErrorCode.FAILED, f"cannot read the file the editor left "
                            f"({exc.strerror}): {what} was not changed") from None
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass


def description_from_stdin() -> str:
    """A call's description given as `-`: standard input, its last line breaks cut."""
    from daemon.wire import DESCRIPTION_BYTES

    cap = 4 * DESCRIPTION_BYTES     # a runaway pipe is not read whole
    try:
        text = sys.stdin.read(cap + 1)
    except UnicodeDecodeError:
        raise WireError(ErrorCode.BAD_INPUT, "the description on standard input is not "
                        "UTF-8 text") from None
    return text.rstrip("\n") if len(text) <= cap else text   # past the cap it is over
