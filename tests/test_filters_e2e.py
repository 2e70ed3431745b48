"""Filters that filter (F19, F42, F43, F57, F59; guide §3.7): the card's fields, numbers
however they were written, missed calls as the guide counts them, saved filters, static
groups, and every option `cc log` cannot use refused rather than ignored."""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest

from conftest import CC


def ids(agent, *args) -> list[str]:
    return [r["call_id"] for r in agent.json("log", *args)]


def refused(agent, *args, code: int = 9) -> str:
    """`cc ARGS` fails with `code` and one `cc:` line, which is returned."""
    done = agent.cc(*args, check=False)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == code and len(lines) == 1 and lines[0].startswith("cc: "), \
        (args, done.returncode, done.stderr)
    assert "Traceback" not in done.stderr + done.stdout
    return lines[0]


def finished(emulator, agent, number: str) -> dict:
    """A call to `number` that the far end answers and the agent hangs up, as logged."""
    call = agent.dial_answered(number, after=3)
    agent.cc("hangup")
    return agent.log_row(call["call_id"], outcome="answered")


@pytest.fixture
def carded(emulator_factory, agent_factory):
    """Three answered calls on the emulator's manual clock: a sale about an order linked
    to task T-77 with the result callback, a complaint about a refund linked to task T-78
    and resolved, and one with an empty card."""
    emulator = emulator_factory(manual_clock=True)
    agent = agent_factory(emulator).start()
    agent.wait_logged_in()
    sale = finished(emulator, agent, "+380441110001")
    agent.cc("log", "edit", sale["id"], "--type", "sale", "--subject", "Order 42",
             "--link", "task=T-77", "--result", "callback")
    complaint = finished(emulator, agent, "0441110005")
    agent.cc("log", "edit", complaint["id"], "--type", "complaint", "--subject",
             "Повернення коштів", "--link", "task=T-78", "--link", "sale=S-5",
             "--result", "resolved")
    empty = finished(emulator, agent, "+380441110006")
    return emulator, agent, {"sale": sale, "complaint": complaint, "empty": empty}


def test_the_cards_type_subject_links_and_result_filter_the_log(carded):
    _, agent, calls = carded
    sale, complaint = calls["sale"]["call_id"], calls["complaint"]["call_id"]
    assert ids(agent, "--type", "sale") == [sale]
    assert ids(agent, "--subject", "ORDER") == [sale]               # any case
    assert ids(agent, "--subject", "повернення") == [complaint]      # not only ASCII
    assert ids(agent, "--link", "task=T-77") == [sale]               # the task's calls
    assert ids(agent, "--link", "task=T-78", "--link", "sale=S-5") == [complaint]
    assert ids(agent, "--link", "task=T-77", "--link", "sale=S-5") == []
    assert ids(agent, "--result", "callback") == [sale]
    assert ids(agent, "--result", "resolved", "--type", "complaint") == [complaint]
    assert len(ids(agent, "--outcome", "answered")) == 3
    assert ids(agent, "--type", "support") == []        # in the catalogue, on no call
    assert "no calls match" in agent.cc("log", "--type", "support").stdout

    assert "no call has the type 'sales'" in refused(agent, "log", "--type", "sales")
    assert "use --outcome busy" in refused(agent, "log", "--result", "busy")
    assert "unknown link 'ticket'" in refused(agent, "log", "--link", "ticket=9")
    assert "KIND=VALUE" in refused(agent, "log", "--link", "task")
    assert "needs a value" in refused(agent, "log", "--link", "task=")
    assert "given twice" in refused(agent, "log", "--link", "task=1", "--link", "task=2")
    assert "unknown outcome 'sold': use answered, missed" in refused(agent, "log",
                                                                     "--outcome", "sold")


def test_columns_choose_the_tables_columns(carded):
    _, agent, calls = carded
    table = agent.cc("log", "--columns", "id,number,subject,result,talk_seconds",
                     "--type", "sale").stdout.splitlines()
    assert table[0].split() == ["id", "number", "subject", "result", "talk_seconds"]
    *cells, talk = table[1].split()
    assert cells == [str(calls["sale"]["id"]), "+380441110001", "Order", "42", "callback"]
    assert re.fullmatch(r"\d+:\d\d", talk)            # a duration, as people read one
    usual = agent.cc("log", "--limit", "1").stdout.splitlines()[0].split()
    assert usual[:3] == ["id", "no.", "start"]
    assert "whose columns are Asterisk's" in refused(
        agent, "log", "--columns", "id", "--format", "asterisk-csv")
    assert "names its own fields" in refused(agent, "log", "--columns", "id", "--format",
                                             "{number}")


