"""The one table of `cc` commands. Each group lives in a module of its own."""

from __future__ import annotations

import re
import sys

import typer

from daemon.wire import Exit, exit_code_table

from .guard import guarded
from .options import Json


def version_number() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cc-agent")
    except PackageNotFoundError:      # run from a source tree that was never installed
        return "unknown"


def version(json: Json = False) -> None:
    """This cc's version (`cccli --version` says the same; `cc --version` is the C
    compiler's, for the build tools that ask it)."""
    import platform

    from . import render

    render.out({"version": version_number(), "python": platform.python_version()}, json,
               lambda v: f"cc {v['version']} (Python {v['python']})")

# The one table of commands: name -> "module:handler" in cccli, then the groups with
# sub-commands ("module:app"). Named, not imported: a run imports only its command's module.
COMMANDS = (
    ("login", "agent:login"), ("logout", "agent:logout"), ("state", "agent:state"),
    ("available", "agent:available"), ("away", "agent:away"), ("break", "agent:break_"),
    ("status", "agent:status"), ("dial", "calls:dial"), ("recent", "calls:recent"),
    ("redial", "calls:redial"), ("calls", "calls:calls"), ("answer", "calls:answer"),
    ("reject", "calls:reject"), ("hangup", "calls:hangup"), ("hold", "calls:hold"),
    ("unhold", "calls:unhold"), ("transfer", "calls:transfer"), ("dtmf", "calls:dtmf"),
    ("wrapup", "calls:wrapup"), ("watch", "watch:watch"), ("who", "who:who"),
    ("remind", "remind:remind"), ("contacts", "contacts:contacts"),
    ("accounts", "contacts:accounts"), ("play", "media:play"), ("kb", "media:kb"),
    ("log", "log:log"), ("report", "report:report"), ("doctor", "doctor:doctor"),
    ("version", "app:version"),
    ("completion", "shells:completion"),
)
GROUPS = (
    ("quick", "quick:app"), ("catalog", "catalog:app"), ("config", "config:app"),
    ("daemon", "daemonctl:app"), ("emulator", "emulatorctl:app"), ("team", "team:app"),
    ("journal", "journal:app"),
)


def load(where: str):
    """The object a table names: "module:name" in cccli, imported now."""
    import importlib

    module, _, name = where.partition(":")
    return getattr(importlib.import_module(f"{__package__}.{module}"), name)


