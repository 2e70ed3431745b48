"""The transfer list at a person's terminal (F6, F35; the guide's §3.3.5 and §1 example 2):
`cc transfer` with no target, on a real pseudo-terminal, against the emulator and two
agents' daemons."""

from __future__ import annotations

import pytest

from cccli.picker import ESCAPE_WAIT
from conftest import CC, wait_until
from terminal import Terminal

CALLER = "+380509998877"
NEVER_ANSWERS = "+380441110003"
DIRECTORY = """name,position,department,extension,id_user,phones
Olena Ivanova,Senior agent,Sales,101,5001790109,
Petro Petrenko,Agent,Support,102,5001790110,+380509876543
Оксана Шевченко,Agent,Support,103,,
"""
CONTACTS = """name,account,phones
Olha Bondar,Acme Ltd,+380441110003
Taras Melnyk,Globex,+380672223344
"""


@pytest.fixture
def emulator(emulator_factory):
    """Time stands still: the caller waits on the line as long as the test needs."""
    return emulator_factory(manual_clock=True)


@pytest.fixture
def ivanova(emulator, agent_factory, tmp_path):
    """An agent with colleagues and a contacts book, her daemon's clock standing still too
    (a consult's target rings as long as the test needs)."""
    agent = agent_factory(emulator, manual_clock=True).start()
    agent.wait_logged_in()
    (tmp_path / "team.csv").write_text(DIRECTORY)
    (tmp_path / "contacts.csv").write_text(CONTACTS)
    agent.cc("who", "import", str(tmp_path / "team.csv"))
    agent.cc("contacts", "import", str(tmp_path / "contacts.csv"))
    return agent


@pytest.fixture
def terminals():
    opened = []

    def open_one(agent, *args: str, typed_ahead: bytes = b"", rows: int = 24) -> Terminal:
        terminal = Terminal([CC, *args], agent.env, typed_ahead, rows)
        opened.append(terminal)
        return terminal

    yield open_one
    for terminal in opened:
        terminal.close()


def caller_connected_to(emulator, agent, extension="101") -> str:
    call_id = str(emulator.admin("call-in", From=CALLER, To=extension)["IDCall"])
    agent.wait_call_state("Ringing")
    agent.cc("answer")
    return call_id


def transferred_to(agent) -> str:
    """The number the consult call went to, once the daemon has it."""
    return wait_until(lambda: next((c for c in agent.json("calls") if c["direction"] == "out"),
                                   None), 10, "the consult call")["number"]


def test_typing_narrows_the_colleagues_and_enter_transfers_to_the_marked_one(
        emulator, ivanova, terminals):
    caller_connected_to(emulator, ivanova)
    screen = terminals(ivanova, "transfer")
    screen.shows("transfer to:", "> Olena Ivanova   101", "Petro Petrenko  +380509876543")
    screen.type(b"petr")
    screen.shows("transfer to: petr", "> Petro Petrenko  102", "Enter: transfer to Petro "
                 "Petrenko 102", gone=("Olena",))
    screen.type(b"\r")
    assert screen.finish() == 0
    assert transferred_to(ivanova) == "102"


def test_a_typed_number_that_matches_no_one_is_transferred_to_on_enter(
        emulator, ivanova, terminals):
    first = caller_connected_to(emulator, ivanova)
    screen = terminals(ivanova, "transfer")
    screen.shows("transfer to:")
    screen.type(b"044 111 00 99")
    screen.shows("(no match)", "Enter: transfer to 044 111 00 99")
    screen.type(b"\r")
    assert screen.finish() == 0
    screen.shows("-> 0441110099", "cc transfer complete")
    assert transferred_to(ivanova) == "0441110099"
    assert [c["state_name"] for c in ivanova.json("calls") if c["call_id"] == first] \
        == ["On hold"]


