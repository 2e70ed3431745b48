"""The fault proxy itself, over real sockets in front of a real emulator: with no rule it
hands back the emulator's answers as they came; each kind answers as daemon/faultproxy.py
says; a bad admin request is one line, never a traceback."""

from __future__ import annotations

import json
import socket

import pytest

from daemon.infinity.client import MAX_ANSWER

IVANOVA = 5001790109
LOGON = "/user/logon/?Login=ivanova&Password=s3cret&IDRole=1"


def raw(port: int, target: str) -> bytes:
    """Everything a server sends back for one GET of `target`, until it hangs up."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
                     .encode())
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def answer(port: int, target: str) -> tuple[int, dict, bytes]:
    """Status, headers (lower-case names) and body of a GET."""
    head, _, body = raw(port, target).partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
    return int(status_line.split(" ")[1]), headers, body


def test_without_a_rule_the_emulators_answers_pass_unchanged_and_are_counted(proxy):
    emulator = proxy.emulator
    for target in (LOGON, f"/user/getstate/?IDUser={IVANOVA}", "/user/getstate/?IDUser=1",
                   "/no/such/method/", "/_emulator/users/", "/_emulator/clock/"):
        direct, proxied = answer(emulator.port, target), answer(proxy.port, target)
        assert proxied[0] == direct[0] and proxied[2] == direct[2], target
        assert proxied[1]["content-type"] == direct[1]["content-type"], target
    assert answer(proxy.port, "/user/getstate/?IDUser=1")[0] == 406
    hits = proxy.hits()
    assert hits["Hits"] == {"/user/logon/": 1, "/user/getstate/": 3, "/no/such/method/": 1,
                            "/_emulator/users/": 1, "/_emulator/clock/": 1}
    assert hits["Faults"] == {} and hits["Rules"] == {}


def test_status_body_and_a_count_that_runs_out(proxy):
    proxy.rule("/user/getstate/", "status", Status=503, Body="down for lunch", Count=2)
    proxy.rule("/user/logon/", "body", Body='{"result": {"LogonResult": 7}}')
    for _ in range(2):
        assert answer(proxy.port, f"/user/getstate/?IDUser={IVANOVA}")[::2] == \
            (503, b"down for lunch")
    status, _, body = answer(proxy.port, f"/user/getstate/?IDUser={IVANOVA}")
    assert status == 200 and b"IDUserState" in body          # the emulator's own answer
    for _ in range(3):                                          # no Count: every request
        assert answer(proxy.port, LOGON)[::2] == (200, b'{"result": {"LogonResult": 7}}')
    hits = proxy.hits()
    assert hits["Hits"] == {"/user/getstate/": 3, "/user/logon/": 3}
    assert hits["Faults"] == {"/user/getstate/": 2, "/user/logon/": 3}
    assert hits["Rules"] == {"/user/logon/": {"Kind": "body", "Remaining": None}}
    proxy.clear()
    assert answer(proxy.port, LOGON)[2] != b'{"result": {"LogonResult": 7}}'
    assert proxy.hits()["Rules"] == {}


def test_a_redirect_loop_sends_the_request_back_to_itself_every_time(proxy):
    proxy.rule("/user/logon/", "redirect-loop")
    for _ in range(3):
        status, headers, body = answer(proxy.port, LOGON)
        assert (status, headers["location"], body) == (302, LOGON, b"")


def test_a_broken_status_line_echoes_the_request_line(proxy):
    proxy.rule("/user/logon/", "broken-status-line")
    assert raw(proxy.port, LOGON) == f"HTTP/1.1 2x0 GET {LOGON} HTTP/1.1\r\n\r\n".encode()


def test_oversize_is_a_json_answer_one_byte_over_the_daemons_cap(proxy):
    proxy.rule("/user/logon/", "oversize")
    status, headers, body = answer(proxy.port, LOGON)
    assert status == 200 and int(headers["content-length"]) == len(body) == MAX_ANSWER + 1
    assert json.loads(body)["result"]["IDUser"] == 1


def test_drop_closes_the_connection_with_no_answer_and_so_does_a_lost_upstream(proxy):
    proxy.rule("/user/logon/", "drop", Count=1)
    assert raw(proxy.port, LOGON) == b""
    assert answer(proxy.port, LOGON)[0] == 200
    proxy.emulator.admin("network", Down="forever")      # the emulator hangs up on methods
    assert raw(proxy.port, LOGON) == b""
    proxy.emulator.admin("network", Down=0)
    assert answer(proxy.port, LOGON)[0] == 200


def test_patch_sets_a_field_in_the_result_and_in_every_data_row(proxy):
    emulator = proxy.emulator
    emulator.api("/user/logon/", Login="ivanova", Password="s3cret", IDRole=1)
    for number in ("+380441110003", "+380441110003"):            # never answers: two rows
        emulator.api("/call/make/", IDUser=IVANOVA, Number=number)
    active = f"/call/getactivecalls/?IDUser={IVANOVA}"
    truth = json.loads(answer(emulator.port, active)[2])["result"]
    proxy.rule("/call/getactivecalls/", "patch", Field="State", Value="nan")
    proxy.rule("/user/getstate/", "patch", Field="IDUserState", Value="1e300")
    patched = json.loads(answer(proxy.port, active)[2])["result"]
    assert len(truth["Data"]) == 2
    assert patched["Data"] == [{**row, "State": "nan"} for row in truth["Data"]]
    state = json.loads(answer(proxy.port, f"/user/getstate/?IDUser={IVANOVA}")[2])
    assert state == {"result": {"IDUserState": "1e300"}}
    # A field the answer lacks is not added.
    proxy.rule("/user/getstate/", "patch", Field="DurationTalk", Value="inf")
    assert "DurationTalk" not in answer(proxy.port, f"/user/getstate/?IDUser={IVANOVA}")[2].decode()


def test_a_rule_for_every_method_spares_those_with_their_own_and_the_emulators_admin(proxy):
    proxy.rule("*", "drop")
    proxy.rule("/user/logon/", "foreign")
    assert raw(proxy.port, f"/user/getstate/?IDUser={IVANOVA}") == b""
    assert answer(proxy.port, "/_emulator/users/")[0] == 200
    status, _, body = answer(proxy.port, LOGON)
    assert status == 200 and b"\r\n\t" in body and b'"XSiteNote": "unknown field"' in body
    assert json.loads(body.decode().replace("\r\n", ""))["result"]["IDUser"] == IVANOVA
    assert proxy.hits()["Faults"] == {"/user/getstate/": 1, "/user/logon/": 1}


@pytest.mark.parametrize("target, said", [
    ("/_proxy/rule/?Path=/user/logon/&Kind=explode", "Kind must be one of status, body"),
    ("/_proxy/rule/?Kind=drop", "Path must be a method's path such as /user/logon/"),
    ("/_proxy/rule/?Path=/_proxy/hits/&Kind=drop", "not '/_proxy/hits/'"),
    ("/_proxy/rule/?Path=/x/&Kind=drop&Count=0", "Count must be a whole number from 1"),
    ("/_proxy/rule/?Path=/x/&Kind=drop&Count=many", "Count must be a whole number from 1"),
    ("/_proxy/rule/?Path=/x/&Kind=status", "Kind=status needs Status"),
    ("/_proxy/rule/?Path=/x/&Kind=status&Status=2x0", "Kind=status needs Status"),
    ("/_proxy/rule/?Path=/x/&Kind=patch&Value=1", "Kind=patch needs Field"),
    ("/_proxy/rule/?Path=/x/&Kind=drop&Status=500", "Kind=drop takes no Status"),
    ("/_proxy/nothing/", "unknown admin path /_proxy/nothing/"),
    ("/_proxy/events/?To=ftp://x", "To must be the daemon's events URL"),
])
def test_a_bad_admin_request_is_refused_in_one_line(proxy, target, said):
    status, headers, body = answer(proxy.port, target)
    assert status == 400 and headers["content-type"] == "text/plain"
    assert said in body.decode() and body.decode().count("\n") == 1
    assert proxy.hits()["Rules"] == {}
    assert "Traceback" not in (proxy.workdir / "faultproxy.log").read_text()


def test_what_is_not_a_request_is_hung_up_on_and_the_proxy_goes_on(proxy):
    for garbage in (b"\r\n\r\n", b"NONSENSE\r\n\r\n", b"GET / HTTP/1.1\r\nno colon\r\n\r\n",
                    b"GET / HTTP/1.1\r\nContent-Length: lots\r\n\r\n"):
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as sock:
            sock.sendall(garbage)
            assert sock.recv(100) == b""
    assert answer(proxy.port, LOGON)[0] == 200
    assert "Traceback" not in (proxy.workdir / "faultproxy.log").read_text()
