"""The contract between `cc` and its daemon: socket names, messages, errors, exit codes.

The CLI imports this module and `daemon.profile` only, so keep both free of heavy imports.

A request is one JSON object `{"cmd": NAME, "args": {...}}` sent on the daemon's
request socket (ZeroMQ REQ -> ROUTER). The reply is `{"ok": true, "result": ...}` or
`{"ok": false, "error": {"code": CODE, "message": ONE_LINE}}`.
Events are published on the events socket as JSON `{"seq": N, "kind": ..., ...}`.
"""

from __future__ import annotations

import json
from enum import IntEnum, StrEnum

REQUEST_SOCKET = "cli.sock"
EVENTS_SOCKET = "events.sock"
MAX_REQUEST_BYTES = 1024 * 1024     # a longer message is dropped and its sender disconnected

# Columns of the call log, in order: stable names for CSV and JSON exports.
LOG_COLUMNS = (
    "id", "call_id", "direction", "number", "agent", "extension", "started_at",
    "connected_at", "ended_at", "wait_seconds", "talk_seconds", "hold_seconds",
    "outcome", "line_state", "durations_from", "end_reason", "transfer_from", "transfer_to",
    "transfer_number", "processing_started_at", "processing_ended_at", "processing_seconds",
    "dial_mode", "group_number", "contact", "account", "contact_candidates", "counter_number",
    "call_type", "subject", "result", "notes", "link_task", "link_sale", "link_project",
    "link_project_path", "link_incident", "link_campaign", "link_survey", "description",
)
DESCRIPTION_BYTES = 64 * 1024      # a call's description, in UTF-8 bytes (the log holds no more)

# How a call ended (the log's `outcome`), as `cc log --outcome` takes it.
OUTCOMES = ("answered", "missed", "rejected", "busy", "cancelled", "not-answered",
            "answered-elsewhere", "failed", "active")
# "Missed" in the user guide: an incoming call nobody here accepted, rejected ones too.
# A group call a colleague took (answered-elsewhere) was accepted.
NOT_ACCEPTED = ("missed", "rejected", "busy", "failed")
# A saved filter's or a static group's name: a word (letters, digits, _), then - and . too.
NAME_PATTERN = r"\w[\w.-]{0,63}"


# The kinds of a contact's or an account's number; only the first four are telephones,
# which alone are matched against calls and offered for dialling (F18).
PHONE_KINDS = ("mobile", "work", "home", "other")
NUMBER_KINDS = (*PHONE_KINDS, "fax", "pager")

# What the daemon publishes on the events socket: kind -> (when, the fields of `data`).
# Every message is {"seq": N, "kind": KIND, "at": UNIX_TIME, "daemon": PID, "data": ...}.
CALL_FIELDS = (
    "call_id", "direction", "number", "state", "state_name", "started_at", "connected_at",
    "ended_at", "outcome", "log_id", "wait_seconds", "talk_seconds", "hold_seconds",
    "end_reason", "transfer_from", "transfer_to", "transfer_number", "processing_started_at",
    "processing_ended_at", "processing_seconds", "dial_mode", "group_number", "contact",
    "account", "contact_candidates",
)
AGENT_STATE_FIELDS = ("id", "name", "title")
REMINDER_FIELDS = (
    "id", "log_id", "call_id", "counter_number", "number", "contact", "subject", "result",
    "due_at", "text", "created_at", "fired_at", "fired",
)
SESSION_FIELDS = (
    "session", "login", "id_user", "extension", "agent_state", "server", "events_url",
    "last_error", "logon_error?", "state_reason?", "state_until?", "pending_state?", "wrapup?",
    "next_try_in?",
)
EVENTS = {
    "call": ("A call appeared or changed: state, times, durations, card", CALL_FIELDS),
    "session": ("The session changed: log-on, log-off, reconnecting, disconnected, wrap-up, "
                "a state asked for after the call", SESSION_FIELDS),
    "agent_state": ("The agent's state changed (agent_state of the session)",
                    AGENT_STATE_FIELDS),
    "transfer": ("A consult transfer ended by itself: the target did not answer and the "
                 "caller was taken back", ("call_id", "returned")),
    "reminder": ("A reminder on a call (`cc remind`) fell due", REMINDER_FIELDS),
}


