"""Call reports for a period (F49): per local day and agent, and totals, as text, CSV or HTML.

A library, read by `cc report` without a daemon: `build()` opens the call log read-only
and lets SQLite aggregate, one local day at a time: each day is a range of the
started_at (or agent, started_at) index, grouped by agent, direction and outcome, so
SQLite only ever sorts one day's calls. (One GROUP BY date(started_at, 'localtime') over
the whole period gives the same groups but sorts every call in one temporary B-tree; on
a million calls it took about twice as long.) The few groups are folded into `Figures`
here, and the renderers turn them into text, CSV or one self-contained HTML file with
inline SVG charts.

How the figures are counted:

- `calls_in` counts incoming calls offered to the agent, except `answered-elsewhere`
  (a group call a colleague took), which is counted apart as `answered_elsewhere`;
  `calls_out` counts every outgoing call.
- `answered`, `missed`, `rejected` count incoming calls by outcome.
- `answer_rate` = answered / incoming calls that have ended (calls_in minus those still
  in progress). A rejected or failed call counts as not answered; answered-elsewhere is
  left out of both sides, as the agent was not the one who lost it.
- `avg_talk`, `avg_hold` and `max_talk` are over answered calls, in and out.
- `avg_answer` (time to answer) is the ringing time (`wait_seconds`) of answered
  incoming calls; `avg_processing` (wrap-up) is over calls with a recorded wrap-up.
"""

from __future__ import annotations

import csv
import html
import io
import math
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


RATE_NOTE = ("Answer rate = answered incoming calls / incoming calls that have ended. "
             "Rejected and failed calls count as not answered; answered-elsewhere (a group "
             "call a colleague took) is left out of both sides. Talk and hold are averaged "
             "over answered calls (in and out); time to answer over answered incoming calls; "
             "wrap-up over calls with a recorded wrap-up. Days are local days.")

# Stable CSV columns (F49): one row per (day, agent), then a TOTAL row.
CSV_COLUMNS = ("day", "agent", "calls_in", "calls_out", "answered", "missed", "rejected",
               "answered_elsewhere", "answer_rate", "avg_talk_seconds", "max_talk_seconds",
               "avg_hold_seconds", "avg_answer_seconds", "avg_processing_seconds")
TOTAL = "TOTAL"
FILLED_DAYS_AT_MOST = 366   # longer periods chart only the days that have calls

# One local day's calls, grouped so each group adds to a Figures in one way (fold()).
_DAY_SQL = """
select coalesce(agent, '') as agent, direction, coalesce(outcome, '') as outcome,
       count(*) as calls, total(talk_seconds) as talk, max(talk_seconds) as longest,
       total(hold_seconds) as hold, total(wait_seconds) as wait,
       count(processing_seconds) as wrapped, total(processing_seconds) as processing
from calls where {agent}started_at >= ? and started_at < ?
group by 1, 2, 3"""


def day_query(agent: bool = False) -> str:
    """The query of one day: parameters ([agent,] start, end) with UTC ISO bounds."""
    return _DAY_SQL.format(agent="agent = ? and " if agent else "")


class ReportError(Exception):
    """The call log cannot be read; the message names the file and the way out."""


class NoDatabase(ReportError):
    pass


