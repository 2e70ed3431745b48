"""The HTTP side of the emulator: routes, answer formatting, fault injection, events.

One aiohttp application answers both the Infinity methods (docs/infinity.md) and the
emulator's own admin endpoints under /_emulator/. Admin endpoints are never affected
by injected faults or network drops, so tests can always steer the emulator.
"""

from __future__ import annotations

import asyncio
import io
import json
import math
import os
import re
import signal
import struct
import sys
import wave
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable
from urllib.parse import quote, urlencode

import aiohttp
from aiohttp import web
from yarl import URL

from . import calls as m
from .admin import ADMIN_PREFIX
from .calls import ApiError, Call, User
from .clock import ScaledClock
from .model import Model
from .. import phone
from .scenario import EVENTS_URL_FORM, Scenario, is_valid_events_url

FAULT_KINDS = ("http500", "malformed", "truncated", "slow", "unknown-state", "extra-fields")
CODECS = ("gsm", "pcm", "mp3")
DEFAULT_SLOW_DELAY = 3.0          # real seconds
EVENT_TIMEOUT = 5.0               # real seconds for one event delivery
OLE_EPOCH = datetime(1899, 12, 30)
MALFORMED_BODY = b'{"result": {"IDUserState": 300,,}'
HTTP500_BODY = (
    "<html><head><title>500 Internal Server Error</title></head>"
    "<body><h1>Internal Server Error</h1><p>The server encountered an internal error.</p></body></html>"
)
WAV_RATE = 8000
WAV_MAX_SECONDS = 5.0
TONE_HZ = 440.0


def log(message: str) -> None:
    print(f"emulator: {message}", file=sys.stderr, flush=True)


# ----- answers -------------------------------------------------------------------


@dataclass
class Answer:
    """What a method produced, before any fault is applied and before formatting."""

    status: int = 200
    result: dict | None = None          # JSON answers
    body: bytes | None = None           # binary answers (recorded files)
    content_type: str = "application/json"


def json_body(payload: Any, raw: bool = False) -> bytes:
    if not raw:
        return json.dumps(payload, ensure_ascii=False).encode("utf-8")
    # Like some real servers: pretty-printed with CR/LF and TAB, and backslashes in
    # Windows paths not escaped (which makes the text invalid JSON as sent).
    text = json.dumps(payload, ensure_ascii=False, indent="\t")
    text = text.replace("\n", "\r\n").replace("\\\\", "\\")
    return text.encode("utf-8")


def day_fraction(seconds: float) -> str:
    """Seconds as a fraction of a day with a comma, as stat answers write durations."""
    return f"{seconds / 86400:.9f}".replace(".", ",")


def ole_date(epoch: float) -> str:
    """Local time as an OLE date: days since 1899-12-30, comma decimal."""
    days = (datetime.fromtimestamp(epoch) - OLE_EPOCH).total_seconds() / 86400
    return f"{days:.9f}".replace(".", ",")


def wav_path(call: Call, side: str) -> str:
    if call.connected is None:
        return "null"
    day = datetime.fromtimestamp(call.connected)
    return f"C:\\Records\\{day:%Y}\\{day:%m}\\{day:%d}\\{call.id}_{side}.wav"


def tone_wav(seconds: float) -> bytes:
    """A real PCM WAV file (8 kHz, mono, 16-bit) holding a tone of that length."""
    frames = int(max(0.0, seconds) * WAV_RATE)
    samples = (int(8000 * math.sin(2 * math.pi * TONE_HZ * i / WAV_RATE)) for i in range(frames))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(WAV_RATE)
        out.writeframes(struct.pack(f"<{frames}h", *samples))
    return buffer.getvalue()


# ----- query parameters ----------------------------------------------------------


def param(query, name: str) -> str:
    value = query.get(name)
    if value is None or not value.strip():
        raise ApiError(f"Missing parameter {name}")
    return value.strip()


