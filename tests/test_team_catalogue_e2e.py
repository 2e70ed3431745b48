"""The team's catalogues (issue 15): with a team store, `cc catalog` edits and lists the
team's call types and results in PostgreSQL itself (a lead runs no daemon), and each
agent's daemon keeps a copy it checks wrap-ups against: refreshed when it joins, every
few minutes of its clock, and at once when asked after an edit. PostgreSQL, the emulator
and the daemons are real processes."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from daemon.team.catalogue import REFRESH_EVERY
from daemon.testing import CC, wait_until
from daemon.wire import WireError
from test_team_replication_e2e import ANSWERS, PASSWORDS, member, store  # noqa: F401
from test_team_roles import team

LEAD_PASSWORD = "bo-pw"


@pytest.fixture
def led(store):  # noqa: F811
    """Sales (ivanova, petrenko) led by boss, whose profile has team.url and no daemon."""
    team(store, "add-team", "Sales", "--lead", "boss")
    store.admin_sql(f"alter role boss password '{LEAD_PASSWORD}'")
    lead_cc(store, "config", "set", "team.url", store.url("boss", ""))
    return store


def lead_cc(server, *args, home=None, check=True):
    env = {**os.environ, "CC_TEAM_PASSWORD": LEAD_PASSWORD,
           "CC_HOME": str(home or server.dir / "boss-profile")}
    done = subprocess.run([CC, *args], env=env, capture_output=True, text=True, timeout=60)
    if check and done.returncode != 0:
        raise AssertionError(f"cc {' '.join(args)} exited {done.returncode}: {done.stderr}")
    return done


def names(entries) -> list[str]:
    return [e["name"] for e in entries]


def copy_of(agent) -> list[str]:
    """The results the daemon's copy holds (what its wrap-up checks read)."""
    return names(agent.request("catalog", kind="results"))


def test_a_leads_result_reaches_every_agents_wrapup(led, emulator_factory, agent_factory):
    lead_cc(led, "catalog", "rm", "results", "no-decision")
    emulator = emulator_factory(manual_clock=True)
    ivanova = member(led, emulator, agent_factory, "ivanova")
    petrenko = member(led, emulator, agent_factory, "petrenko")
    for agent in (ivanova, petrenko):       # the copy made as the daemon joins
        wait_until(lambda: "no-decision" not in copy_of(agent), what="the catalogue copied")

    added = json.loads(lead_cc(led, "catalog", "add", "results", "sold", "--colour", "green",
                               "--json").stdout)
    assert {"name": "sold", "colour": "green"} in added
    # The agents read the team's catalogue from the store itself.
    listed = json.loads(ivanova.cc("catalog", "list", "results", "--json").stdout)
    assert {"name": "sold", "colour": "green"} in listed
    # ivanova's daemon takes it on its clock: not before, then within REFRESH_EVERY.
    call = ivanova.dial_answered(ANSWERS, 2)
    refused = ivanova.cc("wrapup", "--result", "sold", check=False)
    assert refused.returncode == 9 and "'sold' is not in the results catalogue" in \
        refused.stderr
    ivanova.advance(REFRESH_EVERY)
    wait_until(lambda: "sold" in copy_of(ivanova), what="ivanova's copy refreshed")
    ivanova.cc("wrapup", "--result", "sold")
    ivanova.cc("hangup")
    wait_until(lambda: not ivanova.status()["calls"], what="the call ended")
    row = [r for r in ivanova.json("log") if r["call_id"] == call["call_id"]][0]
    assert row["result"] == "sold"

    # An edit made with petrenko's profile (the lead at petrenko's desk) asks petrenko's
    # daemon to refresh at once: no clock moved.
    lead_cc(led, "catalog", "add", "results", "upsold", "--url", led.url("boss", ""),
            home=petrenko.home)
    assert {"sold", "upsold"} <= set(copy_of(petrenko))
    petrenko.dial_answered(ANSWERS, 2)
    petrenko.cc("wrapup", "--result", "upsold")


def test_an_agent_cannot_edit_the_teams_catalogue(led, emulator_factory, agent_factory):
    agent = member(led, emulator_factory(manual_clock=True), agent_factory, "ivanova")
    for args in (("add", "results", "mine"), ("rm", "results", "resolved")):
        done = agent.cc("catalog", *args, check=False)
        assert done.returncode == 10, done.stderr
        assert done.stderr == ("cc: team Sales's catalogues are kept by its lead, boss: ask "
                               "them to change it\n")
    assert "resolved" in names(json.loads(agent.cc("catalog", "list", "results",
                                                   "--json").stdout))
    # Nor through its daemon: the copy is not the catalogue.
    with pytest.raises(WireError, match="the catalogues are the team's"):
        agent.request("catalog_add", kind="results", name="x")


def test_with_the_store_down_the_daemon_lists_its_copy(led, emulator_factory, agent_factory):
    agent = member(led, emulator_factory(manual_clock=True), agent_factory, "ivanova")
    lead_cc(led, "catalog", "add", "types", "renewal")
    agent.advance(REFRESH_EVERY)
    wait_until(lambda: "renewal" in names(agent.request("catalog", kind="types")),
               what="the copy refreshed")
    led.stop()
    done = agent.cc("catalog", "list", "types", "--json")
    assert "renewal" in names(json.loads(done.stdout))
    assert done.stderr.count("\n") == 1 and "cannot reach the team store" in done.stderr \
        and "the daemon's last copy" in done.stderr
    # The copy stays through refreshes that cannot reach the store.
    agent.advance(REFRESH_EVERY)
    assert "renewal" in names(agent.request("catalog", kind="types"))
    edit = lead_cc(led, "catalog", "add", "types", "x", check=False)
    assert edit.returncode == 1 and edit.stderr.count("\n") == 1
    assert "cannot reach the team store" in edit.stderr


def test_a_lead_of_two_teams_names_the_team(led):
    team(led, "add-team", "Support", "--lead", "boss")
    done = lead_cc(led, "catalog", "add", "results", "sold", check=False)
    assert done.returncode == 9
    assert done.stderr == "cc: you lead Sales, Support: name the team with --team-name TEAM\n"
    lead_cc(led, "catalog", "add", "results", "sold", "--team-name", "Support")
    support = json.loads(lead_cc(led, "catalog", "list", "results", "--team-name", "Support",
                                 "--json").stdout)
    sales = json.loads(lead_cc(led, "catalog", "list", "results", "--team-name", "Sales",
                               "--json").stdout)
    assert "sold" in names(support) and "sold" not in names(sales)
    # Break reasons are this profile's, never the team's.
    done = lead_cc(led, "catalog", "list", "break-reasons", "--team-name", "Sales",
                   check=False)
    assert done.returncode == 9 and "break reasons are this profile's setting" in done.stderr
