"""The password never leaves in clear, whatever the server answers, and what the daemon
writes is the agent's alone: a real daemon against servers that misbehave on purpose."""

from __future__ import annotations

import stat
from urllib.parse import quote, quote_plus

import pytest
from yarl import URL

from conftest import wait_until
from daemon.infinity.client import MAX_ANSWER, redact

PASSWORD = "Sup3r s3cret/pw?&="
# As typed, URL-encoded each usual way, and as aiohttp writes it into a query (it leaves
# `/` and `?` alone there): the form a request line or an error about it carries.
FORMS = {PASSWORD, quote(PASSWORD), quote_plus(PASSWORD), quote(PASSWORD, safe=""),
         URL.build(query={"P": PASSWORD}).raw_query_string[2:]}
# How the fault proxy answers the log-on, and what the daemon then says of it.
MANGLED_LOG_ONS = {
    "redirect-loop": ({}, "redirect"),                  # to itself, the password in tow
    "broken-status-line": ({}, "cannot reach the server"),  # the request line echoed in it
    "oversize": ({}, f"over the {MAX_ANSWER}-byte limit"),
    "drop": ({}, "cannot reach the server"),
    "status": ({"Status": 500, "Body": "Internal Server Error"}, "HTTP 500"),
}


def leaks(agent, *outputs: str) -> list[str]:
    """Where the password shows, in the outputs given or any file under CC_HOME."""
    found = [f"output {n}" for n, text in enumerate(outputs) if any(f in text for f in FORMS)]
    for path in agent.home.rglob("*"):
        if path.is_file():
            text = path.read_bytes().decode("utf-8", errors="replace")
            found += [str(path)] if any(f in text for f in FORMS) else []
    return found


def test_an_error_text_shows_the_password_in_none_of_its_forms():
    text = " ".join(f"url=/user/logon/?Login=ivanova&Password={form}" for form in FORMS)
    hidden = redact(text, {"Login": "ivanova", "Password": PASSWORD})
    assert hidden.count("Password=***") == len(FORMS) and "Login=ivanova" in hidden


@pytest.mark.parametrize("kind", MANGLED_LOG_ONS)
def test_a_log_on_the_server_mangles_says_so_without_the_password(proxy, agent_factory, kind):
    params, said = MANGLED_LOG_ONS[kind]
    proxy.rule("/user/logon/", kind, **params)
    agent = agent_factory(proxy.emulator, password=PASSWORD, **{"server.port": proxy.port})
    started = agent.cc("daemon", "start", check=False)
    status = wait_until(lambda: (s := agent.status())["last_error"] and s, 15,
                        "the log-on to fail")
    assert said in status["last_error"], status["last_error"]
    assert status["session"] != "logged in"
    assert proxy.served("/user/logon/") >= 1
    outputs = [started.stdout + started.stderr, agent.cc("status", check=False).stdout,
               agent.cc("status", "--json", check=False).stdout,
               agent.cc("login", check=False).stderr, agent.cc("doctor", check=False).stdout]
    assert leaks(agent, *outputs) == []


def test_what_the_daemon_writes_is_for_the_agent_alone(agent):
    call = agent.json("dial", "+380441110001", "--wait")
    agent.cc("hangup")
    agent.log_row(call["call_id"], outcome="answered")
    opened = []
    for folder in ("data", "log", "run"):
        for path in [agent.home / folder, *(agent.home / folder).rglob("*")]:
            if stat.S_IMODE(path.stat().st_mode) & 0o077:
                opened.append(f"{path} {stat.S_IMODE(path.stat().st_mode):o}")
    assert opened == []


def test_a_profile_an_older_daemon_left_open_is_closed_at_start(emulator, agent_factory):
    agent = agent_factory(emulator)
    (agent.home / "log").mkdir(mode=0o755)
    old = agent.home / "log" / "journal.xml"
    old.write_text("")
    old.chmod(0o644)
    agent.start()
    agent.wait_logged_in()
    assert stat.S_IMODE(old.stat().st_mode) == 0o600
    assert stat.S_IMODE((agent.home / "log").stat().st_mode) == 0o700
