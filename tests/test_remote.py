"""Remote control over TCP needs CURVE keys that `cc daemon keys` makes."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import CC
from daemon import wire
from daemon.wire import ErrorCode, WireError


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def remote_profile(tmp_path: Path, keys_from: Path | None) -> dict:
    """A client's profile of its own, under the test's temporary directory (removed)."""
    home = Path(tempfile.mkdtemp(prefix="cc-r-", dir=tmp_path))
    keys = home / "keys"
    keys.mkdir(mode=0o700)
    if keys_from is not None:
        shutil.copy(keys_from / "client.key_secret", keys)
        shutil.copy(keys_from / "server.key", keys)
    return {"CC_HOME": str(home)}


def test_remote_control_with_curve_keys_and_refused_without(emulator, agent_factory,
                                                            tmp_path):
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    agent = agent_factory(emulator, **{"remote.endpoint": endpoint})
    done = agent.cc("daemon", "start", check=False)
    assert done.returncode == 8 and "cc daemon keys" in done.stderr
    assert "made server, client" in agent.cc("daemon", "keys").stdout
    agent.start()
    agent.wait_logged_in()

    env = {**agent.env, **remote_profile(tmp_path, agent.home / "keys"), "CC_REMOTE": endpoint}
    done = subprocess.run([CC, "status", "--json"], env=env, capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 0 and '"login": "ivanova"' in done.stdout

    stranger = {**agent.env, **remote_profile(tmp_path, None), "CC_REMOTE": endpoint}
    subprocess.run([CC, "daemon", "keys"], env=stranger, capture_output=True, timeout=30)
    done = subprocess.run([CC, "status"], env=stranger, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 3 and "are its keys yours?" in done.stderr
    nokeys = {**agent.env, **remote_profile(tmp_path, None), "CC_REMOTE": endpoint}
    done = subprocess.run([CC, "status"], env=nokeys, capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 8 and "cc daemon keys" in done.stderr


def curve_keys(profile_keys: Path):
    """Set up a raw REQ socket as `cc` does with CC_REMOTE and these keys."""
    import zmq.auth

    def prepare(sock) -> None:
        sock.curve_publickey, sock.curve_secretkey = zmq.auth.load_certificate(
            profile_keys / "client.key_secret")
        sock.curve_serverkey, _ = zmq.auth.load_certificate(profile_keys / "server.key")
    return prepare


def test_over_the_remote_endpoint_exports_come_back_and_imports_are_sent(
        emulator_factory, agent_factory, tmp_path):
    emulator = emulator_factory(manual_clock=True)
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    agent = agent_factory(emulator, **{"remote.endpoint": endpoint})
    agent.cc("daemon", "keys")
    agent.start()
    agent.wait_logged_in()
    call = agent.json("dial", "+380441110002")           # busy after 1 s
    emulator.advance(1)
    agent.log_row(call["call_id"], outcome="busy")
    client = remote_profile(tmp_path, agent.home / "keys")
    env = {**agent.env, **client, "CC_REMOTE": endpoint}
    keys = Path(client["CC_HOME"]) / "keys"

    def remote(*args) -> subprocess.CompletedProcess:
        return subprocess.run([CC, *map(str, args)], env=env, capture_output=True, text=True,
                              timeout=30)

    mine, theirs = tmp_path / "remote.csv", tmp_path / "local.csv"
    done = remote("log", "--format", "csv", "--output", mine)
    assert done.returncode == 0 and f"wrote 1 calls to {mine}" in done.stderr
    agent.cc("log", "--format", "csv", "--output", theirs)
    assert mine.read_text() == theirs.read_text() and call["call_id"] in mine.read_text()
    with pytest.raises(WireError) as refused:       # the daemon writes nothing for a remote
        wire.exchange(endpoint, "log_export", 10, curve_keys(keys),
                      path=str(tmp_path / "on-the-daemon.csv"), format="csv", columns=["id"])
    assert refused.value.code == ErrorCode.BAD_INPUT and "remote client" in str(refused.value)
    assert not (tmp_path / "on-the-daemon.csv").exists()

    contacts = tmp_path / "contacts.csv"
    contacts.write_text("name,account,phones\nOlha Bondar,Acme,+380441110001\n")
    done = remote("contacts", "import", contacts)
    assert done.returncode == 0 and "imported 1 contacts" in done.stdout
    assert [c["name"] for c in agent.json("contacts")] == ["Olha Bondar"]
    with pytest.raises(WireError) as refused:       # nor reads a file of its machine
        wire.exchange(endpoint, "who_import", 10, curve_keys(keys), path=str(contacts))
    assert refused.value.code == ErrorCode.BAD_INPUT and "remote client" in str(refused.value)
    contacts.write_text("name,account,phones\n" + "Olha Bondar,Acme,+380441110001\n" * 40_000)
    done = remote("contacts", "import", contacts)
    assert done.returncode == 9 and len(done.stderr.splitlines()) == 1
    assert "(1,240,020 bytes) is over the 1,048,576 bytes a remote daemon takes" in done.stderr
