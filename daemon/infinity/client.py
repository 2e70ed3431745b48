"""The daemon's HTTP client of the Infinity integration module (docs/infinity.md "Methods")."""

from __future__ import annotations

import asyncio
import time
from enum import StrEnum
from urllib.parse import quote, quote_plus

import aiohttp
from yarl import URL

from ..journal import SECRET_PARAMS
from ..wire import Direction
from .answers import (AnswerLost, BadResponse, InfinityError, Unreachable, as_int,
                      clean_id, day_fraction_seconds, need, ole_datetime, parse_body)
from .values import ActiveCall, ConnectionRecord, caller_number, direction


MAX_ANSWER = 4 * 1024 * 1024       # bytes of an answer; real ones are a few kilobytes
MAX_AUDIO = 512 * 1024 * 1024      # bytes of a recording: hours of PCM


def redact(text: str, params: dict) -> str:
    """`text` with every secret parameter's value, as given or URL-encoded, as ***."""
    for name, value in params.items():
        if SECRET_PARAMS.search(name) and value:
            # The last form is the one on the wire: aiohttp's query leaves `/` and `?` be.
            sent = URL.build(query={name: value}).raw_query_string.split("=", 1)[1]
            for form in {value, quote(value), quote_plus(value), quote(value, safe=""), sent}:
                text = text.replace(form, "***")
    return text


