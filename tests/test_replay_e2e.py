"""A site's journal, replayed: a day of calls against the emulator is journalled by the
daemon, then `cc emulator run --replay JOURNAL` plays that server to a fresh daemon with
a fresh profile, driven through `cc` the same way, and the two call logs agree."""

from __future__ import annotations

import pytest

from conftest import advance, wait_until
from test_replay import site_journal
from daemon.testing import Emulator

ANSWERS_AFTER_2S = "+380441110001"
NEVER_ANSWERS = "+380441110003"
ANSWERS_AFTER_3S = "+380441110005"        # the scenario's "*": any other number
CALLERS = ("+380509998877", "+380671112233", "+380931234567")
# What two call logs must share, the numbers and times aside.
COMPARED = ("direction", "outcome", "end_reason", "dial_mode", "line_state", "durations_from")
DURATIONS = ("wait_seconds", "talk_seconds", "hold_seconds")


class Recording:
    """The day against the emulator, the daemon reaching it through the fault proxy (with
    `rules`: path -> kind, a server that behaves differently)."""

    def __init__(self, proxy, agent, rules: dict | None = None):
        self.proxy, self.emulator, self.agent = proxy, proxy.emulator, agent
        self.rules = rules or {}
        self.network(up=True)

    def tick(self, seconds: float, polls: bool = True) -> None:
        if polls:
            advance(seconds, self.emulator, self.agent)
        else:
            self.emulator.advance(seconds)

    def answered(self) -> None:
        """A `cc` command's request has been answered: the server's events are on their way
        (the emulator pushes them at once)."""

    def number(self, path: str, number: str) -> str:
        """The number to dial (path /call/make/) or transfer to."""
        return number

    def call_in(self, number: str) -> None:
        self.emulator.admin("call-in", From=number, To="101")

    def far_end_hangs_up(self, call_id: str) -> None:
        self.emulator.admin("hangup", IDCall=call_id)

    def network(self, up: bool) -> None:
        self.proxy.clear()
        if up:
            for path, kind in self.rules.items():
                self.proxy.rule(path, kind)
        else:
            self.proxy.rule("*", "drop")


class Replaying:
    """The same day from the journal: what the server did by itself comes from it, the
    numbers dialled from its requests (a shared journal has stand-ins for them)."""

    def __init__(self, emulator, agent, journal):
        from daemon import journal as journal_mod

        self.emulator, self.agent = emulator, agent
        self.numbers: dict[str, list[str]] = {}
        for message in map(journal_mod.as_dict, journal_mod.read(journal)):
            if message.get("kind") == "request" and "Number" in message["params"]:
                self.numbers.setdefault(message["path"], []).append(
                    message["params"]["Number"])

    def number(self, path: str, number: str) -> str:
        return self.numbers[path].pop(0)

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


def outgoing_held(agent, world) -> None:
    """An outgoing call, answered after 2 s, held for 3 s, 4 s more talk."""
    agent.json("dial", world.number("/call/make/", ANSWERS_AFTER_2S))
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


def incoming_answered(agent, world) -> None:
    """An incoming call, answered after 5 s; the caller hangs up 4 s on."""
    world.call_in(CALLERS[0])
    ringing = agent.wait_call_state("Ringing")
    world.tick(5)
    agent.cc("answer")
    world.answered()
    agent.wait_call_state("Connected")
    world.tick(4)
    world.far_end_hangs_up(ringing["call_id"])


def network_drop(agent, world) -> None:
    """The network drops while the agent waits; the daemon logs in again once it is back."""
    world.network(up=False)
    world.tick(0.5)
    world.tick(1)
    world.network(up=True)
    for _ in range(10):
        if agent.status()["session"] == "logged in":
            break
        world.tick(0.5)
    agent.wait_logged_in()


def missed(agent, world) -> None:
    """An incoming call nobody answers: the caller gives up after the 60 s ring timeout."""
    world.call_in(CALLERS[1])
    agent.wait_call_state("Ringing")
    world.tick(60, polls=False)


def cancelled(agent, world) -> None:
    """An outgoing call that never answers, cancelled after 3 s."""
    agent.json("dial", world.number("/call/make/", NEVER_ANSWERS))
    world.answered()
    world.tick(3)
    agent.cc("hangup")
    world.answered()


