"""The call log on SQLite (sqlite-utils): schema, migrations, writes and queries.

A call is written when it starts and updated as it goes, so a crash never loses one.
When the database cannot be written (disk full, locked, damaged) the row waits in memory
and in the spool beside the log (`spool.py`), and is written at the next attempt or the
next start. A damaged log is found at start, set aside, and a fresh one begun
(`open_store`).
"""

from __future__ import annotations

import errno
import os
import re
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from . import periods
from .folding import name_match
from .wire import LOG_COLUMNS as COLUMNS
from .wire import NOT_ACCEPTED

if TYPE_CHECKING:       # imported when used: cc report and cc doctor do without them
    import sqlite_utils

    from .spool import Spool

Key = tuple[str, str, str]      # (server, call_id, agent): a call's identity


def identity(row: dict) -> Key:
    return (row.get("server") or "", str(row["call_id"]), row.get("agent") or "")


def _log():
    import logging      # here, not at the top: cc report loads this module, not logging

    return logging.getLogger("cc.store")


SORT_COLUMNS = {"start": "started_at", "talk": "talk_seconds", "hold": "hold_seconds",
                "wait": "wait_seconds", "processing": "processing_seconds"}
LOCK_WAIT = 0.25        # seconds: the daemon writes in its loop and retries a locked log later


def open_log(path: Path | str, read_only: bool = False, timeout: float = 5.0) -> sqlite3.Connection:
    """The one way to open the call log, as a plain sqlite3 connection.

    Read-write (the daemon): the directory and file are made if missing, in WAL mode so
    readers never wait for the writer. Read-only (cc report, cc doctor, exports): SQLite's
    `mode=ro`, so the reader can never change the log. `timeout` is how many seconds a
    statement waits for a lock. Raises FileNotFoundError or IsADirectoryError when a
    read-only log is not a file there (OSError when it is a FIFO or a device), sqlite3.Error
    when SQLite cannot open or read it.
    """
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
        return _checked(sqlite3.connect(path, timeout=timeout), "PRAGMA journal_mode = wal")
    if not path.exists():
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(path))
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    if not path.is_file():      # SQLite would wait on a FIFO for a writer, for ever
        raise OSError(errno.EINVAL, "not a regular file", str(path))
    uri = f"{path.resolve().as_uri()}?mode=ro"
    probe = "select count(*) from sqlite_master"    # reading the schema opens the WAL too
    try:
        return _checked(sqlite3.connect(uri, uri=True, timeout=timeout), probe)
    except sqlite3.OperationalError as exc:
        # A WAL log in a directory we cannot write (a backup, another user's copy):
        # with no write-ahead file left nobody is writing it, so read the file as is.
        wal = path.with_name(path.name + "-wal")
        if "readonly" not in str(exc) or (wal.exists() and wal.stat().st_size):
            raise
    return _checked(sqlite3.connect(f"{uri}&immutable=1", uri=True, timeout=timeout), probe)


def _checked(conn: sqlite3.Connection, sql: str) -> sqlite3.Connection:
    """The connection once `sql` has run on it; closed if it failed."""
    try:
        conn.execute(sql).fetchall()
    except sqlite3.Error:
        conn.close()
        raise
    return conn


def _v1(db: sqlite_utils.Database) -> None:
    db["calls"].create({
        "id": int, "call_id": str, "direction": str, "number": str, "agent": str,
        "extension": str, "started_at": str, "connected_at": str, "ended_at": str,
        "wait_seconds": float, "talk_seconds": float, "hold_seconds": float,
        "outcome": str, "line_state": str, "durations_from": str, "updated_at": str,
    }, pk="id", not_null={"call_id", "direction", "started_at"})
    db["calls"].create_index(["started_at"])
    db["calls"].create_index(["call_id"])


def _v2(db: sqlite_utils.Database) -> None:
    """Transfers, end reasons, wrap-up times, dial mode, group; the colleagues' directory."""
    calls = db["calls"]
    for column, kind in (("end_reason", str), ("transfer_from", str), ("transfer_to", str),
                         ("transfer_number", str), ("processing_started_at", str),
                         ("processing_ended_at", str), ("processing_seconds", float),
                         ("dial_mode", str), ("group_number", str)):
        calls.add_column(column, kind)
    db["colleagues"].create({
        "id": int, "id_user": int, "name": str, "position": str, "department": str,
        "extension": str, "phones": str,
    }, pk="id", not_null={"name"})
    db["colleagues"].create_index(["id_user"])
    db["colleagues"].create_index(["extension"])


def _v3(db: sqlite_utils.Database) -> None:
    """Indices for the log's filters, so a filtered page stays fast on a big log."""
    for columns in (["direction", "started_at"], ["agent", "started_at"],
                    ["outcome", "started_at"], ["talk_seconds"], ["hold_seconds"],
                    ["wait_seconds"], ["processing_seconds"]):
        db["calls"].create_index(columns, if_not_exists=True)


def _v4(db: sqlite_utils.Database) -> None:
    """Contacts and accounts with their numbers; each call's contact and number key."""
    from .phone import key

    db["contacts"].create({"id": int, "name": str, "account": str}, pk="id",
                          not_null={"name"})
    db["contacts"].create_index(["name"])
    db["contact_phones"].create({"contact_id": int, "number": str, "key": str},
                                foreign_keys=[("contact_id", "contacts", "id")])
    db["contact_phones"].create_index(["key"])
    db["contact_phones"].create_index(["contact_id"])
    for column in ("contact", "account", "contact_candidates", "number_key"):
        db["calls"].add_column(column, str)
    # Calls logged before keys existed: keyed without a region (E.164 or bare digits).
    # One statement, not one update per call: a big log migrates in seconds.
    db.conn.create_function("cc_number_key", 1, lambda number: key(number or "", ""),
                            deterministic=True)
    db.execute("update calls set number_key = cc_number_key(number)")
    db["calls"].create_index(["number_key"])


WRAPUP_FIELDS = ("call_type", "subject", "result", "notes")
LINKS = ("task", "sale", "project", "project_path", "incident", "campaign", "survey")
CARD_FIELDS = ("counter_number", *WRAPUP_FIELDS, "contact", "account")


def card_of(row: dict) -> dict:
    """A logged call's card as hooks get it: its fields and every kind of link, '' where
    empty (a record not written yet has no number)."""
    card = {name: row.get(name) or "" for name in CARD_FIELDS}
    card["links"] = {kind: row.get(f"link_{kind}") or "" for kind in LINKS}
    return card


# What a new call log's catalogues, and a new team's in the team store, start with.
CATALOG_DEFAULTS = tuple(("types", name, "") for name in (
    "consultation", "sale", "complaint", "support")) + (
    ("results", "resolved", "green"), ("results", "callback", "yellow"),
    ("results", "escalated", "red"), ("results", "no-decision", "grey"))
