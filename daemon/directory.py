"""The colleagues' directory (F16, F18): imported from CSV, states live from the server."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time

from . import lookup, phone
from .bounded import Recent
from .folding import fold
from .infinity import InfinityError
from .wire import ErrorCode, SessionStatus, WireError

log = logging.getLogger("cc.directory")

HEADERS = {"name", "position", "department", "extension", "id_user", "phones"}
MAX_STRANGERS = 1_000     # users not in the directory whose last state is kept


class Directory:
    def __init__(self, store, states):
        self.db = store.db
        self.database = store.path
        self.states = states                 # a StateMap, for names of state IDs
        self.live: dict[int, int] = {}       # IDUser -> IDUserState, from events and polls
        self.seen_at: dict[int, float] = {}  # IDUser -> when that state was true
        self.unknown: set[int] = set()       # IDUsers the server does not know: not polled
        # Users outside the directory: (when, IDUserState), the most recent few only, so
        # events about made-up users cannot grow the daemon's memory.
        self.strangers = Recent(MAX_STRANGERS)
        self._members: set[int] | None = None   # the directory's IDUsers, read when needed

    async def import_csv(self, read) -> tuple[int, list[str]]:
        """Replace the directory with the good rows of a CSV file (`read()` gives its name
        and text); the bad ones are listed. Read, parsed and written in a thread."""
        found = await asyncio.to_thread(self._import, read)
        self.unknown.clear()       # new colleagues: ask the server about every one again
        self._members = None
        return found

    def _import(self, read) -> tuple[int, list[str]]:
        file, text = read()
        log.info("importing colleagues from %s (%d characters)", file, len(text))
        rows, skipped = [], []
        for lineno, row in lookup.csv_rows(file, text, ", ".join(sorted(HEADERS)), skipped):
            id_user = row.get("id_user") or ""
            if id_user and not id_user.isdigit():
                skipped.append(f"{file}:{lineno}: id_user '{id_user}' is not a number")
                continue
            phones = phone.split(row.get("phones"))
            extension = row.get("extension", "")
            # Internal numbers first (F16).
            ordered = ([extension] if extension else []) + [p for p in phones if p != extension]
            rows.append({"id_user": int(id_user) if id_user else None, "name": row["name"],
                         "position": row.get("position", ""),
                         "department": row.get("department", ""), "extension": extension,
                         "phones": json.dumps(ordered, ensure_ascii=False)})
        with lookup.writing(self.database) as conn:
            conn.execute("delete from colleagues")
            conn.executemany("insert into colleagues (id_user, name, position, department, "
                             "extension, phones) values (:id_user, :name, :position, "
                             ":department, :extension, :phones)", rows)
        return len(rows), skipped

    def state_seen(self, id_user: int, code: int, at: float | None = None) -> None:
        """A state from an event (now) or a poll (`at`: when the poll was sent); a poll
        answer older than the last event for that colleague is ignored."""
        at = time.monotonic() if at is None else at
        if id_user not in self.members():
            if at >= self.strangers.get(id_user, (float("-inf"), None))[0]:
                self.strangers.put(id_user, (at, code))
            return
        if at < self.seen_at.get(id_user, float("-inf")):
            return
        self.seen_at[id_user] = at
        self.live[id_user] = code

    def members(self) -> set[int]:
        """The directory's IDUsers; a stranger's state seen before an import is kept."""
        if self._members is None:
            self._members = {r["id_user"] for r in self.db.query(
                "select id_user from colleagues where id_user is not null")}
            for id_user in set(self.live) - self._members:     # left the directory
                del self.live[id_user], self.seen_at[id_user]
            for id_user in self._members & set(self.strangers.keys()):
                at, code = self.strangers.pop(id_user)
                if at >= self.seen_at.get(id_user, float("-inf")):
                    self.seen_at[id_user], self.live[id_user] = at, code
        return self._members

    async def refresh(self, client) -> None:
        """Colleagues' states from the server, for those whose events we may have missed."""
        limit = asyncio.Semaphore(8)

        async def one(id_user: int) -> None:
            async with limit:
                sent = time.monotonic()
                try:
                    code = await client.get_state(id_user)
                except InfinityError as exc:
                    if exc.not_found:          # unknown to the server: stop asking
                        self.unknown.add(id_user)
                    return                     # a failed poll: events still count
                self.state_seen(id_user, code, at=sent)

        await asyncio.gather(*(one(i) for i in self.ids()))

    async def keep_polling(self, client, session, interval) -> None:
        """Every `interval()` seconds of the session's clock (a setting the daemon may
        change while it runs), while logged in."""
        while True:
            if session.status == SessionStatus.LOGGED_IN:
                try:
                    await self.refresh(client)
                except sqlite3.Error as exc:     # a locked or full log: next time, then
                    log.warning("cannot record colleagues' states: %s", exc)
            await session.clock.sleep(interval())

    def ids(self) -> list[int]:
        return [r["id_user"] for r in self.db.query(
            "select id_user from colleagues where id_user is not null")
            if r["id_user"] not in self.unknown]

    def search(self, query: str = "") -> list[dict]:
        """By any part of the name, or any part of a number; name order."""
        found = []
        q = fold(query.strip())
        q_digits = phone.partial(query) or ""
        for row in self.db["colleagues"].rows_where(order_by="name"):
            phones = json.loads(row["phones"] or "[]")
            if q and q not in fold(row["name"]) and not (
                    q_digits and any(q_digits in phone.digits(p) for p in phones)):
                continue
            id_user = row["id_user"]
            code = self.live.get(id_user) if id_user else None
            found.append({"name": row["name"], "position": row["position"],
                          "department": row["department"], "extension": row["extension"],
                          "phones": phones, "id_user": id_user,
                          "state": self.states.view(code) if code is not None else None})
        return found

    def resolve(self, target: str) -> tuple[str, str]:
        """A transfer target -> (number, who): a number as it is, or one colleague's name."""
        if phone.is_number(target):
            return phone.strip(target), target.strip()
        colleague = lookup.one(self.search(target), target, "colleague", "cc who")
        if not colleague["phones"]:
            raise WireError(ErrorCode.BAD_INPUT, f"{colleague['name']} has no phone number")
        return colleague["phones"][0], colleague["name"]
