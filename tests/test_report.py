"""`cc report`: a period's calls per day and agent, from the call log file alone.

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
         started_at=None, result=None, hour=12):
    """One finished call as the daemon records it (at local noon unless told)."""
    n = next(CALL_IDS)
    return {"id": None, "call_id": str(n), "direction": direction, "number": f"+38044{n:07}",
            "agent": agent, "extension": "101", "started_at": started_at or at(day, hour),
            "wait_seconds": wait, "talk_seconds": talk, "hold_seconds": hold,
            "outcome": outcome, "processing_seconds": processing, "result": result}

# (day, agent, direction, outcome, wait, talk, hold, processing[, card result, local hour])
CALLS = [
    (D1, "ivanova", "in", "answered", 4, 60, 10, 30, "resolved", 9),
    (D1, "ivanova", "in", "answered", 8, 120, 0, 10, "escalated", 9),
    (D1, "ivanova", "in", "missed", 30, 0, 0, None, None, 10),
    (D1, "ivanova", "in", "rejected", 2, 0, 0, None, None, 10),
    (D1, "ivanova", "out", "answered", 5, 90, 20, None, "callback", 14),
    (D1, "ivanova", "out", "busy", 1, 0, 0, None, None, 14),
    (D1, "petrenko", "in", "answered", 3, 30, 0, None, "resolved", 9),
    # a colleague took it: the card is theirs, its result is not petrenko's
    (D1, "petrenko", "in", "answered-elsewhere", 5, 0, 0, None, "resolved", 9),
    (D1, "petrenko", "out", "not-answered", 20, 0, 0, None, None, 16),
    (D2, "ivanova", "in", "answered", 6, 45, 15, None, "resolved"),
    (D2, "ivanova", "in", "missed", 20, 0, 0, None),
    (D2, "ivanova", "in", "missed", 25, 0, 0, None),
    (D3, "ivanova", "in", "answered", 10, 200, 0, None),
    (D3, "ivanova", "in", "active", 3, 0, 0, None),      # still ringing: not in the rate
    (D3, SCRIPT_AGENT, "in", "answered", 2, 10, 0, None),
    ("2026-11-01", "ivanova", "in", "missed", 9, 0, 0, None),     # outside the period
    ("2026-11-05", "petrenko", "in", "answered", 9, 99, 0, None),
]

# The figures the calls above must give, as `cc report --format csv` writes them in its
# first fourteen columns (those of the first release: they never move).
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
    for day, agent, direction, outcome, wait, talk, hold, processing, *card in calls:
        result, hour = (card + [None])[0], (card[1:] or [12])[0]
        store.save(call(day, agent, direction, outcome, wait, talk, hold, processing,
                        result=result, hour=hour))
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


FIRST_COLUMNS = ("day", "agent", "calls_in", "calls_out", "answered", "missed", "rejected",
                 "answered_elsewhere", "answer_rate", "avg_talk_seconds", "max_talk_seconds",
                 "avg_hold_seconds", "avg_answer_seconds", "avg_processing_seconds")


def csv_figures(text: str) -> dict:
    """The (day, agent) and TOTAL rows' first fourteen columns."""
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == report.CSV_COLUMNS
    hour = report.CSV_COLUMNS.index("hour")
    return {(r[0], r[1]): ",".join(r[2:14]) for r in rows[1:] if not r[hour]}


def csv_rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_keeps_its_first_columns_and_adds_new_ones_at_the_end():
    assert report.CSV_COLUMNS[:14] == FIRST_COLUMNS
    assert report.CSV_COLUMNS[14:] == (
        "calls_out_connected", "calls_out_not_connected", "answered_in_time", "service_level",
        "service_level_seconds", "results", "hour")


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
    assert "answered-elsewhere" in report.__doc__
    assert "answered-elsewhere" in report.rate_note(20)


