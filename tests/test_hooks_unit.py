"""What a hook finds in its environment (F38): the card's one-line fields, never a NUL."""

from __future__ import annotations

from daemon.hooks import environment
from daemon.store import card_of


def test_the_environment_has_the_cards_fields_but_the_notes_and_no_nul():
    card = card_of({"counter_number": "CALL-000007", "subject": "Order\x0042",
                    "notes": "line one\nline two", "link_task": "T-77"})
    env = environment("on_end", {"call": {"call_id": "17", "number": "+380441110001"},
                                 "card": card})
    assert env["CC_SUBJECT"] == "Order42" and env["CC_LINK_TASK"] == "T-77"
    assert env["CC_COUNTER_NUMBER"] == "CALL-000007" and env["CC_LINK_SURVEY"] == ""
    assert "CC_NOTES" not in env and "CC_LINKS" not in env
    assert (env["CC_EVENT"], env["CC_CALL_ID"], env["CC_NUMBER"]) == ("on_end", "17",
                                                                      "+380441110001")
