"""`cc journal share FILE`: a copy of the journal fit for a bug report. Nothing in it leads
back to a caller, an agent or a call (numbers, logins, names, ids, e-mails, free text
replaced; passwords ***), and the same original always has the same stand-in, so the
session still reads as it happened. A real session (the emulator and two daemons: a
dial, holds, DTMF, an incoming call passed on by a consult transfer) is shared and
searched for every original."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
from pathlib import Path

import pytest

from conftest import CC, wait_until
from daemon import infinity, journal_share
from daemon.journal import Journal, as_dict, read

CALLER = "+380509998877"
DIALLED = "+380441110001"
DIRECTORY = """name,position,department,extension,id_user,phones
Olena Ivanova,Senior agent,Sales,101,5001790109,
Petro Petrenko,Agent,Support,102,5001790110,+380509876543
"""
# The fields whose values lead back to somebody or something (the Infinity names).
SENSITIVE = {"Login", "IDUser", "IDCall", "IDSeance", "IDConnection", "ID", "BIDUser",
             "Number", "ANumber", "BNumber", "AbonentNumber", "Extension", "TransferFrom",
             "TransferFor", "HostHame", "Digits"}
NOTHING = {"", "0", "null", "anonymous", "***"}


def cc_share(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([CC, "journal", "share", *map(str, args)], capture_output=True,
                          text=True, timeout=60, env=env)


def fields(elem, context=None):
    """(field name, value) of every leaf of a message: params and the answer's body."""
    for child in elem:
        if child.tag == "param":
            yield child.get("name"), child.text or ""
        elif child.tag == "raw":
            continue
        else:
            name = child.get("name") if child.tag == "field" else child.tag
            here = context if child.tag == "item" else name
            if len(child):
                yield from fields(child, here)
            else:
                yield here, child.text or ""


def messages(path: Path) -> dict[int, object]:
    """Every message of a journal and its rotated files, by seq."""
    found = {}
    for source in journal_share.sources(path):
        for elem in read(source):
            found[int(elem.get("seq"))] = elem
    return found


def pairs(original: Path, shared: Path):
    """(field, original value, shared value) of every leaf, message by message."""
    before, after = messages(original), messages(shared)
    assert set(after) == set(before)
    for seq, elem in after.items():
        was = before[seq]
        for attr in ("dir", "kind", "path", "status", "at"):
            assert elem.get(attr) == was.get(attr), (seq, attr)
        old, new = list(fields(was)), list(fields(elem))
        assert [name for name, _ in old] == [name for name, _ in new], seq
        for (name, value), (_, shared_value) in zip(old, new):
            yield name, value, shared_value


def shape(value: str) -> str:
    return re.sub(r"[0-9]", "9", value)


# -- a real session

