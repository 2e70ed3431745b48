"""Shell completions and man pages, generated from the Typer app (the one source of truth).

    python scripts/gen_docs.py            write the files that changed (`make docs`)
    python scripts/gen_docs.py --check    write nothing; exit 1 and name each stale file

Writes docs/cli-daemon.md (the CLI <-> daemon contract, from the daemon's command table),
the completion scripts (completions/bash/cc and cccli, completions/zsh/_cc,
completions/fish/cc.fish and cccli.fish: what `cc completion SHELL` prints, from
cccli/shells.py), cccli/tabtree.py
(the commands, options and choices a Tab offers, read by cccli/tab.py without Typer),
and man/cccli.1 (every command, exit codes, files, environment), man/cc-GROUP.1 for each
command group and man/cc-COMMAND.1 for each other command.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from daemon import profile, wire  # noqa: E402

PROG = "cc"
REGENERATE = "make docs"
# Each shell's script under each name the shell loads on demand for a command (bash-completion
# and fish: a file named after it; zsh: `#compdef cc cccli`); pyproject.toml installs them.
SHELL_FILES = {"bash/cc": "bash", "bash/cccli": "bash", "zsh/_cc": "zsh",
               "fish/cc.fish": "fish", "fish/cccli.fish": "fish"}


# ---------------------------------------------------------------- the command tree

def command_tree():
    """The app as Click sees it, and a context to ask it questions in."""

    from cccli.app import app, labelled

    root = labelled(app)
    return root, root.make_context(PROG, [], resilient_parsing=True)


def subcommands(group, ctx) -> list[tuple[object, object]]:
    """(command, its context) for each visible sub-command, in the table's order."""
    found = []
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        if cmd is None or cmd.hidden:
            continue
        found.append((cmd, cmd.make_context(name, [], parent=ctx, resilient_parsing=True)))
    return found


def is_group(cmd) -> bool:
    return hasattr(cmd, "list_commands")


def one_line(cmd) -> str:
    """The first paragraph of a command's help, on one line, without the final stop."""
    text = (cmd.help or cmd.short_help or "").strip().split("\n\n")[0]
    return " ".join(text.split()).rstrip(".")


def paragraphs(text: str | None) -> list[str]:
    return [" ".join(p.split()) for p in (text or "").strip().split("\n\n") if p.strip()]


def argument_name(param) -> str:
    name = param.metavar or param.name.upper()
    if param.nargs == -1 and not name.endswith("..."):
        name += "..."
    return name


def usage(cmd, ctx) -> list[str]:
    """The words after the command's name: [OPTIONS], then its arguments."""
    words = ["[OPTIONS]"]
    for param in cmd.get_params(ctx):
        if param.param_type_name == "argument":
            name = argument_name(param)
            words.append(name if param.required or name.startswith("[") else f"[{name}]")
    if is_group(cmd):
        words.append("COMMAND")
    return words


# ---------------------------------------------------------------- roff

