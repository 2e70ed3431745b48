"""Tests of the reference Infinity emulator (daemon/emulator), run as a real process.

The emulator runs on a manual clock: emulated time stands still until a test advances
it by exactly the seconds it needs, so emulated timers (ring timeout, hunt steps, hold
rule, linger) fire when the test says, and a test that acts while a call rings races
no timer, however busy the machine. Only the tests of the scaled clock itself run an
emulator at a high time scale. Tests never sleep for luck: they wait with a deadline
for what happens without emulated time passing (an event reaching a listener, a port
file).
"""

from __future__ import annotations

import asyncio
import http.client
import http.server
import io
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import wave
from pathlib import Path

import pytest

from daemon.testing import CC

ROOT = Path(__file__).resolve().parents[1]
SCALE = 100          # emulated seconds per real second, on the scaled clock
RING_TIMEOUT = 20
HUNT_TIMEOUT = 10
LINGER = 60
BUSY_AFTER = 1       # a busy far end, or an unavailable colleague, ends the call after 1 s
HOLD_RULE = 30       # on hold this long: Busy (304); twice as long: No phone (303)
DEADLINE = 10.0      # real seconds any single wait may take before the test fails

IVANOVA = 5001790109
PETRENKO = 5001790117
SHEVCHENKO = 5001790125

SCENARIO = f"""
[server]
time_scale = 1.0
ring_timeout = {RING_TIMEOUT}
finished_linger = {LINGER}
raw_answers = false

[[users]]
login = "ivanova"
password = "demo"
id = {IVANOVA}
extension = "101"

[[users]]
login = "petrenko"
password = "demo"
id = {PETRENKO}
extension = "102"

[[users]]
login = "shevchenko"
password = "demo"
id = {SHEVCHENKO}
extension = "103"

[[groups]]
number = "500"
name = "Sales line"
order = "ring-all"
extensions = ["101", "102"]

[[groups]]
number = "501"
order = "hunt"
extensions = ["102", "103"]
hunt_timeout = {HUNT_TIMEOUT}

[[numbers]]
match = "+380441110001"
answer_after = 2

[[numbers]]
match = "+380441110002"
busy = true

[[numbers]]
match = "+380441110003"
never_answer = true

[[numbers]]
match = "+380441110005"
answer_after = 1
hangup_after = 5

[[numbers]]
match = "*"
answer_after = 3
"""


# ----- helpers -------------------------------------------------------------------


def wait_until(predicate, what: str, timeout: float = DEADLINE):
    """Poll predicate until it returns something truthy; fail naming `what` after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


class Emulator:
    """A running emulator process and a small urllib client for it."""

    def __init__(self, tmp: Path, scenario_text: str, clock: str | None = "manual"):
        """clock: "manual" (time moves only when advanced), "scaled" (at SCALE), or None
        for what the scenario says."""
        self.scenario = tmp / "scenario.toml"
        self.scenario.write_text(scenario_text, encoding="utf-8")
        port_file = tmp / "port"
        # Output goes to files, not pipes: a full pipe would block the emulator.
        self.stdout_path, self.stderr_path = tmp / "stdout", tmp / "stderr"
        flags = {"manual": ["--manual-clock"], "scaled": ["--time-scale", str(SCALE)], None: []}[clock]
        with open(self.stdout_path, "w") as out, open(self.stderr_path, "w") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "daemon.emulator", "run", "--port", "0", "--port-file", str(port_file),
                 "--scenario", str(self.scenario), *flags],
                cwd=ROOT, stdout=out, stderr=err,
            )

        def port_ready():
            if self.proc.poll() is not None:
                pytest.fail(f"emulator exited early: {self.stderr()}")
            return port_file.exists() and port_file.read_text()

        self.port = int(wait_until(port_ready, "the emulator's port file"))
        self.base = f"http://127.0.0.1:{self.port}"

    def stdout(self) -> str:
        return self.stdout_path.read_text()

    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def stop(self) -> int:
        self.proc.terminate()
        try:
            return self.proc.wait(timeout=DEADLINE)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()

    def get(self, path: str, **params) -> tuple[int, bytes, str]:
        """(status, body, content type) of a GET; HTTP errors are answers too."""
        url = self.base + path + ("?" + urllib.parse.urlencode(params) if params else "")
        try:
            with urllib.request.urlopen(url, timeout=DEADLINE) as resp:
                return resp.status, resp.read(), resp.headers.get("Content-Type", "")
        except urllib.error.HTTPError as err:
            with err:
                return err.code, err.read(), err.headers.get("Content-Type", "")

    def json(self, path: str, expect: int = 200, **params) -> dict:
        status, body, ctype = self.get(path, **params)
        assert status == expect, (path, params, status, body)
        assert ctype.startswith("application/json"), ctype
        return json.loads(body)["result"]

    def admin(self, name: str, **params) -> dict:
        return self.json(f"/_emulator/{name}/", **params)

    def now(self) -> float:
        return self.admin("clock")["Now"]

    def advance(self, seconds: float) -> dict:
        return self.admin("advance", Seconds=seconds)

    def answers(self) -> bool:
        """Whether the methods answer at all, or the network is down."""
        try:
            return self.get("/user/getstate/", IDUser=IVANOVA)[0] == 200
        except (urllib.error.URLError, ConnectionError, http.client.HTTPException):
            return False

    def call(self, call_id: int) -> dict:
        return next(c for c in self.admin("calls")["Calls"] if c["IDCall"] == call_id)

    def logon(self, login: str) -> int:
        return self.json("/user/logon/", Login=login, Password="demo", IDRole=1)["IDUser"]


class Listener:
    """The daemon's side of events: a tiny HTTP server recording every GET it gets."""

    def __init__(self):
        self.events: list[dict] = []
        self.cond = threading.Condition()
        listener = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                params = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
                with listener.cond:
                    listener.events.append({"path": url.path, **params})
                    listener.cond.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def mark(self) -> int:
        with self.cond:
            return len(self.events)

    def wait_for(self, predicate, what: str, since: int = 0) -> dict:
        deadline = time.monotonic() + DEADLINE
        with self.cond:
            while True:
                for event in self.events[since:]:
                    if predicate(event):
                        return event
                left = deadline - time.monotonic()
                if left <= 0:
                    pytest.fail(f"timed out waiting for event: {what}; got {self.events[since:]}")
                self.cond.wait(left)

    def call_events(self, call_id: int) -> list[dict]:
        with self.cond:
            return [e for e in self.events if e.get("IDCall") == str(call_id)]

    def wait_call_state(self, call_id: int, state: int) -> dict:
        return self.wait_for(
            lambda e: e["path"] == "/call/OnCallStateChanged/" and e["IDCall"] == str(call_id) and e["State"] == str(state),
            f"call {call_id} state {state}",
        )

    def wait_user_state(self, user_id: int, state: int, since: int) -> dict:
        return self.wait_for(
            lambda e: e["path"] == "/user/OnStateChanged/" and e["IDUser"] == str(user_id) and e["IDUserState"] == str(state),
            f"user {user_id} state {state}", since,
        )


class AioListener:
    """A daemon-like listener: a tiny aiohttp server, on a loop in a thread of its own,
    recording each event it is pushed before it answers."""

    def __init__(self):
        from aiohttp import web

        self.events: list[dict] = []
        self.loop = asyncio.new_event_loop()
        app = web.Application()
        app.router.add_get("/{tail:.*}", self.record)
        self.runner = web.AppRunner(app, access_log=None)
        self.loop.run_until_complete(self.runner.setup())
        self.loop.run_until_complete(web.TCPSite(self.runner, "127.0.0.1", 0).start())
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}"
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    async def record(self, request):
        from aiohttp import web

        self.events.append({"path": request.path, **request.query})
        return web.Response()

    def close(self):
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(DEADLINE)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(DEADLINE)
        self.loop.close()


def seconds_of(day_fraction: str) -> float:
    """A stat duration ("0,003472222") in seconds, as clients read it."""
    return float(day_fraction.replace(",", ".")) * 86400


def dial(emu: Emulator, number: str, user_id: int = IVANOVA, **params) -> int:
    return emu.json("/call/make/", IDUser=user_id, Number=number, **params)["IDCall"]


def connected_outside_call(emu: Emulator, events: Listener, user_id: int = IVANOVA) -> int:
    """A call the agent dials to +380441110001, answered after its answer_after of 2 s."""
    call_id = dial(emu, "+380441110001", user_id=user_id)
    emu.advance(2)
    events.wait_call_state(call_id, 21)
    return call_id


def live_calls(emu: Emulator, user_id: int) -> list[int]:
    """The user's calls that have not ended, as call/getactivecalls lists them."""
    rows = emu.json("/call/getactivecalls/", IDUser=user_id)["Data"]
    return [int(r["ID"]) for r in rows if r["State"] not in ("99", "100")]


def ended_reason(events: Listener, call_id: int) -> str:
    """The Reason its Disconnected event carried, once the call has finished."""
    events.wait_call_state(call_id, 100)
    return events.wait_call_state(call_id, 99)["Reason"]


def created_event(events: Listener, call_id: int) -> dict:
    return events.wait_for(
        lambda e: e["path"] == "/call/OnCallCreated/" and e["IDCall"] == str(call_id), f"call {call_id} created")


def states_of(events: Listener, call_id: int) -> list[str]:
    return [e["State"] for e in events.call_events(call_id) if e["path"] == "/call/OnCallStateChanged/"]


# ----- fixtures ------------------------------------------------------------------


@pytest.fixture(scope="module")
def emu(tmp_path_factory):
    """The shared emulator, on a manual clock: time moves only when a test advances it."""
    emulator = Emulator(tmp_path_factory.mktemp("emu"), SCENARIO)
    yield emulator
    assert emulator.stop() == 0
    assert "Traceback" not in emulator.stderr(), emulator.stderr()


@pytest.fixture(scope="module")
def events(emu):
    listener = Listener()
    assert emu.admin("subscribe", URL=listener.url) == {"Subscribed": listener.url}
    yield listener
    listener.close()


@pytest.fixture(scope="module")
def scaled(tmp_path_factory):
    """A shared emulator whose clock runs by itself at SCALE, for the tests of that clock."""
    emulator = Emulator(tmp_path_factory.mktemp("scaled"), SCENARIO, clock="scaled")
    yield emulator
    assert emulator.stop() == 0
    assert "Traceback" not in emulator.stderr(), emulator.stderr()


