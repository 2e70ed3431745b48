"""Replaying a journal, in process: what each request gets (daemon/emulator/replay.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from daemon.emulator.replay import Replay, ReplayError
from daemon.journal import Journal, read

IVANOVA = "5001790109"
CALL = "1795697442146"
T0 = datetime(2026, 11, 25, 9, 41, tzinfo=timezone.utc)


class Site:
    """A journal as a site's daemon writes it, line by line, `at` seconds from T0."""

    def __init__(self):
        self.lines: list[str] = []

    def _line(self, at: float, attrs: str, inner: str = "") -> None:
        stamp = (T0 + timedelta(seconds=at)).isoformat(timespec="milliseconds")
        seq = len(self.lines) + 1
        self.lines.append(f'<message seq="{seq}" at="{stamp.replace("+00:00", "Z")}" '
                          f'{attrs}>{inner}</message>')

    @staticmethod
    def _params(params: dict) -> str:
        return "".join(f'<param name="{k}">{v}</param>' for k, v in params.items())

    def request(self, at: float, path: str, **params) -> "Site":
        self._line(at, f'dir="sent" kind="request" path="{path}"', self._params(params))
        return self

    def answer(self, at: float, path: str, body: str, status: int = 200) -> "Site":
        self._line(at, f'dir="received" kind="response" path="{path}" status="{status}" '
                       f'ms="1"', body)
        return self

    def failure(self, at: float, path: str) -> "Site":
        self._line(at, f'dir="received" kind="failure" path="{path}" ms="1" '
                       'error="ServerDisconnectedError"')
        return self

    def event(self, at: float, path: str, **params) -> "Site":
        self._line(at, f'dir="received" kind="event" path="{path}"', self._params(params))
        return self

    def write(self, path: Path) -> Path:
        path.write_text("\n".join(self.lines) + "\n")
        return path


def logon(site: Site, at: float = 0.0) -> Site:
    return site.request(at, "/user/logon/", Login="ivanova", Password="***", IDRole="0",
                        HostHame="desk-7").answer(
        at + 0.01, "/user/logon/", f"<result><IDUser>{IVANOVA}</IDUser><Extension>101"
                                   "</Extension><LogonResult>1</LogonResult></result>")


def getstate(site: Site, at: float, state: int) -> Site:
    return site.request(at, "/user/getstate/", IDUser=IVANOVA).answer(
        at + 0.01, "/user/getstate/", f"<result><IDUserState>{state}</IDUserState></result>")


def dial(site: Site, at: float, number: str = "+380441110001") -> Site:
    return site.request(at, "/call/make/", IDUser=IVANOVA, Number=number,
                        Mode="offhook").answer(
        at + 0.01, "/call/make/", f"<result><IDCall>{CALL}</IDCall></result>")


def site_journal(tmp_path: Path) -> Path:
    """Log on, a poll, a dial answered 8 s later, a hang-up."""
    site = logon(Site())
    getstate(site, 0.1, 300)
    site.request(0.2, "/call/getactivecalls/", IDUser=IVANOVA).answer(
        0.21, "/call/getactivecalls/", "<result><Data /></result>")
    dial(site, 1.0)
    site.event(1.02, "/call/OnCallCreated/", IDCall=CALL, Extension="101", IDUser=IVANOVA,
               Number="+380441110001", Direction="2")
    site.event(1.03, "/call/OnCallStateChanged/", IDCall=CALL, Extension="101",
               IDUser=IVANOVA, OldState="0", State="13")
    site.event(9.0, "/call/OnCallStateChanged/", IDCall=CALL, Extension="101",
               IDUser=IVANOVA, OldState="13", State="21")
    site.request(12.0, "/call/drop/", IDUser=IVANOVA, IDCall=CALL).answer(
        12.01, "/call/drop/", "<result />")
    site.event(12.02, "/call/OnCallStateChanged/", IDCall=CALL, Extension="101",
               IDUser=IVANOVA, OldState="21", State="99", Reason="Normal")
    return site.write(tmp_path / "site.xml")


LOGON = {"Login": "petrenko", "Password": "s3cret", "IDRole": "0", "HostHame": "laptop"}


