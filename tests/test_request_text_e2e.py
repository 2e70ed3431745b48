"""A command line's bytes that are not UTF-8 (a terminal in another encoding) reach the
daemon as lone surrogates in the request's JSON; the daemon refuses that request in one
line instead of failing to encode its answer (no answer at all: the client waited out its
timeout, and the daemon's log had a traceback)."""

from __future__ import annotations

import os
import subprocess

import pytest
from conftest import CC

from daemon.wire import Exit

NOT_UTF8 = os.fsdecode(b"c\xff")


@pytest.mark.parametrize("args", [("hold", "--call", NOT_UTF8), ("break", NOT_UTF8)])
@pytest.mark.parametrize("cold", ["", "1"])
def test_bytes_that_are_not_utf8_are_refused_in_one_line(agent, args, cold):
    done = subprocess.run([CC, *args], env={**agent.env, "CC_COLD": cold}, text=True,
                          capture_output=True, timeout=20, errors="replace")
    assert done.returncode == int(Exit.BAD_INPUT), done.stderr
    assert done.stderr.count("\n") == 1 and "not UTF-8" in done.stderr, done.stderr
    assert agent.cc("status").returncode == 0
    assert "Traceback" not in agent.daemon_log.read_text()
