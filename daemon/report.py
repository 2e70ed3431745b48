"""Call reports for a period: per local day and agent, and totals, as text, CSV or HTML.

A library, read by `cc report` without a daemon: `build()` opens the call log read-only
and lets SQLite aggregate, one local day at a time: each day is a range of the
started_at (or agent, started_at) index, grouped by agent, direction, outcome and the
call card's result, and again by local hour, so SQLite only ever sorts one day's calls. (One GROUP
BY date(started_at, 'localtime') over the whole period gives the same groups but sorts
every call in one temporary B-tree; on a million calls it took about twice as long.)
The few groups are folded into `Figures` here (per day and agent, and per hour of the
day), and the renderers turn them into text, CSV or one HTML page made for mail
clients: inline styles only, charts as table bars, no SVG, no script, no stylesheet.

How the figures are counted:

- Incoming: `calls_in` counts incoming calls offered to the agent, except
  `answered-elsewhere` (a group call a colleague took), counted apart as
  `answered_elsewhere`; `answered`, `missed`, `rejected` count them by outcome.
- Outgoing: `calls_out` counts every outgoing call; `calls_out_connected` those the far
  end answered, `calls_out_not_connected` those it did not (no answer, busy, failed).
- `answer_rate` = answered / incoming calls that have ended (calls_in minus those still
  in progress). A rejected or failed call counts as not answered; answered-elsewhere is
  left out of both sides, as the agent was not the one who lost it.
- `service_level` = incoming calls answered within N seconds of ringing (their
  `wait_seconds` at most N, N the setting report.service_level_seconds) / the same
  incoming calls the answer rate counts.
- Both rates are rated with RATE_BANDS: good (green) from 90 %, fair (amber) from 75 %,
  low (red) below; the word is printed beside the colour, never the colour alone.
- `results` counts calls by their call card's result (resolved, escalated, ...), in
  and out; calls without a result are `no result`.
- `avg_talk`, `avg_hold` and `max_talk` are over answered calls, in and out.
- `avg_answer` (time to answer) is the ringing time (`wait_seconds`) of answered
  incoming calls; `avg_processing` (wrap-up) is over calls with a recorded wrap-up.
"""

from __future__ import annotations

import csv
import html
import io
import json
import sqlite3
import textwrap
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from . import periods, units
from .store import open_log


def _ratio(total: float, count: int) -> float | None:
    return total / count if count else None


SERVICE_LEVEL_SECONDS = 20      # the default of the setting report.service_level_seconds

# (lowest rate, word, colour): the first band a rate reaches rates it. A lead expects a
# contact centre to answer nine calls in ten; below three in four is a bad day.
RATE_BANDS = ((0.90, "good", "#2e7d32"), (0.75, "fair", "#b26a00"), (0.0, "low", "#c62828"))


def rating(rate: float | None) -> tuple[str, str]:
    """The word and colour of a rate (answer rate or service level); ('', '') for none."""
    if rate is None:
        return "", ""
    return next((word, colour) for low, word, colour in RATE_BANDS if rate >= low)


def rate_note(seconds: int) -> str:
    return ("Incoming calls: answered, missed and rejected are the calls offered to the "
            "agent; answered-elsewhere (a group call a colleague took) is counted apart. "
            "Answer rate = answered incoming calls / incoming calls that have ended "
            "(rejected and failed count as not answered, answered-elsewhere on neither "
            f"side). Service level = incoming calls answered within {seconds} s of "
            "ringing / the same calls (setting report.service_level_seconds). Both are "
            "good from 90%, fair from 75%, low below. Outgoing calls: connected = the far "
            "end answered. Results are the call cards' results, in and out. Talk and hold "
            "are averaged over answered calls (in and out); time to answer over answered "
            "incoming calls; wrap-up over calls with a recorded wrap-up. Days and hours "
            "are local.")


# Stable CSV columns: one row per (day, agent), then one per hour of the day that had
# calls (day empty, hour HH), then a TOTAL row. New columns are only ever added at the end.
CSV_COLUMNS = ("day", "agent", "calls_in", "calls_out", "answered", "missed", "rejected",
               "answered_elsewhere", "answer_rate", "avg_talk_seconds", "max_talk_seconds",
               "avg_hold_seconds", "avg_answer_seconds", "avg_processing_seconds",
               "calls_out_connected", "calls_out_not_connected", "answered_in_time",
               "service_level", "service_level_seconds", "results", "hour")
TOTAL = "TOTAL"
NO_RESULT = "no result"
FILLED_DAYS_AT_MOST = 366   # longer periods chart only the days that have calls

# One local day's calls, grouped so each group adds to a Figures in one way (fold()):
# by agent, direction, outcome and card result; then by local hour, direction and
# outcome. Two queries over the day's index range: one grouped by all five made ten
# times the groups and took a third longer over a month of 335,000 calls.
_FIGURES = """count(*) as calls, total(talk_seconds) as talk, max(talk_seconds) as longest,
       total(hold_seconds) as hold, total(wait_seconds) as wait,
       count(processing_seconds) as wrapped, total(processing_seconds) as processing,
       count(case when wait_seconds <= :level then 1 end) as in_time"""