def test_another_agents_login_password_and_machine_still_match_the_log_on(tmp_path):
    replay = Replay(site_journal(tmp_path))
    done = replay.answer("/user/logon", LOGON)     # no trailing slash: the same method
    assert done.status == 200 and b'"IDUser": "5001790109"' in done.body
    assert replay.answer("/user/getstate/", {"IDUser": IVANOVA}).body == \
        b'{"result": {"IDUserState": "300"}}'
    assert replay.answer("/call/getactivecalls/", {"IDUser": IVANOVA}).body == \
        b'{"result": {"Data": []}}'


def test_a_log_on_with_another_role_is_refused_naming_the_recorded_one(tmp_path):
    replay = Replay(site_journal(tmp_path))
    done = replay.answer("/user/logon/", {**LOGON, "IDRole": "2"})
    assert done.status == 406 and replay.refused == 1
    assert done.refusal == (
        "not in the journal: /user/logon/?Login=petrenko&Password=***&IDRole=2&"
        "HostHame=laptop; the change the journal expects next: /user/logon/?Login=ivanova&"
        "Password=***&IDRole=0&HostHame=desk-7 (recorded at 2026-11-25T09:41:00.000Z, "
        "seq 1): IDRole differs")
    assert "s3cret" not in done.refusal


def test_a_dial_of_another_number_is_refused_and_the_journal_still_expects_it(tmp_path):
    replay = Replay(site_journal(tmp_path))
    replay.answer("/user/logon/", LOGON)
    done = replay.answer("/call/make/", {"IDUser": IVANOVA, "Number": "+380441119999",
                                         "Mode": "offhook"})
    assert done.status == 406
    assert "Number=+380441119999" in done.refusal
    assert done.refusal.endswith("Mode=offhook (recorded at 2026-11-25T09:41:01.000Z, "
                                 "seq 7): Number differs")
    assert replay.answer("/call/make/", {"IDUser": IVANOVA, "Number": "+380441110001",
                                         "Mode": "offhook"}).status == 200


def test_a_hang_up_out_of_turn_is_refused_naming_the_change_expected(tmp_path):
    replay = Replay(site_journal(tmp_path))
    replay.answer("/user/logon/", LOGON)
    done = replay.answer("/call/drop/", {"IDUser": IVANOVA, "IDCall": CALL})
    assert done.status == 406
    assert "; the change the journal expects next: /call/make/?IDUser=5001790109&" \
        "Number=+380441110001" in done.refusal


def test_an_id_sent_in_place_of_a_recorded_one_stands_for_it_both_ways(tmp_path):
    site = logon(Site())
    dial(site, 1.0)
    for at, path in ((2.0, "/call/hold/"), (3.0, "/call/unhold/"), (4.0, "/call/drop/")):
        site.request(at, path, IDUser=IVANOVA, IDCall=CALL).answer(at + 0.01, path,
                                                                   "<result />")
    replay = Replay(site.write(tmp_path / "site.xml"))
    replay.answer("/user/logon/", LOGON)
    replay.answer("/call/make/", {"IDUser": IVANOVA, "Number": "+380441110001",
                                  "Mode": "offhook"})
    assert replay.answer("/call/hold/", {"IDUser": IVANOVA, "IDCall": "4242424242"}).status \
        == 200
    assert replay.answer("/call/unhold/", {"IDUser": IVANOVA, "IDCall": "4242424242"}) \
        .status == 200
    refused = replay.answer("/call/drop/", {"IDUser": IVANOVA, "IDCall": "5151515151"})
    assert refused.status == 406 and "IDCall differs" in refused.refusal


