"""One team, one call log (F58, F22): each agent's daemon writes its calls to its own log
first and replicates them to the team store, a real PostgreSQL server, from a persistent
outbox: a store that is down loses nothing and catches up by itself, and no call arrives
twice. The emulator, the daemons and PostgreSQL are real processes."""

from __future__ import annotations

import os

import pytest

from daemon.testing import advance, wait_until
from test_team_roles import team

ANSWERS = "+380441110001"
PASSWORDS = {"ivanova": "iv-pw", "petrenko": "pe-pw"}


@pytest.fixture
def store(postgres):
    team(postgres, "init")
    team(postgres, "add-team", "Sales")
    for login, extension in zip(PASSWORDS, ("101", "102")):
        team(postgres, "add-agent", login, "--team", "Sales", "--prefix", login[:3].upper(),
             "--extension", extension, "--password-stdin", stdin=PASSWORDS[login] + "\n")
    return postgres


def member(store, emulator, agent_factory, login="ivanova", secret: str | None = None):
    """An agent's daemon (manual clock) replicating to the team store."""
    env = {**os.environ, "CC_TEAM_PASSWORD": secret or PASSWORDS[login]}
    agent = agent_factory(emulator, login=login, manual_clock=True, env=env,
                          **{"team.url": store.url(login, "")}).start()
    agent.wait_logged_in()
    return agent


def in_store(store) -> list[tuple]:
    rows = store.admin_sql("select agent, counter_number, call_id, outcome from cc.calls "
                           "order by agent, counter", database="cc")
    return [tuple(line.split("|")) for line in rows.splitlines()]


def team_view(agent) -> dict:
    return agent.status()["team"]


def one_call(agent, emulator) -> str:
    call = agent.dial_answered(ANSWERS, 2)
    agent.cc("hangup")
    wait_until(lambda: not agent.status()["calls"], what="the call ended")
    return call["call_id"]


def test_calls_reach_the_team_store_numbered_by_the_agents_prefix(store, emulator_factory,
                                                                   agent_factory):
    emulator = emulator_factory(manual_clock=True)
    agent = member(store, emulator, agent_factory)
    first = one_call(agent, emulator)
    wait_until(lambda: len(in_store(store)) == 1 and team_view(agent)["outbox"] == 0,
               what="the call in the team store")
    assert in_store(store) == [("ivanova", "IVA-000001", first, "answered")]
    # The local log numbers the team's way too.
    assert agent.json("log")[0]["counter_number"] == "IVA-000001"
    shown = agent.cc("status").stdout
    assert "team    0 call(s) in the outbox, last sync" in shown
    team_line = [c for c in agent.json("doctor") if c["check"] == "team"][0]
    assert team_line["ok"] is True and team_line["detail"].startswith(
        "team Sales, card numbers IVA-…; 0 call(s) in the outbox, last sync 20")


def test_a_store_down_for_a_while_loses_nothing_and_duplicates_nothing(store, emulator_factory,
                                                                       agent_factory):
    emulator = emulator_factory(manual_clock=True)
    agent = member(store, emulator, agent_factory)
    calls = [one_call(agent, emulator)]
    wait_until(lambda: len(in_store(store)) == 1, what="the first call in the store")
    store.stop("immediate")                              # the store crashes mid-day
    calls += [one_call(agent, emulator) for _ in range(3)]
    wait_until(lambda: team_view(agent).get("last_error"), what="the daemon noticing")
    view = team_view(agent)
    assert view["outbox"] >= 3 and "cannot reach the team store" in view["last_error"]
    assert "error   team store: cannot reach" in agent.cc("status").stdout
    doctor = agent.cc("doctor", check=False)
    assert doctor.returncode == 1 and "FAIL  team       cannot reach the team store" \
        in doctor.stdout
    agent.stop(keep_home=True)                            # and the agent goes home too
    store.start()
    agent.start()
    agent.wait_logged_in()

    def caught_up():
        advance(1, emulator, agent)
        return team_view(agent)["outbox"] == 0 and len(in_store(store)) == 4
    wait_until(caught_up, 60, "the outbox sent")
    rows = in_store(store)
    assert [r[2] for r in rows] == calls
    assert [r[1] for r in rows] == [f"IVA-{n:06}" for n in range(1, 5)]
    assert "last_error" not in team_view(agent)