def test_a_shared_real_session_holds_no_original_and_maps_each_one_to_one_stand_in(
        emulator_factory, agent_factory, tmp_path):
    # Answers as some real servers write them: pretty-printed, Windows paths unescaped.
    emulator = emulator_factory(manual_clock=True, raw=True)
    ivanova = agent_factory(emulator, manual_clock=True).start()
    petrenko = agent_factory(emulator, login="petrenko", manual_clock=True).start()
    ivanova.wait_logged_in()
    petrenko.wait_logged_in()
    team = tmp_path / "team.csv"
    team.write_text(DIRECTORY)
    ivanova.cc("who", "import", team)

    # Out: dialled, answered, held twice, DTMF, hung up.
    ivanova.dial_answered(DIALLED, after=2)
    for _ in range(2):
        ivanova.cc("hold")
        ivanova.wait_call_state("On hold")
        ivanova.cc("unhold")
        ivanova.wait_call_state("Connected")
    ivanova.cc("dtmf", "4321#")
    ivanova.cc("hangup")
    wait_until(lambda: not ivanova.status()["calls"], what="the dialled call to end")
    # In: a caller answered, then passed to Petrenko by a consult transfer.
    emulator.admin("call-in", From=CALLER, To="101")
    ivanova.wait_call_state("Ringing")
    ivanova.cc("answer")
    ivanova.cc("transfer", "Petro")
    petrenko.wait_call_state("Ringing")
    petrenko.cc("answer")
    wait_until(lambda: any(c["state_name"] == "Connected" for c in ivanova.json("calls")),
               10, "the colleague to answer the consult")
    ivanova.cc("transfer", "complete")
    joined = wait_until(lambda: [c for c in petrenko.json("calls") if c["number"] == CALLER],
                        10, "the caller to reach Petrenko")[0]
    petrenko.cc("hangup")
    petrenko.log_row(joined["call_id"])
    ivanova.cc("break", "--other", "after the transfer")

    journal = ivanova.home / "log" / "journal.xml"
    wait_until(lambda: "/call/finishtransfer/" in journal.read_text(), 10, "the journal")
    ivanova.stop(keep_home=True)       # a journal that no longer grows: compared line by line
    original_text = journal.read_text()
    assert CALLER in original_text and "ivanova" in original_text
    assert "<raw>" in original_text and "_a.wav" in original_text

    shared = tmp_path / "shared.xml"
    report = json.loads(ivanova.cc("journal", "share", shared, "--json").stdout)
    assert stat.S_IMODE(shared.stat().st_mode) == 0o600
    text = shared.read_text()
    assert report["file"] == str(shared) and report["dropped"] == 0
    assert report["messages"] == len(text.splitlines()) > 50
    assert report["replaced"]["number"] and report["replaced"]["id"]
    assert report["replaced"]["login"] >= 1 and report["replaced"]["digits"] == 1
    assert report["replaced"]["password"] == 0         # the daemon wrote *** already

    # Every original that leads somewhere, gathered from the journal by field.
    originals = {value for elem in messages(journal).values()
                 for name, value in fields(elem) if name in SENSITIVE} - NOTHING
    numbers = {v for v in originals if v.startswith("+")}
    assert {CALLER, DIALLED} <= numbers and {"101", "102", "ivanova", "4321#"} <= originals
    for value in originals | {"s3cret", "petrenko", "Olena", "Petro"}:
        if len(value) >= 4:
            assert value.lower() not in text.lower(), value
    for number in numbers:
        assert number[-9:] not in text, number       # not even the subscriber's part
    # The short ones (extensions) by field: no shared value is an original.
    mapping: dict[str, set[str]] = {}
    for name, value, shared_value in pairs(journal, shared):
        if name in SENSITIVE and value not in NOTHING:
            assert shared_value not in originals, (name, value, shared_value)
            mapping.setdefault(value, set()).add(shared_value)
            if name not in ("Login", "HostHame"):
                assert shape(shared_value) == shape(value), (value, shared_value)
        elif name in ("State", "OldState", "IDUserState", "Direction", "Reason"):
            assert shared_value == value
    # One stand-in per original, one original per stand-in, through the whole file.
    assert all(len(standins) == 1 for standins in mapping.values()), \
        {k: v for k, v in mapping.items() if len(v) > 1}
    inverse = [next(iter(v)) for v in mapping.values()]
    assert len(inverse) == len(set(inverse))
    # A number keeps its + and country code; the caller's calls still match each other.
    assert next(iter(mapping[CALLER])).startswith("+38")
    # The logon's password was *** already, and stays.
    logon = [m for m in messages(shared).values() if m.get("path") == "/user/logon/"
             and m.get("kind") == "request"][0]
    assert dict(fields(logon))["Password"] == "***"
    assert dict(fields(logon))["Login"] == "login1"

    # A second share: new stand-ins (random per share, never kept).
    again = tmp_path / "again.xml"
    ivanova.cc("journal", "share", again)
    second = {v: s for name, v, s in pairs(journal, again) if name == "IDUser"}
    first = {v: s for name, v, s in pairs(journal, shared) if name == "IDUser"}
    assert second and all(second[v] != first[v] for v in second)


