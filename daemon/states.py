"""The one table of Infinity's numeric codes and their names (docs/infinity.md "Enumerations")."""

from __future__ import annotations

from enum import IntEnum


class LineState(IntEnum):
    UNKNOWN = 0
    RINGING = 1
    REMINDER = 2
    DIALTONE = 11
    DIAL_NUMBER = 12
    ALERTING = 13
    CONNECTED = 21
    CONFERENCE = 31
    IN_CONFERENCE = 32
    HOLD = 41
    ON_HOLD = 42
    TRANSFER = 51
    DISCONNECTED = 99
    FINISHED = 100


LINE_NAMES = {
    LineState.UNKNOWN: "Unknown", LineState.RINGING: "Ringing", LineState.REMINDER: "Ringing back",
    LineState.DIALTONE: "Dial tone", LineState.DIAL_NUMBER: "Dialling",
    LineState.ALERTING: "Alerting", LineState.CONNECTED: "Connected",
    LineState.CONFERENCE: "Conference", LineState.IN_CONFERENCE: "In conference",
    LineState.HOLD: "On hold", LineState.ON_HOLD: "Held by the other side",
    LineState.TRANSFER: "Transferring", LineState.DISCONNECTED: "Disconnected",
    LineState.FINISHED: "Finished",
}
ENDED = {LineState.DISCONNECTED, LineState.FINISHED}
HELD = {LineState.HOLD, LineState.ON_HOLD}
RINGING = frozenset({LineState.RINGING, LineState.REMINDER})   # the agent's phone rings
TALKING = {LineState.CONNECTED, LineState.CONFERENCE, LineState.IN_CONFERENCE}
# Where a call is before anyone answers; once answered it never goes back to them (a
# held call's reminder ring is REMINDER, not RINGING).
BEFORE_ANSWER = frozenset({LineState.RINGING, LineState.DIALTONE, LineState.DIAL_NUMBER,
                           LineState.ALERTING})


def line_name(code: int) -> str:
    try:
        return LINE_NAMES[LineState(code)]
    except ValueError:
        return f"state {code}"


DIRECTIONS = {1: "in", 2: "out"}

# Agent states (F17): IDUserState -> (short name used by `cc state`, display name).
# These are docs/infinity.md's defaults; sites change them with the states.*_id settings.
AGENT_STATES = {
    300: ("available", "Available"),
    301: ("break", "Break"),
    302: ("away", "Away"),
    303: ("no-phone", "No phone"),
    304: ("busy", "Busy"),
    305: ("reserved", "Reserved"),
    399: ("offline", "Not authorised"),
}
# States an agent may choose; the rest are set by the server.
SETTABLE = ("available", "break", "away")


def setting_key(short: str) -> str:
    return f"states.{short.replace('-', '_')}_id"


class StateMap:
    """IDUserState <-> name, from the settings; a break reason may have an ID of its own."""

    def __init__(self, settings: dict):
        self.ids = {short: int(settings.get(setting_key(short), code))
                    for code, (short, _) in AGENT_STATES.items()}
        titles = {short: title for short, title in AGENT_STATES.values()}
        self.names = {code: (short, titles[short]) for short, code in self.ids.items()}
        self.reasons: dict[str, int] = {}
        for item in str(settings.get("states.break_reasons", "")).split(","):
            name, _, code = item.strip().partition("=")
            if name:
                self.reasons[name] = int(code) if code.strip().isdigit() else self.ids["break"]
        for reason, code in self.reasons.items():
            self.names.setdefault(code, ("break", f"Break ({reason})"))

    def id(self, short: str) -> int:
        return self.ids[short]

    def view(self, code: int | None) -> dict:
        if code is None:
            return {"id": None, "name": "unknown", "title": "Unknown"}
        short, title = self.names.get(code, (f"state-{code}", f"state {code}"))
        return {"id": code, "name": short, "title": title}
