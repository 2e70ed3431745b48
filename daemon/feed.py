"""The changes the daemon publishes for `cc watch` and scripts (the ZeroMQ guide's Clone):
each numbered, the last HISTORY kept so a subscriber that fell behind can catch up."""

from __future__ import annotations

import collections
import json
import os
import time

import zmq

from .wire import EVENTS

HISTORY = 2000       # published events kept for `cc watch --since`


class Feed:
    def __init__(self, history: int = HISTORY):
        self.seq = 0
        self.history: collections.deque = collections.deque(maxlen=history)
        self.socket = None           # the PUB socket, once bound

    def publish(self, kind: str, payload) -> None:
        if kind not in EVENTS:
            raise ValueError(f"undeclared event kind {kind!r}: add it to wire.EVENTS")
        self.seq += 1
        msg = {"seq": self.seq, "kind": kind, "at": time.time(), "daemon": os.getpid(),
               "data": payload}
        self.history.append(msg)
        if self.socket is None:
            return
        try:
            self.socket.send(json.dumps(msg, ensure_ascii=False).encode(), zmq.NOBLOCK)
        except zmq.ZMQError:
            pass   # a slow subscriber: the event is dropped for it, `--since` fills in

    def since(self, seq: int) -> dict:
        """Events after `seq` still kept, or `complete: false` when some are gone (a gap)."""
        kept = [m for m in self.history if m["seq"] > seq]
        oldest = self.history[0]["seq"] if self.history else self.seq + 1
        return {"seq": self.seq, "complete": oldest - 1 <= seq <= self.seq, "events": kept}
