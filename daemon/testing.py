"""What tests and benchmarks drive: the emulator and agents' daemons as real processes on
real sockets, through the `cc` command (as aiohttp ships its test utilities).

    emulator = Emulator(workdir, manual_clock=True)
    agent = Agent(emulator, manual_clock=True).start()
    agent.wait_logged_in()
    advance(10, emulator, agent)       # both clocks ten seconds on, every timer fired

    proxy = FaultProxy(emulator)       # a server that misbehaves on purpose, path by path
    agent = Agent(emulator, **{"server.port": proxy.port})
    proxy.rule("/user/logon/", "redirect-loop")

Every helper waits on a condition with a deadline (`wait_until`), never for luck.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import aiohttp

from . import wire
from .clock import ENV as TEST_CLOCK
from .emulator.admin import Admin
from .wire import SessionStatus

BIN = Path(sys.executable).parent
CC = str(BIN / "cc")

# Two agents, far ends that each behave their own way, two groups.
USERS = (  # login, IDUser, extension, name, position, department
    ("ivanova", 5001790109, "101", "Olena Ivanova", "Senior agent", "Sales"),
    ("petrenko", 5001790110, "102", "Petro Petrenko", "Agent", "Support"),
)
NUMBERS = (  # the far end's number, how it behaves
    ("+380441110001", "answer_after = 2"), ("+380441110002", "busy = true"),
    ("+380441110003", "never_answer = true"),
    ("+380441110004", "answer_after = 1\nhangup_after = 5"), ("*", "answer_after = 3"),
)
GROUPS = (  # number, name, order, extensions
    ("500", "Sales line", "ring-all", ("101", "102")),
    ("501", "Support line", "hunt", ("102", "101")),
)


def scenario_text(scale: float = 10.0, raw: bool = False, manual_clock: bool = False,
                  password: str = "s3cret") -> str:
    """The tests' scenario, with every agent's password `password`."""
    server = [f"time_scale = {scale}", "ring_timeout = 60", "finished_linger = 30",
              f"raw_answers = {str(raw).lower()}"] + (['clock = "manual"'] if manual_clock
                                                      else [])
    parts = ["[server]\n" + "\n".join(server)]
    parts += [f'[[users]]\nlogin = "{login}"\npassword = "{password}"\nid = {id_user}\n'
              f'extension = "{ext}"\nname = "{name}"\nposition = "{position}"\n'
              f'department = "{department}"'
              for login, id_user, ext, name, position, department in USERS]
    parts += [f'[[numbers]]\nmatch = "{match}"\n{rule}' for match, rule in NUMBERS]
    parts += [f'[[groups]]\nnumber = "{number}"\nname = "{name}"\norder = "{order}"\n'
              f"extensions = {list(exts)!r}\nhunt_timeout = 5".replace("'", '"')
              for number, name, order, exts in GROUPS]
    return "\n\n".join(parts) + "\n"


HOMES: set[Path] = set()        # every agent profile made, for a check that none is left


def leftovers() -> list[Path]:
    """The agent profiles made here that are still on disk."""
    return sorted(home for home in HOMES if home.exists())


class TimedOut(AssertionError):
    """A condition did not come true before its deadline."""


def wait_until(condition, timeout: float = 10.0, what: str = "condition",
               interval: float = 0.02):
    """Poll `condition` until it returns something truthy (and return that), or raise
    TimedOut naming `what` after `timeout` real seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimedOut(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def advance(seconds: float, emulator: "Emulator", *agents: "Agent") -> None:
    """Move the emulator's manual clock, then each agent's daemon's, `seconds` on."""
    emulator.advance(seconds)
    for agent in agents:
        agent.advance(seconds)


def config_text(settings: dict) -> str:
    sections: dict[str, list[str]] = {}
    for key, value in settings.items():
        section, name = key.split(".", 1)
        sections.setdefault(section, []).append(f"{name} = {json.dumps(value)}")
    return "\n".join(f"[{s}]\n" + "\n".join(lines) + "\n" for s, lines in sections.items())


# A journal's day as the daemon writes it: a request, its answer, an event, over again.
_JOURNAL_LINES = (
    '<message seq="{seq}" at="2026-11-25T09:41:{sec:02}.120Z" dir="sent" kind="request" '
    'path="/call/getactivecalls/"><param name="IDUser">5001790109</param></message>\n',
    '<message seq="{seq}" at="2026-11-25T09:41:{sec:02}.131Z" dir="received" kind="response" '
    'path="/call/getactivecalls/" status="200" ms="11"><result><Data><item><IDCall>'
    '{seq}</IDCall><Number>+380441110001</Number><State>21</State></item></Data></result>'
    '</message>\n',
    '<message seq="{seq}" at="2026-11-25T09:41:{sec:02}.140Z" dir="received" kind="event" '
    'path="/user/OnStateChanged/"><param name="IDUser">5001790110</param>'
    '<param name="IDUserState">301</param></message>\n',
)


def write_journal(path: Path, size: int) -> int:
    """A journal of about `size` bytes as the daemon writes it; the number of messages."""
    seq = 0
    with open(path, "w", encoding="utf-8") as out:
        while out.tell() < size:
            block = []
            for _ in range(1000):
                seq += 1
                block.append(_JOURNAL_LINES[seq % 3].format(seq=seq, sec=seq % 60))
            out.write("".join(block))
    return seq


def _tail(path: Path, count: int) -> str:
    """The last `count` lines of a process's log (the blank ones left out), on one line."""
    text = path.read_text(errors="replace")
    return " | ".join(line for line in text.splitlines()[-count:] if line.strip())


def _end(proc: subprocess.Popen) -> None:
    """Stop a helper process: SIGTERM, then SIGKILL if it is still there 10 s on."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Emulator:
    """`cc emulator run` on a free port with the tests' scenario (or `scenario`)."""

    def __init__(self, workdir: Path | None = None, scale: float = 10.0, raw: bool = False,
                 manual_clock: bool = False, scenario: str | None = None,
                 env: dict | None = None, host: str = "127.0.0.1",
                 replay: Path | None = None):
        """`host`: the address it listens on (another than loopback plays a server on
        another machine). `replay`: a journal that plays the server instead of a scenario
        (on the manual clock when `manual_clock`)."""
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="cc-emu-"))
        self.owns_workdir = workdir is None
        self.scenario = self.workdir / "scenario.toml"
        port_file = self.workdir / "emulator.port"
        if replay is None:
            self.scenario.write_text(scenario or scenario_text(scale, raw, manual_clock))
            serving = ["--scenario", str(self.scenario)]
        else:
            serving = ["--replay", str(replay)] + (["--manual-clock"] if manual_clock else
                                                   ["--time-scale", str(scale)])
        self.log = open(self.workdir / "emulator.log", "wb")
        self.proc = subprocess.Popen(
            [CC, "emulator", "run", "--host", host, "--port", "0", "--port-file",
             str(port_file), *serving], env=env, stdout=self.log, stderr=subprocess.STDOUT)
        text = wait_until(lambda: self.proc.poll() is not None or (
            port_file.exists() and port_file.read_text().strip()), 15, "the emulator's port")
        if self.proc.poll() is not None:
            raise RuntimeError(f"the emulator exited at start: {self.log_tail()}")
        self.port = int(text)
        self.host = host
        self.url = f"http://{host}:{self.port}"
        self.client = Admin(self.url)

    def admin(self, what: str, **params) -> dict:
        return self.client.request(what, **params)

    def api(self, path: str, **params) -> dict:
        """An Infinity method called as another user's client would: its `result`."""
        query = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.url}{path}?{query}", timeout=5) as resp:
            return json.loads(resp.read())["result"]

    def now(self) -> float:
        return self.admin("clock")["Now"]

    def advance(self, seconds: float) -> dict:
        return self.admin("advance", Seconds=seconds)

    def release(self) -> dict:
        """A replay on a manual clock: move the clock to the last event released so far,
        so each is pushed (at its own time, in order); the replay's state of play."""
        state = self.admin("replay")
        if state["Due"]:
            self.advance(max(state["Due"][-1]["At"] - self.now(), 0.001))
            state = self.admin("replay")
        return state

    def call(self, call_id) -> dict:
        for call in self.admin("calls")["Calls"]:
            if str(call["IDCall"]) == str(call_id):
                return call
        raise KeyError(call_id)

    def log_tail(self, count: int = 5) -> str:
        return _tail(self.workdir / "emulator.log", count)

    def stop(self) -> None:
        _end(self.proc)
        self.log.close()
        if self.owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