@pytest.fixture(autouse=True)
def fresh(request):
    """Every test that uses a shared emulator starts from a restarted server: no session,
    no call, so no timer of an earlier test is left to fire when this one advances."""
    for name in ("emu", "scaled"):
        if name in request.fixturenames:
            emu = request.getfixturevalue(name)
            emu.admin("fault", Kind="none")
            emu.admin("network", Down=0)
            emu.admin("restart")
    yield


# ----- tests ---------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/user/getstate/", "/user/getstate", "/_emulator/clock", "/_emulator/clock/"])
def test_paths_with_and_without_trailing_slash(emu, path):
    status, body, _ = emu.get(path, IDUser=IVANOVA)
    assert status == 200
    assert "result" in json.loads(body)


def test_logon_outcomes(emu):
    good = emu.json("/user/logon/", Login="ivanova", Password="demo", IDRole=1, HostHame="pc-7")
    assert good == {"IDUser": IVANOVA, "Extension": "101", "LogonResult": 1}
    assert emu.json("/user/getstate/", IDUser=IVANOVA) == {"IDUserState": 300}

    # Logging on again is accepted and keeps the agent's state.
    assert emu.json("/user/setstate/", IDUser=IVANOVA, IDUserState=301) == {}
    assert emu.json("/user/logon", IDUser=IVANOVA, Password="demo", IDRole=1) == good
    assert emu.json("/user/getstate/", IDUser=IVANOVA) == {"IDUserState": 301}

    bad = emu.json("/user/logon/", expect=406, Login="ivanova", Password="nope", IDRole=1)
    assert bad == {"ErrorMessage": "Invalid login or password", "LogonResult": 3}
    assert emu.json("/user/logon/", expect=406, Login="nobody", Password="demo", IDRole=1)["LogonResult"] == 3
    no_role = emu.json("/user/logon/", expect=406, Login="petrenko", Password="demo")
    assert no_role["LogonResult"] == 2 and "IDRole" in no_role["ErrorMessage"]
    assert emu.json("/user/getstate/", IDUser=PETRENKO) == {"IDUserState": 399}

    call_id = dial(emu, "+380441110003")
    assert emu.json("/user/logoff/", IDUser=IVANOVA) == {}
    assert emu.json("/user/getstate/", IDUser=IVANOVA) == {"IDUserState": 399}
    row = emu.call(call_id)                         # logging off drops the agent's calls
    assert (row["State"], row["Reason"]) == (100, "Normal")


def test_error_answers(emu):
    assert emu.json("/user/getstate/", expect=406, IDUser=1) == {"ErrorMessage": "User not found"}
    assert emu.json("/user/getstate/", expect=406) == {"ErrorMessage": "Missing parameter IDUser"}
    assert "Malformed parameter IDUser" in emu.json("/user/getstate/", expect=406, IDUser="x1")["ErrorMessage"]
    assert emu.json("/user/setstate/", expect=406, IDUser=IVANOVA, IDUserState=301) == {
        "ErrorMessage": "User is not logged on"}
    emu.logon("ivanova")
    assert "399" in emu.json("/user/setstate/", expect=406, IDUser=IVANOVA, IDUserState=399)["ErrorMessage"]
    assert emu.json("/call/make/", expect=406, IDUser=IVANOVA) == {"ErrorMessage": "Missing parameter Number"}
    assert emu.json("/call/make/", expect=406, Number="+380441110001")["ErrorMessage"] == (
        "Missing parameter IDUser or Extension")
    assert emu.json("/call/drop/", expect=406, Extension="101", IDCall=42) == {"ErrorMessage": "Call not found"}
    assert emu.json("/call/drop/", expect=406, Extension="999", IDCall=42)["ErrorMessage"] == "Extension 999 not found"
    assert emu.json("/stat/connectionsbycall/", expect=406, IDCall=42) == {"ErrorMessage": "Call not found"}
    assert emu.json("/data/getdata/", expect=406, ProviderName="Other")["ErrorMessage"].startswith("Unknown provider")
    assert emu.json("/_emulator/subscribe/", expect=406, URL="ftp://x")["ErrorMessage"].startswith("Malformed parameter URL")
    status, _, _ = emu.get("/user/nothing/")
    assert status == 404


def test_extension_instead_of_iduser_and_optional_tag(emu, events):
    emu.logon("ivanova")
    tagged = emu.json("/call/make/", Extension="101", Number="+38 (044) 111-00-03", Tag="order-77")["IDCall"]
    plain = emu.json("/call/make", IDUser=IVANOVA, Number="+380441110003")["IDCall"]
    rows = emu.json("/call/getactivecalls/", Extension="101")["Data"]
    assert [r["ID"] for r in rows] == [str(tagged), str(plain)]
    assert rows[0]["BNumber"] == "+380441110003"     # spaces, dashes, parentheses removed
    assert emu.call(tagged)["Tag"] == "order-77" and emu.call(plain)["Tag"] == ""
    assert emu.json("/call/drop", Extension="101", IDCall=tagged) == {}
    assert emu.json("/call/drop/", IDUser=IVANOVA, IDCall=plain) == {}
    for call_id in (tagged, plain):
        events.wait_call_state(call_id, 100)
    # Another agent cannot touch this agent's calls.
    emu.logon("petrenko")
    assert "not a call of extension 102" in emu.json("/call/hold/", expect=406, Extension="102", IDCall=plain)["ErrorMessage"]


def test_outgoing_call_events_and_rows(emu, events):
    emu.logon("ivanova")
    call_id = connected_outside_call(emu, events)
    row = emu.json("/call/getactivecalls/", IDUser=IVANOVA)["Data"][0]
    assert all(isinstance(v, str) for v in row.values())
    assert row["ID"] == str(call_id) and row["State"] == "21" and row["Direction"] == "2"
    assert row["ANumber"] == "101" and row["BNumber"] == "+380441110001"
    assert row["AWavFile"].startswith("C:\\Records\\") and row["AWavFile"].endswith(f"{call_id}_a.wav")
    assert row["Extension"] == "101" and row["IDUser"] == str(IVANOVA)

    rejected = emu.json("/call/accept/", expect=406, IDUser=IVANOVA, IDCall=call_id)
    assert rejected == {"ErrorMessage": f"Call {call_id} is Connected (21), not Ringing or Reminder"}
    emu.json("/call/hold/", IDUser=IVANOVA, IDCall=call_id)
    assert emu.json("/call/getactivecalls/", IDUser=IVANOVA)["Data"][0]["State"] == "41"
    emu.json("/call/unhold/", IDUser=IVANOVA, IDCall=call_id)
    emu.json("/call/drop/", IDUser=IVANOVA, IDCall=call_id)
    events.wait_call_state(call_id, 100)

    seq = events.call_events(call_id)
    assert seq[0]["path"] == "/call/OnCallCreated/"
    assert {k: seq[0][k] for k in ("Extension", "IDUser", "Number", "Direction")} == {
        "Extension": "101", "IDUser": str(IVANOVA), "Number": "+380441110001", "Direction": "2"}
    changes = [(e["OldState"], e["State"]) for e in seq[1:]]
    assert changes == [("0", "13"), ("13", "21"), ("21", "41"), ("41", "21"), ("21", "99"), ("99", "100")]

    # A finished call lingers in the list as 100 for finished_linger, then is deleted with an event.
    emu.advance(LINGER - 1)
    assert emu.json("/call/getactivecalls/", IDUser=IVANOVA)["Data"][0]["State"] == "100"
    assert emu.advance(1)["Fired"] == 1
    assert events.call_events(call_id)[-1]["path"] == "/call/OnCallDeleted/"
    assert emu.json("/call/getactivecalls/", IDUser=IVANOVA)["Data"] == []
    # The statistics still know it.
    assert emu.json("/stat/connectionsbycall/", IDCall=call_id)["Connections"] == [emu.call(call_id)["IDConnection"]]


def test_durations_are_comma_day_fractions_matching_the_emulator(emu, events):
    emu.logon("ivanova")
    call_id = connected_outside_call(emu, events)   # after 2 s of waiting
    emu.advance(4)                                  # 4 s of talk
    emu.json("/call/hold/", IDUser=IVANOVA, IDCall=call_id)
    emu.advance(5)                                  # 5 s on hold
    emu.json("/call/unhold/", IDUser=IVANOVA, IDCall=call_id)
    emu.advance(3)                                  # 3 s more of talk
    emu.json("/call/drop/", IDUser=IVANOVA, IDCall=call_id)

    exact = emu.call(call_id)
    assert (exact["WaitSeconds"], exact["TalkSeconds"], exact["HoldSeconds"]) == (2, 7, 5)
    full = exact["Ended"] - exact["Created"]
    assert full == 14
    row = emu.json("/stat/connectionsbycall/", IDCall=call_id, AllInfo=1)["Data"][0]
    assert all(isinstance(v, str) for v in row.values())
    for field, key in (("DurationWait", "WaitSeconds"), ("DurationTalk", "TalkSeconds"), ("DurationHold", "HoldSeconds")):
        text = row[field]
        assert "," in text and "." not in text and len(text.split(",")[1]) == 9, text
        assert seconds_of(text) == pytest.approx(exact[key], abs=0.001)   # 9 decimals of a day
    assert seconds_of(row["DurationFull"]) == pytest.approx(full, abs=0.001)
    assert row["DurationConference"] == "0,000000000"
    assert row["ConnectionDirection"] == "2" and row["ANumber"] == "101" and row["BNumber"] == "+380441110001"
    assert row["ID"] == str(exact["IDConnection"]) and row["IDSeance"] == str(exact["IDSeance"])
    local_epoch = exact["Created"] + time.localtime(exact["Created"]).tm_gmtoff
    assert float(row["TimeStart"].replace(",", ".")) == pytest.approx(local_epoch / 86400 + 25569, abs=1e-8)
    assert row["TimeStartDate"] == time.strftime("%d.%m.%Y", time.localtime(exact["Created"]))
    assert row["TimeStartTime"] == time.strftime("%H:%M:%S", time.localtime(exact["Created"]))

    status, body, ctype = emu.get("/stat/getrecordedfile/", IDConnection=exact["IDConnection"], codec="pcm")
    assert status == 200 and ctype == "audio/wav"
    with wave.open(io.BytesIO(body)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)
        assert wav.getnframes() == 5 * 8000        # as long as the talk, 5 s at most
    assert emu.get("/stat/getrecordedfile/", IDSeance=exact["IDSeance"], codec="pcm")[0] == 200
    # Real clients send no codec: the answer comes in the server's default one, a WAV.
    connection = exact["IDConnection"]
    assert emu.get("/stat/getrecordedfile/", IDConnection=connection) == (status, body, ctype)
    refused = emu.json("/stat/getrecordedfile/", expect=406, IDConnection=connection, codec="ogg")
    assert refused == {"ErrorMessage": "Malformed parameter codec: 'ogg' (gsm, pcm or mp3)"}
    assert emu.json("/stat/getrecordedfile/", expect=406, IDConnection=exact["IDConnection"], codec="gsm") == {
        "ErrorMessage": "Codec gsm is not available"}
    assert emu.json("/stat/getrecordedfile/", expect=406, IDConnection=1, codec="pcm") == {
        "ErrorMessage": "Connection not found"}


