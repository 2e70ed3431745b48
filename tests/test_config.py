"""Profiles and settings through `cc config`, and the thin CLI's import diet."""

from __future__ import annotations

import json
import os
import subprocess

from conftest import CC, modules_loaded


def cc(home, *args, check=True):
    env = {**os.environ, "CC_HOME": str(home)}
    done = subprocess.run([CC, *args], env=env, capture_output=True, text=True, timeout=30)
    if check:
        assert done.returncode == 0, done.stderr
    return done


def test_config_set_keeps_comments_and_types(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("# my office\n[server]\n# the PBX\nhost = \"pbx.local\"\n")
    cc(tmp_path, "config", "set", "server.port", "10081")
    text = config.read_text()
    assert "# my office" in text and "# the PBX" in text
    assert "port = 10081" in text
    assert json.loads(cc(tmp_path, "config", "get", "server.port", "--json").stdout) == \
        {"server.port": 10081}
    assert cc(tmp_path, "config", "get", "server.host").stdout.strip() == "pbx.local"


def test_new_config_file_documents_every_setting(tmp_path):
    cc(tmp_path, "config", "set", "server.login", "ivanova")
    text = (tmp_path / "config.toml").read_text()
    assert "# Infinity server host" in text
    assert 'login = "ivanova"' in text
    assert cc(tmp_path, "config", "path").stdout.strip() == str(tmp_path / "config.toml")


def test_bad_setting_values_and_names_fail_with_one_line(tmp_path):
    done = cc(tmp_path, "config", "set", "server.port", "ten", check=False)
    assert done.returncode == 8 and "server.port must be a whole number" in done.stderr
    done = cc(tmp_path, "config", "set", "server.colour", "red", check=False)
    assert done.returncode == 8 and "unknown setting 'server.colour'" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_malformed_config_file_error_names_the_line(tmp_path):
    (tmp_path / "config.toml").write_text("[server]\nhost = \"a\"\nport = = 3\n")
    done = cc(tmp_path, "config", "get", check=False)
    assert done.returncode == 8
    assert "line 3" in done.stderr


def test_password_is_never_shown_and_stored_privately(tmp_path):
    cc(tmp_path, "config", "set", "server.password", "hunter2")
    assert os.stat(tmp_path / "config.toml").st_mode & 0o077 == 0
    shown = cc(tmp_path, "config", "get").stdout
    assert "hunter2" not in shown and "server.password = ***" in shown


def test_a_password_file_others_can_read_is_refused_by_the_daemon(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[server]\nlogin = "ivanova"\npassword = "hunter2"\nport = 9\n')
    os.chmod(config, 0o644)
    done = cc(tmp_path, "daemon", "start", check=False)
    assert done.returncode == 8
    assert f"chmod 600 {config}" in done.stderr
    assert "hunter2" not in done.stderr + done.stdout


def test_ordinary_commands_import_neither_sqlite_utils_nor_the_daemon(tmp_path):
    modules, _ = modules_loaded(tmp_path, "status")
    bad = sorted(m for m in modules
                 if m.split(".")[0] in ("sqlite_utils", "aiohttp", "phonenumbers")
                 or (m.startswith("daemon.") and m not in (
                     "daemon.wire", "daemon.profile", "daemon.states", "daemon.phone",
                     "daemon.units", "daemon.zmtp", "daemon.rundir")))
    assert bad == []


def test_the_new_config_file_is_valid_toml_with_every_setting(tmp_path):
    import tomllib

    from daemon import profile

    doc = tomllib.loads(profile.default_config_text())
    assert {f"{sec}.{key}" for sec, table in doc.items() for key in table} == \
        set(profile.BY_KEY)
