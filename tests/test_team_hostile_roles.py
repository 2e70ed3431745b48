"""The team store against one of its own: an agent or a lead that writes by hand what no
cc would, to take, pin or spoil what another agent's daemon and terminal get. Each test
connects as the hostile role and tries; the database must say no."""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest

import test_team_roles
from test_team_handover import CARD, arrive, card_of, hand_over
from test_team_handover import store as transfer_store  # noqa: F401  (the fixture)
from test_team_roles import as_role, store  # noqa: F401  (the fixture)


def test_an_arrival_of_ones_own_cannot_pin_anothers_hand_over(transfer_store):  # noqa: F811
    with as_role(transfer_store, "ivanova") as a, as_role(transfer_store, "petrenko") as b, \
            as_role(transfer_store, "kovalenko") as ko:
        handover = hand_over(a)             # ivanova hands the call over to petrenko (102)
        # kovalenko, at its own extension, names that hand-over as its arrival's.
        pinned = ko.execute(
            "insert into cc.arrivals (extension, caller, call_id, handover) "
            "values ('103', '+380671112233', 'K-1', %s) returning handover",
            (handover,)).fetchone()[0]
        assert pinned is None and card_of(ko, "K-1") is None
        assert arrive(b) == CARD            # the transfer still finds its card


def test_a_hand_over_cannot_come_claimed_already(transfer_store):  # noqa: F811
    with as_role(transfer_store, "ivanova") as a, as_role(transfer_store, "petrenko") as b:
        a.execute("insert into cc.handovers (from_extension, target, caller, call_id, card, "
                  "claimed_by, claimed_call_id, claimed_at) values ('101', '555', 'x', "
                  "'A-9', %s, 'petrenko', 'B-7', now())", (json.dumps(CARD),))
        assert a.execute("select claimed_by, claimed_call_id, claimed_at "
                         "from cc.handovers").fetchall() == [(None, None, None)]
        assert b.execute("select count(*) from cc.handovers").fetchone()[0] == 0


ESCAPE = "\x1b]0;owned\x07\x1b[2J"


def test_a_lead_cannot_put_control_characters_in_what_agents_print(store):  # noqa: F811
    with as_role(store, "boss") as lead:
        with pytest.raises(psycopg.errors.CheckViolation):
            lead.execute("insert into cc.catalog (team, kind, name) values "
                         "('Sales', 'types', %s)", (f"sale{ESCAPE}",))
        with pytest.raises(psycopg.errors.CheckViolation):
            lead.execute("update cc.agents set name = %s where login = 'ivanova'",
                         (f"Ivanova{ESCAPE}",))
        lead.execute("insert into cc.catalog (team, kind, name) values "
                     "('Sales', 'types', 'Follow-up «VIP»')")      # any printable text is fine


def _contact(conn, name="Olha Bondar", numbers=None):
    numbers = numbers or [{"number": "+380501112233", "kind": "mobile"}]
    conn.execute("insert into cc.contacts (uid, name, numbers) values (%s, %s, %s)",
                 (str(uuid.uuid4()), name, json.dumps(numbers)))


def test_an_agent_cannot_put_control_characters_or_cargo_in_the_teams_contacts(
        store):  # noqa: F811
    with as_role(store, "ivanova") as iv:
        for name, numbers in (
                (f"Olha{ESCAPE}", None),
                ("Olha", [{"number": f"+380{ESCAPE}", "kind": "mobile"}]),
                ("Olha", [{"number": "+380501112233", "kind": "mobile",
                           "cargo": "x" * 100_000}])):
            with pytest.raises(psycopg.errors.CheckViolation):
                _contact(iv, name, numbers)
        with pytest.raises(psycopg.errors.CheckViolation):
            iv.execute("insert into cc.accounts (uid, name) values (%s, %s)",
                       (str(uuid.uuid4()), f"Acme{ESCAPE}"))
        _contact(iv, "Olha Bondar-Шевченко")
        assert iv.execute("select count(*) from cc.contacts").fetchone()[0] == 1


assert test_team_roles.PASSWORDS      # the roles these tests connect as


