"""daemon.phone: the one way numbers are cleaned, checked and matched."""

from __future__ import annotations

import subprocess
import sys

import pytest

from daemon import phone
from daemon.wire import ErrorCode, WireError


@pytest.mark.parametrize("raw, cleaned", [
    ("+380 44 111 0001", "+380441110001"),
    ("8 (044) 455-78-90", "80444557890"),
    ("044.455.78.90", "0444557890"),
    ("102", "102"),
    ("\t+1-800-555-0100\n", "+18005550100"),
])
def test_clean_strips_the_separators_people_type(raw, cleaned):
    assert phone.clean(raw) == cleaned
    assert phone.is_number(raw)


@pytest.mark.parametrize("raw", ["1", "+1", "abc", "12a4", "1+23", "+", "", "()",
                                 "1" * 21, "*100#"])
def test_clean_refuses_what_is_not_a_number_in_one_line(raw):
    with pytest.raises(WireError) as caught:
        phone.clean(raw)
    assert caught.value.code is ErrorCode.BAD_INPUT
    message = caught.value.message
    assert message.startswith(f"'{raw}' is not a phone number: use 2 to 20 digits")
    assert "+380441110001" in message and "\n" not in message
    assert not phone.is_number(raw)


@pytest.mark.parametrize("raw", ["+1 (555", "+1 555)", "+1 )555( 0100", "(044) (455) 7890",
                                 "((044)) 4557890"])
def test_a_number_whose_brackets_do_not_pair_is_refused_not_cut(raw):
    with pytest.raises(WireError) as caught:
        phone.clean(raw)
    assert caught.value.code is ErrorCode.BAD_INPUT
    assert caught.value.message.startswith(f"'{raw}' is not a phone number: its brackets "
                                           "do not pair")
    assert not phone.is_number(raw)


def test_dialable_allows_star_and_hash_but_no_separators():
    assert phone.dialable("*100#") and phone.dialable("+380441110001") and phone.dialable("1")
    assert not phone.dialable("044 455") and not phone.dialable("") and not phone.dialable("1+")
    assert phone.dialable(phone.strip("(044) 455-78-90"))


def test_digits_partial_and_split():
    assert phone.digits("+38 (044) 455") == "38044455" and phone.digits(None) == ""
    assert phone.partial(" 455-78 ") == "45578"
    assert phone.partial("+") == "" and phone.partial("") is None
    assert phone.partial("Olha") is None and phone.partial("ext 101") is None
    assert phone.split(" +380441110001; 102 |0444557890;; ") == \
        ["+380441110001", "102", "0444557890"]
    assert phone.split(None) == [] and phone.split("") == []


@pytest.mark.parametrize("raw", ["8 (044) 455-78-90", "+380444557890", "0444557890",
                                 "+38 044 455 78 90", "80444557890"])
def test_one_number_however_it_is_written(raw):
    assert phone.e164(raw, "UA") == "+380444557890"
    assert phone.key(raw, "UA") == "+380444557890"


def test_extensions_and_unknown_numbers_match_by_their_digits():
    assert phone.e164("102", "UA") is None and phone.key("102", "UA") == "102"
    assert phone.key("not a number", "UA") == ""
    # Without a region only numbers with a country code are public ones.
    assert phone.key("+380444557890", "") == "+380444557890"
    assert phone.key("0444557890", "") == "0444557890"
    assert phone.key(None, "UA") == ""


def test_importing_it_leaves_phonenumbers_unloaded():
    code = "import sys, daemon.phone; print('phonenumbers' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=30)
    assert done.stdout.strip() == "False", done.stderr