@dataclass
class Figures:
    """Sums and counts of one group of calls; the averages are derived, so groups add up."""

    day: str = ""
    agent: str = ""
    calls_in: int = 0
    calls_out: int = 0
    answered: int = 0
    missed: int = 0
    rejected: int = 0
    answered_elsewhere: int = 0
    in_progress: int = 0
    connected: int = 0
    talk_total: float = 0.0
    talk_longest: float | None = None
    hold_total: float = 0.0
    answer_wait_total: float = 0.0
    wrapped: int = 0
    processing_total: float = 0.0

    def add(self, other: Figures) -> None:
        for f in fields(self):
            if f.name in ("day", "agent"):
                continue
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if f.name == "talk_longest":
                value = max((v for v in (mine, theirs) if v is not None), default=None)
            else:
                value = mine + theirs
            setattr(self, f.name, value)

    def fold(self, group: sqlite3.Row) -> None:
        """Count one (direction, outcome) group of calls into these figures."""
        n, outcome = group["calls"], group["outcome"]
        if group["direction"] == "out":
            self.calls_out += n
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
        self.wrapped += group["wrapped"]
        self.processing_total += group["processing"]

    @property
    def calls(self) -> int:
        return self.calls_in + self.calls_out

    @property
    def answer_rate(self) -> float | None:
        return _ratio(self.answered, self.calls_in - self.in_progress)

    # Averages over the calls each is about: talk and hold over connected calls, time to
    # answer over answered incoming ones, processing over wrapped-up ones.
    avg_talk = property(lambda self: _ratio(self.talk_total, self.connected))
    avg_hold = property(lambda self: _ratio(self.hold_total, self.connected))
    avg_answer = property(lambda self: _ratio(self.answer_wait_total, self.answered))
    avg_processing = property(lambda self: _ratio(self.processing_total, self.wrapped))

    def row(self) -> dict:
        """The figures under CSV_COLUMNS: seconds to 0.1 s, the rate to 4 places."""
        def secs(value):
            return None if value is None else round(value, 1)
        rate = self.answer_rate
        return {"day": self.day, "agent": self.agent, "calls_in": self.calls_in,
                "calls_out": self.calls_out, "answered": self.answered, "missed": self.missed,
                "rejected": self.rejected, "answered_elsewhere": self.answered_elsewhere,
                "answer_rate": None if rate is None else round(rate, 4),
                "avg_talk_seconds": secs(self.avg_talk),
                "max_talk_seconds": secs(self.talk_longest),
                "avg_hold_seconds": secs(self.avg_hold),
                "avg_answer_seconds": secs(self.avg_answer),
                "avg_processing_seconds": secs(self.avg_processing)}


@dataclass
class Report:
    period: str
    first_day: date | None          # the period's first and last local day (None: open)
    last_day: date | None
    agent: str | None               # the --agent filter
    database: str
    generated_at: datetime
    rows: list[Figures] = field(default_factory=list)     # per (day, agent), in order
    days: list[Figures] = field(default_factory=list)     # per day, all agents (charts)
    agents: list[Figures] = field(default_factory=list)   # per agent, the whole period
    total: Figures = field(default_factory=lambda: Figures(day=TOTAL))

    @property
    def span(self) -> str:
        first = self.first_day or (date.fromisoformat(self.rows[0].day) if self.rows else None)
        last = self.last_day or (date.fromisoformat(self.rows[-1].day) if self.rows else None)
        if first and last:
            return f"{first} to {last}"
        return f"from {first}" if first else f"until {last}" if last else "all days"

    @property
    def who(self) -> str:
        return f"agent {self.agent}" if self.agent else "all agents"

    def to_dict(self) -> dict:
        return {"period": self.period, "first_day": _iso(self.first_day),
                "last_day": _iso(self.last_day), "agent": self.agent,
                "database": self.database, "generated_at": self.generated_at.isoformat(),
                "rows": [f.row() for f in self.rows], "days": [f.row() for f in self.days],
                "agents": [f.row() for f in self.agents], "total": self.total.row()}


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
    if "processing_seconds" not in columns:
        conn.close()
        raise ReportError(f"{path} was written by an older cc: start the daemon once "
                          "(`cc daemon start`) to bring it up to date")
    return conn


def build(db_path: Path, period: str, agent: str | None = None,
          today: date | None = None) -> Report:
    """The report of `period` (a name from daemon.periods, or FROM..TO), for one agent or all.

    Raises periods.PeriodError for a period it cannot read, ReportError (NoDatabase when the
    file is missing) for a call log it cannot read.
    """
    first_day, last_day = periods.days(period, today)
    start, end = periods.bounds(period, today)
    conn = connect(db_path)
    conn.row_factory = sqlite3.Row
    rows: list[Figures] = []
    try:
        for day in _days_with_calls(conn, start, end, agent):
            day_start, day_end = periods.bounds(f"{day}..{day}")
            args = [agent, day_start, day_end] if agent else [day_start, day_end]
            by_agent: dict[str, Figures] = {}
            for group in conn.execute(day_query(bool(agent)), args):
                name = group["agent"]
                by_agent.setdefault(name, Figures(day=day.isoformat(), agent=name)).fold(group)
            rows += [by_agent[name] for name in sorted(by_agent)]
    except sqlite3.Error as exc:
        raise ReportError(f"cannot read the call log {db_path}: {exc}") from None
    finally:
        conn.close()

    return assemble(period, first_day, last_day, agent, str(db_path), rows)


