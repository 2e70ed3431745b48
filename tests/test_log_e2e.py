"""Finding and exporting calls (F19, F36, F42, F43, F48, F49) through `cc log`."""

from __future__ import annotations

import csv
import io
import json

import pytest


@pytest.fixture
def three_calls(emulator_factory, agent_factory):
    """An answered outgoing call, a busy one, and a missed incoming one, on the emulator's
    manual clock."""
    emulator = emulator_factory(manual_clock=True)
    agent = agent_factory(emulator).start()
    agent.wait_logged_in()
    answered = agent.dial_answered("+380441110004", after=1)       # hangs up after 5 s
    emulator.advance(5)
    agent.log_row(answered["call_id"], outcome="answered", durations_from="server")
    busy = agent.json("dial", "+380441110002")
    emulator.advance(1)                                             # busy after 1 s
    agent.log_row(busy["call_id"], outcome="busy")
    missed = str(emulator.admin("call-in", From="+380671112233", To="101")["IDCall"])
    agent.wait_call_state("Ringing")
    emulator.advance(60)                                            # ring_timeout
    agent.log_row(missed, outcome="missed", durations_from="server")
    return agent, {"answered": answered["call_id"], "busy": busy["call_id"], "missed": missed}


def ids(agent, *args):
    return [r["call_id"] for r in agent.json("log", *args)]


def test_filters_by_direction_outcome_missed_number_and_period(three_calls):
    agent, calls = three_calls
    assert ids(agent, "--direction", "in") == [calls["missed"]]
    assert ids(agent, "--missed") == [calls["missed"]]
    assert ids(agent, "--outcome", "busy") == [calls["busy"]]
    assert ids(agent, "--number", "1110002") == [calls["busy"]]
    assert set(ids(agent, "--period", "today")) == set(calls.values())
    assert ids(agent, "--period", "yesterday") == []
    assert ids(agent, "--agent", "petrenko") == []
    assert ids(agent, "--period", "2000-01-01..2000-01-31") == []
    done = agent.cc("log", "--period", "last-fortnight", check=False)
    assert done.returncode == 9 and "unknown period 'last-fortnight'" in done.stderr
    done = agent.cc("log", "--period", "2026-02-30..", check=False)
    assert done.returncode == 9 and "YYYY-MM-DD" in done.stderr


def test_sorts_by_a_duration_and_limits(three_calls):
    agent, calls = three_calls
    longest_talk = ids(agent, "--sort", "talk", "--limit", "1")
    assert longest_talk == [calls["answered"]]
    assert ids(agent, "--sort", "start", "--asc")[0] == calls["answered"]
    assert ids(agent)[0] == calls["missed"]      # newest first by default


def test_formats_columns_and_templates(three_calls, tmp_path):
    agent, calls = three_calls
    ndjson = agent.cc("log", "--format", "ndjson", "--columns", "call_id,outcome").stdout
    rows = [json.loads(line) for line in ndjson.splitlines()]
    assert rows[0] == {"call_id": calls["missed"], "outcome": "missed"}
    done = agent.cc("log", "--columns", "id,colour", "--format", "csv", check=False)
    assert done.returncode == 9 and "unknown column 'colour'" in done.stderr

    lines = agent.cc("log", "--format", "{number} {outcome} {talk_seconds}").stdout.splitlines()
    assert lines[0] == "+380671112233 missed 0.0"
    done = agent.cc("log", "--format", "{number} {mood}", check=False)
    assert done.returncode == 9 and "{mood}" in done.stderr

    out = tmp_path / "calls.csv"
    done = agent.cc("log", "--format", "csv", "--output", str(out))
    assert "wrote 3 calls" in done.stderr
    table = list(csv.DictReader(out.open()))
    assert [r["call_id"] for r in table] == ids(agent)
    assert list(table[0])[:5] == ["id", "call_id", "direction", "number", "agent"]


def test_asterisk_csv_follows_master_csv(three_calls):
    agent, calls = three_calls
    rows = list(csv.reader(io.StringIO(agent.cc("log", "--format", "asterisk-csv").stdout)))
    assert all(len(r) == 18 for r in rows)
    by_id = {r[16]: r for r in rows}
    answered = by_id[calls["answered"]]
    assert answered[14] == "ANSWERED" and answered[1] == "101"
    assert answered[2] == "+380441110004"
    assert (answered[12], answered[13]) == ("6", "5")      # 1 s ringing, 5 s talking
    assert by_id[calls["busy"]][14] == "BUSY" and by_id[calls["busy"]][13] == "0"
    missed = by_id[calls["missed"]]
    assert missed[14] == "NO ANSWER" and missed[1] == "+380671112233" and missed[2] == "101"


def test_show_one_call_and_saved_filters(three_calls):
    agent, calls = three_calls
    row = next(r for r in agent.json("log") if r["call_id"] == calls["answered"])
    shown = agent.cc("log", "show", str(row["id"])).stdout
    assert "talk_seconds" in shown and "0:05 (5.0 s)" in shown
    assert agent.json("log", "show", str(row["id"]))["call_id"] == calls["answered"]
    done = agent.cc("log", "show", "99999", check=False)
    assert done.returncode == 5 and "99999" in done.stderr

    agent.cc("log", "save", "missed-today", "--period", "today", "--missed")
    assert ids(agent, "missed-today") == [calls["missed"]]
    done = agent.cc("log", "nosuch", check=False)
    assert done.returncode == 9 and "missed-today" in done.stderr