def roff(text: str) -> str:
    """Plain text for a roff line: \\, - and a leading . or ' escaped; `code` in bold."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    text = re.sub(r"`([^`]+)`", r"\\fB\1\\fR", text)
    if text.startswith((".", "'")):
        text = "\\&" + text
    return text


def option_tag(spec: str) -> str:
    """'-f, --format FORMAT' -> bold option names, italic value."""
    out = []
    for match in re.finditer(r"(\[[^\]]*\]|\b[A-Z][A-Z0-9_]*\b(?:\.\.\.)?)|(--?[A-Za-z][\w-]*)|"
                             r"([^A-Z\[-]+|.)", spec):
        value, option, other = match.groups()
        if value:
            out.append(f"\\fI{roff(value)}\\fR")
        elif option:
            out.append(f"\\fB{roff(option)}\\fR")
        else:
            out.append(roff(other))
    return "".join(out)


def usage_line(words: list[str], name: str) -> list[str]:
    text = " ".join(roff(w) if w.startswith("[") and w.endswith("]") and " " not in w
                    else f"\\fI{roff(w)}\\fR" for w in words)
    return [f".B {roff(name)}", text]


def arguments_list(cmd, ctx) -> list[str]:
    """.TP items for the arguments, with their help."""
    lines = []
    for param in cmd.get_params(ctx):
        if param.param_type_name == "argument" and not param.hidden:
            record = param.get_help_record(ctx)
            lines += [".TP", f"\\fI{roff(argument_name(param))}\\fR",
                      roff(" ".join(record[1].split()) if record else "")]
    return lines


def options_list(cmd, ctx) -> list[str]:
    """.TP items for the options, with help, defaults and ranges as `--help` has them."""
    lines = []
    for param in cmd.get_params(ctx):
        if param.param_type_name == "option":
            record = param.get_help_record(ctx)
            if record:
                lines += [".TP", option_tag(record[0]), roff(" ".join(record[1].split()))]
    return lines


def page(name: str, summary: str, sections: list[tuple[str, list[str]]],
         names: str | None = None) -> str:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    lines = [f'.\\" Generated by scripts/gen_docs.py from the Typer app: run `{REGENERATE}`.',
             f'.TH {roff(name.upper())} 1 "" "{PROG} {version}" "cc manual"',
             ".nh",     # no hyphenation: option and variable names stay whole
             ".SH NAME", f"{roff(names or name)} \\- {roff(summary)}"]
    for title, body in sections:
        if body:
            lines += [f".SH {title}", *body]
    return "\n".join(lines) + "\n"


def text_block(parts: list[str]) -> list[str]:
    lines = []
    for i, part in enumerate(parts):
        if i:
            lines.append(".PP")
        lines.append(roff(part))
    return lines


SEE_CC = [".BR cccli (1)"]
EXIT_STATUS = [roff("0 on success; otherwise one line on stderr starting with `cc:` and one "
                    "of the exit codes listed in"), ".BR cc (1)."]


def command_page(cmd, ctx, path: str) -> str:
    """cc-COMMAND(1): one command's synopsis, description, arguments and options."""
    commands = []
    if is_group(cmd):
        for sub, sub_ctx in subcommands(cmd, ctx):
            commands += [f".SS {roff(path + ' ' + sub.name)}",
                         *usage_line(usage(sub, sub_ctx), f"{path} {sub.name}"), ".PP",
                         *text_block(paragraphs(sub.help)), *arguments_list(sub, sub_ctx),
                         *options_list(sub, sub_ctx)]
    return page(path.replace(" ", "-"), one_line(cmd), [
        ("SYNOPSIS", usage_line(usage(cmd, ctx), path)),
        ("DESCRIPTION", text_block(paragraphs(cmd.help))),
        ("COMMANDS", commands),
        ("ARGUMENTS", arguments_list(cmd, ctx)),
        ("OPTIONS", options_list(cmd, ctx)),
        ("EXIT STATUS", EXIT_STATUS),
        ("SEE ALSO", SEE_CC),
    ])


ENVIRONMENT = {
    "CC_HOME": "Keep this profile's settings, call log, journal, logs and sockets under "
               "this directory (see FILES), so several agents on one machine never "
               "collide. Without it, the platform's directories are used (`cc config "
               "path --json` shows them).",
    "CC_COLD": "Set to anything to run every command through the whole command-line "
               "app, never the fast path of the everyday commands (to compare, or to rule "
               "it out).",
    "CC_PASSWORD": "The Infinity password. It is taken before server.password_command "
                   "and server.password, and never written to the journal.",
    "NO_COLOR": "Set to anything to turn off colours and the live progress count of "
                "`cc log --output`.",
}
FILES = (   # (a Paths attribute or socket, what it holds)
    ("config_file", "the settings (TOML); `cc config set` keeps comments and layout"),
    ("database", "the call log (SQLite)"),
    ("journal", "the XML journal of every message exchanged with the server "
                "(passwords written as ***)"),
    ("daemon_log", "the daemon's log when started with `cc daemon start`"),
    ("run_dir", "the daemon's sockets and lock file; must be private (mode 0700)"),
    (wire.REQUEST_SOCKET, "requests from `cc` to the daemon (ZeroMQ)"),
    (wire.EVENTS_SOCKET, "changes published by the daemon (`cc watch`)"),
)


