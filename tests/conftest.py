"""Real processes on real sockets: the emulator, the daemon, and `cc` itself.

The helpers live in daemon/testing.py, shared with bench/; here they become fixtures.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from daemon import testing
from daemon.testing import (BIN, CC, Agent, Emulator, FaultProxy, Postgres,  # noqa: F401
                            advance, wait_until)


PROCESS_FIXTURES = {"emulator", "emulator_factory", "agent", "agent_factory", "manual",
                    "proxy", "postgres"}


def pytest_collection_modifyitems(items):
    """A test that starts the emulator or a daemon is end to end: `make test-fast` skips it."""
    for item in items:
        if PROCESS_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(autouse=True)
def no_profile_left_behind():
    """Every test removes the agent profiles it made (its own tmp_path is pytest's)."""
    before = set(testing.leftovers())
    yield
    left = [str(home) for home in testing.leftovers() if home not in before]
    assert not left, f"profiles left behind: {left}"


def need(program: str) -> str:
    """A program the test runs: skipped when it is not installed, except in CI (CI=true),
    where .ci/run installs it and its absence fails the test."""
    path = shutil.which(program)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{program} is not installed, and CI must test it (.ci/run installs "
                        "it)")
        pytest.skip(f"{program} is not installed")
    return path


def modules_loaded(home: Path, *argv: str) -> tuple[set[str], str]:
    """The modules `cc ARGV` loads (run in a fresh interpreter, CC_HOME=home), and its output."""
    probe = ("import sys\n"
             f"sys.argv = ['cc', *{list(argv)!r}]\n"
             "from cccli.compiler import ours as main\n"
             "try:\n    main()\nexcept SystemExit:\n    pass\n"
             "print(' '.join(sorted(sys.modules)))\n")
    done = subprocess.run([sys.executable, "-c", probe], env={**os.environ, "CC_HOME": str(home)},
                          capture_output=True, text=True, timeout=60)
    *output, modules = done.stdout.splitlines() or [""]
    assert "sys" in modules.split(), done.stdout + done.stderr     # the probe got to its end
    return set(modules.split()), "\n".join(output) + done.stderr


@pytest.fixture
def emulator_factory(tmp_path):
    started = []

    def make(scale: float = 10.0, raw: bool = False, manual_clock: bool = False,
             host: str = "127.0.0.1") -> Emulator:
        workdir = tmp_path / f"emulator{len(started)}"
        workdir.mkdir()
        emu = Emulator(workdir, scale, raw, manual_clock, host=host)
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


@pytest.fixture
def manual(emulator_factory, agent_factory):
    """An emulator and an agent's daemon, both on manual clocks, the agent logged in."""
    emulator = emulator_factory(manual_clock=True)
    agent = agent_factory(emulator, manual_clock=True).start()
    agent.wait_logged_in()
    return emulator, agent


@pytest.fixture
def postgres():
    """A throw-away PostgreSQL server of this test's own (`daemon.testing.Postgres`), in a
    folder of its own under /tmp (the server's user cannot enter pytest's)."""
    server = Postgres()
    yield server
    server.close()


@pytest.fixture
def proxy(emulator_factory, tmp_path):
    """An emulator on a manual clock with the fault proxy in front of it (`proxy.emulator`);
    an agent reaches it through the proxy with `server.port` set to `proxy.port`."""
    started = FaultProxy(emulator_factory(manual_clock=True), tmp_path)
    yield started
    started.stop()
