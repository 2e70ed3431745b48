"""Team reports: the figures of `daemon.report`, across agents, read from the team store
with the reader's own role, so row-level security decides whose calls count (a lead: its
teams'; an agent: its own, or its team's when the team allows it).

One scan of the started_at index over the period: PostgreSQL buckets each call into its
local day with width_bucket over the days' UTC bounds (made here, in the reader's time
zone, as the local report does) and groups by day, agent, direction, outcome and the
card's result, and by the hour in a second grouping set of the same scan; the few groups
are folded into the same Figures as the local report's.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from .. import periods
from ..report import (SERVICE_LEVEL_SECONDS, Figures, Report, ReportError, _local_day,
                      assemble)
from .schema import SCHEMA

# One scan, two sets of groups (PostgreSQL hashes each): the figures per (day, agent,
# direction, outcome, card result), and per local hour of the day (each call's hour of
# the period, width_bucket over the hours' bounds, looked up in hour_of: right on the
# days the clocks change). A third set for the results alone was a tenth slower.
_GROUPS = f"""
select bucket, hour, agent, direction, outcome, result,
       grouping(agent) = 1 as hourly,
       count(*) as calls, coalesce(sum(talk_seconds), 0) as talk,
       max(talk_seconds) as longest, coalesce(sum(hold_seconds), 0) as hold,
       coalesce(sum(wait_seconds), 0) as wait, count(processing_seconds) as wrapped,
       coalesce(sum(processing_seconds), 0) as processing,
       count(*) filter (where wait_seconds <= %(level)s) as in_time
from (select width_bucket(started_at, %(bounds)s::timestamptz[]) as bucket,
             (%(hour_of)s::int[])[width_bucket(started_at, %(hours)s::timestamptz[])]
                 as hour,
             agent::text as agent, direction, coalesce(outcome, '') as outcome,
             coalesce(result, '') as result, talk_seconds, hold_seconds, wait_seconds,
             processing_seconds
      from {SCHEMA}.calls
      where started_at >= %(lo)s and started_at < %(hi)s
        and (%(agents)s::name[] is null or agent = any(%(agents)s::name[]))) as c
group by grouping sets ((bucket, agent, direction, outcome, result),
                        (hour, direction, outcome))"""


def unknown_agents(conn, agents: list[str]) -> list[str]:
    """The names of `agents` that are not in the team table (which every role reads)."""
    if not agents:
        return []
    known = {row[0] for row in conn.execute(
        f"select login::text from {SCHEMA}.agents where login = any(%s::name[])", (agents,))}
    return [name for name in agents if name not in known]


def build(conn, period: str, agents: list[str], where: str, today: date | None = None,
          service_level_seconds: int = SERVICE_LEVEL_SECONDS) -> Report:
    """The report of `period` over the calls the connection's role may read, of `agents`
    only when given. Raises periods.PeriodError, or ReportError for an unknown agent."""
    first_day, last_day = periods.days(period, today)
    start, end = periods.bounds(period, today)
    if missing := unknown_agents(conn, agents):
        raise ReportError(f"no agent {', '.join(missing)} in the team store (`cc team show` "
                          "lists the agents)")
    chosen = agents or None
    team, reader = whose(conn)
    shown = ", ".join(agents) or reader
    lo_day, hi_day = first_day, last_day
    if lo_day is None or hi_day is None:
        ends = conn.execute(
            f"select min(started_at), max(started_at) from {SCHEMA}.calls "
            "where (%(lo)s::timestamptz is null or started_at >= %(lo)s) "
            "and (%(hi)s::timestamptz is null or started_at < %(hi)s) "
            "and (%(agents)s::name[] is null or agent = any(%(agents)s::name[]))",
            {"lo": start, "hi": end, "agents": chosen}).fetchone()
        if ends[0] is None:
            return assemble(period, first_day, last_day, shown, where, [],
                            service_level_seconds=service_level_seconds, team=team)
        lo_day = lo_day or _local_day(ends[0].isoformat())
        hi_day = hi_day or _local_day(ends[1].isoformat())
    days = [lo_day + timedelta(n) for n in range((hi_day - lo_day).days + 1)]
    bounds = [periods.bounds(f"{day}..{day}")[0] for day in days]
    bounds.append(periods.bounds(f"{hi_day}..{hi_day}")[1])
    hour_bounds = _hour_bounds(bounds[0], bounds[-1])
    hour_of = [datetime.fromisoformat(b).astimezone().hour for b in hour_bounds[:-1]]
    hours = [Figures(hour=f"{h:02}") for h in range(24)]
    cells: dict[tuple[int, str], Figures] = {}
    with conn.transaction():
        # The planner cannot tell that a period has few (day, agent, direction, outcome)
        # groups, and sorts a month's calls to group them (on disk, at work_mem's 4 MB);
        # they fit in a hash table: 0.74 s -> 0.50 s over a month of 775,000 calls. With
        # the hours' grouping set it over-estimates the two tables (they take 25 MB) and
        # sorts again at 64 MB: 0.97 s; hashed, 0.62 s.
        conn.execute("set local work_mem = '256MB'")
        conn.execute("set local enable_sort = off")
        conn.execute("set local jit = off")
        cursor = conn.cursor(row_factory=_dict_row())
        for group in cursor.execute(_GROUPS, {"bounds": bounds, "hours": hour_bounds,
                                              "hour_of": hour_of,
                                              "lo": bounds[0], "hi": bounds[-1],
                                              "agents": chosen,
                                              "level": service_level_seconds}):
            if group["hourly"]:
                hours[group["hour"]].fold(group)
                continue
            key = (group["bucket"], group["agent"])
            if key not in cells:
                cells[key] = Figures(day=days[group["bucket"] - 1].isoformat(), agent=key[1])
            cells[key].fold(group)
            cells[key].count_result(group["result"], group["outcome"], group["calls"])
    rows = [cells[key] for key in sorted(cells)]
    return assemble(period, first_day, last_day, shown, where, rows, hours,
                    service_level_seconds, team)


def whose(conn) -> tuple[str | None, str | None]:
    """(team, agent) whose calls the reader sees, for the title: the teams it leads; its
    team when the team shares its calls; else only the reader's own calls."""
    led = [row[0] for row in conn.execute(
        f"select name from {SCHEMA}.teams where lead = current_user order by name")]
    if led:
        return ", ".join(led), None
    own = conn.execute(
        f"select a.team, t.agents_see_team, current_user::text from {SCHEMA}.agents a "
        f"join {SCHEMA}.teams t on t.name = a.team where a.login = current_user").fetchone()
    if own is None:
        return None, None
    return (own[0], None) if own[1] else (own[0], own[2])


def _hour_bounds(lo: str, hi: str) -> list[str]:
    """Every hour from `lo` to `hi` (UTC ISO, local midnights): the bounds of the hours of
    the period, a day of a clock change having 23 or 25 of them."""
    start, end = datetime.fromisoformat(lo), datetime.fromisoformat(hi)
    count = round((end - start).total_seconds() / 3600)
    return [(start + timedelta(hours=n)).isoformat() for n in range(count + 1)]


def _dict_row():
    from psycopg.rows import dict_row

    return dict_row
