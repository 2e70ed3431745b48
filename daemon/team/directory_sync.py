"""The team's contacts and accounts (team.url): the team store holds them, the local
tables are the cache every look-up uses, so a call never waits on the network and an
agent without the store still resolves numbers.

Each local change to a contact, an account or their numbers queues the record's uid in
`directory_outbox` in the same transaction (triggers, store.py `_v12`); this loop sends
each queued record's current state (its row with its numbers, or a tombstone when it is
gone; last write at the store wins), then pulls every record of the team above the last
revision it saw and applies it by uid. A record with a change of its own still queued is
not overwritten: that change is newer and goes to the store next. Applying runs with
`log_meta.directory` at 'applying', so what comes from the store is not queued again.

The first time (the agent joins): the team's records are read, a local contact with the
same name (any case) and a number in common, or a local account with the same name, takes
the team's uid and the numbers it lacked, so two agents who had the same contact do not
make it twice; then every local record is queued.

    sync = DirectorySync(store, contacts, settings, clock)
    supervisor.keep("contacts sync", sync.run)
    sync.view()     # {"outbox": 0, "revision": 41, "last_pull": "…"}
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from datetime import datetime, timezone

from ..folding import fold
from . import schema
from .connect import CONNECT_TIMEOUT, TeamError, check_url, explain, password, user_of
from .replicate import _from_store, _meta, _set_meta, _version

log = logging.getLogger("cc.team.directory")

BATCH = 500                 # records a push or a pull takes at once
PULL_EVERY = 30.0           # daemon-clock seconds between pulls (a local change pushes at once)
BACKOFF_FIRST, BACKOFF_CAP = 1.0, 60.0      # daemon-clock seconds after a failure
KINDS = ("account", "contact")              # accounts first: contacts name them
TABLES = {"account": "accounts", "contact": "contacts"}


def outbox_length(conn) -> int:
    return conn.execute("select count(*) from directory_outbox").fetchone()[0]


def _numbers(conn, owner: str, owner_id: int) -> list[dict]:
    return [{"number": number, "kind": kind} for number, kind in conn.execute(
        f"select number, kind from phones where {owner}_id = ? order by id", (owner_id,))]


class DirectorySync:
    def __init__(self, store, contacts, settings: dict, clock):
        self.store = store
        self.contacts = contacts
        self.url = settings["team.url"]
        self.settings = settings
        self.clock = clock
        self.last_pull: str | None = None
        self.last_error: str | None = None
        self.refused = 0            # records the store refused (kept locally)
        self._conn = None
        self._wake = asyncio.Event()
        contacts.changed = self.wake

    @property
    def db(self):
        return self.store.db.conn

    def view(self) -> dict:
        shown = {"outbox": outbox_length(self.db),
                 "revision": int(_meta(self.db, "directory_revision") or 0),
                 "last_pull": self.last_pull}
        if self.last_error:
            shown["last_error"] = self.last_error
        if self.refused:
            shown["refused"] = self.refused
        return shown

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Kept by the supervisor: connect, join once, then push and pull, at each local
        change and every PULL_EVERY seconds; on a failure wait (doubling) and try again."""
        if (problem := check_url(self.url)) is not None:
            raise TeamError(f"team.url: {problem}")
        delay = BACKOFF_FIRST
        while True:
            try:
                await self._connect()
                await self._join()
                delay = BACKOFF_FIRST
                while True:
                    self._wake.clear()
                    while await self._push():
                        pass
                    while await self._pull():
                        pass
                    self.last_error = None
                    if not self._wake.is_set():
                        await self.clock.within(self._wake.wait(), PULL_EVERY)
            except TeamError as exc:
                self._failed(str(exc))
            except sqlite3.OperationalError as exc:
                # The call log locked by a long import, say: its turn comes at the next try.
                if not getattr(exc, "sqlite_errorname", "").startswith(("SQLITE_BUSY",
                                                                        "SQLITE_LOCKED")):
                    raise
                self._failed(f"the call log is busy ({exc}); trying again")
            except Exception as exc:    # psycopg's errors: the store or the network failed
                if not _from_store(exc):
                    raise
                self._failed(explain(exc, self.url).replace(
                    "the calls wait in the outbox", "the contacts' changes wait"))
            await self.close()
            await self.clock.sleep(delay)
            delay = min(BACKOFF_CAP, delay * 2)

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()

    def _failed(self, why: str) -> None:
        if why != self.last_error:
            log.warning("team store (contacts): %s", why)
        self.last_error = why

    async def _connect(self) -> None:
        import psycopg

        if self._conn is not None:
            return
        secret = await asyncio.to_thread(password, self.settings)
        extra = {"password": secret} if secret is not None else {}
        self._conn = await psycopg.AsyncConnection.connect(
            self.url, connect_timeout=CONNECT_TIMEOUT, application_name="cc daemon contacts",
            autocommit=True, **extra)

    async def _rows(self, sql: str, params=()) -> list[tuple]:
        return await (await self._conn.execute(sql, params)).fetchall()

    async def _join(self) -> None:
        """Check the store, and the first time merge and queue the local records."""
        if (problem := schema.mismatch(await _version(self._conn))) is not None:
            raise TeamError(problem)
        if not await self._rows(f"select team from {schema.SCHEMA}.agents "
                                "where login = current_user"):
            who = user_of(self.url)
            raise TeamError(f"{who} is not in the team table: the administrator adds it with "
                            f"`cc team add-agent {who} --team NAME`")
        if _meta(self.db, "directory") is not None:
            return
        team = {kind: await self._rows(
            f"select uid, name, {'account_uid' if kind == 'contact' else 'null'}, numbers "
            f"from {schema.SCHEMA}.{TABLES[kind]} where not deleted order by revision")
            for kind in KINDS}
        with self.db:
            matched = self._adopt(team)
            _set_meta(self.db, "directory", "on")
            for kind in KINDS:
                self.db.execute(f"insert into directory_outbox (kind, uid) select '{kind}', "
                                f"uid from {TABLES[kind]} order by id")
        log.info("joined the team's contacts: %d local record(s) to send, %d of them the "
                 "team had already", outbox_length(self.db), matched)

    def _adopt(self, team: dict) -> int:
        """Local records that are the team's already take its uid and the numbers they
        lack: an account by name, a contact by name and a number in common. The team's
        other accounts are taken as they are, so an adopted contact keeps its account."""
        db, matched = self.db, 0
        for uid, name, _, numbers in team["account"]:
            row = db.execute("select id from accounts where name = ? and uid <> ?",
                             (name.strip(), uid)).fetchone()
            if db.execute("select 1 from accounts where uid = ?", (uid,)).fetchone():
                continue
            if row is None:     # taken now: a contact adopted below may name it
                row = (db.execute("insert into accounts (uid, name) values (?, ?)",
                                  (uid, name)).lastrowid,)
            else:
                db.execute("update accounts set uid = ? where id = ?", (uid, row[0]))
                matched += 1
            self._merge_numbers("account", row[0], numbers)
        for uid, name, account_uid, numbers in team["contact"]:
            if db.execute("select 1 from contacts where uid = ?", (uid,)).fetchone():
                continue
            keys = {self.contacts.key(n["number"]) for n in numbers} - {""}
            if not keys:
                continue
            # The name compared folded here: SQLite's lower() folds ASCII only.
            row = next((found[:2] for found in db.execute(
                f"select c.id, c.account_id, c.name from contacts c where exists (select 1 "
                f"from phones p where p.contact_id = c.id and p.key in "
                f"({', '.join('?' * len(keys))})) order by c.id", tuple(keys))
                if fold(found[2]) == fold(name.strip())), None)
            if row is None:
                continue
            db.execute("update contacts set uid = ? where id = ?", (uid, row[0]))
            self._merge_numbers("contact", row[0], numbers)
            if row[1] is None and account_uid:
                db.execute("update contacts set account_id = (select id from accounts where "
                           "uid = ?) where id = ?", (account_uid, row[0]))
            matched += 1
        return matched

    def _merge_numbers(self, kind: str, owner_id: int, numbers: list[dict]) -> None:
        have = {key for (key,) in self.db.execute(
            f"select key from phones where {kind}_id = ?", (owner_id,))}
        for number in numbers:
            key = self.contacts.key(number["number"])
            if key not in have:
                have.add(key)
                self.db.execute(f"insert into phones ({kind}_id, number, key, kind) "
                                "values (?, ?, ?, ?)",
                                (owner_id, number["number"], key, number["kind"]))

    # -- push
    def _local(self, kind: str, uid: str) -> dict | None:
        """A record as the store keeps it, from the local tables; None when it is gone."""
        if kind == "account":
            row = self.db.execute("select id, name, null from accounts where uid = ?",
                                  (uid,)).fetchone()
        else:
            row = self.db.execute("select c.id, c.name, a.uid from contacts c left join "
                                  "accounts a on a.id = c.account_id where c.uid = ?",
                                  (uid,)).fetchone()
        if row is None:
            return None
        return {"name": row[1], "account_uid": row[2],
                "numbers": _numbers(self.db, kind, row[0])}

    async def _push(self) -> bool:
        """Send the oldest BATCH queued records; whether there were any."""
        entries = self.db.execute("select seq, kind, uid from directory_outbox order by seq "
                                  "limit ?", (BATCH,)).fetchall()
        if not entries:
            return False
        queued = list(dict.fromkeys((kind, uid) for _, kind, uid in entries))
        queued.sort(key=lambda entry: KINDS.index(entry[0]))
        async with self._conn.transaction():
            for kind, uid in queued:
                record = self._local(kind, uid)
                await self._refusable(kind, uid, record)
        with self.db:
            self.db.execute("delete from directory_outbox where seq <= ?", (entries[-1][0],))
        return True

    async def _refusable(self, kind: str, uid: str, record: dict | None) -> None:
        """Upsert one record (a tombstone when None); one the store refuses (a name too
        long, say) is logged and stays local only, never holding back the rest."""
        import psycopg

        table = f"{schema.SCHEMA}.{TABLES[kind]}"
        gone = record is None
        record = record or {"name": "", "account_uid": None, "numbers": []}
        columns = ["uid", "name", "numbers", "deleted"]
        values = [uid, record["name"], json.dumps(record["numbers"]), gone]
        if kind == "contact":
            columns.append("account_uid")
            values.append(record["account_uid"])
        sql = (f"insert into {table} ({', '.join(columns)}) values "
               f"({', '.join(['%s'] * len(columns))}) on conflict (uid) do update set "
               + ", ".join(f"{c} = excluded.{c}" for c in columns[1:]))
        try:
            async with self._conn.transaction():         # a savepoint
                await self._conn.execute(sql, values)
        except (psycopg.errors.IntegrityError, psycopg.errors.DataError,
                psycopg.errors.InsufficientPrivilege) as exc:
            self.refused += 1
            log.warning("team store refused the %s %s (%s): %s; it stays in this agent's "
                        "contacts only", kind, record["name"] or "(removed)", uid,
                        " ".join(str(exc).split()))

    # -- pull
    async def _pull(self) -> bool:
        """Apply the next BATCH of the team's changes; whether there may be more."""
        last = int(_meta(self.db, "directory_revision") or 0)
        rows = await self._rows(
            f"select 'account', uid, name, null, numbers, deleted, revision "
            f"from {schema.SCHEMA}.accounts where revision > %s union all "
            f"select 'contact', uid, name, account_uid, numbers, deleted, revision "
            f"from {schema.SCHEMA}.contacts where revision > %s "
            "order by 7 limit %s", (last, last, BATCH))
        self.last_pull = datetime.now(timezone.utc).isoformat(timespec="seconds")
        if not rows:
            return False
        rows.sort(key=lambda r: (KINDS.index(r[0]), r[6]))
        with self.db:
            _set_meta(self.db, "directory", "applying")
            try:
                for kind, uid, name, account_uid, numbers, deleted, _ in rows:
                    # Asked each time: applying an account may queue its contacts.
                    if not self.db.execute("select 1 from directory_outbox where kind = ? "
                                           "and uid = ?", (kind, uid)).fetchone():
                        self._applied(kind, uid, name, account_uid, numbers, deleted)
            finally:
                _set_meta(self.db, "directory", "on")
            _set_meta(self.db, "directory_revision", str(max(r[6] for r in rows)))
        return len(rows) == BATCH

    def _applied(self, *record) -> None:
        """Apply one record pulled, or none of it: one the local tables refuse (an account
        renamed to a name another has here, say) is logged and skipped."""
        self.db.execute("savepoint pulled")
        try:
            self._apply(*record)
        except _Skip:
            pass
        except sqlite3.IntegrityError as exc:
            log.warning("the team's %s %s (%s) was not taken into the local contacts: %s",
                        record[0], record[2] or "(removed)", record[1], exc)
            self.db.execute("rollback to pulled")
        self.db.execute("release pulled")

    def _apply(self, kind: str, uid: str, name: str, account_uid: str | None,
               numbers: list[dict], deleted: bool) -> None:
        table = TABLES[kind]
        db = self.db
        if deleted:
            # Calls linked to it keep their text names; their link is cleared (on delete
            # set null), the numbers go with it (on delete cascade).
            db.execute(f"delete from {table} where uid = ?", (uid,))
            return
        local = self._local(kind, uid)
        if local == {"name": name, "account_uid": account_uid, "numbers": numbers}:
            return
        row = db.execute(f"select id from {table} where uid = ?", (uid,)).fetchone()
        if kind == "account":
            if row is None and (row := self._same_name(uid, name)) is not None:
                db.execute("update accounts set name = ?, uid = ? where id = ?",
                           (name, uid, row[0]))
                self._merge_numbers(kind, row[0], numbers)      # both sides' numbers
                return
            if row is None:
                row = (db.execute("insert into accounts (uid, name) values (?, ?)",
                                  (uid, name)).lastrowid,)
            else:
                db.execute("update accounts set name = ?, uid = ? where id = ?",
                           (name, uid, row[0]))
        else:
            account = db.execute("select id from accounts where uid = ?",
                                 (account_uid,)).fetchone() if account_uid else None
            account_id = account[0] if account else None
            if row is None:
                row = (db.execute("insert into contacts (uid, name, account_id) values "
                                  "(?, ?, ?)", (uid, name, account_id)).lastrowid,)
            else:
                db.execute("update contacts set name = ?, account_id = ? where id = ?",
                           (name, account_id, row[0]))
        db.execute(f"delete from phones where {kind}_id = ?", (row[0],))
        self._merge_numbers(kind, row[0], numbers)

    def _same_name(self, uid: str, name: str) -> tuple | None:
        """A local account of the same name as a team's account it is not (two agents made
        it apart): the lower uid is kept on both sides, with the numbers of both; the other
        is removed from the store, the contacts that named it sent again."""
        row = self.db.execute("select id, uid from accounts where name = ?",
                              (name.strip(),)).fetchone()
        if row is None:
            return None
        if row[1] < uid:        # ours stays: the colleague's daemon takes it
            raise _Skip
        self.db.execute("insert into directory_outbox (kind, uid) values ('account', ?), "
                        "('account', ?)", (row[1], uid))
        self.db.execute("insert into directory_outbox (kind, uid) select 'contact', uid "
                        "from contacts where account_id = ?", (row[0],))
        return (row[0],)


class _Skip(Exception):
    """A record pulled that this side keeps its own version of."""