class FaultProxy:
    """daemon/faultproxy.py in front of `emulator` on a free port: an agent whose
    `server.port` is `port` reaches the emulator through it, and `rule` breaks the answers
    to one path (see daemon/faultproxy.py for the kinds)."""

    def __init__(self, emulator: Emulator, workdir: Path | None = None):
        self.emulator = emulator
        self.workdir = Path(workdir or emulator.workdir)
        port_file = self.workdir / "faultproxy.port"
        self.log = open(self.workdir / "faultproxy.log", "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "daemon.faultproxy", "--upstream", emulator.url,
             "--port", "0", "--port-file", str(port_file)], stdout=self.log,
            stderr=subprocess.STDOUT)
        text = wait_until(lambda: self.proc.poll() is not None or (
            port_file.exists() and port_file.read_text().strip()), 15, "the fault proxy's port")
        if self.proc.poll() is not None:
            raise RuntimeError(f"the fault proxy exited at start: {self.log_tail()}")
        self.port = int(text)
        self.url = f"http://127.0.0.1:{self.port}"

    def request(self, what: str, **params) -> dict:
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        try:
            with urllib.request.urlopen(f"{self.url}/_proxy/{what}/?{query}", timeout=5) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"the fault proxy refused {what} {params}: "
                                 f"{exc.read().decode(errors='replace').strip()}") from None

    def rule(self, path: str, kind: str, **params) -> dict:
        """Answer requests to `path` the way `kind` says: Count=N for the next N only."""
        return self.request("rule", Path=path, Kind=kind, **params)

    def clear(self) -> dict:
        return self.request("clear")

    def relay_events(self, agent: "Agent") -> None:
        """Put the proxy between the emulator's events and `agent`'s listener, so that
        `late` rules reorder them."""
        self.request("events", To=agent.status()["events_url"])
        self.emulator.client.subscribe(f"{self.url}/_events")

    def hits(self) -> dict:
        """Hits (requests seen) and Faults (faults served), per path; Rules still set."""
        return self.request("hits")

    def seen(self, path: str) -> int:
        return self.hits()["Hits"].get(path, 0)

    def served(self, path: str) -> int:
        return self.hits()["Faults"].get(path, 0)

    def log_tail(self, count: int = 5) -> str:
        return _tail(self.workdir / "faultproxy.log", count)

    def stop(self) -> None:
        _end(self.proc)
        self.log.close()


