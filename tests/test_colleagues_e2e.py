"""Colleagues' directory and live states (F16, F18), with two agents on one server."""

from __future__ import annotations

from conftest import CC, wait_until
from terminal import Terminal

DIRECTORY = """name,position,department,extension,id_user,phones
Olena Ivanova,Senior agent,Sales,101,5001790109,+380441234567
Petro Petrenko,Agent,Support,102,5001790110,+380509876543;+380441230000
Taras Shevchenko,Team lead,Support,103,,+380671111111
"""


def who(agent, *query):
    return {c["name"]: c for c in agent.json("who", *query)}


def test_who_lists_colleagues_with_numbers_internal_first_and_live_states(
        emulator, agent_factory, tmp_path):
    ivanova = agent_factory(emulator).start()
    petrenko = agent_factory(emulator, login="petrenko").start()
    ivanova.wait_logged_in()
    petrenko.wait_logged_in()
    csv_file = tmp_path / "team.csv"
    csv_file.write_text(DIRECTORY)
    assert "imported 3 colleagues" in ivanova.cc("who", "import", str(csv_file)).stdout

    everyone = wait_until(lambda: (w := who(ivanova))["Petro Petrenko"]["state"] and w, 10,
                          "Petrenko's state from the server")
    assert list(everyone) == ["Olena Ivanova", "Petro Petrenko", "Taras Shevchenko"]
    assert everyone["Petro Petrenko"]["phones"] == ["102", "+380509876543", "+380441230000"]
    assert everyone["Petro Petrenko"]["state"]["name"] == "available"
    assert everyone["Taras Shevchenko"]["state"] is None

    assert list(who(ivanova, "petr")) == ["Petro Petrenko"]
    assert list(who(ivanova, "98765")) == ["Petro Petrenko"]
    assert list(who(ivanova, "Support")) == []   # a name or a number, not a department

    petrenko.cc("break", "lunch")
    wait_until(lambda: who(ivanova, "petr")["Petro Petrenko"]["state"]["name"] == "break",
               10, "Petrenko's break to reach Ivanova's directory")
    table = ivanova.cc("who", "petr").stdout
    assert "Petro Petrenko" in table and "Break" in table

    # At an 80-column terminal the name, the numbers and the state stay whole; position
    # and department give way (cut, then dropped), never silently the state.
    term = Terminal([CC, "who"], ivanova.env, columns=80)
    try:
        assert term.finish() == 0
        screen = term.text().splitlines()
    finally:
        term.close()
    assert screen[0].split() == ["name", "position", "phones", "state"], screen
    assert "102, +380509876543, +380441230000  Break" in screen[2]
    assert all(len(line) <= 80 for line in screen)


def test_directory_import_errors_name_the_line(agent, tmp_path):
    done = agent.cc("who", check=False)
    assert done.returncode == 1 and "cc who import FILE" in done.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("name,id_user\nOlena,5001790109\n,123\nPetro,12x\nTaras,\n")
    done = agent.cc("who", "import", str(bad), check=False)
    assert done.returncode == 9 and "imported 2 colleagues" in done.stdout
    assert f"{bad}:3: the name is empty" in done.stderr
    assert f"{bad}:4: id_user '12x' is not a number" in done.stderr
    assert [c["name"] for c in agent.json("who")] == ["Olena", "Taras"]
    bad.write_text("fullname,phone\nOlena,1\n")
    done = agent.cc("who", "import", str(bad), check=False)
    assert done.returncode == 9 and "'name'" in done.stderr
