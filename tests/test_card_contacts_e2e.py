"""The contact and account on a call's card; accounts as records; kinds of numbers; imports
that double nobody (F5, F18, F31, F32, F39, F40, F45, F51, F52)."""

from __future__ import annotations

import sqlite3

from daemon import store as store_module
from daemon.store import Store
from daemon.testing import CC
from terminal import Terminal

CONTACTS_CSV = """name,account,phones
Olha Bondar,Acme Ltd,8 (044) 455-78-90;+380501112233
Ivan Bondar,Acme Ltd,+380501112233
Maria Koval,,
"""
VCARDS = """BEGIN:VCARD
VERSION:3.0
FN:Anna Koval
ORG:Globex
TEL;TYPE=CELL:+380671230001
TEL;TYPE=WORK,FAX:+380441230099
END:VCARD
BEGIN:VCARD
VERSION:2.1
FN:Taras Hnatyuk
TEL;FAX:+380441230098
TEL;WORK;VOICE:+380441230002
END:VCARD
"""


def _incoming(emulator, agent, number: str) -> str:
    call_id = str(emulator.admin("call-in", From=number, To="101")["IDCall"])
    agent.wait_call_state("Ringing")
    return call_id


def test_a_contact_dialled_on_a_shared_number_stays_on_the_card(agent, tmp_path):
    (tmp_path / "c.csv").write_text(CONTACTS_CSV)
    agent.cc("contacts", "import", tmp_path / "c.csv")
    call = agent.json("dial", "--contact", "Olha", "--pick", "2")
    assert call["number"] == "+380501112233"        # Ivan's number too
    assert (call["contact"], call["account"], call["contact_candidates"]) == \
        ("Olha Bondar", "Acme Ltd", None)
    agent.cc("hangup")
    row = agent.log_row(call["call_id"], contact="Olha Bondar")
    assert row["account"] == "Acme Ltd" and row["contact_candidates"] is None
    # The call is Olha's: her history has it, Ivan's (the same number) does not.
    olha = agent.json("contacts", "history", "Olha Bondar")["calls"]
    assert [c["id"] for c in olha] == [row["id"]]
    assert agent.json("contacts", "history", "Ivan Bondar")["calls"] == []
    # Dialling the number itself still finds two contacts and names neither.
    call = agent.json("dial", "+380501112233")
    assert call["contact"] is None and call["contact_candidates"] == \
        ["Olha Bondar", "Ivan Bondar"]
    agent.cc("hangup")


def _at_terminal(agent, args: list[str], steps: list[tuple[bytes, bytes]]) -> int:
    """Run `cc ARGS` on a terminal of its own; at each step, once the screen shows its
    text, type its keys. The exit code."""
    term = Terminal([CC, *args], agent.env)
    try:
        for text, keys in steps:
            term.shows(text.decode().strip(), timeout=15)
            term.type(keys)
        return term.finish()
    finally:
        term.close()


def test_the_agent_says_which_of_the_contacts_found_called(manual, tmp_path):
    emulator, agent = manual
    (tmp_path / "c.csv").write_text(CONTACTS_CSV)
    agent.cc("contacts", "import", tmp_path / "c.csv")
    call_id = _incoming(emulator, agent, "+380501112233")
    row = agent.log_row(call_id)
    assert row["contact"] is None and "[one of: Olha Bondar; Ivan Bondar]" in \
        agent.cc("status").stdout
    done = agent.cc("log", "edit", row["id"], "--found", check=False)     # not at a terminal
    assert done.returncode == 9 and len(done.stderr.splitlines()) == 1
    assert "1: Olha Bondar (Acme Ltd), 2: Ivan Bondar (Acme Ltd)" in done.stderr
    assert "--pick N" in done.stderr
    edited = agent.json("log", "edit", row["id"], "--pick", "2")
    assert (edited["contact"], edited["account"]) == ("Ivan Bondar", "Acme Ltd")
    # The ringing call took it too: its next change does not write the old card back.
    assert "[Ivan Bondar, Acme Ltd]" in agent.cc("status").stdout
    agent.cc("answer")
    agent.wait_call_state("Connected")
    agent.cc("hangup")
    row = agent.log_row(call_id, outcome="answered")
    assert (row["contact"], row["account"]) == ("Ivan Bondar", "Acme Ltd")
    assert [c["id"] for c in agent.json("contacts", "history", "Ivan")["calls"]] == [row["id"]]
    assert agent.json("contacts", "history", "Olha")["calls"] == []
    # At a terminal the agent chooses among those found by typing part of a name.
    assert _at_terminal(agent, ["log", "edit", str(row["id"]), "--found"],
                        [(b"who called: ", b"olh"), (b"who called: olh", b"\r")]) == 0
    assert agent.json("log", "show", row["id"])["contact"] == "Olha Bondar"
    # A name among those found, and changed again later; '' clears it.
    assert agent.json("log", "edit", row["id"], "--contact", "olha")["contact"] == "Olha Bondar"
    assert agent.json("log", "edit", row["id"], "--contact", "")["contact"] is None
    done = agent.cc("log", "edit", row["id"], "--pick", "3", check=False)
    assert done.returncode == 9 and "2 contact(s) have the number" in done.stderr
    done = agent.cc("log", "edit", row["id"], "--account", "Initech", "--subject", "Refund",
                    check=False)
    assert done.returncode == 9 and "no account matches 'Initech'" in done.stderr
    done = agent.cc("log", "edit", row["id"], "--pick", "1", "--result", "nonsense",
                    check=False)
    assert done.returncode == 9 and "'nonsense' is not in the results catalogue" in done.stderr
    unchanged = agent.json("log", "show", row["id"])          # all of the card, or none of it
    assert (unchanged["contact"], unchanged["subject"], unchanged["result"]) == (None, None, None)
    edited = agent.json("log", "edit", row["id"], "--pick", "1", "--subject", "Refund")
    assert (edited["contact"], edited["subject"]) == ("Olha Bondar", "Refund")
    agent.cc("log", "edit", row["id"], "--contact", "")
    done = agent.cc("log", "--account", "Acme", check=False)
    assert done.returncode == 9 and "cc log edit ID" in done.stderr


