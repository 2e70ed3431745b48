"""The team store: how fast one daemon's outbox reaches PostgreSQL.

A call log of CALLS finished calls (daemon.store.Store, the bench's synthetic rows) joins
a team store on a throw-away PostgreSQL server (daemon.testing.Postgres, set up with
`cc team`); the daemon's own replicator (daemon/team/replicate.py) sends the whole log,
as at the first connection or after days with the store down, and we time it until the
outbox is empty and the store holds every call. Then `writers`: fifty agents writing
a busy day at once through the replicator's statements (latency, no loss); and `reads`:
the team report and listing over ten million calls.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from daemon import clock as clocks
from daemon.store import Store
from daemon.team.replicate import Replicator, outbox_length
from daemon.testing import Postgres

from .calllog import synthetic_calls
from .common import CACHE, CC, ENV, ms, note, on_cleanup, percentile, standalone, verdict

CALLS = 20_000
TARGET = 1_000          # calls a second


def run() -> list[str]:
    folder = Path(tempfile.mkdtemp(prefix="cc-bench-team-"))
    on_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))
    server = Postgres()
    on_cleanup(server.close)
    env = {**ENV, "CC_TEAM_PASSWORD": server.PASSWORD, "CC_HOME": str(folder / "admin")}
    for args, stdin in ((("init",), None), (("add-team", "Sales"), None),
                        (("add-agent", "ivanova", "--team", "Sales", "--prefix", "IVA",
                          "--password-stdin"), "bench-pw\n")):
        subprocess.run([CC, "team", *args, "--url", server.url(password="")], env=env,
                       input=stdin, text=True, check=True, capture_output=True, timeout=60)
    store = Store(folder / "calls.db")
    columns = set(store.db["calls"].columns_dict)
    rows = [{**row, "server": "http://bench"} for row in
            synthetic_calls(CALLS, time.time(), columns, "CALL-{n:06}")]
    store.db["calls"].insert_all(rows, batch_size=5_000)
    note(f"{CALLS:,} calls in the local log")
    os.environ["CC_TEAM_PASSWORD"] = "bench-pw"
    settings = {"team.url": server.url("ivanova", ""), "team.password_command": ""}
    seconds = asyncio.run(_replicate(store, settings))
    held = int(server.admin_sql("select count(*) from cc.calls", database="cc"))
    store.close()
    rate = CALLS / seconds
    return [f"team store replication, one daemon's outbox of {CALLS:,} calls to PostgreSQL: "
            f"{seconds:.1f} s, {rate:,.0f} calls/s, {held:,} in the store "
            f"(target >= {TARGET:,}/s, none lost) {verdict(rate >= TARGET and held == CALLS)}"]


async def _replicate(store: Store, settings: dict) -> float:
    replicator = Replicator(store, settings, clocks.WallClock())
    started = time.perf_counter()
    task = asyncio.create_task(replicator.run())
    try:
        while replicator.prefix is None or outbox_length(store.db.conn):
            if task.done():
                task.result()
            await asyncio.sleep(0.05)
        return time.perf_counter() - started
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await replicator.close()


if __name__ == "__main__":
    standalone(run)


# -- team reads at scale: `cc report --team` and `cc log --agent` over ten million calls
REPORT_CALLS = int(os.environ.get("BENCH_TEAM_CALLS", 10_000_000))
AGENTS = 50
REPORT_TARGET = 1.0     # seconds


CHUNK = 2_000_000        # calls a statement: each keeps within psql's minute


def _load(server, calls: int) -> None:
    """CALLS calls over the last 400 days, newest last, spread over AGENTS agents, made
    in the server by generate_series: the numbering trigger is off for the load (the card
    numbers are made in the same query) and the indexes are made after it."""
    span = 400 * 86400.0 / calls
    steps = ["""alter table cc.calls disable trigger calls_numbered;
drop index cc.calls_started, cc.calls_agent_started, cc.calls_number_key;
alter table cc.calls drop constraint calls_server_call_id_agent_key,
                     drop constraint calls_agent_counter_key,
                     drop constraint calls_counter_number_key"""]
    for first in range(1, calls + 1, CHUNK):
        last = min(calls, first + CHUNK - 1)
        steps.append(f"""
insert into cc.calls (server, call_id, agent, counter, counter_number, direction, number,
                      number_key, started_at, wait_seconds, talk_seconds, hold_seconds,
                      outcome, processing_seconds)
