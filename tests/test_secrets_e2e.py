"""The password never leaves in clear, whatever the server answers, and what the daemon
writes is the agent's alone: a real daemon against servers that misbehave on purpose."""

from __future__ import annotations

import http.server
import socketserver
import stat
import threading
from urllib.parse import quote, quote_plus

import pytest

from conftest import wait_until

PASSWORD = "Sup3r s3cret/pw?&="
FORMS = {PASSWORD, quote(PASSWORD), quote_plus(PASSWORD), quote(PASSWORD, safe="")}


class Redirecting(http.server.BaseHTTPRequestHandler):
    """Answers every request with a redirect to itself: a loop, the password in tow."""

    def do_GET(self):
        self.send_response(302)
        self.send_header("Location", self.path)
        self.end_headers()

    def log_message(self, *args):
        pass


class BrokenStatusLine(socketserver.StreamRequestHandler):
    """Echoes the request line into a status line no HTTP client can read."""

    def handle(self):
        line = self.rfile.readline().decode("latin-1").strip()
        self.wfile.write(f"HTTP/1.1 2x0 {line}\r\n\r\n".encode("latin-1"))


class Oversized(http.server.BaseHTTPRequestHandler):
    """A log-on answer one byte over the daemon's 4 MiB limit."""

    def do_GET(self):
        body = b'{"result": {"IDUser": 1, "Pad": "' + b"x" * (4 * 1024 * 1024) + b'"}}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server(request):
    handler = request.param
    kind = socketserver.ThreadingTCPServer if handler is BrokenStatusLine else \
        http.server.ThreadingHTTPServer
    kind.allow_reuse_address = True
    srv = kind(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv.server_address[1], handler
    srv.shutdown()
    srv.server_close()


def leaks(agent, *outputs: str) -> list[str]:
    """Where the password shows, in the outputs given or any file under CC_HOME."""
    found = [f"output {n}" for n, text in enumerate(outputs) if any(f in text for f in FORMS)]
    for path in agent.home.rglob("*"):
        if path.is_file():
            text = path.read_bytes().decode("utf-8", errors="replace")
            found += [str(path)] if any(f in text for f in FORMS) else []
    return found


@pytest.mark.parametrize("server", [Redirecting, BrokenStatusLine, Oversized], indirect=True,
                         ids=["redirect-loop", "broken-status-line", "oversized-answer"])
def test_a_log_on_the_server_mangles_says_so_without_the_password(
        server, emulator, agent_factory):
    port, handler = server
    agent = agent_factory(emulator, password=PASSWORD, **{"server.port": port})
    started = agent.cc("daemon", "start", check=False)
    status = wait_until(lambda: (s := agent.status())["last_error"] and s, 15,
                        "the log-on to fail")
    said = {Redirecting: "redirect", BrokenStatusLine: "cannot reach the server",
            Oversized: "over the 4194304-byte limit"}[handler]
    assert said in status["last_error"], status["last_error"]
    assert status["session"] != "logged in"
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
