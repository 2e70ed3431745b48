"""The call card after a call (F22, F25, F26, F30, F41, F44) and editing the log (F21)."""

from __future__ import annotations

ANSWERS = "+380441110001"


def finished_call(agent) -> dict:
    call = agent.json("dial", ANSWERS, "--wait")
    agent.cc("hangup")
    return agent.log_row(call["call_id"], outcome="answered")


def test_wrapup_fills_the_card_with_catalogue_values_links_and_notes(agent):
    row = finished_call(agent)
    assert row["counter_number"] == "CALL-000001"
    shown = agent.cc("wrapup", "--type", "sale", "--subject", "Order 42", "--result",
                     "resolved", "--link", "task=1234", "--link", "project_path=Sales/Q4",
                     "--note", "call back Monday").stdout
    assert "CALL-000001" in shown and "result=resolved" in shown
    agent.cc("wrapup", "--note", "sent the offer")
    card = agent.json("log", "show", str(row["id"]))
    assert (card["call_type"], card["subject"], card["result"]) == ("sale", "Order 42",
                                                                    "resolved")
    assert card["link_task"] == "1234" and card["link_project_path"] == "Sales/Q4"
    assert card["notes"] == "call back Monday\nsent the offer"
    agent.cc("wrapup", "--description", "Wants two copies.\nPays by card.")
    assert agent.json("log", "show", str(row["id"]))["description"] == ("Wants two copies."
                                                                       "\nPays by card.")
    agent.cc("wrapup", "--description", "-", input="From a pipe.\n\n")
    assert agent.json("log", "show", str(row["id"]))["description"] == "From a pipe."
    done = agent.cc("wrapup", "--description", "x" * 70000, check=False)
    assert done.returncode == 9 and done.stderr.count("\n") == 1
    changes = agent.json("log", "history", str(row["id"]))["changes"]
    assert [c["new_value"] for c in changes if c["field"] == "description"] == [
        "Wants two copies.\nPays by card.", "From a pipe."]

    done = agent.cc("wrapup", "--result", "maybe", check=False)
    assert done.returncode == 9 and "results catalogue" in done.stderr
    agent.cc("catalog", "add", "results", "maybe", "--colour", "yellow")
    assert "maybe  (yellow)" in agent.cc("catalog", "list", "results").stdout
    agent.cc("wrapup", "--result", "maybe")
    done = agent.cc("wrapup", "--link", "ticket=9", check=False)
    assert done.returncode == 9 and "unknown link 'ticket'" in done.stderr
    second = finished_call(agent)
    assert second["counter_number"] == "CALL-000002"


def test_closing_wrapup_during_a_live_call_asks_to_hang_up_or_keep(emulator, agent_factory):
    agent = agent_factory(emulator, **{"wrapup.enabled": True}).start()
    agent.wait_logged_in()
    finished_call(agent)
    other = agent.json("dial", ANSWERS, "--wait")
    done = agent.cc("wrapup", "done", check=False, input="")
    assert done.returncode == 6 and "--hangup or --keep" in done.stderr
    agent.cc("wrapup", "done", "--keep")
    assert [c["call_id"] for c in agent.json("calls")] == [other["call_id"]]
    agent.cc("hangup")


def test_a_saved_calls_number_cannot_change_and_calls_can_be_removed(agent):
    row = finished_call(agent)
    done = agent.cc("log", "edit", str(row["id"]), "--set-number", "+380000000000",
                    check=False)
    assert done.returncode == 9 and "cannot be changed" in done.stderr
    assert agent.json("log", "edit", str(row["id"]), "--subject", "Refund")["subject"] == \
        "Refund"
    done = agent.cc("log", "rm", str(row["id"]), check=False, input="")
    assert done.returncode == 9 and "--yes" in done.stderr
    assert "removed 1" in agent.cc("log", "rm", str(row["id"]), "--yes").stdout
    finished_call(agent)
    finished_call(agent)
    assert "removed 2" in agent.cc("log", "rm", "--all", "--yes").stdout
    assert agent.json("log") == []


def test_break_reasons_catalogue_is_the_setting_and_the_daemon_takes_it_at_once(agent):
    agent.cc("catalog", "add", "break-reasons", "coaching")
    assert "coaching" in agent.cc("catalog", "list", "break-reasons").stdout
    assert "Break (coaching)" in agent.cc("break", "coaching").stdout
    agent.cc("catalog", "rm", "break-reasons", "coaching")
    done = agent.cc("break", "coaching", check=False)
    assert done.returncode == 9


def test_number_mask_setting(tmp_path, emulator, agent_factory):
    agent = agent_factory(emulator, **{"log.number_mask": "IN-{n:04}"}).start()
    agent.wait_logged_in()
    assert finished_call(agent)["counter_number"] == "IN-0001"
    done = agent.cc("config", "set", "log.number_mask", "CALL-{x}", check=False)
    assert done.returncode == 8 and "{n}" in done.stderr
