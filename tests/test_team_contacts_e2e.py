"""The team's contacts and accounts (issue: "contacts and accounts likewise, with a local
cache"): what one agent adds, changes or removes, its colleagues' daemons take from the
team store, and every look-up on a call reads the local cache, so an agent whose store is
down still knows who calls. PostgreSQL, the emulator and the agents' daemons are real
processes; the pull interval is moved on the daemons' manual clocks."""

from __future__ import annotations

import os
import sqlite3

import pytest

from daemon.team.directory_sync import PULL_EVERY
from daemon.testing import Emulator, scenario_text, wait_until
from test_team_roles import team

PASSWORDS = {"ivanova": "iv-pw", "petrenko": "pe-pw", "kovalenko": "ko-pw"}
OLHA, IVAN, GANNA = "+380501112233", "+380671112233", "+380631112233"
KOVALENKO = ('[[users]]\nlogin = "kovalenko"\npassword = "s3cret"\nid = 5001790111\n'
             'extension = "103"\nname = "Kateryna Kovalenko"\nposition = "Agent"\n'
             'department = "Support"\n')


@pytest.fixture
def store(postgres):
    """Sales (ivanova 101, petrenko 102) and Support (kovalenko 103)."""
    team(postgres, "init")
    team(postgres, "add-team", "Sales")
    team(postgres, "add-team", "Support")
    for login, group, extension in (("ivanova", "Sales", "101"), ("petrenko", "Sales", "102"),
                                    ("kovalenko", "Support", "103")):
        team(postgres, "add-agent", login, "--team", group, "--prefix", login[:3].upper(),
             "--extension", extension, "--password-stdin", stdin=PASSWORDS[login] + "\n")
    return postgres


@pytest.fixture
def emulator(tmp_path):
    (tmp_path / "emulator").mkdir()
    started = Emulator(tmp_path / "emulator", manual_clock=True,
                       scenario=scenario_text(manual_clock=True) + "\n" + KOVALENKO)
    yield started
    started.stop()


def member(store, emulator, agent_factory, login: str, team_url: bool = True):
    env = {**os.environ, "CC_TEAM_PASSWORD": PASSWORDS[login]}
    settings = {"team.url": store.url(login, "")} if team_url else {}
    agent = agent_factory(emulator, login=login, manual_clock=True, env=env,
                          **settings).start()
    agent.wait_logged_in()
    return agent


def names(agent) -> dict[str, list[str]]:
    """Each contact the agent's daemon has, with its numbers (its local cache)."""
    return {c["name"]: sorted(n["number"] for n in c["numbers"])
            for c in agent.json("contacts")}


def pulled(agent, condition, what: str):
    """Move the agent's daemon clock a pull interval on until `condition()` holds."""
    return wait_until(lambda: (agent.advance(PULL_EVERY), condition())[1], 60, what)


def in_store(store) -> list[tuple]:
    rows = store.admin_sql("select name, deleted, updated_by, numbers from cc.contacts "
                           "order by revision", database="cc")
    return [tuple(line.split("|")) for line in rows.splitlines()]


def sync_view(agent) -> dict:
    return agent.status()["contacts_sync"]


def ring(emulator, agent, number: str, extension: str) -> dict:
    emulator.admin("call-in", From=number, To=extension)
    return agent.wait_call_state("Ringing")


