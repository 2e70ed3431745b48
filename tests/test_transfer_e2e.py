"""Transfers (F35), group routing (F33) and callback dialling (F27), with two agents."""

from __future__ import annotations

import pytest

from conftest import wait_until

CALLER = "+380509998877"
NEVER_ANSWERS = "+380441110003"
DIRECTORY = """name,position,department,extension,id_user,phones
Olena Ivanova,Senior agent,Sales,101,5001790109,
Petro Petrenko,Agent,Support,102,5001790110,+380509876543
"""


@pytest.fixture
def emulator(emulator_factory):
    """Time stands still until a test moves it: calls ring until answered, and groups move
    on only when the test lets hunt_timeout pass."""
    return emulator_factory(manual_clock=True)


@pytest.fixture
def two_agents(emulator, agent_factory, tmp_path):
    """Two agents whose daemons' timers (a consult's transfer.timeout) also stand still."""
    ivanova = agent_factory(emulator, manual_clock=True).start()
    petrenko = agent_factory(emulator, login="petrenko", manual_clock=True).start()
    ivanova.wait_logged_in()
    petrenko.wait_logged_in()
    team = tmp_path / "team.csv"
    team.write_text(DIRECTORY)
    ivanova.cc("who", "import", str(team))
    petrenko.cc("who", "import", str(team))
    return ivanova, petrenko


def caller_connected_to(emulator, agent, extension="101") -> str:
    call_id = str(emulator.admin("call-in", From=CALLER, To=extension)["IDCall"])
    agent.wait_call_state("Ringing")
    agent.cc("answer")
    return call_id


def test_blind_transfer_to_a_colleague_by_name(emulator, two_agents):
    ivanova, petrenko = two_agents
    first = caller_connected_to(emulator, ivanova)
    ivanova.cc("transfer", "--blind", "Petro")
    ringing = petrenko.wait_call_state("Ringing")
    assert ringing["number"] == CALLER
    petrenko.cc("answer")
    mine = ivanova.log_row(first, transfer_to="Petro Petrenko")
    assert mine["transfer_number"] == "102" and mine["transfer_from"] == "ivanova"
    assert mine["outcome"] == "answered" and mine["end_reason"] == "Transferred"
    theirs = petrenko.log_row(ringing["call_id"])
    assert theirs["transfer_from"] == "Olena Ivanova (101)"
    assert theirs["transfer_to"] == "petrenko" and theirs["number"] == CALLER


def test_consult_transfer_then_complete(emulator, two_agents):
    ivanova, petrenko = two_agents
    first = caller_connected_to(emulator, ivanova)
    ivanova.cc("quick", "add", "Petro at his desk", "102", "--alias", "petro")
    shown = ivanova.cc("transfer", "@petro").stdout
    assert "On hold" in shown and "cc transfer complete" in shown
    consult = petrenko.wait_call_state("Ringing")
    assert consult["number"] == "101"
    petrenko.cc("answer")
    wait_until(lambda: any(c["state_name"] == "Connected" for c in ivanova.json("calls")),
               10, "the target to answer the consult")
    ivanova.cc("transfer", "complete")
    assert ivanova.json("calls") == []
    joined = wait_until(lambda: [c for c in petrenko.json("calls") if c["number"] == CALLER],
                        10, "the caller to reach Petrenko")[0]
    assert joined["state_name"] == "Connected"
    assert petrenko.log_row(joined["call_id"])["transfer_from"] == "Olena Ivanova (101)"
    assert ivanova.log_row(first)["transfer_to"] == "102"


def test_consult_transfer_cancel_resumes_the_caller(emulator, two_agents):
    ivanova, petrenko = two_agents
    first = caller_connected_to(emulator, ivanova)
    ivanova.cc("transfer", "Petro Petrenko")
    petrenko.wait_call_state("Ringing")
    ivanova.cc("transfer", "cancel")
    calls = ivanova.json("calls")
    assert [(c["call_id"], c["state_name"]) for c in calls] == [(first, "Connected")]
    wait_until(lambda: petrenko.json("calls") == [], 10, "the consult call to leave Petrenko")
    assert ivanova.log_row(first)["transfer_to"] in ("", None)


def test_a_consult_target_that_does_not_answer_returns_the_caller(emulator, agent_factory):
    agent = agent_factory(emulator, manual_clock=True, **{"transfer.timeout": 30}).start()
    agent.wait_logged_in()
    first = caller_connected_to(emulator, agent)
    agent.cc("transfer", NEVER_ANSWERS)
    agent.advance(29.9)
    assert [c["state_name"] for c in agent.json("calls")] == ["On hold", "Alerting"]
    agent.advance(0.1)
    wait_until(lambda: [(c["call_id"], c["state_name"]) for c in agent.json("calls")]
               == [(first, "Connected")], 10, "the caller to be taken back")


def test_transfer_without_a_target_in_a_script_says_so(emulator, agent):
    caller_connected_to(emulator, agent)
    done = agent.cc("transfer", check=False, input="")
    assert done.returncode == 9 and "needs a TARGET" in done.stderr
    done = agent.cc("transfer", "Nobody Known", check=False)
    assert done.returncode == 9 and "no colleague matches" in done.stderr


def test_ring_all_group_rings_both_agents_and_one_answers(emulator, two_agents):
    ivanova, petrenko = two_agents
    emulator.admin("call-in", From=CALLER, To="500")
    mine = ivanova.wait_call_state("Ringing")
    theirs = petrenko.wait_call_state("Ringing")
    petrenko.cc("answer")
    assert ivanova.log_row(mine["call_id"], outcome="answered-elsewhere")["group_number"] == "500"
    assert petrenko.log_row(theirs["call_id"])["group_number"] == "500"


def test_hunt_group_skips_a_busy_agent(emulator, two_agents):
    ivanova, petrenko = two_agents
    petrenko.dial_answered("+380441110001", after=2)    # Petrenko is on a call
    emulator.admin("call-in", From=CALLER, To="501")
    ringing = ivanova.wait_call_state("Ringing")
    assert ringing["number"] == CALLER
    assert [c["number"] for c in petrenko.json("calls")] == ["+380441110001"]
    # Unanswered for the group's hunt_timeout, with nobody else free, the caller gives up.
    emulator.advance(4.9)
    assert ivanova.json("calls")[0]["state_name"] == "Ringing"
    emulator.advance(0.1)
    ivanova.log_row(ringing["call_id"], outcome="missed", group_number="501")
    assert [c["number"] for c in petrenko.json("calls")] == ["+380441110001"]


def test_callback_dial_rings_the_agent_back_and_answer_connects(emulator, agent):
    dialling = agent.begin("dial", "--mode", "callback", "+380441110001", "--wait")
    wait_until(lambda: agent.json("calls"), 10, "the call to be placed")
    emulator.advance(2)               # the far end answers; the agent's phone rings back
    done = dialling.finish()
    assert "pick up with `cc answer`" in done.stdout
    call = agent.json("calls")[0]
    assert call["state_name"] == "Ringing back" and call["dial_mode"] == "callback"
    agent.cc("answer")
    agent.wait_call_state("Connected")
    agent.cc("hangup")
    assert agent.log_row(call["call_id"], outcome="answered")["dial_mode"] == "callback"