CATALOG_COLOURS = ("green", "yellow", "red", "blue", "magenta", "cyan", "grey", "white")


def _v5(db: sqlite_utils.Database) -> None:
    """The call card (F22, F30, F41): type, subject, result, links, notes, counter number;
    the catalogues of call types and results (F44)."""
    for column in (*WRAPUP_FIELDS, *(f"link_{name}" for name in LINKS), "counter_number"):
        db["calls"].add_column(column, str)
    db["calls"].add_column("counter", int)
    # Number the calls logged so far in the order they were made.
    db.execute("""update calls set counter = numbered.n, counter_number = printf('CALL-%06d',
                  numbered.n)
                  from (select id, row_number() over (order by started_at, id) as n
                        from calls) as numbered
                  where calls.id = numbered.id""")
    db["catalog"].create({"kind": str, "name": str, "colour": str}, pk=("kind", "name"))
    db["catalog"].insert_all([{"kind": kind, "name": name, "colour": colour}
                              for kind, name, colour in CATALOG_DEFAULTS])


def _v6(db: sqlite_utils.Database) -> None:
    """An index on the counter: numbering a new call must not scan the whole log."""
    db["calls"].create_index(["counter"], if_not_exists=True)


def _v7(db: sqlite_utils.Database) -> None:
    """A call is logged once: (server, call id, agent) is unique. The second records an
    older cc wrote for one call (a restart while the server still listed it) go; the
    first, the call as it was, stays."""
    db["calls"].add_column("server", str, not_null_default="")
    db.execute("delete from calls where id not in "
               "(select min(id) from calls group by call_id, agent)")
    db["calls"].create_index(["server", "call_id", "agent"], unique=True,
                             index_name="calls_identity")


DURATIONS = ("wait_seconds", "talk_seconds", "hold_seconds", "processing_seconds")
MAX_SECONDS = 7 * 86400     # no one call lasts a week: the edge refuses such figures too


def _v8(db: sqlite_utils.Database) -> None:
    """The database refuses durations no call can have (negative, a week or more, not
    finite), and keeps where a fresh log's card numbers start (after a damaged one's)."""
    for column in DURATIONS:    # what an older cc stored from a lying server: unknown now
        db.execute(f"update calls set {column} = null where not "
                   f"({column} >= 0 and {column} < {MAX_SECONDS})")
    checks = ", ".join(f"check ({c} is null or ({c} >= 0 and {c} < {MAX_SECONDS}))"
                       for c in DURATIONS)
    # SQLite adds a constraint only by making the table anew (its documented procedure).
    table_sql = db.execute("select sql from sqlite_master where name = 'calls'").fetchone()[0]
    indexes = [sql for (sql,) in db.execute(
        "select sql from sqlite_master where tbl_name = 'calls' and type = 'index' "
        "and sql is not null")]
    columns = ", ".join(f'"{c}"' for c in db["calls"].columns_dict)
    new_sql = table_sql.rstrip().removesuffix(")") + f", {checks})"
    db.execute(re.sub(r'^CREATE TABLE\s+(?:"calls"|\[calls\]|`calls`|calls)(?=[\s(])',
                      'CREATE TABLE "calls_new"', new_sql, count=1, flags=re.IGNORECASE))
    db.execute(f"insert into calls_new ({columns}) select {columns} from calls")
    db.execute("drop table calls")
    db.execute("alter table calls_new rename to calls")
    for sql in indexes:
        db.execute(sql)
    db["log_meta"].create({"key": str, "value": str}, pk="key")


def _v9(db: sqlite_utils.Database) -> None:
    """Accounts are records of their own (F51): contacts belong to one, numbers belong to a
    contact or an account and carry their kind (F18), and a call names the contact and the
    account it is linked to (F52). The old contacts' account names become accounts."""
    # wire.NUMBER_KINDS as this step made them: a later change is a migration of its own.
    kinds = "'mobile', 'work', 'home', 'other', 'fax', 'pager'"
    db.execute("""create table accounts (
        id integer primary key,
        name text not null collate nocase unique check (trim(name) <> ''))""")
    db.execute("insert or ignore into accounts (name) select distinct trim(account) "
               "from contacts where trim(coalesce(account, '')) <> '' order by id")
    db.execute("""create table contacts_new (
        id integer primary key,
        name text not null check (trim(name) <> ''),
        account_id integer references accounts (id) on delete set null)""")
    db.execute("insert into contacts_new (id, name, account_id) select c.id, c.name, "
               "(select a.id from accounts a where a.name = trim(c.account)) from contacts c "
               "where trim(c.name) <> ''")
    db.execute(f"""create table phones (
        id integer primary key,
        contact_id integer references contacts (id) on delete cascade,
        account_id integer references accounts (id) on delete cascade,
        number text not null check (number <> ''),
        key text not null,
        kind text not null default 'other' check (kind in ({kinds})),
        check ((contact_id is null) <> (account_id is null)))""")
    # A number kept without its kind before: taken for a telephone of no stated kind.
    db.execute("insert into phones (contact_id, number, key, kind) select p.contact_id, "
               "p.number, coalesce(p.key, ''), 'other' from contact_phones p "
               "where p.contact_id in (select id from contacts_new) "
               "and coalesce(p.number, '') <> '' and p.rowid = (select min(q.rowid) "
               "from contact_phones q where q.contact_id = p.contact_id "
               "and coalesce(q.key, '') = coalesce(p.key, '')) order by p.rowid")
    db.execute("drop table contact_phones")
    db.execute("drop table contacts")
    db.execute("alter table contacts_new rename to contacts")
    db.execute("create index contacts_account on contacts (account_id) "
               "where account_id is not null")
    db.execute("create index phones_key on phones (key)")
    # One contact or account has a number once; these find a record's numbers too.
    db.execute("create unique index phones_contact_key on phones (contact_id, key) "
               "where contact_id is not null")
    db.execute("create unique index phones_account_key on phones (account_id, key) "
               "where account_id is not null")
    db.execute("alter table calls add column contact_id integer "
               "references contacts (id) on delete set null")
    db.execute("alter table calls add column account_id integer "
               "references accounts (id) on delete set null")
    # The calls logged so far: linked where their names still name one record.
    db.execute("update calls set contact_id = (select min(id) from contacts c "
               "where c.name = calls.contact having count(*) = 1) where contact <> ''")
    db.execute("update calls set account_id = (select id from accounts a "
               "where a.name = calls.account) where account <> ''")
    db.execute("create index calls_contact on calls (contact_id) where contact_id is not null")
    db.execute("create index calls_account on calls (account_id) where account_id is not null")