_DAY_SQL = f"""
select coalesce(agent, '') as agent, direction, coalesce(outcome, '') as outcome,
       coalesce(result, '') as result, {_FIGURES}
from calls where {{agent}}started_at >= :start and started_at < :end
group by 1, 2, 3, 4"""
_HOUR_SQL = f"""
select cast(strftime('%H', started_at, 'localtime') as integer) as hour, direction,
       coalesce(outcome, '') as outcome, {_FIGURES}
from calls where {{agent}}started_at >= :start and started_at < :end
group by 1, 2, 3"""


def day_query(agent: bool = False, hours: bool = False) -> str:
    """The query of one day (by agent, or by hour): named parameters ([agent,] start,
    end: UTC ISO bounds; level: the service level's seconds)."""
    return (_HOUR_SQL if hours else _DAY_SQL).format(
        agent="agent = :agent and " if agent else "")


class ReportError(Exception):
    """The call log cannot be read; the message names the file and the way out."""


class NoDatabase(ReportError):
    pass


@dataclass
class Figures:
    """Sums and counts of one group of calls; the averages are derived, so groups add up."""

    day: str = ""
    agent: str = ""
    hour: str = ""
    calls_in: int = 0
    calls_out: int = 0
    answered: int = 0
    missed: int = 0
    rejected: int = 0
    answered_elsewhere: int = 0
    in_progress: int = 0
    out_connected: int = 0
    out_not_connected: int = 0
    answered_in_time: int = 0
    connected: int = 0
    talk_total: float = 0.0
    talk_longest: float | None = None
    hold_total: float = 0.0
    answer_wait_total: float = 0.0
    wrapped: int = 0
    processing_total: float = 0.0
    results: dict[str, int] = field(default_factory=dict)

    def add(self, other: Figures) -> None:
        for f in fields(self):
            if f.name in ("day", "agent", "hour"):
                continue
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if f.name == "talk_longest":
                value = max((v for v in (mine, theirs) if v is not None), default=None)
            elif f.name == "results":
                value = dict(mine)
                for name, n in theirs.items():
                    value[name] = value.get(name, 0) + n
            else:
                value = mine + theirs
            setattr(self, f.name, value)

    def fold(self, group) -> None:
        """Count one (direction, outcome) group of calls into these figures."""
        n, outcome = group["calls"], group["outcome"]
        if group["direction"] == "out":
            self.calls_out += n
            if outcome == "answered":
                self.out_connected += n
            elif outcome != "active":
                self.out_not_connected += n
        elif outcome == "answered-elsewhere":
            self.answered_elsewhere += n
        else:
            self.calls_in += n
            if outcome in ("answered", "missed", "rejected"):
                setattr(self, outcome, getattr(self, outcome) + n)
            elif outcome == "active":
                self.in_progress += n
        if outcome == "answered":
            self.connected += n
            self.talk_total += group["talk"]
            self.hold_total += group["hold"]
            if group["longest"] is not None:
                self.talk_longest = max(self.talk_longest or 0.0, group["longest"])
            if group["direction"] == "in":
                self.answer_wait_total += group["wait"]
                self.answered_in_time += group["in_time"]
        self.wrapped += group["wrapped"]
        self.processing_total += group["processing"]

    def count_result(self, result: str, outcome: str, n: int) -> None:
        """Count calls by their card's result; a call a colleague took is on their card."""
        if outcome == "answered-elsewhere":
            return
        name = result or NO_RESULT
        self.results[name] = self.results.get(name, 0) + n

    @property
    def calls(self) -> int:
        return self.calls_in + self.calls_out

    @property
    def answer_rate(self) -> float | None:
        return _ratio(self.answered, self.calls_in - self.in_progress)

    @property
    def service_level(self) -> float | None:
        return _ratio(self.answered_in_time, self.calls_in - self.in_progress)

    # Averages over the calls each is about: talk and hold over connected calls, time to
    # answer over answered incoming ones, processing over wrapped-up ones.
    avg_talk = property(lambda self: _ratio(self.talk_total, self.connected))
    avg_hold = property(lambda self: _ratio(self.hold_total, self.connected))
    avg_answer = property(lambda self: _ratio(self.answer_wait_total, self.answered))
    avg_processing = property(lambda self: _ratio(self.processing_total, self.wrapped))

    def row(self, service_level_seconds: int) -> dict:
        """The figures under CSV_COLUMNS: seconds to 0.1 s, rates to 4 places, results as
        a JSON object (name -> calls, by name)."""
        def secs(value):
            return None if value is None else round(value, 1)

        def rate(value):
            return None if value is None else round(value, 4)
        return {"day": self.day, "agent": self.agent, "calls_in": self.calls_in,
                "calls_out": self.calls_out, "answered": self.answered, "missed": self.missed,
                "rejected": self.rejected, "answered_elsewhere": self.answered_elsewhere,
                "answer_rate": rate(self.answer_rate),
                "avg_talk_seconds": secs(self.avg_talk),
                "max_talk_seconds": secs(self.talk_longest),
                "avg_hold_seconds": secs(self.avg_hold),
                "avg_answer_seconds": secs(self.avg_answer),
                "avg_processing_seconds": secs(self.avg_processing),
                "calls_out_connected": self.out_connected,
                "calls_out_not_connected": self.out_not_connected,
                "answered_in_time": self.answered_in_time,
                "service_level": rate(self.service_level),
                "service_level_seconds": service_level_seconds,
                "results": dict(sorted(self.results.items())), "hour": self.hour}