def test_text_report_runs_without_a_terminal_stdin_or_daemon(home):
    done = cc_report(home, "--period", PERIOD)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "\x1b" not in done.stdout
    lines = done.stdout.splitlines()
    assert lines[0] == "Call report: 2026-11-02 to 2026-11-04, all agents"
    assert lines[3:8] == [
        "Incoming: 11 calls; answered 6, missed 3, rejected 1, 1 still in progress; "
        "1 answered elsewhere (by a colleague)",
        "Answer rate 60% low; service level 60% low (answered within 20 s of ringing)",
        "Outgoing: 3 calls; connected 1, not connected 2",
        "Results: resolved 3, callback 1, escalated 1, no result 9", ""]
    header = next(n for n, line in enumerate(lines) if line.startswith("day"))
    assert lines[header].split() == [
        "day", "agent", "calls", "answered", "missed", "rejected", "elsewhere", "rate", "SL",
        "20s", "calls", "connected", "not", "connected", "avg", "talk", "max", "talk", "avg",
        "hold", "to", "answer", "wrap-up"]
    assert [line.split() for line in lines if line.startswith(D1)] == [
        [D1, "ivanova", "4", "2", "1", "1", "0", "50%", "50%", "2", "1", "1", "1:30", "2:00",
         "0:10", "0:06", "0:20"]]
    total = next(line for line in lines if line.startswith("TOTAL"))
    assert total.split() == ["TOTAL", "11", "6", "3", "1", "1", "60%", "60%", "3", "1", "2",
                             "1:19", "3:20", "0:06", "0:06", "0:20"]
    assert "answered-elsewhere" in done.stdout    # the footnote says how the rate counts


def test_answered_sits_under_incoming_and_connected_under_outgoing(home):
    """"answered" beside "calls out" counted incoming calls only: each figure now stands
    under the group it counts."""
    lines = cc_report(home, "--period", PERIOD).stdout.splitlines()
    header = next(n for n, line in enumerate(lines) if line.startswith("day"))
    groups, names = lines[header - 1], lines[header]
    incoming, outgoing, times = (groups.index(g) for g in ("incoming", "outgoing", "times"))
    assert incoming < names.index("answered") < names.index("missed") < outgoing
    assert outgoing < names.index("connected") < names.index("not connected") < times


def test_results_of_the_call_cards_per_agent_and_in_total(home):
    built = report.build(home / "data" / "calls.db", PERIOD)
    by_agent = {f.agent: f.results for f in built.agents}
    # petrenko's answered-elsewhere call is on the colleague's card: not counted here
    assert by_agent == {"ivanova": {"resolved": 2, "escalated": 1, "callback": 1,
                                    "no result": 7},
                        "petrenko": {"resolved": 1, "no result": 1},
                        SCRIPT_AGENT: {"no result": 1}}
    assert built.total.results == {"resolved": 3, "escalated": 1, "callback": 1,
                                   "no result": 9}
    text = cc_report(home, "--period", PERIOD).stdout.splitlines()
    at_ = text.index("Results of the call cards, per agent")
    assert [line.split() for line in text[at_ + 1:at_ + 7]] == [
        ["agent", "resolved", "callback", "escalated", "no", "result", "calls"],
        [SCRIPT_AGENT.split()[0], "0", "0", "0", "1", "1"] if " " not in SCRIPT_AGENT else
        [*SCRIPT_AGENT.split(), "0", "0", "0", "1", "1"],
        ["ivanova", "2", "1", "1", "7", "11"], ["petrenko", "1", "0", "0", "1", "2"], [],
        ["TOTAL", "3", "1", "1", "9", "14"]]
    rows = csv_rows(cc_report(home, "--period", PERIOD, "--format", "csv").stdout)
    assert json.loads(rows[-1]["results"]) == built.total.results
    assert json.loads(next(r["results"] for r in rows if r["day"] == D1
                           and r["agent"] == "petrenko")) == {"resolved": 1, "no result": 1}