def assemble(period: str, first_day: date | None, last_day: date | None, agent: str | None,
             database: str, rows: list[Figures]) -> Report:
    """The report of the (day, agent) rows, in order: totals per day, per agent and all."""
    report = Report(period=period, first_day=first_day, last_day=last_day, agent=agent,
                    database=database, generated_at=datetime.now().astimezone(),
                    rows=rows)
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


def _plain(text: str) -> str:
    """Text without control characters, so a name can never drive the terminal."""
    return "".join("?" if unicodedata.category(ch) == "Cc" else ch for ch in text)


def _agent_name(name: str) -> str:
    return name or "(no agent)"


def _table_columns(report: Report) -> list[tuple[str, Callable[[Figures], str]]]:
    """(header, value) of the text and HTML tables; rejected and elsewhere only if any."""
    columns = [("in", lambda f: str(f.calls_in)), ("out", lambda f: str(f.calls_out)),
               ("answered", lambda f: str(f.answered)), ("missed", lambda f: str(f.missed))]
    if report.total.rejected:
        columns.append(("rejected", lambda f: str(f.rejected)))
    if report.total.answered_elsewhere:
        columns.append(("elsewhere", lambda f: str(f.answered_elsewhere)))
    columns += [("rate", lambda f: percent(f.answer_rate)),
                ("avg talk", lambda f: duration(f.avg_talk)),
                ("max talk", lambda f: duration(f.talk_longest)),
                ("avg hold", lambda f: duration(f.avg_hold)),
                ("to answer", lambda f: duration(f.avg_answer)),
                ("wrap-up", lambda f: duration(f.avg_processing))]
    return columns


def _title(report: Report) -> str:
    named = "" if ".." in report.period else f"{report.period}, "
    return f"Call report: {named}{report.span}, {report.who}"


# ---------------------------------------------------------------- text

def render_text(report: Report) -> str:
    """Aligned plain text for a terminal or a mail body: no colour, no control codes."""
    lines = [_plain(_title(report)),
             f"generated {report.generated_at:%Y-%m-%d %H:%M %Z} (local days)", ""]
    if not report.rows:
        lines.append("no calls in this period")
        return "\n".join(lines) + "\n"
    columns = _table_columns(report)
    table = [["day", "agent", *(name for name, _ in columns)]]
    previous = None
    for f in report.rows:
        table.append([f.day if f.day != previous else "", _plain(_agent_name(f.agent)),
                      *(value(f) for _, value in columns)])
        previous = f.day
    summary = []
    if len(report.agents) > 1:
        summary = [["all days" if n == 0 else "", _plain(_agent_name(f.agent)),
                    *(value(f) for _, value in columns)] for n, f in enumerate(report.agents)]
    only = report.agent or (report.agents[0].agent if len(report.agents) == 1 else "")
    summary.append([TOTAL, _plain(only), *(value(report.total) for _, value in columns)])
    widths = [max(len(r[i]) for r in table + summary) for i in range(len(table[0]))]

    def line(cells):
        left = [c.ljust(w) for c, w in zip(cells[:2], widths)]
        right = [c.rjust(w) for c, w in zip(cells[2:], widths[2:])]
        return "  ".join(left + right).rstrip()

    lines += [line(r) for r in table]
    lines.append("")
    lines += [line(r) for r in summary]
    lines += ["", *textwrap.wrap(RATE_NOTE, 88)]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- CSV

def render_csv(report: Report) -> str:
    """CSV_COLUMNS: one row per (day, agent), then a TOTAL row; empty cell = no figure."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for f in [*report.rows, report.total]:
        writer.writerow({k: "" if v is None else v for k, v in f.row().items()})
    return out.getvalue()


# ---------------------------------------------------------------- HTML

CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: #1f2933; background: #fff; margin: 24px auto; max-width: 980px;
       padding: 0 16px; }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 28px 0 8px; }
.meta, .note { color: #616e7c; }
.note { font-size: 12px; max-width: 760px; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 16px 0; }
.card { border: 1px solid #e4e7eb; border-radius: 6px; padding: 8px 14px; min-width: 96px; }
.card b { display: block; font-size: 20px; }
.card span { color: #616e7c; font-size: 12px; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 8px; border-bottom: 1px solid #e4e7eb; white-space: nowrap; }
th { text-align: right; font-weight: 600; background: #f5f7fa; }
td { text-align: right; }
th:nth-child(-n+2), td:nth-child(-n+2) { text-align: left; }
tr.total td { font-weight: 600; border-top: 2px solid #9aa5b1; }
svg { display: block; max-width: 100%; height: auto; }
svg text { font: 11px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
           fill: #52606d; }
"""