def files_section() -> list[str]:
    """Where a profile keeps things, as daemon.profile lays them out under CC_HOME."""
    saved = os.environ.get("CC_HOME")
    os.environ["CC_HOME"] = "/CC_HOME"
    try:
        paths = profile.paths()
    finally:
        if saved is None:
            del os.environ["CC_HOME"]
        else:
            os.environ["CC_HOME"] = saved
    lines = []
    for what, meaning in FILES:
        place = getattr(paths, what) if hasattr(paths, what) else paths.socket(what)
        shown = "$CC_HOME/" + place.relative_to("/CC_HOME").as_posix()
        lines += [".TP", f"\\fI{roff(shown)}\\fR", roff(meaning)]
    return lines


def overview_page(root, ctx) -> str:
    """cccli(1): every command with its one-line help, exit codes, files, environment.
    Named cccli, not cc: `man cc` stays the C compiler's page, as `cc` hands a compiler's
    command line to the compiler."""
    commands, see_also = [], ["cc-" + cmd.name for cmd, _ in subcommands(root, ctx)]
    for cmd, cmd_ctx in subcommands(root, ctx):
        if is_group(cmd):
            for sub, sub_ctx in subcommands(cmd, cmd_ctx):
                commands += [".TP", tag(f"cc {cmd.name} {sub.name}", usage(sub, sub_ctx)),
                             roff(one_line(sub))]
        else:
            commands += [".TP", tag(f"cc {cmd.name}", usage(cmd, cmd_ctx)),
                         roff(one_line(cmd))]
    exits = []
    for code, meaning in wire.EXIT_MEANINGS.items():
        exits += [".TP", f"\\fB{int(code)}\\fR", roff(meaning)]
    environment = []
    for name, meaning in ENVIRONMENT.items():
        environment += [".TP", f"\\fB{name}\\fR", roff(meaning)]
    refs = [f".BR {roff(name)} (1){',' if i < len(see_also) - 1 else ''}"
            for i, name in enumerate(see_also)]
    summary = paragraphs(root.help)[0].split(". ")[0].rstrip(".")
    return page("cccli", summary, [
        ("SYNOPSIS", usage_line(["[OPTIONS]", "COMMAND", "[ARGS]..."], "cc") + [
            ".br", *usage_line(["[OPTIONS]", "COMMAND", "[ARGS]..."], "cccli")]),
        ("DESCRIPTION", text_block(paragraphs(root.help) + [
            "Every command takes --json and -h/--help; each has a page of its own, "
            "cc-COMMAND(1). This page is cccli(1) so that `man cc` stays the C compiler's "
            "(a compiler's command line given to cc goes to the next cc on PATH). Errors "
            "are one line on stderr starting with `cc:` that names "
            "the problem and the way out."])),
        ("COMMANDS", commands),
        ("OPTIONS", options_list(root, ctx)),
        ("EXIT STATUS", exits),
        ("ENVIRONMENT", environment),
        ("FILES", files_section()),
        ("SEE ALSO", refs),
    ], names="cccli")


def tag(name: str, words: list[str]) -> str:
    """`cc config get [KEY]` for a .TP tag: the name bold, the arguments italic."""
    args = [w for w in words if w != "[OPTIONS]"]
    return " ".join([f"\\fB{roff(name)}\\fR"] + [f"\\fI{roff(w)}\\fR" for w in args])


def man_pages() -> dict[str, str]:
    root, ctx = command_tree()
    pages = {"man/cccli.1": overview_page(root, ctx)}
    for cmd, cmd_ctx in subcommands(root, ctx):
        pages[f"man/cc-{cmd.name}.1"] = command_page(cmd, cmd_ctx, f"cc {cmd.name}")
    return pages


# ---------------------------------------------------------------- completions

def completions() -> dict[str, str]:
    """Each shell's script (cccli/shells.py, what `cc completion SHELL` prints)."""
    from cccli.shells import script

    return {f"completions/{name}": script(shell) for name, shell in SHELL_FILES.items()}


HELP_WIDTH = 60     # a description longer than this is cut: fish reads a wrap as a value


def short(text: str | None) -> str:
    """A description for a Tab: the first sentence, on one line, cut to HELP_WIDTH."""
    text = " ".join((text or "").split())
    for stop in (". ", "; "):
        text = text.split(stop)[0]
    text = text.rstrip(".")
    return text if len(text) <= HELP_WIDTH else text[:HELP_WIDTH - 3] + "..."


def _base(annotation):
    """int for Optional[int], str for list[str]."""
    import types
    import typing

    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    if typing.get_origin(annotation) is list:
        annotation = typing.get_args(annotation)[0]
    return annotation