def test_cc_catalog_add_says_what_is_wrong_with_an_escape(store):  # noqa: F811
    from test_team_catalogue_e2e import LEAD_PASSWORD, lead_cc

    assert LEAD_PASSWORD == test_team_roles.PASSWORDS["boss"]
    lead_cc(store, "config", "set", "team.url", store.url("boss", ""))
    done = lead_cc(store, "catalog", "add", "types", f"sale{ESCAPE}", check=False)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and "cannot hold control characters" in done.stderr
    assert "\x1b" not in done.stderr


def _stalls(conn, sql: str, params=()) -> bool:
    """Whether `sql` waits on a lock (two seconds at most) instead of going through."""
    conn.execute("set lock_timeout = '2s'")
    try:
        conn.execute(sql, params)
    except psycopg.errors.LockNotAvailable:
        return True
    return False


def test_another_teams_agent_cannot_hold_a_teams_contacts_still(store):  # noqa: F811
    with as_role(store, "kovalenko") as ko, as_role(store, "ivanova") as iv:
        # kovalenko (Support) takes the lock Sales' writers took in the first schema,
        ko.execute("select pg_advisory_lock(hashtext('cc directory Sales'))")
        assert not _stalls(iv, "insert into cc.contacts (uid, name) values (%s, 'Olha')",
                           (str(uuid.uuid4()),))
        ko.execute("begin")                     # and the one the store's function takes
        ko.execute("select cc.directory_lock('Sales')")
        assert not _stalls(iv, "insert into cc.contacts (uid, name) values (%s, 'Olga')",
                           (str(uuid.uuid4()),))
        ko.execute("rollback")
        # Its own team's writers still wait on each other (the revision order).
        with as_role(store, "petrenko") as pe:
            pe.execute("begin")
            pe.execute("insert into cc.contacts (uid, name) values (%s, 'Taras')",
                       (str(uuid.uuid4()),))
            assert _stalls(iv, "insert into cc.accounts (uid, name) values (%s, 'Acme')",
                           (str(uuid.uuid4()),))
            pe.execute("commit")


def test_a_colleagues_call_cannot_drive_the_leads_terminal(store):  # noqa: F811
    from test_team_catalogue_e2e import lead_cc
    from test_team_roles import add_call

    with as_role(store, "ivanova") as iv:
        add_call(iv, "1", 1, number=f"+380{ESCAPE}501112233", result=f"sold{ESCAPE}",
                 subject=f"line one\nline two{ESCAPE}")
    lead_cc(store, "config", "set", "team.url", store.url("boss", ""))
    for columns in ((), ("--columns", "number,subject,result")):
        shown = lead_cc(store, "log", "--team", *columns).stdout
        assert "\x1b" not in shown and "\x07" not in shown, shown
        assert "+380" in shown and "sold" in shown


def test_what_others_read_whole_has_a_bound(transfer_store):  # noqa: F811
    from daemon.team.schema import MAX_CARD_BYTES, MAX_FILTER_BYTES, MAX_TEXT_BYTES
    from test_team_roles import add_call

    with as_role(transfer_store, "ivanova") as iv:
        with pytest.raises(psycopg.errors.CheckViolation):
            hand_over(iv, card={"notes": "x" * MAX_CARD_BYTES})
        with pytest.raises(psycopg.errors.CheckViolation):
            iv.execute("insert into cc.saved_filters (team, name, definition) values "
                       "('Sales', 'big', %s)", (json.dumps({"period": "x" * MAX_FILTER_BYTES}),))
        with pytest.raises(psycopg.errors.CheckViolation):
            add_call(iv, "1", 1, notes="x" * (MAX_TEXT_BYTES + 1))
        # What a cc writes goes through.
        hand_over(iv, card={"notes": "x" * 10_000})
        add_call(iv, "2", 2, notes="y" * 100_000)


