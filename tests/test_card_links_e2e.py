"""Links that follow the call (F21, F54), card numbers never reused (F22), the card in
hooks' payloads (F38) and the knowledge base on the card's subject (F37, guide §3.4)."""

from __future__ import annotations

import json
import sys

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


def test_dial_with_links_prefills_the_card_and_an_edit_during_the_call_stays(agent):
    call = agent.json("dial", ANSWERS, "--wait", "--link", "task=T-77", "--link",
                      "project_path=Sales/Q4")
    assert call["links"] == {"task": "T-77", "project_path": "Sales/Q4"}
    row = agent.log_row(call["call_id"])
    assert (row["link_task"], row["link_project_path"]) == ("T-77", "Sales/Q4")
    agent.cc("log", "edit", str(row["id"]), "--link", "task=T-78")    # while it is up
    agent.cc("hold")
    agent.cc("hangup")
    row = agent.log_row(call["call_id"], outcome="answered")
    assert (row["link_task"], row["link_project_path"]) == ("T-78", "Sales/Q4")
    shown = agent.cc("dial", ANSWERS, "--link", "incident=INC-5").stdout
    assert shown.rstrip().endswith("incident=INC-5")
    agent.cc("hangup")


def test_dial_refuses_a_link_it_cannot_file_and_places_no_call(agent):
    for link, says in (("ticket=9", "unknown link 'ticket': use task, sale, project"),
                       ("task=", "--link 'task=': give the task's value, e.g. task=1234"),
                       ("T-77", "--link 'T-77': write KIND=VALUE"),
                       ("task=a\nb", "argument 'links.task' must be 1 to 200 characters on "
                                     "one line")):
        done = agent.cc("dial", ANSWERS, "--link", link, check=False)
        assert (done.returncode, done.stdout) == (9, ""), link
        assert says in done.stderr and len(done.stderr.splitlines()) == 1, done.stderr
    done = agent.cc("dial", ANSWERS, "--link", "task=1", "--link", "task=2", check=False)
    assert done.returncode == 9 and "--link task given twice" in done.stderr
    assert agent.json("log") == [] and agent.json("calls") == []


def test_redial_copies_the_number_links_contact_and_account(agent):
    agent.cc("contacts", "add", "Roman Melnyk", "--account", "Globex", "--phone", ANSWERS)
    first = finished_call(agent, "--link", "task=T-77", "--link", "sale=S-5")
    assert (first["contact"], first["account"]) == ("Roman Melnyk", "Globex")
    agent.cc("log", "edit", str(first["id"]), "--link", "survey=Q-3")
    # The number is shared now: only the card says which of the two the call was with.
    agent.cc("contacts", "add", "Petro Melnyk", "--phone", ANSWERS)
    again = agent.json("redial", str(first["id"]), "--wait")
    assert again["number"] == ANSWERS and again["call_id"] != first["call_id"]
    assert again["links"] == {"task": "T-77", "sale": "S-5", "survey": "Q-3"}
    agent.cc("hangup")
    row = agent.log_row(again["call_id"], outcome="answered")
    assert (row["link_task"], row["link_sale"], row["link_survey"]) == ("T-77", "S-5", "Q-3")
    assert (row["contact"], row["account"], row["contact_candidates"]) == \
        ("Roman Melnyk", "Globex", None)
    assert row["counter_number"] != first["counter_number"]


