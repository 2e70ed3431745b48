"""`cc journal` on a 150 MB journal: time from process start to the first line printed,
reading from the start and with --tail, and the peak memory of a read through the whole
file (targets: the first line within a second; memory that does not grow with the
journal)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from daemon import testing

from .common import CC, ENV, PYTHON, median, ms, note, on_cleanup, standalone, verdict

SIZE = 150_000_000
RUNS = 3
FIRST_LINE_TARGET = 1.0      # seconds
MEMORY_TARGET = 64           # MiB of peak RSS, whatever the journal's size

# A wrapper whose only child is `cc journal`: seconds to the first line read off its
# output; with "all", the rest is read too and its peak RSS (RUSAGE_CHILDREN) printed.
PROBE = """
import resource, subprocess, sys, time
whole, argv = sys.argv[1] == "all", sys.argv[2:]
start = time.perf_counter()
child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
first = child.stdout.readline()
elapsed = time.perf_counter() - start
if whole:
    while child.stdout.read(1 << 16):
        pass
else:
    child.kill()
child.wait()
assert first, child.stderr.read()
print(elapsed, time.perf_counter() - start,
      resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
"""


def probe(whole: bool, *args: str) -> tuple[float, float, float]:
    """Seconds to the first line, seconds to the end, peak MiB of `cc journal ARGS`."""
    done = subprocess.run([PYTHON, "-c", PROBE, "all" if whole else "first", CC, "journal",
                           *args], env=ENV, capture_output=True, text=True, check=True,
                          timeout=600)
    first, total, peak = map(float, done.stdout.split())
    return first, total, peak


def run() -> list[str]:
    folder = Path(tempfile.mkdtemp(prefix="cc-bench-journal-"))
    on_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))
    path = folder / "journal.xml"
    started = time.perf_counter()
    count = testing.write_journal(path, SIZE)
    mb = path.stat().st_size / 1e6
    note(f"wrote {count:,} messages, {mb:.0f} MB, in {time.perf_counter() - started:.1f} s")
    lines = []
    for name, args in (("from the start", ()), ("--tail 20", ("--tail", "20"))):
        seconds = median(probe(False, str(path), *args)[0] for _ in range(RUNS))
        lines.append(f"cc journal {name}, {mb:.0f} MB journal: first line after "
                     f"{ms(seconds)} (target <= {FIRST_LINE_TARGET:g} s) "
                     f"{verdict(seconds <= FIRST_LINE_TARGET)}")
    _, total, peak = probe(True, str(path), "--kind", "event", "--json")
    lines.append(f"cc journal --kind event --json through the {mb:.0f} MB journal "
                 f"({count:,} messages): {total:.1f} s, {count / total:,.0f} messages/s; "
                 f"peak memory {peak:.1f} MiB (target <= {MEMORY_TARGET} MiB) "
                 f"{verdict(peak <= MEMORY_TARGET)}")
    _, _, peak = probe(True, str(path), "--tail", "20")
    lines.append(f"cc journal --tail 20, {mb:.0f} MB journal: peak memory {peak:.1f} MiB "
                 f"(target <= {MEMORY_TARGET} MiB) {verdict(peak <= MEMORY_TARGET)}")
    return lines


if __name__ == "__main__":
    standalone(run)
