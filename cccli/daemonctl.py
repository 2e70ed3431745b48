"""`cc daemon run|start|stop|status`: the background daemon that keeps the session."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import typer

from daemon import profile
from daemon.wire import ErrorCode, Exit, SessionStatus, WireError

from . import client, render
from .options import Json

app = typer.Typer(help="Run, start, stop and check the daemon.", no_args_is_help=True)


@app.command()
def run() -> None:
    """Run the daemon in the foreground (logs on stderr; Ctrl-C stops it)."""
    from daemon.service import run_foreground

    raise typer.Exit(run_foreground())


def _ping() -> dict | None:
    try:
        return client.request("ping", timeout=2.0)
    except WireError as exc:
        if exc.code == ErrorCode.NOT_RUNNING:
            return None
        raise


def _wait(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@app.command()
def start(timeout: float = typer.Option(15.0, help="Seconds to wait for the daemon."),
          json: Json = False) -> None:
    """Start the daemon in the background, if it is not running. Exits 10 (or 8) when
    the daemon started but the server refused its log-on (or no password was found);
    the daemon stays up for `cc login`."""
    deadline = time.monotonic() + timeout
    running = _ping()
    started = running is None
    if started:
        profile.check_private(profile.load())   # named here, before any daemon runs
        running = _spawn(timeout)
        view = _settled(deadline)
    else:
        view = client.request("status")
    render.out({"pid": running["pid"], "started": started, **view}, json,
               f"daemon {'started' if started else 'already running'} (pid {running['pid']})\n"
               + render.agent_line(view)
               + (f"; {view['last_error']}" if view.get("last_error") else "")
               + "".join(f"\n{line}" for line in render.waiting_lines(view)
                         + render.events_lines(view))
               + (f"\nnotice  {view['store_notice']}" if view.get("store_notice") else ""))
    refused = view.get("logon_error")
    if started and refused and view["session"] == SessionStatus.LOGGED_OUT:
        code = ErrorCode(refused) if refused in ErrorCode._value2member_map_ \
            else ErrorCode.FAILED
        render.fail(f"{view['last_error']}; the daemon runs (pid {running['pid']}): "
                    "`cc login` once that is fixed", code.exit)


def _spawn(timeout: float) -> dict:
    """Start `python -m daemon` detached, its output to daemon.log; its ping once up."""
    os.umask(0o077)     # its log and everything the daemon makes: the agent's alone
    paths = profile.paths()
    try:
        paths.log_dir.mkdir(parents=True, exist_ok=True)
        logfile = open(paths.daemon_log, "ab")
    except OSError as exc:
        render.fail(f"cannot write the daemon's log {paths.daemon_log}: "
                    f"{exc.strerror or exc}; CC_HOME must be a folder you can write",
                    Exit.CONFIG)
    with logfile:
        child = subprocess.Popen([sys.executable, "-m", "daemon"], stdin=subprocess.DEVNULL,
                                 stdout=logfile, stderr=subprocess.STDOUT,
                                 start_new_session=True)
    _wait(lambda: child.poll() is not None or _ping() is not None, timeout)
    running = None if child.poll() is not None else _ping()
    if running is None:
        if child.poll() is not None:
            render.fail(f"the daemon exited at start: {_last_line(paths.daemon_log)}",
                        _exit_of(child.returncode))
        render.fail(f"the daemon did not answer within {timeout:g} s; see "
                    f"{paths.daemon_log}", Exit.FAILED)
    return running


def _settled(deadline: float) -> dict:
    """The daemon's status once its automatic log-on has ended, the agent's state known
    (or at the deadline)."""
    def pending(view: dict) -> bool:
        return view["session"] == SessionStatus.LOGGING_IN or (
            view["session"] == SessionStatus.LOGGED_IN and view["agent_state"]["id"] is None)

    view = client.request("status")
    while pending(view) and time.monotonic() < deadline:
        time.sleep(0.05)
        view = client.request("status")
    return view


def _exit_of(returncode: int) -> Exit:
    """The daemon's own exit code (e.g. CONFIG) passed on; a signal or other code: FAILED."""
    try:
        return Exit(returncode) if returncode > 0 else Exit.FAILED
    except ValueError:
        return Exit.FAILED


def _last_line(path) -> str:
    try:
        lines = [l for l in path.read_text(errors="replace").splitlines() if l.strip()]
    except OSError:
        return "no log"
    return lines[-1] if lines else "no output"


@app.command()
def stop(timeout: float = typer.Option(10.0, help="Seconds to wait for it to stop."),
         force: bool = typer.Option(False, "--force", help="Stop even when calls the call log "
                                    "cannot take could be kept nowhere else (they are lost)."),
         json: Json = False) -> None:
    """Stop the daemon (it finishes writing the call log first)."""
    running = _ping()
    if running is None:     # already stopped: what a service manager wants, so success
        render.out({"running": False, "stopped": False}, json,
                   "the daemon is not running for this profile: nothing to stop")
        return
    said = _stop(running["pid"], timeout, force)
    render.out(said, json, "\n".join([f"daemon stopped (pid {said['pid']})",
                                      *render.waiting_lines(said, stopped=True)]))


