"""Breaking things on purpose: faults in the next answers, and network windows."""

from __future__ import annotations

from dataclasses import dataclass

from .clock import Clock

FAULT_KINDS = ("http500", "malformed", "truncated", "slow", "unknown-state", "extra-fields")
DEFAULT_SLOW_DELAY = 3.0          # real seconds
MALFORMED_BODY = b'{"result": {"IDUserState": 300,,}'
HTTP500_BODY = (
    "<html><head><title>500 Internal Server Error</title></head>"
    "<body><h1>Internal Server Error</h1><p>The server encountered an internal error.</p></body></html>"
)


@dataclass
class Fault:
    kind: str
    remaining: int
    path: str | None
    delay: float

    def applies_to(self, path: str) -> bool:
        return self.remaining > 0 and (self.path is None or self.path == path)


class Faults:
    """The faults still waiting for a request, first added first taken."""

    def __init__(self):
        self.waiting: list[Fault] = []

    def add(self, fault: Fault) -> None:
        self.waiting.append(fault)

    def clear(self) -> None:
        self.waiting.clear()

    def take(self, path: str) -> Fault | None:
        """The fault the answer to `path` gets, if any; each takes one of its Count."""
        for fault in self.waiting:
            if fault.applies_to(path):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self.waiting.remove(fault)
                return fault
        return None


def with_extra_fields(result: dict) -> dict:
    """The answer with unknown fields added, in `result` and in every `Data` row."""
    extra = dict(result)
    if isinstance(extra.get("Data"), list):
        extra["Data"] = [
            {**row, "XEmulatorColumn": "extra"} if isinstance(row, dict) else row for row in extra["Data"]
        ]
    extra["XEmulatorNote"] = "unknown field"
    extra["XEmulatorNumber"] = 12345
    extra["XEmulatorObject"] = {"Nested": [1, "two", None]}
    return extra


class Network:
    """A network window: while it lasts, methods go unanswered and events are lost."""

    def __init__(self, clock: Clock):
        self.clock = clock
        self.down_until: float | None = None

    def down(self) -> bool:
        return self.down_until is not None and self.clock.now() < self.down_until

    def drop(self, seconds: float) -> None:
        """Down for `seconds` emulated seconds from now (math.inf: until brought back);
        0 brings it back."""
        self.down_until = self.clock.now() + seconds if seconds > 0 else None
