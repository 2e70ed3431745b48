"""`cc doctor`: one line per check, and an exit code that says whether to look closer."""

from __future__ import annotations

import http.server
import json
import re
import threading
import time
from email.utils import formatdate

import pytest

CHECKS = ["config", "password", "sockets", "daemon", "session", "events", "clock",
          "database", "spool", "tasks"]


def doctor(agent) -> tuple[int, dict, str]:
    done = agent.cc("doctor", "--json", check=False)
    return done.returncode, {c["check"]: c for c in json.loads(done.stdout)}, done.stderr


def failing_lines(agent) -> list[str]:
    return [l for l in agent.cc("doctor", check=False).stdout.splitlines()
            if l.startswith("FAIL")]


def test_a_healthy_profile_passes_every_check(emulator_factory, agent_factory):
    emulator = emulator_factory(scale=1.0)     # real time, so the clock can be compared
    agent = agent_factory(emulator).start()
    agent.wait_logged_in()
    done = agent.cc("doctor")
    assert done.stderr == "" and "s3cret" not in done.stdout
    # Every check passes; retention is off and the team store's is not checked without
    # team.url.
    assert [l.split()[:2] for l in done.stdout.splitlines()] == [["ok", c] for c in CHECKS] + [
        ["--", "retention"], ["--", "team"]]
    code, checks, _ = doctor(agent)
    assert code == 0 and all(c["ok"] is True for name, c in checks.items()
                             if name not in ("retention", "team"))
    assert checks["retention"]["detail"] == ("not set (log.retention_days): calls are kept "
                                             "until removed")
    assert checks["password"]["detail"] == "from CC_PASSWORD"
    assert checks["session"]["detail"].startswith("logged in as ivanova (ext 101)")
    assert re.fullmatch(r"events URL http://127\.0\.0\.1:\d+ answers \(this daemon's listener, "
                        r"a loopback address for a server on this machine\); no event yet, "
                        r"logged in \d+ s ago", checks["events"]["detail"])
    assert "emulator's clock" in checks["clock"]["detail"]
    assert checks["database"]["detail"].endswith("integrity ok")


def test_an_emulator_running_fast_leaves_the_clock_unmeasured_but_passes(agent):
    code, checks, _ = doctor(agent)
    assert code == 0
    assert checks["clock"]["ok"] is None and "10 times faster" in checks["clock"]["detail"]


def test_the_events_check_says_when_the_server_last_pushed_an_event(agent):
    agent.cc("dial", "+380441110001")
    agent.wait_call_state("Connected")
    _, checks, _ = doctor(agent)
    assert re.search(r"the last event came \d+ s ago$", checks["events"]["detail"])


def test_no_daemon_fails_that_check_in_one_clear_line(emulator, agent_factory):
    agent = agent_factory(emulator)
    done = agent.cc("doctor", check=False)
    assert done.returncode == 1
    assert failing_lines(agent) == [
        "FAIL  daemon     the cc daemon is not running for this profile (start it with "
        "`cc daemon start`)"]
    assert done.stderr == "cc: 1 of 12 checks failed: daemon\n"
    _, checks, _ = doctor(agent)
    assert checks["session"]["ok"] is None and checks["events"]["ok"] is None


def test_a_socket_directory_others_can_enter_fails_as_a_configuration_problem(agent):
    run = agent.home / "run"
    run.chmod(0o755)
    code, checks, stderr = doctor(agent)
    assert code == 8 and stderr == "cc: 1 of 12 checks failed: sockets\n"
    assert checks["sockets"] == {"check": "sockets", "ok": False, "detail":
                                 f"{run} is open to other users (mode 755): run "
                                 f"`chmod 700 {run}`", "warning": False}
    run.chmod(0o700)


def test_a_broken_config_file_is_named_and_its_dependants_not_checked(agent):
    (agent.home / "config.toml").write_text("[server\nhost = 1\n")
    code, checks, _ = doctor(agent)
    assert code == 8
    assert checks["config"]["ok"] is False and "config.toml" in checks["config"]["detail"]
    assert checks["password"]["ok"] is None and checks["clock"]["ok"] is None
    assert checks["daemon"]["ok"] is True


def test_no_password_source_fails_without_printing_any_password(emulator, agent_factory):
    agent = agent_factory(emulator)
    agent.env.pop("CC_PASSWORD")
    agent.write_config({"server.port": emulator.port, "server.password": "hunter2"})
    (agent.home / "config.toml").chmod(0o644)
    done = agent.cc("doctor", check=False)
    assert "hunter2" not in done.stdout + done.stderr
    password = [l for l in done.stdout.splitlines() if l.split()[1] == "password"][0]
    assert password.startswith("FAIL") and "chmod 600" in password


def test_a_call_log_that_is_not_a_database_fails(emulator, agent_factory):
    agent = agent_factory(emulator)
    (agent.home / "data").mkdir()
    (agent.home / "data" / "calls.db").write_bytes(b"not sqlite at all" * 100)
    _, checks, _ = doctor(agent)
    assert checks["database"]["ok"] is False
    assert "calls.db" in checks["database"]["detail"]


def test_the_database_check_tells_a_log_not_yet_made_from_a_directory_in_its_place(tmp_path):
    from cccli.doctor import database_check

    missing = database_check(tmp_path / "calls.db")
    assert missing.ok is True and missing.detail.endswith("does not exist yet: the daemon makes it")
    in_the_way = database_check(tmp_path)
    assert in_the_way.ok is False and in_the_way.detail == f"{tmp_path}: Is a directory"
    assert list(tmp_path.iterdir()) == []       # looking never creates the log


@pytest.fixture
def server_with_date(request):
    """A server that knows no /_emulator/clock/, only the Date header, `request.param`
    seconds ahead of this machine."""
    ahead = request.param

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(406)
            self.end_headers()

        def date_time_string(self, timestamp=None):
            return formatdate(time.time() + ahead, usegmt=True)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


@pytest.mark.parametrize("server_with_date", [0], indirect=True)
def test_a_real_server_clock_is_read_from_its_date_header(server_with_date, emulator,
                                                         agent_factory):
    agent = agent_factory(emulator, **{"server.port": server_with_date})
    _, checks, _ = doctor(agent)
    assert checks["clock"]["ok"] is True
    assert "Date header" in checks["clock"]["detail"]


@pytest.mark.parametrize("server_with_date", [3600], indirect=True)
def test_a_server_clock_an_hour_ahead_fails(server_with_date, emulator, agent_factory):
    agent = agent_factory(emulator, **{"server.port": server_with_date})
    _, checks, _ = doctor(agent)
    assert checks["clock"]["ok"] is False and "NTP" in checks["clock"]["detail"]
    ahead = float(re.search(r"the server is ([\d.]+) s ahead", checks["clock"]["detail"])[1])
    assert abs(ahead - 3600) <= 1      # the Date header counts whole seconds