def int_param(query, name: str) -> int:
    value = param(query, name)
    if not value.isdigit():
        raise ApiError(f"Malformed parameter {name}: {value!r} is not a whole number")
    return int(value)


def number_param(query, name: str) -> str:
    value = param(query, name)
    number = phone.strip(value)
    if not phone.dialable(number):
        raise ApiError(f"Malformed parameter {name}: {value!r} is not a phone number")
    return number


def float_param(query, name: str, default: float | None = None) -> float:
    value = query.get(name)
    if value is None or not value.strip():
        if default is None:
            raise ApiError(f"Missing parameter {name}")
        return default
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not math.isfinite(number) or number < 0:
        raise ApiError(f"Malformed parameter {name}: {value!r} is not a number of seconds")
    return number


def normalize_path(path: str) -> str:
    return path if path.endswith("/") else path + "/"


# ----- faults --------------------------------------------------------------------


@dataclass
class Fault:
    kind: str
    remaining: int
    path: str | None
    delay: float

    def applies_to(self, path: str) -> bool:
        return self.remaining > 0 and (self.path is None or self.path == path)


# ----- events --------------------------------------------------------------------


@dataclass
class Subscriber:
    url: str
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)
    worker: asyncio.Task | None = None


class EventPusher:
    """Pushes events as HTTP GETs: one queue and worker per subscriber, so each gets
    its events in order and a slow or dead subscriber delays nobody else."""

    def __init__(self, network_down: Callable[[], bool]):
        self.network_down = network_down
        self.subscribers: dict[str, Subscriber] = {}
        self.session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=EVENT_TIMEOUT))

    async def close(self) -> None:
        for sub in self.subscribers.values():
            if sub.worker is not None:
                sub.worker.cancel()
        await asyncio.gather(*(s.worker for s in self.subscribers.values() if s.worker), return_exceptions=True)
        self.subscribers.clear()
        if self.session is not None:
            await self.session.close()

    def subscribe(self, url: str) -> None:
        if url not in self.subscribers:
            sub = Subscriber(url)
            sub.worker = asyncio.get_running_loop().create_task(self._deliver(sub))
            self.subscribers[url] = sub

    def unsubscribe(self, url: str) -> None:
        sub = self.subscribers.pop(url, None)
        if sub is not None and sub.worker is not None:
            sub.worker.cancel()

    def emit(self, path: str, params: dict) -> None:
        query = urlencode({k: str(v) for k, v in params.items()}, quote_via=quote)
        if self.network_down():
            log(f"network down, event lost: {path}?{query}")
            return
        for sub in self.subscribers.values():
            sub.queue.put_nowait(f"{sub.url.rstrip('/')}{path}?{query}")

    async def _deliver(self, sub: Subscriber) -> None:
        while True:
            target = await sub.queue.get()
            if self.network_down():
                log(f"network down, event lost: {target}")
                continue
            try:
                async with self.session.get(URL(target, encoded=True)) as resp:
                    await resp.read()
                    if resp.status >= 400:
                        log(f"event {target} answered HTTP {resp.status} (not retried)")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any delivery failure: drop it, never retry
                log(f"event {target} dropped: {exc.__class__.__name__}: {exc}")


# ----- the emulator --------------------------------------------------------------


