"""Contacts and accounts with their phone numbers (F5, F18, F31, F39, F40, F45).

Numbers are matched by `phone.key` in `contacts.default_region`, so that
`8 (044) 455-78-90`, `+380444557890` and `0444557890` are one number.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

from . import lookup, phone
from .wire import ErrorCode, WireError

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


class Contacts:
    def __init__(self, store, region: str):
        self.db = store.db
        self.database = store.path
        self.region = region

    def key(self, number: str) -> str:
        return phone.key(number, self.region)

    # -- import and edit
    async def import_file(self, read) -> tuple[int, list[str]]:
        """Add the contacts of a CSV or vCard file (`read()` gives its name and text); bad
        rows or cards are listed with their line numbers and the good ones still load.
        Read, parsed and written in a thread: a big file never stalls the daemon."""
        return await asyncio.to_thread(self._import, read)

    def _import(self, read) -> tuple[int, list[str]]:
        file, text = read()
        log.info("importing contacts from %s (%d characters)", file, len(text))
        skipped: list[str] = []
        if text.lstrip().upper().startswith("BEGIN:VCARD"):
            entries = self._from_vcard(file, text, skipped)
        else:
            entries = self._from_csv(file, text, skipped)
        del text
        for n, (name, account, phones) in enumerate(entries):   # the slow part: not locked
            entries[n] = (name, account, [(p, self.key(p)) for p in phones if p])
        with lookup.writing(self.database) as conn:
            for name, account, keyed in entries:
                contact_id = conn.execute("insert into contacts (name, account) values (?, ?)",
                                          (name, account)).lastrowid
                conn.executemany("insert into contact_phones (contact_id, number, key) "
                                 "values (?, ?, ?)", [(contact_id, *p) for p in keyed])
        return len(entries), skipped

    @staticmethod
    def _from_csv(file: Path, text: str, skipped: list[str]) -> list:
        entries = []
        for _, row in lookup.csv_rows(file, text, "name, account, phones; or a vCard file",
                                      skipped):
            entries.append((row["name"], row.get("account", ""), phone.split(row.get("phones"))))
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
            # Only telephone entries are phone numbers (F18): never EMAIL, URL, ...
            phones = [str(tel.value).strip() for tel in card.contents.get("tel", [])]
            entries.append((name, account, phones))
        return entries

    def _add(self, name: str, account: str, phones: list[str]) -> int:
        contact_id = self.db["contacts"].insert({"name": name, "account": account}).last_pk
        self.db["contact_phones"].insert_all(
            {"contact_id": contact_id, "number": p, "key": self.key(p)} for p in phones if p)
        return contact_id

    def add(self, name: str, account: str = "", phones: list[str] | None = None) -> dict:
        with self.db.conn:
            contact_id = self._add(name, account, phones or [])
        return self.get(contact_id)

    def add_number(self, query: str, number: str) -> dict:
        """F39: add a call's number to a contact's numbers."""
        contact = self.one(query)
        if self.key(number) in {self.key(p) for p in contact["phones"]}:
            raise WireError(ErrorCode.BAD_INPUT, f"{contact['name']} already has {number}")
        with self.db.conn:
            self.db["contact_phones"].insert({"contact_id": contact["id"], "number": number,
                                              "key": self.key(number)})
        return self.get(contact["id"])

    # -- look-ups
    def get(self, contact_id: int) -> dict:
        row = self.db["contacts"].get(contact_id)
        rows = list(self.db["contact_phones"].rows_where("contact_id = ?", [contact_id],
                                                        order_by="rowid"))
        return {"id": row["id"], "name": row["name"], "account": row["account"] or "",
                "phones": [r["number"] for r in rows],
                # What to dial: E.164 where the number is a valid public one.
                "dial": [r["key"] if r["key"].startswith("+") else r["number"] for r in rows]}

    def search(self, query: str = "") -> list[dict]:
        q = query.strip()
        part = phone.partial(q)
        if not q:
            ids = [r["id"] for r in self.db.query("select id from contacts order by name")]
        elif part is not None:
            ids = [r["contact_id"] for r in self.db.query(
                "select distinct contact_id from contact_phones where key like ? or number "
                "like ?", [f"%{part}%", f"%{q}%"])]
        else:
            ids = [r["id"] for r in self.db.query(
                "select id from contacts where name like ? or account like ? order by name",
                [f"%{q}%", f"%{q}%"])]
        return [self.get(i) for i in ids]

    def one(self, query: str) -> dict:
        return lookup.one(self.search(query), query, "contact", "cc contacts")

    def by_number(self, number: str) -> list[dict]:
        """F5: every contact with this number, however it was written."""
        key = self.key(number)
        if not key:
            return []
        ids = [r["contact_id"] for r in self.db.query(
            "select distinct contact_id from contact_phones where key = ?", [key])]
        return [self.get(i) for i in ids]

    def resolve(self, number: str) -> dict:
        """Exactly one match fills contact and account; several list the candidates."""
        found = self.by_number(number)
        if len(found) == 1:
            return {"contact": found[0]["name"], "account": found[0]["account"],
                    "contact_candidates": ""}
        return {"contact": "", "account": "",
                "contact_candidates": json.dumps([c["name"] for c in found],
                                                 ensure_ascii=False) if found else ""}

    def history(self, query: str) -> tuple[dict, list[dict]]:
        """F40, F45: a contact's calls, newest first."""
        contact = self.one(query)
        keys = sorted({self.key(p) for p in contact["phones"]})
        if not keys:
            return contact, []
        marks = ", ".join("?" * len(keys))
        rows = [dict(r) for r in self.db.query(
            "select id, number, direction, outcome, started_at, ended_at, talk_seconds "
            f"from calls where number_key in ({marks}) order by started_at desc", keys)]
        return contact, rows