# -- the anonymiser on crafted journals

def test_every_infinity_field_has_a_kind():
    assert [f for f in infinity.FIELDS if journal_share.kind_of(f) == "unknown"] == []


def test_unknown_fields_are_judged_by_their_shape(tmp_path):
    source = tmp_path / "journal.xml"
    j = Journal(source)
    body = {"result": {
        "CallerPhone": "8 (999) 123-45-67", "Whatever": "+7 999 1234567",
        "Contact": {"Email": "petr@mail.example", "FullName": "Иван Петров"},
        "Memo": "перезвонить завтра", "Blob": "x 79991234567 y",
        "ExternalRef": "AB12CD34EF", "SessionGuid": "123e4567-e89b-12d3-a456-426614174000",
        "api_token": "tok-123", "Secret": "sesame", "+79990001122": "a number as a key",
        "Quantity": "3", "Share": "0,25", "Ready": "true", "When": "2026-11-25T10:00:00Z",
        "Ids": ["5007182329", "5007182330"], "Status": "Иван Петров", "Kind": "vip_client",
        "Reason": "Normal clearing",
    }}
    j.received("/data/getdata/", 200, 3.0, json.dumps(body, ensure_ascii=False).encode())
    j.event("/call/OnCallCreated/", {"IDCall": "5007182329", "Number": "+79991234567",
                                     "CallerName": "Иван Петров", "Note": "VIP"})
    j.close()
    out = tmp_path / "shared.xml"
    report = journal_share.share(source, out)
    text = out.read_text()
    for original in ("123-45-67", "1234567", "petr@", "mail.example", "Иван",
                     "Петров", "перезвонить", "AB12CD34EF", "123e4567", "tok-123",
                     "sesame", "5007182329", "5007182330", "0001122", "VIP"):
        assert original not in text, original
    [answer, event] = [as_dict(m) for m in read(out)]
    result = answer["body"]["result"]
    assert re.fullmatch(r"8 \(\d{3}\) \d{3}-\d{2}-\d{2}", result["CallerPhone"])
    assert re.fullmatch(r"\+7 \d{3} \d{7}", result["Whatever"])
    assert re.fullmatch(r"mail\d+@example\.invalid", result["Contact"]["Email"])
    assert result["Contact"]["FullName"] == event["params"]["CallerName"]   # one stand-in
    assert re.fullmatch(r"name\d+", event["params"]["CallerName"])
    assert re.fullmatch(r"text\d+", result["Blob"])          # free text: replaced whole
    assert re.fullmatch(r"[0-9A-F]{10}", result["ExternalRef"])
    assert re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", result["SessionGuid"])
    assert result["api_token"] == result["Secret"] == "***"
    assert (result["Quantity"], result["Share"], result["Ready"], result["When"]) == (
        "3", "0,25", "true", "2026-11-25T10:00:00Z")
    assert result["Ids"][0] == event["params"]["IDCall"] != "5007182329"
    # A field named for a state keeps a word, not a name; a known one its plain text.
    assert re.fullmatch(r"text\d+", result["Status"]) and result["Kind"] == "vip_client"
    assert result["Reason"] == "Normal clearing"
    assert report.replaced["password"] == 2 and report.replaced["email"] == 1
    assert report.distinct["name"] >= 1 and report.messages == 2