def test_text_that_is_neither_a_match_nor_a_number_keeps_the_list_open(
        emulator, ivanova, terminals):
    caller_connected_to(emulator, ivanova)
    screen = terminals(ivanova, "transfer")
    screen.shows("transfer to:")
    screen.type(b"zzz\r")
    screen.shows("nothing in Colleagues matches 'zzz': type a name, or a number to "
                 "transfer to")
    screen.type(b"\x15")               # Ctrl-U empties the line: the list is still there
    screen.shows("> Olena Ivanova", gone=("zzz",))
    screen.type(b"\x03")
    assert screen.finish() == 1
    screen.shows("transfer cancelled: no target was chosen")
    assert [c["state_name"] for c in ivanova.json("calls")] == ["Connected"]


def test_tab_switches_to_all_where_the_contacts_book_is_too(emulator, ivanova, terminals):
    caller_connected_to(emulator, ivanova)
    screen = terminals(ivanova, "transfer")
    screen.shows("Tab: All", "Petro Petrenko", gone=("Olha Bondar",))
    screen.type(b"\t")
    screen.shows("Olha Bondar", "Taras Melnyk", "Petro Petrenko", "Tab: Colleagues")
    screen.type(b"acme")
    screen.shows("> Olha Bondar", "Acme Ltd", gone=("Petro", "Taras"))
    screen.type(b"\r")
    assert screen.finish() == 0
    assert transferred_to(ivanova) == NEVER_ANSWERS


def test_without_filtering_the_whole_list_is_numbered_and_a_number_picks_a_row(
        emulator, ivanova, terminals):
    ivanova.cc("config", "set", "transfer.filter_as_you_type", "false")
    caller_connected_to(emulator, ivanova)
    screen = terminals(ivanova, "transfer")
    screen.shows("a row's number", "> 1  Olena Ivanova", "  2  Petro Petrenko  102",
                 "  3  Petro Petrenko  +380509876543", "  4  Оксана Шевченко")
    screen.type(b"petr")
    screen.shows("Enter: search for 'petr'", "> 1  Olena Ivanova")     # not narrowed
    screen.type(b"\x7f" * 4 + b"2")
    screen.shows("Enter: transfer to Petro Petrenko 102")
    screen.type(b"\r")
    assert screen.finish() == 0
    assert transferred_to(ivanova) == "102"


def test_without_filtering_enter_searches_and_esc_clears_the_search(
        emulator, ivanova, terminals):
    ivanova.cc("config", "set", "transfer.filter_as_you_type", "false")
    caller_connected_to(emulator, ivanova)
    screen = terminals(ivanova, "transfer")
    screen.shows("a row's number")
    screen.type(b"9876\r")
    screen.shows("Esc: clear the search", "> 1  Petro Petrenko  +380509876543",
                 gone=("Olena", "transfer to: 9876"))
    screen.type(b"\x1b")
    screen.shows("> 1  Olena Ivanova", "Esc: give up")
    screen.type(b"\x1b[B")             # Down: Petro's first number
    screen.shows("Enter: transfer to Petro Petrenko 102")
    screen.type(b"\r")
    assert screen.finish() == 0
    assert transferred_to(ivanova) == "102"


def test_keys_typed_before_the_list_draws_are_taken_and_not_echoed_twice(
        emulator, ivanova, terminals):
    caller_connected_to(emulator, ivanova)
    screen = terminals(ivanova, "transfer", typed_ahead=b"petr")
    screen.until(lambda shown: "transfer to: petr" in shown and "Enter: transfer to Petro "
                 "Petrenko 102" in shown and not shown.startswith("petr"),
                 "the list narrowed by the keys typed ahead, their echo wiped")
    screen.type(b"\r")
    assert screen.finish() == 0
    assert transferred_to(ivanova) == "102"


def test_enter_typed_ahead_too_transfers_without_waiting_for_the_list(
        emulator, ivanova, terminals):
    caller_connected_to(emulator, ivanova)
    screen = terminals(ivanova, "transfer", typed_ahead=b"petr\r")
    assert screen.finish() == 0
    assert transferred_to(ivanova) == "102"


