"""`cc report`: a period's calls per day and agent, for people and for cron.

It reads the call log file directly (read-only) rather than asking the daemon, so it runs
from cron with no terminal and no daemon. The work is in `daemon.report`, imported inside
the command so other commands never load it.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from daemon import profile
from daemon.wire import Exit

from . import render, table
from .options import Json


class Format(str, Enum):
    text = "text"
    csv = "csv"
    html = "html"


def report(period: Annotated[str, typer.Option(
               "--period", "-p", help="today, yesterday, this-week, last-week, this-month, "
                                      "last-month, or FROM..TO (YYYY-MM-DD).")] = "today",
           agent: Annotated[Optional[list[str]], typer.Option(
               help="Only this agent's calls. With --team, give it several times for "
                    "several agents.")] = None,
           team: Annotated[bool, typer.Option(
               "--team", help="Read the team store (team.url, or --url) with your own "
                              "role: a lead's report covers its teams, an agent's its own "
                              "calls (or its team's, when the team allows it).")] = False,
           format: Annotated[Format, typer.Option(
               "--format", "-f", help="text (a terminal or a mail body), csv (one row per "
                                      "day and agent, then TOTAL), or html (one file with "
                                      "charts).")] = Format.text,
           output: Annotated[Optional[Path], typer.Option(
               "--output", "-o",
               help="Write to this file instead of standard output.")] = None,
           database: Annotated[Optional[list[Path]], typer.Option(
               help="The call log to read (default: this profile's data/calls.db); one "
                    "only.")] = None,
           url: Annotated[Optional[str], typer.Option(
               help="With --team: the team store as postgresql://ROLE@HOST[:PORT]/DATABASE "
                    "(default: team.url).")] = None,
           mail: Annotated[Optional[list[str]], typer.Option(
               "--mail", metavar="TO",
               help="Mail the report (text and HTML in one message) to this address "
                    "through the local sendmail instead of printing it; give it again for "
                    "more addresses. From: report.mail_from; sendmail: report.sendmail.")
           ] = None,
           json: Json = False) -> None:
    """Calls per day and agent for a period, with totals, results, hours and the
    service level. Reads the call log directly: needs no daemon and no terminal, so cron
    can run it, and `--mail` sends it."""
    from daemon import periods
    from daemon import report as reports
    from daemon.export import refusal

    agents = list(dict.fromkeys(agent or []))
    recipients = list(dict.fromkeys(mail or []))
    settings = _settings()
    if recipients:
        _check_mail(recipients, format, output, json)
    level = int(settings["report.service_level_seconds"])
    if database and len(database) > 1:
        render.fail("--database was given more than once: a report reads one call log "
                    "(for several agents' calls use --team)", Exit.BAD_INPUT)
    if team or url:
        if database:
            render.fail("--database and --team read different logs: give one of them",
                        Exit.BAD_INPUT)
        built = _team_report(period, agents, url, output, level)
    else:
        if len(agents) > 1:
            render.fail("several --agent need --team: the local call log is one agent's",
                        Exit.BAD_INPUT)
        path = database[0] if database else profile.paths().database
        refused = output and refusal(output, path, profile.paths().own)
        if refused:
            render.fail(refused, Exit.BAD_INPUT)
        try:
            built = reports.build(path, period, agents[0] if agents else None,
                                  service_level_seconds=level)
        except periods.PeriodError as exc:
            render.fail(str(exc), Exit.BAD_INPUT)
        except reports.ReportError as exc:
            render.fail(str(exc), Exit.CONFIG)
    if recipients:
        _mail(built, recipients, settings)
        return
    if json:
        import json as json_module

        text = json_module.dumps(built.to_dict(), ensure_ascii=False, indent=2) + "\n"
    else:
        room = table.width() if output is None else None
        text = {Format.text: lambda r: reports.render_text(r, _terminal_fit(room), room),
                Format.csv: reports.render_csv,
                Format.html: reports.render_html}[format](built)
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8", newline="")
    except OSError as exc:
        render.fail(f"cannot write {output}: {exc.strerror}", Exit.FAILED)
    if sys.stderr.isatty():    # silent in cron: any output there becomes a mail
        print(f"wrote the report to {output}", file=sys.stderr)


def _terminal_fit(room: int | None):
    """At a terminal (`room` columns), the text report's tables keep the columns that fit
    its width (the least useful figures drop first, as in every table of `cc`); whole in
    a pipe or a file (no `room`)."""
    if room is None:
        return None

    def fit(heads: list[str], ranks: list[int], rows: list[list[str]]) -> list[int]:
        columns = [table.Column(head, drop=rank) for head, rank in zip(heads, ranks)]
        return table.fit(columns, rows, room)[0]

    return fit


def _settings() -> dict:
    """The settings, refusing only a bad report.* one: a cron report is not stopped by a
    mistake in a setting it does not read."""
    settings, problems, _ = profile.read()
    for problem in problems:
        if "cc config set report." in problem:
            render.fail(problem, Exit.CONFIG)
    return settings


def _check_mail(recipients: list[str], format: Format, output: Path | None,
                json: bool) -> None:
    """--mail sends both the text and the HTML report: nothing else to choose."""
    from daemon.mail import address_problem

    for to in recipients:
        if problem := address_problem(to):
            render.fail(f"--mail {problem}", Exit.BAD_INPUT)
    chosen = [name for name, given in (("--format", format != Format.text),
                                       ("--output", output is not None), ("--json", json))
              if given]
    if chosen:
        render.fail(f"--mail sends the text and the HTML report in one message: leave out "
                    f"{' and '.join(chosen)}", Exit.BAD_INPUT)


def _mail(built, recipients: list[str], settings: dict) -> None:
    from daemon import mail

    sender = str(settings["report.mail_from"]) or mail.default_sender()
    try:
        command = mail.sendmail_command(str(settings["report.sendmail"]))
    except mail.MailError as exc:
        render.fail(str(exc), Exit.CONFIG)
    try:
        mail.send(mail.message(built, recipients, sender), command)
    except mail.MailError as exc:
        render.fail(str(exc), Exit.FAILED)
    if sys.stderr.isatty():    # silent in cron: any output there becomes a mail
        print(f"mailed the report to {', '.join(recipients)}", file=sys.stderr)


def _team_report(period: str, agents: list[str], url: str | None, output: Path | None,
                 level: int):
    """The report from the team store, read with the reader's role (no daemon)."""
    import psycopg

    from daemon import periods
    from daemon import report as reports
    from daemon.team import report as team_reports
    from daemon.team.connect import explain

    from .team import _connect

    refused = output and _refusal(output)
    if refused:
        render.fail(refused, Exit.BAD_INPUT)
    try:
        periods.days(period)
    except periods.PeriodError as exc:
        render.fail(str(exc), Exit.BAD_INPUT)
    conn, url = _connect(url)
    from urllib.parse import urlsplit

    where = urlsplit(url)
    label = f"the team store {where.hostname}:{where.port or 5432}{where.path}"
    try:
        with conn:
            return team_reports.build(conn, period, agents, label,
                                      service_level_seconds=level)
    except reports.ReportError as exc:
        render.fail(str(exc), Exit.BAD_INPUT)
    except psycopg.errors.UndefinedTable:
        render.fail(f"{label} has no cc schema: the administrator runs `cc team init`",
                    Exit.CONFIG)
    except psycopg.errors.InsufficientPrivilege as exc:
        render.fail(f"{label} refused {' '.join(str(exc).split())}: the administrator "
                    "gives the role an agent's or a lead's rights (`cc team add-agent`, "
                    "`cc team add-team --lead`)", Exit.AUTH)
    except psycopg.Error as exc:
        render.fail(explain(exc, url), Exit.FAILED)


def _refusal(output: Path) -> str | None:
    """The output must not overwrite this profile's own files."""
    from daemon.export import refusal

    paths = profile.paths()
    return refusal(output, paths.database, paths.own)
