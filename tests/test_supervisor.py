"""No background task dies silently: the supervisor restarts a loop that fails, logs the
error once with its traceback, and the daemon shows the failure in cc status and cc doctor."""

from __future__ import annotations

import asyncio
import logging

from conftest import advance, wait_until

from daemon.clock import ManualClock
from daemon.supervisor import Supervisor

POLL = "/call/getactivecalls/"


def test_a_failing_loop_is_restarted_after_a_growing_pause_and_told_once(caplog):
    async def main():
        clock = ManualClock(start=0.0)
        supervisor, runs = Supervisor(clock.sleep), []

        async def loop():
            runs.append(clock.time())
            if len(runs) <= 3:
                raise ValueError("a bug")
            await clock.sleep(3600)

        supervisor.keep("poller", loop)
        for _ in range(5):
            await asyncio.sleep(0)
        assert runs == [0.0]
        await clock.advance(1)          # the first pause: 1 s
        await clock.advance(2)          # then 2 s
        await clock.advance(4)          # then 4 s: the fourth run lasts
        assert runs == [0.0, 1.0, 3.0, 7.0]
        [failed] = supervisor.failures()
        assert (failed["name"], failed["failures"], failed["running"]) == ("poller", 3, True)
        assert failed["last_error"] == "ValueError: a bug"
        supervisor.stop("poller")
        supervisor.keep("poller", loop)     # stopped and started at once: a new one runs
        await asyncio.sleep(0)
        assert len(runs) == 5
        await supervisor.close()

    with caplog.at_level(logging.ERROR, logger="cc.supervisor"):
        asyncio.run(main())
    told = [r for r in caplog.records if "poller failed" in r.getMessage()]
    assert len(told) == 3 and [bool(r.exc_info) for r in told] == [True, False, False]


def test_a_loop_that_ran_well_for_a_while_is_restarted_at_once_after_its_next_failure():
    async def main():
        clock = ManualClock(start=0.0)
        supervisor, runs = Supervisor(clock.sleep, clock.time), []

        async def loop():
            runs.append(clock.time())
            if len(runs) == 8:          # after seven quick failures, an hour of work
                await clock.sleep(3600)
            if len(runs) <= 8:
                raise ValueError("a bug")
            await clock.sleep(86400)

        supervisor.keep("poller", loop)
        await asyncio.sleep(0)
        await clock.advance(1 + 2 + 4 + 8 + 16 + 32 + 60)
        assert runs == [0.0, 1.0, 3.0, 7.0, 15.0, 31.0, 63.0, 123.0]
        await clock.advance(3600 + 1)   # a failure after the hour: the first pause again
        assert runs[-1] == 123.0 + 3600 + 1
        assert supervisor.failures()[0]["failures"] == 8
        await supervisor.close()

    asyncio.run(main())


def test_a_loop_hit_by_a_cancellation_meant_for_something_else_is_restarted():
    async def main():
        clock = ManualClock(start=0.0)
        supervisor, runs = Supervisor(clock.sleep), []

        async def loop():
            runs.append(clock.time())
            if len(runs) == 1:      # awaits work that someone else cancelled
                work = asyncio.get_running_loop().create_future()
                work.cancel()
                await work
            await clock.sleep(3600)

        supervisor.keep("poller", loop)
        for _ in range(5):
            await asyncio.sleep(0)
        [failed] = supervisor.failures()
        assert (failed["failures"], failed["last_error"]) == (1, "CancelledError: ")
        await clock.advance(1)
        assert runs == [0.0, 1.0] and supervisor.names() == ["poller"]
        await supervisor.close()            # while its own cancellation still ends it
        assert supervisor.names() == []

    asyncio.run(main())


def test_a_loop_that_ends_by_design_is_not_restarted():
    async def main():
        supervisor, runs = Supervisor(), []

        async def loop():
            runs.append(1)

        supervisor.keep("reconnect", loop)
        for _ in range(5):
            await asyncio.sleep(0)
        assert runs == [1] and supervisor.failures() == [] and supervisor.names() == []

    asyncio.run(main())


def test_the_daemon_restarts_a_failed_poller_and_says_so(manual):
    emulator, agent = manual
    agent.request("fail_task", name="poller")
    status = agent.status()
    [failed] = status["task_failures"]
    assert failed["name"] == "poller" and "made to fail" in failed["last_error"]
    shown = agent.cc("status").stdout
    assert "warning the daemon's poller task failed 1 time(s)" in shown, shown
    doctor = agent.cc("doctor", check=False)
    assert doctor.returncode == 1 and "FAIL  tasks" in doctor.stdout, doctor.stdout
    polls = agent.answers_from_server(POLL)
    advance(1, emulator, agent)       # the pause after a first failure: 1 s
    advance(1, emulator, agent)       # and a poll of the restarted poller
    wait_until(lambda: agent.answers_from_server(POLL) > polls, 10, "the poller to poll again")
    assert agent.status()["task_failures"][0]["running"] is True