def test_a_member_missing_from_the_team_table_is_told_how_to_fix_it(store, emulator_factory,
                                                                   agent_factory):
    store.admin_sql("delete from cc.agents where login = 'petrenko'", database="cc")
    agent = member(store, emulator_factory(manual_clock=True), agent_factory, "petrenko")
    wait_until(lambda: team_view(agent).get("last_error"), what="the refusal")
    assert team_view(agent)["last_error"] == (
        "petrenko is not in the team table: the administrator adds it with "
        "`cc team add-agent petrenko --team NAME`")


def test_a_role_without_the_agents_rights_is_told_so_and_its_calls_wait(
        store, emulator_factory, agent_factory):
    store.admin_sql("revoke cc_agent from petrenko")
    emulator = emulator_factory(manual_clock=True)
    agent = member(store, emulator, agent_factory, "petrenko")
    wait_until(lambda: team_view(agent).get("last_error"), what="the refusal")
    assert team_view(agent)["last_error"].startswith(
        "the team store at 127.0.0.1:")
    assert "refused petrenko (permission denied for schema cc)" in team_view(agent)[
        "last_error"]
    one_call(agent, emulator)
    assert team_view(agent)["outbox"] == 0    # not joined yet: the join sends the log
    store.admin_sql("grant cc_agent to petrenko")
    wait_until(lambda: (advance(1, emulator, agent), len(in_store(store)) == 1)[1], 60,
               "the call sent once the rights are back")


def test_unclaimed_hand_overs_expire_after_a_day(store, emulator_factory, agent_factory):
    for age in ("2 days", "1 hour"):
        store.admin_sql("insert into cc.handovers (from_agent, from_extension, target, caller, "
                        f"call_id, card, made_at) values ('ivanova', '101', '102', "
                        f"'+380671112233', 'A-{age}', '{{}}', now() - interval '{age}')",
                        database="cc")
    member(store, emulator_factory(manual_clock=True), agent_factory)
    left = "select call_id from cc.handovers order by call_id"
    wait_until(lambda: store.admin_sql(left, database="cc") == "A-1 hour", 30,
               "the day-old hand-over gone, the fresh one kept")


def test_three_agents_one_store_each_call_once_under_its_own_number(store, agent_factory,
                                                                    tmp_path):
    """Three agents' daemons write to one store at once; the lead reads all of them."""
    from daemon.testing import Emulator, scenario_text

    team(store, "add-agent", "kovalenko", "--team", "Sales", "--prefix", "KOV",
         "--password-stdin", stdin="ko-pw\n")
    team(store, "add-team", "Sales", "--lead", "boss")
    store.admin_sql("alter role boss password 'bo-pw'")
    third = ('[[users]]\nlogin = "kovalenko"\npassword = "s3cret"\nid = 5001790111\n'
             'extension = "103"\nname = "Kateryna Kovalenko"\nposition = "Agent"\n'
             'department = "Sales"\n')
    (tmp_path / "emulator").mkdir()
    emulator = Emulator(tmp_path / "emulator", manual_clock=True,
                        scenario=scenario_text(manual_clock=True) + "\n" + third)
    try:
        passwords = {**PASSWORDS, "kovalenko": "ko-pw"}
        agents = [member(store, emulator, agent_factory, login, passwords[login])
                  for login in ("ivanova", "petrenko", "kovalenko")]
        calls = [one_call(agent, emulator) for agent in agents]
        wait_until(lambda: (advance(0.5, emulator, *agents), len(in_store(store)) == 3)[1],
                   60, "three calls in the store")
        assert [(r[0], r[1], r[2]) for r in in_store(store)] == [
            ("ivanova", "IVA-000001", calls[0]), ("kovalenko", "KOV-000001", calls[2]),
            ("petrenko", "PET-000001", calls[1])]
        import psycopg

        with psycopg.connect(store.url("boss", "bo-pw")) as lead:
            assert lead.execute("select count(*) from cc.calls").fetchone()[0] == 3
    finally:
        emulator.stop()
