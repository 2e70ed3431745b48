"""cccli.picker: one of several by --pick N, alone, or at a terminal; the list's keys."""

from __future__ import annotations

import sys

import pytest

from cccli import picker
from conftest import modules_loaded
from daemon.wire import ErrorCode, WireError

ITEMS = [("8 (044) 455-78-90", "+380444557890"), ("+380501112233", "+380501112233")]


def choose(items=ITEMS, **kw):
    return picker.choose(items, "call Olha on: ", "Olha", "number",
                         gave_up="nothing dialled", **kw)


@pytest.fixture
def terminal(monkeypatch):
    """A terminal whose person answers with the value set in `answer` (None: Esc)."""
    asked = {"answer": None, "seen": None}

    def ask(views, prompt):
        asked["seen"] = ([(row.label, row.value) for row in views[0].load()], prompt)
        return asked["answer"]

    monkeypatch.setattr(picker, "at_terminal", lambda: True)
    monkeypatch.setattr(picker, "ask", ask)
    return asked


@pytest.fixture
def script(monkeypatch):
    monkeypatch.setattr(picker, "at_terminal", lambda: False)


def refused(code: ErrorCode, **kw) -> str:
    with pytest.raises(WireError) as caught:
        choose(**kw)
    assert caught.value.code is code and "\n" not in caught.value.message
    return caught.value.message


def test_pick_takes_the_nth_and_refuses_one_out_of_range(script):
    assert choose(pick=2) == "+380501112233" and choose(pick=1) == "+380444557890"
    assert refused(ErrorCode.BAD_INPUT, pick=3) == "--pick 3: Olha has 2 number(s)"
    assert refused(ErrorCode.BAD_INPUT, pick=0) == "--pick 0: Olha has 2 number(s)"


def test_a_lone_item_is_taken_unless_asked_for(terminal):
    assert choose(ITEMS[:1]) == "+380444557890" and terminal["seen"] is None
    terminal["answer"] = "+380444557890"
    assert choose(ITEMS[:1], ask_one=True) == "+380444557890"
    assert terminal["seen"] == (ITEMS[:1], "call Olha on: ")


def test_without_a_terminal_the_error_lists_them_and_names_pick(script):
    assert refused(ErrorCode.BAD_INPUT) == (
        "Olha has 2 numbers (1: 8 (044) 455-78-90, 2: +380501112233): choose one with --pick N")


def test_at_a_terminal_the_person_chooses_or_gives_up(terminal):
    terminal["answer"] = "+380501112233"
    assert choose() == "+380501112233"
    terminal["answer"] = None
    assert refused(ErrorCode.FAILED) == "nothing dialled: no number was chosen"


def test_nothing_to_choose_from_says_so(terminal):
    assert refused(ErrorCode.BAD_INPUT, items=[]) == "Olha has no numbers"


# The list itself (F6, F35): its state, and the real prompt_toolkit application fed keys
# through a pipe, as a terminal would send them.

COLLEAGUES = [picker.Row("Olena Ivanova   101", "101", ("101",)),
              picker.Row("Petro Petrenko  102", "102", ("102",)),
              picker.Row("Petro Petrenko  +380 50 987 65 43", "+380509876543",
                         ("+380 50 987 65 43",))]
CONTACTS = [picker.Row("Olha Bondar  Acme Ltd", "+380441110003", ("+380441110003",))]
TYPED = picker.Typed("transfer to", lambda text: text if text.isdigit() else None)


def views():
    return [picker.View("Colleagues", lambda: COLLEAGUES),
            picker.View("All", lambda: COLLEAGUES + CONTACTS)]


def test_a_piece_of_a_number_matches_however_it_is_written():
    assert [r.value for r in picker.matching(COLLEAGUES, "50-987")] == ["+380509876543"]
    assert [r.value for r in picker.matching(COLLEAGUES, "petr 102")] == ["102"]
    assert picker.matching(COLLEAGUES, "  ") == COLLEAGUES


def test_typing_narrows_and_enter_takes_the_marked_row():
    state = picker.Picker(views(), typed=TYPED)
    state.type("petr")
    assert [r.value for r in state.shown()] == ["102", "+380509876543"]
    state.move(5)
    assert state.hint() == "Enter: transfer to Petro Petrenko +380 50 987 65 43"
    assert state.enter() == (True, "+380509876543")


def test_a_number_that_matches_no_one_is_taken_as_typed_and_other_text_is_not():
    state = picker.Picker(views(), typed=TYPED)
    state.type("0441110099")
    assert state.lines() == ["  (no match)"] and state.enter() == (True, "0441110099")
    state.type("zzz")
    assert state.enter() == (False, None)
    assert state.hint() == ("nothing in Colleagues matches 'zzz': type a name, or a number "
                            "to transfer to")