def test_hours_of_the_day_across_days_and_agents(home):
    built = report.build(home / "data" / "calls.db", PERIOD)
    busy = {f.hour: (f.calls_in, f.answered, f.missed, f.calls_out, f.out_connected)
            for f in built.busy_hours if f.calls}
    assert busy == {"09": (3, 3, 0, 0, 0), "10": (2, 0, 1, 0, 0), "12": (6, 3, 2, 0, 0),
                    "14": (0, 0, 0, 2, 1), "16": (0, 0, 0, 1, 0)}
    assert [f.hour for f in built.busy_hours] == [f"{h:02}" for h in range(9, 17)]
    rows = csv_rows(cc_report(home, "--period", PERIOD, "--format", "csv").stdout)
    hours = {r["hour"]: r for r in rows if r["hour"]}
    assert list(hours) == ["09", "10", "12", "14", "16"]    # only hours with calls
    assert (hours["12"]["day"], hours["12"]["agent"], hours["12"]["calls_in"],
            hours["12"]["answered"], hours["12"]["answer_rate"]) == ("", "", "6", "3", "0.6")
    assert rows[-1]["day"] == "TOTAL"
    text = cc_report(home, "--period", PERIOD).stdout.splitlines()
    at_ = text.index("By hour of the day, all days and agents")
    table = [line.split() for line in text[at_ + 3:at_ + 11]]
    assert table[0] == ["09:00", "3", "3", "0", "100%", "100%", "0", "0", "0:05"]
    assert table[3] == ["12:00", "6", "3", "2", "60%", "60%", "0", "0", "0:06"]
    assert table[2] == ["11:00", "0", "0", "0", "-", "-", "0", "0", "-"]    # a quiet hour


def test_service_level_counts_answers_within_the_setting_seconds(home):
    rows = csv_rows(cc_report(home, "--period", PERIOD, "--format", "csv").stdout)
    assert (rows[-1]["answered_in_time"], rows[-1]["service_level"],
            rows[-1]["service_level_seconds"]) == ("6", "0.6", "20")
    env = {**os.environ, "CC_HOME": str(home)}
    subprocess.run([CC, "config", "set", "report.service_level_seconds", "5"], env=env,
                   check=True, capture_output=True, timeout=60)
    # answered after 4, 8, 3, 6, 10 and 2 s of ringing: 3 within 5 s, of 10 ended calls
    rows = csv_rows(cc_report(home, "--period", PERIOD, "--format", "csv").stdout)
    assert (rows[-1]["answered_in_time"], rows[-1]["service_level"],
            rows[-1]["service_level_seconds"]) == ("3", "0.3", "5")
    text = cc_report(home, "--period", PERIOD).stdout
    assert "service level 30% low (answered within 5 s of ringing)" in text
    assert "SL 5s" in text and "within 5 s of ringing" in text
    assert json.loads(cc_report(home, "--period", PERIOD, "--json").stdout)[
        "total"]["service_level"] == 0.3
    html_page = cc_report(home, "--period", PERIOD, "--format", "html").stdout
    assert "answered within 5 s of ringing" in html_page


def test_a_bad_setting_stops_the_report_only_when_the_report_reads_it(home):
    config = home / "config.toml"
    config.write_text('[server]\nport = "not a port"\n')
    assert csv_figures(cc_report(home, "--period", PERIOD, "--format", "csv").stdout) \
        == EXPECTED
    config.write_text("[report]\nservice_level_seconds = 0\n")
    done = cc_report(home, "--period", PERIOD)
    assert done.returncode == 8 and done.stderr.count("\n") == 1
    assert "report.service_level_seconds" in done.stderr


