"""The README and `cc --help` say what the code does (one source: daemon.wire)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from conftest import CC
from daemon.wire import EXIT_MEANINGS

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_exit_code_table_matches_the_code():
    rows = re.findall(r"^\| (\d+) \| (.+) \|$", README.read_text(), re.MULTILINE)
    assert [(int(c), t) for c, t in rows] == [(int(c), t) for c, t in EXIT_MEANINGS.items()]


def test_help_lists_every_exit_code_and_both_names():
    text = subprocess.run([CC, "--help"], capture_output=True, text=True).stdout
    for code, meaning in EXIT_MEANINGS.items():
        assert re.search(rf"\b{int(code)}\s+{re.escape(meaning[:20])}", text), meaning
    assert "cccli" in text


def test_readme_shows_the_two_commands_first():
    text = README.read_text()
    first_block = text.split("```")[1]
    assert "make demo" in first_block and "make test" in first_block