def test_every_hook_gets_the_card_on_stdin_and_in_its_environment(emulator, agent_factory,
                                                                   tmp_path):
    out = tmp_path / "hooks.jsonl"
    script = tmp_path / "record.py"
    script.write_text(
        "import json, os, sys\n"
        "payload = json.load(sys.stdin)\n"
        "payload['env'] = {k: v for k, v in os.environ.items() if k.startswith('CC_')}\n"
        f"open({str(out)!r}, 'a').write(json.dumps(payload) + '\\n')\n")
    record = f"{sys.executable} {script}"
    agent = agent_factory(emulator, **{
        "hooks.on_answer": record, "hooks.on_end": record, "hooks.on_wrapup_done": record,
        "hooks.timeout": 20.0, "wrapup.enabled": True}).start()
    agent.wait_logged_in()
    agent.cc("contacts", "add", "Roman Melnyk", "--account", "Globex", "--phone", ANSWERS)

    def hooks(count):
        return wait_until(lambda: out.exists() and len(
            lines := out.read_text().splitlines()) >= count and
            {p["event"]: p for p in map(json.loads, lines)}, 20, f"{count} hooks")

    agent.json("dial", ANSWERS, "--wait", "--link", "task=T-77")
    answered = hooks(1)["on_answer"]
    assert answered["card"] == {
        "counter_number": "CALL-000001", "call_type": "", "subject": "", "result": "",
        "notes": "", "contact": "Roman Melnyk", "account": "Globex",
        "links": {"task": "T-77", "sale": "", "project": "", "project_path": "",
                  "incident": "", "campaign": "", "survey": ""}}
    assert answered["call"]["number"] == ANSWERS
    agent.cc("wrapup", "--type", "sale", "--subject", "Refund", "--note", "line one")
    agent.cc("hangup")
    ended = hooks(2)["on_end"]["card"]
    assert (ended["call_type"], ended["subject"], ended["notes"]) == ("sale", "Refund",
                                                                      "line one")
    agent.cc("wrapup", "--result", "resolved", "--note", "line two", "--link", "sale=S-5")
    agent.cc("wrapup", "done")
    done = hooks(3)["on_wrapup_done"]
    assert done["card"]["result"] == "resolved" and done["card"]["notes"] == \
        "line one\nline two"
    assert done["card"]["links"]["sale"] == "S-5"
    assert "CC_PASSWORD" not in done["env"]
    assert {k: v for k, v in done["env"].items() if k.startswith(("CC_EVENT", "CC_CALL",
            "CC_NUMBER", "CC_COUNTER", "CC_SUBJECT", "CC_RESULT", "CC_CONTACT", "CC_ACCOUNT",
            "CC_LINK", "CC_NOTES"))} == {
        "CC_EVENT": "on_wrapup_done", "CC_CALL_ID": done["call"]["call_id"],
        "CC_NUMBER": ANSWERS, "CC_COUNTER_NUMBER": "CALL-000001", "CC_CALL_TYPE": "sale",
        "CC_SUBJECT": "Refund", "CC_RESULT": "resolved", "CC_CONTACT": "Roman Melnyk",
        "CC_ACCOUNT": "Globex", "CC_LINK_TASK": "T-77", "CC_LINK_SALE": "S-5",
        "CC_LINK_PROJECT": "", "CC_LINK_PROJECT_PATH": "", "CC_LINK_INCIDENT": "",
        "CC_LINK_CAMPAIGN": "", "CC_LINK_SURVEY": ""}


def test_kb_without_a_subject_looks_up_the_subject_of_the_card_being_filled_in(
        emulator, agent_factory):
    agent = agent_factory(emulator, **{"kb.url": "https://kb.example/search?q={subject}"})
    agent.start()
    agent.wait_logged_in()
    done = agent.cc("kb", check=False)
    assert (done.returncode, done.stdout) == (9, "")
    assert done.stderr.strip() == "cc: nothing to look up: the call log is empty; give a " \
                                  "subject: cc kb SUBJECT"
    first = finished_call(agent)
    done = agent.cc("kb", check=False)
    assert done.returncode == 9 and done.stderr.strip() == (
        f"cc: call {first['id']} (CALL-000001) has no subject: fill it in (`cc wrapup "
        "--subject TEXT`) or give one: cc kb SUBJECT")
    agent.cc("wrapup", "--subject", "refund policy")
    assert agent.cc("kb").stdout.strip() == "https://kb.example/search?q=refund%20policy"
    agent.json("dial", ANSWERS, "--wait")       # the call now up is the one filled in
    agent.cc("wrapup", "--subject", "Order 42 & delivery")
    assert agent.json("kb") == {"subject": "Order 42 & delivery",
                                "url": "https://kb.example/search?q=Order%2042%20%26%20delivery"}
    assert agent.json("kb", "--id", str(first["id"]))["subject"] == "refund policy"
    agent.cc("hangup")
    done = agent.cc("kb", "--id", "999", check=False)
    assert done.returncode == 5 and "no call 999 in the call log" in done.stderr


def test_links_of_a_call_the_locked_log_could_not_take_yet_are_written_later(agent):
    import sqlite3

    db = sqlite3.connect(agent.database, isolation_level=None)
    db.execute("BEGIN EXCLUSIVE")
    try:
        call = agent.json("dial", ANSWERS, "--wait", "--link", "task=T-77")
        agent.cc("hangup")
        wait_until(lambda: agent.status()["waiting_calls"], 10,
                   "the daemon to say the call is not yet written")
    finally:
        db.execute("ROLLBACK")
        db.close()
    row = agent.log_row(call["call_id"], outcome="answered")
    assert (row["link_task"], row["counter_number"]) == ("T-77", "CALL-000001")