@dataclass
class Report:
    period: str
    first_day: date | None          # the period's first and last local day (None: open)
    last_day: date | None
    agent: str | None               # the --agent filter
    database: str
    generated_at: datetime
    service_level_seconds: int = SERVICE_LEVEL_SECONDS
    team: str | None = None         # the team store's teams the report covers, if named
    rows: list[Figures] = field(default_factory=list)     # per (day, agent), in order
    days: list[Figures] = field(default_factory=list)     # per day, all agents (charts)
    agents: list[Figures] = field(default_factory=list)   # per agent, the whole period
    hours: list[Figures] = field(default_factory=list)    # per hour of the day, 00..23
    total: Figures = field(default_factory=lambda: Figures(day=TOTAL))

    @property
    def span(self) -> str:
        first = self.first_day or (date.fromisoformat(self.rows[0].day) if self.rows else None)
        last = self.last_day or (date.fromisoformat(self.rows[-1].day) if self.rows else None)
        if first and last:
            return f"{first}" if first == last else f"{first} to {last}"
        return f"from {first}" if first else f"until {last}" if last else "all days"

    @property
    def who(self) -> str:
        who = f"agent {self.agent}" if self.agent else "all agents"
        return f"{who} of team {self.team}" if self.team else who

    @property
    def result_names(self) -> list[str]:
        """The results of the period, the most frequent first; 'no result' last."""
        counts = self.total.results
        named = sorted((n for n in counts if n != NO_RESULT), key=lambda n: (-counts[n], n))
        return named + ([NO_RESULT] if NO_RESULT in counts else [])

    @property
    def busy_hours(self) -> list[Figures]:
        """The hours of the day from the first to the last that had calls."""
        used = [n for n, f in enumerate(self.hours) if f.calls or f.answered_elsewhere]
        return self.hours[used[0]:used[-1] + 1] if used else []

    def to_dict(self) -> dict:
        level = self.service_level_seconds
        return {"period": self.period, "first_day": _iso(self.first_day),
                "last_day": _iso(self.last_day), "agent": self.agent,
                "database": self.database, "generated_at": self.generated_at.isoformat(),
                "team": self.team, "service_level_seconds": level,
                "rate_bands": [{"from": low, "rating": word} for low, word, _ in RATE_BANDS],
                "rows": [f.row(level) for f in self.rows],
                "days": [f.row(level) for f in self.days],
                "agents": [f.row(level) for f in self.agents],
                "hours": [f.row(level) for f in self.hours], "total": self.total.row(level)}


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def connect(db_path: Path) -> sqlite3.Connection:
    """The call log opened read-only: a report never changes it, nor waits for the daemon."""
    path = Path(db_path)
    conn = None
    try:
        conn = open_log(path, read_only=True, timeout=2.0)
        columns = {row[1] for row in conn.execute("PRAGMA table_info(calls)")}
    except OSError:
        raise NoDatabase(f"no call log at {path}: the daemon creates it when it first runs "
                         "(`cc daemon start`), or give --database FILE") from None
    except sqlite3.Error as exc:
        if conn is not None:
            conn.close()
        raise ReportError(f"cannot read the call log {path}: {exc}") from None
    if not columns:
        conn.close()
        raise ReportError(f"{path} is not a cc call log (it has no calls table)")
    if "processing_seconds" not in columns or "result" not in columns:
        conn.close()
        raise ReportError(f"{path} was written by an older cc: start the daemon once "
                          "(`cc daemon start`) to bring it up to date")
    return conn