def test_incoming_call_rings_out_unanswered(emu, events):
    assert "not logged on" in emu.json("/_emulator/call-in/", expect=406, From="+380501234567", To="102")["ErrorMessage"]
    assert "not found" in emu.json("/_emulator/call-in/", expect=406, From="+380501234567", To="555")["ErrorMessage"]
    emu.logon("petrenko")
    call_id = emu.admin("call-in", From="+38 050 123 45 67", To="102")["IDCall"]
    created = events.wait_for(lambda e: e["path"] == "/call/OnCallCreated/" and e["IDCall"] == str(call_id), "created")
    assert created["Direction"] == "1" and created["Number"] == "+380501234567" and created["Extension"] == "102"
    assert emu.advance(RING_TIMEOUT)["Fired"] == 1
    assert [e["State"] for e in events.call_events(call_id)[1:]] == ["1", "99", "100"]
    exact = emu.call(call_id)
    assert exact["Connected"] is None and exact["TalkSeconds"] == 0
    assert (exact["WaitSeconds"], exact["Reason"]) == (RING_TIMEOUT, "NoAnswer")
    row = emu.json("/stat/connectionsbycall/", IDCall=call_id, AllInfo=1)["Data"][0]
    assert row["ConnectionDirection"] == "1" and row["BIDUser"] == str(PETRENKO) and row["DurationTalk"] == "0,000000000"
    assert emu.json("/stat/getrecordedfile/", expect=406, IDConnection=row["ID"], codec="pcm") == {
        "ErrorMessage": "Record not found"}


def test_incoming_call_accepted_then_far_end_hangs_up(emu, events):
    emu.logon("petrenko")
    call_id = emu.admin("call-in", From="+380501234567", To="102")["IDCall"]
    events.wait_call_state(call_id, 1)
    assert emu.json("/call/accept/", Extension="102", IDCall=call_id) == {}
    emu.admin("hangup", IDCall=call_id)
    events.wait_call_state(call_id, 100)
    assert [e["State"] for e in events.call_events(call_id)[1:]] == ["1", "21", "99", "100"]
    monitoring = emu.json("/data/getdata/", ProviderName="Monitoring.Calls")["Data"]
    assert {"ID": str(call_id), "Extension": "102", "AbonentNumber": "+380501234567", "CallState": "100"} in monitoring


def test_busy_number_fails(emu, events):
    emu.logon("ivanova")
    call_id = dial(emu, "+380441110002")
    assert emu.advance(BUSY_AFTER)["Fired"] == 1
    assert [e["State"] for e in events.call_events(call_id)[1:]] == ["13", "99", "100"]
    row = emu.call(call_id)
    assert (row["Connected"], row["Reason"], row["WaitSeconds"]) == (None, "Busy", BUSY_AFTER)


def test_transfers_and_digits(emu, events):
    emu.logon("ivanova")
    emu.logon("shevchenko")
    call_id = connected_outside_call(emu, events)
    assert emu.json("/call/senddigits/", IDUser=IVANOVA, IDCall=call_id, Digits="12*#") == {}
    assert "Digits" in emu.json("/call/senddigits/", expect=406, IDUser=IVANOVA, IDCall=call_id, Digits="12a")["ErrorMessage"]

    leg = emu.json("/call/starttransfer/", IDUser=IVANOVA, IDCall=call_id, Number="+380441110001")["IDCall"]
    events.wait_call_state(call_id, 41)
    emu.advance(2)                                  # the consulted number answers
    events.wait_call_state(leg, 21)
    assert emu.json("/call/finishtransfer/", IDUser=IVANOVA, IDCall=call_id) == {}
    events.wait_call_state(call_id, 100)
    events.wait_call_state(leg, 100)

    second = connected_outside_call(emu, events)
    assert emu.json("/call/quicktransfer/", IDUser=IVANOVA, IDCall=second, Number="103") == {}
    events.wait_call_state(second, 100)
    ringing = events.wait_for(
        lambda e: e["path"] == "/call/OnCallCreated/" and e["Extension"] == "103", "the transferred call at 103")
    assert ringing["Number"] == "+380441110001" and ringing["Direction"] == "1"


# ----- internal calls ------------------------------------------------------------


def test_internal_call_rings_the_colleague_and_connects_both_legs(emu, events):
    emu.logon("ivanova")
    emu.logon("petrenko")
    caller = dial(emu, "102")
    [callee] = live_calls(emu, PETRENKO)
    assert emu.json("/call/accept/", IDUser=PETRENKO, IDCall=callee) == {}
    created = created_event(events, callee)
    assert {k: created[k] for k in ("Extension", "Number", "Direction")} == {
        "Extension": "102", "Number": "101", "Direction": "1"}
    events.wait_call_state(caller, 21)
    events.wait_call_state(callee, 21)
    # Hold on one leg changes that leg only.
    emu.json("/call/hold/", IDUser=IVANOVA, IDCall=caller)
    events.wait_call_state(caller, 41)
    assert emu.json("/call/getactivecalls/", IDUser=PETRENKO)["Data"][0]["State"] == "21"
    emu.json("/call/unhold/", IDUser=IVANOVA, IDCall=caller)

    emu.json("/call/drop/", IDUser=PETRENKO, IDCall=callee)
    assert ended_reason(events, caller) == "Normal" and ended_reason(events, callee) == "Normal"
    assert states_of(events, caller) == ["13", "21", "41", "21", "99", "100"]
    assert states_of(events, callee) == ["1", "21", "99", "100"]
    rows = {c["IDCall"]: c for c in emu.admin("calls")["Calls"]}
    assert rows[caller]["Peer"] == callee and rows[callee]["Peer"] == caller
    assert rows[caller]["Mode"] == "offhook" and rows[callee]["Mode"] == ""
    assert rows[caller]["Reason"] == rows[callee]["Reason"] == "Normal"
    stat = emu.json("/stat/connectionsbycall/", IDCall=caller, AllInfo=1)["Data"][0]
    assert (stat["ANumber"], stat["BNumber"], stat["BIDUser"]) == ("101", "102", str(PETRENKO))
    assert stat["AAbonentType"] == stat["BAbonentType"] == "1"


def test_internal_call_dropped_by_either_side(emu, events):
    emu.logon("ivanova")
    emu.logon("petrenko")
    # The colleague refuses while it rings: both legs end Rejected.
    caller = dial(emu, "102")
    [callee] = live_calls(emu, PETRENKO)
    emu.json("/call/drop/", IDUser=PETRENKO, IDCall=callee)
    assert ended_reason(events, caller) == "Rejected" and ended_reason(events, callee) == "Rejected"
    # The caller gives up while it rings: both end Normal.
    caller = dial(emu, "102")
    [callee] = live_calls(emu, PETRENKO)
    emu.json("/call/drop/", IDUser=IVANOVA, IDCall=caller)
    assert ended_reason(events, caller) == "Normal" and ended_reason(events, callee) == "Normal"
    # Connected, the caller hangs up: both end Normal.
    caller = dial(emu, "102")
    [callee] = live_calls(emu, PETRENKO)
    emu.json("/call/accept/", IDUser=PETRENKO, IDCall=callee)
    emu.json("/call/drop/", IDUser=IVANOVA, IDCall=caller)
    assert ended_reason(events, caller) == "Normal" and ended_reason(events, callee) == "Normal"
    assert states_of(events, callee) == ["1", "21", "99", "100"]


def test_internal_call_nobody_answers(emu, events):
    emu.logon("ivanova")
    emu.logon("petrenko")
    caller = dial(emu, "102")
    [callee] = live_calls(emu, PETRENKO)
    emu.advance(RING_TIMEOUT - 1)
    assert live_calls(emu, PETRENKO) == [callee]
    emu.advance(1)
    assert ended_reason(events, caller) == "NoAnswer" and ended_reason(events, callee) == "NoAnswer"
    assert emu.call(caller)["WaitSeconds"] == emu.call(callee)["WaitSeconds"] == RING_TIMEOUT


@pytest.mark.parametrize("colleague", ["logged off", "on a break", "on another call"])
def test_internal_call_to_an_unavailable_colleague_fails_busy(emu, events, colleague):
    emu.logon("ivanova")
    if colleague != "logged off":
        emu.logon("petrenko")
    if colleague == "on a break":
        emu.json("/user/setstate/", IDUser=PETRENKO, IDUserState=301)
    if colleague == "on another call":
        events.wait_call_state(dial(emu, "+380441110003", user_id=PETRENKO), 13)
    mark = events.mark()
    caller = dial(emu, "102")
    emu.advance(BUSY_AFTER)
    assert ended_reason(events, caller) == "Busy"
    assert states_of(events, caller) == ["13", "99", "100"]
    assert emu.call(caller)["WaitSeconds"] == BUSY_AFTER
    # Events arrive in order: a call rung at 102 would have been announced by now.
    assert not [e for e in events.events[mark:] if e["path"] == "/call/OnCallCreated/" and e["Extension"] == "102"]


def test_calling_your_own_extension_is_refused(emu):
    emu.logon("ivanova")
    refused = emu.json("/call/make/", expect=406, IDUser=IVANOVA, Number="101")
    assert refused == {"ErrorMessage": "Number 101 is the extension of the caller itself"}
    assert live_calls(emu, IVANOVA) == []


# ----- what the agent's state lets through (F17) --------------------------------


def user_state(emu: Emulator, user_id: int) -> int:
    return emu.json("/user/getstate/", IDUser=user_id)["IDUserState"]


