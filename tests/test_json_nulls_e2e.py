"""`--json` says "no value" one way: `null`, never `""`; and a list is a JSON list, never
JSON text inside a string (a call's contact_candidates). The walk covers the listings a
script reads: log, log show, status, calls, contacts, accounts, who, recent, and the JSON
exports of the log."""

from __future__ import annotations

import json

CONTACTS_CSV = """name,account,phones
Olha Bondar,Acme Ltd,+380501112233
Ivan Bondar,,+380501112233
"""
DIRECTORY = """name,position,department,extension,id_user,phones
Taras Shevchenko,,,103,,+380671111111
"""


def faults(value, where: str = "") -> list[str]:
    """Each empty string, and each string holding a JSON list or object, in `value`."""
    if isinstance(value, dict):
        return [f for key, item in value.items() for f in faults(item, f"{where}.{key}")]
    if isinstance(value, list):
        return [f for n, item in enumerate(value) for f in faults(item, f"{where}[{n}]")]
    if value == "":
        return [f'{where}: "" where null means no value']
    if isinstance(value, str) and value[:1] in "[{":
        try:
            json.loads(value)
        except ValueError:
            return []
        return [f"{where}: JSON inside a string: {value}"]
    return []


def test_json_listings_say_no_value_with_null_and_lists_as_lists(emulator_factory,
                                                                agent_factory, tmp_path):
    emulator = emulator_factory(manual_clock=True)
    agent = agent_factory(emulator).start()
    agent.wait_logged_in()
    (tmp_path / "c.csv").write_text(CONTACTS_CSV)
    agent.cc("contacts", "import", tmp_path / "c.csv")
    (tmp_path / "team.csv").write_text(DIRECTORY)
    agent.cc("who", "import", tmp_path / "team.csv")
    ended = str(emulator.admin("call-in", From="+380441230099", To="101")["IDCall"])
    agent.wait_call_state("Ringing")
    agent.cc("reject")
    agent.log_row(ended, outcome="rejected")
    # A caller two contacts share, still ringing: the call and the log name both.
    ringing = str(emulator.admin("call-in", From="+380501112233", To="101")["IDCall"])
    agent.wait_call_state("Ringing")
    row = agent.log_row(ringing)
    assert row["contact"] is None
    assert row["contact_candidates"] == ["Olha Bondar", "Ivan Bondar"]
    [call] = agent.json("calls")
    assert call["contact_candidates"] == ["Olha Bondar", "Ivan Bondar"]

    listings = {
        "log": agent.json("log"), "log show": agent.json("log", "show", row["id"]),
        "status": agent.json("status"), "calls": agent.json("calls"),
        "contacts": agent.json("contacts"), "accounts": agent.json("accounts"),
        "who": agent.json("who"), "recent": agent.json("recent"),
        "log --format json": json.loads(agent.cc("log", "--format", "json").stdout),
        "log --format ndjson": [json.loads(line) for line in agent.cc(
            "log", "--format", "ndjson").stdout.splitlines()],
    }
    exported = tmp_path / "calls.json"
    agent.cc("log", "--format", "json", "--output", exported)
    listings["log --output"] = json.loads(exported.read_text())
    assert all(listings.values()), [name for name, shown in listings.items() if not shown]
    assert {name: faults(shown) for name, shown in listings.items()} == \
        {name: [] for name in listings}
    # Text and CSV show what they showed before: an empty cell, the names as JSON text.
    csv_text = agent.cc("log", "--format", "csv", "--columns", "id,contact,contact_candidates"
                        ).stdout
    assert f'{row["id"]},,"[""Olha Bondar"", ""Ivan Bondar""]"' in csv_text.splitlines()
    assert "[one of: Olha Bondar; Ivan Bondar]" in agent.cc("status").stdout
