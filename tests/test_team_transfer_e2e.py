"""The card follows the transfer (F35) through the team store: agent A fills in the card
during a consult and completes the transfer; agent B's record of the caller's call has
A's card. Two agents' daemons, the emulator and PostgreSQL, all real processes."""

from __future__ import annotations

import os

import pytest

from daemon.testing import advance, wait_until
from test_team_replication_e2e import PASSWORDS, store  # noqa: F401 (a fixture)
from test_transfer_e2e import CALLER, DIRECTORY, caller_connected_to


@pytest.fixture
def pair(store, emulator_factory, agent_factory, tmp_path):  # noqa: F811
    emulator = emulator_factory(manual_clock=True)
    agents = []
    for login in ("ivanova", "petrenko"):
        env = {**os.environ, "CC_TEAM_PASSWORD": PASSWORDS[login]}
        agent = agent_factory(emulator, login=login, manual_clock=True, env=env,
                              **{"team.url": store.url(login, "")}).start()
        agent.wait_logged_in()
        (tmp_path / "team.csv").write_text(DIRECTORY)
        agent.cc("who", "import", str(tmp_path / "team.csv"))
        agents.append(agent)
    return emulator, *agents


def test_a_consult_transfer_brings_the_card_to_the_colleague(pair, store):  # noqa: F811
    emulator, ivanova, petrenko = pair
    caller_connected_to(emulator, ivanova)
    ivanova.cc("transfer", "Petro")
    petrenko.wait_call_state("Ringing")
    petrenko.cc("answer")
    wait_until(lambda: any(c["state_name"] == "Connected" for c in ivanova.json("calls")),
               10, "the target to answer the consult")
    ivanova.cc("wrapup", "--type", "consultation", "--subject", "Invoice question",
               "--link", "task=T-77", "--note", "wants a copy")
    ivanova.cc("transfer", "complete")
    joined = wait_until(lambda: [c for c in petrenko.json("calls") if c["number"] == CALLER],
                        10, "the caller to reach Petrenko")[0]

    def card_arrived():
        advance(0.5, emulator, ivanova, petrenko)
        row = petrenko.log_row(joined["call_id"])
        return row if row.get("subject") else None
    row = wait_until(card_arrived, 30, "A's card on B's record")
    assert (row["call_type"], row["subject"], row["link_task"], row["notes"]) == (
        "consultation", "Invoice question", "T-77", "wants a copy")
    # Matched by the server's session id too: the joined call carries its caller's call's.
    matched = store.admin_sql("select count(*) from cc.arrivals a join cc.handovers h on "
                              "h.id = a.handover where h.seance = a.seance", database="cc")
    assert matched == "1"
    # B's record reaches the team store with the card it took.
    query = ("select subject from cc.calls where agent = 'petrenko' and call_id = "
             f"'{joined['call_id']}'")
    wait_until(lambda: (advance(0.5, emulator, ivanova, petrenko),
                        store.admin_sql(query, database="cc") == "Invoice question")[1],
               30, "B's card in the team store")


def test_an_extension_the_team_table_does_not_give_the_agent_is_named_with_its_fix(
        pair, store):  # noqa: F811
    emulator, ivanova, petrenko = pair
    store.admin_sql("update cc.agents set extension = '109' where login = 'petrenko'",
                    database="cc")
    caller_connected_to(emulator, ivanova)
    ivanova.cc("transfer", "--blind", "Petro")
    petrenko.wait_call_state("Ringing")
    wait_until(lambda: petrenko.status()["team"].get("warning"), 30, "the warning")
    warning = petrenko.status()["team"]["warning"]
    assert warning == ("the team table gives petrenko extension 109 but the server says "
                       "102: cards handed over in transfers cannot reach you until the lead "
                       "runs `cc team add-agent petrenko --team NAME --extension 102`")
    done = petrenko.cc("doctor", check=False)
    assert done.returncode == 1 and "FAIL  team" in done.stdout and "extension 109" in \
        done.stdout


def test_a_hand_over_the_store_refuses_holds_back_none_of_the_calls(pair, store):  # noqa: F811
    emulator, ivanova, petrenko = pair
    store.admin_sql("update cc.agents set extension = '109' where login = 'ivanova'",
                    database="cc")          # her hand-overs now come from a wrong extension
    first = caller_connected_to(emulator, ivanova)
    ivanova.cc("transfer", "--blind", "Petro")
    petrenko.wait_call_state("Ringing")
    query = f"select count(*) from cc.calls where call_id = '{first}'"
    wait_until(lambda: (advance(0.5, emulator, ivanova, petrenko),
                        store.admin_sql(query, database="cc") == "1")[1], 30,
               "her call in the store all the same")
    assert store.admin_sql("select count(*) from cc.handovers", database="cc") == "0"
    assert "last_error" not in ivanova.status()["team"]
    assert "team store refused the hand-over of call" in ivanova.daemon_log.read_text()