def test_accounts_have_numbers_calls_and_contacts_made_from_a_call(manual, tmp_path):
    emulator, agent = manual
    (tmp_path / "c.csv").write_text(CONTACTS_CSV)
    agent.cc("contacts", "import", tmp_path / "c.csv")
    # The account's name reaches the account, not the three contacts it matches.
    added = agent.cc("contacts", "add-number", "Acme Ltd", "+380 44 123 4567", "--kind",
                     "work").stdout
    assert added.strip() == ("Acme Ltd [account]: +380441234567 (work); contacts: Ivan Bondar, "
                             "Olha Bondar")
    agent.cc("accounts", "add", "Initech", "--phone", "work:+380441239999",
             "--phone", "fax:+380441239998")
    done = agent.cc("accounts", "add", "initech", check=False)
    assert done.returncode == 9 and "exists already" in done.stderr
    done = agent.cc("accounts", "add", "  ", check=False)
    assert done.returncode == 9 and done.stderr == "cc: an account needs a name: give one in " \
        "quotes\n"
    assert [a["name"] for a in agent.json("accounts")] == ["Acme Ltd", "Initech"]
    initech = agent.json("accounts", "show", "Initech")
    assert initech["phones"] == ["+380441239999"] and initech["numbers"][1] == \
        {"number": "+380441239998", "kind": "fax"}
    # A call from the account's own number is linked to the account.
    desk = _incoming(emulator, agent, "0441234567")
    assert "[Acme Ltd]" in agent.cc("status").stdout
    agent.cc("reject")
    row = agent.log_row(desk)
    assert (row["contact"], row["account"]) == (None, "Acme Ltd")
    # A caller nobody knows: the agent names the account, then makes the contact (F40).
    stranger = _incoming(emulator, agent, "+380671112233")
    agent.cc("answer")
    agent.wait_call_state("Connected")
    stranger_row = agent.log_row(stranger)
    done = agent.cc("log", "edit", stranger_row["id"], "--new-contact", "Petro Shevchenko",
                    "--account", "Umbrella", check=False)
    assert done.returncode == 9 and "no account matches 'Umbrella'" in done.stderr
    assert agent.json("contacts", "Petro") == []        # checked first: nothing made
    made = agent.json("log", "edit", stranger_row["id"], "--account", "acme ltd",
                      "--new-contact", "Petro Shevchenko", "--kind", "mobile")
    assert (made["contact"], made["account"]) == ("Petro Shevchenko", "Acme Ltd")
    agent.cc("hangup")
    agent.log_row(stranger, outcome="answered", contact="Petro Shevchenko")
    [petro] = agent.json("contacts", "Petro")
    assert petro["account"] == "Acme Ltd" and petro["numbers"] == \
        [{"number": "+380671112233", "kind": "mobile"}]
    assert "Petro Shevchenko" in agent.json("accounts", "show", "Acme Ltd")["contacts"]
    # The account's history: both calls, each with its card number, result and end (F45).
    agent.cc("log", "edit", "--result", "resolved")     # no id: this, the last call
    history = agent.json("accounts", "history", "Acme")
    assert [c["id"] for c in history["calls"]] == [stranger_row["id"], row["id"]]
    assert history["calls"][0]["result"] == "resolved"
    assert history["calls"][0]["counter_number"].startswith("CALL-")
    assert history["calls"][0]["ended_at"]
    text = agent.cc("accounts", "history", "Acme").stdout
    assert f"{stranger_row['counter_number']}" in text and "result resolved" in text
    assert "Petro Shevchenko" in text
    # The next call from Petro's number names him and his account at once.
    again = _incoming(emulator, agent, "+380671112233")
    assert "[Petro Shevchenko, Acme Ltd]" in agent.cc("status").stdout
    agent.cc("reject")
    agent.log_row(again, contact="Petro Shevchenko", account="Acme Ltd")
    done = agent.cc("log", "edit", row["id"], "--new-contact", "Olha Bondar", "--pick", "1",
                    check=False)
    assert done.returncode == 9 and "in one way" in done.stderr


