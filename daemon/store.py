"""The call log on SQLite (sqlite-utils): schema, migrations, writes and queries.

A call is written when it starts and updated as it goes, so a crash never loses one.
When the database cannot be written (disk full, locked) the row waits in memory and is
written on the next attempt.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import sqlite_utils

log = logging.getLogger("cc.store")

from .wire import LOG_COLUMNS as COLUMNS


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


# Append only: version N+1 is MIGRATIONS[N]. An old database is brought up to date on open.
MIGRATIONS = (_v1, _v2)


class Store:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite_utils.Database(self.path)
        self.db.execute("PRAGMA busy_timeout = 2000")
        self.db.enable_wal()
        self.migrate()
        self.pending: dict[str, dict] = {}   # call_id -> row not yet written
        self.last_error: str | None = None

    @property
    def version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def migrate(self) -> None:
        current = self.version
        if current > len(MIGRATIONS):
            raise RuntimeError(f"{self.path} was written by a newer cc (schema {current}); "
                               "upgrade cc")
        for number, step in enumerate(MIGRATIONS[current:], current + 1):
            with self.db.conn:
                step(self.db)
                self.db.execute(f"PRAGMA user_version = {number}")

    def close(self) -> None:
        self.db.close()

    def open_row(self, call_id: str) -> dict | None:
        """The newest record of a call the server still knows by this id."""
        rows = list(self.db["calls"].rows_where("call_id = ?", [call_id],
                                                order_by="id desc", limit=1))
        return rows[0] if rows else None

    def save(self, row: dict) -> int | None:
        """Insert or update one call; on failure keep it in memory and report the problem."""
        key = row["call_id"]
        self.pending[key] = {**self.pending.get(key, {}), **row}
        return self.flush().get(key)

    def flush(self) -> dict[str, int]:
        written = {}
        for key, row in list(self.pending.items()):
            try:
                with self.db.conn:
                    if row.get("id") is None:
                        row = {k: v for k, v in row.items() if k != "id"}
                        row_id = self.db["calls"].insert(row).last_pk
                    else:
                        row_id = row["id"]
                        self.db["calls"].update(row_id, {k: v for k, v in row.items()
                                                         if k != "id"})
            except sqlite3.Error as exc:
                if self.last_error != str(exc):
                    log.error("cannot write the call log %s: %s; the call is kept in memory",
                              self.path, exc)
                self.last_error = str(exc)
                continue
            self.last_error = None
            del self.pending[key]
            written[key] = row_id
        return written

    def get(self, row_id: int) -> dict | None:
        rows = list(self.db["calls"].rows_where("id = ?", [row_id], select=", ".join(COLUMNS)))
        return rows[0] if rows else None

    def last(self) -> dict | None:
        rows = self.recent(1)
        return rows[0] if rows else None

    def recent(self, limit: int = 20) -> list[dict]:
        return list(self.db["calls"].rows_where(order_by="started_at desc, id desc",
                                                limit=limit, select=", ".join(COLUMNS)))
