"""A fault-injecting HTTP proxy for the tests: `python -m daemon.faultproxy --upstream URL`.

It forwards every request to the upstream (the emulator) and hands its answer back as it
came, except on a path with a rule. Its own admin paths, on the same port:
`/_proxy/rule/?Path=P&Kind=K[&Count=N]` (one rule a path; the next N requests, or every
one; Path=* for every method without a rule of its own), `/_proxy/clear/`,
`/_proxy/hits/` (requests seen and faults served per path).
Kinds: `status` (Status=N, Body), `body` (200 with Body), `redirect-loop` (302 to the
same path and query), `broken-status-line` (`HTTP/1.1 2x0` and the request line echoed),
`oversize` (200, a JSON body one byte over the daemon's cap), `patch` (the upstream's JSON
answer with Field=Value in `result` and in every `result.Data` row), `drop` (the
connection closed, no answer), `drop-after` (the upstream carries the request out, then the
connection is closed unanswered), `foreign` (the upstream's JSON answer as another
server build writes it: unknown fields in `result` and every `Data` row, pretty-printed
with CR/LF/TAB, Windows paths' backslashes unescaped). Only `patch`, `drop-after` and
`foreign` reach the upstream.
Events: `/_proxy/events/?To=EVENTS_URL` relays what the server pushes to
`http://PROXY/_events/...` on to EVENTS_URL (each answered 200 at once, delivered in
order); a rule of kind `late` on an event's path holds that event back until the next
event has been delivered (events out of order).
A raw asyncio server, as no HTTP framework sends a broken status line or no answer at all.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections import Counter
from urllib.parse import parse_qsl, urlsplit

import aiohttp
from yarl import URL

from .emulator.server import write_port_file
from .infinity.client import MAX_ANSWER

ADMIN = "/_proxy/"
KINDS = ("status", "body", "redirect-loop", "broken-status-line", "oversize", "patch", "drop",
         "drop-after", "foreign", "late")
EVENTS = "/_events/"          # where the server pushes events for the relay
KIND_PARAMS = {"status": {"Status", "Body"}, "body": {"Body"}, "patch": {"Field", "Value"}}
# Headers about this one connection, not the answer: never passed on either way.
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}
JSON = [("Content-Type", "application/json")]


class BadAdmin(Exception):
    """An admin request the proxy cannot take: answered 400 with this one line."""


def response(status: int, reason: str, body: bytes = b"", headers=JSON) -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{k}: {v}" for k, v in headers),
             f"Content-Length: {len(body)}", "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def oversize_body() -> bytes:
    """A log-on-like JSON answer exactly one byte over the daemon's cap."""
    head, tail = b'{"result": {"IDUser": 1, "Pad": "', b'"}}'
    return head + b"x" * (MAX_ANSWER + 1 - len(head) - len(tail)) + tail


def patched(answer: bytes, field: str, value: str) -> bytes:
    """The JSON answer with `field`, wherever it is in `result` and in its `Data` rows, set
    to `value`, as a lying server sends it; an answer that is not JSON, as it came."""
    try:
        doc = json.loads(answer)
    except ValueError:
        return answer
    result = doc.get("result") if isinstance(doc, dict) else None
    rows = result.get("Data") if isinstance(result, dict) else None
    for where in [result, *(rows if isinstance(rows, list) else [])]:
        if isinstance(where, dict) and field in where:
            where[field] = value
    return json.dumps(doc).encode()


def foreign(answer: bytes) -> bytes:
    """The JSON answer as another server build writes it (see the module's doc); an
    answer that is not JSON, as it came."""
    from .emulator.faults import with_extra_fields
    from .emulator.methods import json_body

    try:
        doc = json.loads(answer)
    except ValueError:
        return answer
    if isinstance(doc, dict) and isinstance(doc.get("result"), dict):
        doc["result"] = {key.replace("XEmulator", "XSite"): value for key, value in
                         with_extra_fields(doc["result"]).items()}
    return json_body(doc, raw=True)


