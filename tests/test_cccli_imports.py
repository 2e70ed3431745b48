"""cccli's modules depend on each other one way: no circle, not even through an import
made inside a function."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest
from conftest import modules_loaded

import cccli

PACKAGE = Path(cccli.__file__).parent
MODULES = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__main__")


def imports_of(name: str) -> set[str]:
    """The cccli modules one module imports, anywhere in it (ast.walk enters functions)."""
    found = set()
    for node in ast.walk(ast.parse((PACKAGE / f"{name}.py").read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if (node.level == 1 and not module) or (node.level == 0 and module == "cccli"):
                found |= {alias.name for alias in node.names}       # from . import a, b
            elif node.level == 1:
                found.add(module.split(".")[0])                       # from .a import x
            elif node.level == 0 and module.startswith("cccli."):
                found.add(module.split(".")[1])                       # from cccli.a import x
        elif isinstance(node, ast.Import):
            found |= {alias.name.split(".")[1] for alias in node.names
                      if alias.name.startswith("cccli.")}
    return found & set(MODULES)


def circle(graph: dict[str, set[str]]) -> list[str] | None:
    """One circle of the graph as a path that ends where it starts, or None."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return path[path.index(node):] + [node]
        if node in done:
            return None
        for nxt in sorted(graph.get(node, ())):
            found = visit(nxt, path + [node])
            if found:
                return found
        done.add(node)
        return None

    for start in sorted(graph):
        found = visit(start, [])
        if found:
            return found
    return None


@pytest.mark.parametrize("name", MODULES)
def test_each_module_imports(name):
    importlib.import_module(f"cccli.{name}")


def test_no_circle_among_cccli_modules():
    graph = {name: imports_of(name) for name in MODULES}
    assert graph["actions"] >= {"contacts", "quick"}    # the reader sees real edges
    found = circle(graph)
    assert found is None, "cccli modules import each other in a circle: " + " -> ".join(found)


def test_the_check_finds_a_circle_through_several_modules():
    assert circle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert circle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def command_modules() -> set[str]:
    """The cccli modules the app's table names as holding commands or groups."""
    from cccli.app import COMMANDS, GROUPS

    return {where.partition(":")[0] for _, where in (*COMMANDS, *GROUPS)} - {"app"}


def test_a_command_imports_only_its_own_module(tmp_path):
    """`cc who` builds and imports `who` alone: not the modules of the other commands."""
    assert {"who", "calls", "log", "team"} <= command_modules()
    modules, output = modules_loaded(tmp_path, "who")
    assert "daemon is not running" in output      # it ran as far as asking the daemon
    loaded = {m.split(".")[1] for m in modules if m.startswith("cccli.")}
    assert loaded & command_modules() == {"who"}


def test_the_whole_tree_is_built_for_the_root_s_help(tmp_path):
    modules, output = modules_loaded(tmp_path, "--help")
    assert {"who", "log", "team"} <= {line.split()[0] for line in output.splitlines()
                                      if line.startswith("  ") and line.split()}
    assert {f"cccli.{name}" for name in command_modules()} <= modules