def transferred(agent, world) -> None:
    """An incoming call put through to another number: consult, then complete."""
    world.call_in(CALLERS[2])
    agent.wait_call_state("Ringing")
    agent.cc("answer")
    world.answered()
    agent.wait_call_state("Connected")
    world.tick(2)
    agent.cc("transfer", world.number("/call/starttransfer/", ANSWERS_AFTER_3S))
    world.answered()
    world.tick(3)
    agent.cc("transfer", "complete")
    world.answered()
    world.tick(1)


DAY = (outgoing_held, incoming_answered, network_drop, missed, cancelled, transferred)


def day(agent, world, parts=DAY) -> list[dict]:
    """A day of an agent's calls: the same `cc` commands recorded and replayed; the log."""
    agent.wait_logged_in()
    calls = 0
    for part in parts:
        part(agent, world)
        if part is not network_drop:
            calls += 1 + (part is transferred)          # the consult leg is a call too
            logged(agent, calls)
    def ended():
        rows = agent.json("log")
        return all(r["line_state"] == "Disconnected" for r in rows) and rows
    return wait_until(ended, 15, "every call of the day ended")


def summary(rows: list[dict]) -> list[tuple]:
    """A call log, numbers and times aside, durations to the tenth of a second."""
    return [tuple(row[k] for k in COMPARED) +
            tuple(round(row[k] or 0, 1) for k in DURATIONS) for row in rows]


def record(proxy, agent_factory, tmp_path, parts=DAY, rules=None):
    """A day journalled by a daemon behind the fault proxy (its events relayed through it
    too): its call log, and its journal shared with `cc journal share` as for a bug
    report."""
    agent = agent_factory(proxy.emulator, manual_clock=True, **{"server.port": proxy.port})
    agent.start(subscribe=False)
    proxy.relay_events(agent)
    rows = day(agent, Recording(proxy, agent, rules), parts)
    shared = tmp_path / "bug-report.xml"
    said = agent.cc("journal", "share", shared).stdout
    assert said.startswith("wrote ") and " numbers (" in said, said
    return rows, shared


def replayed(journal, agent_factory, tmp_path, parts=DAY) -> tuple[list[dict], dict]:
    """The day replayed from `journal` to a fresh daemon: its call log, the replay's state."""
    (tmp_path / "replay").mkdir()
    replayer = Emulator(tmp_path / "replay", manual_clock=True, replay=journal)
    try:
        fresh = agent_factory(replayer, manual_clock=True).start()
        rows = day(fresh, Replaying(replayer, fresh, journal), parts)
        state = replayer.release()        # the events after the day's last request
        fresh.stop()
        return rows, state
    finally:
        replayer.stop()


def test_a_day_journalled_shared_and_replayed_to_a_fresh_daemon_gives_the_same_call_log(
        proxy, agent_factory, tmp_path):
    first, journal = record(proxy, agent_factory, tmp_path)
    kinds = [(r["direction"], r["outcome"]) for r in first]
    assert ("in", "missed") in kinds and ("out", "cancelled") in kinds
    assert any(r["hold_seconds"] == pytest.approx(3, abs=0.01) for r in first)
    assert any(r["end_reason"] == "Transferred" for r in first)
    text = journal.read_text()
    assert 'kind="failure"' in text                          # the network drop is in it
    assert not any(number in text for number in (*CALLERS, ANSWERS_AFTER_2S, "5001790109"))

    second, state = replayed(journal, agent_factory, tmp_path)
    assert summary(second) == summary(first)
    assert state["Refused"] == 0 and state["Pushed"] == state["Events"], state
    assert not {r["number"] for r in first} & {r["number"] for r in second}


def events_out_of_order(journal) -> list[str]:
    """The calls whose state changed in the journal before they were created."""
    from daemon import journal as journal_mod

    created, early = set(), []
    for message in map(journal_mod.as_dict, journal_mod.read(journal)):
        call = message.get("params", {}).get("IDCall")
        if message.get("kind") == "event" and call:
            if message["path"] == "/call/OnCallCreated/":
                created.add(call)
            elif call not in created and call not in early:
                early.append(call)
    return early


def test_a_journal_from_a_server_that_answers_and_pushes_its_own_way_replays_too(
        proxy, agent_factory, tmp_path):
    parts = (outgoing_held, incoming_answered, cancelled)
    first, journal = record(proxy, agent_factory, tmp_path, parts,
                            rules={"*": "foreign", "/call/OnCallCreated/": "late"})
    text = journal.read_text()
    assert "&#13;&#10;\t" in text and "XSiteNote" in text     # pretty-printed, unknown fields
    assert len(events_out_of_order(journal)) == 3
    assert [(r["direction"], r["outcome"]) for r in first] == [
        ("out", "cancelled"), ("in", "answered"), ("out", "answered")]

    second, state = replayed(journal, agent_factory, tmp_path, parts)
    assert summary(second) == summary(first)
    assert state["Refused"] == 0 and state["Pushed"] == state["Events"], state


