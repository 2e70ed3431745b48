"""The change log follows a transfer (F60, F35) with a team store: agent A fills in the
card and describes the call during a consult, completes the transfer, and agent B's
record of the caller's call shows the card's arrival as changes, in B's change log (a
hand-over from A) and in the team store's (written by B's role). Two agents' daemons, the
emulator and PostgreSQL, all real processes."""

from __future__ import annotations

from daemon.testing import advance, wait_until
from test_team_replication_e2e import store  # noqa: F401 (a fixture)
from test_team_transfer_e2e import pair  # noqa: F401 (a fixture)
from test_transfer_e2e import CALLER, caller_connected_to


def team_changes(store, agent: str, call_id: str) -> list[tuple]:  # noqa: F811
    """(by, field, old or -, new with each newline as ' / ') of a call in the store."""
    rows = store.admin_sql(
        "select h.changed_by, h.field, coalesce(h.old_value, '-'), "
        "replace(h.new_value, E'\\n', ' / ') from "
        "cc.call_changes h join cc.calls c on c.id = h.call where c.agent = "
        f"'{agent}' and c.call_id = '{call_id}' order by h.id", database="cc")
    return [tuple(line.split("|")) for line in rows.splitlines()]


def test_a_change_log_records_a_transfer_hand_over_when_a_team_store_is_set(
        pair, store):  # noqa: F811
    emulator, ivanova, petrenko = pair
    first = caller_connected_to(emulator, ivanova)
    ivanova.cc("transfer", "Petro")
    petrenko.wait_call_state("Ringing")
    petrenko.cc("answer")
    wait_until(lambda: any(c["state_name"] == "Connected" for c in ivanova.json("calls")),
               10, "the target to answer the consult")
    ivanova.cc("wrapup", "--subject", "Invoice question", "--link", "task=T-77")
    mine = ivanova.log_row(first)
    ivanova.cc("log", "edit", str(mine["id"]), "--description", "Wants two copies,\nby post")
    ivanova.cc("transfer", "complete")
    joined = wait_until(lambda: [c for c in petrenko.json("calls") if c["number"] == CALLER],
                        10, "the caller to reach Petrenko")[0]

    def card_arrived():
        advance(0.5, emulator, ivanova, petrenko)
        row = petrenko.log_row(joined["call_id"])
        return row if row.get("subject") else None
    row = wait_until(card_arrived, 30, "A's card on B's record")
    # B's own change log: the fields the hand-over filled, from A.
    theirs = petrenko.json("log", "history", str(row["id"]))["changes"]
    assert [(c["changed_by"], c["via"], c["field"], c["old_value"], c["new_value"])
            for c in theirs if c["via"] == "handover"] == [
        ("ivanova", "handover", "subject", None, "Invoice question"),
        ("ivanova", "handover", "description", None, "Wants two copies,\nby post"),
        ("ivanova", "handover", "link_task", None, "T-77")]
    shown = petrenko.cc("log", "history", str(row["id"])).stdout
    assert "ivanova (hand-over)  subject" in shown
    # The team store's change log: B's record, written by B's role, with A's card on it.
    wanted = {("petrenko", "subject", "-", "Invoice question"),
              ("petrenko", "description", "-", "Wants two copies, / by post"),
              ("petrenko", "link_task", "-", "T-77")}

    def in_team_store():
        advance(0.5, emulator, ivanova, petrenko)
        have = set(team_changes(store, "petrenko", joined["call_id"]))
        return have if wanted <= have else None
    wait_until(in_team_store, 30, "the hand-over in the team store's change log")
    # A's own record there: her changes, by her role.
    assert ("ivanova", "subject", "-", "Invoice question") in team_changes(
        store, "ivanova", first)
    # `--team` reads the store's change log of the same call with B's own role.
    seen = petrenko.json("log", "history", str(row["id"]), "--team")
    assert {(c["changed_by"], c["field"], c["new_value"]) for c in seen["changes"]} >= {
        ("petrenko", "subject", "Invoice question"),
        ("petrenko", "description", "Wants two copies,\nby post")}
    assert seen["source"] == "team store"
