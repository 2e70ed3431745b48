"""Figures 4 and 5: the call log at 1,000,000 calls, and the daemon's memory.

The database is built with sqlite-utils through `daemon.store.Store` (its own schema and
migrations) and cached under /tmp by schema version, so later runs only copy it. A
daemon is pointed at a copy ($CC_HOME/data/calls.db); we time a filtered page and a CSV
export of every row through `cc`, next to `sqlite3 -csv` selecting the same columns
from the same table, and read the daemon's RSS before and after the export.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import random
import resource
import shutil
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

from daemon.spool import RESERVE
from daemon.states import LineState, line_name
from daemon.store import MIGRATIONS, Store
from daemon.wire import LOG_COLUMNS

from .common import (CACHE, CC, Agent, Emulator, cpu_seconds, median, ms, note, rss_mib,
                     standalone, timed_run, verdict)

CALLS = 1_000_000
BATCH = 20_000
DAYS = 90
QUERY_RUNS = 7
EXPORT_TARGET = 1.5
IDLE_TARGET_MIB = 60
REBUILD_AFTER_DAYS = 7    # the rows span the last 90 days; `last-month` must stay inside

AGENTS = [("ivanova", "101"), ("petrenko", "102"), ("shevchenko", "103"),
          ("bondarenko", "104"), ("kovalenko", "105"), ("tkachenko", "106"),
          ("kravchenko", "107"), ("oliynyk", "108")]
CUSTOMERS = 50_000        # distinct numbers: customers call again
CALL_TYPES = ("consultation", "sale", "complaint", "support")
RESULTS = ("resolved", "callback", "escalated", "no-decision")
OUTCOMES = {"in": (("answered", 70), ("missed", 20), ("rejected", 5),
                   ("answered-elsewhere", 5)),
            "out": (("answered", 60), ("not-answered", 15), ("busy", 10),
                    ("cancelled", 10), ("failed", 5))}


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds")


def synthetic_calls(count: int, end: float, columns: set[str], number_mask: str):
    """`count` finished calls, oldest first, spread evenly over the DAYS before `end`.

    Each row carries what the daemon writes for a call, limited to the table's `columns`
    (the schema grows): a number key, the call's counter, a card for some answered calls.
    """
    rng = random.Random(42)
    span = DAYS * 86400
    finished = line_name(LineState.FINISHED)
    picks = {d: ([o for o, _ in choices], [w for _, w in choices])
             for d, choices in OUTCOMES.items()}
    customers = [f"+38044{rng.randrange(10**7):07d}" for _ in range(CUSTOMERS)]
    keys: dict[str, str] = {}
    for n in range(count):
        direction = "in" if rng.random() < 0.55 else "out"
        agent, extension = rng.choice(AGENTS)
        outcomes, weights = picks[direction]
        outcome = rng.choices(outcomes, weights)[0]
        number = rng.choice(customers)
        started = end - span + span * n / count + rng.random()
        wait = round(rng.uniform(1, 40), 3)
        answered = outcome == "answered"
        talk = round(rng.expovariate(1 / 180), 3) if answered else 0.0
        hold = round(rng.choice((0, 0, 0, rng.uniform(5, 120))), 3) if answered else 0.0
        connected = started + wait if answered else None
        ended = started + wait + talk + hold
        wrapped = answered and rng.random() < 0.3
        if number not in keys:
            keys[number] = number_key(number)
        row = {
            "call_id": str(5_000_000_000 + n), "direction": direction, "number": number,
            "agent": agent, "extension": extension, "started_at": iso(started),
            "connected_at": iso(connected), "ended_at": iso(ended),
            "wait_seconds": wait, "talk_seconds": talk, "hold_seconds": hold,
            "outcome": outcome, "line_state": finished, "durations_from": "server",
            "updated_at": iso(ended), "end_reason": "" if answered else outcome,
            "transfer_from": "", "transfer_to": "", "transfer_number": "",
            "processing_started_at": iso(ended) if wrapped else None,
            "processing_ended_at": iso(ended + 30) if wrapped else None,
            "processing_seconds": 30.0 if wrapped else None,
            "dial_mode": "offhook" if direction == "out" else "",
            "group_number": "500" if direction == "in" and rng.random() < 0.4 else "",
            "number_key": keys[number],
            "counter": n + 1, "counter_number": number_mask.format(n=n + 1),
            "call_type": rng.choice(CALL_TYPES) if wrapped else None,
            "result": rng.choice(RESULTS) if wrapped else None,
        }
        yield {k: v for k, v in row.items() if k in columns}


def number_key(number: str) -> str:
    """The daemon's key of a number, when this version of it has one."""
    try:
        from daemon.phone import key
    except ImportError:
        return number
    return key(number, "")


