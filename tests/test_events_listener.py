"""The eventsURL listener in-process: the documented events reach the daemon with their
parameters; anything else is refused with a 4xx and journalled, and a flood is cut at the
rate bound without filling the journal."""

from __future__ import annotations

import asyncio
import time

import aiohttp

import pytest

from daemon.infinity import values
from daemon.infinity.events import MAX_QUERY, EventListener, Rejections, TokenBucket
from daemon.journal import Journal, as_dict, read
from daemon.wire import Direction


def run(scenario, tmp_path, **listener_args):
    """Start a listener with a real journal, run `scenario(url, http)`, return what it
    returned, the events handed on and the journal's messages."""
    journal = Journal(tmp_path / "journal.xml")
    seen = []

    async def main():
        listener = EventListener("127.0.0.1", 0, seen.append, journal, **listener_args)
        port = await listener.start()
        try:
            async with aiohttp.ClientSession() as http:
                return await scenario(f"http://127.0.0.1:{port}", http)
        finally:
            await listener.stop()

    result = asyncio.run(main())
    journal.close()
    return result, seen, [as_dict(e) for e in read(tmp_path / "journal.xml")]


@pytest.mark.parametrize("path, why", [
    ("/user/OnStateChanged/?IDUser=5001790109", "IDUserState is missing"),
    ("/user/OnStateChanged/?IDUser=1e300&IDUserState=301", "IDUser is not a number"),
    ("/call/OnCallStateChanged/?IDCall=5007182329&IDUser=1&State=Connected",
     "State is not a number"),
    ("/call/OnCallCreated/?IDCall=abc&IDUser=1", "IDCall is not an ID"),
    ("/call/OnCallDeleted/?IDUser=1", "IDCall is not an ID"),
    ("/call/OnCallCreated/?IDCall=1&IDUser=1&Number=" + "9" * 200, "Number is longer"),
])
def test_an_event_without_what_it_needs_is_refused_with_400_naming_the_field(
        tmp_path, path, why):
    async def scenario(url, http):
        async with http.get(url + path) as resp:
            return resp.status, await resp.text()

    (code, text), seen, journal = run(scenario, tmp_path)
    assert code == 400 and why in text and seen == []
    assert journal[-1]["kind"] == "rejected" and why in journal[-1]["why"]


async def status(http, method, url) -> int:
    async with http.request(method, url) as resp:
        await resp.read()
        return resp.status


def test_documented_events_reach_the_daemon_with_their_parameters(tmp_path):
    async def scenario(url, http):
        return [await status(http, "GET", url + path) for path in (
            "/user/OnStateChanged/?IDUser=5001790109&IDUserState=301",
            "/call/OnCallCreated?IDCall=5007182329&Extension=101&IDUser=5001790109"
            "&Number=%2B380441110001&Direction=2",
            "/call/oncallstatechanged/?IDCall=5007182329&State=21",
            "/call/OnCallDeleted/?IDCall=5007182329")]

    codes, seen, journal = run(scenario, tmp_path)
    assert codes == [200] * 4
    assert [type(e) for e in seen] == [values.AgentStateChanged, values.CallCreated,
                                       values.CallStateChanged, values.CallDeleted]
    assert seen[0].id_user == 5001790109 and seen[0].state == 301
    assert seen[1].number == "+380441110001" and seen[1].direction == Direction.OUT
    assert seen[1].call_id == "5007182329" and seen[1].id_user == 5001790109
    assert seen[2].state == 21 and seen[2].id_user is None
    assert seen[0].at <= seen[1].at <= seen[2].at <= seen[3].at
    assert [m["kind"] for m in journal] == ["event"] * 4
    assert journal[0]["params"] == {"IDUser": "5001790109", "IDUserState": "301"}


def test_an_unknown_path_is_refused_with_404_and_journalled(tmp_path):
    async def scenario(url, http):
        return await status(http, "GET", url + "/user/OnSomethingElse/?IDUser=1&Password=x")

    code, seen, journal = run(scenario, tmp_path)
    assert code == 404 and seen == []
    assert len(journal) == 1
    assert journal[0]["kind"] == "rejected" and journal[0]["path"] == "/user/OnSomethingElse/"
    assert journal[0]["why"] == "404 unknown event path"
    assert journal[0]["params"] == {"IDUser": "1", "Password": "***"}


