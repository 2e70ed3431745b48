"""Real processes on real sockets: the emulator, the daemon, and `cc` itself."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from daemon.emulator.admin import Admin

BIN = Path(sys.executable).parent
CC = str(BIN / "cc")

SCENARIO = """
[server]
time_scale = {scale}
ring_timeout = 60
finished_linger = 30
raw_answers = {raw}

[[users]]
login = "ivanova"
password = "s3cret"
id = 5001790109
extension = "101"
name = "Olena Ivanova"
position = "Senior agent"
department = "Sales"

[[users]]
login = "petrenko"
password = "s3cret"
id = 5001790110
extension = "102"
name = "Petro Petrenko"
position = "Agent"
department = "Support"

[[numbers]]
match = "+380441110001"
answer_after = 2

[[numbers]]
match = "+380441110002"
busy = true

[[numbers]]
match = "+380441110003"
never_answer = true

[[numbers]]
match = "+380441110004"
answer_after = 1
hangup_after = 5

[[numbers]]
match = "*"
answer_after = 3

[[groups]]
number = "500"
name = "Sales line"
order = "ring-all"
extensions = ["101", "102"]
hunt_timeout = 5

[[groups]]
number = "501"
name = "Support line"
order = "hunt"
extensions = ["102", "101"]
hunt_timeout = 5
"""


def wait_until(condition, timeout: float = 10.0, what: str = "condition", interval=0.02):
    """Poll `condition` until it returns something truthy, or fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def modules_loaded(home: Path, *argv: str) -> tuple[set[str], str]:
    """The modules `cc ARGV` loads (run in a fresh interpreter, CC_HOME=home), and its output."""
    probe = ("import sys\n"
             f"sys.argv = ['cc', *{list(argv)!r}]\n"
             "from cccli.app import main\n"
             "try:\n    main()\nexcept SystemExit:\n    pass\n"
             "print(' '.join(sorted(sys.modules)))\n")
    done = subprocess.run([sys.executable, "-c", probe], env={**os.environ, "CC_HOME": str(home)},
                          capture_output=True, text=True, timeout=60)
    *output, modules = done.stdout.splitlines() or [""]
    assert "sys" in modules.split(), done.stdout + done.stderr     # the probe got to its end
    return set(modules.split()), "\n".join(output) + done.stderr


class Emulator:
    def __init__(self, workdir: Path, scale: float, raw: bool):
        self.scenario = workdir / "scenario.toml"
        self.scenario.write_text(SCENARIO.format(scale=scale, raw=str(raw).lower()))
        port_file = workdir / "emulator.port"
        self.log = open(workdir / "emulator.log", "wb")
        self.proc = subprocess.Popen(
            [CC, "emulator", "run", "--port", "0", "--port-file", str(port_file),
             "--scenario", str(self.scenario)], stdout=self.log, stderr=subprocess.STDOUT)
        text = wait_until(lambda: port_file.exists() and port_file.read_text().strip(),
                          15, "the emulator's port file")
        self.port = int(text)
        self.url = f"http://127.0.0.1:{self.port}"
        self.client = Admin(self.url)

    def admin(self, what: str, **params):
        return self.client.request(what, **params)

    def api(self, path: str, **params) -> dict:
        """An Infinity method called as another user's client would: its `result`."""
        query = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.url}{path}?{query}", timeout=5) as resp:
            return json.loads(resp.read())["result"]

    def now(self) -> float:
        return self.admin("clock")["Now"]

    def call(self, call_id) -> dict:
        for call in self.admin("calls")["Calls"]:
            if str(call["IDCall"]) == str(call_id):
                return call
        raise KeyError(call_id)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


class Agent:
    """One agent's profile (its own CC_HOME) driven through the `cc` command."""

    def __init__(self, emulator: Emulator, login="ivanova", password="s3cret", **settings):
        self.emulator = emulator
        # Short paths: a unix socket path must fit in 108 bytes.
        self.home = Path(tempfile.mkdtemp(prefix="cc-"))
        self.env = {**os.environ, "CC_HOME": str(self.home), "CC_PASSWORD": password}
        self.env.pop("XDG_RUNTIME_DIR", None)
        base = {"server.host": "127.0.0.1", "server.port": emulator.port,
                "server.login": login, "server.poll_interval": 0.5, "server.timeout": 3.0,
                "session.backoff_initial": 0.2, "session.backoff_cap": 1.0}
        base.update(settings)
        self.write_config(base)

    def write_config(self, settings: dict):
        sections: dict[str, list[str]] = {}
        for key, value in settings.items():
            section, name = key.split(".", 1)
            sections.setdefault(section, []).append(f"{name} = {json.dumps(value)}")
        text = "\n".join(f"[{s}]\n" + "\n".join(lines) + "\n" for s, lines in sections.items())
        (self.home / "config.toml").write_text(text)

    def cc(self, *args, check=True, timeout=30, input=None) -> subprocess.CompletedProcess:
        done = subprocess.run([CC, *map(str, args)], env=self.env, capture_output=True,
                              text=True, timeout=timeout, input=input)
        if check and done.returncode != 0:
            raise AssertionError(f"cc {' '.join(map(str, args))} exited {done.returncode}: "
                                 f"{done.stderr.strip()}")
        return done

    def json(self, *args):
        return json.loads(self.cc(*args, "--json").stdout)

    def start(self, subscribe: bool = True):
        """Start the daemon and, unless told not to, point the emulator's events at it."""
        self.cc("daemon", "start")
        if subscribe:
            self.subscribe()
        return self

    def subscribe(self):
        # As a real server's administrator sets its eventsURL; the port is new at each start.
        self.emulator.client.subscribe(self.status()["events_url"])

    def status(self):
        return self.json("status")

    def wait_logged_in(self):
        return wait_until(lambda: self.status()["session"] == "logged in", 15, "log-in")

    def wait_call_state(self, name: str, timeout=15):
        def check():
            calls = self.status()["calls"]
            return calls and calls[0]["state_name"] == name and calls[0]
        return wait_until(check, timeout, f"a call in state {name}")

    def log_row(self, call_id, **expected):
        def check():
            for row in self.json("log"):
                if row["call_id"] == str(call_id) and all(row[k] == v
                                                          for k, v in expected.items()):
                    return row
            return None
        return wait_until(check, 15, f"call {call_id} in the log with {expected}")

    def stop(self):
        done = self.cc("daemon", "stop", check=False)
        lock = self.home / "run" / "daemon.lock"
        if done.returncode not in (0, 3) and lock.exists():
            pid = lock.read_text().strip()
            if pid.isdigit():
                try:
                    os.kill(int(pid), 9)
                except ProcessLookupError:
                    pass
        shutil.rmtree(self.home, ignore_errors=True)


@pytest.fixture
def emulator_factory(tmp_path):
    started = []

    def make(scale: float = 10.0, raw: bool = False) -> Emulator:
        workdir = tmp_path / f"emulator{len(started)}"
        workdir.mkdir()
        emu = Emulator(workdir, scale, raw)
        started.append(emu)
        return emu

    yield make
    for emu in started:
        emu.stop()


@pytest.fixture
def emulator(emulator_factory):
    return emulator_factory()


@pytest.fixture
def agent_factory():
    made = []

    def make(emulator, **kwargs) -> Agent:
        agent = Agent(emulator, **kwargs)
        made.append(agent)
        return agent

    yield make
    for agent in made:
        agent.stop()


@pytest.fixture
def agent(emulator, agent_factory):
    agent = agent_factory(emulator).start()
    agent.wait_logged_in()
    return agent
