"""One request and its reply to the daemon's ROUTER socket on this machine, spoken in
ZeroMQ's own protocol (ZMTP 3.0, the NULL mechanism, as a REQ socket) over the Unix
socket, with the standard library only.

Importing pyzmq costs a `cc` command about as much as all of `cc`'s own modules together
(its constants, Cython backend, and a context whose I/O thread starts for one message),
while a REQ exchange is a greeting, a READY command and two frames each way. The daemon
stays pyzmq; a remote daemon (CURVE over TCP) is still reached through pyzmq.
"""

from __future__ import annotations

import socket
import struct
import time

SIGNATURE = b"\xff" + b"\x00" * 8 + b"\x7f"
GREETING = SIGNATURE + bytes([3, 0]) + b"NULL".ljust(20, b"\x00") + b"\x00" + b"\x00" * 31
MORE, LONG, COMMAND = 0x01, 0x02, 0x04
RETRY = 0.02        # seconds between tries to connect while the daemon is binding
MAX_FRAME = 1 << 30     # a reply frame this long is no daemon's: the peer is refused


class NoAnswer(Exception):
    """No reply within the deadline."""


class Closed(Exception):
    """The daemon closed the connection before its reply came."""


def frame(body: bytes, flags: int = 0) -> bytes:
    if len(body) > 255:
        return struct.pack(">BQ", flags | LONG, len(body)) + body
    return struct.pack(">BB", flags, len(body)) + body


def ready(socket_type: bytes = b"REQ") -> bytes:
    """The READY command of a REQ socket: its one property, Socket-Type."""
    body = b"\x05READY" + b"\x0bSocket-Type" + struct.pack(">I", len(socket_type)) + socket_type
    return frame(body, COMMAND)


class _Reader:
    def __init__(self, sock: socket.socket, deadline: float):
        self.sock, self.deadline, self.buffer = sock, deadline, bytearray()

    def exactly(self, size: int) -> bytes:
        while len(self.buffer) < size:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise NoAnswer()
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(max(65536, size - len(self.buffer)))
            except socket.timeout:
                raise NoAnswer() from None
            except ConnectionError:
                raise Closed() from None
            if not chunk:
                raise Closed()
            self.buffer += chunk          # in place: a long reply is not copied over again
        taken = bytes(self.buffer[:size])
        del self.buffer[:size]
        return taken

    def frame(self) -> tuple[int, bytes]:
        flags = self.exactly(1)[0]
        size = (struct.unpack(">Q", self.exactly(8))[0] if flags & LONG
                else self.exactly(1)[0])
        if size > MAX_FRAME:
            raise Closed()
        return flags, self.exactly(size)


def connect(path: str, deadline: float) -> socket.socket:
    """A connection to the Unix socket `path`, tried again until `deadline` while nobody
    listens yet (a daemon starting), as a ZeroMQ socket reconnects."""
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(max(deadline - time.monotonic(), 0.001))
            sock.connect(path)
            return sock
        except (ConnectionRefusedError, FileNotFoundError):
            sock.close()
            if time.monotonic() + RETRY >= deadline:
                raise NoAnswer() from None
            time.sleep(RETRY)
        except socket.timeout:
            sock.close()
            raise NoAnswer() from None
        except BaseException:
            sock.close()
            raise


def exchange(path: str, body: bytes, timeout: float) -> bytes:
    """Send `body` as one message to the ROUTER at the Unix socket `path` and return the
    reply's body; NoAnswer after `timeout` seconds, Closed when the connection ends first."""
    deadline = time.monotonic() + timeout
    sock = connect(path, deadline)
    try:
        # The greeting first, alone: libzmq drops a peer whose READY comes before it has
        # read the whole greeting and answered with its own.
        sock.sendall(GREETING)
        reader = _Reader(sock, deadline)
        greeting = reader.exactly(64)
        if greeting[:1] != b"\xff" or greeting[9:10] != b"\x7f" or greeting[10] < 3:
            raise Closed()
        sock.sendall(ready() + frame(b"", MORE) + frame(body))
        parts: list[bytes] = []
        while True:
            flags, data = reader.frame()
            if flags & COMMAND:     # READY, or a heartbeat: nothing this exchange needs
                if data[:1] == b"\x05" and data[1:6] == b"ERROR":
                    raise Closed()
                continue
            parts.append(data)
            if not flags & MORE:
                break
        # A REQ socket's reply: the empty delimiter, then the message.
        return b"".join(parts[1:]) if parts and parts[0] == b"" else b"".join(parts)
    except OSError as exc:
        if isinstance(exc, (ConnectionError, BrokenPipeError)):
            raise Closed() from None
        raise
    finally:
        sock.close()
