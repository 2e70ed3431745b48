"""No traceback reaches a user: each case once seen ends in one `cc:` line and an exit code
(CC_DEBUG=1 shows the traceback of an unexpected error); Ctrl-C exits 130 quietly."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from conftest import CC, wait_until
from daemon.wire import Exit
from test_nothing_lost_e2e import fill, small_disk

REPO = Path(__file__).resolve().parent.parent


def cc(home, *args, env=None, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "CC_HOME": str(home), **(env or {})}
    env.pop("XDG_RUNTIME_DIR", None)
    return subprocess.run([CC, *args], env=env, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL, **kwargs)


def no_traceback(done) -> None:
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    assert all(line.startswith("cc: ") for line in done.stderr.splitlines()), done.stderr


def one_line(done) -> str:
    no_traceback(done)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


COMMANDS = [("config", "set", "server.port", "10081"), ("config", "get"), ("status",),
            ("daemon", "start"), ("daemon", "stop"), ("doctor",), ("log",), ("journal",),
            ("report",), ("who",)]


@pytest.mark.e2e
@pytest.mark.parametrize("home", ["a-file", "/dev/null", "/proc/self"])
def test_cc_home_that_is_no_folder_of_ours_is_named_in_one_line(tmp_path, home):
    if home == "a-file":
        home = tmp_path / "a-file"
        home.write_text("not a folder")
    for args in COMMANDS:
        done = cc(home, *args)
        no_traceback(done)
        if home != "/proc/self":      # a folder, but nothing can be written there
            assert done.returncode == Exit.CONFIG, args
            assert one_line(done) == (f"cc: CC_HOME={home} is not a directory: point CC_HOME "
                                      "at a folder of your own (it is made if missing), or "
                                      "unset it")
    done = cc("/proc/self", "config", "set", "server.port", "10081")
    assert done.returncode == Exit.CONFIG and "cannot write" in one_line(done)
    done = cc("/proc/self", "daemon", "start")
    assert done.returncode == Exit.CONFIG
    assert "cannot write the daemon's log" in one_line(done)


def test_a_full_disk_under_cc_config_set_changes_nothing_and_leaves_no_temporary(tmp_path):
    with small_disk(tmp_path / "home", "1m") as home:
        assert cc(home, "config", "set", "server.login", "ivanova").returncode == 0
        before = (home / "config.toml").read_bytes()
        fill(home)
        done = cc(home, "config", "set", "server.port", "10081")
        assert done.returncode == Exit.CONFIG
        assert one_line(done) == (f"cc: cannot write {home / 'config.toml'}: No space left "
                                  "on device; nothing was changed")
        assert (home / "config.toml").read_bytes() == before
        assert sorted(p.name for p in home.iterdir()) == ["config.toml", "filler"]


@pytest.mark.e2e
def test_report_periods_at_the_ends_of_the_calendar(tmp_path):
    from test_report import make_log

    make_log(tmp_path / "data" / "calls.db")
    everything = cc(tmp_path, "report", "--period", "2000-01-01..2100-01-01", "--format", "csv")
    total = everything.stdout.splitlines()[-1]
    assert total.startswith("TOTAL,")
    for period in ("0001-01-01..", "..9999-12-31", "0001-01-01..9999-12-31"):
        for tz in ("UTC", "Asia/Tokyo", "America/New_York"):
            done = cc(tmp_path, "report", "--period", period, "--format", "csv",
                      env={"TZ": tz})
            no_traceback(done)
            assert done.returncode == 0, (period, tz)
            assert done.stdout.splitlines()[-1] == total, (period, tz)   # every call
    for period in ("0001-01-01..0001-01-01", "9999-12-31..9999-12-31"):
        done = cc(tmp_path, "report", "--period", period)
        assert done.returncode == 0 and "no calls in this period" in done.stdout
        done = cc(tmp_path, "log", "--database", str(tmp_path / "data" / "calls.db"),
                  "--period", period)
        assert done.returncode == 0 and "no calls match" in done.stdout


@pytest.mark.parametrize("template,words", [
    ("{number!r:>{width}}", "nests a field in the format spec"),
    ("{number:>{id}}", "nests a field"),
    ("{number:d}", "Unknown format code 'd'"),
    ("{number:999999999}", "over 999"),
    ("{number!x}", "a conversion is !r, !s or !a"),
])
def test_a_log_template_that_cannot_format_is_refused_in_one_line(tmp_path, template, words):
    from test_report import make_log

    database = make_log(tmp_path / "calls.db")
    done = cc(tmp_path, "log", "--database", str(database), "--format", template)
    assert done.returncode == Exit.BAD_INPUT and words in one_line(done)
    assert done.stdout == ""


def test_a_template_field_a_call_lacks_is_blank(tmp_path):
    from test_report import make_log

    database = make_log(tmp_path / "calls.db")
    done = cc(tmp_path, "log", "--database", str(database), "--limit", "2", "--format",
              "[{processing_seconds:>6.1f}] [{wait_seconds:.1f}]")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["[      ] [9.0]", "[      ] [2.0]"]


def run_main(monkeypatch, argv, command):
    """cccli.app.main() with a one-command app: its exit code and what it wrote."""
    from cccli import app

    built = typer.Typer()
    built.command()(command)
    built.callback()(lambda: None)
    monkeypatch.setattr(app, "app", built)          # "broken" is no name of ours
    monkeypatch.setattr(sys, "argv", ["cc", *argv])
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    with pytest.raises(SystemExit) as ended:
        app.main()
    return ended.value.code, sys.stderr.getvalue()


def test_an_unexpected_error_is_one_line_and_exit_1(monkeypatch):
    def broken() -> None:
        raise RuntimeError("a bug\nover two lines")

    monkeypatch.delenv("CC_DEBUG", raising=False)
    code, said = run_main(monkeypatch, ["broken"], broken)
    assert code == Exit.FAILED
    assert said == ("cc: internal error: RuntimeError: a bug over two lines; run with "
                    "CC_DEBUG=1 for details\n")
    monkeypatch.setenv("CC_DEBUG", "1")
    with pytest.raises(RuntimeError, match="a bug"):
        run_main(monkeypatch, ["broken"], broken)


def test_ctrl_c_in_a_command_exits_130_quietly(tmp_path):
    fifo = tmp_path / "journal.fifo"
    os.mkfifo(fifo)
    env = {**os.environ, "CC_HOME": str(tmp_path)}
    reader = subprocess.Popen([CC, "journal", str(fifo)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    with open(fifo, "w") as writer:        # cc now has the FIFO open and waits on it
        writer.write("")
        wait_until(lambda: any(Path(f"/proc/{reader.pid}/fd/{fd}").resolve() == fifo
                               for fd in os.listdir(f"/proc/{reader.pid}/fd")), 30,
                   "cc journal to read the FIFO")
        reader.send_signal(signal.SIGINT)
        out, err = reader.communicate(timeout=30)
    assert reader.returncode == 130
    assert err == "" and out == ""


def test_ctrl_c_while_cc_is_still_loading_shows_no_traceback():
    done = subprocess.run([sys.executable, "-c", "import cccli, os, signal\n"
                           "os.kill(os.getpid(), signal.SIGINT)"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode in (130, -signal.SIGINT) and done.stderr == ""


@pytest.mark.e2e
def test_ctrl_c_in_make_demo_stops_everything_and_exits_130():
    """As a terminal sends it: SIGINT to the whole foreground process group."""
    demo = subprocess.Popen([sys.executable, str(REPO / "scripts" / "demo.py")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    seen = []
    while not seen or "$ cc daemon start" not in seen[-1]:
        seen.append(demo.stdout.readline())
        assert seen[-1], "".join(seen)
    home = Path(seen[0].split("profile in ", 1)[1].split(";")[0])
    os.killpg(demo.pid, signal.SIGINT)
    rest = demo.stdout.read()
    assert demo.wait(60) == 130
    assert "Traceback" not in rest and rest.endswith(
        "# interrupted\n# stopped the daemon and the emulator\n"), rest
    assert not home.exists()                               # the profile deleted
    left = subprocess.run(["pgrep", "-f", str(home)], capture_output=True, text=True)
    assert left.stdout == ""                               # no daemon or emulator left


def test_cc_daemon_stop_with_nothing_running_says_so_and_succeeds(tmp_path):
    done = cc(tmp_path, "daemon", "stop")
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout == "the daemon is not running for this profile: nothing to stop\n"
    done = cc(tmp_path, "daemon", "stop", "--json")
    assert done.returncode == 0 and '"running": false' in done.stdout


def test_output_that_cannot_be_written_is_one_line(tmp_path):
    """`cc version > /dev/full`: the disk is full, said in one line, no traceback at exit."""
    for cold in ("", "1"):
        with open("/dev/full", "w") as full:
            done = subprocess.run([CC, "version"], stdout=full, stderr=subprocess.PIPE,
                                  text=True, timeout=60,
                                  env={**os.environ, "CC_HOME": str(tmp_path), "CC_COLD": cold})
        assert done.returncode == 1
        assert done.stderr == ("cc: cannot write the output: No space left on device (send "
                               "it somewhere with room)\n")


def test_a_folder_the_system_refuses_is_named_in_one_line(monkeypatch):
    from cccli.guard import guarded

    def refused():
        raise PermissionError(13, "Permission denied", "/srv/cc/run")

    monkeypatch.setattr(sys, "stderr", io.StringIO())
    with pytest.raises(SystemExit) as ended:
        guarded(refused)
    assert ended.value.code == 1
    assert sys.stderr.getvalue() == ("cc: cannot use /srv/cc/run: Permission denied (check it "
                                     "is yours and its disk has room; CC_HOME moves a profile "
                                     "elsewhere)\n")
