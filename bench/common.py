"""What every benchmark shares: an emulator and daemons that are always stopped, timing,
percentiles and the one line each figure prints.

Processes are started the way tests/conftest.py starts them (through `cc`, under a
private short CC_HOME), and every one of them is registered for cleanup at once, so an
exception, Ctrl-C or SIGTERM in the middle of a benchmark still stops them.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

from daemon import testing, wire
from daemon.testing import wait_until  # noqa: F401  (the benchmarks' one way to wait)

BIN = Path(sys.executable).parent
CC = str(BIN / "cc")
PYTHON = sys.executable
VERBOSE = bool(os.environ.get("BENCH_VERBOSE"))
CACHE = Path("/tmp/cc-bench-cache")

# Every process we start reads its modules' bytecode from a cache of ours, as an installed
# cc would from site-packages: with PYTHONDONTWRITEBYTECODE set (as in some shells) an
# editable install would compile cccli/ and daemon/ again at every run. A prefix keeps
# the .pyc files out of the source tree.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV["PYTHONPYCACHEPREFIX"] = str(CACHE / "pycache")

LOGIN, PASSWORD = "ivanova", "bench"
NEVER_ANSWERS = "+380441110003"

def note(text: str) -> None:
    """Progress for whoever debugs a benchmark (BENCH_VERBOSE=1); stdout keeps the figures."""
    if VERBOSE:
        print(f"bench: {text}", file=sys.stderr, flush=True)


# -- cleanup: last started, first stopped; runs once, also on SIGTERM and at exit
_cleanups: list = []


def on_cleanup(action) -> None:
    _cleanups.append(action)


def cleanup() -> None:
    while _cleanups:
        action = _cleanups.pop()
        try:
            action()
        except Exception as exc:   # one failed stop must not leave the others running
            print(f"bench: cleanup failed: {exc}", file=sys.stderr)


def _terminated(signum, frame) -> None:
    raise SystemExit(128 + signum)


atexit.register(cleanup)
signal.signal(signal.SIGTERM, _terminated)
signal.signal(signal.SIGHUP, _terminated)


def standalone(run) -> None:
    """`python -m bench.NAME`: one benchmark's lines, everything it started stopped."""
    try:
        print("\n".join(run()))
    finally:
        cleanup()


class Emulator(testing.Emulator):
    """`cc emulator run` on a free port, stopped at cleanup."""

    def __init__(self, scale: float = 10.0):
        super().__init__(scale=scale, env=ENV,
                         scenario=testing.scenario_text(scale, password=PASSWORD))
        on_cleanup(self.stop)
        note(f"emulator pid {self.proc.pid} on {self.url}")


class Agent(testing.Agent):
    """One agent's profile under a short private CC_HOME, with the default settings."""

    def __init__(self, emulator: Emulator, **settings):
        super().__init__(emulator, LOGIN, PASSWORD, env=ENV, quick=False, **settings)
        on_cleanup(lambda: shutil.rmtree(self.home, ignore_errors=True))
        self.pid: int | None = None

    @property
    def request_socket(self) -> str:
        return f"ipc://{self.home / 'run' / wire.REQUEST_SOCKET}"

    def start(self) -> "Agent":
        """Start the daemon and wait until it has logged in."""
        on_cleanup(lambda: self.stop(keep_home=True))
        try:
            super().start()
            self.wait_logged_in(20)
        except AssertionError as exc:   # the profile is deleted at cleanup: keep the clue
            raise RuntimeError(f"{exc}; the daemon's log ends: {self.log_tail()}") from None
        self.pid = self.daemon_pid()
        note(f"daemon pid {self.pid} under {self.home}")
        return self


# -- measures
def rss_mib(pid: int, field: str = "VmRSS") -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values, pct: float) -> float:
    """Nearest-rank percentile: the value below which pct % of the samples fall."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


def median(values) -> float:
    return statistics.median(values)


def timed_run(argv, env=None, **kwargs) -> float:
    """Seconds from process start to exit, output captured; a failure is an error."""
    start = time.perf_counter()
    done = subprocess.run(argv, env=env or ENV, capture_output=True, timeout=240, **kwargs)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv))} exited {done.returncode}: "
                           f"{done.stderr.decode(errors='replace').strip()}")
    return elapsed


def ms(seconds: float) -> str:
    value = seconds * 1000
    return f"{value:.2f} ms" if value < 10 else f"{value:.0f} ms"


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"
