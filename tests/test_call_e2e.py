"""One real call, end to end: emulator + daemon + `cc`, as separate processes."""

from __future__ import annotations

import pytest

from conftest import advance

ANSWERS_AFTER_2S = "+380441110001"
NEVER_ANSWERS = "+380441110003"
# Rounding of the server's day fractions (9 decimals) and of our 3-decimal columns.
SAME_FIGURE = 0.01


def test_outgoing_call_with_hold_lands_in_the_log_with_emulated_durations(
        emulator_factory, agent_factory):
    emulator = emulator_factory(manual_clock=True)
    agent = agent_factory(emulator, manual_clock=True).start()
    agent.wait_logged_in()
    call = agent.json("dial", ANSWERS_AFTER_2S)
    assert call["direction"] == "out" and call["number"] == ANSWERS_AFTER_2S
    agent.wait_call_state("Alerting")
    advance(2, emulator, agent)                     # the far end answers after 2 s
    agent.wait_call_state("Connected")

    agent.cc("hold")
    agent.wait_call_state("On hold")
    held_at = emulator.call(call["call_id"])
    advance(3, emulator, agent)
    agent.cc("unhold")
    agent.wait_call_state("Connected")
    advance(4, emulator, agent)
    agent.cc("hangup")

    row = agent.log_row(call["call_id"], durations_from="server")
    truth = emulator.call(call["call_id"])
    assert held_at["State"] == 41
    assert row["direction"] == "out"
    assert row["number"] == ANSWERS_AFTER_2S
    assert row["outcome"] == "answered"
    assert row["agent"] == "ivanova" and row["extension"] == "101"
    assert (row["wait_seconds"], row["hold_seconds"], row["talk_seconds"]) == pytest.approx(
        (2.0, 3.0, 4.0), abs=SAME_FIGURE)
    assert (truth["WaitSeconds"], truth["HoldSeconds"], truth["TalkSeconds"]) == \
        pytest.approx((2.0, 3.0, 4.0), abs=SAME_FIGURE)
    assert row["started_at"] <= row["connected_at"] <= row["ended_at"]


def test_incoming_call_answered_with_cc_answer_is_logged_as_incoming(emulator_factory,
                                                                     agent_factory):
    emulator = emulator_factory(manual_clock=True)      # it rings until answered
    agent = agent_factory(emulator).start()
    agent.wait_logged_in()
    done = agent.cc("emulator", "call-in", "--from", "+380509998877", "--to", "101",
                    "--url", emulator.url, "--json")
    call_id = str(__import__("json").loads(done.stdout)["IDCall"])
    ringing = agent.wait_call_state("Ringing")
    assert ringing["call_id"] == call_id and ringing["direction"] == "in"
    emulator.advance(5)
    agent.cc("answer")
    agent.wait_call_state("Connected")
    emulator.advance(4)
    agent.cc("hangup")
    row = agent.log_row(call_id, durations_from="server")
    assert row["direction"] == "in"
    assert row["number"] == "+380509998877"
    assert row["outcome"] == "answered"
    assert row["connected_at"] is not None
    assert abs(row["wait_seconds"] - 5.0) < SAME_FIGURE
    assert abs(row["talk_seconds"] - 4.0) < SAME_FIGURE


def test_incoming_call_nobody_answers_is_logged_as_missed(emulator_factory, agent_factory):
    emulator = emulator_factory(manual_clock=True)
    agent = agent_factory(emulator).start()
    agent.wait_logged_in()
    result = emulator.admin("call-in", From="+380671112233", To="101")
    agent.wait_call_state("Ringing")
    # The caller gives up after the scenario's ring_timeout of 60 seconds.
    emulator.advance(59.9)
    assert agent.json("calls")[0]["state_name"] == "Ringing"
    emulator.advance(0.1)
    row = agent.log_row(result["IDCall"], outcome="missed", durations_from="server")
    assert row["direction"] == "in"
    assert row["connected_at"] is None
    assert row["talk_seconds"] == 0
    assert abs(row["wait_seconds"] - 60.0) < SAME_FIGURE


def test_log_lists_newest_first_in_every_format(emulator_factory, agent_factory):
    emulator = emulator_factory(manual_clock=True)      # the calls ring until hung up
    agent = agent_factory(emulator).start()
    agent.wait_logged_in()
    first = agent.json("dial", NEVER_ANSWERS)
    agent.cc("hangup")
    agent.log_row(first["call_id"], outcome="cancelled")
    second = agent.json("dial", NEVER_ANSWERS)
    agent.cc("hangup")
    agent.log_row(second["call_id"], outcome="cancelled")

    rows = agent.json("log")
    assert [r["call_id"] for r in rows[:2]] == [second["call_id"], first["call_id"]]
    csv_lines = agent.cc("log", "--format", "csv").stdout.splitlines()
    assert csv_lines[0].startswith("id,call_id,direction,number,agent")
    assert second["call_id"] in csv_lines[1]
    table = agent.cc("log").stdout
    assert NEVER_ANSWERS in table and "cancelled" in table


def test_call_is_tracked_by_polling_when_no_event_arrives(emulator_factory, agent_factory):
    emulator = emulator_factory(manual_clock=True)
    agent = agent_factory(emulator, manual_clock=True).start(subscribe=False)
    agent.wait_logged_in()
    call = agent.json("dial", ANSWERS_AFTER_2S)
    emulator.advance(2)                      # answered, and no event says so
    assert agent.json("calls")[0]["state_name"] != "Connected"
    agent.advance(0.5)                       # one poll (server.poll_interval)
    assert agent.json("calls")[0]["state_name"] == "Connected"
    emulator.advance(3)
    agent.advance(0.5)                       # a poll of the live call
    agent.cc("hangup")
    agent.advance(0.5)                       # the poll that finds the call gone
    row = agent.log_row(call["call_id"], outcome="answered", durations_from="server")
    assert abs(row["wait_seconds"] - 2.0) < SAME_FIGURE
    assert abs(row["talk_seconds"] - 3.0) < SAME_FIGURE
    # Exactly one record although the call was seen in several polls.
    assert [r["call_id"] for r in agent.json("log")].count(call["call_id"]) == 1


def test_raw_windows_style_answers_are_understood(emulator_factory, agent_factory):
    emulator = emulator_factory(raw=True)
    agent = agent_factory(emulator).start()
    agent.wait_logged_in()
    call = agent.json("dial", ANSWERS_AFTER_2S)
    agent.wait_call_state("Connected")
    agent.cc("hangup")
    agent.log_row(call["call_id"], outcome="answered", durations_from="server")
