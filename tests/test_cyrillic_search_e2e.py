"""Searches fold case in every alphabet: a contact centre in Ukraine types lower case
(`бонд` finds "Бондар Ольга"), with і, ї, є, ґ and a name's apostrophe however it is
written (’ in the record, ' on the keyboard)."""

from __future__ import annotations

CONTACTS_CSV = """name,account,phones
Бондар Ольга,ТОВ Ґражда,+380441110004
Мар’яна Їжакевич,,+380501112233
Євген Іваненко,ТОВ Ґражда,+380671112233
Olha Bondar,Acme Ltd,+380441110009
"""
DIRECTORY = """name,position,department,extension,id_user,phones
Ґанна Шевчук,Агент,Продажі,103,,+380671111111
Ігор Пʼятак,Агент,Продажі,104,,+380671111112
"""


def names(agent, *args) -> list[str]:
    return [c["name"] for c in agent.json(*args)]


def test_contacts_accounts_and_colleagues_are_found_in_lower_case(agent, tmp_path):
    (tmp_path / "c.csv").write_text(CONTACTS_CSV)
    agent.cc("contacts", "import", str(tmp_path / "c.csv"))
    assert names(agent, "contacts", "бонд") == ["Бондар Ольга"]
    assert names(agent, "contacts", "БОНДАР ОЛЬГА") == ["Бондар Ольга"]
    assert names(agent, "contacts", "їжак") == ["Мар’яна Їжакевич"]
    assert names(agent, "contacts", "мар'яна") == ["Мар’яна Їжакевич"]    # ' for ’
    assert names(agent, "contacts", "євген і") == ["Євген Іваненко"]
    assert set(names(agent, "contacts", "ґражда")) == {"Бондар Ольга", "Євген Іваненко"}
    assert names(agent, "contacts", "bond") == ["Olha Bondar"]            # ASCII as before
    assert names(agent, "contacts", "%") == []                            # no wildcard
    assert names(agent, "accounts", "ґраж") == ["ТОВ Ґражда"]
    assert names(agent, "accounts", "тов ґ") == ["ТОВ Ґражда"]
    # A name given to a command is matched the same way.
    history = agent.json("contacts", "history", "мар'яна їжакевич")
    assert history["contact"]["name"] == "Мар’яна Їжакевич"

    (tmp_path / "team.csv").write_text(DIRECTORY)
    agent.cc("who", "import", str(tmp_path / "team.csv"))
    assert names(agent, "who", "ґанна") == ["Ґанна Шевчук"]
    assert names(agent, "who", "п'ятак") == ["Ігор Пʼятак"]               # ' for ʼ


def test_the_log_finds_a_callers_name_in_lower_case(emulator_factory, agent_factory,
                                                     tmp_path):
    emulator = emulator_factory(manual_clock=True)
    agent = agent_factory(emulator).start()
    agent.wait_logged_in()
    (tmp_path / "c.csv").write_text(CONTACTS_CSV)
    agent.cc("contacts", "import", str(tmp_path / "c.csv"))
    call = agent.dial_answered("+380441110004", after=1)
    agent.cc("hangup")
    agent.log_row(call["call_id"], outcome="answered", contact="Бондар Ольга")
    assert [r["call_id"] for r in agent.json("log", "--contact", "бонд")] == [call["call_id"]]
    assert [r["call_id"] for r in agent.json("log", "--contact", "ґражда")] == [call["call_id"]]
    assert agent.json("log", "--contact", "їжак") == []
