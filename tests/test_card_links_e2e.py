"""Links that follow the call (F21, F54), card numbers never reused (F22), the card in
hooks' payloads (F38) and the knowledge base on the card's subject (F37, guide §3.4)."""

from __future__ import annotations

from conftest import wait_until

ANSWERS = "+380441110001"
ID_USER = 5001790109        # ivanova, the tests' agent


def finished_call(agent, *dial_args) -> dict:
    call = agent.json("dial", ANSWERS, "--wait", *dial_args)
    agent.cc("hangup")
    return agent.log_row(call["call_id"], outcome="answered")


def test_a_card_number_is_never_reused_after_rm_rm_all_and_a_restart(emulator, agent_factory):
    agent = agent_factory(emulator).start()
    agent.wait_logged_in()
    first, second = finished_call(agent), finished_call(agent)
    assert (first["counter_number"], second["counter_number"]) == ("CALL-000001",
                                                                    "CALL-000002")
    agent.cc("log", "rm", str(second["id"]), "--yes")
    assert finished_call(agent)["counter_number"] == "CALL-000003"
    agent.cc("log", "rm", "--all", "--yes")
    assert finished_call(agent)["counter_number"] == "CALL-000004"
    agent.cc("log", "rm", "--all", "--yes")
    # Once the server forgets the ended calls: a daemon starting while it still lists one
    # logs it anew, as a call that ended while no daemon watched.
    wait_until(lambda: not emulator.api("/call/getactivecalls/", IDUser=ID_USER)["Data"], 15,
               "the server to forget the ended calls")
    agent.cc("daemon", "stop")
    agent.start()
    agent.wait_logged_in()
    assert finished_call(agent)["counter_number"] == "CALL-000005"