def source(param) -> list:
    """Where a parameter's values come from at a Tab: ["choices", [...]], ["call", the
    function of cccli/complete.py the command names as its `autocompletion`, whether it
    takes the context], ["files"] (the shell's file names) or ["none"] (numbers)."""
    import inspect

    from cccli import complete

    hook = param._custom_shell_complete
    if hook is not None:
        cells = dict(zip(hook.__code__.co_freevars, (c.cell_contents for c in
                                                     hook.__closure__ or ())))
        function = getattr(cells.get("autocompletion"), "__wrapped__", None)
        if function is None or getattr(complete, function.__name__, None) is not function:
            raise SystemExit(f"gen_docs: {param.name}: an autocompletion function must be "
                             "one of cccli/complete.py's (and Typer must keep it as "
                             "'autocompletion' in its wrapper)")
        takes_ctx = "ctx" in inspect.signature(function).parameters
        return ["call", function.__name__, takes_ctx]
    kind = param.type_descriptor
    if kind.choices:
        return ["choices", [str(getattr(c, "value", c)) for c in kind.choices]]
    if _base(kind.annotation) in (int, float):
        return ["none"]
    return ["files"]        # text without a completion function: the shell's own default


def tab_node(cmd, ctx) -> dict:
    """A command of the tree cccli/tab.py walks at each Tab."""
    options, arguments = [], []
    for param in cmd.get_params(ctx):
        if param.hidden if hasattr(param, "hidden") else False:
            continue
        if param.param_type_name == "argument":
            arguments.append({"dest": param.name, "nargs": param.nargs,
                              "value": source(param)})
            continue
        flag = getattr(param, "is_flag", False) or getattr(param, "count", False)
        options.append({"names": sorted(param.opts) + sorted(param.secondary_opts),
                        "dest": param.name,
                        "value": None if flag else source(param),
                        "multiple": bool(param.multiple), "help": short(param.help)})
    commands = {}
    if is_group(cmd):
        for sub, sub_ctx in subcommands(cmd, ctx):
            commands[sub.name] = {**tab_node(sub, sub_ctx), "help": short(one_line(sub))}
    return {"help": short(one_line(cmd)), "options": options, "arguments": arguments,
            "commands": commands}


def _emit(node: dict, indent: str) -> list[str]:
    """A node as Python, one option or argument a line."""
    inner = indent + "    "
    lines = [f"{inner}'help': {node['help']!r},", f"{inner}'options': ["]
    lines += [f"{inner}    {option!r}," for option in node["options"]]
    lines += [f"{inner}],", f"{inner}'arguments': ["]
    lines += [f"{inner}    {argument!r}," for argument in node["arguments"]]
    lines += [f"{inner}],", f"{inner}'commands': {{"]
    for name, sub in node["commands"].items():
        lines += [f"{inner}    {name!r}: {{", *_emit(sub, inner + "    "), f"{inner}    }},"]
    return lines + [f"{inner}}},"]


def tab_tree() -> str:
    """cccli/tabtree.py: the commands, options and choices a Tab offers, without Typer."""
    root, ctx = command_tree()
    return "\n".join([
        f'"""Generated by scripts/gen_docs.py from the Typer app; do not edit: `{REGENERATE}`.',
        "",
        "The commands, options and choices cccli/tab.py offers at each Tab. A value's source",
        "is [\"choices\", [...]], [\"call\", a function of cccli/complete.py, whether it takes",
        "the context], [\"files\"] or [\"none\"]; a flag's is None.\"\"\"",
        "# ruff: noqa: E501",
        "",
        "TREE = {", *_emit(tab_node(root, ctx), ""), "}", ""])


