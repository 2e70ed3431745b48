"""The team's saved filters (`cc log save NAME --team`): kept in the team store, read with
the user's own role, and copied to a file of the profile's data folder each time they are
read, so `cc log NAME` and Tab completion still find them with the store out of reach.
A local filter of the same name wins (cccli/log.py)."""

from __future__ import annotations

import json
import sys

from daemon import profile
from daemon.wire import ErrorCode, WireError

from . import teamshared

CACHE = "team-filters.json"


def cache_file():
    return profile.paths().data_dir / CACHE


def enabled() -> bool:
    return bool(teamshared.url())


def save(name: str, definition: dict, team_name: str | None) -> str:
    """Keep the filter in the team store for the user's team; the team."""
    from daemon.team import shared

    def work(conn):
        team = shared.which_team(conn, team_name)
        shared.save_filter(conn, team, name, definition)
        _write_cache(shared.filters(conn))
        return team

    return teamshared.run_online(work)


def forget(name: str, team_name: str | None) -> str:
    """Remove the team filter (its owner's or the team lead's right); its team."""
    from daemon.team import shared

    def work(conn):
        team = shared.which_team(conn, team_name) if team_name else None
        gone = shared.forget_filter(conn, team, name)
        _write_cache(shared.filters(conn))
        return gone

    return teamshared.run_online(work)


def all_() -> list[dict]:
    """The team filters the user may read: from the store, else (said once on standard
    error) the copy last read; none without a team store."""
    if not enabled():
        return []
    from daemon.team import shared

    try:
        found = teamshared.run(shared.filters)
    except teamshared.Unreachable as exc:
        found, written = cached()
        when = f" of {written}" if written else " (none read yet)"
        print(f"cc: {exc}: using the copy{when} of the team's saved filters", file=sys.stderr)
        return found
    _write_cache(found)
    return found


def cached() -> tuple[list[dict], str | None]:
    """The copy last read (its filters, when it was read); nothing when none or unreadable."""
    try:
        data = json.loads(cache_file().read_text(encoding="utf-8"))
        entries = [e for e in data["filters"] if isinstance(e, dict) and
                   isinstance(e.get("name"), str) and isinstance(e.get("filters"), dict)]
        return entries, str(data.get("read_at") or "") or None
    except (OSError, ValueError, KeyError, TypeError):
        return [], None


def _write_cache(found: list[dict]) -> None:
    from datetime import datetime, timezone

    path = cache_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps({
            "read_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "filters": found}, ensure_ascii=False), encoding="utf-8")
        temporary.replace(path)
    except OSError as exc:      # the copy is a convenience: the command still does its work
        print(f"cc: cannot keep a copy of the team's filters in {path}: {exc}",
              file=sys.stderr)


def find(name: str, entries: list[dict]) -> dict | None:
    """The team filter NAME among `entries`; a lead's two teams may both have one."""
    found = [e for e in entries if e["name"] == name]
    if len(found) > 1:
        raise WireError(ErrorCode.BAD_INPUT, f"teams {', '.join(e['team'] for e in found)} "
                        f"each have a filter '{name}': give its options, or save your own "
                        "under another name")
    return found[0] if found else None
