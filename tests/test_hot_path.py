"""The hot path (cccli/hot.py) behaves exactly as the Typer app: a corpus of command lines,
made from cccli/hotspec.py's table (valid and invalid ones, and seeded random mixes),
runs through both against a recording socket in the daemon's place; for each line the
hot path either hands over to the app having sent nothing, or sends the same requests and
prints the same output with the same exit code as the app does (F37)."""

from __future__ import annotations

import fcntl
import io
import itertools
import json
import os
import random
import sys
import threading

import pytest
import zmq
from conftest import modules_loaded

from cccli import app, hot
from cccli.hotspec import COMMANDS
from daemon import rundir, wire
from daemon.states import LineState
from daemon.wire import ErrorCode

CALL = {"call_id": "c1", "direction": "in", "number": "+380671112233", "state": 21,
        "state_name": "Connected", "connected_at": "2026-11-26T10:00:00+00:00",
        "talk_seconds": 75, "hold_seconds": 12, "ended_at": None, "outcome": None,
        "contact": "Olena", "account": "Acme", "links": {"task": "7"}}
AGENT = {"agent_state": {"title": "Break"}, "state_reason": "lunch", "login": "ivanova",
         "extension": "101", "pending_state": None, "state_until": None}
STATUS = {**AGENT, "session": "logged-in", "pid": 4242, "server": "http://127.0.0.1:1",
          "calls": [CALL], "wrapup": {"call_id": "c0", "number": "+380441110001",
                                      "since": None, "left": 30},
          "waiting_calls": 0, "spooled_calls": 0, "task_failures": [],
          "store_notice": None}
ENDED = {**CALL, "state": 100, "state_name": "Finished", "connected_at": None,
         "ended_at": "2026-11-26T10:01:00+00:00", "outcome": "busy", "transfer": "abandoned"}


def reply(cmd: str, args: dict) -> bytes:
    """What the recording daemon answers: a fixed view per command, an error for call id
    "gone", a busy end for a waited dial, a ring back for a waited callback."""
    if args.get("call_id") == "gone":
        return wire.reply_error(ErrorCode.NO_SUCH_CALL, "no call gone: see `cc calls`")
    if cmd == "dial" and args.get("wait"):
        if args.get("mode") == "callback":
            return wire.reply_ok({**CALL, "state": int(LineState.REMINDER)})
        return wire.reply_ok({**ENDED, "number": args["number"]})
    results = {"status": STATUS, "calls": [CALL, {**CALL, "call_id": "c2"}], "state": AGENT,
               "dtmf": {"call_id": "c1"}, "hangup": ENDED}
    return wire.reply_ok(results.get(cmd, {**CALL, **({"number": args["number"]}
                                                      if "number" in args else {})}))


class Recorder:
    """A REP socket where the daemon's would be, recording each request it answers."""

    def __init__(self, run):
        run.mkdir(mode=0o700, parents=True)
        self.lock = open(run / rundir.LOCK, "w")
        fcntl.flock(self.lock, fcntl.LOCK_EX)
        self.sock = zmq.Context.instance().socket(zmq.REP)
        self.sock.bind(f"ipc://{run / wire.REQUEST_SOCKET}")
        self.requests: list[dict] = []
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping:
            if self.sock.poll(50):
                request = json.loads(self.sock.recv())
                self.requests.append(request)
                self.sock.send(reply(request["cmd"], request["args"]))

    def take(self) -> list[dict]:
        taken, self.requests = self.requests, []
        return taken

    def close(self) -> None:
        self.stopping = True
        self.thread.join()
        self.sock.close(linger=0)
        self.lock.close()


@pytest.fixture
def recorder(tmp_path, monkeypatch):
    monkeypatch.setenv("CC_HOME", str(tmp_path))
    for name in ("CC_COLD", "CC_REMOTE", "CC_DEBUG", "NO_COLOR", "COLUMNS"):
        monkeypatch.delenv(name, raising=False)
    found = Recorder(tmp_path / "run")
    yield found
    found.close()


def run(path, argv: list[str], monkeypatch) -> tuple[str, int, str, str] | None:
    """One command line through one path: what ended it, its exit code, stdout and
    stderr; None when the hot path handed it over."""
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.setattr(sys, "argv", ["cc", *argv])
    try:
        if path == "hot":
            hot.main(argv)
            return None
        app.main()
        code = 0
    except SystemExit as ended:
        code = ended.code if isinstance(ended.code, int) else (0 if ended.code is None else 1)
    finally:
        monkeypatch.undo()
    return "exit", code, out.getvalue(), err.getvalue()


# -- the corpus

