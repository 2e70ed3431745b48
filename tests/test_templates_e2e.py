"""`--format TEMPLATE`: one line per item for scripts, in `cc log`, `cc calls`,
`cc recent`, `cc who` and `cc contacts` alike (one implementation, daemon.templates);
durations as the tables show them (`{talk}` is 1:40) beside the seconds; a wrong
template is one line and exit 9 before anything runs."""

from __future__ import annotations

import subprocess

import pytest

from daemon.templates import FIELDS, FormatError, check, line
from daemon.testing import CC

CONTACTS_CSV = """name,account,phones
Olha Bondar,Acme Ltd,+380441110001;+380501112233
"""
DIRECTORY = """name,position,department,extension,id_user,phones
Taras Shevchenko,Team lead,Support,103,,+380671111111
"""


def test_a_template_shows_durations_as_m_ss_beside_the_seconds():
    row = {"id": 7, "talk_seconds": 100.086, "hold_seconds": None, "wait_seconds": 3725.0,
           "started_at": None, "number": "+380441110004"}
    template = "{id:>3} {number} {talk} {talk_seconds:.0f} [{hold}] {wait} {start}|"
    check(template, "log")
    assert line(template, row) == "  7 +380441110004 1:40 100 [] 1:02:05 |"


def test_lists_and_states_are_shown_as_people_read_them():
    colleague = {"name": "Taras", "phones": ["103", "+380671111111"],
                 "state": {"id": 1, "name": "available"}, "extension": ""}
    assert line("{name}: {phones} ({state}) [{extension:>4}]", colleague) == \
        "Taras: 103, +380671111111 (available) [    ]"


@pytest.mark.parametrize("template, listing, says", [
    ("{talk}", "who", "unknown field {talk} in --format: use {name}, "),
    ("{name", "contacts", "bad --format template"),
    ("{name:{width}}", "contacts", "nests a field"),
    ("{name:>5000}", "who", "over 999"),
    ("{talk_seconds:%Y}", "calls", "bad --format template"),
    ("no field", "recent", "names no field"),
])
def test_a_wrong_template_is_refused_with_the_reason(template, listing, says):
    with pytest.raises(FormatError, match=None) as refused:
        check(template, listing)
    assert says in str(refused.value)


def test_every_listing_has_its_durations_and_start_where_it_has_times():
    assert {"talk", "talk_seconds", "start", "processing"} <= set(FIELDS["log"])
    assert {"talk", "hold", "wait", "start"} <= set(FIELDS["calls"])
    assert "start" in FIELDS["recent"]


def test_templates_in_log_calls_recent_who_and_contacts(emulator_factory, agent_factory,
                                                       tmp_path):
    emulator = emulator_factory(manual_clock=True)
    agent = agent_factory(emulator).start()
    agent.wait_logged_in()
    (tmp_path / "c.csv").write_text(CONTACTS_CSV)
    agent.cc("contacts", "import", tmp_path / "c.csv")
    (tmp_path / "team.csv").write_text(DIRECTORY)
    agent.cc("who", "import", tmp_path / "team.csv")
    call = agent.dial_answered("+380441110001", after=2)
    emulator.advance(100)
    agent.cc("hangup")
    row = agent.log_row(call["call_id"], outcome="answered", durations_from="server")
    assert row["talk_seconds"] == 100
    assert agent.cc("log", "--format", "{id} {talk} {talk_seconds:.0f} {contact}"
                    ).stdout == f"{row['id']} 1:40 100 Olha Bondar\n"
    assert agent.cc("recent", "-f", "{number} {outcome} {contact}").stdout == \
        "+380441110001 answered Olha Bondar\n"
    assert agent.cc("who", "-f", "{name}|{extension}|{phones}").stdout == \
        "Taras Shevchenko|103|103, +380671111111\n"
    assert agent.cc("contacts", "olha", "-f", "{name}: {phones}").stdout == \
        "Olha Bondar: +380441110001, +380501112233\n"
    assert agent.cc("calls", "-f", "{call_id}").stdout == ""       # no call: no line
    ringing = str(emulator.admin("call-in", From="+380501112233", To="101")["IDCall"])
    agent.wait_call_state("Ringing")
    assert agent.cc("calls", "-f", "{call_id} {direction} {contact} {talk}").stdout == \
        f"{ringing} in Olha Bondar 0:00\n"


@pytest.mark.parametrize("args, says", [
    (["who", "-f", "{talk}"], "cc: unknown field {talk} in --format: use {name}"),
    (["contacts", "add", "X", "-f", "{name}"],
     "cc: --format applies to the list of contacts, not to `cc contacts add`"),
    (["calls", "--json", "-f", "{call_id}"], "cc: --json and --format ask for two formats"),
    (["recent", "-f", "{start} {nope}"], "cc: unknown field {nope}"),
    (["log", "-f", "{talk:%H}"], "cc: bad --format template"),
])
def test_a_wrong_template_is_one_line_before_the_daemon_is_asked(args, says, tmp_path):
    done = subprocess.run([CC, *args], capture_output=True, text=True, timeout=30,
                          env={"PATH": "/usr/bin:/bin", "CC_HOME": str(tmp_path)})
    assert done.returncode == 9, done
    assert done.stderr.startswith(says) and done.stderr.count("\n") == 1, done.stderr
    assert done.stdout == ""
