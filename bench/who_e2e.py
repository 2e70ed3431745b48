"""`cc who` from process start to the table printed, against a running daemon with a
directory of colleagues, next to a bare two-command Typer app run by the same Python.

`cc who` goes through the Typer app (it stays off the hot path of the everyday call
commands), so this measures what `cc` adds to Typer: importing the one command's module
and what it needs, building that command, and the round trip to the daemon.
"""

from __future__ import annotations

from pathlib import Path

from .common import CC, PYTHON, Agent, Emulator, median, ms, standalone, timed_run, verdict
from .status_e2e import extra_imports

RUNS = 30
WARMUP = 3
TARGET = 1.10
HELLO = str(Path(__file__).with_name("hello_two.py"))
COLLEAGUES = 40


def directory(path: Path) -> Path:
    """A directory of COLLEAGUES colleagues, as `cc who import` takes it."""
    lines = ["name,position,department,extension,id_user,phones"]
    lines += [f"Colleague {n:02d},Agent,Support,{200 + n},{5001790200 + n},"
              f"+38044{1230000 + n};+38050{9870000 + n}" for n in range(COLLEAGUES)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run() -> list[str]:
    emulator = Emulator()
    agent = Agent(emulator).start()
    timed_run([CC, "who", "import", str(directory(agent.home / "team.csv"))], env=agent.env)
    who = [CC, "who"]
    hello = [PYTHON, HELLO, "hello"]
    who_times, hello_times = [], []
    for i in range(WARMUP + RUNS):   # interleaved, so drift of the machine hits both alike
        who_time = timed_run(who, env=agent.env)
        hello_time = timed_run(hello)
        if i >= WARMUP:
            who_times.append(who_time)
            hello_times.append(hello_time)
    who_median, hello_median = median(who_times), median(hello_times)
    ratio = who_median / hello_median
    lines = [f"cc who end to end ({COLLEAGUES} colleagues): {ms(who_median)} (bare two-command "
             f"Typer app: {ms(hello_median)}; medians of {RUNS}, interleaved) ratio "
             f"{ratio:.2f} (target <= {TARGET}) {verdict(ratio <= TARGET)}"]
    if ratio > TARGET:
        lines.append("cc who import costs (python -X importtime, own time): "
                     + extra_imports(who, agent.env, hello[1:]))
    return lines


if __name__ == "__main__":
    standalone(run)
