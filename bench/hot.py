"""The hot commands end to end (process start to answer printed) against a running
daemon, each next to a bare Python script that sends the identical request over pyzmq
with the same interpreter, interleaved; the same commands through the whole Typer app
(CC_COLD=1) for comparison; and, when linphone-cli is installed, `linphonecsh generic
calls` as the peer row.

Before every run the line is put in the state the command needs (a ringing call for
answer and reject, a connected one for hold, unhold, dtmf and hangup, an idle line for
dial), through the daemon's socket, so each command does its real work every time.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from daemon import wire

from .common import (CC, PYTHON, Agent, Emulator, median, ms, note, standalone, timed_run,
                     verdict, wait_until)

RUNS = 30
COLD_RUNS = 10
WARMUP = 3
TARGET = 1.3
BARE = str(Path(__file__).with_name("bare_client.py"))
ANSWERS = "+380441110001"       # the emulator's far end that answers after 2 s
NEVER = "+380441110003"
REASON = "lunch"

# command line, the request it sends (cmd, args), what the line needs before it
COMMANDS = (
    (["status"], ("status", {}), None),
    (["calls"], ("calls", {}), None),
    (["state"], ("state", {"name": None}), None),
    (["available"], ("state", {"name": "available", "for_seconds": None,
                               "after_call": False}), None),
    (["away"], ("state", {"name": "away", "for_seconds": None, "after_call": False}), None),
    (["break", REASON], ("state", {"name": "break", "for_seconds": None, "after_call": False,
                                   "reason": REASON, "other": None}), None),
    (["dial", NEVER], ("dial", {"number": NEVER, "mode": None, "links": None,
                                "contact_id": None}), "idle"),
    (["answer"], ("answer", {"call_id": None}), "ringing"),
    (["reject"], ("reject", {"call_id": None}), "ringing"),
    (["hold"], ("hold", {"call_id": None}), "connected"),
    (["unhold"], ("unhold", {"call_id": None}), "held"),
    (["dtmf", "1"], ("dtmf", {"digits": "1", "call_id": None}), "connected"),
    (["hangup"], ("hangup", {"call_id": None}), "connected"),
)


class Line:
    """Puts the agent's line in the state a command needs, through the daemon."""

    def __init__(self, agent: Agent, emulator: Emulator):
        self.agent, self.emulator = agent, emulator

    def calls(self) -> list[dict]:
        return self.agent.request("calls")

    def idle(self) -> None:
        for call in self.calls():
            try:
                self.agent.request("hangup", call_id=call["call_id"])
            except wire.WireError:      # it ended meanwhile
                pass
        wait_until(lambda: not self.calls(), 20, "the line idle")

    def _state(self) -> str | None:
        found = self.calls()
        return found[0]["state_name"] if len(found) == 1 else None

    def ringing(self) -> None:
        self.idle()
        self.agent.request("state", name="available", for_seconds=None, after_call=False)
        self.emulator.client.call_in("+380671112233", "101")
        wait_until(lambda: self._state() == "Ringing", 20, "a ringing call")

    def connected(self) -> None:
        if self._state() == "Connected":
            return
        if self._state() == "On hold":
            self.agent.request("unhold", call_id=None)
            wait_until(lambda: self._state() == "Connected", 20, "the call resumed")
            return
        self.idle()
        self.agent.request("dial", number=ANSWERS)
        wait_until(lambda: self._state() == "Connected", 20, "a connected call")

    def held(self) -> None:
        self.connected()
        self.agent.request("hold", call_id=None)
        wait_until(lambda: self._state() == "On hold", 20, "the call on hold")

    def prepare(self, need: str | None) -> None:
        if need:
            getattr(self, need)()


def bare_argv(agent: Agent, cmd: str, args: dict) -> list[str]:
    return [PYTHON, BARE, agent.request_socket, wire.request(cmd, **args).decode()]


def linphone_row() -> str:
    found = shutil.which("linphonecsh")
    if not found:
        return "linphonecsh generic calls: skipped (linphone-cli is not installed)"
    times = []
    for _ in range(WARMUP + RUNS):
        start = time.perf_counter()
        subprocess.run([found, "generic", "calls"], capture_output=True, timeout=30)
        times.append(time.perf_counter() - start)
    return f"linphonecsh generic calls (C peer): {ms(median(times[WARMUP:]))}"


def run() -> list[str]:
    emulator = Emulator()
    agent = Agent(emulator).start()
    line = Line(agent, emulator)
    cold_env = {**agent.env, "CC_COLD": "1"}
    lines, worst = [], 0.0
    for argv, (cmd, args), need in COMMANDS:
        hot, bare, cold = [], [], []
        bare_cmd = bare_argv(agent, cmd, args)
        for i in range(WARMUP + RUNS):
            line.prepare(need)
            hot_time = timed_run([CC, *argv], env=agent.env)
            line.prepare(need)
            bare_time = timed_run(bare_cmd)
            if i < WARMUP + COLD_RUNS:
                line.prepare(need)
                cold_time = timed_run([CC, *argv], env=cold_env)
            if i >= WARMUP:
                hot.append(hot_time)
                bare.append(bare_time)
                if i < WARMUP + COLD_RUNS:
                    cold.append(cold_time)
        ratio = median(hot) / median(bare)
        worst = max(worst, ratio)
        lines.append(f"cc {' '.join(argv):<12} {ms(median(hot)):>7} hot, {ms(median(bare)):>7}"
                     f" bare pyzmq script, {ms(median(cold)):>7} through Typer; "
                     f"ratio {ratio:.2f} {verdict(ratio <= TARGET)}")
        note(lines[-1])
    line.idle()
    lines.append(f"hot commands: worst ratio {worst:.2f} to the bare script (target <= "
                 f"{TARGET}; medians of {RUNS} interleaved runs, Typer of {COLD_RUNS}) "
                 f"{verdict(worst <= TARGET)}")
    lines.append(linphone_row())
    return lines


if __name__ == "__main__":
    standalone(run)
