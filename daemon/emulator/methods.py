"""The Infinity methods (docs/infinity.md, Part 1): /user/, /call/, /stat/ and /data/.

Each handler takes the query and returns the `result` object, or an `Answer` for a
binary one; refusals are ApiError. Faults and formatting are the server's business.
"""

from __future__ import annotations

import io
import json
import math
import re
import struct
import wave
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from . import calls as c
from .calls import ApiError, Call, User
from .model import Model
from .params import int_param, number_param, param

CODECS = ("gsm", "pcm", "mp3")
DEFAULT_CODEC = "pcm"       # [ours] what the emulator records in: a WAV file
OLE_EPOCH = datetime(1899, 12, 30)
WAV_RATE = 8000
WAV_MAX_SECONDS = 5.0
TONE_HZ = 440.0


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


class Methods:
    def __init__(self, model: Model):
        self.model = model
        self.clock = model.clock
        # Methods that take the agent's call IDCall, act on it and answer {}.
        call_actions = {
            "drop": model.drop,
            "accept": model.accept,
            "hold": model.hold,
            "unhold": model.unhold,
            "finishtransfer": model.transfers.finish,
        }
        self.table: dict[str, Callable[[Any], Answer | dict]] = {
            "/user/logon/": self.user_logon,
            "/user/logoff/": self.user_logoff,
            "/user/getstate/": self.user_getstate,
            "/user/setstate/": self.user_setstate,
            "/call/make/": self.call_make,
            **{f"/call/{name}/": self.call_action(action) for name, action in call_actions.items()},
            "/call/quicktransfer/": self.call_quicktransfer,
            "/call/starttransfer/": self.call_starttransfer,
            "/call/senddigits/": self.call_senddigits,
            "/call/getactivecalls/": self.call_getactivecalls,
            "/stat/connectionsbycall/": self.stat_connectionsbycall,
            "/stat/getrecordedfile/": self.stat_getrecordedfile,
            "/data/getdata/": self.data_getdata,
        }

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
                raise ApiError(f"IDUser {user.id} and Extension {by_ext.extension} are "
                               "different users")
            user = by_ext
        return user

    def call_action(self, action: Callable[[User, int], object]) -> Callable[[Any], dict]:
        """The handler of a method that acts on the agent's call IDCall and answers {}."""
        def handle(q) -> dict:
            action(self.call_user(q), int_param(q, "IDCall"))
            return {}

        return handle

    def call_make(self, q) -> dict:
        user = self.call_user(q)
        number = number_param(q, "Number")
        # [ours] Mode: offhook (the default) or callback (F27).
        mode = (q.get("Mode") or "").strip() or c.OFFHOOK
        call = self.model.make_call(user, number, q.get("Tag", ""), mode)
        return {"IDCall": call.id}

    def call_quicktransfer(self, q) -> dict:
        user, call_id = self.call_user(q), int_param(q, "IDCall")
        self.model.transfers.quick(user, call_id, number_param(q, "Number"))
        return {}

    def call_starttransfer(self, q) -> dict:
        user, call_id = self.call_user(q), int_param(q, "IDCall")
        leg = self.model.transfers.start(user, call_id, number_param(q, "Number"))
        return {"IDCall": leg.id}

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
            "IDSeance": str(call.seance_id),
            "Reason": call.end_reason,
        }

    # ----- statistics and data -----------------------------------------------------

    def stat_connectionsbycall(self, q) -> dict:
        call = self.model.known_call(int_param(q, "IDCall"))
        all_info = (q.get("AllInfo") or "0").strip()
        if all_info not in ("0", "1"):
            raise ApiError(f"Malformed parameter AllInfo: {all_info!r} (0 or 1)")
        # A transferred call has a connection per party it reached (docs/infinity.md).
        if all_info == "0":
            return {"Connections": [part.connection_id for part in call.connections]}
        now = self.clock.now()
        return {"Data": [self.connection_row(part, now) for part in call.connections]}

    @staticmethod
    def connection_row(call: Call, now: float) -> dict:
        started = datetime.fromtimestamp(call.created)
        outgoing = call.direction == c.OUT
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
        # Real clients send no codec: the server answers in its default one [client].
        codec = (q.get("codec") or "").strip().lower() or DEFAULT_CODEC
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
