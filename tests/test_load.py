"""Load: many `cc` processes at once against one daemon, and colleagues' states pushed at
1,000 events a second. Each test prints its figures (pytest -s shows them); none asserts a
timing, only that every answer is right."""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import time

import aiohttp
import pytest

from conftest import CC

pytestmark = pytest.mark.slow

CONCURRENT = 50
BUSY = "+380441110002"
COLLEAGUES = 2_000
FIRST_ID = 7_100_000_000          # 10-digit IDUsers the emulator does not know
RATE = 1_000                      # events a second
SECONDS = 10
STATES = (300, 301, 302, 303, 304, 305)


def run_at_once(agent, *args) -> list[subprocess.CompletedProcess]:
    """Start CONCURRENT `cc` processes together; wait for all of them."""
    began = time.monotonic()
    procs = [subprocess.Popen([CC, *args], env=agent.env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(CONCURRENT)]
    done = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    print(f"\n{CONCURRENT} concurrent `cc {' '.join(args)}`: all done in "
          f"{time.monotonic() - began:.1f} s")
    return done


def test_fifty_concurrent_status_requests_all_get_the_right_answer(agent):
    for done in run_at_once(agent, "status", "--json"):
        assert done.returncode == 0, done.stderr
        status = json.loads(done.stdout)
        assert status["session"] == "logged in" and status["login"] == "ivanova"


def test_fifty_concurrent_log_requests_all_get_the_same_log(agent):
    dialled = agent.cc("dial", BUSY, "--wait", "--json", check=False)
    assert dialled.returncode == 11, dialled.stderr
    call_id = json.loads(dialled.stdout)["call_id"]
    agent.log_row(call_id, outcome="busy")
    expected = agent.json("log")
    for done in run_at_once(agent, "log", "--json"):
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == expected
    assert [row["call_id"] for row in expected] == [call_id]


def directory_csv(path) -> list[int]:
    ids = [FIRST_ID + n * 37 for n in range(COLLEAGUES)]
    lines = ["name,position,department,extension,id_user,phones"]
    lines += [f"Colleague {n:04},Agent,Sales,{2000 + n},{id_user},+38044{n:07}"
              for n, id_user in enumerate(ids)]
    path.write_text("\n".join(lines) + "\n")
    return ids


async def push_states(events_url: str, ids: list[int]) -> dict:
    """OnStateChanged at RATE a second for SECONDS (at most RATE * SECONDS events), the way
    a server pushes them; a colleague's next event leaves only once the last is answered,
    so the daemon sees each colleague's events in the order sent."""
    rng = random.Random(20261125)
    base = events_url.rstrip("/") + "/user/OnStateChanged/"
    total = RATE * SECONDS
    order = [i for _ in range(total // len(ids) + 1) for i in rng.sample(ids, len(ids))]
    last: dict[int, int] = {}
    previous: dict[int, asyncio.Task] = {}
    statuses: list[int] = []
    latencies: list[float] = []
    loop = asyncio.get_running_loop()

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as http:
        async def send(id_user: int, state: int, before: asyncio.Task | None) -> None:
            if before is not None:
                await before
            began = loop.time()
            async with http.get(f"{base}?IDUser={id_user}&IDUserState={state}") as resp:
                await resp.read()
                statuses.append(resp.status)
            latencies.append(loop.time() - began)

        start = loop.time()
        sent = 0
        while sent < total and loop.time() - start < SECONDS:
            due = min(total, int((loop.time() - start) * RATE) + 1)
            for id_user in order[sent:due]:
                state = rng.choice(STATES)
                last[id_user] = state
                previous[id_user] = loop.create_task(
                    send(id_user, state, previous.get(id_user)))
            sent = due
            await asyncio.sleep(0.005)
        sending = loop.time() - start
        await asyncio.wait_for(asyncio.gather(*previous.values()), 60)
        answered = loop.time() - start
    latencies.sort()
    return {"sent": sent, "sending": sending, "answered": answered, "last": last,
            "statuses": statuses,
            "p50_ms": latencies[len(latencies) // 2] * 1000,
            "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000}


def test_colleague_states_at_1000_events_a_second_end_with_each_last_state(agent, tmp_path):
    ids = directory_csv(tmp_path / "directory.csv")
    began = time.monotonic()
    imported = agent.cc("who", "import", tmp_path / "directory.csv").stdout
    assert f"imported {COLLEAGUES} colleagues" in imported
    print(f"\nimported {COLLEAGUES:,} colleagues (and polled their states) in "
          f"{time.monotonic() - began:.1f} s")
    events_url = agent.status()["events_url"]

    pushed = asyncio.run(push_states(events_url, ids))
    print(f"pushed {pushed['sent']:,} OnStateChanged for {len(pushed['last']):,} colleagues in "
          f"{pushed['sending']:.1f} s = {pushed['sent'] / pushed['sending']:,.0f} events/s; "
          f"all answered after {pushed['answered']:.1f} s "
          f"({pushed['sent'] / pushed['answered']:,.0f} events/s); answer time "
          f"p50 {pushed['p50_ms']:.1f} ms, p99 {pushed['p99_ms']:.1f} ms")
    assert pushed["statuses"] == [200] * pushed["sent"]
    assert len(pushed["last"]) == COLLEAGUES

    began = time.monotonic()
    who = agent.json("who")
    print(f"`cc who --json` listed {len(who):,} colleagues in {time.monotonic() - began:.1f} s")
    shown = {c["id_user"]: (c["state"] or {}).get("id") for c in who}
    assert len(shown) == COLLEAGUES
    wrong = {i: (shown[i], state) for i, state in pushed["last"].items() if shown[i] != state}
    assert not wrong, f"{len(wrong)} colleagues show another state than the last event's " \
                      f"(shown, sent): {dict(list(wrong.items())[:5])}"
