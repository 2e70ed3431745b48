"""Reaching the team store: its URL checked where it enters, the password from
CC_TEAM_PASSWORD, `team.password_command` or libpq's own ~/.pgpass, never from the
config file, and every failure one line that names the fix."""

from __future__ import annotations

import os
import re
from urllib.parse import unquote, urlsplit

CONNECT_TIMEOUT = 10        # seconds: a store down must not hang a command or the daemon
ROLE = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class TeamError(Exception):
    """The team store cannot be used: one line, naming the fix."""


def check_url(value: str) -> str | None:
    """Empty, or postgresql://USER@HOST[:PORT]/DATABASE with no password in it."""
    if not value:
        return None
    wanted = "postgresql://USER@HOST[:PORT]/DATABASE (the password is never in the URL)"
    try:
        parts = urlsplit(value)
        parts.port
    except ValueError as exc:
        return f"{wanted} ({exc})"
    if parts.scheme not in ("postgresql", "postgres") or not parts.hostname:
        return wanted
    if parts.password is not None:
        return (f"{wanted}: keep the password in CC_TEAM_PASSWORD, team.password_command "
                "or ~/.pgpass")
    if not parts.username or not parts.path.strip("/"):
        return wanted
    return None


def role_name(value: str, what: str = "a login") -> str:
    """A PostgreSQL role name as cc makes them: lower case letters, digits and _."""
    if not ROLE.fullmatch(value or ""):
        raise TeamError(f"{what} {value!r} cannot be a team store role: use lower case "
                        "letters, digits and _ (up to 63, not starting with a digit)")
    return value


def user_of(url: str) -> str:
    return unquote(urlsplit(url).username or "")


def password(settings: dict) -> str | None:
    """The team store's password; None lets libpq look in ~/.pgpass (or need none)."""
    if os.environ.get("CC_TEAM_PASSWORD"):
        return os.environ["CC_TEAM_PASSWORD"]
    if not settings.get("team.password_command"):
        return None
    from ..profile import ConfigError, password_from_command

    try:
        return password_from_command(settings, "team.password_command")
    except ConfigError as exc:
        raise TeamError(str(exc)) from None


def connect(url: str, secret: str | None, **kwargs):
    """A psycopg connection to the team store, or TeamError with what went wrong."""
    import psycopg

    if (problem := check_url(url)) is not None:
        raise TeamError(f"team.url: {problem}")
    extra = {"password": secret} if secret is not None else {}
    try:
        return psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT,
                               application_name="cc", **extra, **kwargs)
    except psycopg.OperationalError as exc:
        raise TeamError(explain(exc, url)) from None


def explain(exc: Exception, url: str) -> str:
    """One line for a failure to reach or use the team store."""
    text = " ".join(str(exc).split())
    where = urlsplit(url)
    place = f"the team store at {where.hostname}:{where.port or 5432}{where.path}"
    if "password authentication failed" in text or "no password supplied" in text:
        return (f"{place} refused {user_of(url)}'s password: set CC_TEAM_PASSWORD, "
                "team.password_command or ~/.pgpass")
    if "does not exist" in text and "role" in text:
        return (f"{place} has no role {user_of(url)}: the administrator adds it with "
                f"`cc team add-agent {user_of(url)} --team NAME`")
    if "does not exist" in text and "database" in text:
        return f"{place} has no such database: check team.url"
    if getattr(exc, "sqlstate", None) == "42501":       # insufficient privilege
        return (f"{place} refused {user_of(url)} ({text}): the administrator gives it the "
                f"agent's rights with `cc team add-agent {user_of(url)} --team NAME`")
    if _unreachable(exc):
        return f"cannot reach {place} ({text}); the calls wait in the outbox until it is back"
    return f"{place}: {text}"


def _unreachable(exc: Exception) -> bool:
    """A failure of the network or of the server itself, not a refusal of what was asked:
    psycopg's OperationalError (its SQLSTATE class 08, or none: the link broke) and the
    pool's time-out."""
    import psycopg

    if isinstance(exc, OSError) or type(exc).__name__ == "PoolTimeout":
        return True
    if isinstance(exc, psycopg.OperationalError):
        state = getattr(exc, "sqlstate", None) or ""
        return not state or state.startswith(("08", "57P"))
    return False
