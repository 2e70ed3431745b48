"""`cc` is also the C compiler's name: installed first on PATH, ours must never break a
build. A compiler's command line goes, untouched, to the next `cc` on PATH (a real gcc,
a real `make`, a configure-style probe); everything else stays ours."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from cccli import compiler
from conftest import CC, need


def test_the_list_of_our_commands_is_the_apps():
    from cccli.app import NAMES

    assert compiler.COMMANDS == NAMES


@pytest.mark.parametrize("args, compiler_s", [
    (["hello.c"], True), (["-c", "-o", "x.o", "x.c"], True), (["-E", "-"], True),
    (["--version"], True), (["-v"], True), (["-dumpversion"], True),
    (["-print-prog-name=ld"], True), (["x.o", "y.o", "-o", "prog"], True),
    (["conftest.c", "-lm"], True), ([], False), (["status"], False), (["--help"], False),
    (["-h"], False), (["dial", "x.c"], False), (["stauts"], False), (["log", "-h"], False),
])
def test_what_is_a_compilers_command_line(args, compiler_s):
    assert compiler.for_compiler(args) is compiler_s


@pytest.fixture
def ours_first(tmp_path):
    """A PATH as a virtual environment or ~/.local/bin makes it: our `cc` first, then the
    system's (with the real gcc)."""
    gcc = need("gcc")
    system_cc = shutil.which("cc", path=os.defpath) or gcc
    ours = tmp_path / "venv-bin"
    ours.mkdir()
    (ours / "cc").symlink_to(CC)
    env = {**os.environ, "PATH": f"{ours}{os.pathsep}{Path(system_cc).parent}"
                                 f"{os.pathsep}{os.defpath}"}
    env.pop(compiler.PASSED, None)
    return env, system_cc


def run(args, env, cwd=None, input=None):
    return subprocess.run(args, env=env, cwd=cwd, input=input, capture_output=True,
                          text=True, timeout=60)


def test_make_builds_with_the_compiler_not_with_us(ours_first, tmp_path):
    env, _ = ours_first
    need("make")
    assert shutil.which("cc", path=env["PATH"]) == str(tmp_path / "venv-bin" / "cc")
    (tmp_path / "hello.c").write_text('#include <stdio.h>\n'
                                      'int main(void) { puts("hello from C"); return 0; }\n')
    built = run(["make", "hello"], env, cwd=tmp_path)
    assert built.returncode == 0, built.stdout + built.stderr
    assert "cc" in built.stdout and "No such command" not in built.stderr
    assert run([str(tmp_path / "hello")], env).stdout == "hello from C\n"


def test_a_configure_probe_gets_the_compilers_answers_and_exit_codes(ours_first, tmp_path):
    env, system_cc = ours_first
    for probe in (["--version"], ["-dumpversion"], ["-print-prog-name=ld"], ["-v"]):
        ours, theirs = run(["cc", *probe], env), run([system_cc, *probe], env)
        assert (ours.returncode, ours.stdout, ours.stderr) == \
               (theirs.returncode, theirs.stdout, theirs.stderr), probe
    # As configure checks for a working compiler, then for a header that is missing.
    (tmp_path / "conftest.c").write_text("int main(void) { return 0; }\n")
    assert run(["cc", "conftest.c", "-o", "conftest"], env, cwd=tmp_path).returncode == 0
    (tmp_path / "missing.c").write_text("#include <no_such_header_here.h>\n")
    failed = run(["cc", "-c", "missing.c"], env, cwd=tmp_path)
    assert failed.returncode == 1 and "no_such_header_here.h" in failed.stderr
    assert "cc:" not in failed.stderr.split("error")[0].replace(system_cc, "")
    preprocessed = run(["cc", "-E", "-"], env, input="#define X 42\nX\n")
    assert preprocessed.returncode == 0 and "42" in preprocessed.stdout


def test_two_copies_of_ours_on_path_still_reach_the_compiler(ours_first, tmp_path):
    env, _ = ours_first
    second = tmp_path / "user-local-bin"
    second.mkdir()
    shutil.copy(CC, second / "cc")         # another install of ours: another file
    env = {**env, "PATH": f"{second}{os.pathsep}{env['PATH']}"}
    done = run(["cc", "-dumpversion"], env)
    assert done.returncode == 0 and done.stdout.strip()[0].isdigit(), done.stderr


def test_no_compiler_after_us_is_one_line_and_127(tmp_path):
    only = tmp_path / "bin"
    only.mkdir()
    (only / "cc").symlink_to(CC)
    done = run([str(only / "cc"), "hello.c"], {**os.environ, "PATH": str(only)})
    assert done.returncode == 127 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "no C compiler named cc" in done.stderr


def test_our_own_commands_and_mistakes_stay_ours(ours_first, tmp_path):
    env, _ = ours_first
    env = {**env, "CC_HOME": str(tmp_path / "home")}
    version = run(["cc", "version"], env)
    assert version.returncode == 0 and version.stdout.startswith("cc ")
    assert run(["cccli", "--version"], {**env, "PATH": f"{Path(CC).parent}{os.pathsep}"
                                               f"{env['PATH']}"}).stdout.startswith("cccli ")
    typo = run(["cc", "stauts"], env)
    assert typo.returncode != 0 and "stauts" in typo.stderr and "gcc" not in typo.stderr
