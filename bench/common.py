"""What every benchmark shares: an emulator and daemons that are always stopped, timing,
percentiles and the one line each figure prints.

Processes are started the way tests/conftest.py starts them (through `cc`, under a
private short CC_HOME), and every one of them is registered for cleanup at once, so an
exception, Ctrl-C or SIGTERM in the middle of a benchmark still stops them.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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

LOGIN, PASSWORD, ID_USER, EXTENSION = "ivanova", "bench", 5001790109, "101"
NEVER_ANSWERS = "+380441110003"

SCENARIO = f"""
[server]
time_scale = {{scale}}
ring_timeout = 30
finished_linger = 30

[[users]]
login = "{LOGIN}"
password = "{PASSWORD}"
id = {ID_USER}
extension = "{EXTENSION}"
name = "Olena Ivanova"

[[users]]
login = "petrenko"
password = "{PASSWORD}"
id = 5001790110
extension = "102"
name = "Petro Petrenko"

[[numbers]]
match = "{NEVER_ANSWERS}"
never_answer = true

[[numbers]]
match = "*"
answer_after = 3
"""


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


def wait_until(condition, timeout: float, what: str, interval: float = 0.02):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class Emulator:
    """`cc emulator run` on a free port, stopped at cleanup."""

    def __init__(self, scale: float = 10.0):
        self.workdir = Path(tempfile.mkdtemp(prefix="cc-bench-emu-", dir="/tmp"))
        on_cleanup(lambda: shutil.rmtree(self.workdir, ignore_errors=True))
        scenario = self.workdir / "scenario.toml"
        scenario.write_text(SCENARIO.format(scale=scale))
        port_file = self.workdir / "emulator.port"
        self.log = open(self.workdir / "emulator.log", "wb")
        self.proc = subprocess.Popen(
            [CC, "emulator", "run", "--port", "0", "--port-file", str(port_file),
             "--scenario", str(scenario)],
            env=ENV, stdout=self.log, stderr=subprocess.STDOUT)
        on_cleanup(self.stop)
        text = wait_until(lambda: self.proc.poll() is not None or (
            port_file.exists() and port_file.read_text().strip()), 15, "the emulator's port")
        if self.proc.poll() is not None:
            raise RuntimeError(f"the emulator exited at start ({self.workdir / 'emulator.log'})")
        self.port = int(text)
        self.url = f"http://127.0.0.1:{self.port}"
        note(f"emulator pid {self.proc.pid} on {self.url}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Agent:
    """One agent's profile under a short private CC_HOME, driven through `cc`."""

    def __init__(self, emulator: Emulator, **settings):
        self.home = Path(tempfile.mkdtemp(prefix="cc-bench-", dir="/tmp"))
        on_cleanup(lambda: shutil.rmtree(self.home, ignore_errors=True))
        self.env = {**ENV, "CC_HOME": str(self.home), "CC_PASSWORD": PASSWORD}
        self.env.pop("XDG_RUNTIME_DIR", None)
        self.pid: int | None = None
        config = {"server.host": "127.0.0.1", "server.port": emulator.port,
                  "server.login": LOGIN, **settings}
        sections: dict[str, list[str]] = {}
        for key, value in config.items():
            section, name = key.split(".", 1)
            sections.setdefault(section, []).append(f"{name} = {json.dumps(value)}")
        (self.home / "config.toml").write_text(
            "\n".join(f"[{s}]\n" + "\n".join(lines) + "\n" for s, lines in sections.items()))

    @property
    def database(self) -> Path:
        return self.home / "data" / "calls.db"

    @property
    def request_socket(self) -> str:
        from daemon import wire

        return f"ipc://{self.home / 'run' / wire.REQUEST_SOCKET}"

    def cc(self, *args, timeout: float = 120) -> subprocess.CompletedProcess:
        done = subprocess.run([CC, *map(str, args)], env=self.env, capture_output=True,
                              text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"cc {' '.join(map(str, args))} exited {done.returncode}: "
                               f"{done.stderr.strip()}")
        return done

    def json(self, *args):
        return json.loads(self.cc(*args, "--json").stdout)

    def start(self) -> "Agent":
        """Start the daemon and wait until it has logged in."""
        on_cleanup(self.stop)
        try:
            self.cc("daemon", "start", "--timeout", 60)
            self.pid = self._lock_pid()
            wait_until(lambda: self.json("status")["session"] == "logged in", 20, "log-in",
                       interval=0.1)
        except RuntimeError as exc:   # the profile is deleted at cleanup: keep the clue
            raise RuntimeError(f"{exc}; the daemon's log ends: {self._log_tail()}") from None
        note(f"daemon pid {self.pid} under {self.home}")
        return self

    def _log_tail(self, count: int = 3) -> str:
        try:
            text = (self.home / "log" / "daemon.log").read_text(errors="replace")
        except OSError:
            return "(no log)"
        return " | ".join([line for line in text.splitlines() if line.strip()][-count:])

    def _lock_pid(self) -> int | None:
        lock = self.home / "run" / "daemon.lock"
        try:
            text = lock.read_text().strip()
        except OSError:
            return None
        return int(text) if text.isdigit() else None

    def stop(self) -> None:
        pid = self.pid or self._lock_pid()
        if pid is None:
            return
        done = subprocess.run([CC, "daemon", "stop"], env=self.env, capture_output=True,
                              timeout=30)
        if done.returncode not in (0, 3):
            _kill(pid)
        try:   # `cc daemon start` detaches the daemon: it is no child of ours to reap
            wait_until(lambda: not Path(f"/proc/{pid}").exists(), 5, "the daemon to exit")
        except RuntimeError:
            _kill(pid)
        self.pid = None


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
