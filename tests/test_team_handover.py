"""The card follows a transfer (F35), in the team store itself: A's hand-over and B's
arrival meet whichever comes second, the database deciding who may see and claim what.
A real PostgreSQL server; each side connects as its own role."""

from __future__ import annotations

import json
import threading

import psycopg
import pytest

from daemon.testing import wait_until
from test_team_roles import PASSWORDS, as_role, team

CARD = {"call_type": "consultation", "subject": "Invoice question", "link_task": "T-77",
        "notes": "wants a copy", "contact": "Olha Bondar", "account": "Acme Ltd"}


@pytest.fixture
def store(postgres):
    team(postgres, "init")
    team(postgres, "add-team", "Sales")
    for login, extension in (("ivanova", "101"), ("petrenko", "102"), ("kovalenko", "103")):
        team(postgres, "add-agent", login, "--team", "Sales", "--extension", extension,
             "--password-stdin", stdin=PASSWORDS[login] + "\n")
    return postgres


def hand_over(conn, caller="+380671112233", target="102", seance=None, call_id="A-1",
              card=CARD, at="now()"):
    return conn.execute(
        "insert into cc.handovers (from_extension, target, caller, call_id, seance, card, "
        f"made_at) values ('101', %s, %s, %s, %s, %s, {at}) returning id",
        (target, caller, call_id, seance, json.dumps(card))).fetchone()[0]


def arrive(conn, caller="+380671112233", extension="102", from_extension="101",
           call_id="B-1", seance=None, at="now()"):
    """B's arrival; the card it got, or None."""
    handover = conn.execute(
        "insert into cc.arrivals (extension, caller, from_extension, call_id, seance, "
        f"arrived_at) values (%s, %s, %s, %s, %s, {at}) returning handover",
        (extension, caller, from_extension, call_id, seance)).fetchone()[0]
    return card_of(conn, call_id) if handover else None


def card_of(conn, call_id="B-1"):
    row = conn.execute("select h.card from cc.arrivals a join cc.handovers h "
                       "on h.id = a.handover where a.call_id = %s", (call_id,)).fetchone()
    return row[0] if row else None


def test_the_hand_over_first_then_the_call(store):
    with as_role(store, "ivanova") as a, as_role(store, "petrenko") as b:
        hand_over(a)
        assert arrive(b) == CARD
        claimed = a.execute("select claimed_by, claimed_call_id from cc.handovers").fetchall()
        assert claimed == [("petrenko", "B-1")]


def test_the_call_first_then_a_late_hand_over_still_fills_the_card(store):
    with as_role(store, "ivanova") as a, as_role(store, "petrenko") as b:
        assert arrive(b) is None
        hand_over(a)
        assert card_of(b) == CARD


def test_what_does_not_fit_is_not_claimed(store):
    with as_role(store, "ivanova") as a, as_role(store, "petrenko") as b:
        hand_over(a, caller="+380671112233")
        assert arrive(b, caller="+380509998877", call_id="B-1") is None     # another caller
        assert arrive(b, from_extension="109", call_id="B-2") is None       # another sender
        assert arrive(b, at="now() + interval '3 minutes'", call_id="B-3") is None
        assert arrive(b, call_id="B-4") == CARD                              # this one fits
        assert arrive(b, call_id="B-5") is None                              # claimed once


def test_the_servers_session_id_wins_over_nearness(store):
    with as_role(store, "ivanova") as a, as_role(store, "petrenko") as b:
        hand_over(a, seance="S-1", card={"subject": "first"},
                  at="now() - interval '30 seconds'")
        hand_over(a, seance="S-2", card={"subject": "second"}, call_id="A-2")
        assert arrive(b, seance="S-1")["subject"] == "first"
        assert arrive(b, seance="S-3", call_id="B-2") is None    # both carry ids: must match


def test_nobody_else_reads_or_claims_a_hand_over(store):
    with as_role(store, "ivanova") as a, as_role(store, "kovalenko") as c:
        hand_over(a)
        assert c.execute("select count(*) from cc.handovers").fetchone()[0] == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            arrive(c, extension="102")                       # pretending to be 102
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            hand_over(c)                                     # as if from 101, ivanova's
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute("update cc.agents set extension = '102' where login = current_user")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute("update cc.agents set extension = null where login = 'petrenko'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute("update cc.handovers set claimed_by = 'kovalenko'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute("insert into cc.handovers (from_agent, from_extension, target, caller, "
                      "call_id, card) values ('ivanova', '101', '103', 'x', 'y', '{}')")


def test_a_hand_over_and_its_call_at_the_same_moment_still_meet(store):
    """Both transactions open at once: the second waits for the first's lock and then
    sees its row, so the two cannot miss each other."""
    with as_role(store, "ivanova") as a, as_role(store, "petrenko") as b:
        a.autocommit = False
        hand_over(a)                                  # not committed yet: holds the lock
        result = {}
        arrived = threading.Thread(target=lambda: result.update(card=arrive(b)))
        arrived.start()
        wait_until(lambda: store.admin_sql(
            "select count(*) from pg_stat_activity where usename = 'petrenko' "
            "and wait_event_type = 'Lock'") == "1", what="B waiting for A's lock")
        assert "card" not in result
        a.commit()
        arrived.join(30)
        assert result["card"] == CARD


def test_a_card_handed_over_fills_only_the_cards_own_fields():
    """A colleague's hand-over is checked where it enters the agent's log: no number,
    outcome or card number can come with it, nor a field that is not text."""
    from daemon.team.replicate import card_fields

    assert card_fields({**CARD, "number": "+380000000000", "outcome": "missed",
                        "counter_number": "X-1", "agent": "kovalenko", "result": 7,
                        "notes": "a" * 10_001, "link_sale": "S\x00"}) == {
        k: v for k, v in CARD.items() if k != "notes"}
    assert card_fields(["not", "a", "card"]) == {}