def test_an_away_agent_gets_no_call_at_all(emu, events):
    emu.logon("ivanova")
    emu.logon("petrenko")
    emu.json("/user/setstate/", IDUser=PETRENKO, IDUserState=302)
    refused = emu.json("/_emulator/call-in/", expect=406, From="+380501234567", To="102")
    assert refused == {"ErrorMessage": "Extension 102 is not available (state 302)"}
    # A group passes over them; a colleague's call fails as busy.
    group_call = emu.admin("call-in", From="+380501234567", To="500")["IDCall"]
    assert emu.call(group_call)["Extension"] == "101"
    emu.logon("shevchenko")
    caller = dial(emu, "102", user_id=SHEVCHENKO)
    emu.advance(BUSY_AFTER)
    assert ended_reason(events, caller) == "Busy"
    assert live_calls(emu, PETRENKO) == []
    # Away blocks taking calls, not making them.
    outgoing = dial(emu, "+380441110001", user_id=PETRENKO)
    emu.advance(2)
    events.wait_call_state(outgoing, 21)


def test_a_break_agent_gets_no_outside_call(emu, events):
    emu.logon("petrenko")
    emu.logon("shevchenko")
    emu.json("/user/setstate/", IDUser=PETRENKO, IDUserState=301)
    refused = emu.json("/_emulator/call-in/", expect=406, From="+380501234567", To="102")
    assert refused == {"ErrorMessage": "Extension 102 is not available (state 301)"}
    group_call = emu.admin("call-in", From="+380501234567", To="501")["IDCall"]
    assert emu.call(group_call)["Extension"] == "103"
    # By default a colleague's call does not reach them either.
    emu.logon("ivanova")
    caller = dial(emu, "102")
    emu.advance(BUSY_AFTER)
    assert ended_reason(events, caller) == "Busy"
    # A break allows outgoing calls.
    outgoing = dial(emu, "+380441110001", user_id=PETRENKO)
    emu.advance(2)
    events.wait_call_state(outgoing, 21)


def test_a_break_agent_takes_colleagues_calls_when_the_server_allows_it(tmp_path):
    allowing = Emulator(tmp_path, SCENARIO.replace(
        "[server]\n", "[server]\ninternal_calls_on_break = true\n"))
    try:
        allowing.logon("ivanova")
        allowing.logon("petrenko")
        allowing.json("/user/setstate/", IDUser=PETRENKO, IDUserState=301)
        caller = dial(allowing, "102")
        [callee] = live_calls(allowing, PETRENKO)
        assert allowing.call(callee)["Number"] == "101"
        allowing.json("/call/accept/", IDUser=PETRENKO, IDCall=callee)
        assert allowing.call(caller)["State"] == 21
        allowing.json("/call/drop/", IDUser=PETRENKO, IDCall=callee)
        # Outside calls still do not reach them: straight, through a group, or handed on
        # by a colleague's blind transfer.
        refused = allowing.json("/_emulator/call-in/", expect=406, From="+380501234567", To="102")
        assert refused == {"ErrorMessage": "Extension 102 is not available (state 301)"}
        outside = allowing.admin("call-in", From="+380501234567", To="500")["IDCall"]
        assert allowing.call(outside)["Extension"] == "101"
        allowing.json("/call/accept/", IDUser=IVANOVA, IDCall=outside)
        refused = allowing.json("/call/quicktransfer/", expect=406, IDUser=IVANOVA,
                                IDCall=outside, Number="102")
        assert refused == {"ErrorMessage": "Extension 102 is not available (state 301)"}
        allowing.admin("hangup", IDCall=outside)
        # Away still takes nothing.
        allowing.json("/user/setstate/", IDUser=PETRENKO, IDUserState=302)
        caller = dial(allowing, "102")
        allowing.advance(BUSY_AFTER)
        assert allowing.call(caller)["Reason"] == "Busy"
        assert live_calls(allowing, PETRENKO) == []
    finally:
        assert allowing.stop() == 0


def test_an_agent_on_a_call_shows_busy_until_it_ends(emu, events):
    emu.logon("ivanova")
    assert user_state(emu, IVANOVA) == 300
    # Dialling out takes the line at once.
    call_id = dial(emu, "+380441110001")
    assert user_state(emu, IVANOVA) == 304
    assert {u["IDUser"]: u["IDUserState"] for u in emu.admin("users")["Users"]}[IVANOVA] == 304
    emu.advance(2)
    assert emu.call(call_id)["State"] == 21 and user_state(emu, IVANOVA) == 304
    mark = events.mark()
    emu.json("/call/drop/", IDUser=IVANOVA, IDCall=call_id)
    events.wait_user_state(IVANOVA, 300, since=mark)
    # A ringing call does not take the line; answering it does.
    emu.logon("petrenko")
    ringing = emu.admin("call-in", From="+380501234567", To="102")["IDCall"]
    assert user_state(emu, PETRENKO) == 300
    emu.json("/call/accept/", IDUser=PETRENKO, IDCall=ringing)
    assert user_state(emu, PETRENKO) == 304
    # Busy, they take no other call, and a colleague's call fails as busy.
    refused = emu.json("/_emulator/call-in/", expect=406, From="+380501234568", To="102")
    assert refused == {"ErrorMessage": "Extension 102 is not available (state 304)"}
    emu.admin("hangup", IDCall=ringing)
    assert user_state(emu, PETRENKO) == 300


def test_a_callback_takes_the_line_only_once_the_agent_picks_up(emu, events):
    emu.logon("ivanova")
    call_id = dial(emu, "+380441110001", Mode="callback")
    assert user_state(emu, IVANOVA) == 300
    emu.advance(2)
    assert emu.call(call_id)["State"] == 2 and user_state(emu, IVANOVA) == 300
    emu.json("/call/accept/", IDUser=IVANOVA, IDCall=call_id)
    assert user_state(emu, IVANOVA) == 304


def test_after_the_call_the_agent_gets_back_the_state_they_had_or_chose(emu, events):
    emu.logon("ivanova")
    # On a break they may call out: Busy during the call, on a break again after it.
    emu.json("/user/setstate/", IDUser=IVANOVA, IDUserState=301)
    call_id = dial(emu, "+380441110001")
    assert user_state(emu, IVANOVA) == 304
    emu.json("/call/drop/", IDUser=IVANOVA, IDCall=call_id)
    assert user_state(emu, IVANOVA) == 301
    # A state chosen during the call shows at once and stays after it.
    emu.json("/user/setstate/", IDUser=IVANOVA, IDUserState=300)
    call_id = dial(emu, "+380441110001")
    emu.json("/user/setstate/", IDUser=IVANOVA, IDUserState=302)
    assert user_state(emu, IVANOVA) == 302
    emu.json("/call/drop/", IDUser=IVANOVA, IDCall=call_id)
    assert user_state(emu, IVANOVA) == 302
    # Logging off on a call: Offline, nothing given back later.
    emu.json("/user/setstate/", IDUser=IVANOVA, IDUserState=300)
    dial(emu, "+380441110001")
    assert user_state(emu, IVANOVA) == 304
    emu.json("/user/logoff/", IDUser=IVANOVA)
    assert user_state(emu, IVANOVA) == 399
    emu.logon("ivanova")
    assert user_state(emu, IVANOVA) == 300


def test_a_consult_transfer_keeps_the_agent_busy_until_it_is_done(emu, events):
    emu.logon("ivanova")
    first = connected_outside_call(emu, events)
    leg = emu.json("/call/starttransfer/", IDUser=IVANOVA, IDCall=first,
                   Number="+380441110004")["IDCall"]
    assert user_state(emu, IVANOVA) == 304          # the first call held, the leg dialling
    emu.advance(3)
    events.wait_call_state(leg, 21)
    emu.json("/call/finishtransfer/", IDUser=IVANOVA, IDCall=first)
    assert user_state(emu, IVANOVA) == 300


# ----- calls without caller ID --------------------------------------------------


def test_a_call_may_come_without_caller_id(emu, events):
    emu.logon("petrenko")
    call_id = emu.admin("call-in", From="Anonymous", To="102")["IDCall"]
    assert created_event(events, call_id)["Number"] == "anonymous"
    [row] = emu.json("/call/getactivecalls/", IDUser=PETRENKO)["Data"]
    assert (row["ANumber"], row["BNumber"]) == ("anonymous", "102")
    emu.json("/call/accept/", IDUser=PETRENKO, IDCall=call_id)
    stat = emu.json("/stat/connectionsbycall/", IDCall=call_id, AllInfo=1)["Data"][0]
    assert (stat["ANumber"], stat["AAbonentType"]) == ("anonymous", "2")
    refused = emu.json("/_emulator/call-in/", expect=406, From="nobody", To="102")
    assert refused == {"ErrorMessage": "Malformed parameter From: 'nobody' is not a phone number "
                                       "(or anonymous)"}


def test_a_server_may_write_a_withheld_number_as_empty(tmp_path):
    empty = Emulator(tmp_path, SCENARIO.replace("[server]\n", '[server]\nanonymous_number = ""\n'))
    try:
        empty.logon("petrenko")
        call_id = empty.admin("call-in", From="anonymous", To="102")["IDCall"]
        [row] = empty.json("/call/getactivecalls/", IDUser=PETRENKO)["Data"]
        assert row["ID"] == str(call_id) and row["ANumber"] == ""
        assert empty.call(call_id)["Number"] == ""
    finally:
        assert empty.stop() == 0


def test_a_bad_anonymous_number_is_one_clear_line():
    from daemon.emulator import ScenarioError
    from daemon.emulator.scenario import parse

    with pytest.raises(ScenarioError) as caught:
        parse(SCENARIO.replace("[server]\n", '[server]\nanonymous_number = "hidden"\n'), "x.toml")
    assert str(caught.value) == (
        "scenario x.toml: [server] anonymous_number is 'hidden' (write "
        'anonymous_number = "anonymous" (the default) or anonymous_number = "")')


# ----- dial mode -----------------------------------------------------------------


def test_callback_mode_rings_the_agent_back_when_the_far_end_answers(emu, events):
    emu.logon("ivanova")
    call_id = dial(emu, "+380441110001", Mode="callback")
    emu.advance(2)                                  # the far end answers: the agent's phone rings
    events.wait_call_state(call_id, 2)
    assert emu.call(call_id)["Connected"] is None
    emu.advance(3)                                  # the agent picks up 3 s later
    assert emu.json("/call/accept/", IDUser=IVANOVA, IDCall=call_id) == {}
    events.wait_call_state(call_id, 21)
    emu.json("/call/drop/", IDUser=IVANOVA, IDCall=call_id)
    assert ended_reason(events, call_id) == "Normal"
    assert states_of(events, call_id) == ["13", "2", "21", "99", "100"]
    row = emu.call(call_id)
    assert row["Mode"] == "callback" and row["Connected"] == row["Created"] + 2 + 3
    assert row["WaitSeconds"] == 2 + 3


