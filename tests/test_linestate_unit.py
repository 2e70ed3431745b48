"""When a changed setting reaches a running daemon (profile.applies), as the README says."""

from __future__ import annotations

import re
from pathlib import Path

from daemon import profile

README = (Path(__file__).parent.parent / "README.md").read_text()


def readme_list(heading: str) -> set[str]:
    """The settings named in the README's bullet that starts with `heading`."""
    bullet = re.search(r"^- \*\*" + re.escape(heading) + r"\*\*(.*?)(?=^- |\n\n)", README,
                       re.S | re.M)
    assert bullet, heading
    return set(re.findall(r"`([a-z_]+\.[a-z_]+)`", bullet.group(1)))


def test_every_setting_named_in_a_when_list_exists():
    assert profile.READ_AT_LOGIN | profile.READ_AT_START <= set(profile.BY_KEY)
    assert not profile.READ_AT_LOGIN & profile.READ_AT_START


def test_the_readme_lists_the_settings_read_at_log_on_and_at_start():
    at_login = {s.key for s in profile.SETTINGS if profile.applies(s.key) == profile.AT_LOGIN}
    at_start = {s.key for s in profile.SETTINGS if profile.applies(s.key) == profile.AT_RESTART}
    assert readme_list("at the next log-on") == at_login
    assert readme_list("after `cc daemon restart`") == at_start


def test_a_setting_named_nowhere_applies_at_once():
    assert profile.applies("wrapup.enabled") == profile.NOW
    assert profile.applies("server.login") == profile.AT_RESTART
    assert profile.applies("server.password") == profile.AT_LOGIN


def test_config_set_with_a_remote_daemon_says_that_daemon_reads_its_own_file(tmp_path):
    import os
    import subprocess

    from conftest import CC

    env = {**os.environ, "CC_HOME": str(tmp_path), "CC_REMOTE": "tcp://127.0.0.1:9"}
    done = subprocess.run([CC, "config", "set", "dial.mode", "callback"], env=env,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ("dial.mode = callback\nthis profile's file changed; the daemon at "
                           "CC_REMOTE reads the settings of its own machine\n")
    done = subprocess.run([CC, "config", "set", "dial.mode", "offhook"], capture_output=True,
                          text=True, timeout=30, env={**env, "CC_REMOTE": ""})
    assert done.stdout == "dial.mode = offhook\n"      # no daemon runs: nothing more to say
