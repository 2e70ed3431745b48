"""Scenario files: the users, groups, remote numbers and timings the emulated server knows.

A scenario is a TOML file; `demo.toml` in this package is the built-in one and
documents every key. Loading is strict (unknown keys are errors) so that a typo in a
test scenario fails loudly instead of silently using a default.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# The names server.py imports from here: numbers are cleaned as everywhere (daemon.phone).
from .. import phone

DEMO_RESOURCE = "demo.toml"

ANONYMOUS = "anonymous"    # a call without caller ID: From=anonymous; the number servers write
SCALED = "scaled"          # [server] clock: time_scale times the wall clock
MANUAL = "manual"          # [server] clock: stands still until /_emulator/advance/
CLOCK_MODES = (SCALED, MANUAL)
SERVER_DEFAULTS: dict[str, Any] = {
    "clock": SCALED,
    "time_scale": 1.0,
    "ring_timeout": 30.0,
    "finished_linger": 30.0,
    "raw_answers": False,
    "internal_calls_on_break": False,   # the guide's server setting: Break takes internal calls
    "anonymous_number": "anonymous",    # how a call without caller ID shows its number
    "events_url": (),       # the server's eventsURL: where it pushes events, set by its admin
}
EVENTS_URL_FORM = "http://HOST:PORT or http://HOST:PORT/PATH"
USER_REQUIRED = ("login", "password", "id", "extension")
USER_OPTIONAL = ("name", "position", "department")
NUMBER_DEFAULTS: dict[str, Any] = {
    "answer_after": 3.0,
    "hangup_after": 0.0,
    "busy": False,
    "never_answer": False,
}
GROUP_REQUIRED = ("number", "extensions")
GROUP_DEFAULTS: dict[str, Any] = {      # [ours] the defaults of a [[groups]] table
    "name": "",
    "order": "ring-all",
    "hunt_timeout": 10.0,
}
RING_ALL = "ring-all"
HUNT = "hunt"
GROUP_ORDERS = (RING_ALL, HUNT)


class ScenarioError(Exception):
    """A scenario is missing or invalid. The message is one line: file, problem, fix."""


def is_valid_events_url(url: str) -> bool:
    """True for a URL events can be pushed to: http, a host and a port, no query or fragment."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return False
    return (parts.scheme == "http" and bool(parts.hostname) and port is not None
            and not parts.query and not parts.fragment)


@dataclass(frozen=True)
class UserSpec:
    login: str
    password: str
    id: int
    extension: str
    name: str = ""
    position: str = ""
    department: str = ""


@dataclass(frozen=True)
class NumberRule:
    match: str
    answer_after: float = 3.0
    hangup_after: float = 0.0
    busy: bool = False
    never_answer: bool = False

    def matches(self, number: str) -> bool:
        if self.match.endswith("*"):
            return number.startswith(self.match[:-1])
        return number == self.match


@dataclass(frozen=True)
class GroupSpec:
    """A group number (F33): calls to it ring its member extensions, all at once or in turn."""

    number: str
    extensions: tuple[str, ...]
    name: str = ""
    order: str = RING_ALL
    hunt_timeout: float = 10.0


@dataclass(frozen=True)
class Scenario:
    source: str
    time_scale: float
    ring_timeout: float
    finished_linger: float
    raw_answers: bool
    users: tuple[UserSpec, ...]
    numbers: tuple[NumberRule, ...]
    groups: tuple[GroupSpec, ...] = ()
    events_urls: tuple[str, ...] = ()
    clock: str = SCALED
    internal_calls_on_break: bool = False
    anonymous_number: str = "anonymous"

    def rule_for(self, number: str) -> NumberRule | None:
        """The first rule matching a (normalised) number, or None."""
        for rule in self.numbers:
            if rule.matches(number):
                return rule
        return None

    def group_for(self, number: str) -> GroupSpec | None:
        for group in self.groups:
            if group.number == number:
                return group
        return None


def demo_text() -> str:
    """The text of the built-in demo scenario."""
    return resources.files(__package__).joinpath(DEMO_RESOURCE).read_text(encoding="utf-8")


def load(path: str | None) -> Scenario:
    """Load and validate a scenario file, or the built-in demo when path is None."""
    if path is None:
        return parse(demo_text(), "demo.toml (built-in)")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(
            f"scenario {path}: file not found (give an existing file, or omit --scenario "
            "to use the built-in demo)"
        ) from None
    except UnicodeDecodeError:
        raise ScenarioError(f"scenario {path}: not UTF-8 text (save the file as UTF-8)") from None
    except OSError as exc:
        raise ScenarioError(f"scenario {path}: cannot be read: {exc.strerror} (check the path "
                            "and permissions)") from None
    return parse(text, path)


