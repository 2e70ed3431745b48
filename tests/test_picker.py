"""cccli.picker.choose: one of several by --pick N, alone, or at a terminal."""

from __future__ import annotations

import pytest

from cccli import picker
from daemon.wire import ErrorCode, WireError

ITEMS = [("8 (044) 455-78-90", "+380444557890"), ("+380501112233", "+380501112233")]


def choose(items=ITEMS, **kw):
    return picker.choose(items, "call Olha on: ", "Olha", "number",
                         gave_up="nothing dialled", **kw)


@pytest.fixture
def terminal(monkeypatch):
    """A terminal whose person answers with the value set in `answer` (None: Esc)."""
    asked = {"answer": None, "seen": None}

    def ask(items, prompt):
        asked["seen"] = (items, prompt)
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
