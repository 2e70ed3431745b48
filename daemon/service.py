"""The daemon's life: the profile's lock, the sockets, the loop, the shutdown.

One asyncio loop. CLI requests arrive on a ZeroMQ ROUTER socket (and, with
remote.endpoint, on a CURVE-secured TCP one) and are each answered in a task of their
own through the command table (`handlers/`); every change is published, numbered, on a
PUB socket (`feed.py`). What the daemon does lives in its parts (`handlers/context.py`).
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import logging.handlers
import os
import resource
import signal
import stat
import sys

import zmq
import zmq.asyncio

from . import handlers, profile, wire
from .feed import Feed
from .handlers.context import StartError, open_context

log = logging.getLogger("cc.daemon")
MAX_IPC_PATH = 100   # sun_path holds 108 bytes on Linux
LOG_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"
LOG_MAX_BYTES = 10_485_760     # daemon.log is rotated at this size, like the journal
LOG_BACKUPS = 5


def prepare_run_dir(path) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise StartError(f"{path} is open to other users (mode {mode:o}): run "
                          f"`chmod 700 {path}` so only you can reach the daemon")


class Daemon:
    def __init__(self, paths: profile.Paths, settings: dict):
        self.paths = paths
        self.settings = settings
        self.feed = Feed()
        self.ctx = None
        self.zmq = None
        self.sockets: list = []
        self.auth = None
        self._stop = asyncio.Event()
        self._lock_fd: int | None = None
        self._tasks: set[asyncio.Task] = set()

    def _take_lock(self) -> None:
        fd = os.open(self.paths.lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = os.read(fd, 32).decode().strip() or "?"
            os.close(fd)
            raise StartError(f"another cc daemon (pid {other}) already runs for this profile "
                              f"({self.paths.run_dir}); stop it with `cc daemon stop`") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._lock_fd = fd

    def _socket_paths(self) -> list:
        found = [self.paths.socket(name) for name in (wire.REQUEST_SOCKET, wire.EVENTS_SOCKET)]
        for path in found:
            if len(str(path)) > MAX_IPC_PATH:
                raise StartError(f"socket path too long for the system ({path}); use a "
                                  "shorter CC_HOME")
        return found

    async def run(self) -> None:
        prepare_run_dir(self.paths.run_dir)
        self._take_lock()
        profile.make_private([self.paths.data_dir, self.paths.log_dir])
        try:
            serving = await self._start()
        except BaseException:
            await self._shutdown()       # nothing half-started outlives a failed start
            raise
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        log.info("daemon %d ready: requests on %s, events from the server at %s", os.getpid(),
                 self.paths.socket(wire.REQUEST_SOCKET), self.ctx.session.events_url)
        servers = [asyncio.create_task(self._serve(sock, remote))
                   for sock, remote in serving]
        await self._stop.wait()
        for task in servers:
            task.cancel()
        await self._shutdown()

    async def _start(self) -> list:
        """Bind the sockets, then open the parts; the sockets to serve requests on, each
        with whether it is the remote endpoint."""
        requests, events = self._socket_paths()
        for path in (requests, events):
            path.unlink(missing_ok=True)   # left by a daemon that died; we hold the lock
        self.zmq = zmq.asyncio.Context()
        serving = [(self._bind(zmq.ROUTER, f"ipc://{requests}"), False)]
        self.feed.socket = self._bind(zmq.PUB, f"ipc://{events}")
        for path in (requests, events):
            os.chmod(path, 0o600)
        if self.settings["remote.endpoint"]:
            serving.append((self._remote_socket(self.settings["remote.endpoint"]), True))
        self.ctx = await open_context(self.paths, self.settings, self.feed, self.spawn,
                                      self._stop.set)
        return serving

    def _socket(self, kind: int):
        sock = self.zmq.socket(kind)
        sock.setsockopt(zmq.LINGER, 0)
        # libzmq drops a longer message before it is buffered, and disconnects its sender
        sock.setsockopt(zmq.MAXMSGSIZE, wire.MAX_REQUEST_BYTES)
        return sock

    def _bind(self, kind: int, endpoint: str):
        sock = self._socket(kind)
        sock.bind(endpoint)
        self.sockets.append(sock)
        return sock

    def _remote_socket(self, endpoint: str):
        """A ROUTER on TCP that only clients with an authorised CURVE key may use."""
        import zmq.auth
        from zmq.auth.asyncio import AsyncioAuthenticator

        keys = self.paths.keys_dir
        secret = keys / "server.key_secret"
        if not secret.exists():
            raise StartError(f"remote.endpoint is set but there are no keys in {keys}: run "
                              "`cc daemon keys`")
        self.auth = AsyncioAuthenticator(self.zmq)
        self.auth.start()
        self.auth.configure_curve(domain="*", location=str(keys / "authorized"))
        public, private = zmq.auth.load_certificate(secret)
        sock = self._socket(zmq.ROUTER)
        sock.curve_secretkey, sock.curve_publickey = private, public
        sock.curve_server = True
        try:
            sock.bind(endpoint)
        except zmq.ZMQError as exc:
            raise StartError(f"cannot listen on remote.endpoint {endpoint}: {exc}") from None
        self.sockets.append(sock)
        log.info("remote control on %s (CURVE)", endpoint)
        return sock

    async def _serve(self, sock, remote: bool) -> None:
        while True:
            frames = await sock.recv_multipart()
            self.spawn(self._answer(sock, frames, remote))

    async def _answer(self, sock, frames: list[bytes], remote: bool) -> None:
        reply = await handlers.answer(self.ctx, frames[-1], remote)
        await sock.send_multipart([*frames[:-1], reply])

    def spawn(self, coro) -> None:
        """Run `coro` in the background; if it fails, the failure is logged, never lost."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task %s failed", task.get_coro().__qualname__,
                      exc_info=task.exception())

    async def _shutdown(self) -> None:
        log.info("stopping")
        if self.ctx is not None:
            await self.ctx.close()
        for sock in self.sockets:
            sock.close()
        if self.auth is not None:
            self.auth.stop()
        if self.zmq is not None:
            self.zmq.term()
        for name in (wire.REQUEST_SOCKET, wire.EVENTS_SOCKET):
            self.paths.socket(name).unlink(missing_ok=True)
        if self._lock_fd is not None:
            os.close(self._lock_fd)


