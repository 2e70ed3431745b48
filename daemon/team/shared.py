"""What a team shares besides its calls: saved filters (`cc log save NAME --team`) and the
catalogues of call types and results (`cc catalog` with team.url). Read and written with
the user's own role, so row-level security decides who may do what (schema.py); these
functions only turn the store's refusals into one line naming who may.

    team = which_team(conn, None)          # the agent's team, or the lead's only one
    save_filter(conn, team, "missed", {"period": "today", "missed": True})
    filters(conn)                          # [{"team", "name", "owner", "filters", …}]
    catalog_add(conn, team, "results", "sold", "green")
"""

from __future__ import annotations

import json
import unicodedata

from .connect import TeamError
from .schema import SCHEMA


class Refused(TeamError):
    """The store refused: what is asked is another's to do (named in the line)."""


def which_team(conn, named: str | None) -> str:
    """The team a command acts for: the one named, the agent's own, or the only team a
    lead leads; TeamError when a lead of several must name one."""
    mine = conn.execute(f"select team from {SCHEMA}.agents where login = current_user"
                        ).fetchone()
    led = [r[0] for r in conn.execute(f"select name from {SCHEMA}.teams where lead = "
                                      "current_user order by name")]
    if named is not None:
        known = conn.execute(f"select 1 from {SCHEMA}.teams where name = %s",
                             (named,)).fetchone()
        if known is None:
            raise TeamError(f"there is no team {named!r} in the team store"
                            + (f" (yours: {', '.join(_yours(mine, led))})"
                               if mine or led else ""))
        return named
    if mine is not None:
        return mine[0]
    if len(led) == 1:
        return led[0]
    if led:
        raise TeamError(f"you lead {', '.join(led)}: name the team with --team-name TEAM")
    raise TeamError(f"{_me(conn)} is in no team of the team store and leads none: name the "
                    "team with --team-name TEAM, or the administrator adds you with "
                    "`cc team add-agent`")


def _yours(mine, led: list[str]) -> list[str]:
    return ([mine[0]] if mine else []) + [t for t in led if not mine or t != mine[0]]


def _me(conn) -> str:
    return conn.execute("select current_user::text").fetchone()[0]


def lead_of(conn, team: str) -> str | None:
    row = conn.execute(f"select lead from {SCHEMA}.teams where name = %s", (team,)).fetchone()
    return row[0] if row else None


# -- saved filters
def filters(conn) -> list[dict]:
    """Every team filter the role may read, by team and name."""
    rows = conn.execute(f"select team, name, owner::text, definition, updated_at "
                        f"from {SCHEMA}.saved_filters order by team, name").fetchall()
    return [{"team": t, "name": n, "owner": o, "filters": d,
             "updated_at": u.isoformat(timespec="seconds")} for t, n, o, d, u in rows]


def save_filter(conn, team: str, name: str, definition: dict) -> None:
    """Add the team filter, or replace it (its owner, or the team's lead)."""
    import psycopg

    try:
        with conn.transaction():
            conn.execute(f"insert into {SCHEMA}.saved_filters (team, name, definition) "
                         "values (%s, %s, %s) on conflict (team, name) do update set "
                         "definition = excluded.definition, updated_at = now()",
                         (team, name, json.dumps(definition)))
    except psycopg.errors.InsufficientPrivilege:
        raise Refused(_refused_filter(conn, team, name, "changes")) from None
    except psycopg.errors.CheckViolation:
        raise TeamError(f"'{name}' cannot name a filter: use letters, digits, _, - and . "
                        "(up to 64, starting with a letter or digit)") from None


def forget_filter(conn, team: str | None, name: str) -> str:
    """Remove the team filter NAME (of `team`, or of whichever team has it); its team."""
    where, params = "name = %s", [name]
    if team is not None:
        where += " and team = %s"
        params.append(team)
    teams = [r[0] for r in conn.execute(f"select team from {SCHEMA}.saved_filters where "
                                        f"{where} order by team", params)]
    if len(teams) > 1:
        raise TeamError(f"teams {', '.join(teams)} each have a filter '{name}': name one "
                        "with --team-name TEAM")
    with conn.transaction():
        gone = conn.execute(f"delete from {SCHEMA}.saved_filters where {where} "
                            "returning team", params).fetchall()
    if gone:
        return gone[0][0]
    seen = conn.execute(f"select team from {SCHEMA}.saved_filters where {where}",
                        params).fetchone()
    if seen is None:
        raise TeamError(f"no team filter '{name}' (`cc log saved` lists them)")
    raise Refused(_refused_filter(conn, seen[0], name, "removes"))


def _refused_filter(conn, team: str, name: str, does: str) -> str:
    row = conn.execute(f"select owner::text from {SCHEMA}.saved_filters where team = %s "
                       "and name = %s", (team, name)).fetchone()
    lead = lead_of(conn, team)
    if row is None:
        return (f"the team store refused the filter '{name}' for team {team!r}: you may "
                "save filters for your own team only, as yourself")
    return (f"the team filter '{name}' is {row[0]}'s: only {row[0]} or the team's lead"
            f"{f' ({lead})' if lead else ''} {does} it; save yours under another name")


# -- catalogues
# (kind, name, colour) of the connected agent's team: what its daemon keeps a copy of.
TEAM_CATALOGUES = (f"select kind, name, colour from {SCHEMA}.catalog where team = "
                   f"(select team from {SCHEMA}.agents where login = current_user) "
                   "order by kind, name")


def catalog(conn, team: str, kind: str) -> list[dict]:
    return [{"name": n, "colour": c} for n, c in conn.execute(
        f"select name, colour from {SCHEMA}.catalog where team = %s and kind = %s "
        "order by name", (team, kind))]


def catalog_add(conn, team: str, kind: str, name: str, colour: str) -> None:
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        raise TeamError(f"{name!r}: a catalogue entry cannot hold control characters "
                        "(a tab, a newline, an escape): type it on one line")
    _edit(conn, team, f"insert into {SCHEMA}.catalog (team, kind, name, colour) values "
          "(%s, %s, %s, %s) on conflict (team, kind, name) do update set colour = "
          "excluded.colour", (team, kind, name, colour))


def catalog_rm(conn, team: str, kind: str, name: str) -> None:
    if not _edit(conn, team, f"delete from {SCHEMA}.catalog where team = %s and kind = %s "
                 "and name = %s", (team, kind, name)):
        if any(e["name"] == name for e in catalog(conn, team, kind)):
            raise Refused(_keeper(conn, team))
        raise TeamError(f"'{name}' is not in team {team}'s {kind} catalogue")


def _edit(conn, team: str, sql: str, params) -> int:
    import psycopg

    try:
        with conn.transaction():
            return conn.execute(sql, params).rowcount
    except psycopg.errors.InsufficientPrivilege:
        raise Refused(_keeper(conn, team)) from None


def _keeper(conn, team: str) -> str:
    lead = lead_of(conn, team)
    who = f"its lead, {lead}" if lead else "its lead (it has none yet: the administrator)"
    return f"team {team}'s catalogues are kept by {who}: ask them to change it"
