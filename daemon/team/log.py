"""The team store's calls as `cc log` lists them: newest first, read with the reader's
own role, so row-level security decides whose calls come back (a lead: its teams'; an
agent: its own, or its team's when the team allows it). The (agent, started_at) and
(started_at) indexes serve the first page without reading the rest."""

from __future__ import annotations

from datetime import datetime

from ..wire import LOG_COLUMNS
from .schema import ADDED_COLUMNS, CALL_COLUMNS, SCHEMA

# What the store keeps of LOG_COLUMNS; the rest (the local id's kin) come back empty.
_KEPT = ("id", "call_id", "agent", "counter_number",
         *(c for c in LOG_COLUMNS if c in CALL_COLUMNS or c in ADDED_COLUMNS))


def select(period_bounds: tuple[str | None, str | None], agent: str | None,
           direction: str | None, outcome: str | None, limit: int | None):
    """(sql, params) of the calls matching, newest first."""
    where, params = [], []
    start, end = period_bounds
    for sql, value in (("started_at >= %s", start), ("started_at < %s", end),
                       ("agent = %s", agent), ("direction = %s", direction),
                       ("outcome = %s", outcome)):
        if value is not None:
            where.append(sql)
            params.append(value)
    columns = ", ".join(f"{c}::text" if c == "agent" else c for c in _KEPT)
    sql = f"select {columns} from {SCHEMA}.calls"
    if where:
        sql += " where " + " and ".join(where)
    sql += " order by started_at desc, id desc"
    if limit is not None:
        sql += " limit %s"
        params.append(limit)
    return sql, params


def rows(conn, period_bounds, agent=None, direction=None, outcome=None, limit=None):
    """The rows as `cc log` shows them: every LOG_COLUMNS key, times as ISO text."""
    sql, params = select(period_bounds, agent, direction, outcome, limit)
    with conn.transaction(), conn.cursor(name="cc_team_log") as cursor:
        cursor.itersize = 2000
        cursor.execute(sql, params)
        names = [d.name for d in cursor.description]
        for values in cursor:
            row = dict.fromkeys(LOG_COLUMNS)
            for name, value in zip(names, values):
                row[name] = value.isoformat() if isinstance(value, datetime) else value
            yield row


def changes(conn, server: str, call_id: str, agent: str) -> list[dict]:
    """One call's change log as the team store recorded it, oldest first, read with the
    reader's own role (row-level security: whoever may read the call reads its changes)."""
    found = conn.execute(
        f"select h.changed_at, h.changed_by::text, h.field, h.old_value, h.new_value "
        f"from {SCHEMA}.call_changes h join {SCHEMA}.calls c on c.id = h.call "
        "where c.server = %s and c.call_id = %s and c.agent = %s order by h.id",
        (server, call_id, agent)).fetchall()
    return [{"changed_at": at.isoformat(), "changed_by": by, "via": "team", "field": field,
             "old_value": old, "new_value": new} for at, by, field, old, new in found]
