"""How every run of `cc` ends when something fails, whichever path ran it (the Typer app
or the hot path): one line on stderr and an exit code, never a traceback (CC_DEBUG=1
shows one for an unexpected error); Ctrl-C exits 130 quietly. Imports neither Typer nor
rich."""

from __future__ import annotations

import os
import sys

from daemon.wire import Exit, WireError


def guarded(run, unexpected=None):
    """Call `run()`; a failure exits as described above. `unexpected(exc)` may exit first
    for an exception of its own kind (the app's: Click's usage errors)."""
    try:
        return run()
    except WireError as exc:
        from .render import plain

        sys.stderr.write(f"cc: {plain(exc.message)}\n")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:     # `cc status | true`: the reader has gone; as Click does
        _drop_output()
        sys.exit(1)
    except OSError as exc:      # the system refused: a folder, a disk, the output
        what = exc.strerror or str(exc)
        if exc.filename:
            said = (f"cannot use {exc.filename}: {what} (check it is yours and its disk has "
                    "room; CC_HOME moves a profile elsewhere)")
        else:
            said = f"cannot write the output: {what} (send it somewhere with room)"
            _drop_output()
        from .render import plain

        sys.stderr.write(f"cc: {plain(said)}\n")
        sys.exit(int(Exit.FAILED))
    except Exception as exc:    # a bug, or a system failure no command foresaw
        profile = sys.modules.get("daemon.profile")    # never imported: not its error
        if profile is not None and isinstance(exc, profile.ConfigError):
            from .render import plain

            sys.stderr.write(f"cc: {plain(str(exc))}\n")
            sys.exit(int(Exit.CONFIG))
        if unexpected is not None:
            unexpected(exc)
        if os.environ.get("CC_DEBUG"):
            raise
        what = " ".join(str(exc).split())[:300] or "no message"
        sys.stderr.write(f"cc: internal error: {type(exc).__name__}: {what}; run with "
                         "CC_DEBUG=1 for details\n")
        sys.exit(int(Exit.FAILED))


def _drop_output() -> None:
    """Send what is still buffered for stdout nowhere, so the exit does not fail on it
    again with a traceback."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass
