"""The README's layout names only what is in the repository, and its docs/ links lead somewhere."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
INDENT = 2          # each level of the layout's tree is indented this much more


def layout_block(text: str) -> str:
    """The code block of the README's "## Layout" section."""
    section = text.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    return section.split("```", 2)[1]


def layout_paths(block: str) -> list[str]:
    """Repository paths named by a layout block: a line is `NAME  description`, a NAME
    indented one level more than a folder (`NAME/`) is inside it, and a line indented
    deeper than that goes on with the description above it."""
    paths, folders = [], []         # folders: (indent, path) of the enclosing folders
    for line in block.splitlines():
        indent = len(line) - len(line.lstrip(" "))
        if not line.strip() or indent > INDENT * len(folders):
            continue
        folders = [(i, p) for i, p in folders if i < indent]
        name = re.split(r" {2,}", line.strip(), maxsplit=1)[0]
        path = (folders[-1][1] if folders else "") + name
        paths.append(path)
        if name.endswith("/"):
            folders.append((indent, path))
    return paths


def test_layout_parsing_follows_the_indentation():
    block = ("cccli/        the CLI\n"
             "  app.py      the table\n"
             "              and more about it\n"
             "daemon/\n"
             "  infinity/   the wire\n"
             "    client.py  the client\n"
             "  store.py    the log\n"
             "Makefile      targets\n")
    assert layout_paths(block) == ["cccli/", "cccli/app.py", "daemon/", "daemon/infinity/",
                                   "daemon/infinity/client.py", "daemon/store.py", "Makefile"]


def test_every_path_the_layout_names_exists():
    paths = layout_paths(layout_block(README.read_text(encoding="utf-8")))
    assert {"cccli/app.py", "daemon/store.py", "daemon/emulator/model.py"} <= set(paths)
    missing = [p for p in paths
               if not ((ROOT / p).is_dir() if p.endswith("/") else (ROOT / p).is_file())]
    assert missing == [], f"the README's layout names what is not there: {missing}"


def test_every_docs_page_the_readme_names_exists():
    named = set(re.findall(r"\bdocs/[\w./-]*\w", README.read_text(encoding="utf-8")))
    assert "docs/infinity.md" in named
    assert [p for p in sorted(named) if not (ROOT / p).is_file()] == []


def test_every_relative_link_stays_in_the_repository_and_leads_somewhere():
    pages = [README, *sorted((ROOT / "docs").glob("*.md"))]
    bad = []
    for page in pages:
        for target in re.findall(r"\]\(([^)#\s]+)", page.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target):          # https:, mailto: (none leave the repo)
                bad.append((page.name, target))
                continue
            where = (page.parent / target).resolve()
            if ROOT not in where.parents or not where.exists():
                bad.append((page.name, target))
    assert bad == []


def test_the_licence_pyproject_declares_is_shipped():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")


def test_the_call_logs_columns_in_the_readme_are_the_logs_columns():
    from daemon.wire import LOG_COLUMNS

    section = README.read_text().split("\n## The call log\n", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"Its (\d+) columns \([^)]*\): `([^`]*)`", section)
    assert match, "README's call log section no longer states its columns"
    count, names = int(match[1]), [n.strip() for n in match[2].split(",")]
    assert names == list(LOG_COLUMNS)
    assert count == len(LOG_COLUMNS)