IN_COLOUR, OUT_COLOUR, RATE_COLOUR = "#2f6fbd", "#e8a33d", "#3a9a5b"


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def render_html(report: Report) -> str:
    """One self-contained page: summary, inline SVG charts, tables; every text escaped."""
    title = _title(report)
    t = report.total
    cards = [("calls in", t.calls_in), ("calls out", t.calls_out), ("answered", t.answered),
             ("missed", t.missed), ("answer rate", percent(t.answer_rate)),
             ("avg talk", duration(t.avg_talk)), ("avg to answer", duration(t.avg_answer))]
    parts = [
        "<!doctype html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>", f"<style>{CSS}</style>", "</head>", "<body>",
        f"<h1>{_e(title)}</h1>",
        f'<p class="meta">Generated {_e(f"{report.generated_at:%Y-%m-%d %H:%M %Z}")} '
        f"from {_e(report.database)}; days are local days.</p>",
    ]
    if not report.rows:
        parts += ["<p>No calls in this period.</p>", "</body>", "</html>"]
        return "\n".join(parts) + "\n"
    parts += ['<div class="cards">',
              *(f'<div class="card"><b>{_e(value)}</b><span>{_e(name)}</span></div>'
                for name, value in cards), "</div>"]
    parts += ["<h2>Calls per day</h2>", _calls_chart(report.days),
              "<h2>Answer rate per day</h2>", _rate_chart(report.days, t.answer_rate)]
    columns = _table_columns(report)
    parts += ["<h2>Per day and agent</h2>",
              _table(["day", "agent", *(n for n, _ in columns)],
                     [[f.day, _agent_name(f.agent), *(v(f) for _, v in columns)]
                      for f in report.rows],
                     ["Total", "all agents" if len(report.agents) > 1 else
                      _agent_name(report.agents[0].agent),
                      *(v(t) for _, v in columns)])]
    if len(report.agents) > 1:
        parts += ["<h2>Per agent</h2>",
                  _table(["agent", "calls", *(n for n, _ in columns)],
                         [[_agent_name(f.agent), str(f.calls), *(v(f) for _, v in columns)]
                          for f in report.agents],
                         ["Total", str(t.calls), *(v(t) for _, v in columns)])]
    parts += [f'<p class="note">{_e(RATE_NOTE)}</p>', "</body>", "</html>"]
    return "\n".join(parts) + "\n"


def _table(header: list[str], rows: list[list[str]], total: list[str]) -> str:
    def cells(tag, values):
        return "".join(f"<{tag}>{_e(v)}</{tag}>" for v in values)
    # One row a line: mail (SMTP) limits lines to 998 characters.
    body = "\n".join(f"<tr>{cells('td', r)}</tr>" for r in rows)
    return (f"<table>\n<thead><tr>{cells('th', header)}</tr></thead>\n<tbody>\n{body}\n"
            f'</tbody>\n<tfoot><tr class="total">{cells("td", total)}</tr></tfoot>\n</table>')


# Charts: a fixed coordinate box that the browser scales to the page's width.
WIDTH, HEIGHT = 900, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 24, 34


def _nice_top(value: float) -> tuple[float, float]:
    """A round axis maximum at or above `value`, and its tick step (1, 2 or 5 × 10^k)."""
    if value <= 0:
        return 1, 1
    raw = value / 4
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    step = max(step, 1)
    return math.ceil(value / step) * step, step


def _day_label(day: str, count: int) -> str:
    d = date.fromisoformat(day)
    return f"{d:%a} {d.day}" if count <= 14 else f"{d:%m-%d}"