def test_an_unparsable_answer_keeps_its_shape_with_its_values_replaced(tmp_path):
    source = tmp_path / "journal.xml"
    j = Journal(source)
    j.received("/call/getactivecalls/", 200, 3.0, (
        '{\r\n\t"result": {"Data": [{"ID": "5007182329", "ANumber": "+380509998877",\r\n'
        '\t"Name": "Olena Ivanova", "AWavFile": "C:\\Records\\5007182329_a.wav",'
        ' "Login": "ivanova", "State": "21"'.encode()))
    j.sent("/user/logon/", {"Login": "ivanova", "Password": "pw"})
    j.close()
    assert len(source.read_text().splitlines()) == 2      # the answer's CR/LF kept inside
    out = tmp_path / "shared.xml"
    journal_share.share(source, out)
    raw = as_dict(next(read(out)))["body"]["raw"]
    for original in ("5007182329", "0509998877", "Olena", "Ivanova", "ivanova"):
        assert original.lower() not in raw.lower(), original
    assert '"State": "21"' in raw and '"Login": "login1"' in raw and "\r\n\t" in raw
    call_id = re.search(r'"ID": "(\d+)"', raw).group(1)
    assert f"C:\\Records\\{call_id}_a.wav" in raw        # the same call, the same stand-in


def test_passwords_in_clear_from_a_foreign_journal_are_masked_and_counted(tmp_path):
    source = tmp_path / "journal.xml"
    source.write_text(
        '<message seq="1" at="2026-11-25T09:41:07.120Z" dir="sent" kind="request" '
        'path="/user/logon/"><param name="Login">ivanova</param><param name="Password">'
        'hunter2</param><param name="AuthToken">abc</param></message>\n'
        '<message seq="2" at="2026-11-25T09:41:08Z" dir="received" kind="rejected" '
        'path="/old-token-9f8e/call/OnCallCreated/" why="403 wrong or missing events.token '
        'in the path"/>\n')
    out = tmp_path / "shared.xml"
    report = journal_share.share(source, out)
    text = out.read_text()
    assert "hunter2" not in text and "abc" not in text and "old-token" not in text
    assert report.replaced["password"] == 3
    assert 'path="/***/call/OnCallCreated/"' in text


def test_unreadable_lines_are_dropped_counted_and_never_copied(tmp_path):
    good = ('<message seq="{n}" at="2026-11-25T09:41:07Z" dir="sent" kind="request" '
            'path="/call/make/"><param name="Number">+380441110001</param></message>\n')
    source = tmp_path / "journal.xml"
    source.write_bytes(
        good.format(n=1).encode()
        + b"this is not XML, call +380509998877\n"
        + b'<!DOCTYPE m [<!ENTITY a "+380509998877">]><message seq="2">&a;</message>\n'
        + b'<message seq="3"><param name="Number">+380509998877</param>\n'     # cut short
        + b"<message seq=\"4\">" + b"+380509998877 " * 80_000 + b"</message>\n"   # too long
        + b'<html>+380509998877</html>\n'
        + good.format(n=5).encode())
    out = tmp_path / "shared.xml"
    report = journal_share.share(source, out)
    assert report.messages == 2 and report.dropped == 5
    assert "9998877" not in out.read_text()
    assert [m.get("seq") for m in read(out)] == ["1", "5"]
    assert report.problems[0].startswith(f"{source}:2: ")


def test_rotated_files_are_shared_oldest_first_with_one_mapping(tmp_path):
    source = tmp_path / "journal.xml"
    j = Journal(source, max_bytes=4096, backups=3)
    for n in range(150):
        j.sent("/call/make/", {"IDUser": 5001790109, "Number": f"+38044{n % 7:07}"})
    j.close()
    assert (tmp_path / "journal.xml.3").exists()
    kept = [int(m.get("seq")) for p in journal_share.sources(source) for m in read(p)]
    assert kept == sorted(kept) and kept[-1] == 150 and kept[0] > 1
    out = tmp_path / "shared.xml"
    journal_share.share(source, out)
    shared = [as_dict(m) for m in read(out)]
    assert [m["seq"] for m in shared] == kept
    assert len({m["params"]["IDUser"] for m in shared}) == 1
    assert len({m["params"]["Number"] for m in shared}) == 7


# -- the command

