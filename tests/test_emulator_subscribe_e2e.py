"""`cc emulator subscribe`: point the emulator's events at a daemon started by hand."""

from __future__ import annotations

import json
import socket

from conftest import wait_until


def pushed(agent, path: str, call_id) -> bool:
    """True once the daemon's journal holds an event pushed to it (not a poll's answer)."""
    journal = agent.home / "log" / "journal.xml"
    lines = journal.read_text(errors="replace").splitlines() if journal.exists() else []
    return any('kind="event"' in line and f'path="{path}"' in line and f">{call_id}<" in line
               for line in lines)


def one_line(done) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cc: "), done.stderr
    return lines[0]


def test_subscribe_points_the_emulator_at_the_running_daemon(emulator, agent_factory):
    # The daemon must not subscribe itself here: only the command may.
    agent = agent_factory(emulator).start(subscribe=False)
    agent.wait_logged_in()
    done = agent.cc("emulator", "subscribe", "--url", emulator.url, "--json")
    assert json.loads(done.stdout) == {"Subscribed": agent.status()["events_url"]}
    call_id = emulator.admin("call-in", From="+380671112233", To="101")["IDCall"]
    wait_until(lambda: pushed(agent, "/call/OnCallCreated/", call_id), 15,
               "the call's OnCallCreated pushed to the daemon")
    again = agent.cc("emulator", "subscribe", "--url", emulator.url)
    assert again.stdout == f"the emulator pushes events to {agent.status()['events_url']}\n"


def test_subscribe_errors_are_one_line_naming_the_fix(emulator, agent_factory):
    agent = agent_factory(emulator)
    done = agent.cc("emulator", "subscribe", "--url", emulator.url, check=False)
    assert done.returncode == 3
    line = one_line(done)
    assert "cc daemon start" in line and "cc emulator subscribe EVENTS_URL" in line
    done = agent.cc("emulator", "subscribe", "ftp://127.0.0.1:8080", "--url", emulator.url,
                    check=False)
    assert done.returncode == 9
    assert "'ftp://127.0.0.1:8080' is not an events URL: give http://HOST:PORT" in one_line(done)
    with socket.socket() as probe:      # a port nothing listens on once it is closed
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    done = agent.cc("emulator", "subscribe", "http://127.0.0.1:8080", "--url", closed,
                    check=False)
    assert done.returncode == 7
    line = one_line(done)
    assert f"cannot reach the emulator at {closed}" in line and "cc emulator run" in line