def _frame(label: str, top: float, step: float, fmt, days: list[Figures]) -> list[str]:
    """The svg element, the horizontal grid with its labels, and the day labels."""
    plot_h = HEIGHT - TOP - BOTTOM
    plot_w = WIDTH - LEFT - RIGHT
    out = [f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
           f'role="img" aria-label="{_e(label)}">']
    tick = 0.0
    while tick <= top + 1e-9:
        y = TOP + plot_h - plot_h * tick / top
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                   f'stroke="#e4e7eb"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
                   f"{_e(fmt(tick))}</text>")
        tick += step
    band = plot_w / max(len(days), 1)
    every = max(1, math.ceil(len(days) / 16))
    for n, f in enumerate(days):
        if n % every == 0:
            x = LEFT + band * (n + 0.5)
            out.append(f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">'
                       f"{_e(_day_label(f.day, len(days)))}</text>")
    return out


def _calls_chart(days: list[Figures]) -> str:
    """Grouped bars per day: incoming and outgoing calls."""
    top, step = _nice_top(max((max(f.calls_in, f.calls_out) for f in days), default=0))
    out = _frame("Calls per day, incoming and outgoing", top, step,
                 lambda v: f"{v:.0f}", days)
    plot_h = HEIGHT - TOP - BOTTOM
    band = (WIDTH - LEFT - RIGHT) / max(len(days), 1)
    bar = min(max(band * 0.36, 0.5), 28)
    for n, f in enumerate(days):
        for k, (count, colour, what) in enumerate(((f.calls_in, IN_COLOUR, "in"),
                                                   (f.calls_out, OUT_COLOUR, "out"))):
            if not count:
                continue
            h = plot_h * count / top
            x = LEFT + band * n + band * 0.5 - bar + bar * k
            out.append(f'<rect x="{x:.1f}" y="{TOP + plot_h - h:.1f}" width="{bar:.1f}" '
                       f'height="{h:.1f}" fill="{colour}"><title>'
                       f"{_e(f'{f.day}: {count} {what}')}</title></rect>")
            if bar >= 12:
                out.append(_value_label(x + bar / 2, TOP + plot_h - h, str(count)))
    out += _legend([("in", IN_COLOUR), ("out", OUT_COLOUR)])
    out.append("</svg>")
    return "\n".join(out)


def _rate_chart(days: list[Figures], overall: float | None) -> str:
    """Bars of the answer rate per day (no bar on a day without incoming calls), over the
    period's rate as a dashed line."""
    out = _frame("Answer rate per day", 100, 25, lambda v: f"{v:.0f}%", days)
    plot_h = HEIGHT - TOP - BOTTOM
    band = (WIDTH - LEFT - RIGHT) / max(len(days), 1)
    bar = min(max(band * 0.6, 0.5), 40)
    if overall is not None:
        y = TOP + plot_h - plot_h * overall
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                   f'stroke="#1f2933" stroke-dasharray="5 4"><title>'
                   f"{_e(f'period: {percent(overall)}')}</title></line>")
        out += _legend([(f"period {percent(overall)}", "#1f2933")])
    for n, f in enumerate(days):
        rate = f.answer_rate
        if rate is None:
            continue
        h = plot_h * rate
        x = LEFT + band * n + (band - bar) / 2
        out.append(f'<rect x="{x:.1f}" y="{TOP + plot_h - h:.1f}" width="{bar:.1f}" '
                   f'height="{h:.1f}" fill="{RATE_COLOUR}"><title>'
                   f"{_e(f'{f.day}: {percent(rate)} of {f.calls_in - f.in_progress}')}"
                   " answered</title></rect>")
        if band >= 36:
            out.append(_value_label(x + bar / 2, TOP + plot_h - h, percent(rate)))
    out.append("</svg>")
    return "\n".join(out)


def _value_label(x: float, top: float, text: str) -> str:
    """A figure over a bar, on a white halo so a grid or dashed line never crosses it."""
    return (f'<text x="{x:.1f}" y="{top - 4:.1f}" text-anchor="middle" paint-order="stroke" '
            f'stroke="#fff" stroke-width="3">{_e(text)}</text>')


def _legend(items: list[tuple[str, str]]) -> list[str]:
    out, x = [], WIDTH - RIGHT
    for text, colour in reversed(items):
        x -= 8 + 7 * len(text)
        out.append(f'<rect x="{x}" y="6" width="10" height="10" fill="{colour}"/>'
                   f'<text x="{x + 14}" y="15">{_e(text)}</text>')
        x -= 14
    return out
