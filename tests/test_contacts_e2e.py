"""Contacts, number matching, quick dial and recent numbers (F5, F13, F31, F39, F40, F45)."""

from __future__ import annotations


CONTACTS_CSV = """name,account,phones
Olha Bondar,Acme Ltd,8 (044) 455-78-90;+380501112233
Ivan Bondar,Acme Ltd,+380501112233
Maria Koval,,
"""
VCARD = """BEGIN:VCARD
VERSION:3.0
FN:Roman Melnyk
ORG:Globex;Sales
TEL;TYPE=WORK:+380441110001
EMAIL:roman@example.com
END:VCARD
"""


def test_numbers_written_three_ways_match_one_contact(agent, tmp_path):
    (tmp_path / "c.csv").write_text(CONTACTS_CSV)
    assert "imported 3" in agent.cc("contacts", "import", str(tmp_path / "c.csv")).stdout
    for written in ("+380444557890", "0444557890", "044 455 78 90"):
        assert [c["name"] for c in agent.json("contacts", written)] == ["Olha Bondar"]
    assert [c["name"] for c in agent.json("contacts", "acme")] == ["Ivan Bondar", "Olha Bondar"]


def test_vcard_import_keeps_only_phone_numbers(agent, tmp_path):
    (tmp_path / "c.vcf").write_text(VCARD)
    agent.cc("contacts", "import", str(tmp_path / "c.vcf"))
    [roman] = agent.json("contacts", "Roman")
    assert roman == {"id": roman["id"], "name": "Roman Melnyk", "account": "Globex",
                     "account_id": roman["account_id"], "phones": ["+380441110001"],
                     "dial": ["+380441110001"],
                     "numbers": [{"number": "+380441110001", "kind": "work"}]}
    (tmp_path / "bad.vcf").write_text("BEGIN:VCARD\nVERSION:3.0\nTEL:1\nEND:VCARD\n"
                                      + VCARD.replace("Roman Melnyk", "Oksana Lysenko"))
    done = agent.cc("contacts", "import", str(tmp_path / "bad.vcf"), check=False)
    assert done.returncode == 9 and "imported 1 contacts" in done.stdout
    assert f"{tmp_path / 'bad.vcf'}:1: the vCard has no FN" in done.stderr
    assert [c["name"] for c in agent.json("contacts", "Oksana")] == ["Oksana Lysenko"]
    (tmp_path / "bad.csv").write_text("name,account,phones\nA One,,+380441110001\n,X,1\n")
    done = agent.cc("contacts", "import", str(tmp_path / "bad.csv"), check=False)
    assert done.returncode == 9 and f"{tmp_path / 'bad.csv'}:3: the name is empty" in done.stderr
    assert [c["name"] for c in agent.json("contacts", "A One")] == ["A One"]


def test_calls_are_resolved_to_one_contact_or_list_the_candidates(emulator_factory,
                                                                  agent_factory, tmp_path):
    emulator = emulator_factory(manual_clock=True)     # the calls ring while we look at them
    agent = agent_factory(emulator).start()
    agent.wait_logged_in()
    (tmp_path / "c.csv").write_text(CONTACTS_CSV)
    agent.cc("contacts", "import", str(tmp_path / "c.csv"))
    one = str(emulator.admin("call-in", From="0444557890", To="101")["IDCall"])
    ringing = agent.wait_call_state("Ringing")
    assert "[Olha Bondar, Acme Ltd]" in agent.cc("status").stdout
    agent.cc("reject")
    row = agent.log_row(one)
    assert (row["contact"], row["account"]) == ("Olha Bondar", "Acme Ltd")
    several = str(emulator.admin("call-in", From="+380501112233", To="101")["IDCall"])
    agent.wait_call_state("Ringing")
    agent.cc("reject")
    row = agent.log_row(several)
    assert row["contact"] is None and row["contact_candidates"] == \
        ["Olha Bondar", "Ivan Bondar"]
    assert [r["call_id"] for r in agent.json("log", "--contact", "Acme")] == [one]
    assert ringing["call_id"] == one