async def _read(resp: aiohttp.ClientResponse, limit: int, path: str) -> bytes:
    """The body, refused past `limit` bytes before more of it is held in memory."""
    if (resp.content_length or 0) > limit:
        raise BadResponse(f"the server's answer to {path} is {resp.content_length} bytes, "
                          f"over the {limit}-byte limit")
    chunks, size = [], 0
    async for chunk in resp.content.iter_chunked(65536):
        size += len(chunk)
        if size > limit:
            raise BadResponse(f"the server's answer to {path} is over the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


class CallAction(StrEnum):
    """What the agent can do to a call in one request; the value is the method's name."""

    ANSWER = "accept"
    HANG_UP = "drop"
    HOLD = "hold"
    RESUME = "unhold"

    @property
    def verb(self) -> str:
        return self.name.lower().replace("_", " ")


# The methods that only read: safe to send again. Every other one changes something.
READS = frozenset({"/user/getstate/", "/call/getactivecalls/", "/stat/connectionsbycall/",
                   "/stat/getrecordedfile/"})


class InfinityClient:
    def __init__(self, host: str, port: int, timeout: float, journal=None):
        self.base = f"http://{host}:{port}"
        self.timeout = timeout
        self.journal = journal
        self._reads: aiohttp.ClientSession | None = None
        self._actions: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        for http in (self._reads, self._actions):
            if http is not None:
                await http.close()
        self._reads = self._actions = None

    def _session(self, path: str) -> aiohttp.ClientSession:
        """Reads share kept-alive connections (aiohttp sends a read again, once, when a
        kept-alive connection turns out closed). A method that changes something (every
        Infinity method is a GET; `call/make` places a call) goes on a connection of its
        own and is never sent twice: aiohttp's resend is off there (it has no public
        switch; its own tests turn it off this way)."""
        if path in READS:
            if self._reads is None:
                self._reads = aiohttp.ClientSession(
                    timeout=aiohttp.ClientTimeout(total=self.timeout),
                    connector=aiohttp.TCPConnector(limit=16))
            return self._reads
        if self._actions is None:
            self._actions = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                connector=aiohttp.TCPConnector(limit=16, force_close=True))
            self._actions._retry_connection = False
        return self._actions

    async def _fetch(self, path: str, params: dict, journal_body: bool = True,
                     limit: int = MAX_ANSWER) -> tuple[int, bytes]:
        params = {k: str(v) for k, v in params.items() if v is not None}
        if self.journal:
            self.journal.sent(path, params)
        began = time.monotonic()
        try:
            # A real server never redirects: following one would send the password on.
            async with self._session(path).get(self.base + path, params=params,
                                           allow_redirects=False) as resp:
                body = await _read(resp, limit, path)
                status = resp.status
        except asyncio.TimeoutError:
            self._journal_failure(path, began, "timeout")
            raise AnswerLost(f"the server did not answer {path} within {self.timeout:g} s") \
                from None
        except aiohttp.ClientError as exc:
            self._journal_failure(path, began, type(exc).__name__)
            # The one place an error about a request becomes text: no secret gets through.
            if isinstance(exc, aiohttp.ClientConnectorError):     # nothing was sent
                raise Unreachable(redact(f"cannot reach the server at {self.base}: {exc}",
                                         params)) from None
            raise AnswerLost(redact(f"cannot reach the server at {self.base}: the connection "
                                    f"broke before it answered {path} ({exc})", params)) \
                from None
        except BadResponse:
            self._journal_failure(path, began, "oversized")
            raise
        if 300 <= status < 400:
            raise BadResponse(f"the server answered {path} with a redirect (HTTP {status}), "
                              "which an Infinity server never sends; check server.host and "
                              "server.port")
        if self.journal:
            shown = body if journal_body else f"<{len(body)} bytes of audio>".encode()
            self.journal.received(path, status, (time.monotonic() - began) * 1000, shown)
        return status, body

    def _journal_failure(self, path: str, began: float, what: str) -> None:
        if self.journal:
            self.journal.failed(path, (time.monotonic() - began) * 1000, what)

    async def call(self, path: str, **params) -> dict:
        """GET a method and return its `result` object; raise on 406 and bad answers."""
        status, body = await self._fetch(path, params)
        text = body.decode("utf-8", errors="replace")
        if status == 200:
            return parse_body(text, path)
        try:
            result = parse_body(text, path)
        except BadResponse:
            raise InfinityError(f"the server answered {path} with HTTP {status}", status) from None
        message = result.get("ErrorMessage") or f"HTTP {status}"
        logon = result.get("LogonResult")
        raise InfinityError(str(message), status, int(logon) if str(logon).isdigit() else None)

    # Users
    async def logon(self, login: str, password: str, role: int, hostname: str) -> tuple[int, str]:
        path = "/user/logon/"
        result = await self.call(path, Login=login, Password=password, IDRole=role,
                                 HostHame=hostname)
        logon_result = as_int(result.get("LogonResult", 1), "LogonResult", path)
        if logon_result != 1:
            raise InfinityError(f"log-on refused (LogonResult {logon_result})",
                                logon_result=logon_result)
        id_user = as_int(need(result, "IDUser", path), "IDUser", path)
        return id_user, str(result.get("Extension", ""))

    async def logoff(self, id_user: int) -> None:
        await self.call("/user/logoff/", IDUser=id_user)

    async def get_state(self, id_user: int) -> int:
        path = "/user/getstate/"
        result = await self.call(path, IDUser=id_user)
        return as_int(need(result, "IDUserState", path), "IDUserState", path)

    async def set_state(self, id_user: int, state_id: int) -> None:
        await self.call("/user/setstate/", IDUser=id_user, IDUserState=state_id)

    # Calls
    async def make_call(self, id_user: int, number: str, mode: str | None = None) -> str:
        path = "/call/make/"
        result = await self.call(path, IDUser=id_user, Number=number, Mode=mode)
        return str(as_int(need(result, "IDCall", path), "IDCall", path))

    async def start_transfer(self, id_user: int, call_id: str, number: str) -> str:
        path = "/call/starttransfer/"
        result = await self.call(path, IDUser=id_user, IDCall=call_id, Number=number)
        return str(as_int(need(result, "IDCall", path), "IDCall", path))

    async def quick_transfer(self, id_user: int, call_id: str, number: str) -> None:
        await self.call("/call/quicktransfer/", IDUser=id_user, IDCall=call_id, Number=number)

    async def call_action(self, action: CallAction, id_user: int, call_id: str) -> None:
        await self.call(f"/call/{action.value}/", IDUser=id_user, IDCall=call_id)

    async def finish_transfer(self, id_user: int, call_id: str) -> None:
        """Join the held caller to the consult target (the agent leaves)."""
        await self.call("/call/finishtransfer/", IDUser=id_user, IDCall=call_id)

    async def send_digits(self, id_user: int, call_id: str, digits: str) -> None:
        await self.call("/call/senddigits/", IDUser=id_user, IDCall=call_id, Digits=digits)

    async def active_calls(self, id_user: int) -> list[ActiveCall]:
        path = "/call/getactivecalls/"
        result = await self.call(path, IDUser=id_user)
        rows = need(result, "Data", path)
        if not isinstance(rows, list):
            raise BadResponse(f"the server's answer to {path}: Data is not a list")
        return [self._active_row(row, path) for row in rows]

    @staticmethod
    def _active_row(row, path: str) -> ActiveCall:
        if not isinstance(row, dict) or "ID" not in row:
            raise BadResponse(f"the server's answer to {path} has a row without ID")
        try:
            call_id = clean_id(row["ID"], "ID")
        except ValueError as exc:
            raise BadResponse(f"the server's answer to {path}: {exc}") from None
        way = direction(as_int(row.get("Direction", 0) or 0, "Direction", path))
        # The far end is B on an outgoing call and A on an incoming one.
        number = row.get("BNumber") if way == Direction.OUT else row.get("ANumber")
        number = str(number or row.get("Number") or row.get("AbonentNumber") or "")
        # An empty number in a row may only be a field this server leaves out: not known.
        number = caller_number(number, way) if number else ""
        try:
            seance = clean_id(row["IDSeance"], "IDSeance") if row.get("IDSeance") else ""
        except ValueError:
            seance = ""         # [ours], a hint only: a bad one is no reason to drop the row
        return ActiveCall(call_id, as_int(row.get("State", 0), "State", path), way,
                          number, str(row.get("Reason") or ""), seance)

    async def connections(self, call_id: str) -> list[ConnectionRecord]:
        path = "/stat/connectionsbycall/"
        result = await self.call(path, IDCall=call_id, AllInfo=1)
        rows = need(result, "Data", path)
        if not isinstance(rows, list):
            raise BadResponse(f"the server's answer to {path}: Data is not a list")
        records = []
        for row in rows:
            try:
                records.append(ConnectionRecord(
                    str(row.get("ID", "")), ole_datetime(row.get("TimeStart")),
                    day_fraction_seconds(row.get("DurationFull")),
                    day_fraction_seconds(row.get("DurationWait")),
                    day_fraction_seconds(row.get("DurationTalk")),
                    day_fraction_seconds(row.get("DurationHold")),
                    str(row.get("ANumber") or ""), str(row.get("BIDUser") or "")))
            except (ValueError, AttributeError):
                raise BadResponse(f"the server's answer to {path} has unreadable durations") \
                    from None
        return records

    async def recording(self, connection_id: str) -> bytes:
        """The raw audio of a connection (stat/getrecordedfile), in the server's default
        codec: real clients name none, and servers may not serve every codec."""
        path = "/stat/getrecordedfile/"
        status, body = await self._fetch(path, {"IDConnection": connection_id},
                                         journal_body=False, limit=MAX_AUDIO)
        if status != 200:
            try:
                message = parse_body(body.decode("utf-8", "replace"), path).get(
                    "ErrorMessage") or f"HTTP {status}"
            except BadResponse:
                message = f"HTTP {status}"
            raise InfinityError(str(message), status)
        if not body or body[:1] in (b"{", b"<"):
            raise BadResponse(f"the server's answer to {path} is not audio")
        return body