def test_a_teammates_filter_cannot_drive_the_terminal_through_an_error(store):  # noqa: F811
    import os
    import subprocess

    from daemon.testing import CC

    with as_role(store, "petrenko") as pe:
        pe.execute("insert into cc.saved_filters (team, name, definition) values "
                   "('Sales', 'daily', %s)", (json.dumps({"version": 2, ESCAPE: "x"}),))
    env = {**os.environ, "CC_TEAM_PASSWORD": test_team_roles.PASSWORDS["ivanova"],
           "CC_HOME": str(store.dir / "ivanova-profile")}

    def cc(*args):
        return subprocess.run([CC, *args], env=env, capture_output=True, text=True,
                              timeout=60)

    assert cc("config", "set", "team.url", store.url("ivanova", "")).returncode == 0
    done = cc("log", "daily")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "team Sales's filter 'daily' has the unknown option" in done.stderr
    assert "\x1b" not in done.stderr and "\x07" not in done.stderr


def test_an_agent_cannot_take_the_card_number_a_colleagues_next_call_needs(
        store):  # noqa: F811
    from test_team_roles import add_call

    with as_role(store, "ivanova") as iv, as_role(store, "petrenko") as pe:
        add_call(iv, "1", 1)
        forged = iv.execute("update cc.calls set counter_number = 'PETRENKO-000001' "
                            "where call_id = '1' returning counter_number").fetchone()[0]
        assert forged == "IVANOVA-000001"
        assert add_call(pe, "2", 1) == "PETRENKO-000001"


def test_numbers_forged_before_are_made_again(postgres, monkeypatch):
    from daemon.team import schema

    before = schema.MIGRATIONS.index(schema._numbered_always)
    monkeypatch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:before])
    with psycopg.connect(postgres.url(), autocommit=True) as admin:
        schema.migrate(admin)
        admin.execute("insert into cc.teams (name) values ('Sales')")
        admin.execute("insert into cc.agents (login, team, prefix) values "
                      "('ivanova', 'Sales', 'IVA'), ('petrenko', 'Sales', 'PET')")
        admin.execute("insert into cc.calls (server, call_id, agent, counter, "
                      "counter_number, direction, started_at) values "
                      "('emu', '1', 'ivanova', 1, '', 'in', now())")
        admin.execute("update cc.calls set counter_number = 'PET-000001'")    # as v1 let it
        monkeypatch.undo()
        schema.migrate(admin)
        assert admin.execute("select counter_number from cc.calls").fetchall() == \
            [("IVA-000001",)]


def test_one_teammates_odd_filter_leaves_the_others_listed(store):  # noqa: F811
    import os
    import subprocess

    from daemon.testing import CC

    with as_role(store, "petrenko") as pe:
        for name, definition in (("odd", {"version": 2, "period": 5, "cargo": [1]}),
                                 ("daily", {"version": 2, "period": "today"})):
            pe.execute("insert into cc.saved_filters (team, name, definition) values "
                       "('Sales', %s, %s)", (name, json.dumps(definition)))
    env = {**os.environ, "CC_TEAM_PASSWORD": test_team_roles.PASSWORDS["ivanova"],
           "CC_HOME": str(store.dir / "ivanova-profile")}
    subprocess.run([CC, "config", "set", "team.url", store.url("ivanova", "")], env=env,
                   check=True, capture_output=True, timeout=60)
    done = subprocess.run([CC, "log", "saved", "--json"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert [e["name"] for e in json.loads(done.stdout)] == ["daily"]
    assert "team Sales's filter 'odd'" in done.stderr and "left out" in done.stderr


def test_a_hand_over_left_open_does_not_hold_the_targets_arrivals(transfer_store):  # noqa: F811
    with as_role(transfer_store, "kovalenko") as ko, \
            as_role(transfer_store, "petrenko") as b, as_role(transfer_store, "ivanova") as a:
        # kovalenko writes a hand-over to petrenko's extension and leaves it uncommitted.
        ko.execute("begin")
        ko.execute("insert into cc.handovers (from_extension, target, caller, call_id, card) "
                   "values ('103', '102', '+380509998877', 'K-1', '{}')")
        b.execute("set statement_timeout = '20s'")      # before: waited until cancelled
        assert arrive(b, call_id="B-1") is None          # in, unmatched, after a moment
        a.execute("set statement_timeout = '20s'")
        hand_over(a, target="102", call_id="A-2", caller="+380671110000")
        ko.execute("rollback")
        assert arrive(b, caller="+380671110000", call_id="B-2") == CARD   # all as before