class DaemonLog(logging.handlers.RotatingFileHandler):
    """log/daemon.log, rotated by size; the process's stdout and stderr follow the current
    file, so what bypasses logging (a crash, a library's last words) lands there too."""

    def __init__(self, path, max_bytes: int = LOG_MAX_BYTES, backups: int = LOG_BACKUPS):
        super().__init__(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
        self._follow()

    def doRollover(self) -> None:
        super().doRollover()
        self._follow()

    def _follow(self) -> None:
        if self.stream is None:
            return
        for std in (sys.stdout, sys.stderr):
            std.flush()
        for fd in (1, 2):
            os.dup2(self.stream.fileno(), fd)


def _same_file(fd: int, path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except OSError:
        return False


def log_to(paths: profile.Paths) -> None:
    """Log to stderr; when stderr is the profile's daemon.log already (`cc daemon start`
    sends it there), log to that file with rotation instead."""
    if not _same_file(2, paths.daemon_log):
        return
    try:
        handler = DaemonLog(paths.daemon_log, LOG_MAX_BYTES, LOG_BACKUPS)
    except OSError as exc:
        log.warning("daemon.log will not be rotated: %s", exc)
        return
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)


def raise_file_limit() -> None:
    """Take the hard limit of open files as ours: clients of the event listener and of the
    sockets must not run the daemon out of descriptors at the usual soft limit of 1,024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError) as exc:
            log.warning("cannot raise the open-file limit from %d to %d: %s", soft, hard, exc)
            return
        log.info("open-file limit raised from %d to %d", soft, hard)


def run_foreground() -> int:
    """`cc daemon run`: serve until SIGTERM/SIGINT or `cc daemon stop`."""
    os.umask(0o077)     # the call log, the journal, recordings and logs are the agent's alone
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format=LOG_FORMAT)
    try:
        paths = profile.paths()
        log_to(paths)
        raise_file_limit()
        settings = profile.load(paths.config_file)
        profile.check_private(settings, paths.config_file)
        asyncio.run(Daemon(paths, settings).run())
    except (StartError, profile.ConfigError) as exc:
        print(f"cc daemon: {exc}", file=sys.stderr)
        return int(wire.Exit.CONFIG)
    return 0
