"""`make demo`: one scripted call through the emulator, the daemon and `cc`.

Starts the emulator and the daemon on free ports under a temporary CC_HOME, places a
call with hold, shows the status along the way and the call log at the end, and stops
everything it started. Ctrl-C stops it the same way, after the step in hand (the
processes it starts do not see the Ctrl-C themselves, so none is left half-started),
and exits 130.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from daemon.emulator.admin import Admin, AdminError

CC = str(Path(sys.executable).parent / "cc")
NUMBER = "+380441110001"      # answers after 2 s in the demo scenario
TIME_SCALE = 5                # emulated seconds per real second
INTERRUPTED = 130             # the exit status of a program stopped by Ctrl-C


class Interrupted(Exception):
    """Ctrl-C was pressed: stop after the step in hand."""


_asked_to_stop = False


def _stop_soon(signum, frame) -> None:
    global _asked_to_stop
    _asked_to_stop = True


def check_interrupt() -> None:
    if _asked_to_stop:
        raise Interrupted


def wait_until(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        check_interrupt()
        if time.monotonic() > deadline:
            sys.exit(f"demo: gave up waiting for {what}")
        time.sleep(0.05)
    return value


def start_daemon(cc, admin: Admin, port: int) -> None:
    """Set up the profile, start the daemon, and point the emulator's events at it."""
    cc("config", "set", "server.port", str(port))
    cc("config", "set", "server.login", "ivanova")
    cc("config", "set", "server.poll_interval", "0.5")
    cc("daemon", "start")
    # The daemon's listener port is known only now, as a server's admin would learn it.
    admin.subscribe(json.loads(cc("status", "--json", show=False))["events_url"])


def main() -> int:
    signal.signal(signal.SIGINT, _stop_soon)
    home = Path(tempfile.mkdtemp(prefix="cc-demo-"))
    env = {**os.environ, "CC_HOME": str(home), "CC_PASSWORD": "demo"}
    env.pop("XDG_RUNTIME_DIR", None)

    def cc(*args, show=True):
        check_interrupt()
        if show:
            print(f"$ cc {' '.join(args)}", flush=True)
        done = subprocess.run([CC, *args], env=env, capture_output=True, text=True,
                              start_new_session=True)
        if show:
            print(done.stdout + done.stderr, end="", flush=True)
        check_interrupt()
        if done.returncode:
            raise SystemExit(f"demo: cc {' '.join(args)} failed ({done.returncode})")
        return done.stdout

    port_file = home / "emulator.port"
    print(f"# profile in {home}; emulator time runs {TIME_SCALE}x faster than real time")
    emulator = subprocess.Popen([CC, "emulator", "run", "--port", "0", "--port-file",
                                 str(port_file), "--time-scale", str(TIME_SCALE)],
                                env=env, stdout=subprocess.DEVNULL, start_new_session=True)
    try:
        port = int(wait_until(lambda: port_file.exists() and port_file.read_text().strip(),
                              15, "the emulator"))
        url = f"http://127.0.0.1:{port}"
        admin = Admin(url)
        print(f"# emulator listening on {url}")

        def clock() -> float:
            return admin.clock()["Now"]

        def line_state() -> str:
            calls = json.loads(cc("status", "--json", show=False))["calls"]
            return calls[0]["state_name"] if calls else "idle"

        start_daemon(cc, admin, port)
        cc("status")
        call = json.loads(cc("dial", NUMBER, "--json", show=False))
        print(f"$ cc dial {NUMBER}\ncall {call['call_id']} -> {NUMBER}  {call['state_name']}")
        wait_until(lambda: line_state() == "Connected", 20, "the far end to answer")
        cc("status")
        cc("hold")
        start = clock()
        wait_until(lambda: clock() >= start + 3, 20, "3 emulated seconds on hold")
        cc("status")
        cc("unhold")
        wait_until(lambda: clock() >= start + 8, 20, "5 more emulated seconds of talk")
        cc("hangup")
        wait_until(lambda: any(r["call_id"] == call["call_id"] and r["durations_from"] ==
                               "server" for r in json.loads(cc("log", "--json", show=False))),
                   20, "the call's final record")
        cc("log")
    except AdminError as exc:
        raise SystemExit(f"demo: {exc}") from None
    except Interrupted:
        print("# interrupted", flush=True)
        return INTERRUPTED
    finally:
        subprocess.run([CC, "daemon", "stop"], env=env, capture_output=True)
        emulator.terminate()
        emulator.wait(10)
        shutil.rmtree(home, ignore_errors=True)
        print("# stopped the daemon and the emulator", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