def test_dial_a_contact_by_name_pick_add_number_and_history(agent, tmp_path):
    (tmp_path / "c.csv").write_text(CONTACTS_CSV)
    agent.cc("contacts", "import", str(tmp_path / "c.csv"))
    done = agent.cc("dial", "--contact", "Olha Bondar", check=False, input="")
    assert done.returncode == 9 and "--pick N" in done.stderr and "2: +380501112233" in done.stderr
    done = agent.cc("dial", "--contact", "Maria Koval", check=False)
    assert done.returncode == 9 and "has no phone number" in done.stderr
    agent.cc("contacts", "add-number", "Maria Koval", "+380441110001")
    call = agent.json("dial", "--contact", "Maria", "--wait")
    assert call["number"] == "+380441110001" and call["contact"] == "Maria Koval"
    agent.cc("hangup")
    agent.log_row(call["call_id"], outcome="answered")
    history = agent.json("contacts", "history", "Maria Koval")
    assert [c["number"] for c in history["calls"]] == ["+380441110001"]
    call = agent.json("dial", "--contact", "Olha", "--pick", "2")
    assert call["number"] == "+380501112233"
    agent.cc("hangup")
    call = agent.json("dial", "--contact", "Olha", "--pick", "1")
    assert call["number"] == "+380444557890"          # written 8 (044) 455-78-90
    agent.cc("hangup")


def test_quick_dial_list_and_recent_numbers(agent):
    agent.cc("quick", "add", "Support desk", "+380 44 111 0001", "--alias", "support")
    agent.cc("quick", "add", "Busy line", "+380441110002")
    listed = agent.cc("quick").stdout
    assert "@support" in listed and "+380441110001" in listed
    assert "name = \"Support desk\"" in (agent.home / "quick.toml").read_text()
    call = agent.json("dial", "@support", "--wait")
    assert call["number"] == "+380441110001"
    agent.cc("hangup")
    agent.log_row(call["call_id"], outcome="answered")
    agent.cc("dial", "@2", "--wait", check=False)
    done = agent.cc("dial", "@nobody", check=False)
    assert done.returncode == 9 and "@support" in done.stderr
    recent = agent.json("recent", "--dialed")
    assert [r["number"] for r in recent] == ["+380441110002", "+380441110001"]
    again = agent.json("recent", "--dialed", "--dial", "2")
    assert again["number"] == "+380441110001"
    agent.cc("hangup")
    assert agent.json("quick", "rm", "@support") == {
        "alias": "support", "name": "Support desk", "number": "+380441110001"}
    assert "@support" not in agent.cc("quick").stdout


def test_a_contact_is_renamed_moved_to_another_account_and_removed(agent):
    agent.cc("contacts", "add", "Olha Bondar", "--account", "Acme Ltd", "--phone",
             "+380501112233")
    done = agent.cc("contacts", "edit", "Olha", check=False)
    assert done.returncode == 9 and done.stderr.strip() == (
        "cc: say what to change: a new name (--name) or an account (--account)")
    done = agent.cc("contacts", "Olha", "--name", "Olha Koval", check=False)
    assert done.returncode == 9 and "--name goes with edit" in done.stderr
    moved = agent.json("contacts", "edit", "Olha", "--name", "Olha Koval", "--account",
                       "Globex")
    assert (moved["name"], moved["account"]) == ("Olha Koval", "Globex")
    assert agent.json("contacts", "edit", "Olha", "--account", "")["account"] is None
    call = agent.json("dial", "+380501112233")
    agent.cc("hangup")
    agent.log_row(call["call_id"], contact="Olha Koval")
    assert agent.cc("contacts", "rm", "Olha").stdout.startswith("removed Olha Koval")
    assert agent.json("contacts") == []
    # The call keeps the name it was made with.
    assert agent.log_row(call["call_id"])["contact"] == "Olha Koval"
    done = agent.cc("contacts", "rm", "Olha", check=False)
    assert done.returncode == 9 and len(done.stderr.splitlines()) == 1
