"""The daemon's manual clock (tests' CC_TEST_CLOCK=manual) and the session's reconnect
backoff on it, against a fake server client: in process, no sleeping."""

from __future__ import annotations

import asyncio

from daemon import profile
from daemon.calls import CallTracker
from daemon.clock import ManualClock
from daemon.infinity import Unreachable
from daemon.session import Session
from daemon.wire import SessionStatus

from test_calls_unit import MemoryStore


def test_a_timer_fires_at_its_due_time_and_not_before():
    async def main():
        clock, woke = ManualClock(start=1000.0), []

        async def timer(seconds):
            await clock.sleep(seconds)
            woke.append((seconds, clock.time()))
        tasks = [asyncio.create_task(timer(s)) for s in (5, 2, 9)]
        await asyncio.sleep(0)
        assert await clock.advance(4) == 1 and woke == [(2, 1002.0)]
        assert await clock.advance(10) == 2
        assert woke == [(2, 1002.0), (5, 1005.0), (9, 1009.0)] and clock.time() == 1014.0
        await asyncio.gather(*tasks)
    asyncio.run(main())


def test_a_timer_set_by_a_timer_inside_the_window_fires_in_the_same_advance():
    async def main():
        clock, ticks = ManualClock(start=0.0), []

        async def every_second():
            while True:
                await clock.sleep(1)
                ticks.append(clock.time())
        task = asyncio.create_task(every_second())
        await asyncio.sleep(0)
        assert await clock.advance(3.5) == 3 and ticks == [1.0, 2.0, 3.0]
        task.cancel()
    asyncio.run(main())


def test_within_is_a_timeout_on_the_clock():
    async def main():
        clock = ManualClock()
        never = asyncio.get_running_loop().create_future()
        waiting = asyncio.create_task(clock.within(never, 30))
        await asyncio.sleep(0.01)
        assert not waiting.done()                  # real time passes, the clock does not
        await clock.advance(30)
        assert await waiting is False and never.cancelled()
    asyncio.run(main())


class FlakyServer:
    """Refuses log-on `failures` times, then lets the agent in; an idle line."""

    def __init__(self, failures: int):
        self.failures, self.logons = failures, 0
        self.base = "http://test"

    async def logon(self, *args):
        self.logons += 1
        if self.logons <= self.failures:
            raise Unreachable("connection refused")
        return 5001790109, "101"

    async def get_state(self, id_user):
        return 300

    async def active_calls(self, id_user):
        return []

    async def connections(self, call_id):
        return []

    async def logoff(self, id_user):
        pass


def test_reconnect_backs_off_doubling_to_the_cap_then_logs_in():
    settings = {s.key: s.default for s in profile.SETTINGS}
    settings.update({"server.login": "ivanova", "server.password": "s3cret",
                     "session.backoff_initial": 1.0, "session.backoff_cap": 8.0})

    async def main():
        clock, server = ManualClock(start=0.0), FlakyServer(failures=5)
        tracker = CallTracker(MemoryStore(), "ivanova", "", lambda *a: None)
        session = Session(settings, server, tracker, lambda *a: None, None, clock)
        session.lost("the network went away")
        pauses = []
        while session.status == SessionStatus.RECONNECTING and len(pauses) < 10:
            await asyncio.sleep(0)
            pauses.append(session.next_try_at - clock.time())
            await clock.advance(pauses[-1])
        assert session.status == SessionStatus.LOGGED_IN and server.logons == 6
        caps = [1, 2, 4, 8, 8, 8]
        assert len(pauses) == 6
        assert all(cap / 2 <= pause <= cap for pause, cap in zip(pauses, caps)), pauses
        await session.close()
    asyncio.run(main())