def _v10(db: sqlite_utils.Database) -> None:
    """Static groups of hand-picked calls (F43, F59); indices for the card's filters (F42).

    A member names its call by row and by the server's call id, and a trigger takes only
    a pair the log has, so a row id used again after `cc log rm` never brings a new call
    into an old group. No trigger on `calls` itself: one would make SQLite delete a whole
    log row by row (35 s instead of 0.5 s for 300,000 calls); `Store.remove` takes a
    removed call out of its groups in the same transaction."""
    # Statement by statement: executescript would commit the migration's transaction.
    for sql in (
            f"""create table call_groups (
                id integer primary key,
                name text not null unique check (length(name) between 1 and {GROUP_NAME_MAX}),
                created_at text not null)""",
            """create table call_group_members (
                group_id integer not null references call_groups(id) on delete cascade,
                call_row integer not null references calls(id) on delete cascade,
                call_id text not null,
                added_at text not null,
                primary key (group_id, call_row)) without rowid""",
            "create index call_group_members_call on call_group_members(call_row)",
            """create trigger call_groups_emptied after delete on call_groups begin
                delete from call_group_members where group_id = old.id; end""",
            """create trigger call_group_members_known before insert on call_group_members
                when not exists (select 1 from calls where id = new.call_row
                                 and call_id = new.call_id)
                  or not exists (select 1 from call_groups where id = new.group_id)
                begin select raise(abort, 'a group holds only logged calls'); end"""):
        db.execute(sql)
    for column in ("call_type", "result"):
        db["calls"].create_index([column, "started_at"], if_not_exists=True)
    for name in LINKS:      # most calls have no link: partial indices stay small
        db.execute(f"create index if not exists calls_link_{name} on calls(link_{name}) "
                   f"where link_{name} is not null")


def _v11(db: sqlite_utils.Database) -> None:
    """The team store's outbox: every change to a call (a new call, an update, a removal)
    queues the call's identity in the same transaction, while `log_meta.team` is on (the
    triggers of _keep_team_outbox); the replicator (daemon/team/replicate.py) sends the
    calls' current rows in order and clears what the team store took."""
    db.execute("""create table team_outbox (
                      seq integer primary key autoincrement,
                      server text not null, call_id text not null, agent text not null)""")
    # The card following a transfer: hand-overs this agent gave (sent before the calls),
    # and transferred calls that arrived here, until the store says whose card they get.
    db.execute("""create table team_handovers (
                      seq integer primary key autoincrement,
                      handover text not null check (json_valid(handover)))""")
    db.execute("""create table team_arrivals (
                      server text not null, call_id text not null, agent text not null,
                      arrival text not null check (json_valid(arrival)),
                      sent integer not null default 0 check (sent in (0, 1)),
                      primary key (server, call_id, agent))""")


# A new uuid (version 4) in SQL: the uid a contact or an account gets where it is made.
NEW_UID = ("lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || "
           "substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1)"
           " || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))")


def _v12(db: sqlite_utils.Database) -> None:
    """The team's contacts and accounts (team.url): the local tables are the cache every
    look-up uses. Each record has a stable uid (given here, backfilled for those there
    are); every local change to a record or its numbers queues its uid in
    `directory_outbox` in the same transaction (the triggers of _keep_directory_outbox);
    daemon/team/directory_sync.py sends them and pulls the colleagues' changes."""
    for table in ("contacts", "accounts"):
        db.execute(f"alter table {table} add column uid text")
        db.execute(f"update {table} set uid = {NEW_UID}")
        db.execute(f"create unique index {table}_uid on {table} (uid)")
    db.execute("""create table directory_outbox (
                      seq integer primary key autoincrement,
                      kind text not null check (kind in ('contact', 'account')),
                      uid text not null)""")
    db.execute("create index directory_outbox_uid on directory_outbox (uid, kind)")


def _directory_triggers() -> dict[str, str]:
    """Each trigger of the contacts' outbox by name. They queue while `log_meta.directory`
    is 'on' (not while a change pulled from the store is applied: 'applying')."""
    on = "(select value from log_meta where key = 'directory') = 'on'"
    triggers = {}
    for table, kind in (("contacts", "contact"), ("accounts", "account")):
        # Whatever code inserts a record, it gets a uid.
        triggers[f"{table}_uid_given"] = f"""after insert on {table} when new.uid is null
            begin update {table} set uid = {NEW_UID} where id = new.id; end"""
        for event, row in (("insert", "new"), ("update", "new"), ("delete", "old")):
            # An insert without a uid queues once it has one (the update above).
            triggers[f"{table}_directory_{event}"] = f"""after {event} on {table}
                when {on} and {row}.uid is not null
                begin insert into directory_outbox (kind, uid) values ('{kind}', {row}.uid);
                end"""
    for event, row in (("insert", "new"), ("update", "new"), ("delete", "old")):
        triggers[f"phones_directory_{event}"] = f"""after {event} on phones when {on}
            begin
              insert into directory_outbox (kind, uid)
                select 'contact', uid from contacts where id = {row}.contact_id
                union all
                select 'account', uid from accounts where id = {row}.account_id;
            end"""
    return triggers


def _keep_directory_outbox(db: sqlite_utils.Database) -> None:
    """The contacts' outbox triggers, made at open like the calls' (_keep_team_outbox): a
    migration that rebuilds the contacts, accounts or phones table drops them."""
    if "uid" not in db["contacts"].columns_dict:       # a log before _v12 (tests make one)
        return
    triggers = _directory_triggers()
    have = {name for (name,) in db.execute("select name from sqlite_master where type = "
                                           "'trigger'")}
    if set(triggers) <= have:
        return
    with db.atomic():
        for name, body in triggers.items():
            db.execute(f"drop trigger if exists {name}")
            db.execute(f"create trigger {name} {body}")


FILE_NAME_MAX = 120      # characters of an attached file's name (daemon/attachments.py)