def test_every_option_a_use_of_cc_log_cannot_take_is_refused(carded):
    _, agent, calls = carded
    one = str(calls["sale"]["id"])
    assert "cc log edit ID --note" in refused(agent, "log", "--note", "hello")
    assert "cc log edit ID" in refused(agent, "log", "--set-number", "+380000000000")
    assert "cc log rm --all" in refused(agent, "log", "--all")
    assert "--period does not apply to `cc log show`" in refused(
        agent, "log", "show", one, "--period", "today")
    assert "--format does not apply to `cc log show`" in refused(
        agent, "log", "show", one, "--format", "csv")
    assert "--missed does not apply to `cc log rm`" in refused(
        agent, "log", "rm", one, "--missed", "--yes")
    assert "--outcome does not apply to `cc log edit`" in refused(
        agent, "log", "edit", one, "--outcome", "answered")
    assert "--limit does not apply to `cc log save`" in refused(
        agent, "log", "save", "x", "--missed", "--limit", "3")
    assert "two formats" in refused(agent, "log", "--json", "--format", "csv")
    assert "--type does not apply to `cc log groups`" in refused(
        agent, "log", "groups", "--type", "sale")
    assert len(ids(agent)) == 3          # nothing was removed or changed on the way
    assert agent.json("log", "show", one)["subject"] == "Order 42"


def test_saved_filters_keep_columns_are_listed_and_forgotten(carded):
    _, agent, calls = carded
    saved = agent.cc("log", "save", "callbacks", "--result", "callback", "--columns",
                     "id,subject").stdout
    assert saved.strip() == "saved filter 'callbacks': --result callback --columns id,subject"
    table = agent.cc("log", "callbacks").stdout.splitlines()
    assert table[0].split() == ["id", "subject"]
    assert table[1].split() == [str(calls["sale"]["id"]), "Order", "42"]
    assert agent.json("log", "callbacks") == [{"id": calls["sale"]["id"],
                                               "subject": "Order 42"}]
    agent.cc("log", "save", "sales", "--type", "sale", "--link", "task=T-77")
    listed = agent.cc("log", "saved").stdout.splitlines()
    assert listed == ["callbacks  --result callback --columns id,subject",
                      "sales      --type sale --link task=T-77"]
    assert [e["name"] for e in agent.json("log", "saved")] == ["callbacks", "sales"]

    for name in ("show", "edit", "save", "groups"):
        said = refused(agent, "log", "save", name, "--missed")
        assert f"'{name}' names an action of `cc log`" in said
    assert "cannot name a filter" in refused(agent, "log", "save", "my calls", "--missed")
    assert "nothing to save" in refused(agent, "log", "save", "empty")

    assert agent.cc("log", "forget", "sales").stdout.strip() == \
        "forgot the saved filter 'sales'"
    assert "no saved filter 'sales' (saved: callbacks;" in refused(agent, "log", "sales")
    assert "no saved filter 'sales'" in refused(agent, "log", "forget", "sales")


def test_a_filter_saved_before_results_and_outcomes_were_apart_keeps_its_meaning(carded):
    _, agent, calls = carded
    (agent.home / "filters.toml").write_text(
        '# saved by an older cc\n[answered]\nresult = "answered"\n\n[odd]\nmood = "calm"\n')
    assert len(ids(agent, "answered")) == 3               # the outcome it meant then
    assert "the unknown option 'mood'" in refused(agent, "log", "odd", code=8)
    agent.cc("log", "save", "sold", "--type", "sale")
    text = (agent.home / "filters.toml").read_text()
    assert text.startswith("# saved by an older cc\n[answered]")    # kept as it was
    assert ids(agent, "sold") == [calls["sale"]["call_id"]]


def test_static_groups_hold_hand_picked_calls(carded):
    _, agent, calls = carded
    sale, complaint, empty = (str(calls[k]["id"]) for k in ("sale", "complaint", "empty"))
    assert agent.cc("log", "group", "add", "vip", sale, empty).stdout.strip() == \
        "added 2 call(s) to group 'vip' (2 in it)"
    assert agent.cc("log", "group", "add", "vip", sale).stdout.strip() == \
        "added 0 call(s) to group 'vip' (2 in it)"
    assert ids(agent, "--group", "vip") == [calls["empty"]["call_id"],
                                            calls["sale"]["call_id"]]
    assert ids(agent, "--group", "vip", "--type", "sale") == [calls["sale"]["call_id"]]
    assert agent.json("log", "show", sale)["groups"] == ["vip"]
    assert "groups" in agent.cc("log", "show", sale).stdout
    agent.cc("log", "group", "add", "later", complaint)
    assert [(g["name"], g["calls"]) for g in agent.json("log", "groups")] == \
        [("later", 1), ("vip", 2)]
    assert agent.cc("log", "groups").stdout.splitlines()[1].startswith("vip    2 call(s)")

    assert "no call 99999 in the call log" in refused(agent, "log", "group", "add", "vip",
                                                      complaint, "99999", code=5)
    assert len(ids(agent, "--group", "vip")) == 2          # all or none
    assert "is not in group 'vip'" in refused(agent, "log", "group", "rm", "vip", complaint)
    assert agent.cc("log", "group", "rm", "vip", empty).stdout.strip() == \
        "took 1 call(s) out of group 'vip' (1 left)"
    assert len(ids(agent)) == 3                             # the call stays in the log
    agent.cc("log", "rm", sale, "--yes")
    assert ids(agent, "--group", "vip") == []               # a removed call leaves its groups
    assert "not a call's id" in refused(agent, "log", "group", "add", "vip", "x1")
    assert "must be a name of letters" in refused(agent, "log", "group", "add", "v!p",
                                                  complaint)
    assert "no group 'nosuch' (groups: later, vip;" in refused(agent, "log", "--group",
                                                               "nosuch")
    assert agent.cc("log", "group", "delete", "vip").stdout.strip() == \
        "deleted group 'vip' (its 0 call(s) stay in the log)"
    assert "no group 'vip'" in refused(agent, "log", "group", "delete", "vip")
    assert len(ids(agent)) == 2