VALUES = {
    "str": ["c1", "gone", "", "two words", "-x", "@7", "Кава", "a=b", "--json", "lunch",
            "c\udcff", "\u202ec1", "{0}", "555\n666", "-", "--"],     # \udcff: a byte not UTF-8
    "int": ["1", "0", "12", "-1", "x", "1.5", "+3", "٣"],
    "float": ["1", "30", "0.5", "3600", "3601", "0", "1e3", "x", "-5", "30.0", " 30"],
}
EXTRAS = [["--help"], ["-h"], ["--"], ["--jsn"], ["extra"], ["--json=1"], ["--call"],
          ["-f"], ["--json", "--json"], ["--", "x"], ["-"]]


def values_for(param: dict) -> list[str]:
    if param["type"] == "choice":
        return [*param["choices"], param["choices"][0].upper(), "bogus"]
    return VALUES.get(param["type"], ["1", "x"])


def words_for(param: dict, value: str, joined: bool) -> list[str]:
    if param["kind"] == "argument":
        return [value]
    name = param["names"][0]
    if param["kind"] == "flag":
        return [name]
    return [f"{name}={value}"] if joined else [name, value]


def corpus() -> list[list[str]]:
    lines = []
    for name, (_, params) in COMMANDS.items():
        lines.append([name])
        for param in params:
            for value, joined in itertools.product(values_for(param), (False, True)):
                lines.append([name, *words_for(param, value, joined)])
            for extra in EXTRAS:
                lines.append([name, *words_for(param, values_for(param)[0], False), *extra])
        rng = random.Random(f"hot {name}")
        for _ in range(40):      # mixes: several parameters, any order, now and then a stray
            chosen = rng.sample(params, rng.randint(1, len(params)))
            words = [w for p in chosen for w in words_for(p, rng.choice(values_for(p)),
                                                          rng.random() < 0.5)]
            rng.shuffle(words)
            if rng.random() < 0.2:
                words.insert(rng.randint(0, len(words)), rng.choice(EXTRAS)[0])
            lines.append([name, *words])
    lines += [["hold.c"], ["holdd"], ["Hold"], [], ["--json", "hold"], ["dial", "555", "666"]]
    return lines


# Plain lines the hot path must run itself, one or more per command: were it to hand
# everything over, the comparison below would prove nothing.
HOT_LINES = [["status"], ["status", "--json"], ["calls"], ["calls", "--format", "{call_id}"],
             ["dial", "+380441110001"], ["dial", "555 1234", "--mode", "callback"],
             ["dial", "+380441110002", "--wait", "--timeout=30"],
             ["dial", "+380441110002", "--mode=callback", "--wait"],
             ["answer"], ["answer", "--call", "c1"], ["reject", "--json"],
             ["hangup", "--call=c1"], ["hold"], ["hold", "--call", "gone"], ["unhold"],
             ["available"], ["away", "--for", "30m"], ["away", "--for", "soon"],
             ["break", "lunch", "--after-call"], ["break", "lunch", "--other", "x"],
             ["state"], ["state", "away", "--json"], ["dtmf", "12#"], ["dtmf", "12a"]]


def test_every_hot_command_has_plain_lines_the_hot_path_runs():
    assert {line[0] for line in HOT_LINES} == set(COMMANDS)
    for line in HOT_LINES:
        assert hot.recognise(line) is not None, line


def test_the_hot_path_and_the_app_agree_on_every_line_of_the_corpus(recorder, monkeypatch):
    lines = HOT_LINES + corpus()
    ran_hot = handed = 0
    for argv in lines:
        with monkeypatch.context() as patch:
            hot_result = run("hot", argv, patch)
        hot_requests = recorder.take()
        with monkeypatch.context() as patch:
            app_result = run("app", argv, patch)
        app_requests = recorder.take()
        if hot_result is None:
            handed += 1
            assert hot_requests == [], argv         # a hand-over has sent nothing
            assert argv not in HOT_LINES, argv
            continue
        ran_hot += 1
        assert hot_requests == app_requests, argv
        assert hot_result == app_result, argv
    assert ran_hot >= 300 and handed >= 300, (ran_hot, handed)


def test_the_recogniser_hands_over_what_it_cannot_be_sure_of():
    for argv in (["hold", "--help"], ["dial", "@front"], ["dial", "--contact", "Olena"],
                 ["dial", "555", "--link", "task=1"], ["hold", "--call", "a", "--call", "b"],
                 ["dial", "--", "-5"], ["dial", "555", "--timeout", "1e3"],
                 ["calls", "-f{call_id}"], ["hold", "--jsn"], ["state", "Away"],
                 ["transfer", "102"], ["log"], ["hold", "--json=yes"]):
        assert hot.recognise(argv) is None, argv
    assert hot.recognise(["dial", "555", "--timeout", "30", "--json"]) == (
        "dial", {"number": "555", "contact": None, "pick": None, "mode": None, "link": None,
                 "wait": False, "timeout": 30.0, "json": True})