def build(db_path: Path, period: str, agent: str | None = None,
          today: date | None = None,
          service_level_seconds: int = SERVICE_LEVEL_SECONDS) -> Report:
    """The report of `period` (a name from daemon.periods, or FROM..TO), for one agent or all.

    Raises periods.PeriodError for a period it cannot read, ReportError (NoDatabase when the
    file is missing) for a call log it cannot read.
    """
    first_day, last_day = periods.days(period, today)
    start, end = periods.bounds(period, today)
    conn = connect(db_path)
    conn.row_factory = sqlite3.Row
    rows: list[Figures] = []
    hours = [Figures(hour=f"{h:02}") for h in range(24)]
    try:
        for day in _days_with_calls(conn, start, end, agent):
            day_start, day_end = periods.bounds(f"{day}..{day}")
            args = {"agent": agent, "start": day_start, "end": day_end,
                    "level": service_level_seconds}
            by_agent: dict[str, Figures] = {}
            for group in conn.execute(day_query(bool(agent)), args):
                name = group["agent"]
                figures = by_agent.setdefault(name, Figures(day=day.isoformat(), agent=name))
                figures.fold(group)
                figures.count_result(group["result"], group["outcome"], group["calls"])
            for group in conn.execute(day_query(bool(agent), hours=True), args):
                hours[group["hour"]].fold(group)
            rows += [by_agent[name] for name in sorted(by_agent)]
    except sqlite3.Error as exc:
        raise ReportError(f"cannot read the call log {db_path}: {exc}") from None
    finally:
        conn.close()

    return assemble(period, first_day, last_day, agent, str(db_path), rows, hours,
                    service_level_seconds)


def assemble(period: str, first_day: date | None, last_day: date | None, agent: str | None,
             database: str, rows: list[Figures], hours: list[Figures] | None = None,
             service_level_seconds: int = SERVICE_LEVEL_SECONDS,
             team: str | None = None) -> Report:
    """The report of the (day, agent) rows, in order, and the 24 hours of the day: totals
    per day, per agent and all."""
    report = Report(period=period, first_day=first_day, last_day=last_day, agent=agent,
                    database=database, generated_at=datetime.now().astimezone(),
                    service_level_seconds=service_level_seconds, team=team, rows=rows,
                    hours=hours or [Figures(hour=f"{h:02}") for h in range(24)])
    report.total.agent = agent or ""
    by_day: dict[str, Figures] = {}
    by_agent_total: dict[str, Figures] = {}
    for figures in rows:
        by_day.setdefault(figures.day, Figures(day=figures.day)).add(figures)
        by_agent_total.setdefault(figures.agent,
                                  Figures(day=TOTAL, agent=figures.agent)).add(figures)
        report.total.add(figures)
    report.agents = [by_agent_total[name] for name in sorted(by_agent_total)]
    report.days = [by_day.get(day) or Figures(day=day)
                   for day in _chart_days(first_day, last_day, sorted(by_day))]
    return report


def _days_with_calls(conn: sqlite3.Connection, start: str | None, end: str | None,
                     agent: str | None):
    """The local days from the first to the last call of the period (ends of the index)."""
    where, args = periods.sql_range(start, end)
    if agent:
        where.append("agent = ?")
        args.append(agent)
    where_sql = f" where {' and '.join(where)}" if where else ""
    # Two queries: SQLite reads a lone min() or max() off the end of an index.
    first, = conn.execute(f"select min(started_at) from calls{where_sql}", args).fetchone()
    last, = conn.execute(f"select max(started_at) from calls{where_sql}", args).fetchone()
    if first is None:
        return
    day, last_day = _local_day(first), _local_day(last)
    while day <= last_day:
        yield day
        day += timedelta(1)


def _local_day(iso: str) -> date:
    moment = datetime.fromisoformat(iso)
    if moment.tzinfo is None:     # as SQLite reads it: a time without an offset is UTC
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone().date()


def _chart_days(first: date | None, last: date | None, seen: list[str]) -> list[str]:
    """Every day of the period (quiet days too), or only the days with calls if it is long."""
    lo = first or (date.fromisoformat(seen[0]) if seen else None)
    hi = last or (date.fromisoformat(seen[-1]) if seen else None)
    if lo is None or hi is None or (hi - lo).days >= FILLED_DAYS_AT_MOST:
        return seen
    return [(lo + timedelta(n)).isoformat() for n in range((hi - lo).days + 1)]


# ---------------------------------------------------------------- formatting helpers

def duration(seconds: float | None) -> str:
    return units.duration(seconds, missing="-")    # a report's empty cell shows "-"


def percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.0f}%"


def rated(rate: float | None) -> str:
    """A rate with its word, e.g. '62% low', so no reader depends on a colour."""
    word, _ = rating(rate)
    return f"{percent(rate)} {word}".strip()


def _plain(text: str) -> str:
    """Text without control characters, so a name can never drive the terminal."""
    return "".join("?" if unicodedata.category(ch) == "Cc" else ch for ch in text)


def _agent_name(name: str) -> str:
    return name or "(no agent)"


Column = tuple[str, str, Callable[[Figures], str]]    # (group, header, value)
# (headers, drop ranks, rows) -> the indices of the columns to show
Fit = Callable[[list[str], list[int], list[list[str]]], list[int]]


