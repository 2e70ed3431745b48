"""Figure 1: `cc status` from process start to answer printed, against a running daemon,
next to a bare Typer "hello" run by the same Python; when the ratio misses its target,
a second line names the imports that cost the most."""

from __future__ import annotations

import subprocess
from pathlib import Path

from .common import (CC, ENV, PYTHON, Agent, Emulator, median, ms, standalone, timed_run,
                     verdict)

RUNS = 20
WARMUP = 3
TARGET = 1.25
HELLO = str(Path(__file__).with_name("hello.py"))


def imports(argv, env) -> dict[str, float]:
    """Every module a command imports, with its own import time in seconds."""
    done = subprocess.run([PYTHON, "-X", "importtime", *argv], env=env,
                          capture_output=True, text=True, timeout=60)
    found = {}
    for line in done.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[0].strip().isdigit():
            found[parts[2].strip()] = int(parts[0]) / 1e6
    return found


def extra_imports(cc_argv, env, hello=(HELLO,), count: int = 6) -> str:
    """What a `cc` command imports beyond the hello script, by top-level package."""
    mine, theirs = imports(cc_argv, env), imports(list(hello), ENV)
    extra: dict[str, float] = {}
    for name, seconds in mine.items():
        if name not in theirs:
            package = name.split(".")[0]
            extra[package] = extra.get(package, 0.0) + seconds
    top = sorted(extra.items(), key=lambda item: -item[1])[:count]
    return (f"{ms(sum(extra.values()))} in {sum(1 for n in mine if n not in theirs)} modules "
            f"that hello does not import; most: " +
            ", ".join(f"{name} {ms(seconds)}" for name, seconds in top))


TREE = """
import time, typer.main
from cccli.app import app
start = time.perf_counter()
typer.main.get_command(app)
print(time.perf_counter() - start)
"""


def command_tree_seconds(env, runs: int = 5) -> float:
    """What Typer spends turning every command of `cc` into Click's tree, at each run."""
    return median(float(subprocess.run([PYTHON, "-c", TREE], env=env, capture_output=True,
                                       text=True, check=True, timeout=60).stdout)
                  for _ in range(runs))


def run() -> list[str]:
    emulator = Emulator()
    agent = Agent(emulator).start()
    status = [CC, "status"]
    hello = [PYTHON, HELLO]
    cc_times, hello_times = [], []
    for i in range(WARMUP + RUNS):   # interleaved, so drift of the machine hits both alike
        cc_time = timed_run(status, env=agent.env)
        hello_time = timed_run(hello)
        if i >= WARMUP:
            cc_times.append(cc_time)
            hello_times.append(hello_time)
    cc_median, hello_median = median(cc_times), median(hello_times)
    ratio = cc_median / hello_median
    lines = [f"cc status end to end: {ms(cc_median)} (bare Typer hello: {ms(hello_median)}) "
             f"ratio {ratio:.2f} (target <= {TARGET}) {verdict(ratio <= TARGET)}"]
    if ratio > TARGET:
        lines.append("cc status import costs (python -X importtime, own time): "
                     + extra_imports(status, agent.env) + "; then Typer builds the tree of "
                     f"every command: {ms(command_tree_seconds(agent.env))}")
    return lines


if __name__ == "__main__":
    standalone(run)