def emulator_lines(replayer, text: str) -> list[str]:
    log = (replayer.workdir / "emulator.log").read_text(errors="replace")
    return [line for line in log.splitlines() if text in line]


def test_a_dial_the_journal_cannot_answer_fails_at_once_naming_the_recorded_one(
        agent_factory, tmp_path):
    journal = site_journal(tmp_path)
    (tmp_path / "replay").mkdir()
    replayer = Emulator(tmp_path / "replay", manual_clock=True, replay=journal)
    try:
        agent = agent_factory(replayer, manual_clock=True).start()
        agent.wait_logged_in()
        done = agent.cc("dial", "+380441119999", check=False)
        assert done.returncode != 0 and "not in the journal" in done.stderr
        assert "Traceback" not in done.stderr
        line, = wait_until(lambda: emulator_lines(replayer, "not in the journal"), 10,
                           "the emulator's line")
        assert line == (
            "emulator: replay: not in the journal: /call/make/?IDUser=5001790109&"
            "Number=+380441119999&Mode=offhook; the change the journal expects next: "
            "/call/make/?IDUser=5001790109&Number=+380441110001&Mode=offhook (recorded at "
            "2026-11-25T09:41:01.000Z, seq 7): Number differs")
        assert replayer.admin("replay")["Refused"] == 1
    finally:
        replayer.stop()


def test_recorded_events_come_at_their_recorded_gaps_on_the_manual_clock(agent_factory,
                                                                         tmp_path):
    journal = site_journal(tmp_path)        # the far end answers 8 s after the dial
    (tmp_path / "replay").mkdir()
    replayer = Emulator(tmp_path / "replay", manual_clock=True, replay=journal)
    try:
        agent = agent_factory(replayer, manual_clock=True).start()
        agent.wait_logged_in()
        call = agent.json("dial", "+380441110001")
        assert [d["Path"] for d in replayer.admin("replay")["Due"]] == [
            "/call/OnCallCreated/", "/call/OnCallStateChanged/", "/call/OnCallStateChanged/"]
        replayer.advance(0.05)
        agent.wait_call_state("Alerting")
        replayer.advance(7.9)
        assert replayer.admin("replay")["Pushed"] == 2
        assert agent.json("calls")[0]["state_name"] == "Alerting"
        replayer.advance(0.1)
        agent.wait_call_state("Connected")
        replayer.advance(3.0)
        agent.cc("hangup")
        replayer.release()
        row = agent.log_row(call["call_id"], outcome="answered")
        assert row["number"] == "+380441110001" and row["direction"] == "out"
    finally:
        replayer.stop()


@pytest.mark.parametrize("extra,problem", [
    ([], "no such file"),
    (["--scenario", "x.toml"], "--replay and --scenario do not go together"),
    (["--manual-clock", "--time-scale", "5"], "do not go together"),
])
def test_a_replay_that_cannot_start_says_why_in_one_line(tmp_path, extra, problem):
    import subprocess

    from conftest import CC

    journal = tmp_path / "missing.xml" if not extra else site_journal(tmp_path)
    done = subprocess.run([CC, "emulator", "run", "--port", "0", "--replay", str(journal),
                           *extra], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2, done.stderr
    assert problem in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_a_replay_on_a_scaled_clock_plays_the_events_by_themselves(agent_factory, tmp_path):
    journal = site_journal(tmp_path)        # the far end answers 8 s after the dial
    (tmp_path / "replay").mkdir()
    replayer = Emulator(tmp_path / "replay", scale=100.0, replay=journal)
    try:
        assert replayer.admin("clock")["TimeScale"] == 100
        # The daemon's own clock stands still: the journal has no poll during the call.
        agent = agent_factory(replayer, manual_clock=True).start()
        agent.wait_logged_in()
        call = agent.json("dial", "+380441110001")
        agent.wait_call_state("Connected")              # 8 s at 100 times: 0.08 s
        assert replayer.admin("replay")["Pushed"] == 3
        agent.cc("hangup")
        agent.log_row(call["call_id"], outcome="answered")
    finally:
        replayer.stop()