def _v13(db: sqlite_utils.Database) -> None:
    """Files attached to a call (`cc log attach`): a row per file, numbered per call,
    copied to data/files/CALL_ROW/STORED. A file row goes with its call (on delete
    cascade); every removed row queues its file in `call_files_gone` in the same
    transaction, and the daemon removes the queued files from disk after the commit
    (attachments.drain): whatever removes a call (`cc log rm`, the retention purge, a
    detach) takes its files with it, and a file that could not be removed is retried.
    An attach of the same path again takes its name out of the queue."""
    no_controls = "not {c} glob '*[' || char(1) || '-' || char(31) || char(127) || ']*'"
    for sql in (
            f"""create table call_files (
                id integer primary key,
                call_row integer not null references calls(id) on delete cascade,
                n integer not null check (n >= 1),
                name text not null check (length(name) between 1 and {FILE_NAME_MAX}
                    and instr(name, '/') = 0 and instr(name, '\\') = 0
                    and substr(name, 1, 1) <> '.' and {no_controls.format(c="name")}),
                stored text not null check (length(stored) between 1 and {FILE_NAME_MAX + 8}
                    and instr(stored, '/') = 0 and instr(stored, '\\') = 0
                    and substr(stored, 1, 1) <> '.' and {no_controls.format(c="stored")}),
                size integer not null check (size >= 0),
                sha256 text not null check (length(sha256) = 64
                    and not sha256 glob '*[^0-9a-f]*'),
                attached_at text not null,
                unique (call_row, n),
                unique (call_row, stored))""",
            """create table call_files_gone (
                path text primary key check (path glob '[0-9]*/?*'),
                since text not null) without rowid""",
            """create trigger call_files_removed after delete on call_files begin
                insert or ignore into call_files_gone (path, since)
                values (old.call_row || '/' || old.stored, strftime('%Y-%m-%dT%H:%M:%fZ'));
                end""",
            """create trigger call_files_attached after insert on call_files begin
                delete from call_files_gone where path = new.call_row || '/' || new.stored;
                end"""):
        db.execute(sql)


def _v14(db: sqlite_utils.Database) -> None:
    """Reminders on calls (F60, daemon/reminders.py): each goes with its call (`cc log rm`,
    the retention purge) and is fired at most once (fired_at set before it is announced).
    Never queued for the team store: reminders stay with the agent who set them."""
    db.execute("""create table reminders (
                      id integer primary key,
                      call_row integer not null references calls(id) on delete cascade,
                      due_at real not null check (due_at > 0),
                      text text not null default '' check (length(text) <= 500),
                      created_at real not null check (created_at > 0),
                      fired_at real check (fired_at is null or fired_at > 0))""")
    # The cascade looks a removed call's reminders up by call: without the index, removing
    # the whole log would scan the reminders once per call.
    db.execute("create index reminders_call on reminders (call_row)")
    db.execute("create index reminders_pending on reminders (due_at) where fired_at is null")


# The card's fields whose every change the change log records, in the order it lists them.
CHANGE_FIELDS = ("call_type", "subject", "result", "notes", "description", "contact",
                 "account", *(f"link_{name}" for name in LINKS))
CHANGE_VIA = ("cc", "handover", "daemon")     # an agent's command, a transfer's card, itself


def _v15(db: sqlite_utils.Database) -> None:
    """A call's description beside its notes (F60), of at most 64 KiB of UTF-8; the
    change log of every call's card, append only: a row is never changed, and goes only
    with its call (the cascade of `cc log rm` and the retention purge). The triggers that
    write it are made at open (_keep_change_log), as the outbox's are."""
    most = 64 * 1024        # wire.DESCRIPTION_BYTES as this step made it
    db.execute("alter table calls add column description text check (description is null "
               f"or length(cast(description as blob)) <= {most})")
    vias = "'cc', 'handover', 'daemon'"     # CHANGE_VIA as this step made it
    for sql in (
            f"""create table call_changes (
                seq integer primary key autoincrement,
                call_row integer not null references calls (id) on delete cascade,
                call_id text not null,
                changed_at text not null,
                changed_by text not null check (changed_by <> ''),
                via text not null check (via in ({vias})),
                field text not null,
                old_value text,
                new_value text)""",
            "create index call_changes_call on call_changes (call_row, seq)",
            """create trigger call_changes_kept before update on call_changes
                begin select raise(abort, 'the change log is append only'); end""",
            # A row goes with its call: while the call is there, nobody removes it.
            """create trigger call_changes_stay before delete on call_changes
                when exists (select 1 from calls where id = old.call_row
                             and call_id = old.call_id)
                begin select raise(abort, 'the change log is append only'); end"""):
        db.execute(sql)


GROUP_NAME_MAX = 64
# A static group's member joined to its call: the same row, still the same call.
MEMBER_CALL = "calls c on c.id = m.call_row and c.call_id = m.call_id"
# Append only: version N+1 is MIGRATIONS[N]. An old database is brought up to date on open.
MIGRATIONS = (_v1, _v2, _v3, _v4, _v5, _v6, _v7, _v8, _v9, _v10, _v11, _v12, _v13,
              _v14, _v15)

HIGH_WATER = "calls_counter_high_water"


def _keep_high_water(db: sqlite_utils.Database) -> None:
    """The database keeps the highest card number ever given in log_meta's counter_floor,
    so a number is never given twice (F22): not after `cc log rm`, nor after the calls'
    pages are damaged. Made at open, not as a migration: a migration that rebuilds the
    calls table drops its triggers, and the next open makes this one again."""
    if db.execute("select 1 from sqlite_master where type = 'trigger' and name = ?",
                  [HIGH_WATER]).fetchone():
        return
    floor = "coalesce((select cast(value as integer) from log_meta " \
            "where key = 'counter_floor'), 0)"
    with db.atomic():
        # The numbers given before the trigger existed count too.
        db.execute(f"insert or replace into log_meta (key, value) select 'counter_floor', "
                   f"max(coalesce(max(counter), 0), {floor}) from calls")
        db.execute(f"""create trigger {HIGH_WATER} after insert on calls
                       when new.counter > {floor}
                       begin
                         insert or replace into log_meta (key, value)
                         values ('counter_floor', new.counter);
                       end""")


TEAM_TRIGGERS = tuple(f"calls_team_{event}" for event in ("insert", "update", "delete"))


def _keep_team_outbox(db: sqlite_utils.Database) -> None:
    """Every change to a call queues it in the team store's outbox, so no code path can
    forget to: triggers, made at open like the high-water mark's (a migration that
    rebuilds the calls table drops them). They cost a lookup while no team store is set."""
    have = {name for (name,) in db.execute(
        "select name from sqlite_master where type = 'trigger' and name like 'calls_team_%'")}
    if have == set(TEAM_TRIGGERS):
        return
    on = "exists (select 1 from log_meta where key = 'team' and value = 'on')"
    with db.atomic():
        for event, row in (("insert", "new"), ("update", "new"), ("delete", "old")):
            db.execute(f"drop trigger if exists calls_team_{event}")
            db.execute(f"""create trigger calls_team_{event} after {event} on calls
                           when {on}
                           begin
                               insert into team_outbox (server, call_id, agent)
                               values ({row}.server, {row}.call_id, coalesce({row}.agent, ''));
                           end""")


NOW_ISO = "strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')"    # as calls.iso() writes times