def test_a_remote_daemon_and_cc_cold_go_to_the_app(recorder, monkeypatch):
    for name in ("CC_REMOTE", "CC_COLD"):
        with monkeypatch.context() as patch:
            patch.setenv(name, "tcp://127.0.0.1:1" if name == "CC_REMOTE" else "1")
            assert run("hot", ["status"], patch) is None
        assert recorder.take() == []


def test_a_hot_command_imports_neither_typer_nor_rich_nor_the_profile(recorder, tmp_path):
    modules, output = modules_loaded(tmp_path, "hold", "--json")
    assert json.loads(output)["call_id"] == "c1"
    assert [r["cmd"] for r in recorder.take()] == ["hold"]
    heavy = {"typer", "click", "rich", "zmq", "daemon.profile", "platformdirs",
             "cccli.app", "cccli.calls", "cccli.agent", "cccli.options"}
    assert not heavy & modules, heavy & modules


def test_the_run_folder_is_the_profile_s(tmp_path, monkeypatch):
    from daemon import profile

    monkeypatch.setenv("CC_HOME", str(tmp_path / "x" / ".." / "home"))
    assert rundir.run_dir() == str(profile.paths().run_dir)
    assert os.path.join(rundir.run_dir(), rundir.LOCK) == str(profile.paths().lock_file)
    monkeypatch.delenv("CC_HOME")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "xdg"))
    assert rundir.run_dir() == str(profile.paths().run_dir)


def test_a_stale_hot_table_fails_the_docs_check(tmp_path):
    import subprocess
    from pathlib import Path

    gen_docs = Path(__file__).parent.parent / "scripts" / "gen_docs.py"
    subprocess.run([sys.executable, str(gen_docs), "--root", str(tmp_path)], check=True,
                   capture_output=True, timeout=120)
    table = tmp_path / "cccli" / "hotspec.py"
    table.write_text(table.read_text().replace("'max': 3600", "'max': 36000"))
    done = subprocess.run([sys.executable, str(gen_docs), "--check", "--root", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "cccli/hotspec.py is stale" in done.stderr


def test_without_cc_home_the_daemon_is_found_without_platformdirs(tmp_path):
    """The usual profile: the socket in $XDG_RUNTIME_DIR/cc, found on a guess that only a
    running daemon confirms; with none there, platformdirs is asked, as the app asks it."""
    import subprocess

    runtime = tmp_path / "xdg"
    runtime.mkdir(mode=0o700)
    env = {k: v for k, v in os.environ.items() if k not in ("CC_HOME", "CC_COLD",
                                                            "CC_REMOTE")}
    env["XDG_RUNTIME_DIR"] = str(runtime)
    probe = ("import sys\nsys.argv = ['cc', 'hold', '--json']\n"
             "from cccli.compiler import main\n"
             "try:\n    main()\nexcept SystemExit as e:\n    print('exit', e.code)\n"
             "print(' '.join(sorted(sys.modules)))\n")

    def hold() -> tuple[str, set[str]]:
        done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                              text=True, timeout=60)
        *said, modules = done.stdout.splitlines()
        return "\n".join(said) + done.stderr, set(modules.split())

    said, modules = hold()
    assert "daemon is not running" in said and "exit 3" in said
    assert "platformdirs" in modules         # nothing runs: the app's answer is confirmed
    recorder = Recorder(runtime / rundir.APP)
    try:
        said, modules = hold()
        assert json.loads(said.split("exit")[0])["call_id"] == "c1", said
        assert [r["cmd"] for r in recorder.take()] == ["hold"]
        assert "platformdirs" not in modules
    finally:
        recorder.close()


def test_a_reader_gone_ends_both_paths_alike_quietly(recorder, tmp_path):
    """`cc status | true`: the reader has gone before cc writes. The app (Click) exits 1
    saying nothing; the hot path said `internal error: BrokenPipeError`."""
    import subprocess

    from conftest import CC

    ended = {}
    for cold in ("", "1"):
        read, write = os.pipe()
        os.close(read)
        done = subprocess.run([CC, "status"], stdout=write, stderr=subprocess.PIPE,
                              env={**os.environ, "CC_HOME": str(tmp_path), "CC_COLD": cold},
                              timeout=60)
        os.close(write)
        ended[cold] = (done.returncode, done.stderr, [r["cmd"] for r in recorder.take()])
    assert ended[""] == ended["1"] == (1, b"", ["status"])