def test_a_fax_is_kept_with_its_kind_but_never_matched_nor_dialled(manual, tmp_path):
    emulator, agent = manual
    (tmp_path / "c.vcf").write_text(VCARDS)
    agent.cc("contacts", "import", tmp_path / "c.vcf")
    [anna] = agent.json("contacts", "Anna")
    assert anna["numbers"] == [{"number": "+380671230001", "kind": "mobile"},
                               {"number": "+380441230099", "kind": "fax"}]
    assert anna["phones"] == ["+380671230001"]
    [taras] = agent.json("contacts", "Taras")
    assert [n["kind"] for n in taras["numbers"]] == ["fax", "work"]
    # One telephone: dialled at once, no choice offered, never the fax.
    call = agent.json("dial", "--contact", "Taras")
    assert call["number"] == "+380441230002" and call["contact"] == "Taras Hnatyuk"
    agent.cc("hangup")
    fax = _incoming(emulator, agent, "+380441230099")
    agent.cc("reject")
    row = agent.log_row(fax)
    assert (row["contact"], row["contact_candidates"]) == (None, None)
    # Without an id, the last call's card; a new account named from it (F51).
    assert agent.json("log", "edit", "--new-account", "Initech")["account"] == "Initech"
    assert [c["id"] for c in agent.json("accounts", "history", "Initech")["calls"]] == \
        [row["id"]]
    agent.cc("contacts", "add", "Maria Koval", "--phone", "pager:+380441110005")
    done = agent.cc("dial", "--contact", "Maria", check=False)
    assert done.returncode == 9 and "has no phone number" in done.stderr
    done = agent.cc("contacts", "add", "Lev", "--phone", "telex:+380441110006", check=False)
    assert done.returncode == 9 and "'telex:+380441110006' is not a phone number" in done.stderr
    done = agent.cc("contacts", "add", "Lev", "--phone", "+380441110006", "--kind", "mobile",
                    check=False)      # refused, not ignored
    assert done.returncode == 9 and "--kind goes with add-number (with add: --phone " \
        "KIND:NUMBER)" in done.stderr
    done = agent.cc("accounts", "Initech", "--phone", "+380441110006", check=False)
    assert done.returncode == 9 and "--phone goes with add" in done.stderr
    assert agent.json("contacts", "Lev") == []


def test_importing_the_same_file_twice_doubles_nobody(manual, tmp_path):
    emulator, agent = manual
    (tmp_path / "c.vcf").write_text(VCARDS)
    (tmp_path / "c.csv").write_text(CONTACTS_CSV)
    first = agent.cc("contacts", "import", tmp_path / "c.vcf").stdout
    assert first.strip() == "imported 2 contacts: 2 added, 0 updated, 0 unchanged"
    again = agent.cc("contacts", "import", tmp_path / "c.vcf").stdout
    assert again.strip() == "imported 2 contacts: 0 added, 0 updated, 2 unchanged"
    agent.cc("contacts", "import", tmp_path / "c.csv")
    counts = agent.json("contacts", "import", tmp_path / "c.csv")
    assert {k: counts[k] for k in ("added", "updated", "unchanged")} == \
        {"added": 0, "updated": 0, "unchanged": 3}
    # A new number for Anna, a new person of the same name with other numbers.
    (tmp_path / "more.csv").write_text("name,account,phones\n"
                                       "anna koval,,home:+380441230005\n"
                                       "Anna Koval,,+380671230001;+380671230002\n")
    more = agent.cc("contacts", "import", tmp_path / "more.csv").stdout
    assert more.strip() == "imported 2 contacts: 1 added, 1 updated, 0 unchanged"
    annas = agent.json("contacts", "Anna")
    assert [[n["number"] for n in a["numbers"]] for a in annas] == \
        [["+380671230001", "+380441230099", "+380671230002"], ["+380441230005"]]
    assert len(agent.json("contacts")) == 6
    call_id = _incoming(emulator, agent, "+380671230001")
    assert "[Anna Koval, Globex]" in agent.cc("status").stdout
    agent.cc("reject")
    agent.log_row(call_id, contact="Anna Koval")


