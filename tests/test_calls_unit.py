"""The call tracker: calls never go backwards, whichever way the server's news arrives."""

from __future__ import annotations

from daemon.calls import CallTracker
from daemon.states import LineState
from daemon.wire import CALL_FIELDS, Direction


class MemoryStore:
    """The call log's interface, in memory."""

    def __init__(self):
        self.rows: dict[str, dict] = {}
        self.pending: dict = {}

    def save(self, row: dict) -> int:
        self.rows[row["call_id"]] = {**self.rows.get(row["call_id"], {}), **row}
        return list(self.rows).index(row["call_id"]) + 1

    def open_row(self, server, call_id, agent):
        row = self.rows.get(call_id)
        return {**row, "id": list(self.rows).index(call_id) + 1} if row else None

    def unfinished(self, server, agent):
        return []


def tracker() -> tuple[CallTracker, list]:
    published = []
    return CallTracker(MemoryStore(), "ivanova", "101",
                       lambda kind, data: published.append((kind, data))), published


def test_a_poll_asked_before_a_push_event_cannot_move_the_call_back():
    calls, _ = tracker()
    calls.seen("5007", Direction.OUT, "+380441110001", LineState.ALERTING, at=1.0)
    calls.seen("5007", state=LineState.CONNECTED, at=3.0)          # the push event
    calls.seen("5007", state=LineState.ALERTING, at=2.0)           # a poll sent before it
    call = calls.calls["5007"]
    assert call.state == LineState.CONNECTED and call.connected_at is not None


def test_an_event_sent_before_the_answer_that_arrives_after_a_poll_saw_it_is_stale():
    calls, _ = tracker()
    calls.seen("5007", Direction.OUT, "+380441110001", LineState.DIAL_NUMBER, at=1.0)
    calls.seen("5007", state=LineState.CONNECTED, at=3.0)          # a poll saw it answered
    calls.seen("5007", state=LineState.ALERTING, at=4.0)           # the event, held up
    call = calls.calls["5007"]
    assert call.state == LineState.CONNECTED
    calls.seen("5007", state=LineState.HOLD, at=5.0)
    calls.seen("5007", state=LineState.REMINDER, at=6.0)           # a held call rings back
    assert call.state == LineState.REMINDER


def test_a_late_end_reason_from_an_old_poll_is_not_taken():
    calls, _ = tracker()
    calls.seen("5007", Direction.OUT, "+380441110002", LineState.ALERTING, at=1.0)
    calls.seen("5007", state=LineState.DISCONNECTED, reason="Busy", at=3.0)
    calls.seen("5007", state=LineState.ALERTING, reason="Rejected", at=2.0)
    assert calls.calls["5007"].outcome == "busy"


def test_a_newer_update_applies_in_order():
    calls, published = tracker()
    calls.seen("5007", Direction.IN, "+380671112233", LineState.RINGING, at=1.0)
    calls.seen("5007", state=LineState.CONNECTED, at=2.0)
    calls.seen("5007", state=LineState.HOLD, at=3.0)
    assert calls.calls["5007"].state == LineState.HOLD
    assert [d["state_name"] for k, d in published if k == "call"][-3:] == [
        "Ringing", "Connected", "On hold"]


def test_a_poll_sent_before_a_call_was_created_does_not_end_it():
    calls, _ = tracker()
    calls.seen("5007", Direction.OUT, "+380441110001", at=5.0)      # created by an event
    calls.vanished(present=set(), asked_at=4.0)                     # a poll from before
    assert not calls.calls["5007"].ended
    calls.vanished(present=set(), asked_at=6.0)                     # a poll from after
    assert calls.calls["5007"].outcome == "not-answered"


def test_a_state_event_before_the_creation_event_keeps_both():
    calls, _ = tracker()
    calls.seen("5007", state=LineState.RINGING, at=1.0)
    calls.seen("5007", Direction.IN, "+380671112233", at=2.0)
    call = calls.calls["5007"]
    assert (call.direction, call.number, call.state) == (
        Direction.IN, "+380671112233", LineState.RINGING)


def test_hold_time_is_counted_from_the_changes():
    calls, _ = tracker()
    call = calls.seen("5007", Direction.OUT, "+380441110001", LineState.CONNECTED, at=1.0)
    calls.change(call, LineState.HOLD, now=call.started_at + 10)
    calls.change(call, LineState.CONNECTED, now=call.started_at + 40)
    calls.change(call, LineState.DISCONNECTED, now=call.started_at + 50)
    assert call.figures()["hold_seconds"] == 30.0


def test_a_call_as_published_has_exactly_the_documented_fields():
    calls, published = tracker()
    calls.seen("5007", Direction.OUT, "+380441110001", LineState.ALERTING, at=1.0)
    assert tuple(published[-1][1]) == CALL_FIELDS


def test_a_call_logged_to_its_end_is_not_recorded_again_when_the_server_lists_it_late():
    store = MemoryStore()
    first, _ = tracker()
    first.store = store
    call = first.seen("5007", Direction.OUT, "+380441110001", LineState.CONNECTED, at=1.0)
    first.change(call, LineState.DISCONNECTED)
    logged = dict(store.rows["5007"])
    again, published = tracker()                # a restarted daemon, the same call log
    again.store = store
    again.seen("5007", Direction.OUT, "+380441110001", LineState.FINISHED, at=5.0)
    again.seen("5007", state=LineState.DISCONNECTED, reason="Rejected", at=6.0)
    assert store.rows["5007"] == logged and published == []
    assert again.active() == []