def test_the_log_finds_a_number_however_it_was_dialled(manual):
    emulator, agent = manual
    national = finished(emulator, agent, "0441110001")
    e164 = finished(emulator, agent, "+380441110001")
    other = finished(emulator, agent, "+380441110005")
    both = [e164["call_id"], national["call_id"]]
    assert ids(agent, "--number", "+380441110001") == both
    assert ids(agent, "--number", "0441110001") == both
    assert ids(agent, "--number", "044 111 0001") == both
    assert ids(agent, "--number", "1110001") == both          # a piece of it
    assert ids(agent, "--number", "0005") == [other["call_id"]]
    assert "not a phone number or a piece of one" in refused(agent, "log", "--number", "Olha")
    recent = agent.json("recent")
    assert [r["number"] for r in recent] == ["+380441110005", "+380441110001"]
    assert len(agent.json("recent", "--dialed")) == 2


def test_a_rejected_call_is_missed_and_not_received(manual):
    emulator, agent = manual

    def ringing(caller: str) -> str:
        call_id = str(emulator.admin("call-in", From=caller, To="101")["IDCall"])
        agent.wait_call_state("Ringing")
        return call_id

    answered = ringing("+380671110001")
    agent.cc("answer")
    agent.cc("hangup")
    agent.log_row(answered, outcome="answered")
    rejected = ringing("+380671110002")
    agent.cc("reject")
    agent.log_row(rejected, outcome="rejected")
    missed = ringing("+380671110003")
    emulator.advance(60)                                   # the ring timeout
    agent.log_row(missed, outcome="missed")

    assert ids(agent, "--missed") == [missed, rejected]
    assert [r["number"] for r in agent.json("recent", "--missed")] == \
        ["+380671110003", "+380671110002"]
    assert [r["number"] for r in agent.json("recent", "--received")] == ["+380671110001"]
    assert ids(agent, "--outcome", "answered", "--direction", "in") == [answered]
    assert ids(agent, "--outcome", "rejected") == [rejected]


def cc_home(home, *args) -> subprocess.CompletedProcess:
    env = {**os.environ, "CC_HOME": str(home)}
    env.pop("XDG_RUNTIME_DIR", None)
    return subprocess.run([CC, *args], env=env, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)


def test_quick_add_keeps_a_public_number_as_the_region_reads_it(tmp_path):
    added = cc_home(tmp_path, "quick", "add", "Olha", "8 (044) 455-78-90")
    assert added.returncode == 0 and "Olha +380444557890" in added.stdout, added.stderr
    cc_home(tmp_path, "quick", "add", "Desk", "102")
    cc_home(tmp_path, "config", "set", "contacts.default_region", "RU")
    cc_home(tmp_path, "quick", "add", "Moscow", "8 (495) 123-45-67")
    listed = cc_home(tmp_path, "quick", "--json")
    assert [e["number"] for e in json.loads(listed.stdout)] == \
        ["+380444557890", "102", "+74951234567"]


def test_a_log_of_an_older_cc_is_filtered_too_without_the_daemon(tmp_path):
    """`cc log --database` on a log set aside before groups and cards existed: the
    filters work on what it has, and name what it lacks."""
    import sqlite_utils

    from daemon.store import MIGRATIONS

    old = tmp_path / "calls.damaged-20261120-100000.db"
    db = sqlite_utils.Database(old)
    for step in MIGRATIONS[:4]:
        step(db)
    db.execute("PRAGMA user_version = 4")
    db["calls"].insert_all([
        {"call_id": "5007", "direction": "in", "agent": "ivanova", "number": "0441110001",
         "number_key": "0441110001", "outcome": "rejected",
         "started_at": "2026-11-20T10:00:00+00:00"},
        {"call_id": "5008", "direction": "out", "agent": "ivanova", "number": "102",
         "number_key": "102", "outcome": "answered",
         "started_at": "2026-11-20T11:00:00+00:00"}])
    db.close()

    def listed(*args) -> list[str]:
        done = cc_home(tmp_path, "log", "--database", str(old), "--json", *args)
        assert done.returncode == 0, done.stderr
        return [r["call_id"] for r in json.loads(done.stdout)]
    assert listed("--missed") == ["5007"]
    assert listed("--number", "+380441110001") == ["5007"]      # keyed before regions
    assert listed("--subject", "order") == []
    done = cc_home(tmp_path, "log", "--database", str(old), "--group", "vip")
    assert done.returncode == 9 and "no group 'vip' (groups: none yet" in done.stderr
    table = cc_home(tmp_path, "log", "--database", str(old), "--columns", "id,number,subject")
    assert table.stdout.splitlines()[0].split() == ["id", "number", "subject"]
