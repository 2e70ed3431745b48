"""The team store: how fast one daemon's outbox reaches PostgreSQL.

A call log of CALLS finished calls (daemon.store.Store, the bench's synthetic rows) joins
a team store on a throw-away PostgreSQL server (daemon.testing.Postgres, set up with
`cc team`); the daemon's own replicator (daemon/team/replicate.py) sends the whole log,
as at the first connection or after days with the store down, and we time it until the
outbox is empty and the store holds every call.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from daemon import clock as clocks
from daemon.store import Store
from daemon.team.replicate import Replicator, outbox_length
from daemon.testing import Postgres

from .calllog import synthetic_calls
from .common import CC, ENV, note, on_cleanup, standalone, verdict

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
