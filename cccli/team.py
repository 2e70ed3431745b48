"""`cc team init|add-team|add-agent|add-viewer|show`: the administrator's and the lead's
commands for the team store (PostgreSQL). They talk to the store directly, not through
the daemon: the administrator need not be an agent. The work is in `daemon.team`."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from daemon import profile
from daemon.wire import Exit

from . import render
from .options import Json

app = typer.Typer(help="Set up the team store (PostgreSQL) that agents' daemons share.",
                  no_args_is_help=True)

Url = Annotated[Optional[str], typer.Option(
    help="The team store as postgresql://ROLE@HOST[:PORT]/DATABASE (default: team.url). "
         "The password comes from CC_TEAM_PASSWORD, team.password_command or ~/.pgpass.")]


def _connect(url: str | None):
    from daemon.team.connect import TeamError, connect, password

    settings = profile.load()
    url = url or settings["team.url"]
    if not url:
        render.fail("no team store: give --url postgresql://ROLE@HOST/DATABASE or set "
                    "team.url", Exit.CONFIG)
    try:
        return connect(url, password(settings), autocommit=True), url
    except TeamError as exc:
        render.fail(str(exc), Exit.CONFIG)


def _run(url: str | None, work):
    """Run `work(conn)` on the store; a refusal by the database is one line."""
    import psycopg

    from daemon.team.connect import TeamError, explain

    conn, url = _connect(url)
    try:
        with conn:
            return work(conn)
    except TeamError as exc:
        render.fail(str(exc), Exit.BAD_INPUT)
    except psycopg.errors.InsufficientPrivilege as exc:
        render.fail(f"the team store refused: {' '.join(str(exc).split())} (run this as the "
                    "administrator, or as the team's lead)", Exit.AUTH)
    except psycopg.Error as exc:
        render.fail(explain(exc, url), Exit.FAILED)


@app.command()
def init(url: Url = None, json: Json = False) -> None:
    """Create the team store's schema, roles (cc_agent, cc_lead, cc_viewer) and policies,
    or bring them up to date. Run it as the administrator; running it again is safe."""
    from daemon.team import admin

    _done(_run(url, admin.init), json)


@app.command("add-team")
def add_team(name: Annotated[str, typer.Argument(help="The team's name.")],
             lead: Annotated[Optional[str], typer.Option(
                 help="The lead's login (a role made if missing, in cc_lead).")] = None,
             agents_see_team: Annotated[bool, typer.Option(
                 help="Whether the team's agents read each other's calls.")] = False,
             url: Url = None, json: Json = False) -> None:
    """Add a team, or change its lead. The administrator's command."""
    from daemon.team import admin

    _done(_run(url, lambda conn: admin.add_team(conn, name, lead, agents_see_team)), json)


@app.command("add-agent")
def add_agent(login: Annotated[str, typer.Argument(
                  help="The agent's Infinity login: its role in the team store.")],
              team: Annotated[str, typer.Option(help="The agent's team.")],
              prefix: Annotated[Optional[str], typer.Option(
                  help="Its card numbers' prefix, unique in the store (default: from the "
                       "login).")] = None,
              name: Annotated[str, typer.Option(help="The agent's full name.")] = "",
              extension: Annotated[Optional[str], typer.Option(
                  help="The agent's extension on the Infinity server: cards handed over "
                       "in a transfer reach the agent by it (unique in the store).")] = None,
              password_stdin: Annotated[bool, typer.Option(
                  help="Read the agent's new password from the first line of standard "
                       "input.")] = False,
              url: Url = None, json: Json = False) -> None:
    """Add an agent to a team (its login role, in cc_agent), or move it. The administrator
    makes the role; a lead may then move its own teams' agents."""
    from daemon.team import admin

    secret = _new_password(login, password_stdin)
    _done(_run(url, lambda conn: admin.add_agent(conn, login, team, prefix, secret, name,
                                                 extension)), json)


def _done(result: dict, json: bool) -> None:
    """What an administrator's command did: its `message` for people, all of it as JSON."""
    render.out(result, json, lambda r: r["message"])


def _new_password(login: str, from_stdin: bool) -> str | None:
    """The login's new password: the first line of stdin, asked at a terminal (Enter
    keeps the one it has), or none."""
    if from_stdin:
        secret = sys.stdin.readline().rstrip("\n")
        if not secret:
            render.fail("--password-stdin: the first line of standard input is empty",
                        Exit.BAD_INPUT)
        return secret
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass(f"new team store password for {login} (Enter: keep): ") or None
    return None


PasswordStdin = Annotated[bool, typer.Option(
    help="Read the new password from the first line of standard input.")]


@app.command("add-viewer")
def add_viewer(login: Annotated[str, typer.Argument(
                   help="The viewer's login: its role in the team store.")],
               team: Annotated[str, typer.Option(help="The team whose calls it reads.")],
               password_stdin: PasswordStdin = False,
               url: Url = None, json: Json = False) -> None:
    """Let a login read a team's calls with the callers' numbers masked (its role, in
    cc_viewer, reads cc.calls_masked only, and there only the calls of its teams). The
    administrator makes the role; a lead may then add it to its own teams."""
    from daemon.team import admin

    secret = _new_password(login, password_stdin)
    _done(_run(url, lambda conn: admin.add_viewer(conn, login, team, secret)), json)


@app.command()
def show(url: Url = None, json: Json = False) -> None:
    """The team store's schema version, teams, agents and viewers."""
    from daemon.team import admin

    shown = _run(url, admin.show)

    def text(view: dict) -> str:
        lines = [f"schema version {view['version']}"]
        for team in view["teams"]:
            seen = ", agents see the team's calls" if team["agents_see_team"] else ""
            lines.append(f"team {team['name']} (lead: {team['lead'] or 'none'}{seen})")
            lines += [f"  {a['login']:<16} {a['prefix']:<9} {a['extension'] or '-':<6} "
                      f"{a['name']}".rstrip()
                      for a in view["agents"] if a["team"] == team["name"]]
            viewers = [v["login"] for v in view["viewers"] if v["team"] == team["name"]]
            if viewers:
                lines.append(f"  viewers (numbers masked): {', '.join(viewers)}")
        return "\n".join(lines)

    render.out(shown, json, text)