def build(only: str | None = None) -> typer.Typer:
    """The app; with `only`, the same app holding just that command, because Typer builds
    the Click tree of every registered command at each start (about 25 ms), and only that
    command's module is imported."""
    built = typer.Typer(
        name="cc",
        help="The Infinity contact-centre agent's command line. `cccli` is the same "
             "program.",
        epilog="Exit codes:\n\n\b\n" + exit_code_table(),
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    for name, handler in COMMANDS:
        if only in (None, name):
            built.command(name)(load(handler))
    for name, group in GROUPS:
        if only in (None, name):
            built.add_typer(load(group), name=name)
    if only is not None:
        built.callback()(lambda: None)    # stay a group of one: `cc NAME ...` as ever
    return built


def labelled(typer_app: typer.Typer):
    """The app as Click runs it, its help in plain text (as every Unix tool's: no boxes)
    and every value named like argparse names it (`--contact CONTACT`, `NUMBER`,
    `--mode [offhook|callback]`), not by Typer's type labels (`<str>`, `<list[str]>`),
    whose look changes from one Typer version to the next. The man pages use the same."""
    import typer.main

    def label(cmd) -> None:
        cmd.rich_markup_mode = None
        for param in cmd.params:
            kind = getattr(param, "type", None) or getattr(param, "type_descriptor", None)
            choices = getattr(kind, "choices", None)
            if param.param_type_name == "argument" and hasattr(param, "display_type_rich"):
                # Typer 0.29 writes the type after an argument's name (`NUMBER <str>`).
                param.display_type_rich = lambda ctx: None
            if getattr(param, "is_flag", False) or param.metavar is not None:
                continue
            if choices:
                param.metavar = "[" + "|".join(str(getattr(c, "value", c))
                                               for c in choices) + "]"
            elif param.name:
                param.metavar = param.name.upper()
        for sub in getattr(cmd, "commands", {}).values():
            # The list of commands shows each one's whole first paragraph, wrapped.
            sub.short_help = sub.short_help or " ".join(
                (sub.help or "").strip().split("\n\n")[0].split())
            label(sub)

    command = typer.main.get_command(typer_app)
    label(command)
    return command


# The hot path (cccli/hot.py) runs these without Typer when their command line is plain:
# what an agent types in the middle of a call (answer, hold, unhold, hangup, reject, dtmf
# for an IVR menu), what scripts run in loops (dial, calls, status, state) and the state
# changes of a shift (available, away, break). Each body is the function of cccli/actions.py
# named as the command's handler. The options named here always go through the app:
# choosing among a contact's numbers needs the contacts and, at a terminal, a picker.
# Not hot: transfer (a picker without a target), redial and recent (the log), wrapup
# (a question at a terminal), and everything that is not about the call at hand.
HOT = {
    "status": (), "calls": (), "dial": ("contact", "pick"), "answer": (), "reject": (),
    "hangup": (), "hold": (), "unhold": (), "available": (), "away": (), "break": (),
    "state": (), "dtmf": (),
}
NAMES = {name for name, _ in COMMANDS} | {name for name, _ in GROUPS}


def __getattr__(name: str):
    """`app`, the whole app (every command's module imported), made at its first use:
    for the root's help, an unknown command's error and the generated docs, not for
    running a command (a Tab is answered by cccli.tab before any of this)."""
    if name == "app":
        globals()["app"] = built = build()
        return built
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def whole() -> typer.Typer:
    """The whole app (see `app`), or the one a test put in its place."""
    return sys.modules[__name__].app


def _is(exc: Exception, kind: str) -> bool:
    """Whether `exc` is click's exception `kind` (by name: Typer may carry its own copy of
    click, whose classes are not the installed click's)."""
    return any(k.__name__ == kind for k in type(exc).__mro__)


def click_s(exc: Exception) -> None:
    """Exit as every failure of `cc` does when `exc` is click's: a usage error in one line
    (not a box) with exit 2, help asked for by giving no arguments, an abort at a prompt."""
    if _is(exc, "NoArgsIsHelpError"):
        exc.show()
        sys.exit(exc.exit_code)
    if _is(exc, "UsageError"):
        sys.stderr.write(f"cc: {usage_line(exc)}\n")
        sys.exit(int(Exit.USAGE))
    if _is(exc, "ClickException"):
        sys.stderr.write(f"cc: {' '.join(exc.format_message().split())}\n")
        sys.exit(exc.exit_code)
    if _is(exc, "Abort"):     # Ctrl-C or the end of input at a prompt
        sys.stderr.write("\n")
        sys.exit(130)


def usage_line(exc) -> str:
    """A usage error as the one line every other failure is: what is wrong, and where the
    help is (a negative number taken for an option also learns about `--`)."""
    what = " ".join(exc.format_message().split())
    if getattr(exc, "ctx", None) is not None:
        where = exc.ctx.command_path
    else:   # Click names no command for an option's missing value: the one typed
        where = f"cc {sys.argv[1]}" if sys.argv[1:2] and sys.argv[1] in NAMES else "cc"
    option = getattr(exc, "option_name", None) or ""
    if _is(exc, "NoSuchOption") and re.fullmatch(r"-\d[\d.]*", option):
        import shlex

        args = sys.argv[1:]
        at = args.index(option) if option in args else len(args)
        fixed = shlex.join(["cc", *args[:at], "--", *args[at:]])
        return f"{what}: a value that starts with - goes after --, as in `{fixed}`"
    return f"{what} (see `{where} --help`)"


def main() -> None:
    """Run the Typer app on sys.argv (cccli/compiler.py comes first: the compiler's
    command lines, a Tab, the hot path); every failure ends as cccli/guard.py says."""
    guarded(_typer_app, click_s)


def _typer_app() -> None:
    first = sys.argv[1] if len(sys.argv) > 1 else None
    if sys.argv[1:] == ["--version"]:     # `cccli --version`; `cc --version` never gets here
        print(f"cccli {version_number()}")
        return
    # A command needs only its own module; the root's help needs the whole tree.
    runner = build(first) if first in NAMES else whole()
    code = labelled(runner).main(standalone_mode=False)
    if isinstance(code, int) and code:      # a typer.Exit(code) some command raised
        sys.exit(code)