def test_reads_show_the_server_as_it_was_between_two_changes(tmp_path):
    site = logon(Site())
    getstate(site, 0.1, 300)
    dial(site, 1.0)
    getstate(site, 1.5, 304)
    getstate(site, 2.0, 304)
    replay = Replay(site.write(tmp_path / "site.xml"))
    replay.answer("/user/logon/", LOGON)

    def state() -> bytes:
        return replay.answer("/user/getstate/", {"IDUser": IVANOVA}).body
    assert [state(), state(), state()] == [b'{"result": {"IDUserState": "300"}}'] * 3
    replay.answer("/call/make/", {"IDUser": IVANOVA, "Number": "+380441110001",
                                  "Mode": "offhook"})
    assert state() == b'{"result": {"IDUserState": "304"}}'
    refused = replay.answer("/user/getstate/", {"IDUser": "1"})
    assert refused.refusal == (
        "not in the journal: /user/getstate/?IDUser=1; nearest recorded: "
        "/user/getstate/?IDUser=5001790109 (recorded at 2026-11-25T09:41:01.500Z, seq 7): "
        "IDUser differs")
    assert replay.answer("/call/senddigits/", {"IDCall": CALL, "Digits": "1"}).refusal \
        == ("not in the journal: /call/senddigits/?IDCall=1795697442146&Digits=1; every "
            "change the journal holds has been replayed")


def test_a_recorded_drop_closes_the_connection_and_the_clients_second_try_too(tmp_path):
    site = logon(Site())
    site.request(0.5, "/user/getstate/", IDUser=IVANOVA).failure(0.51, "/user/getstate/")
    for at in (0.6, 0.8):
        site.request(at, "/user/logon/", Login="ivanova", Password="***", IDRole="0",
                     HostHame="desk-7").failure(at + 0.01, "/user/logon/")
    logon(site, 1.5)
    getstate(site, 1.6, 300)
    replay = Replay(site.write(tmp_path / "site.xml"))
    replay.answer("/user/logon/", LOGON)
    assert replay.answer("/user/getstate/", {"IDUser": IVANOVA}).drop
    assert replay.answer("/user/getstate/", {"IDUser": IVANOVA}).drop   # aiohttp's resend
    assert replay.answer("/user/logon/", LOGON).drop
    # A daemon that tries again fewer times passes over the other recorded drop.
    assert replay.answer("/user/logon/", LOGON).status == 200
    assert replay.answer("/user/getstate/", {"IDUser": IVANOVA}).status == 200


def test_events_wait_for_the_request_before_them_then_keep_their_recorded_gaps(tmp_path):
    replay = Replay(site_journal(tmp_path))
    assert replay.released(replay.answer("/user/logon/", LOGON).recorded) == []
    made = replay.answer("/call/make/", {"IDUser": IVANOVA, "Number": "+380441110001",
                                         "Mode": "offhook"})
    waits = [(round(wait, 3), event.params["State"] if "State" in event.params else "new")
             for wait, event in replay.released(made.recorded)]
    assert waits == [(0.02, "new"), (0.03, "13"), (8.0, "21")]
    dropped = replay.answer("/call/drop/", {"IDUser": IVANOVA, "IDCall": CALL})
    assert [(round(w, 3), e.params["State"]) for w, e in replay.released(dropped.recorded)] \
        == [(0.02, "99")]


def test_answers_come_back_as_the_server_sent_them(tmp_path):
    site = logon(Site())
    raw = "{&#13;&#10;\t\"result\": {\"Data\": [{\"AWavFile\": \"C:\\R\\1.wav\"}]}&#13;&#10;}"
    site.request(0.1, "/call/getactivecalls/", IDUser=IVANOVA).answer(
        0.2, "/call/getactivecalls/", f"<raw>{raw}</raw>")
    site.request(0.3, "/stat/getrecordedfile/", IDConnection="77").answer(
        0.4, "/stat/getrecordedfile/", "<raw>&lt;1234 bytes of audio&gt;</raw>")
    site.request(0.5, "/stat/connectionsbycall/", IDCall=CALL, AllInfo="1").answer(
        0.6, "/stat/connectionsbycall/", "<result><Data><item><ID>1</ID><field name="
        '"Odd key">x</field></item></Data></result>')
    site.request(0.7, "/user/getstate/", IDUser="42").answer(
        0.8, "/user/getstate/", "<result><ErrorMessage>User not found</ErrorMessage>"
        "</result>", status=406)
    replay = Replay(site.write(tmp_path / "site.xml"))
    replay.answer("/user/logon/", LOGON)
    active = replay.answer("/call/getactivecalls/", {"IDUser": IVANOVA})
    assert active.body == '{\r\n\t"result": {"Data": [{"AWavFile": "C:\\R\\1.wav"}]}\r\n}' \
        .encode()
    audio = replay.answer("/stat/getrecordedfile/", {"IDConnection": "77"})
    assert audio.body == bytes(1234) and audio.content_type == "audio/wav"
    rows = replay.answer("/stat/connectionsbycall/", {"IDCall": CALL, "AllInfo": "1"})
    assert rows.body == b'{"result": {"Data": [{"ID": "1", "Odd key": "x"}]}}'
    unknown = replay.answer("/user/getstate/", {"IDUser": "42"})
    assert (unknown.status, unknown.body) == (
        406, b'{"result": {"ErrorMessage": "User not found"}}')