def test_callback_not_picked_up_ends_unanswered(emu, events):
    emu.logon("ivanova")
    call_id = dial(emu, "+380441110001", Mode="callback")
    # The far end answers after 2 s, then the agent's phone rings for ring_timeout.
    emu.advance(2)
    assert emu.call(call_id)["State"] == 2
    emu.advance(RING_TIMEOUT)
    assert ended_reason(events, call_id) == "NoAnswer"
    assert states_of(events, call_id) == ["13", "2", "99", "100"]
    row = emu.call(call_id)
    assert row["Connected"] is None
    assert row["WaitSeconds"] == 2 + RING_TIMEOUT


def test_dial_mode_defaults_to_offhook_and_is_checked(emu, events):
    emu.logon("ivanova")
    call_id = dial(emu, "+380441110001", Mode="offhook")
    emu.advance(2)
    events.wait_call_state(call_id, 21)
    assert emu.call(call_id)["Mode"] == "offhook"
    assert emu.call(dial(emu, "+380441110003"))["Mode"] == "offhook"
    refused = emu.json("/call/make/", expect=406, IDUser=IVANOVA, Number="+380441110001", Mode="later")
    assert refused == {"ErrorMessage": "Malformed parameter Mode: 'later' (offhook or callback)"}


# ----- groups --------------------------------------------------------------------


def test_ring_all_group_rings_everyone_and_the_first_answer_wins(emu, events):
    emu.logon("ivanova")
    emu.logon("petrenko")
    answer = emu.admin("call-in", From="+380501234567", To="500")
    first, second = answer["IDCalls"]
    assert answer["IDCall"] == first
    assert emu.json("/call/accept/", IDUser=PETRENKO, IDCall=second) == {}
    for call_id, extension in ((first, "101"), (second, "102")):
        created = created_event(events, call_id)
        assert (created["Extension"], created["Number"], created["Direction"], created["Group"]) == (
            extension, "+380501234567", "1", "500")
    events.wait_call_state(second, 21)
    assert ended_reason(events, first) == "AnsweredElsewhere"
    assert emu.call(second)["Group"] == "500" and emu.call(first)["Group"] == "500"

    # Busy agents are skipped: 102 is on the call, so only 101 rings.
    again = emu.admin("call-in", From="+380501234568", To="500")
    assert len(again["IDCalls"]) == 1 and emu.call(again["IDCall"])["Extension"] == "101"


def test_ring_all_group_nobody_answers(emu, events):
    assert emu.json("/_emulator/call-in/", expect=406, From="+380501234567", To="500") == {
        "ErrorMessage": "No agent of group 500 is available"}
    emu.logon("ivanova")
    emu.logon("petrenko")
    ids = emu.admin("call-in", From="+380501234567", To="500")["IDCalls"]
    assert len(ids) == 2
    assert emu.advance(RING_TIMEOUT)["Fired"] == 2
    assert [ended_reason(events, call_id) for call_id in ids] == ["NoAnswer", "NoAnswer"]
    for call_id in ids:
        assert emu.call(call_id)["WaitSeconds"] == RING_TIMEOUT


def group_calls_since(emu: Emulator, first: int, group: str = "501") -> list[int]:
    """The calls a group has rung, from this one on (IDs only grow)."""
    return [c["IDCall"] for c in emu.admin("calls")["Calls"] if c["Group"] == group and c["IDCall"] >= first]


def test_hunt_group_rings_one_agent_after_another_then_gives_up(emu, events):
    emu.logon("petrenko")
    emu.logon("shevchenko")
    answer = emu.admin("call-in", From="+380501234567", To="501")
    first = answer["IDCall"]
    assert answer["IDCalls"] == [first] and emu.call(first)["Extension"] == "102"
    mark = events.mark()
    emu.advance(HUNT_TIMEOUT)
    assert ended_reason(events, first) == "NoAnswer"
    nxt = events.wait_for(lambda e: e["path"] == "/call/OnCallCreated/" and e.get("Group") == "501"
                          and e["Extension"] == "103", "the hunt to reach 103", mark)
    second = int(nxt["IDCall"])
    emu.advance(HUNT_TIMEOUT)
    assert ended_reason(events, second) == "NoAnswer"
    rows = {c["IDCall"]: c for c in emu.admin("calls")["Calls"]}
    assert rows[first]["WaitSeconds"] == HUNT_TIMEOUT
    assert rows[second]["Created"] == rows[first]["Ended"]
    assert rows[second]["WaitSeconds"] == HUNT_TIMEOUT
    # After the last agent the caller gives up: nobody else rings, 102 is not tried again.
    assert emu.advance(2 * HUNT_TIMEOUT)["Fired"] == 0
    assert group_calls_since(emu, first) == [first, second]


def test_hunt_group_skips_busy_agents_and_stops_when_answered(emu, events):
    emu.logon("petrenko")
    emu.logon("shevchenko")
    emu.json("/user/setstate/", IDUser=PETRENKO, IDUserState=301)
    call_id = emu.admin("call-in", From="+380501234567", To="501")["IDCall"]
    assert emu.call(call_id)["Extension"] == "103"
    emu.json("/call/accept/", IDUser=SHEVCHENKO, IDCall=call_id)
    events.wait_call_state(call_id, 21)
    emu.json("/user/setstate/", IDUser=PETRENKO, IDUserState=300)
    assert emu.advance(2 * HUNT_TIMEOUT)["Fired"] == 0
    assert group_calls_since(emu, call_id) == [call_id]
    assert emu.call(call_id)["State"] == 21


def test_hunt_group_moves_on_when_an_agent_rejects(emu, events):
    emu.logon("petrenko")
    emu.logon("shevchenko")
    first = emu.admin("call-in", From="+380501234567", To="501")["IDCall"]
    emu.json("/call/drop/", IDUser=PETRENKO, IDCall=first)
    [second] = live_calls(emu, SHEVCHENKO)
    # The caller hangs up: the hunt stops.
    emu.admin("hangup", IDCall=second)
    assert ended_reason(events, first) == "Rejected"
    assert ended_reason(events, second) == "Normal"
    assert emu.call(second)["Created"] == emu.call(first)["Ended"]
    assert group_calls_since(emu, first) == [first, second]


# ----- transfers -----------------------------------------------------------------


def test_blind_transfer_to_a_colleague(emu, events):
    emu.logon("ivanova")
    emu.logon("shevchenko")
    call_id = connected_outside_call(emu, events)
    # An unavailable target is refused and the call stays as it was.
    refused = emu.json("/call/quicktransfer/", expect=406, IDUser=IVANOVA, IDCall=call_id, Number="102")
    assert refused == {"ErrorMessage": "Extension 102 is not available (not logged on)"}
    assert emu.call(call_id)["State"] == 21

    assert emu.json("/call/quicktransfer/", IDUser=IVANOVA, IDCall=call_id, Number="103") == {}
    assert ended_reason(events, call_id) == "Transferred"
    [target] = live_calls(emu, SHEVCHENKO)
    created = created_event(events, target)
    assert (created["Number"], created["Direction"], created["TransferFrom"]) == ("+380441110001", "1", "101")
    events.wait_call_state(target, 1)
    assert emu.call(call_id)["TransferTo"] == "103" and emu.call(call_id)["TransferFrom"] == ""
    assert emu.call(target)["TransferFrom"] == "101" and emu.call(target)["TransferTo"] == ""


def wav_seconds(emu: Emulator, connection_id) -> float:
    status, body, ctype = emu.get("/stat/getrecordedfile/", IDConnection=connection_id)
    assert status == 200 and ctype == "audio/wav", body
    with wave.open(io.BytesIO(body)) as wav:
        return wav.getnframes() / wav.getframerate()


def test_a_transferred_call_has_a_connection_and_a_recording_per_agent(emu, events):
    emu.logon("ivanova")
    emu.logon("shevchenko")
    call_id = connected_outside_call(emu, events)
    emu.advance(2)                                  # 2 s with the first agent
    emu.json("/call/quicktransfer/", IDUser=IVANOVA, IDCall=call_id, Number="103")
    [target] = live_calls(emu, SHEVCHENKO)
    emu.json("/call/accept/", IDUser=SHEVCHENKO, IDCall=target)
    emu.advance(4)                                  # 4 s with the second
    emu.json("/call/drop/", IDUser=SHEVCHENKO, IDCall=target)
    first, second = emu.call(call_id), emu.call(target)
    both = [first["IDConnection"], second["IDConnection"]]
    # Either agent's IDCall names the same call of the server, with both connections.
    for one in (call_id, target):
        assert emu.json("/stat/connectionsbycall/", IDCall=one)["Connections"] == both
        rows = emu.json("/stat/connectionsbycall/", IDCall=one, AllInfo=1)["Data"]
        assert [r["ID"] for r in rows] == [str(c) for c in both]
        assert [(r["ANumber"], r["BNumber"], r["BIDUser"]) for r in rows] == [
            ("101", "+380441110001", "0"), ("+380441110001", "103", str(SHEVCHENKO))]
        assert [seconds_of(r["DurationTalk"]) for r in rows] == pytest.approx([2, 4], abs=0.001)
    assert first["Connections"] == second["Connections"] == both
    assert [wav_seconds(emu, c) for c in both] == [2, 4]


def test_a_consult_transfer_adds_the_joined_connection(emu, events):
    emu.logon("ivanova")
    emu.logon("shevchenko")
    first = connected_outside_call(emu, events)
    leg = emu.json("/call/starttransfer/", IDUser=IVANOVA, IDCall=first, Number="103")["IDCall"]
    [consult] = live_calls(emu, SHEVCHENKO)
    emu.json("/call/accept/", IDUser=SHEVCHENKO, IDCall=consult)
    events.wait_call_state(leg, 21)
    mark = events.mark()
    emu.json("/call/finishtransfer/", IDUser=IVANOVA, IDCall=leg)
    created = events.wait_for(
        lambda e: e["path"] == "/call/OnCallCreated/" and e["Extension"] == "103",
        "the joined call", mark)
    joined = int(created["IDCall"])
    connections = [emu.call(first)["IDConnection"], emu.call(joined)["IDConnection"]]
    assert emu.json("/stat/connectionsbycall/", IDCall=first)["Connections"] == connections
    assert emu.json("/stat/connectionsbycall/", IDCall=joined)["Connections"] == connections
    # The consult between the two agents is a call of its own.
    leg_connection = emu.call(leg)["IDConnection"]
    assert emu.json("/stat/connectionsbycall/", IDCall=leg)["Connections"] == [leg_connection]