def test_a_colleague_adds_changes_and_removes_a_contact_the_other_resolves_it(
        store, emulator, agent_factory):
    a = member(store, emulator, agent_factory, "ivanova")
    b = member(store, emulator, agent_factory, "petrenko")
    a.cc("contacts", "add", "Olha Bondar", "--account", "Acme Ltd", "--phone",
         f"mobile:{OLHA}")
    wait_until(lambda: len(in_store(store)) == 1 and sync_view(a)["outbox"] == 0, 30,
               "the contact in the team store")
    assert in_store(store)[0][:3] == ("Olha Bondar", "f", "ivanova")
    pulled(b, lambda: "Olha Bondar" in names(b), "B's daemon taking the contact")
    assert b.json("contacts", "Olha")[0]["account"] == "Acme Ltd"
    assert [x["name"] for x in b.json("accounts")] == ["Acme Ltd"]
    # An incoming call on B's line: the card names A's contact, from B's local cache.
    call = ring(emulator, b, OLHA, "102")
    assert (call["contact"], call["account"]) == ("Olha Bondar", "Acme Ltd")
    assert "[Olha Bondar, Acme Ltd]" in b.cc("status").stdout
    b.cc("reject")
    # B changes it; A sees the change.
    b.cc("contacts", "edit", "Olha", "--name", "Olha Koval")
    b.cc("contacts", "add-number", "Olha Koval", "0441112233", "--kind", "work")
    pulled(a, lambda: names(a) == {"Olha Koval": [OLHA, "0441112233"]}, "A taking B's change")
    assert in_store(store)[-1][2] == "petrenko"
    # A removes it: B's copy goes; B's call keeps the name it had, unlinked.
    a.cc("contacts", "rm", "Olha Koval")
    pulled(b, lambda: names(b) == {}, "B's copy removed")
    row = b.log_row(call["call_id"])
    assert row["contact"] == "Olha Bondar"
    with sqlite3.connect(b.database) as log:
        assert log.execute("select contact_id from calls where id = ?",
                           (row["id"],)).fetchone() == (None,)
    assert in_store(store)[-1][:2] == ("", "t")
    # Nothing applied from the store is sent back to it.
    assert sync_view(b)["outbox"] == 0 and len(in_store(store)) == 1
    assert "contacts 0 change(s) to send, last pull 20" in b.cc("status").stdout


def test_with_the_store_down_numbers_resolve_from_the_cache_and_edits_wait(
        store, emulator, agent_factory):
    a = member(store, emulator, agent_factory, "ivanova")
    b = member(store, emulator, agent_factory, "petrenko")
    a.cc("contacts", "add", "Ivan Petrenko", "--phone", IVAN)
    pulled(b, lambda: "Ivan Petrenko" in names(b), "B's daemon taking the contact")
    store.stop("immediate")
    call = ring(emulator, b, IVAN, "102")
    assert call["contact"] == "Ivan Petrenko"
    b.cc("reject")
    a.cc("contacts", "add-number", "Ivan Petrenko", "0441230000", "--kind", "work")
    a.cc("contacts", "add", "Maria Koval", "--phone", "+380931112233")
    wait_until(lambda: sync_view(a).get("last_error"), 30, "A's daemon noticing")
    assert sync_view(a)["outbox"] >= 2
    assert "error   team contacts: cannot reach the team store" in a.cc("status").stdout
    store.start()

    def both_there():
        a.advance(PULL_EVERY)
        b.advance(PULL_EVERY)
        return names(b) == {"Ivan Petrenko": [IVAN, "0441230000"],
                            "Maria Koval": ["+380931112233"]}
    wait_until(both_there, 60, "A's edits made while the store was down reaching B")
    assert sync_view(a)["outbox"] == 0 and "last_error" not in sync_view(a)


def test_an_agent_of_another_team_never_sees_them(store, emulator, agent_factory):
    a = member(store, emulator, agent_factory, "ivanova")
    k = member(store, emulator, agent_factory, "kovalenko")
    a.cc("contacts", "add", "Olha Bondar", "--phone", OLHA)
    k.cc("contacts", "add", "Support's caller", "--phone", IVAN)
    wait_until(lambda: len(in_store(store)) == 2, 30, "both contacts in the store")
    pulled(a, lambda: sync_view(a)["revision"] > 0, "A's pull")
    pulled(k, lambda: sync_view(k)["revision"] > 0, "K's pull")
    assert names(a) == {"Olha Bondar": [OLHA]}
    assert names(k) == {"Support's caller": [IVAN]}
    call = ring(emulator, k, OLHA, "103")
    assert call["contact"] is None


