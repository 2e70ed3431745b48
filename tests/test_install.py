"""`pip install` gives man pages and completions that work: the wheel is built offline from
a copy of the repository (the test venv's setuptools, no build isolation), installed with
pip into a fresh virtual environment, and used as a user would: `man cc-dial`, and Tab in
bash (through bash-completion's loader and from the installed file), zsh and fish."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from conftest import need
from test_completions import bash_tab, complete_bash, complete_zsh

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
BASH_COMPLETION = Path("/usr/share/bash-completion/bash_completion")
SKIP = shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__",
                              ".pytest_cache", ".ruff_cache")


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh virtual environment with cc-agent installed from its wheel by pip; the
    dependencies come from the test venv (a .pth line), so nothing is downloaded."""
    work = tmp_path_factory.mktemp("install")
    shutil.copytree(REPO, work / "src", ignore=SKIP)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--no-index", "-q", "-w", work / "dist", work / "src"], check=True,
                   capture_output=True, timeout=300)
    wheel, = (work / "dist").glob("cc_agent-*.whl")
    prefix = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", prefix], check=True, capture_output=True,
                   timeout=300)
    subprocess.run([prefix / "bin" / "python", "-m", "pip", "install", "--no-deps",
                    "--no-index", "-q", wheel], check=True, capture_output=True, timeout=300)
    site = Path(subprocess.run(
        [prefix / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()"
         "['purelib'])"], check=True, capture_output=True, text=True).stdout.strip())
    (site / "test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return prefix


def user_env(prefix: Path, home: Path) -> dict:
    """A user of the fresh environment: its bin first on PATH (as `activate` puts it), a
    home and a profile of their own, the environment's share/ among XDG_DATA_DIRS."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("XDG_", "MANPATH", "VIRTUAL_ENV"))}
    env.update(PATH=f"{prefix / 'bin'}{os.pathsep}/usr/bin{os.pathsep}/bin",
               HOME=str(home), CC_HOME=str(home / "cc"),
               XDG_DATA_DIRS=f"{prefix / 'share'}{os.pathsep}/usr/share")
    return env


def test_the_installed_package_is_the_wheel_not_the_source_tree(installed, tmp_path):
    done = subprocess.run([installed / "bin" / "python", "-c",
                           "import cccli; print(cccli.__file__)"], capture_output=True,
                          text=True, env=user_env(installed, tmp_path), check=True,
                          cwd=tmp_path)     # not the repository, which `-c` would import
    assert done.stdout.startswith(str(installed)), done.stdout


def test_man_finds_the_installed_pages_through_path(installed, tmp_path):
    need("man")
    env = user_env(installed, tmp_path)
    page = installed / "share" / "man" / "man1" / "cc-dial.1"
    for command in (["man", "-w", "cc-dial"], ["man", "-w", "cccli"]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == str(page.with_name(command[-1] + ".1"))
    # `man cc` stays the C compiler's page (or none): never one of ours.
    compiler_s = subprocess.run(["man", "-w", "cc"], env=env, capture_output=True, text=True,
                                timeout=60)
    assert str(installed) not in compiler_s.stdout
    shown = subprocess.run(["man", "cc-dial"], env={**env, "MANPAGER": "cat",
                                                    "MANWIDTH": "80"},
                           capture_output=True, text=True, timeout=60)
    assert "cc-dial - Call a number" in shown.stdout.replace("\u2010", "-"), shown.stderr
    local = subprocess.run(["man", "-l", "-P", "cat", page], env=env, capture_output=True,
                           text=True, timeout=60)
    assert local.returncode == 0 and "--contact" in local.stdout.replace("\u2010", "-")


def test_bash_completion_loads_the_installed_script_by_itself(installed, tmp_path):
    if not BASH_COMPLETION.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("bash-completion is not installed, and CI must test it")
        pytest.skip("bash-completion is not installed")
    env = user_env(installed, tmp_path)
    shown = bash_tab("cc state ", env, tmp_path, source=f"source {BASH_COMPLETION}")
    assert "available" in shown and "away" in shown, shown
    shown = bash_tab("cccli completion ", env, tmp_path, source=f"source {BASH_COMPLETION}")
    assert "zsh" in shown and "fish" in shown, shown


def test_the_installed_scripts_complete_in_bash_zsh_and_fish(installed, tmp_path):
    env = user_env(installed, tmp_path)
    share = installed / "share"
    bash = share / "bash-completion" / "completions" / "cc"
    assert {"available", "break", "away"} <= set(complete_bash("cc state ", env, bash))
    assert {"available", "break", "away"} <= set(
        complete_bash("cccli state ", env, share / "bash-completion" / "completions" /
                      "cccli", prog="cccli"))
    zsh = share / "zsh" / "site-functions" / "_cc"
    assert {"available", "break", "away"} <= set(
        complete_zsh("cc state ", env, install="fpath", script=zsh))
    need("fish")
    fish = subprocess.run(["fish", "-c", "complete -C 'cc state '; complete -C 'cccli state '"],
                          env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert fish.stdout.split() == ["available", "break", "away"] * 2, fish.stderr
    assert (share / "fish" / "vendor_completions.d" / "cccli.fish").exists()
