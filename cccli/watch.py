"""`cc watch`: a snapshot, then every change, one line each (the ZeroMQ guide's Clone).

Subscribe first, then take the snapshot with its sequence number, then print updates
newer than it. A hole in the sequence is filled from the daemon's history; a hole the
daemon can no longer fill is reported as such and followed by a fresh snapshot.
"""

from __future__ import annotations

import json as jsonlib
import sys
from typing import Annotated, Optional

import typer

from daemon import profile, wire

from . import client, render
from .options import Json


def _line(msg: dict, as_json: bool) -> str:
    if as_json:
        from daemon.wire import for_json

        return jsonlib.dumps(for_json(msg), ensure_ascii=False)
    kind, data, seq = msg["kind"], msg.get("data") or {}, msg["seq"]
    if kind == "snapshot":
        lines = [f"[{seq}] {render.agent_line(data)}, {data['session']}"]
        lines += [f"[{seq}] {render.call_line(c)}" for c in data["calls"]] or \
            [f"[{seq}] line idle"]
        return "\n".join(lines)
    if kind == "gap":  # events lost, or a new daemon
        return f"[{seq}] gap: {data['message']}"
    if kind == "call":
        return f"[{seq}] {render.call_line(data)}"
    if kind == "agent_state":
        return f"[{seq}] agent state: {data['title']}"
    if kind == "session":
        return f"[{seq}] session: {data['session']}" + (
            f" ({data['last_error']})" if data.get("last_error") else "")
    if kind == "reminder":
        who = data.get("contact") or data.get("number")
        return f"[{seq}] reminder {data.get('id')}: call {data.get('log_id')} " \
            f"{data.get('counter_number')} {who}" + (f" -- {data['text']}" if data.get("text")
                                                    else "")
    return f"[{seq}] {kind}: {jsonlib.dumps(data, ensure_ascii=False)}"


class Watcher:
    """Prints changes in order, each once, from the daemon's feed (the Clone pattern)."""

    def __init__(self, count: int | None, as_json: bool, daemon_pid: int):
        self.count, self.as_json = count, as_json
        self.daemon_pid = daemon_pid
        self.printed = 0

    def out(self, msg: dict, counts: bool = True) -> bool:
        """Print one message; True once --count changes have been printed."""
        print(_line(msg, self.as_json), flush=True)
        self.printed += counts
        return self.count is not None and self.printed >= self.count

    def gap(self, seq: int, since: int, message: str) -> None:
        self.out({"seq": seq, "kind": "gap", "data": {"message": message, "since": since}},
                 counts=False)

    def snapshot(self) -> int:
        status = client.request("status")
        self.daemon_pid = status["pid"]
        self.out({"seq": status["seq"], "kind": "snapshot", "data": status}, counts=False)
        return status["seq"]

    def catch_up(self, after: int) -> tuple[int, bool]:
        """Print what the daemon kept after `after`; on a gap, a fresh snapshot."""
        kept = client.request("events_since", seq=after)
        if not kept["complete"]:
            self.gap(kept["seq"], after, f"events after {after} are no longer kept; a fresh "
                                         "snapshot follows")
            return self.snapshot(), False
        for msg in kept["events"]:
            if self.out(msg):
                return msg["seq"], True
        return (kept["events"][-1]["seq"] if kept["events"] else after), False

    def follow(self, sub, last: int) -> None:
        done = False
        while not done:
            if not sub.poll(1000):
                continue
            msg = jsonlib.loads(sub.recv())
            if msg.get("daemon") != self.daemon_pid:     # a new daemon counts from 1 again
                self.gap(msg["seq"], last, f"the daemon restarted (pid {msg.get('daemon')}); "
                                           "a fresh snapshot follows")
                last = self.snapshot()
            elif msg["seq"] > last + 1:
                last, done = self.catch_up(last)
            elif msg["seq"] == last + 1:
                last, done = msg["seq"], self.out(msg)


def watch(since: Annotated[Optional[int], typer.Option(
              "--since", help="Resume after this sequence number, without a gap.")] = None,
          count: Annotated[Optional[int], typer.Option(
              "--count", min=1, help="Stop after this many changes.")] = None,
          json: Json = False) -> None:
    """Print the current state, then every change as it happens (Ctrl-C stops)."""
    import zmq

    paths = profile.paths()
    # Fails clearly when no daemon runs; its pid tells a later restart from this daemon.
    watcher = Watcher(count, json, client.request("ping", timeout=3)["pid"])
    sub = zmq.Context.instance().socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect(f"ipc://{paths.socket(wire.EVENTS_SOCKET)}")
    try:
        if since is None:
            last, done = watcher.snapshot(), False
        else:
            last, done = watcher.catch_up(since)
        if not done:
            watcher.follow(sub, last)
    finally:        # Ctrl-C goes on to `cc`'s exit 130, as every interrupted command's

        sub.close()
        sys.stdout.flush()
