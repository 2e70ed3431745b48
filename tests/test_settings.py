"""Settings are checked where they enter: `cc config set`, the daemon's start (and every
reader of the file) and `cc doctor` refuse a value its setting does not accept, with one
line naming the setting and what it takes, exit 8, and nothing lost."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from conftest import CC
from daemon import profile
from daemon.wire import Exit

# (setting, a value it refuses, words of what it accepts)
BAD = [
    ("server.poll_interval", "-1", "a number from 0.2 to 86400"),   # polled ~1,000/s
    ("server.poll_interval", "0.1", "from 0.2"),
    ("server.poll_interval", "nan", "a number from 0.2"),
    ("server.timeout", "inf", "a number from 0.2"),
    ("directory.poll_interval", "0", "from 0.2"),
    ("session.backoff_initial", "0", "from 0.2"),
    ("session.backoff_cap", "-5", "from 0.2"),
    ("transfer.timeout", "0.01", "from 0.2"),
    ("hooks.timeout", "0", "from 0.2"),
    ("wrapup.timeout", "-1", "a number from 0 to 86400"),
    ("server.port", "0", "a whole number from 1 to 65535"),
    ("server.port", "ten", "a whole number"),
    ("events.listen_port", "99999", "a whole number from 0 to 65535"),  # the daemon died
    ("events.listen_port", "-1", "from 0 to 65535"),
    ("events.max_rate", "0", "a whole number of at least 1"),
    ("journal.max_bytes", "100", "a whole number of at least 65536"),
    ("journal.backups", "1000000000", "a whole number from 0 to 1000"),
    ("dial.mode", "sideways", "one of offhook, callback"),
    ("log.number_mask", "CALL", "a mask with {n} for the counter"),
    ("log.number_mask", "CALL-{n", "a mask with {n}"),
    ("log.number_mask", "{n:999999999}", "widths under 100"),
    ("log.number_mask", "{n}-{n.__class__}", "a mask with {n}"),
    ("server.host", "http://pbx.example.local", "a host name or address"),
    ("server.host", "", "a host name or address"),
    ("server.host", "::1", "or [::1]"),                 # a URL needs it in brackets
    ("events.listen_host", "127.0.0.1:8080", "empty (chosen at start), 0.0.0.0"),
    ("events.public_url", "http://203.0.113.7:8085/?x=1", "without ?query"),
    ("events.public_url", "http://me@203.0.113.7:8085", "without user@"),
    ("events.public_url", "ftp://pbx", "an http:// or https:// URL"),
    ("kb.url", "kb.example/search?q={subject}", "an http:// or https:// URL"),
    ("remote.endpoint", "tcp://0.0.0.0", "tcp://HOST:PORT"),
    ("contacts.default_region", "Ukraine", "a two-letter region code"),
    ("states.break_reasons", "lunch=soon,training", "each a name or name=ID"),
    ("states.break_reasons", "lunch = 306", "each a name or name=ID"),
    ("states.available_id", "-1", "a whole number from 0"),
    ("server.role_id", "1.5", "a whole number"),
    ("session.auto_login", "maybe", "true or false"),
]
IDS = [f"{key}={value}" for key, value, _ in BAD]

# Values at the edges of what is accepted.
GOOD = [
    ("events.listen_port", "0", 0), ("server.port", "65535", 65535),
    ("server.poll_interval", "0.2", 0.2), ("wrapup.timeout", "0", 0.0),
    ("journal.backups", "0", 0), ("dial.mode", "callback", "callback"),
    ("log.number_mask", "{n}", "{n}"), ("server.host", "[::1]", "[::1]"),
    ("server.host", "10.0.0.5", "10.0.0.5"), ("events.listen_host", "::1", "::1"),
    ("remote.endpoint", "tcp://*:5555", "tcp://*:5555"), ("remote.endpoint", "", ""),
    ("kb.url", "https://kb.example/search?q={subject}", "https://kb.example/search?q={subject}"),
    ("contacts.default_region", "PL", "PL"), ("states.break_reasons", "lunch,training=306",
                                              "lunch,training=306"),
    ("states.break_reasons", "long lunch, ", "long lunch, "),
    ("session.auto_login", "off", False), ("journal.max_bytes", "1_000_000", 1_000_000),
]


def cc(home, *args) -> subprocess.CompletedProcess:
    env = {**os.environ, "CC_HOME": str(home)}
    env.pop("XDG_RUNTIME_DIR", None)
    return subprocess.run([CC, *args], env=env, capture_output=True, text=True, timeout=60)


def one_line(done) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cc: "), done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


def toml(key: str, value: str) -> str:
    """The bad value as someone would hand-write it in config.toml."""
    section, name = key.split(".", 1)
    kind = profile.setting(key).kind
    literal = value if kind in (int, float) and value.lstrip("-").replace(".", "", 1) \
        .isdigit() else json.dumps(value)
    return f"[{section}]\n{name} = {literal}\n"


def test_every_default_is_a_value_its_setting_accepts():
    for entry in profile.SETTINGS:
        assert entry.refuses(entry.default) is None, entry.key
        assert profile.coerce(entry.key, entry.default) == entry.default


def test_a_setting_without_rules_takes_any_value_of_its_type():
    plain = profile.Setting("test.plain", "", "a setting with no rules")
    assert plain.refuses("anything at all") is None and plain.accepts() == "text"


@pytest.mark.parametrize("key,value,accepts", BAD, ids=IDS)
def test_each_bad_value_is_refused_naming_the_setting_and_what_it_accepts(
        tmp_path, key, value, accepts):
    with pytest.raises(profile.ConfigError) as refused:
        profile.coerce(key, value)
    assert f"setting {key} must be " in str(refused.value) and accepts in str(refused.value)
    assert repr(value) in str(refused.value)
    config = tmp_path / "config.toml"
    config.write_text(toml(key, value))
    with pytest.raises(profile.ConfigError, match=f"{config}: setting {key} must be"):
        profile.load(config)


@pytest.mark.parametrize("key,value,typed", GOOD, ids=[f"{k}={v}" for k, v, _ in GOOD])
def test_values_at_the_edges_are_accepted(key, value, typed):
    assert profile.coerce(key, value) == typed


def test_cc_config_set_refuses_a_bad_value_and_keeps_the_file(tmp_path):
    cc(tmp_path, "config", "set", "server.poll_interval", "0.5")
    before = (tmp_path / "config.toml").read_bytes()
    done = cc(tmp_path, "config", "set", "server.poll_interval", "-1")
    assert done.returncode == Exit.CONFIG
    assert one_line(done) == ("cc: setting server.poll_interval must be a number from 0.2 to "
                              "86400, not '-1'")
    assert (tmp_path / "config.toml").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["config.toml"]    # no temporary left


@pytest.mark.e2e
@pytest.mark.parametrize("key,value,accepts", BAD, ids=IDS)
def test_each_bad_value_is_refused_by_cc_config_set_and_at_daemon_start(
        tmp_path, key, value, accepts):
    done = cc(tmp_path, "config", "set", key, value)
    assert done.returncode == Exit.CONFIG
    assert one_line(done).startswith(f"cc: setting {key} must be ") and accepts in done.stderr
    assert not (tmp_path / "config.toml").exists()      # nothing written
    (tmp_path / "config.toml").write_text(toml(key, value))
    done = cc(tmp_path, "daemon", "start")
    assert done.returncode == Exit.CONFIG
    line = one_line(done)
    assert f"setting {key} must be " in line and accepts in line
    assert f"`cc config set {key} VALUE`" in line           # and how to fix it
    assert not (tmp_path / "run" / "daemon.lock").exists()   # no daemon was started


def rounds(cases):
    """The cases in groups with each setting once, to be written in one file each."""
    groups: list[dict] = []
    for key, value, accepts in cases:
        group = next((g for g in groups if key not in g), None)
        if group is None:
            groups.append(group := {})
        group[key] = (value, accepts)
    return groups


@pytest.mark.e2e
def test_cc_doctor_names_every_bad_setting_of_a_hand_edited_file(tmp_path):
    for group in rounds(BAD):
        sections: dict[str, str] = {}
        for key, (value, _) in group.items():
            section = toml(key, value).split("\n", 1)
            sections[section[0]] = sections.get(section[0], "") + section[1]
        (tmp_path / "config.toml").write_text("".join(f"{head}\n{body}"
                                                      for head, body in sections.items()))
        done = cc(tmp_path, "doctor", "--json")
        assert done.returncode != 0 and "Traceback" not in done.stderr
        checks = {c["check"]: c for c in json.loads(done.stdout)}
        assert checks["config"]["ok"] is False
        for key, (value, accepts) in group.items():
            assert f"setting {key} must be " in checks["config"]["detail"], key
        assert checks["password"]["ok"] is None and checks["clock"]["ok"] is None


def test_cc_doctor_names_a_misspelt_setting(tmp_path):
    (tmp_path / "config.toml").write_text("[server]\npol_interval = 0.5\n")
    from cccli.doctor import config_check

    checks = []
    assert config_check(tmp_path / "config.toml", checks) is None
    assert checks[0].ok is False and "no setting is called server.pol_interval" in \
        checks[0].detail


def test_a_bad_setting_edited_under_a_running_daemon(agent):
    """`cc doctor` fails only the config check (exit 8); the next start refuses."""
    config = agent.home / "config.toml"
    config.write_text(config.read_text() + "\n[dial]\nmode = \"sideways\"\n")
    done = agent.cc("doctor", check=False)
    assert done.returncode == Exit.CONFIG, done.stdout
    assert [line.split()[1] for line in done.stdout.splitlines()
            if line.startswith("FAIL")] == ["config"]
    assert "setting dial.mode must be one of offhook, callback, not 'sideways'" in done.stdout
    agent.cc("daemon", "stop")
    done = agent.cc("daemon", "start", check=False)
    assert done.returncode == Exit.CONFIG
    assert "setting dial.mode must be one of offhook, callback" in one_line(done)
    assert agent.cc("daemon", "status", check=False).returncode == Exit.DAEMON_NOT_RUNNING


@pytest.mark.e2e
def test_the_daemon_itself_refuses_a_bad_setting(tmp_path):
    """`python -m daemon` (what a service manager runs) reads the file the same way."""
    (tmp_path / "config.toml").write_text("[events]\nlisten_port = 99999\n")
    env = {**os.environ, "CC_HOME": str(tmp_path)}
    env.pop("XDG_RUNTIME_DIR", None)
    done = subprocess.run([CC, "daemon", "run"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == Exit.CONFIG and "Traceback" not in done.stderr
    assert "setting events.listen_port must be a whole number from 0 to 65535, not 99999" \
        in done.stderr