def parse(text: str, source: str) -> Scenario:
    """Validate scenario TOML text; `source` names the file in error messages."""

    def fail(problem: str, fix: str) -> ScenarioError:
        return ScenarioError(f"scenario {source}: {problem} ({fix})")

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise fail(f"not valid TOML: {exc}", "fix the syntax at that place") from None

    _check_keys(data, ("server", "users", "numbers", "groups"), "the top level", fail)

    settings = _server(data.get("server", {}), fail)

    users_data = data.get("users")
    if not isinstance(users_data, list) or not users_data:
        raise fail("no users",
                   "add at least one [[users]] section with login, password, id, extension")
    users = tuple(_user(entry, i, fail) for i, entry in enumerate(users_data))
    for attr in ("login", "id", "extension"):
        seen: set[Any] = set()
        for i, user in enumerate(users):
            value = getattr(user, attr)
            if value in seen:
                raise fail(f"users[{i}] repeats {attr} {value!r}",
                           f"every user needs a distinct {attr}")
            seen.add(value)

    numbers_data = data.get("numbers", [])
    if not isinstance(numbers_data, list):
        raise fail("'numbers' is not an array of tables",
                   "write each rule as a [[numbers]] section")
    numbers = tuple(_rule(entry, i, fail) for i, entry in enumerate(numbers_data))

    groups_data = data.get("groups", [])
    if not isinstance(groups_data, list):
        raise fail("'groups' is not an array of tables", "write each group as a [[groups]] section")
    groups = tuple(_group(entry, i, users, fail) for i, entry in enumerate(groups_data))
    seen_numbers: set[str] = set()
    for i, group in enumerate(groups):
        if group.number in seen_numbers:
            raise fail(f"groups[{i}] repeats number {group.number!r}",
                       "every group needs a distinct number")
        seen_numbers.add(group.number)

    return Scenario(source=source, users=users, numbers=numbers, groups=groups, **settings)


def _server(server: Any, fail) -> dict[str, Any]:
    """The [server] table, as Scenario's keyword arguments."""
    if not isinstance(server, dict):
        raise fail("'server' is not a table", "write it as a [server] section")
    _check_keys(server, tuple(SERVER_DEFAULTS), "[server]", fail)
    clock = server.get("clock", SERVER_DEFAULTS["clock"])
    if clock not in CLOCK_MODES:
        raise fail(f"[server] clock is {clock!r}",
                   f'write clock = "{SCALED}" (the default) or clock = "{MANUAL}"')
    return {
        "clock": clock,
        "time_scale": _number(server, "time_scale", SERVER_DEFAULTS["time_scale"], "[server]",
                              fail, positive=True),
        "ring_timeout": _number(server, "ring_timeout", SERVER_DEFAULTS["ring_timeout"],
                                "[server]", fail, positive=True),
        "finished_linger": _number(server, "finished_linger", SERVER_DEFAULTS["finished_linger"],
                                   "[server]", fail),
        "raw_answers": _bool(server, "raw_answers", SERVER_DEFAULTS["raw_answers"], "[server]",
                             fail),
        "internal_calls_on_break": _bool(server, "internal_calls_on_break",
                                         SERVER_DEFAULTS["internal_calls_on_break"], "[server]",
                                         fail),
        "anonymous_number": _anonymous_number(
            server.get("anonymous_number", SERVER_DEFAULTS["anonymous_number"]), fail),
        "events_urls": _events_urls(server.get("events_url", SERVER_DEFAULTS["events_url"]), fail),
    }


def _check_keys(table: dict, known: tuple[str, ...], where: str, fail) -> None:
    for key in table:
        if key not in known:
            raise fail(f"unknown key {key!r} in {where}", f"known keys: {', '.join(known)}")


def _number(table: dict, key: str, default: float, where: str, fail,
            positive: bool = False) -> float:
    value = table.get(key, default)
    # bool is an int subclass in Python; `true` is never a valid duration.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise fail(f"{where} {key} is {value!r}, not a number",
                   f"write a number, e.g. {key} = {default:g}")
    if value < 0 or (positive and value == 0):
        bound = "greater than 0" if positive else "0 or more"
        raise fail(f"{where} {key} is {value!r}", f"it must be {bound}")
    return float(value)


def _bool(table: dict, key: str, default: bool, where: str, fail) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise fail(f"{where} {key} is {value!r}, not true or false",
                   f"write {key} = true or {key} = false")
    return value


def _anonymous_number(value: Any, fail) -> str:
    """[server] anonymous_number: "anonymous" or "" (servers write a withheld number
    either way)."""
    if value not in (ANONYMOUS, ""):
        raise fail(f"[server] anonymous_number is {value!r}",
                   f'write anonymous_number = "{ANONYMOUS}" (the default) or anonymous_number = ""')
    return value


def _events_urls(value: Any, fail) -> tuple[str, ...]:
    """[server] events_url: one URL or a list of them (several daemons, one per agent)."""
    urls = [value] if isinstance(value, str) else value
    fix = 'write e.g. events_url = "http://127.0.0.1:8080", or a list of such URLs'
    if not isinstance(urls, (list, tuple)):
        raise fail(f"[server] events_url is {value!r}, not a URL or a list of URLs", fix)
    for url in urls:
        if not isinstance(url, str) or not is_valid_events_url(url):
            raise fail(f"[server] events_url {url!r} is not {EVENTS_URL_FORM}", fix)
    return tuple(urls)


