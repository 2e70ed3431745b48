"""Retention in the call log store on its own: a purge removes the calls that started
before the cut and their group memberships, keeps the rest and the changes already
queued, and queues no delete for the team store."""

from __future__ import annotations

from daemon.retention import parse_age
from daemon.store import Store


def call(n: int, started_at: str) -> dict:
    return {"id": None, "call_id": str(n), "direction": "in", "number": f"+38044{n:07}",
            "agent": "ivanova", "started_at": started_at, "outcome": "answered"}


def test_a_purge_removes_old_calls_and_queues_nothing_for_the_team_store(tmp_path):
    store = Store(tmp_path / "calls.db")
    db = store.db.conn
    with db:
        db.execute("insert into log_meta (key, value) values ('team', 'on')")
    store.save(call(1, "2020-01-01T10:00:00.000+00:00"))
    store.save(call(2, "2026-11-01T10:00:00.000+00:00"))
    store.group_add("kept", [1, 2], "2026-11-01T10:00:00+00:00")
    queued = db.execute("select count(*) from team_outbox").fetchone()[0]
    assert queued == 2                                   # the two new calls, to be sent
    assert store.purge("2025-11-26T00:00:00.000+00:00") == 1
    assert [r["call_id"] for r in store.find(limit=None)] == ["2"]
    assert store.group_calls("kept") == [2]
    assert db.execute("select count(*) from team_outbox").fetchone()[0] == queued


def test_ages_are_days_or_weeks():
    assert (parse_age("365d"), parse_age("30d"), parse_age("12w")) == (365, 30, 84)


def test_the_daemons_purge_goes_in_chunks_and_serves_the_loop_between_them(tmp_path,
                                                                           monkeypatch):
    import asyncio

    from daemon import clock as clocks
    from daemon import retention
    from daemon.retention import Retention

    monkeypatch.setattr(retention, "CHUNK", 100)
    store = Store(tmp_path / "calls.db")
    with store.db.conn:
        store.db["calls"].insert_all(
            [{**call(n, "2020-01-01T10:00:00.000+00:00"), "id": n, "counter": n,
              "counter_number": f"CALL-{n:06}"} for n in range(1, 1_001)])
    store.save(call(5_000, "2099-01-01T10:00:00.000+00:00"))
    purger = Retention(store, {"log.retention_days": 30}, clocks.WallClock())

    async def purge_while_served() -> tuple[dict, int]:
        served, purging = 0, True

        async def other_work():
            nonlocal served
            while purging:
                served += 1
                await asyncio.sleep(0)
        other = asyncio.create_task(other_work())
        await asyncio.sleep(0)
        begun = served
        done = await purger.purge(30)
        purging = False
        await other
        return done, served - begun
    done, served = asyncio.run(purge_while_served())
    assert done["local"] == 1_000
    assert [r["call_id"] for r in store.find(limit=None)] == ["5000"]
    assert served >= 9             # between each of the ten chunks, the loop ran others
    # The last purge is kept in the call log: a daemon started again still shows it.
    again = Retention(Store(tmp_path / "calls.db"), {"log.retention_days": 0},
                      clocks.WallClock())
    assert again.last["local"] == 1_000 and again.last["days"] == 30
    assert again.view() == {"days": 0, "last": again.last, "next": None}
