"""The one table of `cc` commands. Each group lives in a module of its own."""

from __future__ import annotations

import sys

import typer

from daemon.profile import ConfigError
from daemon.wire import Exit, WireError, exit_code_table

from . import (agent, calls, catalog, config, contacts, daemonctl, doctor, emulatorctl, journal,
               log, media, quick, report, watch, who)

app = typer.Typer(
    name="cc",
    help="The Infinity contact-centre agent's command line. `cccli` is the same program "
         "(`cc` may be shadowed by the C compiler).",
    epilog="Exit codes:\n\n" + exit_code_table().replace("\n", "\n\n"),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

for name, handler in (
    ("login", agent.login), ("logout", agent.logout), ("state", agent.state),
    ("available", agent.available), ("away", agent.away), ("break", agent.break_),
    ("status", agent.status), ("dial", calls.dial), ("recent", calls.recent), ("redial", calls.redial),
    ("calls", calls.calls), ("answer", calls.answer), ("reject", calls.reject),
    ("hangup", calls.hangup), ("hold", calls.hold), ("unhold", calls.unhold),
    ("transfer", calls.transfer), ("dtmf", calls.dtmf), ("wrapup", calls.wrapup), ("watch", watch.watch), ("who", who.who), ("contacts", contacts.contacts),
    ("play", media.play), ("kb", media.kb), ("log", log.log),
    ("report", report.report),
    ("doctor", doctor.doctor),
    ("journal", journal.journal),
):
    app.command(name)(handler)

app.add_typer(quick.app, name="quick")
app.add_typer(catalog.app, name="catalog")
app.add_typer(config.app, name="config")
app.add_typer(daemonctl.app, name="daemon")
app.add_typer(emulatorctl.app, name="emulator")


def main() -> None:
    try:
        app()
    except WireError as exc:
        sys.stderr.write(f"cc: {exc.message}\n")
        sys.exit(exc.exit_code)
    except ConfigError as exc:
        sys.stderr.write(f"cc: {exc}\n")
        sys.exit(int(Exit.CONFIG))
    except KeyboardInterrupt:
        sys.stderr.write("cc: interrupted\n")
        sys.exit(130)
