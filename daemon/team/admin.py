"""The administrator's and the lead's work on the team store: the schema and roles
(`cc team init`), teams, agents and viewers (`cc team add-team`, `cc team add-agent`,
`cc team add-viewer`)."""

from __future__ import annotations

import re

from . import schema
from .connect import TeamError, role_name

PREFIX = re.compile(r"[A-Z][A-Z0-9]{0,7}")


def init(conn) -> dict:
    """Create or bring up to date the schema, roles and policies: what was done, in
    `message` for people."""
    before, after = schema.migrate(conn)
    if before > schema.VERSION:
        raise TeamError(schema.mismatch(before))
    if before == after:
        message = f"the team store is up to date (schema version {after})"
    elif before == 0:
        message = (f"made the team store (schema version {after}) with roles "
                   f"{schema.AGENT_ROLE}, {schema.LEAD_ROLE} and {schema.VIEWER_ROLE} (masked "
                   f"numbers only)")
    else:
        message = f"brought the team store from schema version {before} to {after}"
    return {"schema_version_before": before or None, "schema_version": after,
            "message": message}


def add_team(conn, name: str, lead: str | None, agents_see_team: bool) -> dict:
    if not name.strip() or len(name) > 100:
        raise TeamError("a team's name is 1 to 100 characters")
    with conn.transaction():
        if lead is not None:
            _ensure_role(conn, role_name(lead, "the lead"), schema.LEAD_ROLE, None)
        conn.execute(f"insert into {schema.SCHEMA}.teams (name, lead, agents_see_team) "
                     "values (%s, %s, %s) on conflict (name) do update set lead = "
                     "excluded.lead, agents_see_team = excluded.agents_see_team",
                     (name, lead, agents_see_team))
    return {"team": name, "lead": lead, "agents_see_team": agents_see_team,
            "message": f"team {name!r}" + (f" led by {lead}" if lead else "")}


def add_agent(conn, login: str, team: str, prefix: str | None, secret: str | None,
              name: str = "", extension: str | None = None) -> dict:
    role_name(login)
    prefix = (prefix or re.sub(r"[^A-Z0-9]", "", login.upper())[:8]).upper()
    if not PREFIX.fullmatch(prefix):
        raise TeamError(f"--prefix {prefix!r}: a card number prefix is 1 to 8 capital "
                        "letters and digits, starting with a letter")
    import psycopg

    try:
        with conn.transaction():     # the role and its row, or neither
            _ensure_role(conn, login, schema.AGENT_ROLE, secret)
            conn.execute(f"insert into {schema.SCHEMA}.agents (login, team, prefix, name, "
                         "extension) values (%s, %s, %s, %s, %s) on conflict (login) do update "
                         "set team = excluded.team, prefix = excluded.prefix, name = "
                         "excluded.name, extension = coalesce(excluded.extension, "
                         f"{schema.SCHEMA}.agents.extension)",
                         (login, team, prefix, name, extension or None))
    except psycopg.errors.ForeignKeyViolation:
        raise TeamError(f"there is no team {team!r}: add it with `cc team add-team`") from None
    except psycopg.errors.UniqueViolation as exc:
        if "extension" in (exc.diag.constraint_name or ""):
            raise TeamError(f"extension {extension} is another agent's in the team table"
                            ) from None
        raise TeamError(f"the prefix {prefix} is another agent's: choose one with "
                        "--prefix") from None
    at = f", extension {extension}" if extension else ""
    return {"login": login, "team": team, "prefix": prefix, "name": name or None,
            "extension": extension or None,
            "message": f"agent {login} in team {team!r}{at}, card numbers {prefix}-000001 on"}


def add_viewer(conn, login: str, team: str, secret: str | None) -> dict:
    """Let `login` (a role in cc_viewer, made if missing) read the team's calls with the
    numbers masked. The administrator makes the role; a lead may then add a viewer to its
    own teams (the viewers table's row-level security)."""
    role_name(login, "a viewer's login")
    import psycopg

    try:
        with conn.transaction():
            member = conn.execute("select pg_has_role(%s, %s, 'member') from pg_roles "
                                  "where rolname = %s",
                                  (login, schema.VIEWER_ROLE, login)).fetchone()
            if not (member and member[0]) or secret is not None:
                _ensure_role(conn, login, schema.VIEWER_ROLE, secret)
            conn.execute(f"insert into {schema.SCHEMA}.viewers (login, team) values (%s, %s) "
                         "on conflict do nothing", (login, team))
    except psycopg.errors.ForeignKeyViolation:
        raise TeamError(f"there is no team {team!r}: add it with `cc team add-team`") from None
    return {"login": login, "team": team,
            "message": f"viewer {login} reads the calls of team {team!r}, numbers masked"}


def _ensure_role(conn, login: str, group: str, secret: str | None) -> None:
    """A login role in `group`, made if missing; its password set when one is given (in
    the caller's transaction)."""
    from psycopg import sql

    exists = conn.execute("select 1 from pg_roles where rolname = %s", (login,)).fetchone()
    if not exists:
        conn.execute(sql.SQL("create role {} login").format(sql.Identifier(login)))
    if secret is not None:
        conn.execute(sql.SQL("alter role {} password {}").format(
            sql.Identifier(login), sql.Literal(secret)))
    conn.execute(sql.SQL("grant {} to {}").format(sql.Identifier(group),
                                                  sql.Identifier(login)))


def show(conn) -> dict:
    """The schema version and the team table, as the connected role may see them."""
    teams = conn.execute(f"select name, lead, agents_see_team from {schema.SCHEMA}.teams "
                         "order by name").fetchall()
    agents = conn.execute(f"select login, team, prefix, name, extension from "
                          f"{schema.SCHEMA}.agents order by team, login").fetchall()
    viewers = conn.execute(f"select login, team from {schema.SCHEMA}.viewers "
                           "order by team, login").fetchall()
    return {"version": schema.version(conn),
            "viewers": [{"login": v, "team": t} for v, t in viewers],
            "teams": [{"name": n, "lead": lead, "agents_see_team": see}
                      for n, lead, see in teams],
            "agents": [{"login": a, "team": t, "prefix": p, "name": n, "extension": x}
                       for a, t, p, n, x in agents]}
