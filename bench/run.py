"""`make bench`: every benchmark in turn, one line per figure on stdout.

Speed is measured here and never asserted in tests. Each benchmark starts its own
emulator and daemon and they are stopped before the next one starts, so none disturbs
another's figures; a failing benchmark prints its error in its line and the others still
run (the exit status is then 1). The whole run keeps within a time budget: a benchmark
still running at the deadline is stopped, and the ones after it are skipped.
"""

from __future__ import annotations

import os
import signal
import sys
import time

from . import (calllog, common, contacts, hot, ingest, journal, purge, roundtrip,
               status_e2e, tab, team, who_e2e)

BENCHMARKS = (
    ("cc status end to end", status_e2e.run),
    ("the hot commands end to end", hot.run),
    ("cc who through Typer", who_e2e.run),
    ("Tab with live values", tab.run),
    ("daemon round trip", roundtrip.run),
    ("event ingest", ingest.run),
    ("call log and daemon memory", calllog.run),
    ("cc journal on a big journal", journal.run),
    ("retention purge", purge.run),
    ("team store replication", team.run),
    ("team store, fifty writers at once", team.writers),
    ("team reads at ten million calls", team.reads),
    ("team contacts", contacts.run),
    ("contact search", contacts.search),
)
BUDGET = 480   # seconds; `make bench` ends within 8 minutes, pip install included


class OverBudget(Exception):
    pass


def _deadline(signum, frame) -> None:
    raise OverBudget(f"stopped at the {BUDGET} s budget")


def warn_if_busy(when: str) -> None:
    """Figures mean little while other work competes for the cores: say so, on stderr."""
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    if load > cores:
        print(f"bench: warning: load average {load:.1f} on {cores} cores {when}: other work "
              "competes for the CPU and inflates the figures", file=sys.stderr, flush=True)


def main() -> int:
    warn_if_busy("at the start")
    started = time.monotonic()
    signal.signal(signal.SIGALRM, _deadline)
    failed = 0
    try:
        for name, run in BENCHMARKS:
            left = int(BUDGET - (time.monotonic() - started))
            if left <= 0:
                print(f"{name}: SKIPPED (the {BUDGET} s budget is spent)", flush=True)
                failed += 1
                continue
            signal.alarm(left)
            try:
                lines = run()
            except Exception as exc:   # report it and go on with the next figure
                lines = [f"{name}: FAILED: {type(exc).__name__}: {exc}"]
                failed += 1
            finally:
                signal.alarm(0)        # the deadline never interrupts a cleanup
                common.cleanup()
            print("\n".join(lines), flush=True)
    finally:
        signal.alarm(0)
        common.cleanup()
    warn_if_busy("at the end")
    common.note(f"all benchmarks in {time.monotonic() - started:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:   # everything started is stopped by now
        sys.exit("bench: interrupted")