def _change_triggers() -> dict[str, str]:
    """The change log's triggers on calls by name: a new call's card fields that are set,
    then every change of one, by whom log_meta's change_by names (the daemon itself when
    none), the card number too when the call is given a new one (not when the team's
    prefix is adopted: the same number, spelled the team's way)."""
    by = "coalesce((select value from log_meta where key = 'change_by'), 'daemon')"
    via = "coalesce((select value from log_meta where key = 'change_via'), 'daemon')"

    def rows(old: str, counter: bool) -> str:
        fields = [f"select '{f}' as field, {old.format(f=f)} as old_value, new.{f} as "
                  "new_value" for f in CHANGE_FIELDS]
        if counter:
            fields.append("select 'counter_number', old.counter_number, new.counter_number "
                          "where old.counter is not new.counter")
        return " union all ".join(fields)

    insert = f"""insert into call_changes (call_row, call_id, changed_at, changed_by, via,
                     field, old_value, new_value)
                 select new.id, new.call_id, {NOW_ISO}, {by}, {via}, field, old_value,
                        new_value from ({{rows}})
                 where coalesce(old_value, '') is not coalesce(new_value, '')"""
    columns = ", ".join((*CHANGE_FIELDS, "counter_number"))
    # Cheap tests first: most writes of a call (its durations, its state) change no card.
    any_set = " or ".join(f"coalesce(new.{f}, '') <> ''" for f in CHANGE_FIELDS)
    any_changed = " or ".join(f"old.{f} is not new.{f}" for f in (*CHANGE_FIELDS, "counter"))
    return {
        "calls_changes_insert": f"""after insert on calls when {any_set} begin
            {insert.format(rows=rows("null", False))}; end""",
        "calls_changes_update": f"""after update of {columns} on calls when {any_changed}
            begin {insert.format(rows=rows("old.{f}", True))}; end"""}


def _keep_change_log(db: sqlite_utils.Database) -> None:
    """The change log's triggers on calls, made at open like the outbox's (a migration
    that rebuilds the calls table drops them); a change_by left by a crash is cleared."""
    if "call_changes" not in db.table_names():      # a log before _v15 (tests make one)
        return
    # As SQLite keeps them: a cc whose triggers read otherwise makes them anew.
    wanted = {name: f"CREATE TRIGGER {name} {body}" for name, body in _change_triggers().items()}
    have = dict(db.execute("select name, sql from sqlite_master where type = 'trigger' "
                           "and name like 'calls_changes_%'").fetchall())
    left = db.execute("select 1 from log_meta where key in ('change_by', 'change_via')"
                      ).fetchone()
    if have == wanted and left is None:     # nothing to write: a locked log opens all the same
        return
    with db.atomic():
        db.execute("delete from log_meta where key in ('change_by', 'change_via')")
        if have == wanted:
            return
        for name in set(have) | set(wanted):
            db.execute(f"drop trigger if exists {name}")
        for sql in wanted.values():
            db.execute(sql)


DAMAGED = {"SQLITE_CORRUPT", "SQLITE_NOTADB"}
RESTART_HINT = ("restart the daemon (`cc daemon stop`, `cc daemon start`): it sets the damaged "
                "log aside and starts a fresh one")


def is_damage(exc: sqlite3.Error) -> bool:
    """Whether SQLite says the file itself is bad (not locked, full or unwritable)."""
    name = getattr(exc, "sqlite_errorname", None) or ""
    return any(name == base or name.startswith(base + "_") for base in DAMAGED)


def open_store(path: Path, number_mask: str, spool_path: Path) -> Store:
    """The daemon's call log. A log SQLite finds damaged is set aside (kept readable for
    `cc log --database`) and a fresh one begun; the calls the spool kept are written."""
    path = Path(path)
    notice = None
    reason = damage(path)
    if reason is not None:
        aside = set_aside(path)
        notice = (f"the call log {path} was damaged ({reason}); it is kept as {aside} (read "
                  f"it with `cc log --database {aside}`) and a fresh log was started")
        _log().error("%s", notice)
    from .spool import Spool

    # From every log set aside, at every start: one that failed after setting a log aside
    # must not leave the fresh log numbering from 1.
    floor = max(map(_last_counter, damaged_logs(path)), default=0)
    store = Store(path, number_mask, Spool(spool_path), counter_floor=floor)
    store.notice = notice
    return store


def damage(path: Path) -> str | None:
    """What is wrong with the log's file, if SQLite finds it damaged (its quick check)."""
    if not path.exists():
        return None
    try:
        conn = open_log(path, read_only=True)
        try:
            rows = [r[0] for r in conn.execute("PRAGMA quick_check(3)")]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return str(exc) if is_damage(exc) else None     # locked, say: not the file's fault
    return None if rows == ["ok"] else "; ".join(rows)


def set_aside(path: Path) -> Path:
    """Move the log (with its write-ahead files) to a name of its own; that name."""
    import time

    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside, n = path.with_name(f"{path.stem}.damaged-{stamp}{path.suffix}"), 1
    while aside.exists():
        n += 1
        aside = path.with_name(f"{path.stem}.damaged-{stamp}-{n}{path.suffix}")
    for part, moved in zip(log_files(path), log_files(aside)):
        if part.exists():
            part.rename(moved)
    return aside


def log_files(path: Path) -> tuple[Path, ...]:
    """The log's file and the write-ahead files SQLite keeps beside it."""
    return tuple(path.with_name(path.name + suffix) for suffix in ("", "-wal", "-shm"))


def damaged_logs(path: Path) -> list[Path]:
    """The logs set aside beside `path`, oldest first."""
    return sorted(path.parent.glob(f"{path.stem}.damaged-*{path.suffix}"))


def _last_counter(path: Path) -> int:
    """The highest card number a damaged log still shows, or the one it was to go on from
    (0 if it cannot tell), so a fresh log's numbers do not repeat its ones. Each source is
    read on its own: damaged calls pages must not hide the high-water mark in log_meta."""
    try:
        conn = open_log(path, read_only=True)
    except (sqlite3.Error, OSError):
        return 0
    try:
        floor = _read_int(conn, "select value from log_meta where key = 'counter_floor'")
        # The index first; the table itself only when the index cannot be read.
        last = _read_int(conn, "select max(counter) from calls")
        if last is None:
            last = _read_int(conn, "select max(counter) from calls not indexed")
        return max((n for n in (floor, last) if n is not None), default=0)
    finally:
        conn.close()


def _read_int(conn: sqlite3.Connection, sql: str) -> int | None:
    """The whole number one query of a damaged log gives, or None if it gives none."""
    try:
        row = conn.execute(sql).fetchone()
        return int(row[0] or 0) if row else 0
    except (sqlite3.Error, TypeError, ValueError):
        return None


def _floor(conn: sqlite3.Connection) -> int:
    """The highest card number this log, or a log set aside before it, ever gave."""
    floor = conn.execute("select value from log_meta where key = 'counter_floor'").fetchone()
    return int(floor[0]) if floor else 0