class Exit(IntEnum):
    """Exit codes of `cc`: one per kind of failure, so scripts can branch on them."""

    OK = 0
    FAILED = 1
    USAGE = 2
    DAEMON_NOT_RUNNING = 3
    NOT_LOGGED_IN = 4
    NO_SUCH_CALL = 5
    STATE_FORBIDS = 6
    SERVER = 7
    CONFIG = 8
    BAD_INPUT = 9
    AUTH = 10
    BUSY = 11
    NO_ANSWER = 12
    CALL_FAILED = 13


EXIT_MEANINGS = {
    Exit.OK: "success",
    Exit.FAILED: "the command failed for another reason (the message says why)",
    Exit.USAGE: "wrong usage: unknown command or option",
    Exit.DAEMON_NOT_RUNNING: "the daemon is not running (start it with `cc daemon start`)",
    Exit.NOT_LOGGED_IN: "not logged in to the Infinity server (`cc login`)",
    Exit.NO_SUCH_CALL: "no such call",
    Exit.STATE_FORBIDS: "the line or agent state forbids the command (the message names the state)",
    Exit.SERVER: "the Infinity server refused, failed or could not be reached",
    Exit.CONFIG: "configuration problem (settings file, password source, permissions)",
    Exit.BAD_INPUT: "bad input: a number, value or option the command cannot use",
    Exit.AUTH: "log-on refused: wrong login or password, or no licence",
    Exit.BUSY: "`cc dial --wait`: the number was busy",
    Exit.NO_ANSWER: "`cc dial --wait`: nobody answered (or --timeout passed; the call was hung up)",
    Exit.CALL_FAILED: "`cc dial --wait`: the call failed or was rejected",
}

class ErrorCode(StrEnum):
    """The kind of a failure, as it travels in a reply; each maps onto one exit code."""

    FAILED = "failed"
    NOT_RUNNING = "not_running"
    NOT_LOGGED_IN = "not_logged_in"
    NO_SUCH_CALL = "no_such_call"
    STATE_FORBIDS = "state_forbids"
    SERVER = "server"
    CONFIG = "config"
    BAD_INPUT = "bad_input"
    AUTH = "auth"
    UNKNOWN_COMMAND = "unknown_command"

    @property
    def exit(self) -> Exit:
        return ERROR_EXIT[self]


ERROR_EXIT = {
    ErrorCode.FAILED: Exit.FAILED,
    ErrorCode.NOT_RUNNING: Exit.DAEMON_NOT_RUNNING,
    ErrorCode.NOT_LOGGED_IN: Exit.NOT_LOGGED_IN,
    ErrorCode.NO_SUCH_CALL: Exit.NO_SUCH_CALL,
    ErrorCode.STATE_FORBIDS: Exit.STATE_FORBIDS,
    ErrorCode.SERVER: Exit.SERVER,
    ErrorCode.CONFIG: Exit.CONFIG,
    ErrorCode.BAD_INPUT: Exit.BAD_INPUT,
    ErrorCode.AUTH: Exit.AUTH,
    ErrorCode.UNKNOWN_COMMAND: Exit.USAGE,
}


class SessionStatus(StrEnum):
    """The daemon's session with the Infinity server."""

    LOGGED_OUT = "logged out"
    LOGGING_IN = "logging in"
    LOGGED_IN = "logged in"
    RECONNECTING = "reconnecting"
    DISCONNECTED = "disconnected"       # lost, and session.reconnect is off: `cc login`


class Direction(StrEnum):
    """Which way a call goes; UNKNOWN until the server says."""

    IN = "in"
    OUT = "out"
    UNKNOWN = ""


class WireError(Exception):
    """A failure that travels to the CLI as one line and an error code."""

    def __init__(self, code: ErrorCode | str, message: str):
        super().__init__(message)
        self.code = ErrorCode(code)     # a misspelt code fails here, where it is written
        self.message = message

    @property
    def exit_code(self) -> int:
        return int(self.code.exit)


