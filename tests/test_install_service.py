"""`cc daemon install-service`: a systemd user unit that starts the daemon at log-in."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import CC


def test_install_service_writes_a_unit_that_runs_this_daemon(tmp_path):
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "CC_HOME": str(tmp_path / "home")}
    done = subprocess.run([CC, "daemon", "install-service"], env=env, capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    units = list((tmp_path / "config" / "systemd" / "user").glob("cc-daemon-home-*.service"))
    assert len(units) == 1, units
    unit, name = units[0], units[0].stem
    text = unit.read_text()
    assert f"ExecStart={sys.executable} -m daemon" in text
    assert f"Environment=CC_HOME={tmp_path / 'home'}" in text
    assert "WantedBy=default.target" in text and "Restart=on-failure" in text
    # A user manager cannot order on the system's network target: the unit does not try.
    assert "network-online" not in text
    assert f"systemctl --user enable --now {name}\n" in done.stdout and done.stderr == ""
    printed = subprocess.run([CC, "daemon", "install-service", "--print"], env=env,
                             capture_output=True, text=True, timeout=30).stdout
    assert printed == text
    verify = shutil.which("systemd-analyze")
    if verify is None:
        pytest.skip("systemd-analyze is not on this machine: the unit was checked by text")
    checked = subprocess.run([verify, "--user", "verify", str(unit)], capture_output=True,
                             text=True, timeout=60, env=env)
    if "Failed to initialize manager" in checked.stderr:
        # No user manager here (no session bus): the system manager checks the same syntax.
        checked = subprocess.run([verify, "verify", str(unit)], capture_output=True,
                                 text=True, timeout=60, env=env)
    assert checked.returncode == 0, checked.stderr


def test_each_profile_gets_a_unit_of_its_own(tmp_path):
    config = tmp_path / "config"
    made = []
    for profile in ("work", "work2"):
        env = {**os.environ, "XDG_CONFIG_HOME": str(config),
               "CC_HOME": str(tmp_path / profile)}
        done = subprocess.run([CC, "daemon", "install-service", "--json"], env=env,
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        made.append(json.loads(done.stdout))
    assert made[0]["name"] != made[1]["name"] and made[0]["running"] is None
    units = sorted(p.name for p in (config / "systemd" / "user").iterdir())
    assert units == sorted(f"{m['name']}.service" for m in made)
    texts = [(config / "systemd" / "user" / u).read_text() for u in units]
    assert {str(tmp_path / "work") in t for t in texts} == {True}
    assert sum(f"CC_HOME={tmp_path / 'work2'}" in t for t in texts) == 1


@pytest.mark.e2e
def test_installing_beside_a_running_daemon_warns_in_one_line(agent, tmp_path):
    env = {**agent.env, "XDG_CONFIG_HOME": str(tmp_path / "config")}
    done = subprocess.run([CC, "daemon", "install-service", "--json"], env=env,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0
    pid = json.loads(done.stdout)["running"]
    assert pid == agent.json("daemon", "status")["pid"]
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith(f"cc: warning: a daemon already runs for this profile "
                                  f"(pid {pid}): stop it with `cc daemon stop`")