def test_an_oversize_query_is_refused_with_414(tmp_path):
    async def scenario(url, http):
        return await status(http, "GET", url + "/user/OnStateChanged/?IDUser=1&Junk="
                            + "x" * (MAX_QUERY + 1))

    code, seen, journal = run(scenario, tmp_path)
    assert code == 414 and seen == []
    assert [m["why"] for m in journal] == [f"414 query longer than {MAX_QUERY} characters"]


def test_other_methods_than_get_are_refused_with_405(tmp_path):
    async def scenario(url, http):
        event = url + "/user/OnStateChanged/?IDUser=1&IDUserState=300"
        return [await status(http, method, event) for method in ("POST", "PUT", "DELETE")]

    codes, seen, journal = run(scenario, tmp_path)
    assert codes == [405] * 3 and seen == []
    # Three refusals within a second: the first in full, the others summed up in one line.
    assert [m["kind"] for m in journal] == ["rejected", "rejected"]
    assert journal[0]["why"] == "405 method POST (events are GETs)"
    assert journal[1]["count"] == "2" and "2 more refused" in journal[1]["why"]


def test_a_flood_over_the_rate_gets_429s_and_only_a_few_journal_lines(tmp_path):
    sent = 3000

    async def scenario(url, http):
        event = url + "/user/OnStateChanged/?IDUser=5001790109&IDUserState=300"
        limit = asyncio.Semaphore(32)

        async def one():
            async with limit:
                return await status(http, "GET", event)

        began = time.monotonic()
        codes = await asyncio.gather(*(one() for _ in range(sent)))
        return codes, time.monotonic() - began

    (codes, seconds), seen, journal = run(scenario, tmp_path, max_rate=500)
    refused = codes.count(429)
    assert set(codes) == {200, 429} and refused > 0
    assert len(seen) == codes.count(200) == sent - refused
    rejected = [m for m in journal if m["kind"] == "rejected"]
    # One line at once, then at most one a second, with a count: no line per refusal.
    assert 1 <= len(rejected) <= seconds + 2
    assert sum(int(m.get("count", 1)) for m in rejected) == refused
    assert len([m for m in journal if m["kind"] == "event"]) == len(seen)


def test_the_token_bucket_allows_the_rate_and_a_burst_of_one_second():
    now = [0.0]
    bucket = TokenBucket(100, clock=lambda: now[0])
    assert sum(bucket.take() for _ in range(150)) == 100
    now[0] += 0.5
    assert sum(bucket.take() for _ in range(150)) == 50
    now[0] += 10
    assert sum(bucket.take() for _ in range(150)) == 100


def test_refusals_are_journalled_at_most_once_a_second(tmp_path):
    journal = Journal(tmp_path / "journal.xml")
    now = [100.0]

    async def main():
        rejections = Rejections(journal, clock=lambda: now[0])
        for second in range(3):
            for _ in range(1000):
                rejections.note("/flood", {}, "429 over 10 events a second")
            now[0] += 1.0
            rejections.flush()
        rejections.close()

    asyncio.run(main())
    journal.close()
    lines = [as_dict(e) for e in read(tmp_path / "journal.xml")]
    assert [int(m.get("count", 1)) for m in lines] == [1, 999, 1000, 1000]


@pytest.mark.parametrize("value", ["1e300", "inf", "-inf", "nan", "-0,001", "7", "abc"])
def test_a_duration_the_server_cannot_mean_is_refused_at_the_edge(value):
    from daemon.infinity.answers import day_fraction_seconds

    with pytest.raises(ValueError):
        day_fraction_seconds(value)


@pytest.mark.parametrize("value", ["1e300", "inf", "nan", "0", "99999,5"])
def test_a_start_time_outside_this_century_is_refused_at_the_edge(value):
    from daemon.infinity.answers import ole_datetime

    with pytest.raises(ValueError):
        ole_datetime(value)


def test_good_figures_still_read():
    from daemon.infinity.answers import day_fraction_seconds, ole_datetime

    assert day_fraction_seconds("0,0034722") == pytest.approx(300.0, abs=0.01)
    assert day_fraction_seconds("null") == 0.0
    assert ole_datetime("46351,5").year == 2026