def _stop(pid: int, timeout: float, force: bool, restart: bool = False) -> dict:
    said = client.request("shutdown", force=force, restart=restart)
    if not _wait(lambda: not _alive(pid), timeout):
        os.kill(pid, signal.SIGTERM)
        if not _wait(lambda: not _alive(pid), timeout):
            render.fail(f"the daemon (pid {pid}) did not stop; kill it with `kill -9 {pid}`",
                        Exit.FAILED)
    view = {**said, "pid": pid, "stopped": True}
    view.pop("stopping", None)
    return view


@app.command()
def restart(timeout: float = typer.Option(15.0, help="Seconds to wait for each of stop and "
                                          "start."),
            force: bool = typer.Option(False, "--force", help="As `cc daemon stop --force`."),
            json: Json = False) -> None:
    """Stop the daemon and start it again, so it reads every setting afresh. The agent's
    state is kept as a reconnect keeps it: the state chosen (a break, its reason, the time
    left of --for), a state asked for after the call, wrap-up in progress; a call still up
    is taken up again. Starts the daemon if it was not running."""
    profile.check_private(profile.load())   # a bad settings file stops nothing
    running = _ping()
    stopped = _stop(running["pid"], timeout, force, restart=True) if running else None
    new = _spawn(timeout)
    view = _settled(time.monotonic() + timeout)
    said = f"daemon restarted (pid {stopped['pid']} -> {new['pid']})" if stopped else \
        f"daemon started (pid {new['pid']}): it was not running"
    render.out({"pid": new["pid"], "stopped": stopped, **view}, json,
               f"{said}\n" + render.agent_line(view)
               + (f"; {view['last_error']}" if view.get("last_error") else "")
               + "".join(f"\n{line}" for line in render.waiting_lines(view)
                         + render.events_lines(view)))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie child of ours counts as stopped.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


@app.command()
def status(json: Json = False) -> None:
    """Whether the daemon runs, and its pid."""
    running = _ping()
    if running is None:
        if json:
            render.emit_json({"running": False})
        render.fail(client.NOT_RUNNING, Exit.DAEMON_NOT_RUNNING)
    render.out({"running": True, **running}, json,
               f"daemon running (pid {running['pid']}, up {running['uptime']:.0f} s)")


@app.command()
def keys(json: Json = False) -> None:
    """Make CURVE keys for remote control over remote.endpoint (kept if they exist)."""
    import shutil

    import zmq.auth

    folder = profile.paths().keys_dir
    authorized = folder / "authorized"
    authorized.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(folder, 0o700)
    made = []
    for name in ("server", "client"):
        if not (folder / f"{name}.key_secret").exists():
            zmq.auth.create_certificates(str(folder), name)
            made.append(name)
        os.chmod(folder / f"{name}.key_secret", 0o600)
    shutil.copy(folder / "client.key", authorized / "client.key")
    render.out({"folder": str(folder), "made": made}, json,
               f"keys in {folder} ({'made ' + ', '.join(made) if made else 'kept'}):\n"
               "  server.key_secret  the daemon's; set remote.endpoint, e.g. "
               "tcp://0.0.0.0:5555\n"
               "  client.key_secret  copy it, with server.key, to the remote profile's keys/ "
               "and set CC_REMOTE=tcp://HOST:5555 there\n"
               "  authorized/        public keys of the clients the daemon lets in")


# No After=network-online.target: a user manager cannot order on the system's targets (it
# would do nothing), and the daemon needs none: it reconnects by itself when the network
# comes.
UNIT = """[Unit]
Description=cc daemon: the Infinity contact-centre agent's session{profile}

[Service]
Type=simple
ExecStart={python} -m daemon
{environment}Restart=on-failure
RestartSec=5

[Install]
WantedBy=default.target
"""


def unit_name(home: str | None) -> str:
    """cc-daemon for the default profile; for a CC_HOME profile the folder's name and a
    hash of its whole path, so a second profile's unit never overwrites the first's."""
    if not home:
        return "cc-daemon"
    import hashlib
    import re

    folder = Path(home).expanduser().resolve()
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "-", folder.name).strip("-.")[:32] or "profile"
    return f"cc-daemon-{readable}-{hashlib.sha256(str(folder).encode()).hexdigest()[:8]}"


@app.command("install-service")
def install_service(print_only: bool = typer.Option(
                        False, "--print", help="Print the unit instead of writing it."),
                    json: Json = False) -> None:
    """Write a systemd user unit so this profile's daemon starts at log-in (one unit per
    profile: CC_HOME's profiles get units of their own)."""
    import shlex

    home = os.environ.get("CC_HOME")
    name = unit_name(home)
    environment = ""
    if home:
        folder = str(Path(home).expanduser().resolve())
        environment = f"Environment=CC_HOME={shlex.quote(folder)}\n"
    unit = UNIT.format(python=shlex.quote(sys.executable), environment=environment,
                       profile=f" ({Path(home).expanduser().resolve()})" if home else "")
    if print_only:
        print(unit, end="")
        return
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
    path = os.path.join(base, "systemd", "user", f"{name}.service")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(unit)
    running = _ping()
    if running is not None:
        render.warn(f"a daemon already runs for this profile (pid {running['pid']}): stop it "
                    f"with `cc daemon stop` before `systemctl --user enable --now {name}`, "
                    "or the unit's daemon finds it running and stops")
    render.out({"unit": path, "name": name,
                "running": running["pid"] if running is not None else None}, json,
               f"wrote {path}\n"
               "start it now and at every log-in: systemctl --user daemon-reload && "
               f"systemctl --user enable --now {name}\n"
               "the password: set server.password_command (a unit should not hold "
               "CC_PASSWORD)")