def test_blind_transfer_to_an_outside_number(emu, events):
    emu.logon("ivanova")
    call_id = connected_outside_call(emu, events)
    before = {c["IDCall"] for c in emu.admin("calls")["Calls"]}
    emu.json("/call/quicktransfer/", IDUser=IVANOVA, IDCall=call_id, Number="+380441110009")
    assert ended_reason(events, call_id) == "Transferred"
    assert emu.call(call_id)["TransferTo"] == "+380441110009"
    assert {c["IDCall"] for c in emu.admin("calls")["Calls"]} == before


def test_consult_transfer_to_a_colleague(emu, events):
    emu.logon("ivanova")
    emu.logon("shevchenko")
    first = connected_outside_call(emu, events)
    leg = emu.json("/call/starttransfer/", IDUser=IVANOVA, IDCall=first, Number="103")["IDCall"]
    [consult] = live_calls(emu, SHEVCHENKO)
    refused = emu.json("/call/finishtransfer/", expect=406, IDUser=IVANOVA, IDCall=first)
    assert refused["ErrorMessage"] == f"Call {leg} is Alerting (13), not Connected: the transfer cannot be finished"
    emu.json("/call/accept/", IDUser=SHEVCHENKO, IDCall=consult)
    events.wait_call_state(first, 41)
    assert created_event(events, leg)["TransferFor"] == str(first)
    assert created_event(events, consult)["Number"] == "101"
    assert states_of(events, leg)[:1] == ["13"]
    events.wait_call_state(leg, 21)
    mark = events.mark()
    assert emu.json("/call/finishtransfer/", IDUser=IVANOVA, IDCall=leg) == {}
    for call_id in (first, leg, consult):
        assert ended_reason(events, call_id) == "Transferred"
    created = events.wait_for(lambda e: e["path"] == "/call/OnCallCreated/" and e["Extension"] == "103", "the joined call", mark)
    joined = int(created["IDCall"])
    assert (created["Number"], created["Direction"], created["TransferFrom"]) == ("+380441110001", "1", "101")
    events.wait_call_state(joined, 21)
    assert states_of(events, joined) == ["21"]
    row = emu.call(joined)
    assert row["Connected"] == row["Created"] and row["WaitSeconds"] == 0 and row["HoldSeconds"] == 0
    assert emu.call(first)["TransferTo"] == "103"
    assert emu.call(leg)["TransferFor"] == first


def test_consult_transfer_to_an_outside_number(emu, events):
    emu.logon("ivanova")
    first = connected_outside_call(emu, events)
    leg = emu.json("/call/starttransfer/", IDUser=IVANOVA, IDCall=first, Number="+380441110004")["IDCall"]
    emu.advance(3)                                  # answer_after = 3, as any number
    events.wait_call_state(leg, 21)
    before = {c["IDCall"] for c in emu.admin("calls")["Calls"]}
    assert emu.json("/call/finishtransfer/", IDUser=IVANOVA, IDCall=first) == {}
    assert ended_reason(events, first) == "Transferred" and ended_reason(events, leg) == "Transferred"
    assert emu.call(first)["TransferTo"] == "+380441110004"
    assert {c["IDCall"] for c in emu.admin("calls")["Calls"]} == before


def test_cancelled_consult_returns_to_the_first_call(emu, events):
    emu.logon("ivanova")
    emu.logon("shevchenko")
    first = connected_outside_call(emu, events)
    leg = emu.json("/call/starttransfer/", IDUser=IVANOVA, IDCall=first, Number="103")["IDCall"]
    [consult] = live_calls(emu, SHEVCHENKO)
    emu.json("/call/accept/", IDUser=SHEVCHENKO, IDCall=consult)
    events.wait_call_state(leg, 21)
    emu.json("/call/drop/", IDUser=IVANOVA, IDCall=leg)
    assert ended_reason(events, leg) == "Normal" and ended_reason(events, consult) == "Normal"
    assert emu.json("/call/unhold/", IDUser=IVANOVA, IDCall=first) == {}
    events.wait_for(lambda e: e.get("IDCall") == str(first) and e.get("OldState") == "41" and e["State"] == "21",
                    "the first call back from hold")
    assert "not Connected" in emu.json("/call/finishtransfer/", expect=406, IDUser=IVANOVA, IDCall=first)["ErrorMessage"]
    # A new consult may start from the same call.
    again = emu.json("/call/starttransfer/", IDUser=IVANOVA, IDCall=first, Number="+380441110003")["IDCall"]
    assert created_event(events, again)["TransferFor"] == str(first)
    assert emu.call(first)["Reason"] == ""


def test_internal_calls_are_not_transferred(emu, events):
    emu.logon("ivanova")
    emu.logon("petrenko")
    caller = dial(emu, "102")
    [callee] = live_calls(emu, PETRENKO)
    emu.json("/call/accept/", IDUser=PETRENKO, IDCall=callee)
    events.wait_call_state(caller, 21)
    for method in ("quicktransfer", "starttransfer"):
        refused = emu.json(f"/call/{method}/", expect=406, IDUser=IVANOVA, IDCall=caller, Number="+380441110001")
        assert "internal call with extension 102" in refused["ErrorMessage"]
    assert emu.call(caller)["State"] == 21


def test_restart_forgets_sessions_silently(emu, events):
    emu.logon("ivanova")
    call_id = dial(emu, "+380441110003")
    events.wait_call_state(call_id, 13)
    mark = events.mark()
    assert emu.admin("restart") == {}
    assert emu.json("/user/getstate/", IDUser=IVANOVA) == {"IDUserState": 399}
    assert emu.json("/call/getactivecalls/", IDUser=IVANOVA) == {"Data": []}
    assert emu.json("/call/drop/", expect=406, IDUser=IVANOVA, IDCall=call_id) == {"ErrorMessage": "User is not logged on"}
    assert emu.json("/stat/connectionsbycall/", IDCall=call_id)["Connections"]
    assert emu.advance(RING_TIMEOUT + LINGER)["Fired"] == 0     # none of its timers is left
    emu.logon("ivanova")
    events.wait_user_state(IVANOVA, 300, since=mark)
    # Events arrive in order: anything the restart had pushed would be here already.
    assert events.events[mark]["path"] == "/user/OnStateChanged/"


def test_raw_answers_mode(tmp_path):
    raw = Emulator(tmp_path, SCENARIO.replace("raw_answers = false", "raw_answers = true"))
    try:
        raw.json("/user/logon/", Login="ivanova", Password="demo", IDRole=1)
        raw.json("/call/make/", IDUser=IVANOVA, Number="+380441110001")     # answer_after = 2
        raw.advance(2)
        status, body, _ = raw.get("/call/getactivecalls/", IDUser=IVANOVA)
        assert status == 200 and b'"21"' in body
        assert b"\r\n" in body and b"\t" in body
        assert b"C:\\Records\\" in body and b"C:\\\\Records" not in body
        with pytest.raises(ValueError):
            json.loads(body)
        # What every known client does: strip CR/LF/TAB, turn backslashes into slashes.
        cleaned = body.decode().replace("\r", "").replace("\n", "").replace("\t", "").replace("\\", "/")
        row = json.loads(cleaned)["result"]["Data"][0]
        assert row["AWavFile"].startswith("C:/Records/")
    finally:
        assert raw.stop() == 0      # SIGTERM ends it cleanly
    assert raw.stdout() == f"emulator listening on http://127.0.0.1:{raw.port} (manual clock)\n"
    assert raw.stderr() == ""