def test_all_is_loaded_when_first_shown_and_a_failed_load_is_one_line():
    loaded = []

    def fails():
        loaded.append(1)
        raise WireError(ErrorCode.NOT_RUNNING, "the daemon is not running")

    state = picker.Picker([views()[0], picker.View("All", fails)])
    assert loaded == [] and "Tab: All" in state.keys()
    state.switch()
    assert state.lines() == ["  (empty)"] and loaded == [1]
    assert state.hint() == "All: the daemon is not running"


def test_without_filtering_a_row_number_picks_other_text_searches_and_esc_clears_it():
    state = picker.Picker(views(), live=False, typed=TYPED)
    assert state.lines()[0] == "> 1  Olena Ivanova   101"
    state.type("petr")
    assert len(state.shown()) == 3 and state.hint() == "Enter: search for 'petr'"
    assert state.enter() == (False, None) and state.text == ""
    assert state.lines() == ["> 1  Petro Petrenko  102",
                             "  2  Petro Petrenko  +380 50 987 65 43"]
    assert "Esc: clear the search" in state.keys()
    assert state.escape() is False and len(state.shown()) == 3
    state.type("2")
    assert state.enter() == (True, "102")
    assert state.escape() is True


def test_a_long_list_scrolls_with_the_marked_row():
    rows = [picker.Row(f"agent {n:02}", n) for n in range(1, 26)]
    state = picker.Picker([picker.View("Colleagues", lambda: rows)])
    assert state.lines()[-1] == "  ... 15 more" and len(state.lines()) == picker.SHOWN + 1
    state.move(12)
    shown = state.lines()
    assert shown[0] == "  ... 3 above" and shown[-2] == "> agent 13"
    assert shown[-1] == "  ... 12 more"
    state.page = 3                      # a short terminal
    assert state.lines() == ["  ... 10 above", "  agent 11", "  agent 12", "> agent 13",
                             "  ... 12 more"]


@pytest.fixture
def keys():
    """Keys for the real list, sent through a pipe; its screen goes nowhere."""
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    with create_pipe_input() as pipe:
        yield pipe, DummyOutput()


def ask(terminal, sent: bytes, live: bool = True):
    terminal[0].send_bytes(sent)
    return picker.ask(views(), "transfer to: ", live=live, typed=TYPED, terminal=terminal)


@pytest.mark.parametrize("sent, chosen", [
    (b"petr\r", "102"),                              # typed to narrow, Enter
    (b"petr\x1b[B\r", "+380509876543"),              # Down, an escape sequence
    (b"\x1b[B\x1b[B\x1b[A\n", "102"),                # Enter typed ahead in a cooked tty
    (b"\t\x0eacme\r", "+380441110003"),              # Tab to All
    (b"0441110099\r", "0441110099"),                  # a number no one has
    (b"zzz\r\x15\r", "101"),                          # no match: the list stays open
    (b"\x03", None), (b"\x1b", None),                  # Ctrl-C, Esc: give up
])
def test_the_list_takes_keys_as_a_terminal_sends_them(keys, sent, chosen):
    assert ask(keys, sent) == chosen


@pytest.mark.parametrize("sent, chosen", [
    (b"3\r", "+380509876543"),                       # a row's number
    (b"9876\r\r", "+380509876543"),                   # search, then the marked row
    (b"9876\r\x1b1\r", "101"),                        # Esc at once followed by a key
])
def test_without_filtering_the_list_takes_a_row_number(keys, sent, chosen):
    assert ask(keys, sent, live=False) == chosen


def test_an_error_inside_the_list_ends_it_and_is_raised(keys):
    def broken():
        raise ValueError("a contact without a name")

    keys[0].send_bytes(b"\t")
    with pytest.raises(ValueError, match="without a name"):
        picker.ask([picker.View("Colleagues", lambda: COLLEAGUES), picker.View("All", broken)],
                   "transfer to: ", terminal=keys)


def test_prompt_toolkit_is_loaded_only_when_a_list_is_shown(tmp_path):
    modules, output = modules_loaded(tmp_path, "transfer", "--help")
    assert "--blind" in output
    assert not [m for m in modules if m.split(".")[0] in ("prompt_toolkit", "wcwidth")]


def test_without_prompt_toolkit_the_list_says_how_to_get_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "prompt_toolkit", None)     # import fails
    with pytest.raises(WireError) as caught:
        picker.ask(views(), "transfer to: ")
    assert caught.value.code is ErrorCode.CONFIG
    assert caught.value.message.startswith("choosing from a list needs prompt_toolkit")