def hot_param(param, cold: tuple[str, ...]) -> dict:
    """A parameter as cccli/hot.py checks it: its kind (argument, option or flag), names,
    type (str, int, float, choice, or cold: always the app's), range, default."""
    kind = param.type_descriptor
    base = _base(kind.annotation)
    info = kind.parameter_info
    flag = getattr(param, "is_flag", False)
    if param.param_type_name == "argument":
        role = "argument"
    else:
        role = "flag" if flag else "option"
    if flag and (param.secondary_opts or getattr(param, "count", False)):
        role, type_ = "option", "cold"
    elif param.name in cold or param.multiple or param.nargs != 1 or kind.is_list:
        type_ = "cold"
    elif kind.choices:
        type_ = "choice"
    elif flag:
        type_ = "bool"
    else:
        type_ = {str: "str", int: "int", float: "float"}.get(base, "cold")
    if (not getattr(kind, "case_sensitive", True) or getattr(info, "clamp", False)
            or getattr(info, "min_open", False) or getattr(info, "max_open", False)
            or getattr(param, "envvar", None) or getattr(param, "callback", None)):
        type_ = "cold"      # Click would change or find the value in ways not copied here
    default = param.default
    if not isinstance(default, (type(None), bool, int, float, str)):
        raise SystemExit(f"gen_docs: {param.name}: the hot path cannot hold its default "
                         f"{default!r}")
    found = {"dest": param.name, "kind": role, "names": sorted(param.opts), "type": type_,
             "required": bool(param.required), "default": default}
    if type_ == "choice":
        found["choices"] = [str(getattr(c, "value", c)) for c in kind.choices]
    if type_ in ("int", "float"):
        found["min"], found["max"] = getattr(info, "min", None), getattr(info, "max", None)
    return found


def hot_spec() -> str:
    """cccli/hotspec.py: the hot commands' parameters, read from the app's commands, and
    the body each runs (the function of cccli/actions.py of its handler's name)."""
    import inspect

    import typer.main

    from cccli import actions, app

    lines = [f'"""Generated by scripts/gen_docs.py from the Typer app; do not edit: '
             f'`{REGENERATE}`.', "",
             "The commands cccli/hot.py runs without Typer (cccli/app.py's HOT): each one's",
             "body in cccli/actions.py and its parameters as the app declares them.\"\"\"",
             "# ruff: noqa: E501", "", "COMMANDS = {"]
    handlers = dict(app.COMMANDS)
    for name, cold in app.HOT.items():
        command = typer.main.get_command(app.build(name)).commands[name]
        body = handlers[name].partition(":")[2]
        params = [hot_param(p, cold) for p in command.params]
        wanted = [p["dest"] for p in params]
        takes = list(inspect.signature(getattr(actions, body)).parameters)
        if sorted(takes) != sorted(wanted):
            raise SystemExit(f"gen_docs: cccli/actions.py's {body} takes {takes}; the app's "
                             f"{name} has {wanted}: they must be the same names")
        lines.append(f"    {name!r}: ({body!r}, [")
        lines += [f"        {p!r}," for p in params]
        lines.append("    ]),")
    return "\n".join([*lines, "}", ""])


# ---------------------------------------------------------------- main

def generate() -> dict[str, str]:
    from daemon.handlers import contract

    return {**completions(), "cccli/tabtree.py": tab_tree(), "cccli/hotspec.py": hot_spec(),
            **man_pages(),
            "docs/cli-daemon.md": contract.markdown()}


def leftovers(root: Path, wanted: dict[str, str]) -> list[str]:
    """Generated files of commands that no longer exist."""
    old = [p.relative_to(root).as_posix() for p in (root / "man").glob("cc*.1")]
    return sorted(p for p in old if p not in wanted)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a file is missing or stale")
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="the directory holding completions/ and man/ (default: the "
                             "repository)")
    args = parser.parse_args(argv)
    wanted = generate()
    stale = [path for path, text in wanted.items()
             if not (args.root / path).exists()
             or (args.root / path).read_text(encoding="utf-8") != text]
    extra = leftovers(args.root, wanted)
    if args.check:
        for path in stale:
            print(f"gen_docs: {path} is stale or missing", file=sys.stderr)
        for path in extra:
            print(f"gen_docs: {path} belongs to no command any more", file=sys.stderr)
        if stale or extra:
            print(f"gen_docs: regenerate with `{REGENERATE}` "
                  "(or .venv/bin/python scripts/gen_docs.py)", file=sys.stderr)
            return 1
        return 0
    for path in stale:
        target = args.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(wanted[path], encoding="utf-8")
        print(f"wrote {path}")
    for path in extra:
        (args.root / path).unlink()
        print(f"removed {path}")
    if not stale and not extra:
        print(f"completions/ and man/ are up to date ({len(wanted)} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
