"""The eventsURL listener in-process: the documented events reach the daemon with their
parameters; anything else is refused with a 4xx and journalled, and a flood is cut at the
rate bound without filling the journal."""

from __future__ import annotations

import asyncio
import re
import time

import aiohttp

import pytest

from daemon.infinity import values
from daemon.infinity import events
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
    # The listener's time stands still but for the one step the test takes: 1,000 events
    # in the first second and 1,000 in the next against 500 a second.
    now = [1000.0]

    async def scenario(url, http):
        event = url + "/user/OnStateChanged/?IDUser=5001790109&IDUserState=300"
        limit = asyncio.Semaphore(32)

        async def one():
            async with limit:
                return await status(http, "GET", event)

        began = time.monotonic()
        first = await asyncio.gather(*(one() for _ in range(1000)))
        now[0] += 1.0
        second = await asyncio.gather(*(one() for _ in range(1000)))
        return first + second, time.monotonic() - began

    (codes, seconds), seen, journal = run(scenario, tmp_path, max_rate=500,
                                          now=lambda: now[0])
    assert codes.count(200) == len(seen) == 1000 and codes.count(429) == 1000
    rejected = [m for m in journal if m["kind"] == "rejected"]
    # One line at once, then the rest summed up by a timer at most once a (real) second,
    # and the last when the listener stops.
    assert 1 <= len(rejected) <= seconds + 2
    assert sum(int(m.get("count", 1)) for m in rejected) == 1000
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


def test_with_a_token_only_paths_that_carry_it_reach_the_daemon(tmp_path):
    event = "/user/OnStateChanged/?IDUser=5001790109&IDUserState=301"

    async def scenario(url, http):
        return [await status(http, "GET", url + path) for path in (
            "/s3cret-1" + event, event, "/s3cret-2" + event, "/S3CRET-1" + event,
            "/s3cret-1/user/OnSomethingElse/")]

    codes, seen, journal = run(scenario, tmp_path, token="s3cret-1")
    assert codes == [200, 403, 403, 403, 404]
    assert len(seen) == 1 and seen[0].state == 301
    assert journal[0]["kind"] == "event" and journal[0]["path"] == "/user/OnStateChanged/"
    assert "s3cret-1" not in str(journal)            # the secret is not journalled
    assert journal[1]["why"] == "403 wrong or missing events.token in the path"


@pytest.mark.parametrize("token", ["a/b", "with space", "ünï", "a?b", "%2F"])
def test_a_token_that_cannot_be_a_path_segment_is_refused(token):
    from daemon.infinity.events import check_token

    with pytest.raises(ValueError, match="events.token may hold only"):
        check_token(token)


def listen(scenario, **listener_args):
    """Run `scenario(listener, port)` against a listener without a journal."""
    seen = []

    async def main():
        listener = EventListener("127.0.0.1", 0, seen.append, None, **listener_args)
        port = await listener.start()
        try:
            return await scenario(listener, port)
        finally:
            await listener.stop()

    return asyncio.run(main()), seen


PARTIAL = b"GET /user/OnStateChanged/?IDUser=1&IDUserState=300 HTTP/1.1\r\nHost: x\r\n"
WHOLE = PARTIAL + b"\r\n"


def test_a_client_that_sends_no_whole_request_in_time_is_dropped(monkeypatch):
    monkeypatch.setattr(events, "REQUEST_SECONDS", 0.3)

    async def scenario(listener, port):
        slow_r, slow_w = await asyncio.open_connection("127.0.0.1", port)
        slow_w.write(PARTIAL)
        idle_r, idle_w = await asyncio.open_connection("127.0.0.1", port)
        began = time.monotonic()
        closed = await asyncio.wait_for(asyncio.gather(slow_r.read(), idle_r.read()), 5)
        return closed, time.monotonic() - began, dict(listener.troubles.total)

    (closed, seconds, troubles), seen = listen(scenario)
    assert closed == [b"", b""] and seconds >= 0.25 and seen == []
    # The idle connection simply ends; the one that began a request is a slow client.
    assert troubles == {"slow client dropped": 1}


def test_a_client_has_the_time_for_each_request_anew_on_one_connection(monkeypatch):
    monkeypatch.setattr(events, "REQUEST_SECONDS", 3.0)

    async def scenario(listener, port):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        answers = []
        for pause in (1.6, 1.6, 0):          # 3.2 s in all: over the limit, not per request
            writer.write(WHOLE)
            answers.append(await reader.readuntil(b"\r\n\r\nOK"))
            await asyncio.sleep(pause)
        return answers

    answers, seen = listen(scenario)
    assert len(answers) == 3 and all(a.startswith(b"HTTP/1.1 200") for a in answers)
    assert len(seen) == 3


def test_connections_past_the_limit_are_closed_at_once_and_the_rest_served():
    async def scenario(listener, port):
        held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(3)]
        await asyncio.sleep(0)
        extra_r, _ = await asyncio.open_connection("127.0.0.1", port)
        refused = await asyncio.wait_for(extra_r.read(), 2)     # the deadline is 5 s
        reader, writer = held[0]
        writer.write(WHOLE)
        answer = await reader.readuntil(b"\r\n\r\nOK")
        return refused, answer, dict(listener.troubles.total)

    (refused, answer, troubles), seen = listen(scenario, max_connections=3)
    assert refused == b"" and answer.startswith(b"HTTP/1.1 200") and len(seen) == 1
    assert troubles == {"connection over the limit closed": 1}


def test_trouble_is_logged_at_once_then_summed_up_once_a_minute(caplog):
    from daemon.clock import ManualClock

    clock = ManualClock()

    async def main():
        troubles = events.Troubles(clock)
        for n in range(1000):
            troubles.note("malformed request", f"bad line\n{n}")
        troubles.note("slow client dropped")
        await asyncio.sleep(0)              # the summary's timer starts
        lines_at_once = len(caplog.records)
        await clock.advance(59)
        lines_before_the_minute = len(caplog.records)
        await clock.advance(1)
        return lines_at_once, lines_before_the_minute

    with caplog.at_level("WARNING", logger="cc.events"):
        at_once, before_minute = asyncio.run(main())
    assert at_once == before_minute == 1
    assert caplog.records[0].getMessage().startswith(
        "event listener: malformed request: bad line?0")
    assert caplog.records[1].getMessage() == (
        "event listener, since the last line: malformed request x999 (last: bad line?999); "
        "slow client dropped x1")
    assert len(caplog.records) == 2


def test_a_table_of_strangers_keeps_the_most_recent_only():
    from daemon.bounded import Recent

    table = Recent(3)
    for key in "abcd":
        table.put(key, key.upper())
    table.put("b", "B2")                    # seen again: now the most recent
    table.put("e", "E")
    assert table.keys() == ["d", "b", "e"] and table.get("b") == "B2" and "a" not in table


def test_the_listener_answers_cc_doctor_with_its_own_id_behind_the_token(tmp_path):
    async def scenario(url, http):
        async def get(path):
            async with http.get(url + path) as resp:
                return resp.status, await resp.text()
        return [await get("/tok/cc-ping"), await get("/cc-ping")]

    answers, seen, journal = run(scenario, tmp_path, token="tok")
    (code, text), (refused, _) = answers
    assert code == 200 and re.fullmatch(r"cc event listener [0-9a-f]{12}\n", text)
    assert refused == 403 and seen == []             # a probe is no event
    assert [e["kind"] for e in journal if e["kind"] == "event"] == []
