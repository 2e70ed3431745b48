"""A usage error (an unknown command or option, a value an option refuses) is the one
`cc:` line every other failure is, with exit 2 and where the help is: never a box."""

from __future__ import annotations

import os
import subprocess

import pytest

from conftest import CC


def cc(home, *args):
    return subprocess.run([CC, *args], env={**os.environ, "CC_HOME": str(home)},
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("args, says", [
    (["dial", "--bogus"], "No such option: --bogus (see `cc dial --help`)"),
    (["dail"], "No such command 'dail'"),
    (["log", "--limit", "abc"], "(see `cc log --help`)"),
    (["quick", "add", "x", "-5"], "goes after --, as in `cc quick add x -- -5`"),
    (["catalog", "list", "colours"], "(see `cc catalog list --help`)"),
    (["hold", "--call"], "Option '--call' requires an argument. (see `cc hold --help`)"),
])
def test_a_usage_error_is_one_line_and_exit_2(tmp_path, args, says):
    done = cc(tmp_path / "home", *args)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert done.stderr.startswith("cc: ") and done.stderr.count("\n") == 1, done.stderr
    assert says in done.stderr
    assert not set("╭╮╰╯│─") & set(done.stderr)


def test_help_is_still_help(tmp_path):
    done = cc(tmp_path / "home", "dial", "--help")
    assert done.returncode == 0 and "Usage: cc dial" in done.stdout and done.stderr == ""


def every_command():
    from cccli.app import app, labelled

    def walk(cmd, ctx):
        yield cmd, ctx
        for name, sub in getattr(cmd, "commands", {}).items():
            yield from walk(sub, sub.make_context(name, [], parent=ctx,
                                                  resilient_parsing=True))

    root = labelled(app)
    yield from walk(root, root.make_context("cc", [], resilient_parsing=True))


def test_help_names_values_as_unix_tools_do_not_by_typers_type_labels():
    import re

    helps = {ctx.command_path: cmd.get_help(ctx) for cmd, ctx in every_command()}
    assert len(helps) > 50
    labels = {path: re.findall(r"<[a-z][\w\[\], |]*>", text) for path, text in helps.items()}
    assert {path: found for path, found in labels.items() if found} == {}
    assert not any(set("╭╮╰╯│") & set(text) for text in helps.values())
    assert "--contact CONTACT" in helps["cc dial"] and "--mode [offhook|callback]" in \
        helps["cc dial"]
    assert "[NUMBER]" in helps["cc dial"].splitlines()[0]