select 'bench', g::text, a.login, g, a.prefix || '-' || g,
       case when g % 4 = 0 then 'out' else 'in' end, '+38044' || (g % 1000000),
       '38044' || (g % 1000000),
       now() - ({calls} - g) * interval '{span} seconds', g % 20,
       case when g % 10 < 7 then (g % 900)::float end, (g % 7)::float,
       case g % 10 when 7 then 'missed' when 8 then 'rejected'
                   when 9 then 'answered-elsewhere' else 'answered' end,
       case when g % 3 = 0 then (g % 60)::float end
  from generate_series({first}, {last}) g
  join cc.agents a on a.prefix = 'B' || (g % {AGENTS})""")
    steps += ["alter table cc.calls add unique (server, call_id, agent)",
              "alter table cc.calls add unique (agent, counter)",
              "alter table cc.calls add unique (counter_number)",
              "create index calls_started on cc.calls (started_at)",
              "create index calls_agent_started on cc.calls (agent, started_at)",
              "create index calls_number_key on cc.calls (number_key)",
              "alter table cc.calls enable trigger calls_numbered",
              "vacuum analyze cc.calls"]
    for step in steps:
        begun = time.perf_counter()
        server.admin_sql(step, database="cc")
        note(f"{time.perf_counter() - begun:.1f} s: {' '.join(step.split())[:60]}")


def _store() -> Postgres:
    """The team store of REPORT_CALLS calls: made once (minutes: ten million rows and
    their indexes) and kept, stopped, in the bench cache; later runs start it again."""
    from daemon.team.schema import VERSION
    from daemon.testing import postgres_bin

    kept = CACHE / f"team-reads-{REPORT_CALLS}-v{VERSION}"
    if not (kept / "ready").exists():
        shutil.rmtree(kept, ignore_errors=True)
        CACHE.mkdir(parents=True, exist_ok=True)
        server = Postgres(workdir=CACHE)
        try:
            _fill(server)
            server.stop()
        except BaseException:
            server.close()
            raise
        server.dir.rename(kept)
        (kept / "ready").write_text("")
    server = Postgres.__new__(Postgres)
    server.bin, server.dir, server.data = postgres_bin(), kept, kept / "data"
    server.user = "postgres" if os.geteuid() == 0 else None
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        server.port = probe.getsockname()[1]
    server.start()
    on_cleanup(server.stop)
    return server


def _fill(server: Postgres) -> None:
    env = {**ENV, "CC_TEAM_PASSWORD": server.PASSWORD,
           "CC_HOME": str(server.dir / "admin-profile")}
    for args in (("init",), ("add-team", "Sales", "--lead", "boss")):
        subprocess.run([CC, "team", *args, "--url", server.url(password="")], env=env,
                       text=True, check=True, capture_output=True, timeout=60)
    server.admin_sql("alter role boss password 'bench-pw'")
    agents = ", ".join(f"('b{n:02}', 'Sales', 'B{n}')" for n in range(AGENTS))
    server.admin_sql(f"insert into cc.agents (login, team, prefix) values {agents}",
                     database="cc")
    started = time.perf_counter()
    _load(server, REPORT_CALLS)
    note(f"{REPORT_CALLS:,} calls made in {time.perf_counter() - started:.1f} s")


def reads() -> list[str]:
    folder = Path(tempfile.mkdtemp(prefix="cc-bench-teamread-"))
    on_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))
    server = _store()
    lead = {**ENV, "CC_TEAM_PASSWORD": "bench-pw", "CC_HOME": str(folder / "boss"),
            "TZ": "UTC"}
    url = server.url("boss", "")

    def timed(*args) -> tuple[float, str]:
        best, out = None, ""
        for _ in range(3):          # the best of three: the first warms the server's cache
            begun = time.perf_counter()
            done = subprocess.run([CC, *args, "--url", url], env=lead, text=True,
                                  capture_output=True, timeout=120)
            took = time.perf_counter() - begun
            if done.returncode != 0:
                raise RuntimeError(f"cc {' '.join(args)}: {done.stderr.strip()}")
            best, out = min(best or took, took), done.stdout
        return best, out

    report, text = timed("report", "--team", "--period", "last-month", "--format", "csv")
    total = text.strip().splitlines()[-1].split(",")
    counted = int(total[2]) + int(total[3]) + int(total[7])
    page, listing = timed("log", "--agent", "b07")
    return [f"cc report --team --period last-month, {REPORT_CALLS:,} calls in the team "
            f"store ({counted:,} in the month), process start to report: {report:.2f} s "
            f"(target < {REPORT_TARGET:.0f} s) {verdict(report < REPORT_TARGET)}",
            f"cc log --agent X, first page, {REPORT_CALLS:,} calls in the team store: "
            f"{page * 1000:.0f} ms ({len(listing.splitlines()) - 1} rows)"]


# -- fifty writers at once: a busy day written through the replicator's own statements
WRITERS = 50
DAY_CALLS = 300         # calls an agent's busy day holds


def writers() -> list[str]:
    """WRITERS agents' daemons writing a busy day each at once, as fast as the store takes
    it: each call is written as the daemon writes it, inserted when it starts, updated as
    it connects and as it ends, each change its own transaction through the replicator's
    upsert (replicate._upsert), logged in as the agent's own role, so the row-level
    security and the numbering trigger run on every write. A fresh server each run."""
    import psycopg

    from daemon.team import admin

    folder = Path(tempfile.mkdtemp(prefix="cc-bench-writers-"))
    on_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))
    server = Postgres()
    on_cleanup(server.close)
    env = {**ENV, "CC_TEAM_PASSWORD": server.PASSWORD, "CC_HOME": str(folder / "admin")}
    for args in (("init",), ("add-team", "Busy")):
        subprocess.run([CC, "team", *args, "--url", server.url(password="")], env=env,
                       text=True, check=True, capture_output=True, timeout=60)
    logins = [f"w{n:02}" for n in range(WRITERS)]
    with psycopg.connect(server.url(), autocommit=True) as conn:
        for login in logins:            # what `cc team add-agent LOGIN --team Busy` does
            admin.add_agent(conn, login, "Busy", None, "bench-pw")
    load = os.getloadavg()[0]
    latencies, seconds = asyncio.run(_write_days(server, logins))
    lost = _lost(server)
    writes = len(latencies)
    p50, p99 = ms(percentile(latencies, 50)), ms(percentile(latencies, 99))
    return [f"team store, {WRITERS} writers each writing a busy day ({DAY_CALLS} calls, "
            f"3 writes a call) at once, one transaction a write: p50 {p50}, p99 {p99}, "
            f"{writes / seconds:,.0f} writes/s "
            f"({writes:,} in {seconds:.1f} s, load {load:.1f} before); {lost or 'none lost'} "
            f"(target: none lost) {verdict(not lost)}"]


async def _write_days(server: Postgres, logins: list[str]) -> tuple[list[float], float]:
    import psycopg

    conns = [await psycopg.AsyncConnection.connect(server.url(login, "bench-pw"),
                                                   autocommit=True) for login in logins]
    try:
        latencies: list[float] = []
        started = time.perf_counter()
        await asyncio.gather(*(_write_day(conn, login, latencies)
                               for conn, login in zip(conns, logins)))
        return latencies, time.perf_counter() - started
    finally:
        for conn in conns:
            await conn.close()


def _call(login: str, n: int, stage: int) -> dict:
    """Call n of `login`'s day as the daemon's log holds it at stage 0 (ringing), 1
    (connected) or 2 (ended, talk and outcome known)."""
    from daemon.calls import iso
    from daemon.states import LineState, line_name

    begun = 1_790_000_000.0 + n * 90
    row = {"server": "http://bench", "call_id": f"{login}-{n}", "counter": n,
           "direction": "in" if n % 3 else "out", "number": f"+38044{n:07d}",
           "number_key": f"38044{n:07d}", "started_at": iso(begun),
           "updated_at": iso(begun + stage * 30),
           "line_state": line_name((LineState.RINGING, LineState.CONNECTED,
                                    LineState.FINISHED)[stage])}
    if stage >= 1:
        row.update(connected_at=iso(begun + 5), wait_seconds=5.0)
    if stage == 2:
        row.update(ended_at=iso(begun + 65), talk_seconds=60.0, outcome="answered")
    return row


async def _write_day(conn, login: str, latencies: list[float]) -> None:
    from daemon.team.replicate import _upsert

    for n in range(1, DAY_CALLS + 1):
        for stage in range(3):
            row = _call(login, n, stage)
            begun = time.perf_counter()
            async with conn.transaction():
                await _upsert(conn, [row])
            latencies.append(time.perf_counter() - begun)


def _lost(server: Postgres) -> str:
    """What the store lacks after the day: each call once, ended, numbered uniquely."""
    found = server.admin_sql(
        "select count(*), count(*) filter (where outcome = 'answered' and talk_seconds = 60 "
        "and ended_at is not null and line_state = 'Finished'), "
        "count(distinct counter_number), count(distinct agent) from cc.calls",
        database="cc").split("|")
    calls, ended, numbers, agents = map(int, found)
    wanted = WRITERS * DAY_CALLS
    if (calls, ended, numbers, agents) == (wanted, wanted, wanted, WRITERS):
        return ""
    return (f"LOST: {calls:,} calls of {wanted:,}, {ended:,} ended, {numbers:,} distinct "
            f"card numbers, {agents} agents")
