"""A day of 1,000 calls with holds and transfers, time-scaled: every call is in the log
once, with the durations of the emulator's own record."""

from __future__ import annotations

import json

import pytest
import zmq

from conftest import wait_until
from daemon import wire

CALLS = 1000


@pytest.mark.slow
def test_a_day_of_a_thousand_calls_is_logged_once_each_with_the_servers_durations(
        emulator_factory, agent_factory):
    emulator = emulator_factory(scale=100)
    agent = agent_factory(emulator).start()
    agent.wait_logged_in()
    sock = zmq.Context.instance().socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVTIMEO, 30_000)
    sock.connect(f"ipc://{agent.home / 'run' / wire.REQUEST_SOCKET}")

    def ask(cmd, **args):
        sock.send(wire.request(cmd, **args))
        return wire.parse_reply(sock.recv())

    placed = []
    try:
        for n in range(CALLS):
            call = ask("dial", number="+380441110001", wait=10)
            assert call["connected_at"], call
            ask("hold", call_id=call["call_id"])
            ask("unhold", call_id=call["call_id"])
            if n % 10 == 0:
                ask("transfer", target="+380441110009", blind=True, call_id=call["call_id"])
            else:
                ask("hangup", call_id=call["call_id"])
            placed.append(call["call_id"])
    finally:
        sock.close()

    def final_log():
        rows = json.loads(agent.cc("log", "--format", "json", timeout=60).stdout)
        return len(rows) == CALLS and all(r["durations_from"] == "server" for r in rows) \
            and rows
    rows = wait_until(final_log, 60, "every call's final record", interval=0.5)
    assert sorted(r["call_id"] for r in rows) == sorted(placed)
    truth = {str(c["IDCall"]): c for c in emulator.admin("calls")["Calls"]}
    for row in rows:
        record = truth[row["call_id"]]
        assert abs(row["talk_seconds"] - record["TalkSeconds"]) < 0.01, row
        assert abs(row["hold_seconds"] - record["HoldSeconds"]) < 0.01, row
        assert abs(row["wait_seconds"] - record["WaitSeconds"]) < 0.01, row
    transferred = [r for r in rows if r["transfer_number"] == "+380441110009"]
    assert len(transferred) == CALLS // 10
    assert all(r["end_reason"] == "Transferred" for r in transferred)