def _table_columns(report: Report) -> list[Column]:
    """The figures of the text and HTML tables under their group (incoming, outgoing,
    times); rejected and answered elsewhere only if the period has any."""
    level = f"SL {report.service_level_seconds}s"
    incoming: list[Column] = [
        ("incoming", "calls", lambda f: str(f.calls_in)),
        ("incoming", "answered", lambda f: str(f.answered)),
        ("incoming", "missed", lambda f: str(f.missed))]
    if report.total.rejected:
        incoming.append(("incoming", "rejected", lambda f: str(f.rejected)))
    if report.total.answered_elsewhere:
        incoming.append(("incoming", "elsewhere", lambda f: str(f.answered_elsewhere)))
    incoming += [("incoming", "rate", lambda f: percent(f.answer_rate)),
                 ("incoming", level, lambda f: percent(f.service_level))]
    return incoming + [
        ("outgoing", "calls", lambda f: str(f.calls_out)),
        ("outgoing", "connected", lambda f: str(f.out_connected)),
        ("outgoing", "not connected", lambda f: str(f.out_not_connected)),
        ("times", "avg talk", lambda f: duration(f.avg_talk)),
        ("times", "max talk", lambda f: duration(f.talk_longest)),
        ("times", "avg hold", lambda f: duration(f.avg_hold)),
        ("times", "to answer", lambda f: duration(f.avg_answer)),
        ("times", "wrap-up", lambda f: duration(f.avg_processing))]


def _hour_columns(report: Report) -> list[Column]:
    level = f"SL {report.service_level_seconds}s"
    return [("incoming", "calls", lambda f: str(f.calls_in)),
            ("incoming", "answered", lambda f: str(f.answered)),
            ("incoming", "missed", lambda f: str(f.missed)),
            ("incoming", "rate", lambda f: percent(f.answer_rate)),
            ("incoming", level, lambda f: percent(f.service_level)),
            ("outgoing", "calls", lambda f: str(f.calls_out)),
            ("outgoing", "connected", lambda f: str(f.out_connected)),
            ("times", "to answer", lambda f: duration(f.avg_answer))]


def _result_columns(report: Report) -> list[Column]:
    return [("", name, lambda f, name=name: str(f.results.get(name, 0)))
            for name in report.result_names] + [("", "calls", lambda f: str(f.calls))]


def _hour_label(f: Figures) -> str:
    return f"{f.hour}:00"


def title(report: Report) -> str:
    named = "" if ".." in report.period else f"{report.period}, "
    return f"Call report: {named}{report.span}, {report.who}"


def summary_lines(report: Report) -> list[str]:
    """The period in words: incoming and outgoing apart, each rate with its rating."""
    t, level = report.total, report.service_level_seconds
    incoming = f"Incoming: {t.calls_in} calls; answered {t.answered}, missed {t.missed}"
    if t.rejected:
        incoming += f", rejected {t.rejected}"
    if t.in_progress:
        incoming += f", {t.in_progress} still in progress"
    if t.answered_elsewhere:
        incoming += f"; {t.answered_elsewhere} answered elsewhere (by a colleague)"
    lines = [incoming,
             f"Answer rate {rated(t.answer_rate)}; service level {rated(t.service_level)} "
             f"(answered within {level} s of ringing)",
             f"Outgoing: {t.calls_out} calls; connected {t.out_connected}, not connected "
             f"{t.out_not_connected}"]
    if t.results:
        lines.append("Results: " + ", ".join(f"{name} {t.results[name]}"
                                              for name in report.result_names))
    return lines


# ---------------------------------------------------------------- text

# Which figures give way first when a terminal is too narrow for the whole table (the
# highest first); the key columns and the ones not named here never drop.
DROP_FIRST = ("max talk", "avg hold", "wrap-up", "to answer", "not connected", "elsewhere",
              "rejected", "connected", "avg talk")


def _drop_rank(header: str, position: int, count: int, results: bool) -> int:
    if results:     # one column per result of the catalogue, then the calls
        return count - position if position < count - 1 else 0
    if header in DROP_FIRST:
        return len(DROP_FIRST) - DROP_FIRST.index(header) + 1
    if header.startswith("SL "):
        return 1
    return 0


def _text_table(keys: list[str], columns: list[Column], body: list[list[str]],
                foot: list[list[str]], fit: Fit | None = None,
                results: bool = False) -> list[str]:
    """Aligned lines: the key columns left, the figures right, their groups above. With
    `fit` (at a terminal), only the columns it keeps: the least useful figures drop first
    (in the results table, the last results first; the calls never)."""
    if fit is not None:
        heads = [*keys, *(name for _, name, _ in columns)]
        ranks = [0] * len(keys) + [_drop_rank(name, k, len(columns), results)
                                   for k, (_, name, _) in enumerate(columns)]
        kept = [i for i in fit(heads, ranks, [*body, *foot]) if i >= len(keys)]
        columns = [columns[i - len(keys)] for i in kept]
        keep = list(range(len(keys))) + kept
        body, foot = ([[row[i] for i in keep] for row in rows] for rows in (body, foot))
    header = [*keys, *(name for _, name, _ in columns)]
    width = [max(len(r[i]) for r in [header, *body, *foot]) for i in range(len(header))]
    n = len(keys)

    def line(cells):
        left = [c.ljust(w) for c, w in zip(cells[:n], width)]
        right = [c.rjust(w) for c, w in zip(cells[n:], width[n:])]
        return "  ".join(left + right).rstrip()

    groups, spans = [], []
    for k, (group, _, _) in enumerate(columns):
        if groups and groups[-1] == group:
            spans[-1] += width[n + k] + 2
        else:
            groups.append(group)
            spans.append(width[n + k])
    above = "  ".join([" " * w for w in width[:n]] +
                      [(f"{_group_label(g, s)} ".ljust(s, "-")[:s] if g else " " * s)
                       for g, s in zip(groups, spans)])
    lines = [above.rstrip()] if any(groups) else []
    lines += [line(header), *(line(r) for r in body)]
    if foot:
        lines += ["", *(line(r) for r in foot)]
    return lines