def for_json(value):
    """A value as `--json` and the JSON exports show it: no value is `null`, never `""`,
    and `contact_candidates` (kept in the log as JSON text) a list of names. Text, CSV and
    templates show the same values as before; only JSON is shaped here."""
    if isinstance(value, dict):
        return {key: _candidates(item) if key == "contact_candidates" else for_json(item)
                for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [for_json(item) for item in value]
    return None if value == "" else value


def _candidates(value):
    if isinstance(value, str) and value:
        try:
            names = json.loads(value)
        except ValueError:
            return [value]          # one name written by hand: still a list of names
        return names if isinstance(names, list) else [value]
    return for_json(value)


def request(cmd: str, **args) -> bytes:
    return json.dumps({"cmd": cmd, "args": args}).encode()


def reply_ok(result) -> bytes:
    return json.dumps({"ok": True, "result": result}, ensure_ascii=False).encode()


def reply_error(code: ErrorCode, message: str) -> bytes:
    return json.dumps({"ok": False, "error": {"code": code, "message": message}},
                      ensure_ascii=False).encode()


class NoAnswer(Exception):
    """No reply came within the deadline."""


class Dropped(Exception):
    """The connection closed before the reply came; `refused`: the daemon did not take
    this client's CURVE key."""

    def __init__(self, refused: bool):
        super().__init__("key refused" if refused else "connection closed")
        self.refused = refused


def exchange(endpoint: str, cmd: str, timeout: float, prepare=None, **args):
    """Send one request on `endpoint` (a ZeroMQ REQ socket; `prepare(sock)` may set it up
    first, e.g. for CURVE) and return its result, or raise WireError with the daemon's
    message, Dropped when the connection closes first, or NoAnswer after `timeout` s."""
    body = request(cmd, **args)
    if len(body) > MAX_REQUEST_BYTES:    # the daemon would drop it unanswered
        raise WireError(ErrorCode.BAD_INPUT, f"the request is {len(body):,} bytes, over the "
                        f"{MAX_REQUEST_BYTES:,} the daemon takes: send less at once")
    if endpoint.startswith("ipc://") and prepare is None:
        # This machine's daemon: ZeroMQ's protocol without pyzmq, whose import alone costs
        # a command as much as its own modules do (zmtp.py).
        from . import zmtp

        try:
            return parse_reply(zmtp.exchange(endpoint.removeprefix("ipc://"), body, timeout))
        except zmtp.NoAnswer:
            raise NoAnswer(f"no answer to {cmd} within {timeout:g} s") from None
        except zmtp.Closed:
            raise Dropped(refused=False) from None
        except OSError as exc:      # e.g. another user's socket
            raise WireError(ErrorCode.NOT_RUNNING, f"cannot reach the cc daemon at "
                            f"{endpoint}: {exc.strerror or exc}") from None
    import zmq      # here: importing this module must stay cheap for the CLI

    sock = zmq.Context.instance().socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    # A request the daemon drops (or a daemon that dies) closes the connection; REQ would
    # reconnect and wait for the deadline, so watch the connection too.
    monitor = sock.get_monitor_socket(zmq.EVENT_DISCONNECTED | zmq.EVENT_HANDSHAKE_FAILED_AUTH)
    try:
        if prepare is not None:
            prepare(sock)
        sock.connect(endpoint)
        sock.send(body)
        poller = zmq.Poller()
        poller.register(sock, zmq.POLLIN)
        poller.register(monitor, zmq.POLLIN)
        if not poller.poll(int(timeout * 1000)):
            raise NoAnswer(f"no answer to {cmd} within {timeout:g} s")
        if not sock.poll(0):         # a reply that came just before the close still counts
            from zmq.utils.monitor import recv_monitor_message

            event = recv_monitor_message(monitor)["event"]
            raise Dropped(refused=event == zmq.EVENT_HANDSHAKE_FAILED_AUTH)
        return parse_reply(sock.recv())
    finally:
        sock.disable_monitor()
        monitor.close()
        sock.close()


def parse_reply(raw: bytes):
    """Return the result of a reply, or raise WireError with the daemon's message."""
    msg = json.loads(raw)
    if msg.get("ok"):
        return msg.get("result")
    err = msg.get("error") or {}
    code = err.get("code")
    # A newer daemon may name a kind this CLI does not know: it is still a failure.
    known = code if code in ErrorCode._value2member_map_ else ErrorCode.FAILED
    raise WireError(known, err.get("message", "the daemon gave no reason"))


# How `cc dial --wait` ends, by the call's outcome.
OUTCOME_EXIT = {
    "answered": Exit.OK,
    "busy": Exit.BUSY,
    "not-answered": Exit.NO_ANSWER,
    "cancelled": Exit.NO_ANSWER,
    "timed-out": Exit.NO_ANSWER,
    "rejected": Exit.CALL_FAILED,
    "failed": Exit.CALL_FAILED,
}


def exit_code_table() -> str:
    return "\n".join(f"{int(code):>3}  {text}" for code, text in EXIT_MEANINGS.items())
