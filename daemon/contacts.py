"""Contacts and accounts with their numbers (F5, F18, F31, F39, F40, F45, F51, F52).

Numbers are matched by `phone.key` in `contacts.default_region`, so that
`8 (044) 455-78-90`, `+380444557890` and `0444557890` are one number. A number belongs to
a contact or to an account and has a kind; only telephone kinds (`wire.PHONE_KINDS`) are
matched against calls or dialled: a fax is kept, never called (F18).
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

from . import lookup, phone
from .folding import fold, name_match
from .wire import NUMBER_KINDS, PHONE_KINDS, ErrorCode, WireError

log = logging.getLogger("cc.contacts")


def _cards(text: str):
    """(first line number, text) of each BEGIN:VCARD ... END:VCARD block."""
    lines = text.splitlines()
    start = None
    for n, line in enumerate(lines, 1):
        tag = line.strip().upper()
        if tag == "BEGIN:VCARD":
            start = n
        elif tag == "END:VCARD" and start is not None:
            yield start, "\n".join(lines[start - 1:n]) + "\n"
            start = None
    if start is not None:
        yield start, "\n".join(lines[start - 1:]) + "\n"


# vCard TEL types, in the order they decide a number's kind: a work fax is a fax.
VCARD_KINDS = (("FAX", "fax"), ("PAGER", "pager"), ("CELL", "mobile"), ("WORK", "work"),
               ("HOME", "home"))
PHONE_SQL = "kind in (" + ", ".join(f"'{k}'" for k in PHONE_KINDS) + ")"
HISTORY_COLUMNS = ("id", "counter_number", "number", "direction", "outcome", "result",
                   "started_at", "ended_at", "talk_seconds", "contact", "account")


def vcard_kind(types: list[str]) -> str:
    """The kind of a vCard TEL entry from its TYPE parameters (none: a telephone)."""
    given = {t.strip().upper() for t in types}
    return next((kind for name, kind in VCARD_KINDS if name in given), "other")


def named(name: str, what: str) -> str:
    """A contact's or an account's name, trimmed; a blank one is refused."""
    if not name.strip():
        raise WireError(ErrorCode.BAD_INPUT, f"{'an' if what[0] in 'aeiou' else 'a'} {what} "
                        "needs a name: give one in quotes")
    return name.strip()


def checked_kind(kind: str) -> str:
    if kind not in NUMBER_KINDS:
        raise WireError(ErrorCode.BAD_INPUT, f"'{kind}' is not a kind of number: use "
                        f"{', '.join(NUMBER_KINDS)}")
    return kind


class Contacts:
    def __init__(self, store, region: str):
        self.db = store.db
        self.database = store.path
        self.region = region
        # Told of every change made here: the team's contacts send it (team.url).
        self.changed = lambda: None
        self.sync = None        # the team's contacts (team/directory_sync.py), with team.url

    def key(self, number: str) -> str:
        return phone.key(number, self.region)

    # -- import and edit
    async def import_file(self, read) -> dict:
        """Add the contacts of a CSV or vCard file (`read()` gives its name and text); bad
        rows or cards are listed with their line numbers and the good ones still load.
        Read, parsed and written in a thread: a big file never stalls the daemon."""
        counts = await asyncio.to_thread(self._import, read)
        self.changed()      # in the loop's thread: the sync's wake-up is no thread's to set
        return counts

    def _import(self, read) -> dict:
        file, text = read()
        log.info("importing contacts from %s (%d characters)", file, len(text))
        skipped: list[str] = []
        if text.lstrip().upper().startswith("BEGIN:VCARD"):
            entries = self._from_vcard(file, text, skipped)
        else:
            entries = self._from_csv(file, text, skipped)
        del text
        for n, (name, account, numbers) in enumerate(entries):   # the slow part: not locked
            entries[n] = (name, account, [(p, self.key(p), kind) for p, kind in numbers if p])
        counts = {"imported": len(entries), "added": 0, "updated": 0, "unchanged": 0}
        with lookup.writing(self.database) as conn:
            directory = _Directory(conn)
            for name, account, keyed in entries:
                counts[directory.merge(name, account, keyed)] += 1
            directory.write()
        return {**counts, "skipped": skipped}

    @staticmethod
    def _from_csv(file: Path, text: str, skipped: list[str]) -> list:
        entries = []
        for _, row in lookup.csv_rows(file, text, "name, account, phones; or a vCard file",
                                      skipped):
            entries.append((row["name"], (row.get("account") or "").strip(),
                            [phone.kinded(p) for p in phone.split(row.get("phones"))]))
        return entries

    @staticmethod
    def _from_vcard(file: Path, text: str, skipped: list[str]) -> list:
        import vobject

        entries = []
        for lineno, card_text in _cards(text):
            try:
                card = vobject.readOne(card_text)
            except Exception as exc:   # vobject raises several parse error types
                skipped.append(f"{file}:{lineno}: not a readable vCard ({exc})")
                continue
            name = str(card.fn.value).strip() if hasattr(card, "fn") else ""
            if not name:
                skipped.append(f"{file}:{lineno}: the vCard has no FN (full name)")
                continue
            account = ""
            if hasattr(card, "org"):
                org = card.org.value
                account = (org[0] if isinstance(org, list) and org else str(org)).strip()
            # Only TEL entries are numbers (never EMAIL, URL, ...); each keeps its kind, so
            # a fax is stored but never matched nor dialled (F18).
            numbers = []
            for tel in card.contents.get("tel", []):
                types = [t for value in tel.params.get("TYPE", []) for t in value.split(",")]
                numbers.append((str(tel.value).strip(), vcard_kind(types + tel.singletonparams)))
            entries.append((name, account, numbers))
        return entries

    def add(self, name: str, account: str = "", numbers: list[tuple[str, str]] | None = None
            ) -> dict:
        name = named(name, "contact")
        with self.db.conn:
            account_id = _account_id(self.db.conn, account, create=True)
            contact_id = self.db.conn.execute(
                "insert into contacts (name, account_id) values (?, ?)",
                (name, account_id)).lastrowid
            self._insert_numbers(self.db.conn, "contact_id", contact_id, numbers or [])
        self.changed()
        return self.get(contact_id)

    def edit(self, query: str, name: str | None = None, account: str | None = None) -> dict:
        """Rename the contact QUERY names, or give it another account ("" for none; made
        if new)."""
        contact = self.one(query)
        with self.db.conn:
            if name is not None:
                self.db.execute("update contacts set name = ? where id = ?",
                                [named(name, "contact"), contact["id"]])
            if account is not None:
                self.db.execute("update contacts set account_id = ? where id = ?",
                                [_account_id(self.db.conn, account, create=True),
                                 contact["id"]])
        self.changed()
        return self.get(contact["id"])

    def remove(self, query: str) -> dict:
        """Remove the contact QUERY names with its numbers; calls linked to it keep its
        name as text."""
        contact = self.one(query)
        with self.db.conn:
            self.db.execute("delete from contacts where id = ?", [contact["id"]])
        self.changed()
        return contact

    def _insert_numbers(self, conn, owner: str, owner_id: int, numbers) -> None:
        seen = set()
        for number, kind in numbers:
            key = self.key(number)
            if key in seen:
                continue
            seen.add(key)
            conn.execute(f"insert into phones ({owner}, number, key, kind) values (?, ?, ?, ?)",
                         (owner_id, number, key, checked_kind(kind)))

    def set_account(self, contact_id: int, account_id: int | None) -> dict:
        with self.db.conn:
            self.db.execute("update contacts set account_id = ? where id = ?",
                            [account_id, contact_id])
        self.changed()
        return self.get(contact_id)

    def add_number(self, query: str, number: str, kind: str = "other") -> dict:
        """F39: add a call's number to a contact's numbers, or to an account's when QUERY
        names an account (and no contact) exactly."""
        checked_kind(kind)
        contacts = self.search(query)
        exact = [c for c in contacts if fold(c["name"]) == fold(query.strip())]
        account = self.account_named(query) if not exact else None
        if account is not None:
            self._add_number("account_id", account, number, kind)
            return {**self.account(account["id"]), "is_account": True}
        contact = self.one(query)
        self._add_number("contact_id", contact, number, kind)
        return self.get(contact["id"])

    def add_account_number(self, query: str, number: str, kind: str = "other") -> dict:
        account = self.account_one(query)
        self._add_number("account_id", account, number, checked_kind(kind))
        return self.account(account["id"])

    def _add_number(self, owner: str, record: dict, number: str, kind: str) -> None:
        key = self.key(number)
        if key in {self.key(n["number"]) for n in record["numbers"]}:
            raise WireError(ErrorCode.BAD_INPUT, f"{record['name']} already has {number}")
        with self.db.conn:
            self._insert_numbers(self.db.conn, owner, record["id"], [(number, kind)])
        self.changed()

    # -- look-ups
    def _numbers(self, owner: str, owner_id: int) -> list[dict]:
        return [dict(r) for r in self.db.query(
            f"select number, key, kind from phones where {owner} = ? order by id", [owner_id])]

    def names(self, prefix: str, limit: int) -> list[dict]:
        """Up to LIMIT contacts whose name starts with PREFIX in any case, Cyrillic too,
        with their account: what a Tab offers after `--contact`."""
        folded, found = prefix.casefold(), []
        for name, account in self.db.execute(
                "select c.name, coalesce(a.name, '') from contacts c left join accounts a "
                "on a.id = c.account_id order by c.name collate nocase, c.id"):
            if name.casefold().startswith(folded):
                found.append({"name": name, "account": account})
                if len(found) == limit:
                    break
        return found

    def get(self, contact_id: int) -> dict:
        row = self.db.execute(
            "select c.id, c.name, c.account_id, coalesce(a.name, '') from contacts c "
            "left join accounts a on a.id = c.account_id where c.id = ?",
            [contact_id]).fetchone()
        if row is None:
            raise WireError(ErrorCode.BAD_INPUT, f"no contact {contact_id} (see `cc contacts`)")
        numbers = self._numbers("contact_id", contact_id)
        phones = [n for n in numbers if n["kind"] in PHONE_KINDS]
        return {"id": row[0], "name": row[1], "account": row[3], "account_id": row[2],
                "phones": [n["number"] for n in phones],
                # What to dial: E.164 where the number is a valid public one.
                "dial": [_dial(n) for n in phones],
                "numbers": [{"number": n["number"], "kind": n["kind"]} for n in numbers]}

    def search(self, query: str = "") -> list[dict]:
        q = query.strip()
        part = phone.partial(q)
        if not q:
            ids = [r["id"] for r in self.db.query(
                "select id from contacts order by name collate nocase, id")]
        elif part is not None:
            ids = [r["contact_id"] for r in self.db.query(
                "select distinct contact_id from phones where contact_id is not null and "
                "(key like ? or number like ?)", [f"%{part}%", f"%{q}%"])]
        else:
            match, args = name_match(("c.name", "a.name"), q)
            ids = [r["id"] for r in self.db.query(
                "select c.id from contacts c left join accounts a on a.id = c.account_id "
                f"where {match} order by c.name collate nocase, c.id", args)]
        return [self.get(i) for i in ids]

    def one(self, query: str) -> dict:
        return lookup.one(self.search(query), query, "contact", "cc contacts")

    def by_number(self, number: str) -> list[dict]:
        """F5: every contact with this telephone number, however it was written."""
        key = self.key(number)
        if not key:
            return []
        ids = [r["contact_id"] for r in self.db.query(
            "select distinct contact_id from phones where key = ? and contact_id is not null "
            f"and {PHONE_SQL} order by contact_id", [key])]
        return [self.get(i) for i in ids]

    def accounts_by_number(self, number: str) -> list[dict]:
        """The accounts with this telephone number of their own."""
        key = self.key(number)
        if not key:
            return []
        ids = [r["account_id"] for r in self.db.query(
            "select distinct account_id from phones where key = ? and account_id is not null "
            f"and {PHONE_SQL} order by account_id", [key])]
        return [self.account(i) for i in ids]

    def resolve(self, number: str) -> dict:
        """Exactly one contact fills contact and account (its account); no contact and
        exactly one account with the number fills the account; several contacts list the
        candidates (F5, F32; guide §3.3.3)."""
        found = self.by_number(number)
        if len(found) == 1:
            return {"contact": found[0]["name"], "account": found[0]["account"],
                    "contact_id": found[0]["id"], "account_id": found[0]["account_id"],
                    "contact_candidates": ""}
        accounts = self.accounts_by_number(number) if not found else []
        return {"contact": "", "contact_id": None,
                "account": accounts[0]["name"] if len(accounts) == 1 else "",
                "account_id": accounts[0]["id"] if len(accounts) == 1 else None,
                "contact_candidates": json.dumps([c["name"] for c in found],
                                                 ensure_ascii=False) if found else ""}

    def history(self, query: str) -> tuple[dict, list[dict]]:
        """F40, F45: a contact's calls, newest first: those linked to it, and those with
        its numbers that no card gives to another contact."""
        contact = self.one(query)
        return contact, self._history("contact_id", contact)

    def _history(self, link: str, record: dict) -> list[dict]:
        keys = sorted({self.key(p) for p in record["phones"]} - {""})
        marks = ", ".join("?" * len(keys))
        by_number = f" or ({link} is null and number_key in ({marks}))" if keys else ""
        return [dict(r) for r in self.db.query(
            f"select {', '.join(HISTORY_COLUMNS)} from calls where {link} = ?{by_number} "
            "order by started_at desc, id desc", [record["id"], *keys])]

    # -- accounts (F51)
    def add_account(self, name: str, numbers: list[tuple[str, str]] | None = None) -> dict:
        name = named(name, "account")
        if self.account_named(name) is not None:
            raise WireError(ErrorCode.BAD_INPUT, f"the account '{name.strip()}' exists "
                            "already (see `cc accounts show`)")
        with self.db.conn:
            account_id = _account_id(self.db.conn, name, create=True)
            self._insert_numbers(self.db.conn, "account_id", account_id, numbers or [])
        self.changed()
        return self.account(account_id)

    def account(self, account_id: int) -> dict:
        name = self.db.execute("select name from accounts where id = ?",
                               [account_id]).fetchone()[0]
        numbers = self._numbers("account_id", account_id)
        phones = [n for n in numbers if n["kind"] in PHONE_KINDS]
        contacts = [r["name"] for r in self.db.query(
            "select name from contacts where account_id = ? order by name collate nocase, id",
            [account_id])]
        return {"id": account_id, "name": name, "phones": [n["number"] for n in phones],
                "dial": [_dial(n) for n in phones],
                "numbers": [{"number": n["number"], "kind": n["kind"]} for n in numbers],
                "contacts": contacts}

    def accounts(self, query: str = "") -> list[dict]:
        q = query.strip()
        part = phone.partial(q)
        if part is not None and q:
            ids = [r["account_id"] for r in self.db.query(
                "select distinct account_id from phones where account_id is not null and "
                "(key like ? or number like ?)", [f"%{part}%", f"%{q}%"])]
        else:
            match, args = name_match(("name",), q)
            ids = [r["id"] for r in self.db.query(
                f"select id from accounts where {match} order by name", args)]
        return [self.account(i) for i in ids]

    def account_named(self, name: str) -> dict | None:
        row = self.db.execute("select id from accounts where name = ?",
                              [name.strip()]).fetchone()
        return self.account(row[0]) if row else None

    def account_one(self, query: str) -> dict:
        return lookup.one(self.accounts(query), query, "account", "cc accounts")

    def remove_account(self, query: str) -> dict:
        """Remove the account QUERY names with its numbers; its contacts stay, without an
        account, and calls linked to it keep its name."""
        account = self.account_one(query)
        with self.db.conn:
            self.db.execute("delete from accounts where id = ?", [account["id"]])
        self.changed()
        return account

    def account_history(self, query: str) -> tuple[dict, list[dict]]:
        """An account's calls: those linked to it, and those with its own numbers that no
        card gives to another account."""
        account = self.account_one(query)
        return account, self._history("account_id", account)


def _dial(number: dict) -> str:
    return number["key"] if number["key"].startswith("+") else number["number"]


def _account_id(conn, name: str, create: bool = False) -> int | None:
    """The id of the account NAME (made when `create`), None for no name."""
    name = (name or "").strip()
    if not name:
        return None
    row = conn.execute("select id from accounts where name = ?", [name]).fetchone()
    if row:
        return row[0]
    if not create:
        raise WireError(ErrorCode.BAD_INPUT, f"no account '{name}' (see `cc accounts`)")
    return conn.execute("insert into accounts (name) values (?)", [name]).lastrowid


class _Directory:
    """The contacts an import merges into, held in memory for its one transaction, so a
    big import looks nothing up row by row; what it adds is written at the end, in bulk
    (`write`). Only strings and numbers are kept per contact: millions of small containers
    would cost the daemon's loop long garbage-collector pauses."""

    def __init__(self, conn):
        self.conn = conn
        self.first: dict[str, int] = {}     # a name (any case) -> its first contact
        self.bare: dict[str, int] = {}      # a name -> its first contact without numbers
        self.by_key: dict[str, int] = {}    # "name\0key" -> the first such contact with it
        self.owns: set[str] = set()         # "id\0key": the contact has the number
        self.account: dict[int, int | None] = {}
        self.name: dict[int, str] = {}
        for contact_id, name, account_id in conn.execute(
                "select id, name, account_id from contacts order by id"):
            self._known(contact_id, name.lower(), account_id)
        for contact_id, key in conn.execute("select contact_id, key from phones where "
                                            "contact_id is not null order by id"):
            self._owns(contact_id, key)
        self.accounts: dict[str, int | None] = {}
        # The import holds the write lock: the ids it gives are the ones SQLite would.
        self.next_id = max(self.account, default=0) + 1
        self.new_contacts: list[tuple] = []
        self.new_numbers: list[tuple] = []
        self.new_accounts: dict[int, int] = {}     # contact id -> the account it now has

    def _known(self, contact_id: int, lname: str, account_id: int | None) -> None:
        self.first.setdefault(lname, contact_id)
        self.bare.setdefault(lname, contact_id)
        self.account[contact_id] = account_id
        self.name[contact_id] = lname

    def _owns(self, contact_id: int, key: str) -> None:
        lname = self.name[contact_id]
        self.owns.add(f"{contact_id}\0{key}")
        self.by_key.setdefault(f"{lname}\0{key}", contact_id)
        if self.bare.get(lname) == contact_id:
            del self.bare[lname]

    def account_id(self, name: str) -> int | None:
        if name not in self.accounts:
            self.accounts[name] = _account_id(self.conn, name, create=True)
        return self.accounts[name]

    def merge(self, name: str, account: str, numbers: list[tuple[str, str, str]]) -> str:
        """One imported contact: 'added', 'updated' (numbers or an account it lacked), or
        'unchanged'. The same contact is one with the same name (any case) sharing a number
        with it, or either of them having none: importing a file twice doubles nobody."""
        account_id = self.account_id(account)
        lname = name.lower()
        keys = [key for _, key, _ in numbers if key]
        if keys:
            same = next((self.by_key[f"{lname}\0{k}"] for k in keys
                         if f"{lname}\0{k}" in self.by_key), self.bare.get(lname))
        else:
            same = self.first.get(lname)
        if same is None:
            same = self.next_id
            self.next_id += 1
            self._known(same, lname, account_id)
            self.new_contacts.append((same, name, account_id))
            self._numbers(same, numbers)
            return "added"
        changed = self._numbers(same, numbers)
        if account_id is not None and self.account[same] is None:
            self.account[same] = self.new_accounts[same] = account_id
            changed = True
        return "updated" if changed else "unchanged"

    def _numbers(self, contact_id: int, numbers) -> bool:
        """Add the numbers the contact lacks; whether there were any."""
        added = False
        for number, key, kind in numbers:
            if f"{contact_id}\0{key}" not in self.owns:
                self._owns(contact_id, key)
                self.new_numbers.append((contact_id, number, key, kind))
                added = True
        return added

    def write(self) -> None:
        self.conn.executemany("insert into contacts (id, name, account_id) values (?, ?, ?)",
                              self.new_contacts)
        self.conn.executemany("update contacts set account_id = ? where id = ?",
                              [(a, c) for c, a in self.new_accounts.items()])
        self.conn.executemany("insert into phones (contact_id, number, key, kind) "
                              "values (?, ?, ?, ?)", self.new_numbers)
