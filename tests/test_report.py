"""`cc report` (F49): a period's calls per day and agent, from the call log file alone.

The call log is built with daemon.store.Store and synthetic calls with known figures;
the real `cc report` runs as cron would run it: no daemon, no terminal, stdin closed.
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import itertools
import json
import os
import sqlite3
import shutil
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import CC, modules_loaded
from daemon import report
from daemon.store import Store

SCRIPT_AGENT = "<script>alert('x')</script>"
PERIOD = "2026-11-02..2026-11-04"
D1, D2, D3 = "2026-11-02", "2026-11-03", "2026-11-04"


def at(day: str, hour: int = 12, minute: int = 0) -> str:
    """Local time on `day` as the daemon stores it: UTC ISO."""
    local = datetime.fromisoformat(f"{day}T{hour:02}:{minute:02}:00").astimezone()
    return local.astimezone(timezone.utc).isoformat(timespec="milliseconds")


CALL_IDS = itertools.count(7001)


def call(day, agent, direction, outcome, wait=0.0, talk=0.0, hold=0.0, processing=None,
         started_at=None):
    """One finished call as the daemon records it (at local noon unless told)."""
    n = next(CALL_IDS)
    return {"id": None, "call_id": str(n), "direction": direction, "number": f"+38044{n:07}",
            "agent": agent, "extension": "101", "started_at": started_at or at(day),
            "wait_seconds": wait, "talk_seconds": talk, "hold_seconds": hold,
            "outcome": outcome, "processing_seconds": processing}

# (day, agent, direction, outcome, wait, talk, hold, processing)
CALLS = [
    (D1, "ivanova", "in", "answered", 4, 60, 10, 30),
    (D1, "ivanova", "in", "answered", 8, 120, 0, 10),
    (D1, "ivanova", "in", "missed", 30, 0, 0, None),
    (D1, "ivanova", "in", "rejected", 2, 0, 0, None),
    (D1, "ivanova", "out", "answered", 5, 90, 20, None),
    (D1, "ivanova", "out", "busy", 1, 0, 0, None),
    (D1, "petrenko", "in", "answered", 3, 30, 0, None),
    (D1, "petrenko", "in", "answered-elsewhere", 5, 0, 0, None),
    (D1, "petrenko", "out", "not-answered", 20, 0, 0, None),
    (D2, "ivanova", "in", "answered", 6, 45, 15, None),
    (D2, "ivanova", "in", "missed", 20, 0, 0, None),
    (D2, "ivanova", "in", "missed", 25, 0, 0, None),
    (D3, "ivanova", "in", "answered", 10, 200, 0, None),
    (D3, "ivanova", "in", "active", 3, 0, 0, None),      # still ringing: not in the rate
    (D3, SCRIPT_AGENT, "in", "answered", 2, 10, 0, None),
    ("2026-11-01", "ivanova", "in", "missed", 9, 0, 0, None),     # outside the period
    ("2026-11-05", "petrenko", "in", "answered", 9, 99, 0, None),
]

# The figures the calls above must give, as `cc report --format csv` writes them.
EXPECTED = {
    (D1, "ivanova"): "4,2,2,1,1,0,0.5,90.0,120.0,10.0,6.0,20.0",
    (D1, "petrenko"): "1,1,1,0,0,1,1.0,30.0,30.0,0.0,3.0,",
    (D2, "ivanova"): "3,0,1,2,0,0,0.3333,45.0,45.0,15.0,6.0,",
    (D3, SCRIPT_AGENT): "1,0,1,0,0,0,1.0,10.0,10.0,0.0,2.0,",
    (D3, "ivanova"): "2,0,1,0,0,0,1.0,200.0,200.0,0.0,10.0,",
    # 11 in (1 still ringing), 6 answered: 60 %; talk 555 s over 7 answered calls
    ("TOTAL", ""): "11,3,6,3,1,1,0.6,79.3,200.0,6.4,5.5,20.0",
}


def make_log(path: Path, calls=CALLS) -> Path:
    store = Store(path)
    for day, agent, direction, outcome, wait, talk, hold, processing in calls:
        store.save(call(day, agent, direction, outcome, wait, talk, hold, processing))
    store.close()
    return path


@pytest.fixture
def home(tmp_path) -> Path:
    """A profile whose data/calls.db holds CALLS; no daemon, no config file."""
    make_log(tmp_path / "home" / "data" / "calls.db")
    return tmp_path / "home"


def cc_report(home: Path, *args) -> subprocess.CompletedProcess:
    """`cc report` as cron runs it: stdin closed, output to pipes, no terminal."""
    env = {**os.environ, "CC_HOME": str(home)}
    env.pop("XDG_RUNTIME_DIR", None)
    return subprocess.run([CC, "report", *args], env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60)


def csv_figures(text: str) -> dict:
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == report.CSV_COLUMNS
    return {(r[0], r[1]): ",".join(r[2:]) for r in rows[1:]}


def test_csv_gives_each_day_and_agent_and_the_total_exactly(home):
    figures = csv_figures(report.render_csv(report.build(home / "data" / "calls.db", PERIOD)))
    assert figures == EXPECTED
    assert list(figures) == sorted(EXPECTED)       # by day, then agent; TOTAL last


def test_cc_report_csv_is_the_library_csv(home):
    done = cc_report(home, "--period", PERIOD, "--format", "csv")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout == report.render_csv(report.build(home / "data" / "calls.db", PERIOD))
    assert csv_figures(done.stdout) == EXPECTED


def test_agent_option_reports_one_agent_and_names_them_in_the_total(home):
    done = cc_report(home, "--period", PERIOD, "--agent", "petrenko", "--format", "csv")
    assert done.returncode == 0, done.stderr
    assert csv_figures(done.stdout) == {(D1, "petrenko"): EXPECTED[(D1, "petrenko")],
                                        ("TOTAL", "petrenko"): EXPECTED[(D1, "petrenko")]}


def test_answer_rate_leaves_out_answered_elsewhere_and_calls_in_progress(home):
    built = report.build(home / "data" / "calls.db", PERIOD)
    assert built.total.answered_elsewhere == 1 and built.total.in_progress == 1
    assert built.total.answer_rate == 6 / 10
    assert "answered-elsewhere" in report.__doc__ and "answered-elsewhere" in report.RATE_NOTE


def test_text_report_runs_without_a_terminal_stdin_or_daemon(home):
    done = cc_report(home, "--period", PERIOD)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "\x1b" not in done.stdout
    lines = done.stdout.splitlines()
    assert lines[0] == "Call report: 2026-11-02 to 2026-11-04, all agents"
    header = next(line for line in lines if line.startswith("day"))
    assert header.split() == ["day", "agent", "in", "out", "answered", "missed", "rejected",
                              "elsewhere", "rate", "avg", "talk", "max", "talk", "avg",
                              "hold", "to", "answer", "wrap-up"]
    assert [line.split() for line in lines if line.startswith(D1)] == [
        [D1, "ivanova", "4", "2", "2", "1", "1", "0", "50%", "1:30", "2:00", "0:10", "0:06",
         "0:20"]]
    total = next(line for line in lines if line.startswith("TOTAL"))
    assert total.split() == ["TOTAL", "11", "3", "6", "3", "1", "1", "60%", "1:19", "3:20",
                             "0:06", "0:06", "0:20"]
    assert "answered-elsewhere" in done.stdout    # the footnote says how the rate counts


class Page(HTMLParser):
    """Every tag, attribute and text of a page, and whether its tags balance."""

    VOID = {"meta", "br", "img", "link", "input", "hr", "wbr", "col", "source"}  # HTML's

    def __init__(self):
        super().__init__()
        self.tags, self.attrs, self.text, self.open = [], [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += attrs
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += attrs

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open[-1:]}"
        self.open.pop()

    def handle_data(self, data):
        self.text.append(data)


def test_html_is_one_self_contained_page_with_svg_charts_and_escaped_names(home, tmp_path):
    out = tmp_path / "report.html"
    done = cc_report(home, "--period", PERIOD, "--format", "html", "--output", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""    # silent in cron
    page_text = out.read_text(encoding="utf-8")
    page = Page()
    page.feed(page_text)
    page.close()
    assert page.open == []
    assert page.tags.count("svg") == 2 and "<svg" in page_text
    assert "rect" in page.tags and "table" in page.tags
    assert "http://" not in page_text and "https://" not in page_text
    assert not {"script", "link", "img", "iframe", "object"} & set(page.tags)
    assert not [name for name, _ in page.attrs if name in ("src", "href")]
    assert "<script>" not in page_text
    assert html.escape(SCRIPT_AGENT) in page_text
    assert SCRIPT_AGENT in "".join(page.text)         # shown to the reader as written
    assert "answered-elsewhere" in page_text          # the footnote
    assert max(map(len, page_text.splitlines())) < 998    # mail's line limit (RFC 5322)


def test_html_charts_every_day_of_the_week_even_quiet_ones(tmp_path):
    monday = date.today() - timedelta(date.today().weekday())
    db = make_log(tmp_path / "calls.db", [(monday.isoformat(), "ivanova", "in", "answered",
                                           4, 60, 0, None)])
    built = report.build(db, "this-week")
    assert [f.day for f in built.days] == [(monday + timedelta(n)).isoformat()
                                           for n in range(7)]
    assert [f.calls_in for f in built.days] == [1, 0, 0, 0, 0, 0, 0]
    page = report.render_html(built)
    assert page.count("<rect") >= 2        # one bar per chart, plus the legend


def test_days_are_the_agents_local_days(tmp_path):
    zone = "Asia/Kathmandu"     # UTC+5:45: local midnight is 18:15 UTC
    if not Path("/usr/share/zoneinfo", zone).exists():
        pytest.skip(f"no time zone data for {zone}")
    store = Store(tmp_path / "home" / "data" / "calls.db")
    for utc in ("2026-11-02T18:14:00.000+00:00", "2026-11-02T18:16:00.000+00:00"):
        store.save(call(None, "ivanova", "in", "answered", 5, 60, started_at=utc))
    store.close()
    env = {**os.environ, "CC_HOME": str(tmp_path / "home"), "TZ": zone}
    done = subprocess.run([CC, "report", "--period", "2026-11-02..2026-11-03", "--format",
                           "csv"], env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert list(csv_figures(done.stdout)) == [("2026-11-02", "ivanova"),
                                              ("2026-11-03", "ivanova"), ("TOTAL", "")]


def test_an_unknown_period_exits_9_with_one_line(home):
    done = cc_report(home, "--period", "fortnight")
    assert done.returncode == 9
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("cc: unknown period")
    done = cc_report(home, "--period", "2026-11-05..2026-11-01")
    assert done.returncode == 9 and "ends before it starts" in done.stderr


def test_a_missing_call_log_exits_8_with_one_line(tmp_path):
    done = cc_report(tmp_path / "nobody", "--period", "today")
    assert done.returncode == 8
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("cc: no call log at ") and "--database" in done.stderr


def test_a_file_that_is_not_a_call_log_exits_8_with_one_line(tmp_path):
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("create table t (x)").connection.close()
    done = cc_report(tmp_path, "--database", str(other))
    assert done.returncode == 8 and done.stderr.count("\n") == 1
    assert "not a cc call log" in done.stderr


def test_database_option_reads_that_file_and_never_changes_it(tmp_path):
    db = make_log(tmp_path / "elsewhere.db")
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    done = cc_report(tmp_path / "empty-home", "--database", str(db), "--period", PERIOD,
                     "--format", "csv")
    assert done.returncode == 0, done.stderr
    assert csv_figures(done.stdout) == EXPECTED
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before


def test_report_reads_while_the_daemon_holds_the_log_open(home):
    store = Store(home / "data" / "calls.db")    # as a running daemon does (WAL)
    try:
        store.save(call(D2, "petrenko", "out", "answered", 1, 30, 0))
        done = cc_report(home, "--period", PERIOD, "--format", "csv")
    finally:
        store.close()
    assert done.returncode == 0, done.stderr
    assert csv_figures(done.stdout)[(D2, "petrenko")] == "0,1,0,0,0,0,,30.0,30.0,0.0,,"


def test_an_empty_period_says_so(home):
    done = cc_report(home, "--period", "2025-01-01..2025-01-31")
    assert done.returncode == 0
    assert "no calls in this period" in done.stdout
    done = cc_report(home, "--period", "2025-01-01..2025-01-31", "--format", "csv")
    assert csv_figures(done.stdout) == {("TOTAL", ""): "0,0,0,0,0,0,,,,,,"}


def test_json_carries_the_same_rows(home):
    done = cc_report(home, "--period", PERIOD, "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["total"]["answer_rate"] == 0.6 and len(data["rows"]) == 5
    assert data["first_day"] == D1 and data["last_day"] == D3


def test_each_day_is_a_range_of_an_index_so_a_million_calls_stay_fast(tmp_path):
    db = make_log(tmp_path / "calls.db")
    conn = sqlite3.connect(db)
    for args, index in ((["2026-11-02", "2026-11-03"], "idx_calls_started_at"),
                        (["ivanova", "2026-11-02", "2026-11-03"],
                         "idx_calls_agent_started_at")):
        sql = report.day_query(agent=len(args) == 3)
        plan = " ".join(r[-1] for r in conn.execute("explain query plan " + sql, args))
        assert f"USING INDEX {index} (" in plan, plan


def test_other_commands_do_not_load_the_report_module():
    code = "import sys, cccli.app; print('daemon.report' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr


def test_cc_report_loads_neither_sqlite_utils_nor_logging(home):
    """It shares daemon.store's way of opening the log, but not the daemon's imports."""
    modules, output = modules_loaded(home, "report", "--period", PERIOD, "--format", "csv")
    assert "TOTAL" in output
    assert sorted(m for m in modules
                  if m.split(".")[0] in ("sqlite_utils", "logging", "aiohttp", "zmq")) == []


def test_html_report_renders_in_a_real_headless_browser(home, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is missing: .ci/run installs it")
        pytest.skip("no chromium here")
    out = tmp_path / "report.html"
    assert cc_report(home, "--period", PERIOD, "--format", "html", "--output",
                     str(out)).returncode == 0
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([browser, *flags, "--dump-dom", out.as_uri()], capture_output=True,
                         text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-500:]
    assert dom.stdout.count("<svg") == 2 and "<rect" in dom.stdout and "<table" in dom.stdout
    shot = tmp_path / "report.png"
    done = subprocess.run([browser, *flags, f"--screenshot={shot}", "--window-size=1200,1600",
                           out.as_uri()], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000            # a drawn page, not a blank one
