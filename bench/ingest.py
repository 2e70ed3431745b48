"""Figure 3: OnStateChanged events per second the daemon absorbs with its journal on.

The benchmark process plays the Infinity server: it fires GETs at the daemon's eventsURL
for many colleagues (IDUsers) at once, and the clock stops when every one is answered.
Client and daemon share this machine's cores, so the line also gives the daemon's own
CPU time per event: the rate one core would reach if the sender cost nothing.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp

from .common import Agent, Emulator, cpu_seconds, standalone, verdict

EVENTS = 20_000
WARMUP = 500
CONCURRENCY = 32          # connections kept open, as a busy server's event pusher would
COLLEAGUES = 2_000        # distinct IDUsers the events are about
FIRST_ID = 6_000_000_000
TARGET = 5_000


async def fire(events_url: str, count: int, offset: int = 0) -> float:
    """Send `count` events over CONCURRENCY connections; seconds until all are answered."""
    base = events_url.rstrip("/") + "/user/OnStateChanged/"
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def sender(first: int) -> None:
            for n in range(first, count, CONCURRENCY):
                id_user = FIRST_ID + (offset + n) % COLLEAGUES
                url = f"{base}?IDUser={id_user}&IDUserState=300"
                async with session.get(url) as resp:
                    await resp.read()
                    if resp.status != 200:
                        raise RuntimeError(f"the daemon answered {resp.status} to {url}")

        start = time.perf_counter()
        await asyncio.gather(*(sender(i) for i in range(CONCURRENCY)))
        return time.perf_counter() - start


def journal_events(agent: Agent) -> int:
    """OnStateChanged events in the journal, rotated files included."""
    count = 0
    for journal in (agent.home / "log").glob("journal.xml*"):
        with open(journal, encoding="utf-8", errors="replace") as fh:
            count += sum(1 for line in fh if "OnStateChanged" in line)
    return count


def run() -> list[str]:
    emulator = Emulator()
    agent = Agent(emulator, **{"journal.enabled": True}).start()
    events_url = agent.json("status")["events_url"]
    asyncio.run(fire(events_url, WARMUP))
    journaled = journal_events(agent)
    cpu_before = cpu_seconds(agent.pid)
    elapsed = asyncio.run(fire(events_url, EVENTS, WARMUP))
    daemon_cpu = cpu_seconds(agent.pid) - cpu_before
    journaled = journal_events(agent) - journaled
    if journaled < EVENTS:
        raise RuntimeError(f"the journal holds {journaled} of the {EVENTS} events sent")
    rate = EVENTS / elapsed
    return [f"event ingest: {rate:,.0f} events/s ({EVENTS:,} OnStateChanged, "
            f"{COLLEAGUES:,} IDUsers, {CONCURRENCY} connections, journal on: {elapsed:.2f} s; "
            f"daemon CPU {daemon_cpu * 1e6 / EVENTS:.0f} us/event = "
            f"{EVENTS / daemon_cpu:,.0f}/s per core) (target >= {TARGET:,}/s) "
            f"{verdict(rate >= TARGET)}"]


if __name__ == "__main__":
    standalone(run)
