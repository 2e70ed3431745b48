"""Masking (`privacy.mask_numbers`): a caller's number shows only its country and operator
code and its last two digits in the journal, the listing and every export, the file the
daemon writes included; off by default, when everything shows it whole. The emulator and
the daemon are real processes."""

from __future__ import annotations

import json
import sqlite3

from daemon.privacy import mask
from daemon.testing import wait_until

CALLER = "+380441110001"        # the emulator's far end that answers
MASKED = "+38044•••••01"


def test_mask_keeps_the_code_and_the_last_two_digits():
    assert mask(CALLER) == MASKED
    assert mask("+380671234533") == "+38067•••••33"
    assert mask("0671234533") == "••••••••33"      # no country code: no head kept
    assert mask("2001") == "2001"                  # an extension is the team's own
    assert mask(None) is None and mask("") == ""


def one_call(agent) -> None:
    agent.dial_answered(CALLER, 2)
    agent.cc("hangup")
    wait_until(lambda: not agent.status()["calls"], what="the call ended")


def test_masked_numbers_in_the_journal_the_listing_and_the_exports(
        emulator_factory, agent_factory, tmp_path):
    agent = agent_factory(emulator_factory(manual_clock=True), manual_clock=True,
                          **{"privacy.mask_numbers": True}).start()
    agent.wait_logged_in()
    one_call(agent)
    journal = (agent.home / "log" / "journal.xml").read_text()
    assert MASKED in journal and "1110001" not in journal
    assert agent.json("log")[0]["number"] == MASKED
    assert MASKED in agent.cc("log").stdout
    csv_text = agent.cc("log", "--format", "csv", "--columns", "number,direction").stdout
    assert csv_text.splitlines()[1] == f"{MASKED},out"
    for fmt in ("csv", "json", "ndjson"):               # the daemon writes these itself
        out = tmp_path / f"calls.{fmt}"
        agent.cc("log", "--format", fmt, "--output", out)
        assert MASKED in out.read_text() and "1110001" not in out.read_text()
    # The filter still finds the call by its whole number: masking is of what is shown.
    assert len(agent.json("log", "--number", CALLER)) == 1
    # A log file read without the daemon is masked too.
    copy = tmp_path / "copy.db"
    with sqlite3.connect(agent.database) as live, sqlite3.connect(copy) as kept:
        live.backup(kept)
    assert agent.cc("log", "--database", copy, "--format", "csv", "--columns",
                    "number").stdout.splitlines()[1] == MASKED


def test_numbers_are_whole_with_masking_off_the_default(emulator_factory, agent_factory,
                                                        tmp_path):
    agent = agent_factory(emulator_factory(manual_clock=True), manual_clock=True).start()
    agent.wait_logged_in()
    one_call(agent)
    assert CALLER in (agent.home / "log" / "journal.xml").read_text()
    out = tmp_path / "calls.json"
    agent.cc("log", "--format", "json", "--output", out)
    assert json.loads(out.read_text())[0]["number"] == CALLER
