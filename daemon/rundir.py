"""Where a profile's daemon keeps its sockets and lock: found with the standard library
alone, since every command of `cc` needs it and the hot path imports nothing else of the
profile (daemon/profile.py's `paths()` uses this too, so the two never differ)."""

from __future__ import annotations

import os

APP = "cc"
LOCK = "daemon.lock"    # held by the running daemon


def home() -> str | None:
    """CC_HOME resolved, or None when it is not set. Whether it is a folder is for
    `profile.paths()` to say."""
    given = os.environ.get("CC_HOME")
    return os.path.realpath(os.path.expanduser(given)) if given else None


def run_dir() -> str:
    """The run folder: CC_HOME/run, or the user's runtime folder (platformdirs')."""
    base = home()
    if base:
        return os.path.join(base, "run")
    import warnings

    import platformdirs

    with warnings.catch_warnings():
        # Without XDG_RUNTIME_DIR platformdirs falls back to /tmp/runtime-UID, which we
        # then require to be private (see the daemon's socket directory check).
        warnings.simplefilter("ignore")
        return platformdirs.user_runtime_dir(APP)