def test_the_copy_is_0600_never_overwrites_and_dash_is_stdout(tmp_path):
    source = tmp_path / "journal.xml"
    Journal(source).sent("/call/make/", {"IDUser": "5001790109", "Number": CALLER})
    out = tmp_path / "shared.xml"
    os.umask(0o022)
    done = cc_share(out, "--from", source)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert done.stdout.startswith(f"wrote 1 messages from 1 journal file to {out}; "
                                  "replaced 1 number (1 distinct), 1 id (1 distinct)")
    before = out.read_text()
    done = cc_share(out, "--from", source)
    assert done.returncode == 9 and done.stderr == (
        f"cc: {out} exists: name a new file, or add --force to replace it\n")
    assert out.read_text() == before
    out.chmod(0o644)
    done = cc_share(out, "--from", source, "--force", "--json")
    assert done.returncode == 0 and json.loads(done.stdout)["replaced"]["number"] == 1
    assert stat.S_IMODE(out.stat().st_mode) == 0o600 and out.read_text() != before
    done = cc_share("-", "--from", source, "--json")
    assert done.returncode == 0 and CALLER[-7:] not in done.stdout
    [line] = done.stdout.splitlines()
    assert line.startswith("<message ") and 'name="Number">+38' in line
    assert json.loads(done.stderr)["file"] == "-"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


@pytest.mark.parametrize("dest, words", [
    ("journal.xml", "is the journal itself"), (".", "is a folder"),
    ("nowhere/shared.xml", "no such folder"),
])
def test_a_wrong_destination_is_one_line(tmp_path, dest, words):
    source = tmp_path / "journal.xml"
    Journal(source).sent("/user/getstate/", {"IDUser": "5001790109"})
    done = cc_share(tmp_path / dest, "--from", source, "--force")
    assert done.returncode == 9 and words in done.stderr
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr


def test_cc_journal_and_cc_journal_file_read_as_before(tmp_path):
    source = tmp_path / "journal.xml"
    Journal(source).sent("/user/getstate/", {"IDUser": "5001790109"})
    env = {**os.environ, "CC_HOME": str(tmp_path / "home")}
    for args in ([str(source)], ["show", str(source)], ["--tail", "1", str(source)]):
        done = subprocess.run([CC, "journal", *args], capture_output=True, text=True,
                              env=env, timeout=30)
        assert done.returncode == 0 and "IDUser=5001790109" in done.stdout, args
    done = subprocess.run([CC, "journal"], capture_output=True, text=True, env=env,
                          timeout=30)
    assert done.returncode == 9 and "no such file" in done.stderr
    done = cc_share(tmp_path / "out.xml", env=env)
    assert done.returncode == 9 and "no such file" in done.stderr


def test_a_journal_that_is_not_a_file_is_one_line(tmp_path):
    done = cc_share(tmp_path / "out.xml", "--from", "/dev/zero")
    assert done.returncode == 9 and "is not a journal file" in done.stderr
    assert not (tmp_path / "out.xml").exists()


def test_numbers_masked_by_the_privacy_setting_stay_masked(tmp_path):
    source = tmp_path / "journal.xml"
    j = Journal(source)
    j.mask_numbers = True
    j.sent("/call/make/", {"IDUser": "5001790109", "Number": "+380441110001"})
    j.close()
    out = tmp_path / "shared.xml"
    journal_share.share(source, out)
    params = as_dict(next(read(out)))["params"]
    assert params["Number"] == "+38044•••••01" and params["IDUser"] != "5001790109"