def test_a_pretty_printed_answer_stays_on_one_journal_line(tmp_path):
    journal = Journal(tmp_path / "journal.xml")
    body = b'{\r\n\t"result": {"AWavFile": "C:\\Records\\1.wav"}\r\n}'
    journal.received("/call/getactivecalls/", 200, 1.0, body)
    journal.event("/user/OnStateChanged/", {"IDUser": "1\n2", "IDUserState": "300"})
    journal.close()
    assert len((tmp_path / "journal.xml").read_bytes().splitlines()) == 2
    first, second = list(read(tmp_path / "journal.xml"))
    assert first.find("raw").text == body.decode()
    assert second.find("param").text == "1\n2"


@pytest.mark.parametrize("text,problem", [
    ("", "no request to the server in it, nothing to replay"),
    ("<message seq=\"1\" kind=\"event\" path=\"/x/\"/>\n", "no request to the server"),
    ("hello\n", "not well-formed XML"),
    ("<message seq=\"1\"", "truncated"),
])
def test_a_journal_that_cannot_be_replayed_says_why_in_one_line(tmp_path, text, problem):
    path = tmp_path / "bad.xml"
    path.write_text(text)
    with pytest.raises(ReplayError) as caught:
        Replay(path)
    assert problem in str(caught.value) and str(path) in str(caught.value)
    assert "\n" not in str(caught.value)


def test_what_a_hostile_journal_holds_stays_harmless(tmp_path):
    site = logon(Site())
    site.request(0.1, "/stat/getrecordedfile/", IDConnection="1").answer(
        0.2, "/stat/getrecordedfile/", "<raw>&lt;999999999999 bytes of audio&gt;</raw>")
    site.request(0.3, "/user/getstate/", IDUser=IVANOVA).answer(
        0.4, "/user/getstate/", "<result />", status=42)
    site.event(0.5, "http://evil.example/x/", IDUser="1")
    site.event(0.6, "/../../etc/", IDUser="1")
    site.event(1e9, "/user/OnStateChanged/", IDUser=IVANOVA, IDUserState="300")
    replay = Replay(site.write(tmp_path / "site.xml"))
    assert replay.skipped == 2 and len(replay.events) == 1
    logged_on = replay.answer("/user/logon/", LOGON)
    assert [wait for wait, _ in replay.released(logged_on.recorded)] == []
    audio = replay.answer("/stat/getrecordedfile/", {"IDConnection": "1"})
    assert len(audio.body) == 64 * 1024 * 1024           # the stand-in is capped
    state = replay.answer("/user/getstate/", {"IDUser": IVANOVA})
    assert state.drop                                    # no status a server sends
    assert [wait for wait, _ in replay.released(state.recorded)] == [86400.0]


@pytest.mark.parametrize("status", ["²", "٢٠٠", "２００"])
def test_a_status_in_other_digits_is_no_status_not_a_crash(tmp_path, status):
    """Red team: `status="²"` passed isdigit() and failed int(): the emulator did not
    start, with an internal error."""
    site = logon(Site())
    site.request(0.3, "/user/getstate/", IDUser=IVANOVA).answer(
        0.4, "/user/getstate/", "<result />", status=status)
    replay = Replay(site.write(tmp_path / "site.xml"))
    replay.answer("/user/logon/", LOGON)
    assert replay.answer("/user/getstate/", {"IDUser": IVANOVA}).drop
