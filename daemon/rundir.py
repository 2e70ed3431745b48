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


def found(held) -> str | None:
    """The run folder of this profile's running daemon, or None when none runs. `held(run)`
    says whether a daemon is running in a run folder. Without CC_HOME, a guess made without
    platformdirs (whose import costs a command about 7 ms) is tried first,
    $XDG_RUNTIME_DIR/cc else /run/user/UID/cc: a daemon running there resolved its run
    folder to it, as platformdirs does here too (the same user, the same folders);
    platformdirs is asked only when none runs there."""
    base = home()
    if base:
        run = os.path.join(base, "run")
        return run if held(run) else None
    xdg = os.environ.get("XDG_RUNTIME_DIR", "")
    guess = os.path.join(xdg if os.path.isabs(xdg) else f"/run/user/{os.geteuid()}", APP)
    if held(guess):
        return guess
    other = run_dir()
    return other if other != guess and held(other) else None


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