def test_a_message_cut_for_its_size_keeps_nothing_of_its_values(tmp_path):
    source = tmp_path / "journal.xml"
    j = Journal(source)
    rows = [{"ID": str(5007182329 + n), "ANumber": "+380509998877", "Name": "Olena Ivanova",
             "Login": "ivanova"} for n in range(20_000)]
    j.received("/call/getactivecalls/", 200, 3.0, json.dumps({"result": {"Data": rows}})
               .encode())
    j.close()
    assert 'truncated="' in source.read_text()
    out = tmp_path / "shared.xml"
    journal_share.share(source, out)
    raw = as_dict(next(read(out)))["body"]["raw"]
    assert raw.startswith("<message ") and "<ANumber>+380" in raw
    for original in ("5007182329", "509998877", "Olena", "ivanova"):
        assert original.lower() not in raw.lower(), original


def test_known_names_logins_and_short_numbers_leave_no_trace_in_kept_text(tmp_path):
    """Red team: a login or a name is found in kept text also declined (Russian: Ивана
    Петрова), glued to digits (ivanova1) or as a path's segment; an extension's short
    number is found in an error message; a journal's `at` holds only a time."""
    source = tmp_path / "journal.xml"
    j = Journal(source)
    j.sent("/user/logon/", {"Login": "ivanova", "Password": "x"})
    j.event("/call/OnCallCreated/", {"IDCall": "5007182329", "Extension": "4321",
                                     "CallerName": "Иван Петров"})
    j.event("/call/OnX/", {"ErrorMessage": "Звонок от Ивана Петрова на 4321 (ivanova1), "
                                           "в 10:15 2026-11-25"})
    j.close()
    with open(source, "a") as fh:
        fh.write('<message seq="9" at="+7 999 123 45 67" dir="received" kind="event" '
                 'path="/call/ivanova/OnX/"/>\n')
    out = tmp_path / "shared.xml"
    journal_share.share(source, out)
    text = out.read_text()
    for original in ("Иван", "Петров", "ivanova", "999 123"):
        assert original not in text, original
    assert not re.search(r"(?<![0-9])4321(?![0-9])", text)
    [_, created, error, hostile] = [as_dict(m) for m in read(out)]
    extension = created["params"]["Extension"]
    assert f"на {extension} (" in error["params"]["ErrorMessage"]     # one stand-in
    assert "в 10:15 2026-11-25" in error["params"]["ErrorMessage"]    # times kept
    assert hostile["path"].startswith("/call/login") and hostile["path"].endswith("/OnX/")


def test_a_journal_of_many_callers_is_shared_in_a_time_linear_in_its_size(tmp_path):
    """Red team: every distinct name and login is looked for in kept text; one pattern
    of them all made a 2 MB journal of distinct callers take minutes (it grew with the
    square of the journal)."""
    source = tmp_path / "journal.xml"
    j = Journal(source, max_bytes=1 << 30)
    for n in range(4000):
        j.event("/call/OnCallCreated/", {"CallerName": f"Caller{n:05d}x Surname{n}",
                                         "Login": f"agent{n}q",
                                         "ErrorMessage": "busy " * 40 + f"agent{n}q"})
    j.close()
    out = tmp_path / "shared.xml"
    done = cc_share(out, "--from", source)           # minutes before: the timeout fails it
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert "agent3999q" not in text and "Surname3999" not in text


