"""A fault-injecting HTTP proxy for the tests: `python -m daemon.faultproxy --upstream URL`.

It forwards every request to the upstream (the emulator) and hands back its answer as it
came, except on a path with a rule, where it answers as a broken server or network would.
Rules are set on its own admin paths, on the same port (one rule per path):

    /_proxy/rule/?Path=/user/logon/&Kind=redirect-loop[&Count=N]   the next N requests
                  (every one without Count); Kind and its parameters below
    /_proxy/clear/    every rule gone
    /_proxy/hits/     {"Hits": requests seen per path, "Faults": faults served per path,
                       "Rules": the rules still set}

Kinds: `status` (Status=N, optional Body), `body` (200 with Body), `redirect-loop` (302
to the same path and query), `broken-status-line` (`HTTP/1.1 2x0` and the request line
echoed), `oversize` (200 with a JSON body one byte over the daemon's answer cap), `patch`
(the upstream's JSON answer with Field=Value in `result` and in every `result.Data` row),
`drop` (the connection closed with no answer). Only `patch` reaches the upstream; the
others answer in its place.

A raw asyncio server, not aiohttp's: a broken status line and a dropped connection are
what an HTTP framework will not send.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections import Counter
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

import aiohttp
from yarl import URL

from .emulator.server import write_port_file
from .infinity.client import MAX_ANSWER

ADMIN = "/_proxy/"
KINDS = ("status", "body", "redirect-loop", "broken-status-line", "oversize", "patch", "drop")
KIND_PARAMS = {"status": {"Status", "Body"}, "body": {"Body"}, "patch": {"Field", "Value"}}
# Headers about this one connection, not the answer: never passed on either way.
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer",
              "transfer-encoding", "upgrade", "content-length", "host"}


class BadAdmin(Exception):
    """An admin request the proxy cannot take: answered 400 with this one line."""


@dataclass
class Rule:
    kind: str
    remaining: int | None          # None: every request
    params: dict


def response(status: int, reason: str, body: bytes = b"", headers=(),
             content_type: str = "application/json") -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{k}: {v}" for k, v in headers),
             f"Content-Type: {content_type}", f"Content-Length: {len(body)}",
             "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def oversize_body() -> bytes:
    """A log-on-like JSON answer exactly one byte over the daemon's cap."""
    head, tail = b'{"result": {"IDUser": 1, "Pad": "', b'"}}'
    return head + b"x" * (MAX_ANSWER + 1 - len(head) - len(tail)) + tail


def patched(result: dict, field: str, value: str) -> dict:
    """`result` with `field` set to `value` wherever it is, as a lying server sends it."""
    out = {k: (value if k == field else v) for k, v in result.items()}
    if isinstance(out.get("Data"), list):
        out["Data"] = [patched(row, field, value) if isinstance(row, dict) else row
                       for row in out["Data"]]
    return out


