"""What the daemon makes of the guide's server at the edge, without processes: a caller
without caller ID, the connections an agent took part in, a recording's codec."""

from __future__ import annotations

import pytest

from daemon import phone
from daemon.handlers.log import _audio_suffix
from daemon.infinity.values import ConnectionRecord, caller_number
from daemon.wire import Direction, ErrorCode, WireError


@pytest.mark.parametrize("raw, way, kept", [
    ("anonymous", Direction.IN, "anonymous"),
    (" Anonymous ", Direction.IN, "anonymous"),
    ("", Direction.IN, "anonymous"),            # announced with an empty Number
    (None, Direction.IN, ""),                   # not said at all: not known yet
    ("+380671112233", Direction.IN, "+380671112233"),
    ("", Direction.OUT, ""),                    # an outgoing call always has its number
    ("anonymous", Direction.UNKNOWN, "anonymous"),
])
def test_an_incoming_call_without_caller_id_is_anonymous(raw, way, kept):
    assert caller_number(raw, way) == kept


def test_an_anonymous_number_cannot_be_dialled():
    for raw in ("anonymous", " ANONYMOUS"):
        with pytest.raises(WireError) as caught:
            phone.clean(raw)
        assert caught.value.code == ErrorCode.BAD_INPUT
        assert caught.value.message == ("an anonymous caller withheld their number: there is "
                                        "no number to call")


def record(a_number: str = "", b_id_user: str = "") -> ConnectionRecord:
    return ConnectionRecord("1", None, 10.0, 1.0, 8.0, 1.0, a_number, b_id_user)


def test_a_connection_is_the_agents_when_they_called_from_or_were_reached_on_it():
    assert record(a_number="101").has(5001790109, "101")            # dialled out
    assert record("+380671112233", "5001790109").has(5001790109, "101")  # reached
    assert not record("+380671112233", "5001790110").has(5001790109, "101")
    assert not record().has(5001790109, "101")          # the server names nobody
    assert not record(a_number="").has(5001790109, "")  # no extension known: no match


@pytest.mark.parametrize("head, suffix", [
    (b"RIFF\x24\x00\x00\x00WAVE", ".wav"),
    (b"ID3\x03\x00", ".mp3"),
    (b"\xff\xfb\x90\x00", ".mp3"),
    (b"\xd3\x4a\x1b", ".gsm"),
    (b"", ".gsm"),
])
def test_a_recording_is_named_by_its_codec(head, suffix):
    assert _audio_suffix(head) == suffix