def postgres_bin() -> Path | None:
    """The folder of PostgreSQL's server programs: `CC_PG_BIN`, else Debian's newest
    /usr/lib/postgresql/<version>/bin (not on PATH there), else wherever PATH has them."""
    if os.environ.get("CC_PG_BIN"):
        return Path(os.environ["CC_PG_BIN"])
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                   key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit()
                   else 0)
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class Postgres:
    """A throw-away PostgreSQL server on a free port of 127.0.0.1, its files in a temporary
    folder: UTF-8 (C.UTF-8) so Cyrillic sorts and matches, passwords (SCRAM) over TCP as a
    site would have them, no fsync (nothing here outlives the test). `initdb`
    refuses root, so as root the server runs as the `postgres` user.

        server = Postgres()
        server.url(user="cc_admin", password="…")    # postgresql://…@127.0.0.1:PORT/cc
        server.stop(); server.start()                 # the same data, down and back up
    """

    SUPERUSER, PASSWORD, DATABASE = "postgres", "test-superuser-password", "cc"

    def __init__(self, workdir: Path | None = None):
        bin_dir = postgres_bin()
        if bin_dir is None:
            raise RuntimeError("no PostgreSQL server programs: install Debian's postgresql "
                               "package (.ci/run does) or set CC_PG_BIN")
        self.bin = bin_dir
        self.dir = Path(tempfile.mkdtemp(prefix="cc-pg-", dir=workdir))
        self.data = self.dir / "data"
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user:
            shutil.chown(self.dir, self.user)
        secret = self.dir / "superuser.pw"
        secret.write_text(self.PASSWORD + "\n")
        if self.user:
            shutil.chown(secret, self.user)
        self._run("initdb", "-D", self.data, "-U", self.SUPERUSER, "--pwfile", secret,
                  "--auth-host=scram-sha-256", "--auth-local=trust", "--locale=C.UTF-8",
                  "--encoding=UTF8", "--no-sync", "--no-instructions")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.start()
        self.admin_sql(f"create database {self.DATABASE}")

    def _run(self, program: str, *args) -> subprocess.CompletedProcess:
        done = subprocess.run([str(self.bin / program), *map(str, args)], user=self.user,
                              capture_output=True, text=True, timeout=60, cwd=self.dir)
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed: {done.stderr.strip() or done.stdout}")
        return done

    def start(self) -> None:
        # fsync off: the tests crash the server process, never the machine, so what it
        # wrote is in the page cache; every commit is still written before it is
        # acknowledged (synchronous_commit stays on), as a site's server does.
        options = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c full_page_writes=off -c max_connections=200")
        self._run("pg_ctl", "-D", self.data, "-o", options, "-l", self.dir / "server.log",
                  "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (`immediate` is a crash: no shutdown checkpoint)."""
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "60", "stop")

    def url(self, user: str | None = None, password: str | None = None,
            database: str | None = None) -> str:
        """A connection URL; without a user, the superuser's (the administrator's)."""
        user = user or self.SUPERUSER
        password = self.PASSWORD if password is None and user == self.SUPERUSER else password
        secret = f":{urllib.parse.quote(password, safe='')}" if password else ""
        return f"postgresql://{user}{secret}@127.0.0.1:{self.port}/{database or self.DATABASE}"

    def admin_sql(self, sql: str, database: str = "postgres") -> str:
        """Run SQL as the superuser through psql on the server's own socket."""
        done = self._run("psql", "-h", self.dir, "-p", self.port, "-U", self.SUPERUSER,
                         "-d", database, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql)
        return done.stdout.strip()

    def log_tail(self, count: int = 5) -> str:
        return _tail(self.dir / "server.log", count)

    def close(self) -> None:
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