def _user(entry: Any, i: int, fail) -> UserSpec:
    where = f"users[{i}]"
    if not isinstance(entry, dict):
        raise fail(f"{where} is not a table", "write each user as a [[users]] section")
    _check_keys(entry, USER_REQUIRED + USER_OPTIONAL, where, fail)
    for key in USER_REQUIRED:
        if key not in entry:
            raise fail(f"{where} has no {key!r}", "every user needs login, password, id, extension")
    for key in ("login", "password") + USER_OPTIONAL:
        if key in entry and not isinstance(entry[key], str):
            raise fail(f"{where} {key} is {entry[key]!r}, not a string",
                       f'quote it, e.g. {key} = "text"')
    if not entry["login"]:
        raise fail(f"{where} has an empty login", "give every user a login")
    user_id = entry["id"]
    if isinstance(user_id, bool) or not isinstance(user_id, int) or user_id <= 0:
        raise fail(f"{where} id is {user_id!r}, not a positive integer",
                   "write the IDUser unquoted, e.g. id = 5001790109")
    extension = entry["extension"]
    if not isinstance(extension, str) or not extension.isdigit():
        raise fail(f"{where} extension is {extension!r}",
                   'write it as a quoted string of digits, e.g. extension = "101"')
    return UserSpec(
        login=entry["login"],
        password=entry["password"],
        id=user_id,
        extension=extension,
        **{key: entry.get(key, "") for key in USER_OPTIONAL},
    )


def _rule(entry: Any, i: int, fail) -> NumberRule:
    where = f"numbers[{i}]"
    if not isinstance(entry, dict):
        raise fail(f"{where} is not a table", "write each rule as a [[numbers]] section")
    _check_keys(entry, ("match",) + tuple(NUMBER_DEFAULTS), where, fail)
    if "match" not in entry:
        raise fail(f"{where} has no 'match'", 'give a number, a prefix ending in "*", or "*" alone')
    raw = entry["match"]
    match = phone.strip(raw) if isinstance(raw, str) else None
    body = match[:-1] if match and match.endswith("*") else match
    if match is None or not (match == "*" or (body and phone.dialable(body))):
        raise fail(f"{where} match is {raw!r}",
                   'give a number, a prefix ending in "*", or "*" alone, as a quoted string')
    answer_after = _number(entry, "answer_after", NUMBER_DEFAULTS["answer_after"], where, fail)
    hangup_after = _number(entry, "hangup_after", NUMBER_DEFAULTS["hangup_after"], where, fail)
    busy = _bool(entry, "busy", NUMBER_DEFAULTS["busy"], where, fail)
    never_answer = _bool(entry, "never_answer", NUMBER_DEFAULTS["never_answer"], where, fail)
    if busy and never_answer:
        raise fail(f"{where} is both busy and never_answer", "set at most one of them to true")
    return NumberRule(match, answer_after, hangup_after, busy, never_answer)


def _group(entry: Any, i: int, users: tuple[UserSpec, ...], fail) -> GroupSpec:
    where = f"groups[{i}]"
    if not isinstance(entry, dict):
        raise fail(f"{where} is not a table", "write each group as a [[groups]] section")
    _check_keys(entry, GROUP_REQUIRED + tuple(GROUP_DEFAULTS), where, fail)
    if "number" not in entry:
        raise fail(f"{where} has no 'number'",
                   'give the group a number as a quoted string of digits, e.g. number = "500"')
    number = entry["number"]
    if not isinstance(number, str) or not number.isdigit():
        raise fail(f"{where} number is {number!r}",
                   'write it as a quoted string of digits, e.g. number = "500"')
    owner = next((j for j, user in enumerate(users) if user.extension == number), None)
    if owner is not None:
        raise fail(f"{where} number {number!r} is the extension of users[{owner}]",
                   "give the group a number no user has")
    name = entry.get("name", GROUP_DEFAULTS["name"])
    if not isinstance(name, str):
        raise fail(f"{where} name is {name!r}, not a string", 'quote it, e.g. name = "Sales line"')
    order = entry.get("order", GROUP_DEFAULTS["order"])
    if order not in GROUP_ORDERS:
        raise fail(f"{where} order is {order!r}",
                   'write order = "ring-all" (all at once) or order = "hunt" (one after another)')
    known = [user.extension for user in users]
    extensions = entry.get("extensions")
    if not isinstance(extensions, list) or not extensions:
        raise fail(f"{where} has no extensions",
                   'list the members as quoted extensions, e.g. extensions = ["101", "102"]')
    for extension in extensions:
        if extension not in known:
            raise fail(f"{where} extensions names {extension!r}, which is no user's extension",
                       f"list only users' extensions, as quoted strings: {', '.join(known)}")
    for extension in extensions:
        if extensions.count(extension) > 1:
            raise fail(f"{where} lists extension {extension!r} twice", "name each member once")
    hunt_timeout = _number(entry, "hunt_timeout", GROUP_DEFAULTS["hunt_timeout"], where, fail,
                           positive=True)
    return GroupSpec(number, tuple(extensions), name, order, hunt_timeout)
