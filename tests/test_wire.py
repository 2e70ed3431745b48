"""The CLI <-> daemon vocabulary (daemon/wire.py) and the Infinity names kept inside
daemon/infinity/ (a scan of every other module's string constants)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from daemon import infinity, wire
from daemon.session import Session
from daemon.wire import ERROR_EXIT, ErrorCode, Exit, WireError

REPO = Path(__file__).resolve().parent.parent


def test_every_error_code_maps_onto_its_own_exit_code():
    assert set(ERROR_EXIT) == set(ErrorCode)
    exits = [code.exit for code in ErrorCode]
    assert len(set(exits)) == len(exits)
    assert all(isinstance(e, Exit) and e != Exit.OK for e in exits)


def test_a_misspelt_error_code_fails_where_it_is_written():
    with pytest.raises(ValueError):
        WireError("bad_inptu", "oops")


def test_a_reply_with_a_code_this_cli_does_not_know_is_a_plain_failure():
    with pytest.raises(WireError) as caught:
        wire.parse_reply(b'{"ok": false, "error": {"code": "from_the_future", '
                         b'"message": "new"}}')
    assert caught.value.code == ErrorCode.FAILED and caught.value.exit_code == 1


def test_every_session_field_the_daemon_shows_is_documented():
    documented = {f.rstrip("?") for f in wire.SESSION_FIELDS}
    always = {f for f in wire.SESSION_FIELDS if not f.endswith("?")}
    sample = {"session", "login", "id_user", "extension", "agent_state", "server",
              "events_url", "last_error", "state_reason", "state_until", "pending_state",
              "wrapup", "next_try_in", "logon_error"}
    assert always <= sample and sample == documented
    source = (REPO / "daemon" / "session.py").read_text() + \
        (REPO / "daemon" / "wrapup.py").read_text()
    shown = {node.value for node in ast.walk(ast.parse(source))
             if isinstance(node, ast.Constant) and node.value in sample}
    assert shown == documented
    assert Session.view     # the view is built in session.py and wrapup.py


def _constants(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value


# The emulator speaks Infinity by design; `cc emulator` is its front and daemon/testing.py
# drives it for tests, and its admin answers (IDCall, ...) are the emulator's own; the
# tests' fault proxy stands in for a lying server, so it patches Infinity's answers.
# cccli/tabtree.py is generated from every command's help, `cc emulator`'s too.
EMULATOR = (("daemon", "infinity"), ("daemon", "emulator"), ("cccli", "emulatorctl.py"),
            ("daemon", "testing.py"), ("daemon", "faultproxy.py"), ("cccli", "tabtree.py"))


def _outside_infinity():
    for path in sorted((REPO / "daemon").rglob("*.py")) + sorted((REPO / "cccli").rglob("*.py")):
        if path.relative_to(REPO).parts[:2] not in EMULATOR:
            yield path


def test_no_infinity_path_or_field_name_is_used_outside_daemon_infinity():
    fields = set(infinity.FIELDS)
    paths = [p.lower().rstrip("/") for p in infinity.PATHS]
    leaks = []
    for path in _outside_infinity():
        for line, value in _constants(path):
            lowered = value.lower()
            if value in fields or any(p in lowered for p in paths) \
                    or infinity.EMULATOR_ADMIN in value:
                leaks.append(f"{path.relative_to(REPO)}:{line}: {value[:60]!r}")
    assert not leaks, "Infinity names outside daemon/infinity/:\n" + "\n".join(leaks)


def test_the_scan_finds_a_leak(tmp_path):
    leaky = tmp_path / "leaky.py"
    leaky.write_text('x = params.get("IDCall")\ny = "/call/senddigits/"\n')
    values = [v for _, v in _constants(leaky)]
    assert "IDCall" in infinity.FIELDS and "IDCall" in values
    assert any("/call/senddigits" in v for v in values)
