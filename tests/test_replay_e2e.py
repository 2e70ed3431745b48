"""A site's journal, replayed: a day of calls against the emulator is journalled by the
daemon, then `cc emulator run --replay JOURNAL` plays that server to a fresh daemon with
a fresh profile, driven through `cc` the same way, and the two call logs agree."""

from __future__ import annotations

import pytest

from conftest import advance, wait_until
from daemon.testing import Emulator

ANSWERS_AFTER_2S = "+380441110001"
NEVER_ANSWERS = "+380441110003"
ANSWERS_AFTER_3S = "+380441110005"        # the scenario's "*": any other number
CALLERS = ("+380509998877", "+380671112233", "+380931234567")
# What two call logs must share, the numbers and times aside.
COMPARED = ("direction", "outcome", "end_reason", "dial_mode", "line_state", "durations_from")
DURATIONS = ("wait_seconds", "talk_seconds", "hold_seconds")


class Recording:
    """The day against the emulator, the daemon reaching it through the fault proxy."""

    def __init__(self, proxy, agent):
        self.proxy, self.emulator, self.agent = proxy, proxy.emulator, agent

    def tick(self, seconds: float, polls: bool = True) -> None:
        if polls:
            advance(seconds, self.emulator, self.agent)
        else:
            self.emulator.advance(seconds)

    def answered(self) -> None:
        """A `cc` command's request has been answered: the server's events are on their way
        (the emulator pushes them at once)."""

    def call_in(self, number: str) -> None:
        self.emulator.admin("call-in", From=number, To="101")

    def far_end_hangs_up(self, call_id: str) -> None:
        self.emulator.admin("hangup", IDCall=call_id)

    def network(self, up: bool) -> None:
        if up:
            self.proxy.clear()
        else:
            self.proxy.rule("*", "drop")


class Replaying:
    """The same day from the journal: what the server did by itself comes from it."""

    def __init__(self, emulator, agent):
        self.emulator, self.agent = emulator, agent

    def tick(self, seconds: float, polls: bool = True) -> None:
        self.emulator.release()
        self.emulator.advance(seconds)
        if polls:
            self.agent.advance(seconds)

    def answered(self) -> None:
        self.emulator.release()

    def call_in(self, number: str) -> None:
        self.emulator.release()

    def far_end_hangs_up(self, call_id: str) -> None:
        self.emulator.release()

    def network(self, up: bool) -> None:
        pass


def logged(agent, count: int) -> list[dict]:
    return wait_until(lambda: len(rows := agent.json("log")) == count and rows, 15,
                      f"{count} calls in the log")


def day(agent, world) -> list[dict]:
    """A day of an agent's calls: the same `cc` commands recorded and replayed."""
    agent.wait_logged_in()
    # An outgoing call, answered, held for 3 s.
    agent.json("dial", ANSWERS_AFTER_2S)
    world.answered()
    world.tick(2)
    agent.wait_call_state("Connected")
    agent.cc("hold")
    world.answered()
    agent.wait_call_state("On hold")
    world.tick(3)
    agent.cc("unhold")
    world.answered()
    agent.wait_call_state("Connected")
    world.tick(4)
    agent.cc("hangup")
    world.answered()
    logged(agent, 1)

    # An incoming call, answered after 5 s; the caller hangs up 4 s on.
    world.call_in(CALLERS[0])
    ringing = agent.wait_call_state("Ringing")
    world.tick(5)
    agent.cc("answer")
    world.answered()
    agent.wait_call_state("Connected")
    world.tick(4)
    world.far_end_hangs_up(ringing["call_id"])
    logged(agent, 2)

    # The network drops while the agent waits; the daemon logs in again once it is back.
    world.network(up=False)
    world.tick(0.5)
    world.tick(1)
    world.network(up=True)
    for _ in range(10):
        if agent.status()["session"] == "logged in":
            break
        world.tick(0.5)
    agent.wait_logged_in()

    # An incoming call nobody answers: the caller gives up after the 60 s ring timeout.
    world.call_in(CALLERS[1])
    agent.wait_call_state("Ringing")
    world.tick(60, polls=False)
    logged(agent, 3)

    # An outgoing call that never answers, cancelled after 3 s.
    agent.json("dial", NEVER_ANSWERS)
    world.answered()
    world.tick(3)
    agent.cc("hangup")
    world.answered()
    logged(agent, 4)

    # An incoming call put through to another number: consult, then complete.
    world.call_in(CALLERS[2])
    agent.wait_call_state("Ringing")
    agent.cc("answer")
    world.answered()
    agent.wait_call_state("Connected")
    world.tick(2)
    agent.cc("transfer", ANSWERS_AFTER_3S)
    world.answered()
    world.tick(3)
    agent.cc("transfer", "complete")
    world.answered()
    world.tick(1)
    return wait_until(lambda: (rows := agent.json("log")) and len(rows) >= 5
                      and all(r["line_state"] == "Disconnected" for r in rows) and rows, 15,
                      "the transfer's calls in the log")


def summary(rows: list[dict]) -> list[tuple]:
    """A call log, numbers and times aside, durations to the tenth of a second."""
    return [tuple(row[k] for k in COMPARED) +
            tuple(round(row[k] or 0, 1) for k in DURATIONS) for row in rows]


def record(proxy, agent_factory, tmp_path):
    """A day journalled by a daemon behind the fault proxy: its call log and journal."""
    agent = agent_factory(proxy.emulator, manual_clock=True, **{"server.port": proxy.port})
    agent.start()
    rows = day(agent, Recording(proxy, agent))
    journal = tmp_path / "site-journal.xml"
    journal.write_bytes((agent.home / "log" / "journal.xml").read_bytes())
    return rows, journal


def test_a_day_journalled_then_replayed_to_a_fresh_daemon_gives_the_same_call_log(
        proxy, agent_factory, tmp_path):
    first, journal = record(proxy, agent_factory, tmp_path)
    kinds = [(r["direction"], r["outcome"]) for r in first]
    assert ("in", "missed") in kinds and ("out", "cancelled") in kinds
    assert any(r["hold_seconds"] == pytest.approx(3, abs=0.01) for r in first)
    assert any(r["end_reason"] == "Transferred" for r in first)
    assert 'kind="failure"' in journal.read_text()          # the network drop is in it

    (tmp_path / "replay").mkdir()
    replayer = Emulator(tmp_path / "replay", manual_clock=True, replay=journal)
    try:
        fresh = agent_factory(replayer, manual_clock=True).start()
        second = day(fresh, Replaying(replayer, fresh))
        state = replayer.admin("replay")
        assert summary(second) == summary(first)
        assert state["Refused"] == 0, replayer.log_tail()
        assert state["Released"] == state["Events"]
    finally:
        replayer.stop()
