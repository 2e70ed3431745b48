"""The ZeroMQ client of the daemon: one request, one reply, with a deadline."""

from __future__ import annotations

import os

from daemon import rundir, wire
from daemon.wire import ErrorCode, WireError

NOT_RUNNING = "the cc daemon is not running for this profile (start it with `cc daemon start`)"


def daemon_holds_lock(lock_file) -> bool:
    """True while a daemon holds the profile's lock (a socket left by a killed one is stale)."""
    import fcntl

    try:
        fd = os.open(lock_file, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _running(run: str) -> bool:
    """Whether a daemon runs in the run folder `run`: its socket is there, its lock held."""
    return (os.path.exists(os.path.join(run, wire.REQUEST_SOCKET))
            and daemon_holds_lock(os.path.join(run, rundir.LOCK)))


def request(cmd: str, timeout: float = 10.0, **args):
    """Send one request to the daemon and return its result, or raise WireError."""
    remote = remote_endpoint()
    if remote:
        from daemon import profile

        keys = profile.paths().keys_dir
    else:
        run = rundir.found(_running)
        if run is None:
            from daemon import profile

            profile.paths()     # a CC_HOME that is no folder is said as such
            raise WireError(ErrorCode.NOT_RUNNING, NOT_RUNNING)
        path = os.path.join(run, wire.REQUEST_SOCKET)
    try:
        if remote:
            return wire.exchange(remote, cmd, timeout,
                                 lambda sock: _curve_client(sock, keys), **args)
        return wire.exchange(f"ipc://{path}", cmd, timeout, **args)
    except wire.NoAnswer:
        where = f"at {remote} (are its keys yours? `cc daemon keys`)" if remote else \
            f"(is it stuck? see `cc daemon status`; socket {path})"
        raise WireError(ErrorCode.NOT_RUNNING,
                        f"the cc daemon did not answer within {timeout:g} s {where}") from None
    except wire.Dropped as exc:
        if not remote:
            raise WireError(ErrorCode.NOT_RUNNING, f"the cc daemon closed the connection "
                            f"before answering {cmd}: it stopped, or dropped the request (see "
                            "`cc daemon status` and its log)") from None
        advice = (f"are its keys yours? copy client.key_secret and server.key, which `cc "
                  f"daemon keys` made there, into {keys}")
        if exc.refused:
            raise WireError(ErrorCode.NOT_RUNNING, f"the cc daemon at {remote} refused this "
                            f"profile's key ({advice})") from None
        raise WireError(ErrorCode.NOT_RUNNING, f"the cc daemon at {remote} closed the "
                        f"connection before answering ({advice}; or it stopped)") from None


def file_argument(path: str) -> dict:
    """How a command names a file of this machine to the daemon: its absolute path. A
    remote daemon reads no file here, so it gets the file's text, within one request."""
    full = os.path.abspath(path)
    if not remote_endpoint():
        return {"path": full}
    from daemon import lookup

    try:
        data = lookup.read_regular(full, wire.MAX_REQUEST_BYTES)
    except lookup.TooBig as exc:
        raise WireError(ErrorCode.BAD_INPUT, f"{path}{exc.shown()} is over the "
                        f"{wire.MAX_REQUEST_BYTES:,} bytes a remote daemon takes in one "
                        "request: import it in parts, or on the daemon's machine") from None
    return {"text": lookup.decoded(full, data), "name": full}


def remote_endpoint() -> str | None:
    """The remote daemon's endpoint (CC_REMOTE), where no path on this machine means
    anything to the daemon."""
    return os.environ.get("CC_REMOTE") or None


def _curve_client(sock, keys) -> None:
    """CURVE for CC_REMOTE: this profile's client key and the daemon's public key."""
    import zmq.auth

    try:
        sock.curve_publickey, sock.curve_secretkey = zmq.auth.load_certificate(
            keys / "client.key_secret")
        sock.curve_serverkey, _ = zmq.auth.load_certificate(keys / "server.key")
    except (OSError, ValueError) as exc:
        raise WireError(ErrorCode.CONFIG,
                        f"CC_REMOTE needs keys in {keys} (client.key_secret and the "
                        f"daemon's server.key; `cc daemon keys` makes them): {exc}") from None


def env_password() -> str | None:
    return os.environ.get("CC_PASSWORD") or None
