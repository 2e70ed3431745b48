"""How `cc` and its reports write amounts of time; stdlib only, so the CLI may import it."""

from __future__ import annotations


def duration(seconds: float | str | None, missing: str = "") -> str:
    """Seconds as M:SS, or H:MM:SS from an hour on; `missing` when there is no value."""
    if seconds is None:
        return missing
    hours, rest = divmod(int(round(float(seconds))), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"