def test_joining_uploads_the_agents_contacts_and_doubles_none_they_share(
        store, emulator, agent_factory):
    a = member(store, emulator, agent_factory, "ivanova")
    a.cc("contacts", "add", "Olha Bondar", "--account", "Acme Ltd", "--phone", OLHA,
         "--phone", "home:0442223344")
    a.cc("contacts", "add", "Ґанна Мар’яненко", "--phone", GANNA)
    wait_until(lambda: len(in_store(store)) == 2, 30, "A's contacts in the store")
    # B kept contacts of its own before the team store: one of them is A's Olha.
    b = member(store, emulator, agent_factory, "petrenko", team_url=False)
    b.cc("contacts", "add", "olha bondar", "--phone", "0501112233", "--phone", "work:0441112233")
    b.cc("contacts", "add", "Taras Hnatyuk", "--phone", IVAN)
    b.cc("contacts", "add", "ґанна мар'яненко", "--phone", GANNA)     # folded, ' for ’
    b.stop(keep_home=True)
    b.write_config({"server.host": "127.0.0.1", "server.port": emulator.port,
                    "server.login": "petrenko", "server.poll_interval": 0.5,
                    "team.url": store.url("petrenko", "")})
    b.start()
    b.wait_logged_in()
    wait_until(lambda: len(in_store(store)) == 3 and sync_view(b)["outbox"] == 0, 30,
               "B's contacts uploaded")
    assert sorted(r[0] for r in in_store(store)) == [
        "Taras Hnatyuk", "olha bondar", "ґанна мар'яненко"]
    # One Olha, with the numbers of both (B's spelling of the number they share), and
    # the account A gave her.
    olha = ["0441112233", "0442223344", "0501112233"]
    pulled(a, lambda: names(a) == {"olha bondar": olha, "Taras Hnatyuk": [IVAN],
                                   "ґанна мар'яненко": [GANNA]},
           "A taking B's contacts, Olha and Ganna once with every number")
    pulled(b, lambda: names(b) == names(a), "B with the same contacts")
    assert b.json("contacts", "olha")[0]["account"] == "Acme Ltd"


def test_accounts_travel_too_and_one_made_twice_apart_ends_as_one(store, emulator,
                                                                 agent_factory):
    a = member(store, emulator, agent_factory, "ivanova")
    b = member(store, emulator, agent_factory, "petrenko")
    a.cc("accounts", "add", "Globex", "--phone", "work:0441230000")
    pulled(b, lambda: [x["name"] for x in b.json("accounts")] == ["Globex"], "B's Globex")
    call = ring(emulator, b, "0441230000", "102")
    assert (call["contact"], call["account"]) == (None, "Globex")
    b.cc("reject")
    # Both make Initech while the store is down; it ends as one, with both numbers.
    store.stop("immediate")
    a.cc("accounts", "add", "Initech", "--phone", "work:0445550000")
    b.cc("accounts", "add", "initech", "--phone", "mobile:+380995550000")
    b.cc("contacts", "add", "Peter Gibbons", "--account", "initech")
    store.start()

    def accounts(agent) -> dict:
        return {x["name"].lower(): sorted(x["phones"]) for x in agent.json("accounts")}
    both = {"globex": ["0441230000"], "initech": ["+380995550000", "0445550000"]}

    def converged():
        a.advance(PULL_EVERY)
        b.advance(PULL_EVERY)
        return accounts(a) == accounts(b) == both and \
            sync_view(a)["outbox"] == sync_view(b)["outbox"] == 0
    wait_until(converged, 60, "one Initech on both sides")
    live = store.admin_sql("select lower(name) from cc.accounts where not deleted "
                           "order by 1", database="cc")
    assert live.splitlines() == ["globex", "initech"]
    wait_until(converged, 60, "the contact's account on both sides")
    assert a.json("contacts", "Peter")[0]["account"].lower() == "initech"
    # An account removed goes from the colleague's too; its contact stays, unlinked, and
    # the call B took from it keeps its name.
    a.cc("accounts", "rm", "Initech")
    pulled(b, lambda: accounts(b) == {"globex": ["0441230000"]}, "B's Initech removed")
    pulled(b, lambda: b.json("contacts", "Peter")[0]["account"] is None, "Peter unlinked")
    b.cc("accounts", "rm", "Globex")
    pulled(a, lambda: accounts(a) == {}, "A's Globex removed")
    assert b.log_row(call["call_id"])["account"] == "Globex"


def test_a_call_log_held_by_another_writer_delays_the_pull_and_says_so(store, emulator,
                                                                      agent_factory):
    a = member(store, emulator, agent_factory, "ivanova")
    b = member(store, emulator, agent_factory, "petrenko")
    pulled(b, lambda: sync_view(b)["last_pull"], "B's first pull")
    a.cc("contacts", "add", "Olha Bondar", "--phone", OLHA)
    wait_until(lambda: len(in_store(store)) == 1, 30, "the contact in the store")
    holder = sqlite3.connect(b.database, timeout=0)
    try:
        holder.execute("begin immediate")       # a long import, say, holds the write lock
        pulled(b, lambda: "the call log is busy" in sync_view(b).get("last_error", ""),
               "B's daemon saying its log is busy")
    finally:
        holder.rollback()
        holder.close()
    pulled(b, lambda: "Olha Bondar" in names(b), "the pull once the log is free")
    assert "last_error" not in sync_view(b) and b.status()["task_failures"] == []