def schema_key() -> str:
    """The cache's name: the schema version, and a digest of the migrations and of the
    rows we make, so a migration edited in place (or a new row shape) is rebuilt too."""
    source = "".join(inspect.getsource(f) for f in (*MIGRATIONS, synthetic_calls))
    return f"schema-v{len(MIGRATIONS)}-{hashlib.sha1(source.encode()).hexdigest()[:10]}"


def build(path: Path) -> None:
    """A fresh database at `path`: Store's schema, then the rows in batches.

    The indices are dropped for the load and created again from their own SQL, which
    is several times faster and leaves the schema exactly as the migrations made it.
    """
    tmp = path.with_name(f"{path.name}.building-{os.getpid()}")   # runs may overlap

    def remove_tmp() -> None:
        for leftover in tmp.parent.glob(tmp.name + "*"):
            leftover.unlink()

    remove_tmp()
    try:
        store = Store(tmp)
        db = store.db
        for pragma in ("journal_mode = OFF", "synchronous = OFF", "cache_size = -262144"):
            db.execute(f"PRAGMA {pragma}")
        indices = db.execute("select name, sql from sqlite_master where type = 'index' "
                             "and tbl_name = 'calls' and sql is not null").fetchall()
        with db.conn:
            for name, _ in indices:
                db.execute(f"drop index [{name}]")
            rows = synthetic_calls(CALLS, time.time(), set(db["calls"].columns_dict),
                                   getattr(store, "number_mask", "CALL-{n:06}"))
            db["calls"].insert_all(rows, batch_size=BATCH)
            for _, sql in indices:
                db.execute(sql)
        db.execute("PRAGMA journal_mode = WAL")   # as Store leaves it; no ANALYZE: cc runs none
        store.close()
        os.replace(tmp, path)
    finally:
        remove_tmp()


def cached_database() -> Path:
    """The 1M-call database of the current schema, built if missing or stale."""
    directory = CACHE / schema_key()
    path = directory / f"calls-{CALLS}.db"
    if not path.exists() or time.time() - path.stat().st_mtime > REBUILD_AFTER_DAYS * 86400:
        for old in CACHE.glob("schema-*"):    # databases of other schemas are of no use
            if old != directory:
                shutil.rmtree(old, ignore_errors=True)
        directory.mkdir(parents=True, exist_ok=True)
        note(f"building {CALLS:,} calls in {path}")
        start = time.perf_counter()
        build(path)
        note(f"built in {time.perf_counter() - start:.1f} s")
    return path


def sqlite3_export(database: Path, out: Path) -> tuple[float | None, str]:
    """Seconds `sqlite3 -csv` takes to write the same columns, rows and order as cc."""
    binary = shutil.which("sqlite3")
    if binary is None:
        return None, "sqlite3 not installed (apt-get install -y sqlite3)"
    sql = (f"select {', '.join(LOG_COLUMNS)} from calls "
           "order by started_at desc, id desc;")
    with open(out, "wb") as fh:
        start = time.perf_counter()
        subprocess.run([binary, "-csv", "-header", "-readonly", str(database), sql],
                       stdout=fh, check=True)
        return time.perf_counter() - start, ""