def test_an_arrow_key_split_across_reads_is_still_an_arrow(emulator, ivanova, terminals):
    caller_connected_to(emulator, ivanova)
    # A lone ESC waits ESCAPE_WAIT for the rest of its key, as in every terminal program:
    # the second half must follow within it, so a try the machine was too slow for is
    # made again.
    for _ in range(5):
        screen = terminals(ivanova, "transfer")
        screen.shows("Enter: transfer to Olena Ivanova 101")
        # Down, its first byte (ESC) alone on the wire
        if screen.type_in_halves(b"\x1b[B", 1) < ESCAPE_WAIT:
            break
        screen.close()
    else:
        pytest.fail(f"could not send a key in two halves within {ESCAPE_WAIT} s in 5 tries")
    screen.shows("Enter: transfer to Petro Petrenko 102")
    screen.type(b"\r")
    assert screen.finish() == 0
    assert transferred_to(ivanova) == "102"


def test_a_letter_split_across_reads_is_one_letter(emulator, ivanova, terminals):
    caller_connected_to(emulator, ivanova)
    screen = terminals(ivanova, "transfer")
    screen.shows("transfer to:")
    screen.type_in_halves("Окс".encode(), 1)      # cut in the middle of "О"
    screen.shows("transfer to: Окс", "> Оксана Шевченко  103", gone=("Petro",))
    screen.type(b"\x03")
    assert screen.finish() == 1


def test_esc_gives_up_and_leaves_the_call_as_it_was(emulator, ivanova, terminals):
    caller_connected_to(emulator, ivanova)
    screen = terminals(ivanova, "transfer")
    screen.shows("Esc: give up")
    screen.type(b"\x1b")
    assert screen.finish() == 1
    screen.shows("transfer cancelled: no target was chosen", gone=("transfer to:",))
    assert [c["state_name"] for c in ivanova.json("calls")] == ["Connected"]


def test_a_contact_with_two_numbers_is_dialled_on_the_one_chosen_at_a_terminal(
        ivanova, terminals):
    ivanova.cc("contacts", "add-number", "Olha Bondar", "050 111 22 33")
    screen = terminals(ivanova, "dial", "--contact", "Olha")
    screen.shows("call Olha Bondar on:", "> +380441110003", "0501112233")
    screen.type(b"50 11")
    screen.shows("> 0501112233", gone=("+380441110003",))
    screen.type(b"\r")
    assert screen.finish() == 0
    assert [c["number"] for c in ivanova.json("calls")] == ["+380501112233"]


def test_on_a_short_terminal_the_list_scrolls_with_the_marked_row(emulator, ivanova, terminals):
    caller_connected_to(emulator, ivanova)
    screen = terminals(ivanova, "transfer", rows=8)
    screen.shows("> Olena Ivanova", "Petro Petrenko +380509876543", "... 1 more",
                 gone=("Оксана",))
    screen.type(b"\x1b[B" * 3)
    screen.shows("... 1 above", "> Оксана Шевченко 103", "Enter: transfer to Оксана "
                 "Шевченко 103", gone=("Olena", "more"))
    screen.type(b"\x03")
    assert screen.finish() == 1


def test_with_no_colleagues_the_list_says_how_to_get_them_and_takes_a_number(
        emulator, agent_factory, terminals):
    agent = agent_factory(emulator, manual_clock=True).start()
    agent.wait_logged_in()
    caller_connected_to(emulator, agent)
    screen = terminals(agent, "transfer")
    screen.shows("(no colleague with a number: import them with `cc who import FILE`)",
                 "Colleagues: the list is empty; type a number to transfer to")
    screen.type(b"+380441110003\r")
    assert screen.finish() == 0
    assert transferred_to(agent) == NEVER_ANSWERS
