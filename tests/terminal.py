"""A person's terminal for end-to-end tests: `cc` runs on a real pseudo-terminal (its
controlling terminal, so /dev/tty is it), and what it draws lands on a screen that a
terminal emulator (pyte) keeps, so a test reads the screen a person would see."""

from __future__ import annotations

import fcntl
import os
import re
import pty
import select
import struct
import subprocess
import termios
import time
from pathlib import Path

import pyte

from daemon.testing import TimedOut, wait_until


def _blanks(text: str) -> str:
    return re.sub(r" +", " ", text)


def _own_terminal() -> None:
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    def __init__(self, argv: list[str], env: dict, typed_ahead: bytes = b"",
                 rows: int = 24, columns: int = 100):
        self.leader, self.follower = pty.openpty()
        fcntl.ioctl(self.follower, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        # Keys typed before the program even starts wait in the terminal, as a fast
        # typist's do.
        self.type(typed_ahead)
        self.screen = pyte.Screen(columns, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.proc = subprocess.Popen(argv, env=env, stdin=self.follower, stdout=self.follower,
                                     stderr=self.follower, preexec_fn=_own_terminal)

    def type(self, keys: bytes) -> None:
        if keys:
            os.write(self.leader, keys)

    def unread(self) -> int:
        """Bytes typed that the program has not read yet."""
        return struct.unpack("i", fcntl.ioctl(self.follower, termios.FIONREAD, b"\0" * 4))[0]

    def bytes_read(self) -> int:
        """Bytes the program has read so far, from anywhere (Linux's /proc/PID/io)."""
        for line in Path(f"/proc/{self.proc.pid}/io").read_text().splitlines():
            if line.startswith("rchar:"):
                return int(line.split()[1])
        raise RuntimeError("no rchar in /proc/PID/io")

    def type_in_halves(self, keys: bytes, cut: int) -> float:
        """Type `keys` in two writes, the second only once the program has read the first
        (an idle list reads nothing else); the seconds between the two writes."""
        before = self.bytes_read()
        sent = time.monotonic()
        self.type(keys[:cut])
        # Typed bytes reach the terminal's queue a moment after the write: unread() alone
        # may be 0 before they arrive, so the program's count of bytes read must grow too.
        wait_until(lambda: self.bytes_read() >= before + cut and self.unread() == 0, 10,
                   "the program to read the first half", 0.001)
        self.type(keys[cut:])
        return time.monotonic() - sent

    def text(self) -> str:
        """The screen now, one line per row, trailing blanks cut."""
        while select.select([self.leader], [], [], 0)[0]:
            try:
                data = os.read(self.leader, 65536)
            except OSError:
                break
            if not data:
                break
            self.stream.feed(data)
        return "\n".join(line.rstrip() for line in self.screen.display).rstrip("\n")

    def line_with(self, text: str) -> str:
        return next((line for line in self.text().splitlines() if text in line), "")

    def until(self, check, what: str, timeout: float = 10) -> str:
        """Wait until `check(screen)` holds (a screen may be caught half drawn, so a test
        waits for all it expects at once); the screen."""
        def screen():
            text = self.text()
            return text if check(text) else None
        try:
            return wait_until(screen, timeout, what)
        except TimedOut as exc:
            raise AssertionError(f"{exc}; the screen:\n{self.text()}") from None

    def shows(self, *texts: str, gone: tuple[str, ...] = (), timeout: float = 10) -> str:
        """Wait until the screen shows every one of `texts` and none of `gone`, each run of
        blanks taken as one (columns are as wide as their widest cell)."""
        def has(screen: str, text: str) -> bool:
            return _blanks(text) in "\n".join(_blanks(line) for line in screen.splitlines())

        return self.until(lambda screen: all(has(screen, t) for t in texts)
                          and not any(has(screen, t) for t in gone),
                          f"the screen to show {texts!r}" + (f" without {gone!r}" if gone
                                                              else ""), timeout)

    def finish(self, timeout: float = 15) -> int:
        code = self.proc.wait(timeout)
        self.text()
        return code

    def close(self) -> None:
        """End the program if it still runs and close the terminal (again: no harm)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        for fd in (self.leader, self.follower):
            try:
                os.close(fd)
            except OSError:
                pass
        self.leader = self.follower = -1