SHORT_GROUPS = {"incoming": "in", "outgoing": "out"}


def _group_label(group: str, span: int) -> str:
    """A group's name over its columns, shortened when a terminal left it one narrow one."""
    return group if len(group) < span else SHORT_GROUPS.get(group, group)


def render_text(report: Report, fit: Fit | None = None, room: int | None = None) -> str:
    """Aligned plain text for a terminal or a mail body: no colour, no control codes.
    Whole by default (a pipe, a file, a mail); at a terminal the CLI passes `fit`, which
    keeps the columns that fit its width (cccli.table's layout), and the width `room`
    the sentences are wrapped to."""
    lines = [_plain(title(report)),
             f"generated {report.generated_at:%Y-%m-%d %H:%M %Z} (local days)", ""]
    if not report.rows:
        lines.append("no calls in this period")
        return "\n".join(lines) + "\n"
    for line in summary_lines(report):
        lines += textwrap.wrap(line, room, subsequent_indent="  ") if room else [line]
    lines.append("")
    columns = _table_columns(report)
    body, previous = [], None
    for f in report.rows:
        body.append([f.day if f.day != previous else "", _plain(_agent_name(f.agent)),
                     *(value(f) for _, _, value in columns)])
        previous = f.day
    foot = []
    if len(report.agents) > 1 and len({f.day for f in report.rows}) > 1:
        foot = [["all days" if n == 0 else "", _plain(_agent_name(f.agent)),
                 *(value(f) for _, _, value in columns)] for n, f in enumerate(report.agents)]
    only = report.agent or (report.agents[0].agent if len(report.agents) == 1 else "")
    foot.append([TOTAL, _plain(only), *(value(report.total) for _, _, value in columns)])
    lines += _text_table(["day", "agent"], columns, body, foot, fit)

    lines += ["", "Results of the call cards, per agent"]
    results = _result_columns(report)
    lines += _text_table(["agent"], results,
                         [[_plain(_agent_name(f.agent)), *(v(f) for _, _, v in results)]
                          for f in report.agents],
                         [[TOTAL, *(v(report.total) for _, _, v in results)]]
                         if len(report.agents) > 1 else [], fit, results=True)
    lines += ["", "By hour of the day, all days and agents"]
    hours = _hour_columns(report)
    lines += _text_table(["hour"], hours, [[_hour_label(f), *(v(f) for _, _, v in hours)]
                                           for f in report.busy_hours], [], fit)
    lines += ["", *textwrap.wrap(rate_note(report.service_level_seconds), min(88, room or 88))]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- CSV