class Agent:
    """One agent's profile (its own short CC_HOME: a socket path must fit in 108 bytes),
    driven through the `cc` command."""

    def __init__(self, emulator: Emulator, login: str = "ivanova", password: str = "s3cret",
                 manual_clock: bool = False, env: dict | None = None, quick: bool = True,
                 **settings):
        """`quick`: poll and reconnect faster than the defaults, as tests want; benchmarks
        measure the defaults."""
        self.emulator = emulator
        self.home = Path(tempfile.mkdtemp(prefix="cc-"))
        HOMES.add(self.home)
        self.env = {**(env or os.environ), "CC_HOME": str(self.home), "CC_PASSWORD": password}
        self.env.pop("XDG_RUNTIME_DIR", None)
        if manual_clock:
            self.env[TEST_CLOCK] = "manual"
        base = {"server.host": getattr(emulator, "host", "127.0.0.1"),
                "server.port": emulator.port, "server.login": login}
        if quick:
            base.update({"server.poll_interval": 0.5, "server.timeout": 3.0,
                         "session.backoff_initial": 0.2, "session.backoff_cap": 1.0})
        self.write_config({**base, **settings})
        self.running: list[Running] = []

    def write_config(self, settings: dict) -> None:
        (self.home / "config.toml").write_text(config_text(settings))

    @property
    def database(self) -> Path:
        return self.home / "data" / "calls.db"

    @property
    def daemon_log(self) -> Path:
        return self.home / "log" / "daemon.log"

    def cc(self, *args, check=True, timeout=30, input=None,
           preexec_fn=None) -> subprocess.CompletedProcess:
        done = subprocess.run([CC, *map(str, args)], env=self.env, capture_output=True,
                              text=True, timeout=timeout, input=input, preexec_fn=preexec_fn)
        if check and done.returncode != 0:
            raise AssertionError(f"cc {' '.join(map(str, args))} exited {done.returncode}: "
                                 f"{done.stderr.strip()}")
        return done

    def json(self, *args):
        return json.loads(self.cc(*args, "--json").stdout)

    def begin(self, *args) -> "Running":
        """Start `cc ARGS` and leave it running, for a command that waits on a clock the
        test then moves (`dial --wait`); `finish()` collects it."""
        running = Running(self, args)
        self.running.append(running)
        return running

    def dial_answered(self, number: str, after: float) -> dict:
        """Dial `number` with the emulator on a manual clock, move it the `after` seconds
        its far end takes to answer, and return the call once the daemon shows it
        Connected."""
        call_id = self.json("dial", number)["call_id"]
        self.emulator.advance(after)
        connected = self.wait_call_state("Connected")
        assert connected["call_id"] == call_id, connected
        return connected

    def answers_from_server(self, path: str) -> int:
        """How many answers to the method `path` the daemon's journal holds: a command
        that waits on the daemon's clock after one has started that wait."""
        journal = self.home / "log" / "journal.xml"
        text = journal.read_text(errors="replace") if journal.exists() else ""
        return sum('kind="response"' in line and f'path="{path}"' in line
                   for line in text.splitlines())

    def request(self, cmd: str, timeout: float = 30, **args):
        """One request to the daemon on its socket, as any client may send it."""
        try:
            return wire.exchange(f"ipc://{self.home / 'run' / wire.REQUEST_SOCKET}", cmd,
                                 timeout, **args)
        except wire.NoAnswer:
            raise TimedOut(f"the daemon did not answer {cmd} within {timeout:g} s") from None

    def advance(self, seconds: float) -> dict:
        """Move this daemon's manual clock on (started with manual_clock=True)."""
        return self.request("clock_advance", seconds=seconds)

    def start(self, subscribe: bool = True, max_files: int | None = None) -> "Agent":
        """Start the daemon and, unless told not to, point the emulator's events at it, as
        a real server's administrator sets its eventsURL (the port is new at each start).
        `max_files`: the soft limit of open files the daemon starts with."""
        limit = None if max_files is None else lambda: _limit_files(max_files)
        self.cc("daemon", "start", "--timeout", 60, timeout=90, preexec_fn=limit)
        if subscribe:
            self.subscribe()
        return self

    def subscribe(self) -> None:
        self.emulator.client.subscribe(self.status()["events_url"])

    def status(self) -> dict:
        return self.json("status")

    def wait_logged_in(self, timeout: float = 15) -> dict:
        return wait_until(lambda: (s := self.status())["session"] == SessionStatus.LOGGED_IN
                          and s, timeout, "log-in")

    def wait_call_state(self, name: str, timeout: float = 15) -> dict:
        def check():
            calls = self.status()["calls"]
            return calls and calls[0]["state_name"] == name and calls[0]
        return wait_until(check, timeout, f"a call in state {name}")

    def log_row(self, call_id, timeout: float = 15, **expected) -> dict:
        def check():
            for row in self.json("log"):
                if row["call_id"] == str(call_id) and all(row[k] == v
                                                          for k, v in expected.items()):
                    return row
            return None
        return wait_until(check, timeout, f"call {call_id} in the log with {expected}")

    def daemon_pid(self) -> int | None:
        try:
            text = (self.home / "run" / "daemon.lock").read_text().strip()
        except OSError:
            return None
        return int(text) if text.isdigit() else None

    def log_tail(self, count: int = 3) -> str:
        try:
            text = self.daemon_log.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return " | ".join([line for line in text.splitlines() if line.strip()][-count:])

    def stop(self, keep_home: bool = False) -> None:
        """Stop the daemon (killed if it does not stop), any `cc` left running, and delete
        the profile."""
        for running in self.running:
            running.kill()
        pid = self.daemon_pid()
        done = self.cc("daemon", "stop", check=False)
        if pid is not None and done.returncode not in (0, 3):
            _kill(pid)
        if pid is not None:   # `cc daemon start` detaches it: no child of ours to reap
            try:
                wait_until(lambda: not Path(f"/proc/{pid}").exists(), 5, "the daemon to exit")
            except TimedOut:
                _kill(pid)
        if not keep_home:
            shutil.rmtree(self.home, ignore_errors=True)