def test_encoded_values_in_kept_text_are_scrubbed_like_plain_ones(tmp_path):
    """Red team: a recording's URL carries the caller percent-encoded, an error message
    a base64 blob of the caller's number and name: decoded, scrubbed, encoded again."""
    import base64
    from urllib.parse import quote

    blob = base64.b64encode('{"number":"+79991234567","name":"Иван Петров"}'.encode())
    source = tmp_path / "journal.xml"
    j = Journal(source)
    j.event("/call/OnCallCreated/", {"IDCall": "5007182329", "CallerName": "Иван Петров"})
    j.event("/call/OnCallEnded/", {
        "AWavFile": "http://rec.example/r.wav?caller=%2B7%20999%20123-45-67&name="
                    + quote("Иван Петров"),
        "ErrorMessage": f"bad payload {blob.decode()} from server"})
    j.close()
    out = tmp_path / "shared.xml"
    journal_share.share(source, out)
    [created, ended] = [as_dict(m) for m in read(out)]
    url, error = ended["params"]["AWavFile"], ended["params"]["ErrorMessage"]
    assert url.startswith("http://rec.example/r.wav?caller=%2B7%20")
    assert "999%20123-45-67" not in url
    assert quote("Иван") not in url and quote("Петров") not in url
    assert "Иван" not in created["params"]["CallerName"]
    shared_blob = error.split()[2]
    decoded = base64.b64decode(shared_blob).decode()
    assert "9991234567" not in decoded and "Иван" not in decoded and "Петров" not in decoded
    assert decoded.startswith('{"number":"+7') and error.endswith(" from server")
    # Digits that merely look like base64, and a broken percent-encoding: plain text.
    j = Journal(source)
    j.event("/call/OnCallEnded/", {"ErrorMessage": "ids 50071823295007182329 and "
                                                   "/rec/2026/11/25/79991234567.wav, %D0x"})
    j.close()
    journal_share.share(source, out, force=True)
    text = out.read_text()
    assert "5007182329" not in text and "9991234567" not in text and "%D0x" in text


def test_attribute_names_of_a_foreign_journal_are_scrubbed_too(tmp_path):
    """Red team: a namespace's URI and a number used as an attribute's name were copied
    as they were (only values were judged)."""
    source = tmp_path / "journal.xml"
    source.write_text(
        '<message seq="1" at="2026-11-26T13:28:22Z" dir="received" kind="event" path="/e/" '
        'xmlns:a="urn:tel:+79991234567" a:x="1"><param name="N" a:y="2">1</param>'
        '<result><Item Caller79991234567="1"/></result></message>\n')
    out = tmp_path / "shared.xml"
    report = journal_share.share(source, out)
    assert report.messages == 1 and "9991234567" not in out.read_text()


def test_a_number_after_a_comma_or_written_with_dots_is_no_decimal_nor_address(tmp_path):
    """Red team: `101,79991234567` (a list) was kept as a decimal, `999.123.45.67` (a
    number with dots) as an IP address, in kept text and in an unknown field alike."""
    source = tmp_path / "journal.xml"
    j = Journal(source)
    j.event("/call/X/", {"ErrorMessage": "list 101,79991234567,x; dotted 999.123.45.67; "
                                         "ip 10.0.0.5; took 0.5 s; share 1.234567",
                         "Whatever": "101,79991234567", "Other": "999.123.45.67",
                         "TimeStart": "46021,5633912037", "Started": "46021.5633912037"})
    j.close()
    out = tmp_path / "shared.xml"
    journal_share.share(source, out)
    text = out.read_text()
    assert "9991234567" not in text and "999.123.45.67" not in text
    assert "ip 10.0.0.5; took 0.5 s; share 1.234567" in text
    params = as_dict(next(read(out)))["params"]          # OLE dates are times: kept
    assert (params["TimeStart"], params["Started"]) == ("46021,5633912037",
                                                        "46021.5633912037")


def test_a_short_id_is_found_in_kept_text_as_in_its_field(tmp_path):
    """Red team: a small site's 4-digit user id was replaced in its field and left as it
    was in an error message (which also gave the stand-in away)."""
    source = tmp_path / "journal.xml"
    j = Journal(source)
    j.event("/user/OnStateChanged/", {"IDUser": "4711", "IDUserState": "300"})
    j.event("/user/X/", {"ErrorMessage": "user 4711 is not logged on"})
    j.close()
    out = tmp_path / "shared.xml"
    journal_share.share(source, out)
    [changed, error] = [as_dict(m) for m in read(out)]
    assert not re.search(r"(?<![0-9])4711(?![0-9])", out.read_text())
    assert error["params"]["ErrorMessage"] == (f"user {changed['params']['IDUser']} is not "
                                               "logged on")


