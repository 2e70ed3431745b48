"""The one table of Infinity's numeric codes and their names (PROTOCOL.md "Enumerations")."""

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
    LineState.UNKNOWN: "Unknown", LineState.RINGING: "Ringing", LineState.REMINDER: "Reminder",
    LineState.DIALTONE: "Dial tone", LineState.DIAL_NUMBER: "Dialling",
    LineState.ALERTING: "Alerting", LineState.CONNECTED: "Connected",
    LineState.CONFERENCE: "Conference", LineState.IN_CONFERENCE: "In conference",
    LineState.HOLD: "On hold", LineState.ON_HOLD: "Held by the other side",
    LineState.TRANSFER: "Transferring", LineState.DISCONNECTED: "Disconnected",
    LineState.FINISHED: "Finished",
}
ENDED = {LineState.DISCONNECTED, LineState.FINISHED}
HELD = {LineState.HOLD, LineState.ON_HOLD}
TALKING = {LineState.CONNECTED, LineState.CONFERENCE, LineState.IN_CONFERENCE}


def line_name(code: int) -> str:
    try:
        return LINE_NAMES[LineState(code)]
    except ValueError:
        return f"state {code}"


DIRECTIONS = {1: "in", 2: "out"}

# Agent states (F17): IDUserState -> (short name used by `cc state`, display name).
# Sites add their own IDs; the mapping is meant to become a setting.
AGENT_STATES = {
    300: ("available", "Available"),
    301: ("break", "Break"),
    302: ("away", "Away"),
    303: ("no-phone", "No phone"),
    304: ("busy", "Busy"),
    305: ("reserved", "Reserved"),
    399: ("offline", "Not authorised"),
}
AGENT_IDS = {short: code for code, (short, _) in AGENT_STATES.items()}
# States an agent may choose; the rest are set by the server.
SETTABLE = ("available", "break", "away")
OFFLINE = 399
AVAILABLE = 300


def agent_state(code: int | None) -> dict:
    if code is None:
        return {"id": None, "name": "unknown", "title": "Unknown"}
    short, title = AGENT_STATES.get(code, (f"state-{code}", f"state {code}"))
    return {"id": code, "name": short, "title": title}