def children_cpu() -> float:
    """CPU seconds used so far by our finished children (a `cc` run, not the daemon)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def count_rows(csv_file: Path) -> int:
    with open(csv_file, "rb") as fh:
        return sum(1 for _ in fh) - 1


def start_check(database: Path) -> float:
    """Seconds the daemon's integrity check at start (SQLite's quick check) takes."""
    from daemon.store import damage

    start = time.perf_counter()
    found = damage(database)
    if found is not None:
        raise RuntimeError(f"the benchmark's call log is damaged: {found}")
    return time.perf_counter() - start


def spool_figures(where: Path) -> tuple[float, int]:
    """Median seconds to spool one call (written and fsynced), and its size in bytes."""
    from daemon.spool import Spool

    spool = Spool(where / "calls.spool")
    spool.open()
    row = next(synthetic_calls(1, time.time(), set(LOG_COLUMNS) | {"server"}, "CALL-{n:06}"))
    times = []
    for n in range(200):
        start = time.perf_counter()
        spool.add({**row, "call_id": str(n)})
        times.append(time.perf_counter() - start)
    size = spool.end // 200
    spool.close()
    return median(times), size


def run() -> list[str]:
    source = cached_database()
    check = median([start_check(source) for _ in range(3)])
    emulator = Emulator()
    agent = Agent(emulator)
    agent.database.parent.mkdir(parents=True)
    shutil.copyfile(source, agent.database)
    agent.start()
    time.sleep(1.0)                   # let the log-in's requests and first poll settle
    idle = rss_mib(agent.pid)

    page = [CC, "log", "--period", "last-month", "--direction", "in", "--limit", "50"]
    timed_run(page, env=agent.env)    # a first run, so the next ones see warm caches
    query = median([timed_run(page, env=agent.env) for _ in range(QUERY_RUNS)])

    mine, theirs = agent.home / "cc.csv", agent.home / "sqlite3.csv"
    daemon_cpu, cc_cpu = cpu_seconds(agent.pid), children_cpu()
    export = timed_run([CC, "log", "--format", "csv", "--output", mine], env=agent.env)
    daemon_cpu, cc_cpu = cpu_seconds(agent.pid) - daemon_cpu, children_cpu() - cc_cpu
    served = rss_mib(agent.pid)
    peak = rss_mib(agent.pid, "VmHWM")
    exported = count_rows(mine)
    if exported != CALLS:
        raise RuntimeError(f"cc log exported {exported} of {CALLS} calls")
    reference, missing = sqlite3_export(agent.database, theirs)
    spooled, row_bytes = spool_figures(agent.home)

    if reference is None:
        compared = f"sqlite3 -csv: {missing}; no ratio"
    else:
        ratio = export / reference
        compared = (f"sqlite3 -csv same columns {reference:.2f} s, ratio {ratio:.2f} "
                    f"(target <= {EXPORT_TARGET:g}) {verdict(ratio <= EXPORT_TARGET)}")
    return [
        f"call log at {CALLS:,} calls: cc log --period last-month --direction in --limit 50 "
        f"{ms(query)} (median of {QUERY_RUNS}); cc log --format csv --output FILE "
        f"{export:.2f} s (CPU: daemon {daemon_cpu:.1f} s, cc {cc_cpu:.1f} s); {compared}",
        f"integrity check at start (quick check) at {CALLS:,} calls: {check:.2f} s (median "
        f"of 3); spooling a call the log cannot take: {ms(spooled)} written and fsynced, "
        f"{row_bytes} bytes, so the {RESERVE >> 20} MiB reserved holds "
        f"{RESERVE // row_bytes:,} records",
        f"daemon memory: idle {idle:.1f} MiB RSS after start and log-in "
        f"(target <= {IDLE_TARGET_MIB} MiB) {verdict(idle <= IDLE_TARGET_MIB)}; "
        f"{served:.1f} MiB after serving the {CALLS:,}-call export (peak {peak:.1f} MiB)",
    ]


if __name__ == "__main__":
    standalone(run)