def _v8_log(path) -> None:
    """A call log as cc left it at schema 8: contacts with account names, numbers without
    kinds, calls naming their contact."""
    import sqlite_utils

    db = sqlite_utils.Database(sqlite3.connect(path))
    for number, step in enumerate(store_module.MIGRATIONS[:8], 1):
        step(db)
        db.execute(f"PRAGMA user_version = {number}")
    db["contacts"].insert_all([{"id": 1, "name": "Olha Bondar", "account": "Acme Ltd"},
                               {"id": 2, "name": "Ivan Bondar", "account": " Acme Ltd "},
                               {"id": 3, "name": "Maria Koval", "account": ""}])
    db["contact_phones"].insert_all([
        {"contact_id": 1, "number": "+380444557890", "key": "+380444557890"},
        {"contact_id": 1, "number": "0444557890", "key": "+380444557890"},
        {"contact_id": 2, "number": "+380501112233", "key": "+380501112233"}])
    db["calls"].insert({"call_id": "7", "direction": "in", "number": "+380444557890",
                        "started_at": "2026-11-20T10:00:00+00:00", "contact": "Olha Bondar",
                        "account": "Acme Ltd", "number_key": "+380444557890",
                        "counter": 1, "counter_number": "CALL-000001"})
    db.conn.commit()
    db.close()


def test_a_schema_8_log_is_migrated_with_its_contacts_and_calls(tmp_path):
    path = tmp_path / "calls.db"
    _v8_log(path)
    store = Store(path)
    try:
        assert store.version == len(store_module.MIGRATIONS)
        db = store.db
        assert [tuple(r) for r in db.execute("select id, name from accounts")] == \
            [(1, "Acme Ltd")]
        assert [tuple(r) for r in db.execute("select id, account_id from contacts "
                                             "order by id")] == [(1, 1), (2, 1), (3, None)]
        assert [tuple(r) for r in db.execute("select contact_id, number, kind from phones "
                                             "order by id")] == \
            [(1, "+380444557890", "other"), (2, "+380501112233", "other")]
        assert tuple(db.execute("select contact_id, account_id from calls").fetchone()) == (1, 1)
        # The database holds the rules, whatever code writes to it.
        for bad in ("insert into phones (contact_id, number, key, kind) values (1, '1', '1', "
                    "'telex')",
                    "insert into phones (contact_id, account_id, number, key) values "
                    "(1, 1, '2', '2')",
                    "insert into phones (contact_id, number, key) values (99, '3', '3')",
                    "insert into phones (contact_id, number, key) values "
                    "(1, '044 455 78 90', '+380444557890')",
                    "insert into accounts (name) values ('acme ltd')",
                    "insert into contacts (name) values ('  ')",
                    "update calls set contact_id = 99"):
            try:
                with db.conn:
                    db.execute(bad)
            except sqlite3.IntegrityError:
                continue
            raise AssertionError(f"the log took: {bad}")
        with db.conn:
            db.execute("delete from contacts where id = 1")
        assert db.execute("select contact_id from calls").fetchone()[0] is None
        assert db.execute("select count(*) from phones where contact_id = 1").fetchone()[0] == 0
    finally:
        store.close()


def test_a_call_linked_to_a_contact_no_longer_there_is_written_unlinked(tmp_path, caplog):
    """A spooled row (or one saved as the contact was removed) names a contact the log no
    longer has: the call is written, named but not linked, and the log says so."""
    store = Store(tmp_path / "calls.db")
    try:
        row_id = store.save({"call_id": "7", "direction": "in", "number": "+380501112233",
                             "started_at": "2026-11-26T08:00:00+00:00", "agent": "ivanova",
                             "contact": "Olha Bondar", "contact_id": 42, "account_id": 7})
        assert row_id is not None and store.pending == {}
        assert store.get(row_id)["contact"] == "Olha Bondar"
        assert store.links(row_id) == {"contact_id": None, "account_id": None}
        assert "its contact or account is no longer in the log" in caplog.text
    finally:
        store.close()