class Proxy:
    def __init__(self, upstream: str):
        self.upstream = upstream.rstrip("/")
        self.rules: dict[str, Rule] = {}
        self.hits: Counter = Counter()
        self.faults: Counter = Counter()
        self.http = aiohttp.ClientSession(auto_decompress=False,
                                          timeout=aiohttp.ClientTimeout(total=60))

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await self.read_request(reader)
            answer = await self.answer(*request) if request else None
            if answer is not None:
                writer.write(answer)
                await writer.drain()
        except ConnectionError:
            pass                   # the client has gone: nothing to tell it
        finally:
            writer.close()

    @staticmethod
    async def read_request(reader: asyncio.StreamReader) -> tuple | None:
        """(method, target, request line, headers, body), or None for what is no request."""
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            request_line, *header_lines = head.split("\r\n")[:-2]
            method, target, _version = request_line.split(" ")
            headers = [(name.strip(), value.strip()) for name, value in
                       (line.split(":", 1) for line in header_lines)]
            length = next((v for k, v in headers if k.lower() == "content-length"), "0")
            return method, target, request_line, headers, await reader.readexactly(int(length))
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            return None

    async def answer(self, method, target, request_line, headers, body) -> bytes | None:
        """The bytes to send back, or None to close the connection unanswered."""
        url = urlsplit(target)
        if url.path.startswith(ADMIN):
            query = dict(parse_qsl(url.query, keep_blank_values=True))
            try:
                return response(200, "OK", json.dumps(self.admin(url.path, query)).encode())
            except BadAdmin as exc:
                return response(400, "Bad Request", f"{exc}\n".encode(), content_type="text/plain")
        self.hits[url.path] += 1
        rule = self.take(url.path)
        kind, params = (rule.kind, rule.params) if rule else ("", {})
        if kind == "drop":
            return None
        if kind == "status":
            return response(int(params["Status"]), "Fault", params.get("Body", "").encode())
        if kind == "body":
            return response(200, "OK", params.get("Body", "").encode())
        if kind == "redirect-loop":
            return response(302, "Found", headers=[("Location", target)])
        if kind == "broken-status-line":
            return f"HTTP/1.1 2x0 {request_line}\r\n\r\n".encode("latin-1")
        if kind == "oversize":
            return response(200, "OK", oversize_body())
        forwarded = await self.forward(method, target, headers, body)
        if forwarded is None:
            return None            # the upstream did not answer: neither do we
        status, reason, answer_headers, answer = forwarded
        if kind == "patch":
            answer = self.patch(answer, params["Field"], params.get("Value", ""))
        content_type = next((v for k, v in answer_headers if k.lower() == "content-type"),
                            "application/octet-stream")
        return response(status, reason, answer, content_type=content_type, headers=[
            (k, v) for k, v in answer_headers if k.lower() != "content-type"])

    async def forward(self, method, target, headers, body):
        sent = {k: v for k, v in headers if k.lower() not in HOP_BY_HOP}
        try:
            async with self.http.request(method, URL(self.upstream + target, encoded=True),
                                         headers=sent, data=body or None,
                                         allow_redirects=False) as resp:
                kept = [(k, v) for k, v in resp.headers.items() if k.lower() not in HOP_BY_HOP]
                return resp.status, resp.reason or "", kept, await resp.read()
        except (aiohttp.ClientError, asyncio.TimeoutError):
            return None

    @staticmethod
    def patch(answer: bytes, field: str, value: str) -> bytes:
        try:
            doc = json.loads(answer)
        except ValueError:
            return answer          # not JSON (a raw answer, an error page): as it came
        if isinstance(doc, dict) and isinstance(doc.get("result"), dict):
            doc["result"] = patched(doc["result"], field, value)
        return json.dumps(doc).encode()

    def take(self, path: str) -> Rule | None:
        rule = self.rules.get(path)
        if rule is not None:
            self.faults[path] += 1
            if rule.remaining is not None:
                rule.remaining -= 1
                if rule.remaining == 0:
                    del self.rules[path]
        return rule

    # -- admin
    def admin(self, path: str, query: dict) -> dict:
        name = path[len(ADMIN):].strip("/")
        if name == "rule":
            return self.set_rule(query)
        if name == "clear":
            self.rules.clear()
            return {"Rules": 0}
        if name == "hits":
            return {"Hits": dict(self.hits), "Faults": dict(self.faults),
                    "Rules": {p: {"Kind": r.kind, "Remaining": r.remaining}
                              for p, r in self.rules.items()}}
        raise BadAdmin(f"unknown admin path {path} (known: {ADMIN}rule/, clear/, hits/)")

    def set_rule(self, q: dict) -> dict:
        path, kind, count = q.get("Path", ""), q.get("Kind", ""), q.get("Count")
        if kind not in KINDS:
            raise BadAdmin(f"Kind must be one of {', '.join(KINDS)}, not {kind!r}")
        if not path.startswith("/") or path.startswith(ADMIN):
            raise BadAdmin(f"Path must be a path such as /user/logon/, not under {ADMIN}: "
                           f"{path!r}")
        unknown = set(q) - {"Path", "Kind", "Count"} - KIND_PARAMS.get(kind, set())
        if unknown:
            raise BadAdmin(f"Kind={kind} takes no {', '.join(sorted(unknown))}")
        if count is not None and not (count.isdigit() and int(count) >= 1):
            raise BadAdmin(f"Count must be a whole number from 1 (or absent: every request), "
                           f"not {count!r}")
        status = q.get("Status", "")
        if kind == "status" and not (status.isdigit() and 200 <= int(status) <= 599):
            raise BadAdmin(f"Kind=status needs Status, a number from 200 to 599, not {status!r}")
        if kind == "patch" and not q.get("Field"):
            raise BadAdmin("Kind=patch needs Field (and Value, empty without it)")
        self.rules[path] = Rule(kind, int(count) if count else None, q)
        return {"Path": path, "Kind": kind, "Count": int(count) if count else None}


async def serve(upstream: str, host: str, port: int, port_file: str | None) -> None:
    proxy = Proxy(upstream)
    try:
        server = await asyncio.start_server(proxy.handle, host, port)
        port = server.sockets[0].getsockname()[1]
        if port_file:
            write_port_file(port_file, port)
        print(f"fault proxy listening on http://{host}:{port}, forwarding to {upstream}",
              flush=True)
        stop = asyncio.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(signum, stop.set)
        async with server:
            await stop.wait()
    finally:
        await proxy.http.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m daemon.faultproxy", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--upstream", required=True, help="the server's URL, http://HOST:PORT")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 (the default) picks a free one")
    parser.add_argument("--port-file", help="write the port listened on here")
    args = parser.parse_args()
    try:
        asyncio.run(serve(args.upstream, args.host, args.port, args.port_file))
    except OSError as exc:
        sys.exit(f"fault proxy: cannot listen on {args.host}:{args.port} or write its port "
                 f"file: {exc.strerror or exc}")


if __name__ == "__main__":
    main()