def test_a_service_level_of_no_seconds_is_refused_in_one_line(home):
    env = {**os.environ, "CC_HOME": str(home)}
    done = subprocess.run([CC, "config", "set", "report.service_level_seconds", "0"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and done.stderr.count("\n") == 1
    assert "report.service_level_seconds" in done.stderr and "from 1 to 3600" in done.stderr


@pytest.mark.parametrize("rate, word, colour", [
    (1.0, "good", "#2e7d32"), (0.9, "good", "#2e7d32"), (0.8999, "fair", "#b26a00"),
    (0.75, "fair", "#b26a00"), (0.7499, "low", "#c62828"), (0.5, "low", "#c62828"),
    (0.0, "low", "#c62828")])
def test_rates_are_rated_as_a_lead_expects_never_half_in_green(rate, word, colour):
    assert report.rating(rate) == (word, colour)
    assert report.rated(rate).endswith(word)


def test_the_html_answer_rate_carries_its_word_and_colour(home):
    page = report.render_html(report.build(home / "data" / "calls.db", PERIOD))
    card = page[page.index(">60%<") - 300:page.index("answer rate (incoming)")]
    assert "color:#c62828" in card and ">low<" in card and "#2e7d32" not in card
    assert "60% low (3 of 5 answered)" in page        # the bar of 2026-11-02


class Page(HTMLParser):
    """Every tag, attribute and text of a page, and whether its tags balance."""

    VOID = {"meta", "br", "img", "link", "input", "hr", "wbr", "col", "source"}  # HTML's

    def __init__(self):
        super().__init__()
        self.tags, self.attrs, self.text, self.open, self.elements = [], [], [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += attrs
        self.elements.append((tag, attrs))
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


# What a mail client keeps: no SVG, scripts, stylesheets, images from elsewhere or frames;
# every element that is styled carries its own style attribute.
DROPPED_BY_MAIL = {"svg", "script", "link", "style", "img", "iframe", "object", "embed",
                   "form", "video", "canvas"}
STYLED = {"body", "table", "td", "th", "p", "h1", "h2", "div", "span"}


def mail_safe(page_text: str) -> Page:
    page = Page()
    page.feed(page_text)
    page.close()
    assert page.open == []
    assert not DROPPED_BY_MAIL & set(page.tags)
    assert not [name for name, _ in page.attrs if name in ("class", "src", "href", "id")]
    assert "http://" not in page_text and "https://" not in page_text
    assert max(map(len, page_text.splitlines())) < 998    # mail's line limit (RFC 5322)
    assert all(tag not in STYLED or dict(attrs).get("style")
               for tag, attrs in page.elements), "an element without its inline style"
    return page


def test_html_is_made_for_mail_clients_with_escaped_names(home, tmp_path):
    out = tmp_path / "report.html"
    done = cc_report(home, "--period", PERIOD, "--format", "html", "--output", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""    # silent in cron
    page_text = out.read_text(encoding="utf-8")
    page = mail_safe(page_text)
    # the bars: table cells of the bar colours, wide in proportion (5 in is the top)
    bars = [dict(attrs) for tag, attrs in page.elements
            if tag == "td" and dict(attrs).get("bgcolor") == report.IN_COLOUR]
    assert [b["width"] for b in bars][:3] == [str(report.BAR_MAX), str(report.BAR_MAX * 3 // 5),
                                              str(report.BAR_MAX * 3 // 5)]
    assert "<script>" not in page_text
    assert html.escape(SCRIPT_AGENT) in page_text
    assert SCRIPT_AGENT in "".join(page.text)         # shown to the reader as written
    assert "answered-elsewhere" in page_text          # the footnote
    for heading in ("Calls per day", "Answer rate per day", "Calls by hour of the day",
                    "Per day and agent", "Per agent", "Results of the call cards",
                    "By hour of the day"):
        assert heading in page.text


def test_html_charts_every_day_of_the_week_even_quiet_ones(tmp_path):
    monday = date.today() - timedelta(date.today().weekday())
    db = make_log(tmp_path / "calls.db", [(monday.isoformat(), "ivanova", "in", "answered",
                                           4, 60, 0, None)])
    built = report.build(db, "this-week")
    assert [f.day for f in built.days] == [(monday + timedelta(n)).isoformat()
                                           for n in range(7)]
    assert [f.calls_in for f in built.days] == [1, 0, 0, 0, 0, 0, 0]
    page = report.render_html(built)
    assert page.count(f'bgcolor="{report.IN_COLOUR}"') == 2      # the day's and the hour's
    assert page.count("0 in<") == 6 and page.count("no incoming calls") == 6
    mail_safe(page)


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
    # 23:59 and 00:01 local: the hours of the day are local too
    assert [r["hour"] for r in csv_rows(done.stdout) if r["hour"]] == ["00", "23"]


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
        named = dict(zip(["agent", "start", "end"][3 - len(args):], args), level=20)
        for hours in (False, True):
            sql = report.day_query(agent=len(args) == 3, hours=hours)
            plan = " ".join(r[-1] for r in conn.execute("explain query plan " + sql, named))
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


def png_rows(data: bytes) -> list[list[tuple[int, int, int]]]:
    """The pixels of an 8-bit RGB or RGBA PNG (what Chromium writes), as rows of RGB."""
    import struct
    import zlib

    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        pos += 12 + length
    width, height, depth, colour_type, _, _, interlace = header
    assert depth == 8 and colour_type in (2, 6) and interlace == 0
    step = 3 if colour_type == 2 else 4
    raw, stride = zlib.decompress(b"".join(chunks)), width * step
    rows, previous = [], bytearray(stride)
    for y in range(height):
        at_ = y * (stride + 1)
        kind, line = raw[at_], bytearray(raw[at_ + 1:at_ + 1 + stride])
        for i in range(stride):
            left = line[i - step] if i >= step else 0
            up, corner = previous[i], previous[i - step] if i >= step else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else
                                      up if pb <= pc else corner)) & 255
        rows.append([tuple(line[x:x + 3]) for x in range(0, stride, step)])
        previous = line
    return rows


def colour_runs(rows, colour: str) -> list[tuple[int, int, int]]:
    """(row, first column, length) of each horizontal run of exactly `colour`."""
    rgb = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
    runs = []
    for y, row in enumerate(rows):
        x = 0
        while x < len(row):
            if row[x] == rgb:
                start = x
                while x < len(row) and row[x] == rgb:
                    x += 1
                runs.append((y, start, x - start))
            x += 1
    return runs


def bars(runs) -> dict[int, int]:
    """Bar length -> how many pixel rows tall, for runs longer than a legend's square."""
    found: dict[int, int] = {}
    for _, _, length in runs:
        if length > 12:
            found[length] = found.get(length, 0) + 1
    return found


def test_html_report_renders_its_bars_in_a_real_headless_browser(home, tmp_path):
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
             "--force-device-scale-factor=1", "--hide-scrollbars",
             f"--user-data-dir={tmp_path / 'profile'}"]
    shot = tmp_path / "report.png"
    done = subprocess.run([browser, *flags, f"--screenshot={shot}", "--window-size=1400,1800",
                           out.as_uri()], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-500:]
    rows = png_rows(shot.read_bytes())
    full, tall = report.BAR_MAX, report.BAR_HEIGHT
    # Calls per day: 5, 3, 3 incoming of a top of 5; 2 outgoing on the first day. The hour
    # chart has 6 incoming at noon as its top (full) and 3 at nine.
    incoming = bars(colour_runs(rows, report.IN_COLOUR))
    assert incoming == {full: 2 * tall, full * 3 // 5: 2 * tall, full // 2: tall,
                        full // 3: tall}, incoming
    # Answer rate per day: 60 % and 33 % in red, 100 % in green; nothing amber.
    good, fair, low = (bars(colour_runs(rows, colour)) for _, _, colour in report.RATE_BANDS)
    assert low == {round(full * 0.6): tall, round(full / 3): tall}, low
    assert good == {full: tall} and fair == {}
    # The red bars start where the green one does: one chart, one left edge.
    lefts = {x for _, x, length in colour_runs(rows, report.RATE_BANDS[2][2]) if length > 12}
    assert lefts == {x for _, x, length in colour_runs(rows, report.RATE_BANDS[0][2])
                     if length > 12}


def test_the_text_report_at_an_80_column_terminal_fits_and_keeps_its_key_columns(home):
    from terminal import Terminal

    whole = cc_report(home, "--period", PERIOD).stdout.splitlines()
    assert max(map(len, whole)) > 80             # two agents: the pipe gets it all
    env = {**os.environ, "CC_HOME": str(home)}
    env.pop("COLUMNS", None)
    term = Terminal([CC, "report", "--period", PERIOD], env, rows=60, columns=80)
    try:
        assert term.finish() == 0
        screen = term.text().splitlines()
    finally:
        term.close()
    assert all(len(line) <= 80 for line in screen), "\n".join(screen)
    heads = next(line for line in screen if line.lstrip().startswith("day")).split()
    assert heads[:6] == ["day", "agent", "calls", "answered", "missed", "rate"]
    assert "max" not in heads and "hold" not in heads       # the least useful went first
    assert any(line.startswith(f"{D1}  ivanova") for line in screen)
    assert any(line.startswith("TOTAL") for line in screen)
    hours = next(line for line in screen if line.lstrip().startswith("hour")).split()
    assert hours[:4] == ["hour", "calls", "answered", "missed"]