class Emulator:
    def __init__(self, scenario: Scenario, time_scale: float | None = None):
        self.scenario = scenario
        self.clock = ScaledClock(time_scale if time_scale is not None else scenario.time_scale)
        self.pusher = EventPusher(self.network_down)
        self.model = Model(scenario, self.clock, self.pusher.emit)
        self.faults: list[Fault] = []
        self.down_until: float | None = None
        self.methods: dict[str, Callable[[Any], Answer | dict]] = {
            "/user/logon/": self.user_logon,
            "/user/logoff/": self.user_logoff,
            "/user/getstate/": self.user_getstate,
            "/user/setstate/": self.user_setstate,
            "/call/make/": self.call_make,
            "/call/drop/": self.call_drop,
            "/call/accept/": self.call_accept,
            "/call/hold/": self.call_hold,
            "/call/unhold/": self.call_unhold,
            "/call/quicktransfer/": self.call_quicktransfer,
            "/call/starttransfer/": self.call_starttransfer,
            "/call/finishtransfer/": self.call_finishtransfer,
            "/call/senddigits/": self.call_senddigits,
            "/call/getactivecalls/": self.call_getactivecalls,
            "/stat/connectionsbycall/": self.stat_connectionsbycall,
            "/stat/getrecordedfile/": self.stat_getrecordedfile,
            "/data/getdata/": self.data_getdata,
        }
        self.admin: dict[str, Callable[[Any], dict]] = {
            "subscribe": self.admin_subscribe,
            "unsubscribe": self.admin_unsubscribe,
            "call-in": self.admin_call_in,
            "hangup": self.admin_hangup,
            "network": self.admin_network,
            "fault": self.admin_fault,
            "faults": self.admin_faults,
            "restart": self.admin_restart,
            "ask-restart": self.admin_ask_restart,
            "clock": self.admin_clock,
            "calls": self.admin_calls,
            "users": self.admin_users,
        }

    @property
    def time_scale(self) -> float:
        return self.clock.time_scale

    def network_down(self) -> bool:
        return self.down_until is not None and self.clock.now() < self.down_until

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self.dispatch)
        return app

    async def start(self) -> None:
        await self.pusher.start()
        # As a real server takes its eventsURL from its configuration.
        for url in self.scenario.events_urls:
            self.pusher.subscribe(url)
            log(f"pushing events to {url} (the scenario's events_url)")

    async def close(self) -> None:
        self.model.shutdown()
        await self.pusher.close()

    # ----- request dispatch ----------------------------------------------------------

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        path = normalize_path(request.path)
        if path.startswith(ADMIN_PREFIX):
            return self.dispatch_admin(path, request)
        if self.network_down():
            return self.drop_connection(request)
        handler = self.methods.get(path)
        if handler is None:
            answer = Answer(404, body=f"Unknown method {path}".encode(), content_type="text/plain")
        else:
            try:
                produced = handler(request.query)
                answer = produced if isinstance(produced, Answer) else Answer(result=produced)
            except ApiError as exc:
                answer = Answer(406, result={"ErrorMessage": exc.message, **exc.extra})
        fault = self.take_fault(path)
        if fault is not None:
            return await self.faulty(answer, fault)
        return self.respond(answer)

    def respond(self, answer: Answer) -> web.Response:
        if answer.result is not None:
            body = json_body({"result": answer.result}, raw=self.scenario.raw_answers)
        else:
            body = answer.body or b""
        return self._response(answer.status, body, answer.content_type)

    @staticmethod
    def _response(status: int, body: bytes, content_type: str) -> web.Response:
        charset = "utf-8" if content_type.startswith(("application/json", "text/")) else None
        return web.Response(status=status, body=body, content_type=content_type, charset=charset)

    @staticmethod
    def drop_connection(request: web.Request) -> web.Response:
        # Close the socket with no answer at all, as an unreachable server would.
        # aiohttp then fails to write the response below and lets it go quietly.
        if request.transport is not None:
            request.transport.close()
        return web.Response(status=503)

    def take_fault(self, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.applies_to(path):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self.faults.remove(fault)
                return fault
        return None

    async def faulty(self, answer: Answer, fault: Fault) -> web.Response:
        # The method has already run: a broken answer does not mean nothing happened.
        if fault.kind == "http500":
            return self._response(500, HTTP500_BODY.encode(), "text/html")
        if fault.kind == "malformed":
            return self._response(200, MALFORMED_BODY, "application/json")
        if fault.kind == "truncated":
            full = self.respond(answer).body
            return self._response(answer.status, full[: len(full) // 2], answer.content_type)
        if fault.kind == "slow":
            await asyncio.sleep(fault.delay)
        elif fault.kind == "unknown-state" and answer.result and "IDUserState" in answer.result:
            answer.result = {**answer.result, "IDUserState": 777}
        elif fault.kind == "extra-fields" and answer.result is not None:
            answer.result = self._with_extra_fields(answer.result)
        return self.respond(answer)

    @staticmethod
    def _with_extra_fields(result: dict) -> dict:
        extra = dict(result)
        if isinstance(extra.get("Data"), list):
            extra["Data"] = [
                {**row, "XEmulatorColumn": "extra"} if isinstance(row, dict) else row for row in extra["Data"]
            ]
        extra["XEmulatorNote"] = "unknown field"
        extra["XEmulatorNumber"] = 12345
        extra["XEmulatorObject"] = {"Nested": [1, "two", None]}
        return extra

    def dispatch_admin(self, path: str, request: web.Request) -> web.Response:
        name = path[len(ADMIN_PREFIX):].strip("/")
        handler = self.admin.get(name)
        if handler is None:
            known = ", ".join(sorted(self.admin))
            payload, status = {"ErrorMessage": f"Unknown admin endpoint {path} (known: {known})"}, 404
        else:
            try:
                payload, status = handler(request.query), 200
            except ApiError as exc:
                payload, status = {"ErrorMessage": exc.message, **exc.extra}, 406
        return self._response(status, json_body({"result": payload}), "application/json")

    # ----- user methods ------------------------------------------------------------

    def user_logon(self, q) -> dict:
        def refuse(message: str, code: int) -> ApiError:
            return ApiError(message, LogonResult=code)

        login = (q.get("Login") or "").strip()
        id_text = (q.get("IDUser") or "").strip()
        if not login and not id_text:
            raise refuse("Missing parameter Login or IDUser", 2)
        if id_text and not id_text.isdigit():
            raise refuse(f"Malformed parameter IDUser: {id_text!r} is not a whole number", 2)
        password = q.get("Password")
        if password is None:
            raise refuse("Missing parameter Password", 2)
        role = (q.get("IDRole") or "").strip()
        if not role:
            raise refuse("Missing parameter IDRole", 2)
        if not role.isdigit():
            raise refuse(f"Malformed parameter IDRole: {role!r} is not a whole number", 2)
        user = self.model.user_by_login(login) if login else None
        if id_text:
            by_id = next((u for u in self.model.users if u.id == int(id_text)), None)
            user = by_id if not login or by_id is user else None
        if user is None or user.spec.password != password:
            raise refuse("Invalid login or password", 3)
        self.model.logon(user, q.get("HostHame", ""))
        return {"IDUser": user.id, "Extension": user.extension, "LogonResult": 1}

    def user_logoff(self, q) -> dict:
        self.model.logoff(self.model.user_by_id(int_param(q, "IDUser")))
        return {}

    def user_getstate(self, q) -> dict:
        user = self.model.user_by_id(int_param(q, "IDUser"))
        return {"IDUserState": user.state}

    def user_setstate(self, q) -> dict:
        user = self.model.user_by_id(int_param(q, "IDUser"))
        state = int_param(q, "IDUserState")
        self.model.set_state(user, state)
        return {}

    # ----- call methods ------------------------------------------------------------

    def call_user(self, q) -> User:
        """The user a call method is about: by IDUser= or by Extension=."""
        has_id = bool((q.get("IDUser") or "").strip())
        has_ext = bool((q.get("Extension") or "").strip())
        if not has_id and not has_ext:
            raise ApiError("Missing parameter IDUser or Extension")
        user = self.model.user_by_id(int_param(q, "IDUser")) if has_id else None
        if has_ext:
            by_ext = self.model.user_by_extension(param(q, "Extension"))
            if user is not None and by_ext is not user:
                raise ApiError(f"IDUser {user.id} and Extension {by_ext.extension} are different users")
            user = by_ext
        return user

    def call_make(self, q) -> dict:
        user = self.call_user(q)
        number = number_param(q, "Number")
        # [ours] Mode: offhook (the default) or callback (F27).
        mode = (q.get("Mode") or "").strip() or m.OFFHOOK
        call = self.model.make_call(user, number, q.get("Tag", ""), mode)
        return {"IDCall": call.id}

    def call_drop(self, q) -> dict:
        self.model.drop(self.call_user(q), int_param(q, "IDCall"))
        return {}

    def call_accept(self, q) -> dict:
        self.model.accept(self.call_user(q), int_param(q, "IDCall"))
        return {}

    def call_hold(self, q) -> dict:
        self.model.hold(self.call_user(q), int_param(q, "IDCall"))
        return {}

    def call_unhold(self, q) -> dict:
        self.model.unhold(self.call_user(q), int_param(q, "IDCall"))
        return {}

    def call_quicktransfer(self, q) -> dict:
        user, call_id = self.call_user(q), int_param(q, "IDCall")
        self.model.transfers.quick(user, call_id, number_param(q, "Number"))
        return {}

    def call_starttransfer(self, q) -> dict:
        user, call_id = self.call_user(q), int_param(q, "IDCall")
        leg = self.model.transfers.start(user, call_id, number_param(q, "Number"))
        return {"IDCall": leg.id}

    def call_finishtransfer(self, q) -> dict:
        self.model.transfers.finish(self.call_user(q), int_param(q, "IDCall"))
        return {}

    def call_senddigits(self, q) -> dict:
        user, call_id = self.call_user(q), int_param(q, "IDCall")
        digits = param(q, "Digits")
        if not re.fullmatch(r"[0-9*#]+", digits):
            raise ApiError(f"Malformed parameter Digits: {digits!r} (only 0-9, * and #)")
        self.model.send_digits(user, call_id)
        return {}

    def call_getactivecalls(self, q) -> dict:
        user = self.call_user(q)
        return {"Data": [self.active_row(call) for call in self.model.active_calls(user)]}

    @staticmethod
    def active_row(call: Call) -> dict:
        return {
            "ID": str(call.id),
            "State": str(call.state),
            "Direction": str(call.direction),
            "AWavFile": wav_path(call, "a"),
            "BWavFile": wav_path(call, "b"),
            "ANumber": call.a_number,
            "BNumber": call.b_number,
            "Extension": call.user.extension,
            "IDUser": str(call.user.id),
            "Reason": call.end_reason,
        }

    # ----- statistics and data -----------------------------------------------------

    def stat_connectionsbycall(self, q) -> dict:
        call = self.model.known_call(int_param(q, "IDCall"))
        all_info = (q.get("AllInfo") or "0").strip()
        if all_info not in ("0", "1"):
            raise ApiError(f"Malformed parameter AllInfo: {all_info!r} (0 or 1)")
        if all_info == "0":
            return {"Connections": [call.connection_id]}
        return {"Data": [self.connection_row(call, self.clock.now())]}

    @staticmethod
    def connection_row(call: Call, now: float) -> dict:
        started = datetime.fromtimestamp(call.created)
        outgoing = call.direction == m.OUT
        # BIDUser is the user on the B side; an external party has none.
        if not outgoing:
            b_user = call.user
        else:
            b_user = call.peer.user if call.internal else None
        # Abonent types [ours]: 1 an internal user, 2 an external number.
        remote_type = "1" if call.internal else "2"
        return {
            "ID": str(call.connection_id),
            "ANumber": call.a_number,
            "BNumber": call.b_number,
            "BIDUser": str(b_user.id) if b_user is not None else "0",
            "TimeStart": ole_date(call.created),
            "TimeStartDate": f"{started:%d.%m.%Y}",
            "TimeStartTime": f"{started:%H:%M:%S}",
            "DurationFull": day_fraction(call.full_seconds(now)),
            "DurationWait": day_fraction(call.wait_seconds(now)),
            "DurationTalk": day_fraction(call.talk_seconds(now)),
            "DurationHold": day_fraction(call.hold_seconds(now)),
            "DurationConference": day_fraction(0.0),
            "IDSeance": str(call.seance_id),
            "AAbonentType": "1" if outgoing else remote_type,
            "BAbonentType": remote_type if outgoing else "1",
            "ConnectionDirection": str(call.direction),
        }

    def stat_getrecordedfile(self, q) -> Answer:
        if (q.get("IDConnection") or "").strip():
            ident = int_param(q, "IDConnection")
        elif (q.get("IDSeance") or "").strip():
            ident = int_param(q, "IDSeance")
        else:
            raise ApiError("Missing parameter IDConnection or IDSeance")
        codec = param(q, "codec").lower()
        if codec not in CODECS:
            raise ApiError(f"Malformed parameter codec: {codec!r} (gsm, pcm or mp3)")
        call = self.model.call_by_connection(ident)
        if call.connected is None:
            raise ApiError("Record not found")
        if codec != "pcm":
            raise ApiError(f"Codec {codec} is not available")
        seconds = min(call.talk_seconds(self.clock.now()), WAV_MAX_SECONDS)
        return Answer(body=tone_wav(seconds), content_type="audio/wav")

    def data_getdata(self, q) -> dict:
        provider = param(q, "ProviderName")
        if provider != "Monitoring.Calls":
            raise ApiError(f"Unknown provider {provider} (this server has Monitoring.Calls)")
        return {"Data": [
            {
                "ID": str(call.id),
                "Extension": call.user.extension,
                "AbonentNumber": call.number,
                "CallState": str(call.state),
            }
            for call in self.model.active_calls()
        ]}

    # ----- admin endpoints ---------------------------------------------------------

    @staticmethod
    def events_url(q) -> str:
        url = param(q, "URL")
        if not is_valid_events_url(url):
            raise ApiError(f"Malformed parameter URL: {url!r} (expected {EVENTS_URL_FORM})")
        return url

    def admin_subscribe(self, q) -> dict:
        url = self.events_url(q)
        self.pusher.subscribe(url)
        return {"Subscribed": url}

    def admin_unsubscribe(self, q) -> dict:
        url = self.events_url(q)
        self.pusher.unsubscribe(url)   # idempotent, like subscribe
        return {"Unsubscribed": url}

    def admin_call_in(self, q) -> dict:
        number = number_param(q, "From")
        calls = self.model.call_in(number, param(q, "To"))
        # IDCalls lists every call rung so far: a ring-all group rings several at once;
        # [ours] a call to one extension answers IDCalls too, with its one call.
        return {"IDCall": calls[0].id, "IDCalls": [call.id for call in calls]}

    def admin_hangup(self, q) -> dict:
        call = self.model.far_end_hangup(int_param(q, "IDCall"))
        return {"IDCall": call.id}

    def admin_network(self, q) -> dict:
        seconds = float_param(q, "Down")
        self.down_until = self.clock.now() + seconds if seconds > 0 else None
        return {"Down": seconds, "DownUntil": self.down_until}

    def admin_fault(self, q) -> dict:
        kind = param(q, "Kind")
        if kind == "none":
            self.faults.clear()
            return {"Faults": 0}
        if kind not in FAULT_KINDS:
            raise ApiError(f"Unknown fault Kind {kind} (one of: {', '.join(FAULT_KINDS)}, or none to clear)")
        count = int_param(q, "Count") if (q.get("Count") or "").strip() else 1
        if count < 1:
            raise ApiError("Malformed parameter Count: it must be 1 or more")
        path = normalize_path(q["Path"].strip()) if (q.get("Path") or "").strip() else None
        if path is not None and not path.startswith("/"):
            path = "/" + path
        if path is not None and path.startswith(ADMIN_PREFIX):
            raise ApiError("Faults never apply to /_emulator/ endpoints")
        if kind == "unknown-state":
            if path not in (None, "/user/getstate/"):
                raise ApiError("Fault unknown-state only applies to /user/getstate/")
            path = "/user/getstate/"
        delay = float_param(q, "Delay", DEFAULT_SLOW_DELAY)
        self.faults.append(Fault(kind, count, path, delay))
        return {"Fault": kind, "Count": count, "Path": path, "Delay": delay if kind == "slow" else None}

    def admin_faults(self, q) -> dict:
        """The faults still waiting for a request: a test knows when one has been taken."""
        return {"Faults": [{"Kind": f.kind, "Path": f.path, "Remaining": f.remaining}
                           for f in self.faults]}

    def admin_restart(self, q) -> dict:
        self.model.restart()
        return {}

    def admin_ask_restart(self, q) -> dict:
        """[ours] The server asks its clients to restart (F4): /user/OnRestartRequired/."""
        self.pusher.emit("/user/OnRestartRequired/", {"Reason": q.get("Reason") or "update"})
        return {}

    def admin_clock(self, q) -> dict:
        return {"Now": self.clock.now(), "TimeScale": self.time_scale}

    def admin_calls(self, q) -> dict:
        now = self.clock.now()
        return {"Calls": [
            {
                "IDCall": call.id,
                "IDUser": call.user.id,
                "Extension": call.user.extension,
                "Direction": call.direction,
                "Number": call.number,
                "State": call.state,
                "Created": call.created,
                "Connected": call.connected,
                "Ended": call.ended,
                "WaitSeconds": call.wait_seconds(now),
                "TalkSeconds": call.talk_seconds(now),
                "HoldSeconds": call.hold_seconds(now),
                "IDConnection": call.connection_id,
                "IDSeance": call.seance_id,
                "Active": call.active,
                "Tag": call.tag,
                "Reason": call.end_reason,
                "Mode": call.mode,
                "Group": call.group,
                "TransferFrom": call.transfer_from,
                "TransferTo": call.transfer_to,
                # [ours] the consult leg's first call, and the other leg of an internal call
                "TransferFor": call.transfer_for,
                "Peer": call.peer.id if call.peer is not None else None,
            }
            for call in self.model.calls.values()
        ]}

    def admin_users(self, q) -> dict:
        return {"Users": [
            {
                "IDUser": user.id,
                "Login": user.spec.login,
                "Extension": user.extension,
                "Name": user.spec.name,
                "Position": user.spec.position,
                "Department": user.spec.department,
                "IDUserState": user.state,
            }
            for user in self.model.users
        ]}


# ----- serving -------------------------------------------------------------------


def write_port_file(path: str, port: int) -> None:
    """Write the port atomically, so a reader never sees a half-written file."""
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="ascii") as out:
        out.write(f"{port}\n")
    os.replace(tmp, path)


async def serve(scenario: Scenario, host: str, port: int, time_scale: float | None, port_file: str | None) -> None:
    emulator = Emulator(scenario, time_scale)
    await emulator.start()
    runner = web.AppRunner(emulator.app(), access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as exc:
            raise OSError(
                f"cannot listen on {host}:{port}: {exc.strerror or exc} "
                "(choose another --host or --port; --port 0 picks a free port)"
            ) from None
        actual_port = runner.addresses[0][1]
        if port_file:
            try:
                write_port_file(port_file, actual_port)
            except OSError as exc:
                raise OSError(
                    f"cannot write the port file {port_file}: {exc.strerror or exc} "
                    "(check that its directory exists and is writable)"
                ) from None
        print(f"emulator listening on http://{host}:{actual_port} (time scale {emulator.time_scale:g})", flush=True)

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(signum, stop.set)
            except (NotImplementedError, RuntimeError):
                pass  # no signal handlers here (Windows): Ctrl-C still ends asyncio.run
        await stop.wait()
    finally:
        await emulator.close()
        await runner.cleanup()
