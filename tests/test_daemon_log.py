"""daemon.log is rotated by size like the journal, and what the daemon writes to stderr
outside logging follows the current file; in the foreground it logs to stderr only."""

from __future__ import annotations

import os
import subprocess
import sys

LOGS = """
import logging, os, sys
from daemon import profile, service
paths = profile.paths()
if sys.argv[1] == "started":          # as `cc daemon start` leaves stderr
    paths.log_dir.mkdir(parents=True)
    os.dup2(os.open(paths.daemon_log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), 2)
service.LOG_MAX_BYTES, service.LOG_BACKUPS = 4000, 3
logging.basicConfig(level=logging.INFO, stream=sys.stderr)
service.log_to(paths)
for n in range(200):
    logging.getLogger("cc.test").info("line %03d %s", n, "x" * 50)
print("last words on stderr", file=sys.stderr)
"""


def run(tmp_path, how: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", LOGS, how], capture_output=True, text=True,
                          env={**os.environ, "CC_HOME": str(tmp_path)}, timeout=60, check=True)


def test_daemon_log_is_rotated_by_size_and_stderr_follows_the_current_file(tmp_path):
    run(tmp_path, "started")
    logs = tmp_path / "log"
    assert sorted(p.name for p in logs.iterdir()) == ["daemon.log", "daemon.log.1",
                                                      "daemon.log.2", "daemon.log.3"]
    assert all(p.stat().st_size <= 4000 for p in logs.iterdir())
    current = (logs / "daemon.log").read_text()
    assert "line 199" in current and current.endswith("last words on stderr\n")
    assert "line 198" in current or "line 198" in (logs / "daemon.log.1").read_text()


def test_in_the_foreground_the_daemon_logs_to_stderr_only(tmp_path):
    done = run(tmp_path, "foreground")
    assert not (tmp_path / "log").exists()
    assert "line 199" in done.stderr and done.stderr.endswith("last words on stderr\n")