def test_what_the_daemon_writes_or_rotates_during_a_share_is_not_half_scrubbed(
        tmp_path, monkeypatch):
    """Red team: the copy is made in two passes (what to look for, then the copy). A line
    the running daemon appended between them was copied without its names having been
    looked for in kept text, and a rotation between them made the second pass read other
    files than the first. The second pass now reads what the first read, no more."""
    source = tmp_path / "journal.xml"
    j = Journal(source)
    j.event("/call/OnCallCreated/", {"IDCall": "5007182329", "CallerName": "Сидоров"})
    j.close()
    ready = journal_share.Scrubber.ready

    def meanwhile(scrubber):
        source.rename(tmp_path / "journal.xml.1")          # the daemon rotates...
        late = Journal(source)                               # ...and writes on
        late.event("/call/OnCallCreated/", {"CallerName": "Петренко",
                                             "ErrorMessage": "Петренко hung up"})
        late.close()
        ready(scrubber)

    monkeypatch.setattr(journal_share.Scrubber, "ready", meanwhile)
    out = tmp_path / "shared.xml"
    report = journal_share.share(source, out)
    text = out.read_text()
    assert report.messages == 1 and "Сидоров" not in text and "Петренко" not in text
    assert "hung up" not in text                      # the first journal's line alone


def test_a_url_safe_base64_payload_is_scrubbed_too(tmp_path):
    """Red team: a JWT-like token's payload (URL-safe base64, no padding) carried the
    caller's number through."""
    import base64

    payload = base64.urlsafe_b64encode(b'{"sub":"+79991234567","n":"??>>"}').decode()
    source = tmp_path / "journal.xml"
    j = Journal(source)
    j.event("/call/X/", {"ErrorMessage": f"bad token eyJhbGciOiJub25lIn0.{payload.rstrip('=')}."})
    j.close()
    out = tmp_path / "shared.xml"
    journal_share.share(source, out)
    error = as_dict(next(read(out)))["params"]["ErrorMessage"]
    body = error.split(".")[1]
    decoded = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
    assert "9991234567" not in decoded and decoded.startswith('{"sub":"+7')


def test_a_hostile_line_of_dotted_words_is_shared_in_linear_time(tmp_path):
    """Red team: a pattern of kept text backtracked over `a.a.a.…` at every position: a
    line of 400 kB took hours."""
    source = tmp_path / "journal.xml"
    j = Journal(source)
    j.event("/call/X/", {"ErrorMessage": "a." * 200_000 + " +7 999 1234567"})
    j.close()
    out = tmp_path / "shared.xml"
    done = cc_share(out, "--from", source)
    assert done.returncode == 0, done.stderr
    assert "999 1234567" not in out.read_text()


def test_a_password_or_login_echoed_in_kept_text_is_masked_or_replaced(tmp_path):
    """Red team: a server that echoes the request in its error message (…&Password=…), a
    recording's URL with an access token, a JSON fragment in a message: the password
    and the token went into the copy as they were."""
    source = tmp_path / "journal.xml"
    j = Journal(source)
    j.event("/call/X/", {
        "ErrorMessage": 'bad request /user/logon/?Login=ivanova&Password=hunter2&IDRole=0 '
                        'token=abc123xyz, "Password": "hunter3", "UserName": "petrenko"',
        "AWavFile": "https://rec.example/get?file=1.wav&access_token=SeCrEtToKeN"})
    j.close()
    out = tmp_path / "shared.xml"
    report = journal_share.share(source, out)
    text = out.read_text()
    for secret in ("hunter2", "hunter3", "abc123xyz", "SeCrEtToKeN", "ivanova", "petrenko"):
        assert secret not in text, secret
    params = as_dict(next(read(out)))["params"]
    assert "&Password=***&IDRole=0 token=***" in params["ErrorMessage"]
    assert params["AWavFile"] == "https://rec.example/get?file=1.wav&access_token=***"
    assert report.replaced["password"] == 4
