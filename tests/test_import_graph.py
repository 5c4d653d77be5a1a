"""Imports flow one way (issue 15 §9): no cycle among the modules of shuangyong and its plugins.

The graph is read from the source with ``ast``: an edge for every import a module runs, at its
top or inside a function (a function-level import that closes a cycle still makes one), but not
for those under ``if TYPE_CHECKING:``, which never run. A package's ``__init__`` importing its own
submodules is an edge like any other; a submodule's implicit import of its parent package is not
(Python finishes, or is already running, the parent first). No cycle is allowed, so there is no
allow-list: the function-level imports that remain are there for start-up time or an optional
dependency (the batch extra, distributed), and say so in a comment.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [ROOT / "src" / "shuangyong", *sorted(ROOT.glob("plugins/*/src/shuangyong_*"))]

#: module name → (file, whether it is a package's ``__init__``)
Modules = dict[str, tuple[Path, bool]]
#: module name → {imported module: line of the first import}
Graph = dict[str, dict[str, int]]


def modules(packages: list[Path]) -> Modules:
    found: Modules = {}
    for package in packages:
        for path in package.rglob("*.py"):
            parts = list(path.relative_to(package.parent).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def _type_checking_only(tree: ast.Module) -> set[int]:
    """The ids of the nodes under ``if TYPE_CHECKING:``."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(child) for statement in node.body for child in ast.walk(statement))
    return skipped


def _imported(node: ast.Import | ast.ImportFrom, name: str, is_package: bool, known: Modules) -> Iterator[str]:
    """The known modules an import statement loads."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names if alias.name in known)
        return
    if node.level:  # relative: from its own package, or from a parent's
        base = name.split(".") if is_package else name.split(".")[:-1]
        target = ".".join(base[:len(base) - node.level + 1] + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    for alias in node.names:
        submodule = f"{target}.{alias.name}"
        if submodule in known:
            yield submodule
        elif target in known:
            yield target


def import_graph(known: Modules) -> tuple[Graph, dict[str, list[ast.Import | ast.ImportFrom]]]:
    """The graph, and each module's function-level imports of known modules."""
    graph: Graph = {}
    lazy: dict[str, list[ast.Import | ast.ImportFrom]] = {}
    for name, (path, is_package) in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skipped = _type_checking_only(tree)
        top = {id(statement) for statement in tree.body}
        edges = graph[name] = {}
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)) or id(node) in skipped:
                continue
            targets = [t for t in _imported(node, name, is_package, known) if t != name]
            for target in targets:
                edges.setdefault(target, node.lineno)
            if targets and id(node) not in top and not _under_top_level_if(tree, node):
                lazy.setdefault(name, []).append(node)
    return graph, lazy


def _under_top_level_if(tree: ast.Module, node: ast.AST) -> bool:
    """An import in a module-level ``if``/``try`` runs at import time too: not a lazy one."""
    return any(isinstance(statement, (ast.If, ast.Try)) and any(child is node for child in ast.walk(statement))
               for statement in tree.body)


def cycles(graph: Graph) -> list[list[str]]:
    """Every strongly connected component of more than one module (Tarjan's algorithm), each
    sorted, as the modules that import each other in a ring."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in graph.get(module, {}):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def _describe(cycle: list[str], graph: Graph) -> str:
    return "; ".join(f"{a}:{graph[a][b]} → {b}" for a in cycle for b in cycle if b in graph[a])


def test_no_module_imports_itself_back() -> None:
    graph, _ = import_graph(modules(SOURCES))
    assert "shuangyong.engine.evaluate" in graph and graph["shuangyong.engine.evaluate"]  # the graph was read
    assert [] == [_describe(cycle, graph) for cycle in cycles(graph)]


def test_each_lazy_import_says_why() -> None:
    """A function-level import of a shuangyong module carries a comment (on its line, or on a line
    of the run of imports, blank lines included, it belongs to, or just before that run): it is
    there for start-up time or an optional dependency."""
    known = modules(SOURCES)
    _, lazy = import_graph(known)
    silent = []
    for name, nodes in lazy.items():
        lines = known[name][0].read_text(encoding="utf-8").splitlines()
        for node in nodes:
            first = node.lineno - 1
            while first > 0 and (not lines[first - 1].strip()
                                 or lines[first - 1].lstrip().startswith(("from ", "import "))):
                first -= 1
            if not any("#" in line for line in lines[max(first - 1, 0):node.end_lineno]):
                silent.append(f"{name}:{node.lineno}")
    assert [] == silent


def _package(tmp_path: Path, files: dict[str, str]) -> Modules:
    for relative, text in files.items():
        path = tmp_path / "pkg" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return modules([tmp_path / "pkg"])


def test_a_cycle_through_a_function_level_import_is_found(tmp_path: Path) -> None:
    known = _package(tmp_path, {
        "__init__.py": "",
        "a.py": "from pkg.b import thing\n",
        "b.py": "def thing():\n    from pkg import a  # closes the ring\n    return a\n",
        "c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.a import thing\n",
        "d.py": "from . import c\n",
    })
    graph, lazy = import_graph(known)
    assert [["pkg.a", "pkg.b"]] == cycles(graph)
    assert {"pkg.a": {"pkg.b": 1}, "pkg.b": {"pkg.a": 2}, "pkg.c": {}, "pkg.d": {"pkg.c": 1}} == {
        name: edges for name, edges in graph.items() if name != "pkg"}
    assert ["pkg.b"] == list(lazy)


@pytest.mark.parametrize("first", ["import shuangyong.cli", "from shuangyong import plugins; plugins.registry()"])
def test_the_command_line_gets_every_plugin_command_whatever_is_imported_first(first: str) -> None:
    """Building the plugin manager imports the plugins, and a plugin's command imports
    shuangyong.cli: so importing the CLI must not build the manager (it would then be built twice,
    the second time with a half-imported plugin and without its command)."""
    pytest.importorskip("shuangyong_dask")  # a plugin whose command module imports shuangyong.cli
    pytest.importorskip("shuangyong_hl7")
    script = (f"{first}\n"
              "from shuangyong import plugins\n"
              "from shuangyong.cli import main\n"
              "built_at_import = plugins.plugin_manager.cache_info().misses\n"
              "from click.testing import CliRunner\n"
              "listing = CliRunner().invoke(main, ['--help']).stdout\n"
              "print(built_at_import, plugins.plugin_manager.cache_info().misses, 'dask-evaluate' in listing,"
              " 'hl7' in listing)\n")
    env = {key: value for key, value in os.environ.items() if key != "SHUANGYONG_LOAD_PLUGINS"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                         env=env).stdout
    built_at_import = "0" if first.startswith("import") else "1"
    assert f"{built_at_import} 1 True True" == out.strip()
