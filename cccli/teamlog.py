"""`cc log --team` and `cc log --agent NAME` with a team store: the listing read from
PostgreSQL with the reader's own role, no daemon. The work is in daemon.team.log."""

from __future__ import annotations

from daemon.wire import ErrorCode, OUTCOMES, WireError

# The filters the team store's listing takes; any other is refused, never ignored.
TAKES = ("period", "agent", "direction", "outcome")


def wanted(team: bool, url: str | None, agent: str | None) -> bool:
    """Whether the listing reads the team store: --team, --url, or --agent with team.url."""
    if team or url:
        return True
    if agent is None:
        return False
    from daemon import profile

    return bool(profile.load()["team.url"])


def run(filters: dict, fmt: str, limit: int | None, url: str | None, database,
        show) -> None:
    """Check the filters, then `show(rows)` the store's rows, the connection open."""
    import psycopg

    from daemon import periods
    from daemon.team import log as team_log
    from daemon.team.connect import explain

    from . import render
    from .team import _connect

    if database is not None:
        raise WireError(ErrorCode.BAD_INPUT, "--database and --team read different logs: "
                        "give one of them")
    extra = [k for k, v in filters.items() if v is not None and k not in TAKES
             and k not in ("sort", "desc")]
    if extra or filters.get("sort") not in (None, "start") or filters.get("desc") is False:
        name = extra[0] if extra else "sort"
        raise WireError(ErrorCode.BAD_INPUT, f"--{name} does not apply to the team store's "
                        "log, listed newest first: filter it with --period, --agent, "
                        "--direction or --outcome")
    if fmt not in ("table", "json", "ndjson", "csv"):
        raise WireError(ErrorCode.BAD_INPUT, f"--format {fmt} does not apply to the team "
                        "store's log: use table, json, ndjson or csv")
    if filters.get("outcome") is not None and filters["outcome"] not in OUTCOMES:
        raise WireError(ErrorCode.BAD_INPUT, f"unknown outcome '{filters['outcome']}': use "
                        f"{', '.join(OUTCOMES)}")
    try:
        bounds = periods.bounds(filters["period"]) if filters.get("period") else (None, None)
    except periods.PeriodError as exc:
        raise WireError(ErrorCode.BAD_INPUT, str(exc)) from None
    conn, url = _connect(url)
    try:
        with conn:
            found = team_log.rows(conn, bounds, filters.get("agent"),
                                  filters.get("direction"), filters.get("outcome"), limit)
            show(found)
    except psycopg.errors.UndefinedTable:
        render.fail("the team store has no cc schema: the administrator runs `cc team init`",
                    render.Exit.CONFIG)
    except psycopg.Error as exc:
        render.fail(explain(exc, url), render.Exit.FAILED)
