"""Named periods of the call log (F42): today, last-week, 2026-11-01..2026-11-15, ...

Periods are days in the agent's local time; bounds are returned as UTC ISO strings,
the form the call log stores times in.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

NAMES = ("today", "yesterday", "this-week", "last-week", "this-month", "last-month")


class PeriodError(ValueError):
    pass


def _month_start(day: date) -> date:
    return day.replace(day=1)


def days(period: str, today: date | None = None) -> tuple[date | None, date | None]:
    """First and last day (inclusive) of a period; None for an open end."""
    today = today or date.today()
    if period == "today":
        return today, today
    if period == "yesterday":
        return today - timedelta(1), today - timedelta(1)
    if period == "this-week":
        start = today - timedelta(today.weekday())
        return start, start + timedelta(6)
    if period == "last-week":
        start = today - timedelta(today.weekday() + 7)
        return start, start + timedelta(6)
    if period == "this-month":
        start = _month_start(today)
        return start, _month_start(start + timedelta(32)) - timedelta(1)
    if period == "last-month":
        end = _month_start(today) - timedelta(1)
        return _month_start(end), end
    if ".." in period:
        first, _, last = period.partition("..")
        try:
            start = date.fromisoformat(first) if first else None
            end = date.fromisoformat(last) if last else None
        except ValueError:
            raise PeriodError(f"period '{period}': dates must be YYYY-MM-DD") from None
        if start and end and start > end:
            raise PeriodError(f"period '{period}' ends before it starts")
        return start, end
    raise PeriodError(f"unknown period '{period}': use {', '.join(NAMES)} or FROM..TO "
                      "(YYYY-MM-DD..YYYY-MM-DD, either side may be empty)")


def sql_range(start: str | None, end: str | None) -> tuple[list[str], list[str]]:
    """SQL conditions and arguments for calls started in [start, end)."""
    where, args = [], []
    if start:
        where.append("started_at >= ?")
        args.append(start)
    if end:
        where.append("started_at < ?")
        args.append(end)
    return where, args


def bounds(period: str, today: date | None = None) -> tuple[str | None, str | None]:
    """[start, end) of a period as UTC ISO strings."""
    first, last = days(period, today)

    def utc(day: date | None) -> str | None:
        """Midnight of a local day in UTC; None (an open end) past the calendar's ends
        (0001-01-01 and 9999-12-31), where no call can be anyway."""
        if day is None:
            return None
        try:
            local = datetime.combine(day, time.min).astimezone()
            return local.astimezone(timezone.utc).isoformat(timespec="milliseconds")
        except (OverflowError, ValueError):
            return None

    return utc(first), utc(last + timedelta(1)) if last and last < date.max else None