def _limit_files(soft: int) -> None:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def process_rss(pid: int) -> int:
    """A process's resident memory in bytes (/proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise ValueError(f"no VmRSS for process {pid}")


def open_files(pid: int) -> int:
    """How many descriptors a process holds open (/proc)."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def file_limits(pid: int) -> tuple[int, int]:
    """A process's soft and hard limits of open files (/proc)."""
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            soft, hard = line.split()[3:5]
            return int(soft), int(hard)
    raise ValueError(f"no open-file limits for process {pid}")


class Hostile:
    """A client of a daemon's event listener that misbehaves, as an attacker on the
    network would: slow clients, forged events, requests that are not HTTP."""

    PARTIAL = b"GET /user/OnStateChanged/?IDUser=1&IDUserState=300 HTTP/1.1\r\nHost: x\r\n"

    def __init__(self, events_url: str):
        url = urllib.parse.urlsplit(events_url)
        self.base = events_url.rstrip("/")
        self.host, self.port = url.hostname, url.port
        self.slow: list[socket.socket] = []

    def open_slow(self, count: int) -> None:
        """`count` connections that each send part of a request's headers, then nothing."""
        for _ in range(count):
            sock = socket.create_connection((self.host, self.port), timeout=10)
            try:
                sock.sendall(self.PARTIAL)
            except OSError:            # closed by the daemon at once: still one we hold
                pass
            sock.setblocking(False)
            self.slow.append(sock)

    def slow_still_open(self) -> int:
        """How many of the slow connections the daemon has not closed yet."""
        still = 0
        for sock in self.slow:
            try:
                still += sock.recv(4096) != b""
            except BlockingIOError:
                still += 1
            except OSError:
                pass
        return still

    def raw(self, data: bytes) -> bytes:
        """Send `data` on a connection of its own; what the daemon answers before closing."""
        with socket.create_connection((self.host, self.port), timeout=10) as sock:
            sock.sendall(data)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
            return answer

    def forge(self, paths: list[str], concurrency: int = 32) -> list[int]:
        """GET each of `paths` (a path and query under the events URL) as fast as
        `concurrency` connections allow; the HTTP status of each."""
        async def main() -> list[int]:
            statuses = [0] * len(paths)
            connector = aiohttp.TCPConnector(limit=concurrency)
            async with aiohttp.ClientSession(connector=connector) as http:
                async def sender(first: int) -> None:
                    for n in range(first, len(paths), concurrency):
                        async with http.get(self.base + paths[n]) as resp:
                            await resp.read()
                            statuses[n] = resp.status
                await asyncio.gather(*(sender(i) for i in range(concurrency)))
            return statuses

        return asyncio.run(main())

    def close(self) -> None:
        for sock in self.slow:
            sock.close()
        self.slow.clear()


class Running:
    """A `cc` command started by `Agent.begin` that has not been collected yet."""

    def __init__(self, agent: Agent, args: tuple):
        self.args = [str(a) for a in args]
        self.proc = subprocess.Popen([CC, *self.args], env=agent.env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)

    def finish(self, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess:
        """Wait for the command to end (TimedOut after `timeout` real seconds)."""
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise TimedOut(f"cc {' '.join(self.args)} still ran after {timeout:g} s") from None
        done = subprocess.CompletedProcess(self.proc.args, self.proc.returncode, out, err)
        if check and done.returncode != 0:
            raise AssertionError(f"cc {' '.join(self.args)} exited {done.returncode}: "
                                 f"{err.strip()}")
        return done

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