def render_csv(report: Report) -> str:
    """CSV_COLUMNS: one row per (day, agent), one per busy hour of the day, then TOTAL; an
    empty cell = no figure; results as a JSON object (not counted per hour: empty)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    level = report.service_level_seconds
    hours = [f for f in report.hours if f.calls or f.answered_elsewhere]
    for f in [*report.rows, *hours, report.total]:
        row = f.row(level)
        row["results"] = "" if f.hour else json.dumps(row["results"], ensure_ascii=False,
                                                      separators=(",", ":"))
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue()


# ---------------------------------------------------------------- HTML for mail clients
# Mail clients drop <style> blocks, scripts, SVG and linked stylesheets: every element
# carries its own style attribute, and the charts are table cells of a set width and
# background colour (with bgcolor and width attributes too, for the oldest clients).

IN_COLOUR, OUT_COLOUR = "#2f6fbd", "#e8a33d"
BAR_MAX = 360           # pixels of the longest bar
BAR_HEIGHT = 12
FONT = "font-family:Arial,Helvetica,sans-serif"
MUTED = "#616e7c"
TINTS = {"good": "#e8f5e9", "fair": "#fff4e0", "low": "#fdecea"}
CELL = "padding:3px 8px;border-bottom:1px solid #e4e7eb;white-space:nowrap;font-size:13px"
TABLE = 'role="presentation" cellpadding="0" cellspacing="0" border="0"'


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _cell(tag: str, value, left: bool, extra: str = "", span: int = 1) -> str:
    align = "left" if left else "right"
    colspan = f' colspan="{span}"' if span > 1 else ""
    return (f'<{tag}{colspan} align="{align}" style="{CELL};text-align:{align}{extra}">'
            f"{_e(value)}</{tag}>")


def _html_table(keys: list[str], columns: list[Column], body: list[list[str]],
                foot: list[list[str]]) -> str:
    n = len(keys)
    head = "#f5f7fa"
    groups: list[list] = []
    for group, _, _ in columns:
        if groups and groups[-1][0] == group:
            groups[-1][1] += 1
        else:
            groups.append([group, 1])
    top = "\n".join([_cell("th", "", True, f";background-color:{head}", n)] +
                  [_cell("th", g, False, f";background-color:{head};color:{MUTED};"
                         "text-align:center", s)
                   for g, s in groups])
    names = "\n".join(_cell("th", name, k < n, f";background-color:{head}")
                    for k, name in enumerate([*keys, *(c[1] for c in columns)]))

    def tr(values, extra=""):
        return "<tr>" + "\n".join(_cell("td", v, k < n, extra)
                                  for k, v in enumerate(values)) + "</tr>"
    # One cell a line: mail (SMTP) limits lines to 998 characters.
    rows = "\n".join([tr(r) for r in body] +
                     [tr(r, ";font-weight:bold;border-top:2px solid #9aa5b1") for r in foot])
    above = f"<tr>{top}</tr>\n" if any(g for g, _ in groups) else ""
    return (f'<table {TABLE} style="border-collapse:collapse;{FONT};color:#1f2933">\n'
            f"{above}<tr>{names}</tr>\n{rows}\n</table>")


def _bar(value: float, top: float, colour: str, text: str) -> str:
    """One bar of `value` on a scale to `top`, followed by its figure in words."""
    px = round(BAR_MAX * value / top) if top > 0 else 0
    bar = (f'<td width="{px}" height="{BAR_HEIGHT}" bgcolor="{colour}" style="width:{px}px;'
           f"height:{BAR_HEIGHT}px;background-color:{colour};padding:0;font-size:1px;"
           f'line-height:1px">&nbsp;</td>') if px > 0 else ""
    return (f'<table {TABLE} style="border-collapse:collapse;margin:1px 0"><tr>{bar}\n'
            f'<td style="padding:0 0 0 6px;{FONT};font-size:11px;line-height:{BAR_HEIGHT}px;'
            f'color:#52606d;white-space:nowrap">{_e(text)}</td></tr></table>')


def _chart(rows: list[tuple[str, list[str]]]) -> str:
    """A chart as a table: a label and its bars on each row."""
    body = "\n".join(
        f'<tr><td style="padding:3px 10px 3px 0;{FONT};font-size:12px;color:#1f2933;'
        f'white-space:nowrap;vertical-align:middle">{_e(label)}</td>\n'
        f'<td style="padding:3px 0;border-bottom:1px solid #f0f2f5">\n{chr(10).join(bars)}'
        "</td></tr>" for label, bars in rows)
    return f'<table {TABLE} style="border-collapse:collapse">\n{body}\n</table>'


def _legend(items: list[tuple[str, str]]) -> str:
    return ('<p style="margin:4px 0;' + FONT + f';font-size:12px;color:{MUTED}">' +
            " &nbsp; ".join(f'<span style="color:{colour}">&#9632;</span> {_e(text)}'
                            for text, colour in items) + "</p>")


def _day_label(day: str, count: int) -> str:
    d = date.fromisoformat(day)
    return f"{d:%a} {d.day}" if count <= 14 else f"{d:%Y-%m-%d}"


def _calls_chart(days: list[Figures]) -> str:
    top = max((max(f.calls_in, f.calls_out) for f in days), default=0)
    return _chart([(_day_label(f.day, len(days)),
                    [_bar(f.calls_in, top, IN_COLOUR, f"{f.calls_in} in"),
                     _bar(f.calls_out, top, OUT_COLOUR, f"{f.calls_out} out")]) for f in days])


def _rate_chart(days: list[Figures]) -> str:
    rows = []
    for f in days:
        rate = f.answer_rate
        if rate is None:
            rows.append((_day_label(f.day, len(days)),
                         [_bar(0, 1, "", "no incoming calls")]))
            continue
        ended = f.calls_in - f.in_progress
        rows.append((_day_label(f.day, len(days)),
                     [_bar(rate, 1, rating(rate)[1],
                           f"{rated(rate)} ({f.answered} of {ended} answered)")]))
    return _chart(rows)


def _hours_chart(hours: list[Figures]) -> str:
    top = max((max(f.calls_in, f.calls_out) for f in hours), default=0)
    return _chart([(_hour_label(f),
                    [_bar(f.calls_in, top, IN_COLOUR,
                          f"{f.calls_in} in, {f.answered} answered"),
                     _bar(f.calls_out, top, OUT_COLOUR, f"{f.calls_out} out")])
                   for f in hours])


def _card(value: str, label: str, word: str = "") -> str:
    colour = next((c for _, w, c in RATE_BANDS if w == word), "#1f2933")
    tint = TINTS.get(word, "#ffffff")
    rated_word = (f'<div style="font-size:12px;font-weight:bold;color:{colour}">{_e(word)}'
                  "</div>") if word else ""
    return (f'<td bgcolor="{tint}" style="border:1px solid #e4e7eb;padding:8px 14px;'
            f'background-color:{tint};{FONT};vertical-align:top">'
            f'<div style="font-size:20px;font-weight:bold;color:{colour}">{_e(value)}</div>'
            f"{rated_word}"
            f'<div style="font-size:12px;color:{MUTED}">{_e(label)}</div></td>')


def _h2(text: str) -> str:
    return f'<h2 style="{FONT};font-size:16px;margin:24px 0 6px;color:#1f2933">{_e(text)}</h2>'


def render_html(report: Report) -> str:
    """One page a mail client shows as it is: inline styles only, charts as table bars,
    every text escaped."""
    heading = title(report)
    t, level = report.total, report.service_level_seconds
    parts = [
        "<!doctype html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(heading)}</title>", "</head>",
        '<body style="margin:0;padding:0;background-color:#ffffff">',
        f'<table {TABLE} width="100%" style="border-collapse:collapse"><tr>'
        f'<td style="padding:16px 20px;{FONT};font-size:14px;color:#1f2933">',
        f'<h1 style="{FONT};font-size:20px;margin:0 0 4px;color:#1f2933">{_e(heading)}</h1>',
        f'<p style="margin:0 0 12px;{FONT};font-size:13px;color:{MUTED}">Generated '
        f'{_e(f"{report.generated_at:%Y-%m-%d %H:%M %Z}")} from {_e(report.database)}; '
        "days and hours are local.</p>",
    ]
    if not report.rows:
        parts += [f'<p style="{FONT}">No calls in this period.</p>', "</td></tr></table>",
                  "</body>", "</html>"]
        return "\n".join(parts) + "\n"
    cards = [_card(str(t.calls_in), "incoming calls"),
             _card(str(t.answered), "incoming answered"),
             _card(str(t.missed + t.rejected), "incoming missed or rejected"),
             _card(percent(t.answer_rate), "answer rate (incoming)", rating(t.answer_rate)[0]),
             _card(percent(t.service_level), f"answered within {level} s of ringing",
                   rating(t.service_level)[0]),
             _card(str(t.calls_out), "outgoing calls"),
             _card(str(t.out_connected), "outgoing connected"),
             _card(str(t.out_not_connected), "outgoing not connected"),
             _card(duration(t.avg_talk), "average talk")]
    parts += [f'<table {TABLE} style="border-collapse:separate;border-spacing:6px;'
              f'margin:0 -6px">', "<tr>", *cards[:5], "</tr>", "<tr>", *cards[5:], "</tr>",
              "</table>"]
    parts += [f'<p style="margin:8px 0;{FONT};font-size:13px">{_e(line)}</p>'
              for line in summary_lines(report)]
    parts += [_h2("Calls per day"), _legend([("incoming", IN_COLOUR), ("outgoing", OUT_COLOUR)]),
              _calls_chart(report.days),
              _h2("Answer rate per day"),
              _legend([(f"good from {RATE_BANDS[0][0]:.0%}", RATE_BANDS[0][2]),
                        (f"fair from {RATE_BANDS[1][0]:.0%}", RATE_BANDS[1][2]),
                        ("low below", RATE_BANDS[2][2])]),
              _rate_chart(report.days),
              _h2("Calls by hour of the day"),
              _legend([("incoming", IN_COLOUR), ("outgoing", OUT_COLOUR)]),
              _hours_chart(report.busy_hours)]
    columns = _table_columns(report)
    parts += [_h2("Per day and agent"),
              _html_table(["day", "agent"], columns,
                          [[f.day, _agent_name(f.agent), *(v(f) for _, _, v in columns)]
                           for f in report.rows],
                          [["Total", "all agents" if len(report.agents) > 1 else
                            _agent_name(report.agents[0].agent),
                            *(v(t) for _, _, v in columns)]])]
    if len(report.agents) > 1 and len({f.day for f in report.rows}) > 1:
        parts += [_h2("Per agent"),
                  _html_table(["agent"], columns,
                              [[_agent_name(f.agent), *(v(f) for _, _, v in columns)]
                               for f in report.agents],
                              [["Total", *(v(t) for _, _, v in columns)]])]
    results = _result_columns(report)
    parts += [_h2("Results of the call cards"),
              _html_table(["agent"], results,
                          [[_agent_name(f.agent), *(v(f) for _, _, v in results)]
                           for f in report.agents],
                          [["Total", *(v(t) for _, _, v in results)]])]
    hours = _hour_columns(report)
    parts += [_h2("By hour of the day"),
              _html_table(["hour"], hours, [[_hour_label(f), *(v(f) for _, _, v in hours)]
                                            for f in report.busy_hours], [])]
    parts += [f'<p style="margin:20px 0 0;{FONT};font-size:12px;color:{MUTED};'
              f'max-width:760px">{_e(rate_note(level))}</p>',
              "</td></tr></table>", "</body>", "</html>"]
    return "\n".join(parts) + "\n"
