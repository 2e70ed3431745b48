"""Remote control over TCP needs CURVE keys that `cc daemon keys` makes."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from conftest import CC


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