@pytest.mark.parametrize("kind", ["http500", "malformed", "truncated", "slow", "unknown-state", "extra-fields"])
def test_faults(emu, kind):
    emu.logon("ivanova")
    good_state = emu.get("/user/getstate/", IDUser=IVANOVA)[1]
    emu.admin("fault", Kind=kind, Count=2, Path="/user/getstate", Delay=0.2)
    # Faults hit only their path, and never the admin endpoints.
    assert emu.json("/call/getactivecalls/", IDUser=IVANOVA) == {"Data": []}
    assert "Now" in emu.admin("clock")
    for _ in range(2):
        started = time.monotonic()
        status, body, ctype = emu.get("/user/getstate/", IDUser=IVANOVA)
        if kind == "http500":
            assert status == 500 and ctype.startswith("text/html") and b"<html>" in body
        elif kind == "malformed":
            assert status == 200 and body == b'{"result": {"IDUserState": 300,,}'
        elif kind == "truncated":
            assert status == 200 and body == good_state[: len(good_state) // 2]
        elif kind == "slow":
            assert status == 200 and body == good_state and time.monotonic() - started >= 0.2
        elif kind == "unknown-state":
            assert status == 200 and json.loads(body) == {"result": {"IDUserState": 777}}
        else:
            result = json.loads(body)["result"]
            assert result["IDUserState"] == 300 and len(result) > 1
    assert emu.get("/user/getstate/", IDUser=IVANOVA)[1] == good_state


def test_extra_fields_reach_data_rows(emu):
    emu.logon("ivanova")
    dial(emu, "+380441110003")
    emu.admin("fault", Kind="extra-fields")
    result = emu.json("/call/getactivecalls/", IDUser=IVANOVA)
    assert set(result) > {"Data"}
    assert set(result["Data"][0]) > {"ID", "State", "Direction", "AWavFile", "BWavFile"}


def test_network_drop(emu, events):
    emu.logon("ivanova")
    emu.admin("network", Down=1000)
    with pytest.raises((urllib.error.URLError, ConnectionError, http.client.HTTPException)):
        urllib.request.urlopen(f"{emu.base}/user/getstate/?IDUser={IVANOVA}", timeout=DEADLINE)
    # The admin side still answers; events produced meanwhile are lost.
    lost = emu.admin("call-in", From="+380501234567", To="101")["IDCall"]
    emu.admin("network", Down=0)
    mark = events.mark()
    assert emu.json("/user/setstate/", IDUser=IVANOVA, IDUserState=302) == {}
    events.wait_user_state(IVANOVA, 302, since=mark)
    # Each subscriber gets events in order, so the lost ones would have come first.
    assert not [e for e in events.call_events(lost) if e["path"] == "/call/OnCallCreated/" or e.get("State") == "1"]

    # A drop ends by itself after its emulated seconds.
    emu.admin("network", Down=5)
    assert not emu.answers()
    emu.advance(5)
    assert emu.answers()


def test_hold_rule_moves_the_agent_and_unhold_restores(emu, events):
    emu.logon("shevchenko")
    call_id = connected_outside_call(emu, events, SHEVCHENKO)
    mark = events.mark()
    # A call on hold frees the line: the agent is Ready again until the hold rule says.
    emu.json("/call/hold/", IDUser=SHEVCHENKO, IDCall=call_id)
    events.wait_user_state(SHEVCHENKO, 300, since=mark)
    emu.advance(HOLD_RULE - 1)
    assert emu.json("/user/getstate/", IDUser=SHEVCHENKO) == {"IDUserState": 300}
    mark = events.mark()
    emu.advance(1)
    events.wait_user_state(SHEVCHENKO, 304, since=mark)
    emu.advance(HOLD_RULE - 1)
    assert emu.json("/user/getstate/", IDUser=SHEVCHENKO) == {"IDUserState": 304}
    emu.advance(1)
    events.wait_user_state(SHEVCHENKO, 303, since=mark)
    assert emu.json("/user/getstate/", IDUser=SHEVCHENKO) == {"IDUserState": 303}
    refused = emu.json("/_emulator/call-in/", expect=406, From="+380501234567", To="103")
    assert refused == {"ErrorMessage": "Extension 103 is not available (state 303)"}
    # Back from hold the line is busy again: Busy; the call over, Ready as before.
    mark = events.mark()
    emu.json("/call/unhold/", IDUser=SHEVCHENKO, IDCall=call_id)
    events.wait_user_state(SHEVCHENKO, 304, since=mark)
    assert emu.json("/user/getstate/", IDUser=SHEVCHENKO) == {"IDUserState": 304}
    emu.json("/call/drop/", IDUser=SHEVCHENKO, IDCall=call_id)
    events.wait_user_state(SHEVCHENKO, 300, since=mark)
    assert {u["IDUser"]: u["IDUserState"] for u in emu.admin("users")["Users"]}[SHEVCHENKO] == 300


def test_bad_scenario_is_one_clear_line_and_exit_2(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(SCENARIO.replace('extension = "102"\n', ""), encoding="utf-8")
    for scenario, words in ((bad, ["bad.toml", "users[1]", "'extension'"]), (tmp_path / "missing.toml", ["missing.toml", "not found"])):
        done = subprocess.run(
            [sys.executable, "-m", "daemon.emulator", "run", "--port", "0", "--scenario", str(scenario)],
            cwd=ROOT, capture_output=True, text=True, timeout=DEADLINE,
        )
        assert done.returncode == 2
        assert done.stdout == ""
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert all(word in lines[0] for word in words), lines[0]


def test_the_demo_scenario_as_json_is_the_same_scenario(tmp_path):
    import tomllib

    env = {**os.environ, "CC_HOME": str(tmp_path / "home")}
    text = subprocess.run([CC, "emulator", "scenario"], env=env, capture_output=True,
                          text=True, timeout=DEADLINE, check=True).stdout
    as_json = subprocess.run([CC, "emulator", "scenario", "--json"], env=env,
                             capture_output=True, text=True, timeout=DEADLINE, check=True)
    assert json.loads(as_json.stdout) == tomllib.loads(text)


def test_demo_scenario_is_complete():
    import tomllib

    from daemon.emulator import ScenarioError, demo_scenario_text
    from daemon.emulator.scenario import parse

    text = demo_scenario_text()
    demo = parse(text, "demo.toml")
    assert [u.extension for u in demo.users] == ["101", "102", "103"]
    assert len({u.id for u in demo.users}) == 3
    data = tomllib.loads(text)
    assert set(data["server"]) == {"time_scale", "ring_timeout", "finished_linger", "raw_answers",
                                   "internal_calls_on_break", "anonymous_number"}
    assert not demo.internal_calls_on_break and demo.anonymous_number == "anonymous"
    assert set(data["numbers"][0]) == {"match", "answer_after", "hangup_after", "busy", "never_answer"}
    assert demo.rule_for("+380441110002").busy and demo.rule_for("+380999").match == "*"
    assert set(data["groups"][0]) == {"number", "name", "order", "extensions", "hunt_timeout"}
    assert [(g.number, g.order, g.extensions) for g in demo.groups] == [
        ("500", "ring-all", ("101", "102")), ("501", "hunt", ("102", "103"))]
    with pytest.raises(ScenarioError, match=r"scenario x.toml: unknown key 'servr'"):
        parse("[servr]\n", "x.toml")


GROUP_OK = '[[groups]]\nnumber = "500"\nextensions = ["101", "102"]\n'


@pytest.mark.parametrize("group, words", [
    ('[[groups]]\nextensions = ["101"]\n', ["groups[0] has no 'number'", 'number = "500"']),
    ('[[groups]]\nnumber = 500\nextensions = ["101"]\n', ["groups[0] number is 500", "quoted string of digits"]),
    ('[[groups]]\nnumber = "101"\nextensions = ["102"]\n', ["groups[0] number '101' is the extension of users[0]"]),
    (GROUP_OK + GROUP_OK, ["groups[1] repeats number '500'", "distinct number"]),
    ('[[groups]]\nnumber = "500"\n', ["groups[0] has no extensions", 'extensions = ["101", "102"]']),
    ('[[groups]]\nnumber = "500"\nextensions = ["101", "109"]\n',
     ["groups[0] extensions names '109', which is no user's extension", "101, 102, 103"]),
    ('[[groups]]\nnumber = "500"\nextensions = ["101", "101"]\n', ["groups[0] lists extension '101' twice"]),
    (GROUP_OK + 'order = "random"\n', ["groups[0] order is 'random'", '"ring-all"', '"hunt"']),
    (GROUP_OK + "hunt_timeout = 0\n", ["groups[0] hunt_timeout is 0", "greater than 0"]),
    (GROUP_OK + "name = 5\n", ["groups[0] name is 5, not a string"]),
    (GROUP_OK + "members = []\n", ["unknown key 'members' in groups[0]", "known keys: number, extensions"]),
    ("groups = 1\n", ["'groups' is not an array of tables"]),
])
def test_bad_groups_are_one_clear_line(group, words):
    from daemon.emulator import ScenarioError
    from daemon.emulator.scenario import parse

    base = SCENARIO.split("[[groups]]")[0]
    if group.startswith("groups ="):
        base, group = group + base, ""
    with pytest.raises(ScenarioError) as caught:
        parse(base + group, "team.toml")
    message = str(caught.value)
    assert "\n" not in message and message.startswith("scenario team.toml: ")
    assert all(word in message for word in words), message


def scenario_with_events_url(value: str) -> str:
    return SCENARIO.replace("[server]\n", f"[server]\nevents_url = {value}\n", 1)


def test_the_scenario_events_url_gets_events_without_a_subscribe(tmp_path):
    """As a real server pushes to the eventsURL its configuration names: one per daemon."""
    first, second = Listener(), Listener()
    emu = Emulator(tmp_path, scenario_with_events_url(json.dumps([first.url, second.url])))
    try:
        emu.logon("ivanova")
        # Subscribing a configured URL again changes nothing: each event still comes once.
        assert emu.admin("subscribe", URL=first.url) == {"Subscribed": first.url}
        call_id = dial(emu, "+380441110003")
        emu.json("/call/drop/", IDUser=IVANOVA, IDCall=call_id)
        for listener in (first, second):
            listener.wait_call_state(call_id, 100)   # each listener gets its events in order
            paths = [e["path"] for e in listener.call_events(call_id)]
            assert paths.count("/call/OnCallCreated/") == 1, paths
        assert f"pushing events to {first.url} (the scenario's events_url)" in emu.stderr()
    finally:
        assert emu.stop() == 0
        first.close()
        second.close()


def test_events_url_takes_one_url_or_a_list():
    from daemon.emulator.scenario import parse

    assert parse(SCENARIO, "team.toml").events_urls == ()
    one = parse(scenario_with_events_url('"http://127.0.0.1:8080"'), "team.toml")
    assert one.events_urls == ("http://127.0.0.1:8080",)
    two = parse(scenario_with_events_url('["http://10.0.0.7:8080/events", "http://[::1]:8081"]'), "team.toml")
    assert two.events_urls == ("http://10.0.0.7:8080/events", "http://[::1]:8081")


@pytest.mark.parametrize("value, problem", [
    ('"ftp://127.0.0.1:8080"', "[server] events_url 'ftp://127.0.0.1:8080' is not http://HOST:PORT"),
    ('"http://127.0.0.1"', "[server] events_url 'http://127.0.0.1' is not http://HOST:PORT"),
    ('"http://127.0.0.1:99999"', "[server] events_url 'http://127.0.0.1:99999' is not"),
    ('["http://127.0.0.1:8080", "http://127.0.0.1:8081/?x=1"]', "events_url 'http://127.0.0.1:8081/?x=1' is not"),
    ("8080", "[server] events_url is 8080, not a URL or a list of URLs"),
    ("[8080]", "[server] events_url 8080 is not http://HOST:PORT"),
])
def test_a_bad_events_url_is_one_clear_line(value, problem):
    from daemon.emulator import ScenarioError
    from daemon.emulator.scenario import parse

    with pytest.raises(ScenarioError) as caught:
        parse(scenario_with_events_url(value), "team.toml")
    message = str(caught.value)
    assert "\n" not in message and message.startswith("scenario team.toml: ")
    assert problem in message and 'events_url = "http://127.0.0.1:8080"' in message, message


def test_the_admin_client_raises_one_error_with_the_emulators_message(emu):
    from daemon.emulator.admin import Admin, AdminError

    admin = Admin(emu.base)
    assert admin.clock()["Mode"] == "manual"
    with pytest.raises(AdminError) as refused:
        admin.subscribe("ftp://x")
    assert refused.value.status == 406
    assert refused.value.message == (
        "Malformed parameter URL: 'ftp://x' (expected http://HOST:PORT or http://HOST:PORT/PATH)")
    assert str(refused.value) == f"the emulator at {emu.base} refused subscribe: {refused.value.message}"
    with pytest.raises(AdminError, match=r"refused call-in: Extension 999 not found$"):
        admin.call_in("+380501234567", "999")
    with pytest.raises(AdminError) as unknown:
        admin.request("nothing")
    assert unknown.value.status == 404 and "Unknown admin endpoint /_emulator/nothing/" in unknown.value.message


def test_the_admin_client_names_an_emulator_it_cannot_reach_or_that_is_none():
    import socket

    from daemon.emulator.admin import Admin, AdminError

    with socket.socket() as probe:      # a port nothing listens on once it is closed
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    with pytest.raises(AdminError, match=rf"^cannot reach the emulator at {closed}: ") as unreachable:
        Admin(closed).clock()
    assert unreachable.value.status is None
    stranger = Listener()                # answers 200 with an empty body
    try:
        with pytest.raises(AdminError, match=rf"\(is {stranger.url} the emulator\?\)$"):
            Admin(stranger.url).clock()
    finally:
        stranger.close()


# ----- the clocks ----------------------------------------------------------------


def test_a_scaled_clock_runs_by_itself_at_its_time_scale(scaled):
    """The one test where emulated time passes by itself, since that is what it checks.
    Each bound holds however slow the machine is: the real seconds measured around the
    emulator's readings contain the real seconds between them."""
    from daemon.emulator.admin import Admin

    clock = Admin(scaled.base).clock()
    assert (clock["Mode"], clock["TimeScale"]) == ("scaled", SCALE)
    rounding = 1e-6                     # emulated seconds: epoch times are floats
    scaled.logon("ivanova")
    before_start = time.monotonic()
    start = scaled.now()
    after_start = time.monotonic()
    call_id = dial(scaled, "+380441110001")         # answer_after = 2, and nobody advances
    row = wait_until(lambda: (r := scaled.call(call_id))["State"] == 21 and r, "the call to be answered")
    before_end = time.monotonic()
    end = scaled.now()
    after_end = time.monotonic()
    assert SCALE * (before_end - after_start) - rounding <= end - start <= SCALE * (after_end - before_start) + rounding
    # The timer fires on the emulated clock, never before its due time.
    assert row["WaitSeconds"] >= 2 - rounding
    assert scaled.stdout() == f"emulator listening on http://127.0.0.1:{scaled.port} (time scale {SCALE})\n"


def test_a_manual_clock_stands_still_until_advanced(scaled, emu):
    assert scaled.admin("clock")["Mode"] == "scaled"
    clock = emu.admin("clock")
    assert clock["Mode"] == "manual" and clock["TimeScale"] == 0
    emu.logon("ivanova")
    assert emu.now() == clock["Now"]
    assert emu.advance(2.5) == {"Now": clock["Now"] + 2.5, "Fired": 0}
    assert emu.now() == clock["Now"] + 2.5
    assert emu.stdout() == f"emulator listening on http://127.0.0.1:{emu.port} (manual clock)\n"


def test_advancing_answers_an_outside_call_at_exactly_its_due_time(emu):
    emu.logon("ivanova")
    call_id = dial(emu, "+380441110001")            # answer_after = 2
    created = emu.call(call_id)["Created"]
    assert emu.advance(1.5)["Fired"] == 0
    assert emu.call(call_id)["State"] == 13
    assert emu.advance(0.5) == {"Now": created + 2, "Fired": 1}
    row = emu.call(call_id)
    assert (row["State"], row["Connected"], row["WaitSeconds"]) == (21, created + 2, 2)


def test_small_steps_reach_a_timer_as_one_step_would(emu):
    emu.logon("ivanova")
    call_id = dial(emu, "+380441110001")            # answer_after = 2
    # 0.1 is not exact in floating point: twenty of them may fall a hair short of 2.
    assert sum(emu.advance(0.1)["Fired"] for _ in range(20)) == 1
    assert emu.call(call_id)["State"] == 21


def test_advancing_rings_an_incoming_call_out_then_deletes_it(emu):
    emu.logon("petrenko")
    call_id = emu.admin("call-in", From="+380501234567", To="102")["IDCall"]
    created = emu.call(call_id)["Created"]
    emu.advance(RING_TIMEOUT - 1)
    assert emu.call(call_id)["State"] == 1
    assert emu.advance(1)["Fired"] == 1
    row = emu.call(call_id)
    assert (row["State"], row["Reason"], row["Ended"]) == (100, "NoAnswer", created + RING_TIMEOUT)
    emu.advance(LINGER - 1)
    assert emu.call(call_id)["Active"]
    emu.advance(1)
    assert not emu.call(call_id)["Active"]


def test_advancing_applies_the_hold_rule_at_30_and_60_seconds(emu):
    emu.logon("shevchenko")
    call_id = dial(emu, "+380441110001", user_id=SHEVCHENKO)
    emu.advance(2)
    emu.json("/call/hold/", IDUser=SHEVCHENKO, IDCall=call_id)
    states = []
    for seconds in (29, 1, 29, 1):
        emu.advance(seconds)
        states.append(emu.json("/user/getstate/", IDUser=SHEVCHENKO)["IDUserState"])
    assert states == [300, 304, 304, 303]
    emu.json("/call/unhold/", IDUser=SHEVCHENKO, IDCall=call_id)
    assert emu.json("/user/getstate/", IDUser=SHEVCHENKO) == {"IDUserState": 304}
    emu.json("/call/drop/", IDUser=SHEVCHENKO, IDCall=call_id)
    assert emu.json("/user/getstate/", IDUser=SHEVCHENKO) == {"IDUserState": 300}
    assert emu.call(call_id)["HoldSeconds"] == 60


def test_timers_set_by_timers_fire_in_the_same_advance(emu):
    emu.logon("ivanova")
    call_id = dial(emu, "+380441110005")            # answers after 1 s, hangs up 5 s later
    created = emu.call(call_id)["Created"]
    assert emu.advance(10)["Fired"] == 2
    row = emu.call(call_id)
    assert (row["Connected"], row["Ended"], row["Reason"], row["TalkSeconds"]) == (created + 1, created + 6, "Normal", 5)


def test_a_hunt_group_moves_on_at_each_hunt_timeout_in_one_advance(emu):
    emu.logon("petrenko")
    emu.logon("shevchenko")
    first = emu.admin("call-in", From="+380501234567", To="501")["IDCall"]
    start = emu.call(first)["Created"]
    assert emu.advance(3 * HUNT_TIMEOUT)["Fired"] == 2
    rows = [emu.call(call_id) for call_id in group_calls_since(emu, first)]
    assert [(r["Extension"], r["Reason"]) for r in rows] == [("102", "NoAnswer"), ("103", "NoAnswer")]
    assert rows[0]["Ended"] == rows[1]["Created"] == start + HUNT_TIMEOUT
    assert rows[1]["Ended"] == start + 2 * HUNT_TIMEOUT


def test_advance_is_refused_on_a_scaled_clock_and_with_bad_seconds(scaled, emu):
    from daemon.emulator.admin import Admin, AdminError

    with pytest.raises(AdminError) as refused:
        Admin(scaled.base).advance(5)
    assert refused.value.status == 406
    assert refused.value.message.startswith("The clock is scaled and runs by itself: only a manual clock is advanced")
    assert "--manual-clock" in refused.value.message
    before = emu.now()
    for bad in ("0", "-3", "abc", "inf", "nan"):
        refused = emu.json("/_emulator/advance/", expect=406, Seconds=bad)
        assert refused == {"ErrorMessage": f"Malformed parameter Seconds: {bad!r} is not a number of seconds greater than 0"}
    assert emu.json("/_emulator/advance/", expect=406) == {"ErrorMessage": "Missing parameter Seconds"}
    assert emu.now() == before


def test_the_network_stays_down_forever_until_brought_back(emu):
    from daemon.emulator.admin import FOREVER, Admin

    admin = Admin(emu.base)
    assert admin.network(FOREVER) == {"Down": "forever", "DownUntil": None}
    assert not emu.answers()
    admin.advance(10**6)
    assert not emu.answers()
    assert admin.network(0) == {"Down": 0, "DownUntil": None}
    assert emu.answers()
    # Down=N lasts N emulated seconds, which a manual clock passes only when advanced.
    admin.network(5)
    admin.advance(4.5)
    assert not emu.answers()
    admin.advance(0.5)
    assert emu.answers()
    assert emu.json("/_emulator/network/", expect=406, Down="soon") == {
        "ErrorMessage": "Malformed parameter Down: 'soon' is not a number of seconds (or forever)"}


def test_events_that_timers_raise_are_delivered_before_advance_returns(emu):
    import socket

    from daemon.emulator.admin import Admin

    with socket.socket() as probe:      # a port nothing listens on once it is closed
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    admin, listener = Admin(emu.base), AioListener()
    try:
        admin.subscribe(listener.url)
        admin.subscribe(dead)           # its events are dropped: nobody waits for them
        emu.logon("ivanova")
        call_id = dial(emu, "+380441110005")        # answers after 1 s, hangs up 5 s later
        assert admin.advance(10)["Fired"] == 2
        # No waiting: every event is there already, in order.
        states = [e["State"] for e in listener.events
                  if e["path"] == "/call/OnCallStateChanged/" and e["IDCall"] == str(call_id)]
        assert states == ["13", "21", "99", "100"]
    finally:
        admin.unsubscribe(dead)
        admin.unsubscribe(listener.url)
        listener.close()


def test_the_scenario_can_ask_for_a_manual_clock(tmp_path):
    text = SCENARIO.replace("time_scale = 1.0", 'clock = "manual"')
    emu = Emulator(tmp_path, text, clock=None)
    try:
        assert emu.admin("clock")["Mode"] == "manual"
        assert emu.advance(1)["Fired"] == 0
    finally:
        assert emu.stop() == 0
    # A time scale cannot apply to it: one line, exit 2.
    module, cc = [sys.executable, "-m", "daemon.emulator"], [str(Path(sys.executable).parent / "cc"), "emulator"]
    for command, extra in ((module, ["--scenario", str(emu.scenario), "--time-scale", "5"]),
                           (module, ["--manual-clock", "--time-scale", "5"]),
                           (cc, ["--manual-clock", "--time-scale", "5"])):
        done = subprocess.run([*command, "run", "--port", "0", *extra],
                              cwd=ROOT, capture_output=True, text=True, timeout=DEADLINE)
        assert done.returncode == 2 and done.stdout == ""
        assert len(done.stderr.strip().splitlines()) == 1 and "--time-scale" in done.stderr, done.stderr


def test_a_bad_clock_is_one_clear_line():
    from daemon.emulator import ScenarioError
    from daemon.emulator.scenario import parse

    with pytest.raises(ScenarioError) as caught:
        parse(SCENARIO.replace("time_scale = 1.0", 'clock = "fast"'), "team.toml")
    assert str(caught.value) == (
        """scenario team.toml: [server] clock is 'fast' (write clock = "scaled" (the default) or clock = "manual")""")


def test_package_import_stays_light():
    code = "import sys, daemon.emulator; print('aiohttp' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=DEADLINE)
    assert done.stdout.strip() == "False", done.stderr