class Proxy:
    def __init__(self, upstream: str):
        self.upstream = upstream.rstrip("/")
        self.rules: dict[str, dict] = {}        # path -> the rule's parameters
        self.hits, self.faults = Counter(), Counter()
        self.http = aiohttp.ClientSession(auto_decompress=False,
                                          timeout=aiohttp.ClientTimeout(total=60))
        self.events_to: str | None = None       # where relayed events go
        self.relay: asyncio.Queue = asyncio.Queue()
        self.held: list[str] = []               # late events waiting for the next one
        self.relayer: asyncio.Task | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            request_line, *lines = head.split("\r\n")[:-2]
            method, target, _version = request_line.split(" ")
            headers = [(k.strip(), v.strip()) for k, v in (line.split(":", 1) for line in lines)]
            length = next((v for k, v in headers if k.lower() == "content-length"), "0")
            body = await reader.readexactly(int(length))
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            writer.close()         # not a request we can read: hang up
            return
        try:
            answer = await self.answer(method, target, request_line, headers, body)
            if answer is not None:
                writer.write(answer)
                await writer.drain()
        except ConnectionError:
            pass                   # the client has gone: nothing to tell it
        finally:
            writer.close()

    async def answer(self, method, target, request_line, headers, body) -> bytes | None:
        """The bytes to send back, or None to close the connection unanswered."""
        url = urlsplit(target)
        if url.path.startswith(ADMIN):
            try:
                result = self.admin(url.path, dict(parse_qsl(url.query, keep_blank_values=True)))
                return response(200, "OK", json.dumps(result).encode())
            except BadAdmin as exc:
                return response(400, "Bad Request", f"{exc}\n".encode(),
                                [("Content-Type", "text/plain")])
        if url.path.startswith(EVENTS):
            return self.relay_event(target[len(EVENTS) - 1:], url.path[len(EVENTS) - 1:])
        self.hits[url.path] += 1
        rule = self.take(url.path)
        kind = rule["Kind"] if rule else None
        if kind == "drop":
            return None
        if kind == "status":
            return response(int(rule["Status"]), "Fault", rule.get("Body", "").encode())
        if kind == "body":
            return response(200, "OK", rule.get("Body", "").encode())
        if kind == "redirect-loop":
            return response(302, "Found", headers=[("Location", target)])
        if kind == "broken-status-line":
            return f"HTTP/1.1 2x0 {request_line}\r\n\r\n".encode("latin-1")
        if kind == "oversize":
            return response(200, "OK", oversize_body())
        sent = {k: v for k, v in headers if k.lower() not in HOP_BY_HOP}
        try:
            async with self.http.request(method, URL(self.upstream + target, encoded=True),
                                         headers=sent, data=body or None,
                                         allow_redirects=False) as resp:
                answer = await resp.read()
        except (aiohttp.ClientError, asyncio.TimeoutError):
            return None            # the upstream did not answer: neither do we
        if kind == "drop-after":
            return None
        if kind == "patch":
            answer = patched(answer, rule["Field"], rule.get("Value", ""))
        if kind == "foreign":
            answer = foreign(answer)
        kept = [(k, v) for k, v in resp.headers.items() if k.lower() not in HOP_BY_HOP]
        return response(resp.status, resp.reason or "", answer, kept)

    def relay_event(self, target: str, path: str) -> bytes:
        """An event the server pushed: answered at once, passed on in order (a `late` one
        after the next)."""
        if self.events_to is None:
            return response(404, "Not Found", b"no events relay: set /_proxy/events/?To=",
                            [("Content-Type", "text/plain")])
        self.hits[path] += 1
        rule = self.rules.get(path)
        if rule is not None and rule["Kind"] == "late":
            self.take(path)
            self.held.append(target)
        else:
            self.relay.put_nowait(target)
            for late in self.held:
                self.relay.put_nowait(late)
            self.held.clear()
        if self.relayer is None:
            self.relayer = asyncio.get_running_loop().create_task(self._relay())
        return response(200, "OK", b"")

    async def _relay(self) -> None:
        while True:
            target = await self.relay.get()
            try:
                async with self.http.get(URL(self.events_to + target, encoded=True)) as resp:
                    await resp.read()
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                print(f"fault proxy: event {target} not delivered: {exc}", flush=True)

    def take(self, path: str) -> dict | None:
        """The rule that answers this request to `path`, one of its Count used up."""
        key = path if path in self.rules or path.startswith("/_") else "*"
        rule = self.rules.get(key)
        if rule is not None:
            self.faults[path] += 1
            if rule["Remaining"] is not None:
                rule["Remaining"] -= 1
                if rule["Remaining"] == 0:
                    del self.rules[key]
        return rule

    def admin(self, path: str, query: dict) -> dict:
        name = path[len(ADMIN):].strip("/")
        if name == "rule":
            return self.set_rule(query)
        if name == "clear":
            self.rules.clear()
            return {"Rules": 0}
        if name == "events":
            to = query.get("To", "").rstrip("/")
            if not to.startswith("http://"):
                raise BadAdmin(f"To must be the daemon's events URL, http://HOST:PORT, "
                               f"not {to!r}")
            self.events_to = to
            return {"Events": to}
        if name == "hits":
            return {"Hits": dict(self.hits), "Faults": dict(self.faults), "Rules": {
                p: {"Kind": r["Kind"], "Remaining": r["Remaining"]} for p, r in self.rules.items()}}
        raise BadAdmin(f"unknown admin path {path} (known: {ADMIN}rule/, clear/, hits/, "
                       "events/)")

    def set_rule(self, q: dict) -> dict:
        path, kind, count, status = (q.get(k, "") for k in ("Path", "Kind", "Count", "Status"))
        if kind not in KINDS:
            raise BadAdmin(f"Kind must be one of {', '.join(KINDS)}, not {kind!r}")
        if path != "*" and (not path.startswith("/") or path.startswith(ADMIN)):
            raise BadAdmin(f"Path must be a method's path such as /user/logon/ (or * for "
                           f"every method), not {path!r}")
        if unknown := set(q) - {"Path", "Kind", "Count"} - KIND_PARAMS.get(kind, set()):
            raise BadAdmin(f"Kind={kind} takes no {', '.join(sorted(unknown))}")
        if "Count" in q and not (count.isdigit() and int(count) >= 1):
            raise BadAdmin(f"Count must be a whole number from 1 (or absent), not {count!r}")
        if kind == "status" and not (status.isdigit() and 200 <= int(status) <= 599):
            raise BadAdmin(f"Kind=status needs Status, a number from 200 to 599, not {status!r}")
        if kind == "patch" and not q.get("Field"):
            raise BadAdmin("Kind=patch needs Field (and Value, empty without it)")
        self.rules[path] = {**q, "Remaining": int(count) if count else None}
        return {"Path": path, "Kind": kind, "Count": self.rules[path]["Remaining"]}


async def serve(upstream: str, port: int, port_file: str | None) -> None:
    proxy = Proxy(upstream)
    try:
        server = await asyncio.start_server(proxy.handle, "127.0.0.1", port)
        port = server.sockets[0].getsockname()[1]
        if port_file:
            write_port_file(port_file, port)
        print(f"fault proxy on http://127.0.0.1:{port} in front of {upstream}", flush=True)
        stop = asyncio.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(signum, stop.set)
        async with server:
            await stop.wait()
    finally:
        if proxy.relayer is not None:
            proxy.relayer.cancel()
        await proxy.http.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m daemon.faultproxy", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--upstream", required=True, help="the server's URL, http://HOST:PORT")
    parser.add_argument("--port", type=int, default=0, help="0 (the default) picks a free one")
    parser.add_argument("--port-file", help="write the port listened on here")
    args = parser.parse_args()
    try:
        asyncio.run(serve(args.upstream, args.port, args.port_file))
    except (OSError, OverflowError) as exc:       # OverflowError: a port over 65535
        sys.exit(f"fault proxy: cannot listen on port {args.port} or write the port file: "
                 f"{getattr(exc, 'strerror', None) or exc}")


if __name__ == "__main__":
    main()