class Store:
    """The call log. Rows the database cannot take yet wait in memory and, with a spool,
    on disk (`spool.py`), and are written at the next attempt or the next start."""

    def __init__(self, path: Path, number_mask: str = "CALL-{n:06}", spool: Spool | None = None,
                 counter_floor: int = 0):
        self.number_mask = number_mask
        self.path = Path(path)
        import sqlite_utils     # here, not at the top: readers of the log never load it

        self.db = sqlite_utils.Database(open_log(self.path, timeout=LOCK_WAIT))
        self.migrate()
        _keep_high_water(self.db)
        _keep_team_outbox(self.db)
        _keep_directory_outbox(self.db)
        _keep_change_log(self.db)
        # After the migrations (a rebuild drops tables others refer to): links are checked.
        self.db.execute("PRAGMA foreign_keys = ON")
        if counter_floor > _floor(self.db.conn):
            with self.db.conn:
                self.db["log_meta"].upsert({"key": "counter_floor", "value": str(counter_floor)},
                                           pk="key")
        self.pending: dict[Key, dict] = {}    # a call's identity -> its row not yet written
        self.row_ids: dict[Key, int] = {}     # a call's identity -> its row, once inserted
        self.last_error: str | None = None
        self.spool = spool
        self.spooled: dict[Key, dict] = {}    # what the spool holds of each waiting call
        self.notice: str | None = None        # what was done at start that the agent must know
        if spool is not None:
            self.spooled = spool.open()
            # A file's rows, checked where they enter: the columns this log has, and the
            # log's own numbering (a row id would name whatever call has it now).
            known = set(self.db["calls"].columns_dict) - {"id", "counter", "counter_number"}
            self.pending = {key: {k: v for k, v in row.items() if k in known}
                            for key, row in self.spooled.items()}
            if self.pending:
                _log().info("writing %d call(s) kept in %s", len(self.pending), spool.path)
            self.flush()

    @property
    def version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def migrate(self) -> None:
        current = self.version
        if current > len(MIGRATIONS):
            raise RuntimeError(f"{self.path} was written by a newer cc (schema {current}); "
                               "upgrade cc")
        for number, step in enumerate(MIGRATIONS[current:], current + 1):
            # One transaction per step: sqlite-utils commits each statement run outside
            # one, and a crash mid-step must leave the log as it was, not half rebuilt.
            with self.db.atomic():
                step(self.db)
                self.db.execute(f"PRAGMA user_version = {number}")

    def close(self) -> None:
        lost = [key[1] for key in self.pending if key not in self.spooled]
        if lost:        # a forced stop or a signal: said where someone may look for them
            self._warn(f"{len(lost)} call(s) kept only in memory are lost at the stop "
                       f"({self.last_error}): call id {', '.join(lost)}")
        self.db.close()
        if self.spool is not None:
            self.spool.close()

    def open_row(self, server: str, call_id: str, agent: str) -> dict | None:
        """The record of this server's call for this agent, if it is logged."""
        # A record from before calls knew their server ('') counts as this server's.
        rows = list(self.db["calls"].rows_where(
            "server in (?, '') and call_id = ? and agent = ?", [server, call_id, agent],
            order_by="server desc", limit=1))
        return rows[0] if rows else None

    def save(self, row: dict) -> int | None:
        """Insert or update one call; on failure keep it (in memory and in the spool)."""
        key = identity(row)
        if row.get("id") is None and key in self.row_ids:
            row = {**row, "id": self.row_ids[key]}
        self.pending[key] = {**self.pending.get(key, {}), **row}
        return self.flush().get(key)

    def waiting(self) -> dict:
        """How many calls wait to be written, and where they are kept meanwhile."""
        on_disk = sum(1 for key in self.pending if key in self.spooled)
        return {"waiting_calls": len(self.pending), "spooled_calls": on_disk,
                "spool": str(self.spool.path) if self.spool else None,
                "store_error": self.last_error}

    def flush(self) -> dict[Key, int]:
        """Write what waits; the rows written, by call. A row that cannot be written yet
        goes to the spool (once per change), so a stop or a crash loses none."""
        written, busy = {}, None
        for key, row in list(self.pending.items()):
            try:
                if busy is not None:    # each row would wait LOCK_WAIT for the same lock,
                    raise busy          # and the daemon's loop with it
                row_id = self._write(key, row)
            except sqlite3.IntegrityError as exc:
                if exc.sqlite_errorname == "SQLITE_CONSTRAINT_UNIQUE":
                    # The database's own guard: a call is logged once, and never again.
                    self._warn(f"call {key[1]} is in the call log already; a second record "
                               "of it was not written")
                else:       # a spooled row without a call's every field: never writable
                    self._warn(f"call {key[1]} cannot be logged ({exc}); its record was "
                               "dropped")
                self._done(key)
                continue
            except sqlite3.Error as exc:
                self._failed(exc)
                if getattr(exc, "sqlite_errorname", "").startswith("SQLITE_BUSY"):
                    busy = exc
                if self.spool is not None and self.spooled.get(key) != row:
                    if self.spool.add({k: v for k, v in row.items() if k != "id"}):
                        self.spooled[key] = row
                continue
            self.last_error = None
            self._done(key)
            written[key] = row_id
        if not self.pending and self.spool is not None and self.spooled:
            self.spooled.clear()
            self.spool.clear()
        return written

    def _done(self, key: Key) -> None:
        del self.pending[key]
        if key in self.spooled and self.pending and self.spool.written(key):
            del self.spooled[key]

    def _write(self, key: Key, row: dict) -> int:
        try:
            return self._put(key, row)
        except sqlite3.IntegrityError as exc:
            if getattr(exc, "sqlite_errorname", "") == "SQLITE_CONSTRAINT_FOREIGNKEY":
                # A contact or account removed meanwhile (or a spooled row from a log set
                # aside): the call is written, named but not linked.
                self._warn(f"call {key[1]}: its contact or account is no longer in the "
                           "log; written without the link")
                row = {**row, "contact_id": None, "account_id": None}
                self.pending[key] = row
                return self._put(key, row)
            if getattr(exc, "sqlite_errorname", "") != "SQLITE_CONSTRAINT_CHECK":
                raise
        # The edge checks the server's figures; this is the database's own refusal.
        self._warn(f"call {key[1]}: durations the call log refuses "
                   f"({', '.join(f'{c}={row.get(c)}' for c in DURATIONS if c in row)}); "
                   "written without them")
        row = {**row, **{c: None for c in DURATIONS if c in row}}
        self.pending[key] = row
        return self._put(key, row)

    def _put(self, key: Key, row: dict) -> int:
        with self.db.conn:
            if row.get("id") is None:
                existing = self.open_row(*key)    # a call the spool brings back, say
                if existing is not None:
                    self.row_ids[key] = existing["id"]
                    if (existing["updated_at"] or "") > (row.get("updated_at") or ""):
                        # A crash came between the log taking a newer record of the call
                        # and the spool saying so: the spool's older one must not win.
                        return existing["id"]
                    row = {**row, "id": existing["id"]}
            if row.get("id") is None:
                row = {k: v for k, v in row.items() if k != "id"}
                row["counter"] = self._next_counter()
                row["counter_number"] = self.number_mask.format(n=row["counter"])
                row_id = self.db["calls"].insert(row).last_pk
                self.row_ids[key] = row_id
                return row_id
            self.db["calls"].update(row["id"], {k: v for k, v in row.items()
                                                if k not in ("id", "counter", "counter_number")})
            return row["id"]

    def _failed(self, exc: sqlite3.Error) -> None:
        """Log a write that failed, once per distinct error rather than at every retry."""
        reason = str(exc)
        if is_damage(exc):
            reason += f"; {RESTART_HINT}"
        if self.last_error != reason:
            where = f"kept in {self.spool.path}" if self.spool else "kept in memory"
            self._warn(f"cannot write the call log {self.path}: {reason}; the call is {where}")
        self.last_error = reason

    @staticmethod
    def _warn(message: str) -> None:
        _log().error("%s", message)

    def raise_floor(self, counter: int) -> None:
        """Card numbers go on above `counter` (the team store's last one for this agent),
        in the caller's transaction."""
        if counter > _floor(self.db.conn):
            self.db.conn.execute("insert into log_meta (key, value) values ('counter_floor', ?)"
                                 " on conflict (key) do update set value = excluded.value",
                                 (str(counter),))

    def fill_card(self, key: Key, card: dict, by: str = "") -> None:
        """The card handed over with a transferred call: each field the call's own card
        has left empty (an agent's own entry is never overwritten). The change log names
        `by`, the colleague who handed it over (the daemon when unknown)."""
        columns = set(self.db["calls"].columns_dict)
        fields = {k: v for k, v in card.items() if k in columns and isinstance(v, str) and v}
        row = self.open_row(*key)
        if row is None or not fields:
            return
        fresh = {k: v for k, v in fields.items() if not row.get(k)}
        if fresh:
            self._change(row["id"], fresh, by or "daemon", "handover")

    def renumber(self, row_id: int) -> None:
        """Give a call the next card number (its old one is another call's elsewhere)."""
        with self.db.conn:
            counter = self._next_counter()
            self.db["calls"].update(row_id, {"counter": counter,
                                             "counter_number": self.number_mask.format(n=counter)})

    def _next_counter(self) -> int:
        last = self.db.execute("select max(counter) from calls").fetchone()[0] or 0
        return max(last, _floor(self.db.conn)) + 1

    def edit(self, row_id: int, fields: dict, by: str = "daemon") -> dict | None:
        """Change a saved call's card as the agent `by` (its login; "daemon" for the
        daemon's own changes), which the change log records; its number is never changed
        (F26)."""
        if self.get(row_id) is None:
            return None
        self._change(row_id, fields, by, "daemon" if by == "daemon" else "cc")
        return self.get(row_id)

    def _change(self, row_id: int, fields: dict, by: str, via: str) -> None:
        """Write `fields` on a call's card in one transaction, the change log's triggers
        told who makes the change (log_meta's change_by, gone again at the end)."""
        columns = set(self.db["calls"].columns_dict)
        unknown = [k for k in fields if k not in columns]
        if unknown:         # never a column name from outside
            raise ValueError(f"unknown card field {unknown[0]!r}")
        if not fields:
            return
        with self.db.atomic():
            self.db.conn.executemany(
                "insert or replace into log_meta (key, value) values (?, ?)",
                [("change_by", by), ("change_via", via)])
            self.db.execute(f"update calls set {', '.join(f'{k} = ?' for k in fields)} "
                            "where id = ?", [*fields.values(), row_id])
            self.db.execute("delete from log_meta where key in ('change_by', 'change_via')")

    def history(self, row_id: int) -> list[dict]:
        """A logged call's change log, oldest first."""
        return [dict(r) for r in self.db.query(
            "select h.changed_at, h.changed_by, h.via, h.field, h.old_value, h.new_value "
            "from call_changes h join calls c on c.id = h.call_row and c.call_id = h.call_id "
            "where c.id = ? order by h.seq", [row_id])]

    def links(self, row_id: int) -> dict:
        """The contact and account a logged call is linked to (ids; None when none)."""
        row = self.db.execute("select contact_id, account_id from calls where id = ?",
                              [row_id]).fetchone()
        return {"contact_id": row[0], "account_id": row[1]} if row else {}

    def remove(self, row_id: int | None) -> int:
        """Remove one call, or all; a removed call leaves its groups with it."""
        with self.db.conn:
            if row_id is None:
                count = self.db.execute("select count(*) from calls").fetchone()[0]
                self.db.execute("delete from call_group_members")
                self.db.execute("delete from calls")
                return count
            self.db.execute("delete from call_group_members where call_row = ?", [row_id])
            return self.db.execute("delete from calls where id = ?", [row_id]).rowcount

    def purge(self, before: str, most: int = -1) -> int:
        """Remove the calls that started before the ISO time `before` (retention), at most
        `most` of them (-1: all), in one transaction; how many. They
        queue nothing for the team store: it purges its own rows by the same rule, and a
        delete a call for every purged call would be a storm for nothing."""
        chosen = "select id from calls where started_at < ? limit ?"
        with self.db.conn:
            last = self.db.execute("select coalesce(max(seq), 0) from team_outbox"
                                   ).fetchone()[0]
            self.db.execute(f"delete from call_group_members where call_row in ({chosen})",
                            [before, most])
            removed = self.db.execute(f"delete from calls where id in ({chosen})",
                                      [before, most]).rowcount
            self.db.execute("delete from team_outbox where seq > ?", [last])
        return removed

    # -- catalogues (F44)
    def catalog(self, kind: str) -> list[dict]:
        return [dict(r) for r in self.db["catalog"].rows_where("kind = ?", [kind],
                                                                order_by="name")]

    def catalog_add(self, kind: str, name: str, colour: str = "") -> None:
        with self.db.conn:
            self.db["catalog"].upsert({"kind": kind, "name": name, "colour": colour},
                                      pk=("kind", "name"))

    def catalog_replace(self, entries) -> bool:
        """The catalogues as the team store has them, (kind, name, colour) each, in place
        of this log's (its copy); whether they changed."""
        wanted = sorted((k, n, c or "") for k, n, c in entries)
        with self.db.conn:
            have = sorted(tuple(r) for r in self.db.execute(
                "select kind, name, colour from catalog").fetchall())
            if have == wanted:
                return False
            self.db.execute("delete from catalog")
            self.db.conn.executemany("insert into catalog (kind, name, colour) values "
                                     "(?, ?, ?)", wanted)
        return True

    def catalog_rm(self, kind: str, name: str) -> int:
        with self.db.conn:
            return self.db.execute("delete from catalog where kind = ? and name = ?",
                                   [kind, name]).rowcount

    # -- static groups: hand-picked calls (F43, F59)
    def groups(self) -> list[dict]:
        """Every static group with how many calls it holds, by name."""
        return [dict(r) for r in self.db.query(
            f"select g.name, g.created_at, count(c.id) as calls from call_groups g "
            f"left join call_group_members m on m.group_id = g.id left join {MEMBER_CALL} "
            "group by g.id order by g.name")]

    def group_calls(self, name: str) -> list[int] | None:
        """The log ids a group holds, oldest first; None when there is no such group."""
        group = self.db.execute("select id from call_groups where name = ?",
                                [name]).fetchone()
        if group is None:
            return None
        return [r[0] for r in self.db.execute(
            f"select c.id from call_group_members m join {MEMBER_CALL} "
            "where m.group_id = ? order by c.id", [group[0]])]

    def groups_of(self, row_id: int) -> list[str]:
        return [r[0] for r in self.db.execute(
            f"select g.name from call_group_members m join {MEMBER_CALL} join call_groups g "
            "on g.id = m.group_id where c.id = ? order by g.name", [row_id])]

    def missing(self, row_ids: list[int]) -> list[int]:
        """Those of `row_ids` that no call of the log has."""
        found = {r[0] for r in self.db.execute(
            f"select id from calls where id in ({', '.join('?' * len(row_ids))})", row_ids)}
        return [i for i in row_ids if i not in found]

    def group_add(self, name: str, row_ids: list[int], now: str) -> int:
        """Put logged calls in the group `name` (made if new); how many were not in it."""
        with self.db.conn:
            self.db.execute("insert or ignore into call_groups (name, created_at) values "
                            "(?, ?)", [name, now])
            (group_id,) = self.db.execute("select id from call_groups where name = ?",
                                          [name]).fetchone()
            before = self.db.conn.total_changes
            self.db.conn.executemany(
                "insert or ignore into call_group_members (group_id, call_row, call_id, "
                "added_at) select ?, id, call_id, ? from calls where id = ?",
                [(group_id, now, i) for i in row_ids])
            return self.db.conn.total_changes - before

    def group_remove(self, name: str, row_ids: list[int]) -> int:
        """Take calls out of a group (they stay in the log); how many were in it."""
        with self.db.conn:
            return self.db.execute(
                "delete from call_group_members where group_id = (select id from "
                f"call_groups where name = ?) and call_row in ({', '.join('?' * len(row_ids))})",
                [name, *row_ids]).rowcount

    def group_delete(self, name: str) -> bool:
        """Delete a group (its calls stay in the log); False when there is none."""
        with self.db.conn:
            return self.db.execute("delete from call_groups where name = ?",
                                   [name]).rowcount > 0

    def unfinished(self, server: str, agent: str) -> list[dict]:
        """This server's calls of this agent whose end was never recorded (the daemon
        stopped mid-call); another server's listing says nothing of its calls."""
        return list(self.db["calls"].rows_where(
            "ended_at is null and server in (?, '') and agent = ?", [server, agent],
            select=", ".join(COLUMNS)))

    def get(self, row_id: int) -> dict | None:
        rows = list(self.db["calls"].rows_where("id = ?", [row_id], select=", ".join(COLUMNS)))
        return rows[0] if rows else None

    def last(self) -> dict | None:
        rows = self.recent(1)
        return rows[0] if rows else None

    def recent(self, limit: int = 20) -> list[dict]:
        return self.find(limit=limit)

    def find(self, *, limit: int | None = 20, **filters) -> list[dict]:
        """One page of calls matching the filters (F42)."""
        sql, args = self.select(limit=limit, **filters)
        return [dict(row) for row in self.db.query(sql, args)]

    @staticmethod
    def select(*, period: str | None = None, agent: str | None = None,
               direction: str | None = None, outcome: str | None = None,
               missed: bool = False, number: str | None = None,
               number_keys: list[str] | None = None, contact: str | None = None,
               call_type: str | None = None, subject: str | None = None,
               result: str | None = None, links: dict[str, str] | None = None,
               group: str | None = None, sort: str = "start", desc: bool = True,
               limit: int | None = 20, after: list | None = None,
               columns=COLUMNS) -> tuple[str, list]:
        """The query for calls matching the filters, sorted; `after` is the last row's cursor
        of the previous page (keyset paging, so a page costs the same at any depth).

        The filters come parsed (`filters.parse`): `number_keys` are the keys a whole
        number's calls may have, matched on the index, so `0441110001` finds
        `+380441110001`; without them `number` is digits found anywhere in the number as
        dialled or in its key; `subject` is folded text."""
        column = SORT_COLUMNS[sort]
        where, args = periods.sql_range(*periods.bounds(period)) if period else ([], [])
        for name, value in (("agent", agent), ("direction", direction),
                            ("outcome", outcome), ("call_type", call_type),
                            ("result", result)):
            if value:
                where.append(f"{name} = ?")
                args.append(value)
        if missed:
            where.append(f"direction = 'in' and outcome in "
                         f"({', '.join(repr(o) for o in NOT_ACCEPTED)})")
        if number_keys:     # a whole number: its keys, on the index
            where.append(f"number_key in ({', '.join('?' * len(number_keys))})")
            args += number_keys
        elif number:        # a piece of one: anywhere in the number as dialled or its key
            where.append("(number like ? or number_key like ?)")
            args += [f"%{number}%", f"%{number}%"]
        for searched, value in ((("contact", "account"), contact), (("subject",), subject)):
            if value:
                sql, values = name_match(searched, value)
                where.append(f"({sql})")
                args += values
        for kind, value in (links or {}).items():
            if kind not in LINKS:       # never a column name from outside
                raise ValueError(f"unknown link {kind!r}")
            where.append(f"link_{kind} = ?")
            args.append(value)
        if group:
            where.append("(id, call_id) in (select m.call_row, m.call_id from "
                         "call_group_members m join call_groups g on g.id = m.group_id "
                         "where g.name = ?)")
            args.append(group)
        order = "desc" if desc else "asc"
        if after is not None:
            key, row_id = after
            cmp = "<" if desc else ">"
            where.append(f"(coalesce({column}, -1e18), id) {cmp} (coalesce(?, -1e18), ?)"
                         if column != "started_at" else f"(started_at, id) {cmp} (?, ?)")
            args += [key, row_id]
        sql = f"select {', '.join(columns)} from calls"
        if where:
            sql += " where " + " and ".join(where)
        key_expr = column if column == "started_at" else f"coalesce({column}, -1e18)"
        sql += f" order by {key_expr} {order}, id {order}"
        if limit:
            sql += f" limit {int(limit)}"
        return sql, args
