"""Replication of the call log to the team store: the local log stays the record, written
first; every change queues the call's identity in the log's outbox in the same
transaction (triggers, see store.py), and this loop sends the calls' current rows to
PostgreSQL in order, in batches, idempotently (the call's identity is the store's unique
key), and clears what the store took. A store down for minutes or days loses nothing:
the outbox waits, and the loop catches up by itself.

    replicator = Replicator(store, settings, clock)
    supervisor.keep("team", replicator.run)
    replicator.view()     # {"outbox": 0, "last_sync": "…", "prefix": "IVANOVA", …}
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timezone

from . import schema
from .catalogue import Catalogues
from ..wire import DESCRIPTION_BYTES
from .connect import CONNECT_TIMEOUT, TeamError, check_url, explain, password, user_of

log = logging.getLogger("cc.team")

BATCH = 500                 # outbox entries a transaction takes
IDLE_CHECK = 1.0            # real seconds between looks at an empty outbox
BACKOFF_FIRST, BACKOFF_CAP = 1.0, 60.0      # daemon-clock seconds after a failure
ARRIVAL_KEPT = 180.0        # seconds an arrival waits for its hand-over (the window and more)
EXPIRE_EVERY = 3600.0       # real seconds between removals of this agent's stale hand-overs
STALE = "1 day"             # unclaimed hand-overs and unmatched arrivals are kept this long
MAX_FIELD = 10_000          # characters of one field of a card handed over
TIMESTAMPS = {name for name, kind in schema.CALL_COLUMNS.items()
              if kind.startswith("timestamptz")}
HANDED_OVER = (*schema.CARD_FIELDS, "description")    # what a hand-over's card carries


def _meta(conn, key: str) -> str | None:
    row = conn.execute("select value from log_meta where key = ?", (key,)).fetchone()
    return row[0] if row else None


def _set_meta(conn, key: str, value: str) -> None:
    conn.execute("insert into log_meta (key, value) values (?, ?) on conflict (key) "
                 "do update set value = excluded.value", (key, value))


def card_fields(card) -> dict:
    """What a colleague's hand-over may put on this agent's card, checked where it enters:
    the card's own fields only (never a number, an outcome or a card number), each text of
    one to MAX_FIELD characters without NUL."""
    if not isinstance(card, dict):
        return {}
    return {name: value for name, value in card.items()
            if name in HANDED_OVER and isinstance(value, str)
            and 0 < len(value) <= (DESCRIPTION_BYTES if name == "description" else MAX_FIELD)
            and "\x00" not in value
            and (name != "description" or len(value.encode()) <= DESCRIPTION_BYTES)}


def _count(conn, table: str) -> int:
    return conn.execute(f"select count(*) from {table}").fetchone()[0]


def outbox_length(conn) -> int:
    return _count(conn, "team_outbox")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class Replicator:
    def __init__(self, store, settings: dict, clock):
        self.store = store
        self.url = settings["team.url"]
        self.settings = settings
        self.clock = clock
        self.prefix: str | None = _meta(store.db.conn, "team_prefix")
        self.last_sync: str | None = _meta(store.db.conn, "team_last_sync")
        self.last_error: str | None = None
        self.warning: str | None = None     # what works, but not as the team expects
        self.refused = 0            # calls the store refused (kept in the local log)
        self._pool = None
        self._expired_at = float("-inf")
        self._wake = asyncio.Event()
        # How a card handed over with a transferred call reaches this agent's call: the
        # call tracker's take_card (the call it follows, then the log).
        self.apply_card = store.fill_card
        self.catalogues = Catalogues(store, clock)     # the team's catalogues, copied
        if self.prefix:
            store.number_mask = f"{self.prefix}-{{n:06}}"

    def view(self) -> dict:
        shown = {"url": self.url, "outbox": outbox_length(self.store.db.conn),
                 "last_sync": self.last_sync, "prefix": self.prefix}
        if self.last_error:
            shown["last_error"] = self.last_error
        if self.refused:
            shown["refused"] = self.refused
        if self.warning:
            shown["warning"] = self.warning
        return shown

    def wake(self) -> None:
        self._wake.set()

    # The card following a transfer.
    def hand_over(self, call: dict, target: str, from_extension: str,
                  seance: str | None = None) -> None:
        """Queue A's hand-over of `call` (its log row) to `target` (an extension or a
        number), before the server is asked to transfer; the loop sends it at once."""
        handover = {"from_extension": from_extension, "target": target,
                    "caller": call.get("number") or "anonymous", "call_id": call["call_id"],
                    "seance": seance or None, "made_at": _now(),
                    "card": {f: call[f] for f in HANDED_OVER if call.get(f)}}
        db = self.store.db.conn
        with db:
            db.execute("insert into team_handovers (handover) values (?)",
                       (json.dumps(handover),))
        self.wake()

    async def handed_over(self, timeout: float) -> bool:
        """Wait (real seconds) until the hand-overs queued so far reached the store."""
        deadline = asyncio.get_running_loop().time() + timeout
        while _count(self.store.db.conn, "team_handovers"):
            if asyncio.get_running_loop().time() >= deadline:
                return False
            self.wake()
            await asyncio.sleep(0.02)
        return True

    def arrived(self, key: tuple, extension: str, caller: str, from_extension: str | None,
                seance: str | None = None) -> None:
        """B's transferred call arrived: ask the store for the card handed over with it
        (now, and while the window lasts)."""
        arrival = {"extension": extension, "caller": caller or "anonymous",
                   "from_extension": from_extension or None, "seance": seance or None,
                   "arrived_at": _now()}
        db = self.store.db.conn
        with db:
            db.execute("insert into team_arrivals (server, call_id, agent, arrival) values "
                       "(?, ?, ?, ?) on conflict do nothing", (*key, json.dumps(arrival)))
        self.wake()

    async def run(self) -> None:
        """Kept by the supervisor: connect, adopt the team's numbering, send the outbox,
        and on any failure wait (doubling, on the daemon's clock) and try again."""
        if (problem := check_url(self.url)) is not None:
            raise TeamError(f"team.url: {problem}")
        delay = BACKOFF_FIRST
        while True:
            try:
                await self._connect()
                await self._join()
                delay = BACKOFF_FIRST
                while True:
                    if not await self._send_batch():
                        await self._idle()
            except TeamError as exc:
                self._failed(str(exc))
            except Exception as exc:    # psycopg's and the pool's errors: the store, not us
                if not _from_store(exc):
                    raise
                self._failed(explain(exc, self.url))
            await self._close_pool()
            await self.clock.sleep(delay)
            delay = min(BACKOFF_CAP, delay * 2)

    async def close(self) -> None:
        await self._close_pool()

    def _failed(self, why: str) -> None:
        if why != self.last_error:
            log.warning("team store: %s", why)
        self.last_error = why

    async def _connect(self) -> None:
        from psycopg_pool import AsyncConnectionPool

        if self._pool is not None:
            return
        secret = await asyncio.to_thread(password, self.settings)
        extra = {"password": secret} if secret is not None else {}
        self._pool = AsyncConnectionPool(
            self.url, min_size=1, max_size=2, open=False, timeout=CONNECT_TIMEOUT,
            kwargs={"connect_timeout": CONNECT_TIMEOUT, "application_name": "cc daemon",
                    "autocommit": True, **extra})
        await self._pool.open(wait=True, timeout=CONNECT_TIMEOUT)

    async def purge(self, days: int) -> int:
        """This agent's calls older than `days` days leave the team store (the store's
        function takes the agent from the session); how many."""
        if self._pool is None:
            raise TeamError(self.last_error or "not connected to the team store yet")
        try:
            async with self._pool.connection() as conn:
                row = await (await conn.execute(f"select {schema.SCHEMA}.purge_calls(%s)",
                                                (days,))).fetchone()
        except Exception as exc:
            if not _from_store(exc):
                raise
            raise TeamError(explain(exc, self.url)) from None
        return int(row[0])

    async def _close_pool(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def _join(self) -> None:
        """Check the schema, read this agent's prefix and last counter in the store, and
        number the local log the team's way (once), then queue the whole log (once)."""
        async with self._pool.connection() as conn:
            if (problem := schema.mismatch(await _version(conn))) is not None:
                raise TeamError(problem)
            row = await (await conn.execute(
                f"select prefix from {schema.SCHEMA}.agents where login = current_user")
            ).fetchone()
            if row is None:
                who = user_of(self.url)
                raise TeamError(f"{who} is not in the team table: the administrator adds it "
                                f"with `cc team add-agent {who} --team NAME`")
            last = (await (await conn.execute(
                f"select coalesce(max(counter), 0) from {schema.SCHEMA}.calls "
                "where agent = current_user")).fetchone())[0]
        db = self.store.db.conn
        with db:
            self.store.raise_floor(int(last))     # a new machine numbers on, never again
            if row[0] != self.prefix:
                self.prefix = row[0]
                self.store.number_mask = f"{self.prefix}-{{n:06}}"
                _set_meta(db, "team_prefix", self.prefix)
                db.execute("update calls set counter_number = ? || '-' || "
                           "printf('%06d', counter) where counter is not null", (self.prefix,))
            if _meta(db, "team") != "on":
                _set_meta(db, "team", "on")
                db.execute("insert into team_outbox (server, call_id, agent) "
                           "select server, call_id, coalesce(agent, '') from calls "
                           "order by id")
        self.last_error = None

    async def _idle(self) -> None:
        self._wake.clear()
        try:
            await asyncio.wait_for(self._wake.wait(), IDLE_CHECK)
        except asyncio.TimeoutError:
            pass

    async def _send_batch(self) -> bool:
        """Send the hand-overs, the arrivals, then the oldest BATCH outbox entries' calls;
        whether there were any."""
        sent = await self._send_handovers()
        await self._send_arrivals()
        await self._expire()
        await self.catalogues.keep_fresh(self._pool)
        return await self._send_calls() or sent

    async def _expire(self) -> None:
        """Unclaimed hand-overs expire: this agent's own, and its arrivals that found
        none, go from the store a day on (the window to match them is minutes)."""
        now = asyncio.get_running_loop().time()
        if now - self._expired_at < EXPIRE_EVERY:
            return
        async with self._pool.connection() as conn:
            async with conn.transaction():
                await conn.execute(f"delete from {schema.SCHEMA}.handovers where from_agent = "
                                   f"current_user and claimed_by is null and made_at < now() - "
                                   f"interval '{STALE}'")
                await conn.execute(f"delete from {schema.SCHEMA}.arrivals where agent = "
                                   f"current_user and handover is null and arrived_at < now() - "
                                   f"interval '{STALE}'")
        self._expired_at = now

    async def _send_handovers(self) -> bool:
        db = self.store.db.conn
        queued = db.execute("select seq, handover from team_handovers order by seq "
                            "limit ?", (BATCH,)).fetchall()
        if not queued:
            return False
        async with self._pool.connection() as conn:
            async with conn.transaction():
                for _, text in queued:
                    h = json.loads(text)
                    await self._refusable(conn, f"the hand-over of call {h['call_id']}",
                        f"insert into {schema.SCHEMA}.handovers (from_extension, target, "
                        "caller, call_id, seance, made_at, card) values "
                        "(%s, %s, %s, %s, %s, %s, %s)",
                        (h["from_extension"], h["target"], h["caller"], h["call_id"],
                         h["seance"], h["made_at"], json.dumps(h["card"])))
        with db:
            db.execute("delete from team_handovers where seq <= ?", (queued[-1][0],))
        return True

    async def _send_arrivals(self) -> None:
        """Record the arrivals not yet in the store (each claims a hand-over that fits),
        fill the cards of those matched since, and forget those past the window."""
        db = self.store.db.conn
        waiting = db.execute("select server, call_id, agent, arrival, sent "
                             "from team_arrivals").fetchall()
        if not waiting:
            return
        async with self._pool.connection() as conn:
            mine = (await (await conn.execute(
                f"select extension from {schema.SCHEMA}.agents where login = current_user"
            )).fetchone() or (None,))[0]
            skipped = set()
            async with conn.transaction():
                for server, call_id, agent, text, sent in waiting:
                    if sent:
                        continue
                    a = json.loads(text)
                    if a["extension"] != mine:      # the store could not match it to us
                        self._wrong_extension(mine, a["extension"])
                        skipped.add(call_id)
                        continue
                    self.warning = None
                    await self._refusable(conn, f"the arrival of call {call_id}",
                        f"insert into {schema.SCHEMA}.arrivals (extension, caller, "
                        "from_extension, call_id, seance, arrived_at) values "
                        "(%s, %s, %s, %s, %s, %s) on conflict (agent, call_id) do nothing",
                        (a["extension"], a["caller"], a["from_extension"], call_id,
                         a["seance"], a["arrived_at"]))
            cards = {call_id: (card, giver) for call_id, card, giver in await (
                await conn.execute(
                    f"select a.call_id, h.card, h.from_agent::text from {schema.SCHEMA}."
                    f"arrivals a join {schema.SCHEMA}.handovers h on h.id = a.handover "
                    "where a.agent = current_user and a.call_id = any(%s)",
                    ([w[1] for w in waiting],))).fetchall()}
        expired = datetime.now(timezone.utc).timestamp() - ARRIVAL_KEPT
        with db:
            for server, call_id, agent, text, _ in waiting:
                key = (server, call_id, agent)
                if call_id in cards:
                    card, giver = cards[call_id]
                    self.apply_card(key, card_fields(card), giver or "")
                elif datetime.fromisoformat(json.loads(text)["arrived_at"]).timestamp() \
                        > expired:
                    if call_id in skipped:
                        continue
                    db.execute("update team_arrivals set sent = 1 where server = ? and "
                               "call_id = ? and agent = ?", key)
                    continue
                db.execute("delete from team_arrivals where server = ? and call_id = ? and "
                           "agent = ?", key)

    async def _refusable(self, conn, what: str, sql: str, params) -> None:
        """One statement of a batch the store may refuse for its own reasons (a rule of
        the database, say): refused, it is logged and dropped, never holding back the
        calls behind it."""
        import psycopg

        try:
            async with conn.transaction():          # a savepoint
                await conn.execute(sql, params)
        except (psycopg.errors.IntegrityError, psycopg.errors.DataError,
                psycopg.errors.InsufficientPrivilege, psycopg.errors.RaiseException) as exc:
            log.warning("team store refused %s: %s", what, " ".join(str(exc).split()))

    def _wrong_extension(self, kept: str | None, ours: str) -> None:
        who = user_of(self.url)
        warning = (f"the team table gives {who} extension {kept or '(none)'} but the server "
                   f"says {ours}: cards handed over in transfers cannot reach you until the "
                   f"lead runs `cc team add-agent {who} --team NAME --extension {ours}`")
        if warning != self.warning:
            log.warning("team store: %s", warning)
        self.warning = warning

    async def _send_calls(self) -> bool:
        """Send the oldest BATCH outbox entries' calls; whether there were any."""
        db = self.store.db.conn
        entries = db.execute("select seq, server, call_id, agent from team_outbox "
                             "order by seq limit ?", (BATCH,)).fetchall()
        if not entries:
            return False
        last_seq = entries[-1][0]
        keys = list(dict.fromkeys((server, call_id, agent)
                                  for _, server, call_id, agent in entries))
        rows, gone = [], []
        for key in keys:
            row = self.store.open_row(*key)
            (rows.append(row) if row is not None else gone.append(key))
        await self._write(rows, gone)
        with db:
            db.execute("delete from team_outbox where seq <= ?", (last_seq,))
            self.last_sync = datetime.now(timezone.utc).isoformat(timespec="seconds")
            _set_meta(db, "team_last_sync", self.last_sync)
        self.last_error = None
        return True

    async def _write(self, rows: list[dict], gone: list[tuple]) -> None:
        import psycopg

        async with self._pool.connection() as conn:
            try:
                async with conn.transaction():
                    await _upsert(conn, rows)
                    await _delete(conn, gone)
                return
            except psycopg.errors.UniqueViolation as exc:
                if exc.diag.constraint_name != "calls_agent_counter_key":
                    raise
                await self._renumber(conn, rows)
                raise TeamError("card numbers clashed with the team store's; renumbered "
                                "the calls concerned and sending again") from None
            except (psycopg.errors.DataError, psycopg.errors.IntegrityError):
                pass
            # One row the store refuses must not hold the rest back: each on its own.
            for row in rows:
                try:
                    async with conn.transaction():
                        await _upsert(conn, [row])
                except (psycopg.errors.DataError, psycopg.errors.IntegrityError) as exc:
                    self.refused += 1
                    log.error("team store refused call %s (%s): %s; it stays in the local "
                              "log", row.get("counter_number"), row.get("call_id"),
                              " ".join(str(exc).split()))
            async with conn.transaction():
                await _delete(conn, gone)

    async def _renumber(self, conn, rows: list[dict]) -> None:
        """Give the calls whose counter another call of this agent has in the store new
        numbers above everything the store has."""
        last = (await (await conn.execute(
            f"select coalesce(max(counter), 0) from {schema.SCHEMA}.calls "
            "where agent = current_user")).fetchone())[0]
        taken = {(s, c, n) for s, c, n in await (await conn.execute(
            f"select server, call_id, counter from {schema.SCHEMA}.calls "
            "where agent = current_user and counter = any(%s)",
            ([r["counter"] for r in rows],))).fetchall()}
        clash = [r for r in rows
                 if any(n == r["counter"] and (s, c) != (r["server"], r["call_id"])
                        for s, c, n in taken)]
        self.store.raise_floor(int(last))
        for row in clash:
            self.store.renumber(row["id"])


async def _version(conn) -> int:
    found = await (await conn.execute("select to_regclass(%s)",
                                      (f"{schema.SCHEMA}.schema_version",))).fetchone()
    if found[0] is None:
        return 0
    row = await (await conn.execute(
        f"select version from {schema.SCHEMA}.schema_version")).fetchone()
    return int(row[0]) if row else 0


COLUMNS = ("server", "call_id", "counter", *schema.CALL_COLUMNS, *schema.ADDED_COLUMNS)
UPSERT = (f"insert into {schema.SCHEMA}.calls ({', '.join(COLUMNS)}) "
          f"values ({', '.join(['%s'] * len(COLUMNS))}) "
          "on conflict (server, call_id, agent) do update set "
          + ", ".join(f"{c} = excluded.{c}" for c in COLUMNS[2:])
          + f" where {schema.SCHEMA}.calls.updated_at is null or excluded.updated_at is null"
          f" or excluded.updated_at >= {schema.SCHEMA}.calls.updated_at")


def _values(row: dict) -> list:
    values = []
    for column in COLUMNS:
        value = row.get(column)
        if column in TIMESTAMPS and value == "":
            value = None
        if column == "direction" and value is None:
            value = ""
        values.append(value)
    return values


async def _upsert(conn, rows: list[dict]) -> None:
    if rows:
        async with conn.cursor() as cur:
            await cur.executemany(UPSERT, [_values(row) for row in rows])


async def _delete(conn, gone: list[tuple]) -> None:
    for server, call_id, _agent in gone:
        await conn.execute(f"delete from {schema.SCHEMA}.calls where server = %s and "
                           "call_id = %s and agent = current_user", (server, call_id))


def _from_store(exc: Exception) -> bool:
    """Whether an exception is psycopg's or its pool's (the store or the network failed)."""
    module = type(exc).__module__ or ""
    return module.startswith(("psycopg", "psycopg_pool")) or isinstance(exc, OSError)
