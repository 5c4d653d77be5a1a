"""Issue 15 §8: one public API. ``docs/api.md`` lists it; the three public modules export exactly
that, every name imports and says what it is, and the docs, the README and the plugins of this
repository import from nowhere else."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PUBLIC_MODULES = ("shuangyong", "shuangyong.testing", "shuangyong.plugins")

#: Internal modules the plugins of this repository may import, as (distribution, module or
#: package). They are released from this repository with the core and tested with it in the same
#: run, so a change inside the core that breaks one fails here first. Keep the list short: what a
#: third-party plugin would need too belongs in shuangyong.plugins instead.
INTERNAL_ALLOWED = {
    # the Dask plugin is the batch path spread over a cluster: chunks, input formats, progress bar
    ("shuangyong-dask", "shuangyong.batch"),
    # commands added through register_commands that must behave as the core's own (`dask` as
    # `batch`, `hl7 listen` as `evaluate`): the same options and errors-to-exit-status handling
    ("shuangyong-dask", "shuangyong.cli"),
    ("shuangyong-hl7", "shuangyong.cli"),
    # the SQL backend stores the built-in SQLite schema on other servers: its migrations, cap keys
    ("shuangyong-sql", "shuangyong.ledger"),
    # adapters that parse their own formats hold them to the core's input limits, stated once
    ("shuangyong-fhir", "shuangyong.limits"),
    ("shuangyong-hl7", "shuangyong.limits"),
    # ... and the FHIR adapter measures a bundle's nesting before parsing it, as the contract reader does
    ("shuangyong-fhir", "shuangyong.interchange"),
    # the export plugin lays out the core's own compliance report and ledger export, column for column
    ("shuangyong-export", "shuangyong.compliance.report"),
    ("shuangyong-export", "shuangyong.ledger.export"),
    ("shuangyong-export", "shuangyong.ledger.category"),  # ... and the monthly report's categories
    # the HTTP server is the command line over HTTP: the same options, exit handling and JSON
    # contract, byte for byte (its tests compare the bytes), read and written by the same functions
    ("shuangyong-server", "shuangyong.cli"),
    ("shuangyong-server", "shuangyong.interchange"),
    ("shuangyong-server", "shuangyong.documents"),
    ("shuangyong-server", "shuangyong.limits"),
    ("shuangyong-server", "shuangyong.policy"),
    # ... and the office's pages edit a dossier as the loader reads it, show the core's report,
    # 公示 and monthly ledger report, with the core's labels, dates and amounts
    ("shuangyong-server", "shuangyong.compliance"),
    ("shuangyong-server", "shuangyong.notice"),
    ("shuangyong-server", "shuangyong.ledger"),
    ("shuangyong-server", "shuangyong.dates"),
    ("shuangyong-server", "shuangyong.money"),
    ("shuangyong-server", "shuangyong.text"),
}


def documented() -> dict[str, list[str]]:
    """docs/api.md's names per module: the ``- `name`:`` items under each ``## `module``` heading."""
    names: dict[str, list[str]] = {}
    module = None
    for line in (ROOT / "docs" / "api.md").read_text(encoding="utf-8").splitlines():
        heading = re.fullmatch(r"## `([\w.]+)`", line)
        if heading:
            module = names.setdefault(heading.group(1), [])
        elif line.startswith("## "):
            module = None
        elif module is not None and (item := re.match(r"- `(\w+)`: \S", line)):
            module.append(item.group(1))
    return names


def test_the_page_documents_the_three_public_modules() -> None:
    listed = documented()
    assert tuple(listed) == PUBLIC_MODULES
    assert all(len(names) >= 10 for names in listed.values())


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_all_is_exactly_the_documented_list(module_name: str) -> None:
    names = documented()[module_name]
    exported = importlib.import_module(module_name).__all__
    assert sorted(set(names)) == sorted(names), "a name is listed twice"
    assert sorted(names) == sorted(exported)
    assert sorted(exported) == list(exported), "__all__ is kept sorted"


def test_every_public_name_has_one_home() -> None:
    """A name is public in one module only, so there is one way to import it."""
    seen: dict[str, str] = {}
    for module_name in PUBLIC_MODULES:
        for name in importlib.import_module(module_name).__all__:
            assert name not in seen, f"{name} is public in both {seen[name]} and {module_name}"
            seen[name] = module_name


def _own_doc(value: object) -> str | None:
    """The docstring written for this object itself (a class does not borrow its base's)."""
    if inspect.isclass(value):
        return vars(value).get("__doc__")
    return getattr(value, "__doc__", None)


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_every_public_name_imports_and_has_a_docstring(module_name: str) -> None:
    module = importlib.import_module(module_name)
    undocumented = [name for name in module.__all__ if not (_own_doc(getattr(module, name)) or "").strip()]
    assert [] == undocumented
    namespace: dict[str, object] = {}
    exec(f"from {module_name} import *", namespace)  # noqa: S102  (the star import users may write)
    assert set(module.__all__) <= set(namespace)


def test_an_unknown_name_is_an_attribute_error_naming_it() -> None:
    """The lazy lookup of the root and of shuangyong.testing refuses what is not there, plainly."""
    import shuangyong
    import shuangyong.testing

    for module, lazy in ((shuangyong, "BatchEngine"), (shuangyong.testing, "check_visit")):
        with pytest.raises(AttributeError, match="no attribute 'Engin'"):
            module.Engin  # noqa: B018
        assert lazy in dir(module)


def test_shuangyong_testing_imports_nothing_until_asked(tmp_path: Path) -> None:
    """The pytest plugin and the case runner work where hypothesis is absent: importing the
    package (and a name from it) does not pull in the strategies."""
    import subprocess
    import sys

    code = ("import sys; sys.modules['hypothesis'] = None\n"
            "from shuangyong.testing import CaseRunner, check_visit\n"
            "assert 'shuangyong.testing.strategies' not in sys.modules\n"
            "try:\n    from shuangyong.testing import strategies\n"
            "except Exception as error:\n    print(type(error).__name__, error)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=tmp_path)
    assert 0 == result.returncode, result.stderr
    assert result.stdout.startswith("MissingExtraError") and "hypothesis" in result.stdout


# --- what the docs, the README and the plugins import --------------------------------------------


def _python_blocks(path: Path) -> Iterator[tuple[int, str]]:
    """(first line, code) of each ```python block of a Markdown file."""
    text = path.read_text(encoding="utf-8")
    for match in re.finditer(r"^```python\n(.*?)^```", text, re.S | re.M):
        yield text.count("\n", 0, match.start()) + 2, match.group(1)


def _sources() -> Iterator[tuple[str, str | None, int, str]]:
    """(where, plugin distribution or None, first line, Python code) of everything scanned."""
    for path in sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]:
        for line, code in _python_blocks(path):
            yield str(path.relative_to(ROOT)), None, line, code
    for path in sorted((ROOT / "plugins").glob("*/src/**/*.py")):
        plugin = path.relative_to(ROOT / "plugins").parts[0]
        yield str(path.relative_to(ROOT)), plugin, 1, path.read_text(encoding="utf-8")
    for path in [ROOT / "tests" / "sample_plugin.py", *sorted((ROOT / "examples").glob("*.py"))]:
        yield str(path.relative_to(ROOT)), None, 1, path.read_text(encoding="utf-8")


def core_imports(code: str) -> Iterator[tuple[int, str, str | None]]:
    """(line, module, name or None) of every import of the core in ``code``."""
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module is not None:
            if node.module == "shuangyong" or node.module.startswith("shuangyong."):
                for alias in node.names:
                    yield node.lineno, node.module, alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "shuangyong" or alias.name.startswith("shuangyong."):
                    yield node.lineno, alias.name, None


def _is_public(module: str, name: str | None) -> bool:
    if name is None:
        return module in PUBLIC_MODULES
    if module not in PUBLIC_MODULES:
        return False
    return name in importlib.import_module(module).__all__ or f"{module}.{name}" in PUBLIC_MODULES


def _allowed(plugin: str | None, module: str) -> tuple[str, str] | None:
    return next(((p, m) for p, m in INTERNAL_ALLOWED
                 if p == plugin and (module == m or module.startswith(m + "."))), None)


def internal_imports() -> tuple[list[str], set[tuple[str, str]]]:
    """Imports of internal names that nothing allows, and the allow-list entries in use."""
    found, used = [], set()
    for where, plugin, first, code in _sources():
        for line, module, name in core_imports(code):
            if _is_public(module, name):
                continue
            entry = _allowed(plugin, module)
            if entry is None:
                found.append(f"{where}:{first + line - 1}: {module}" + (f" import {name}" if name else ""))
            else:
                used.add(entry)
    return found, used


def test_docs_readme_and_plugins_import_only_the_public_api() -> None:
    found, _ = internal_imports()
    assert [] == found


def test_every_allowed_internal_import_is_still_needed() -> None:
    """An entry no plugin uses any more is removed, so the list stays as short as it can be."""
    _, used = internal_imports()
    assert INTERNAL_ALLOWED == used


@pytest.mark.parametrize("code,expected", [
    ("from shuangyong import Engine, plugins", []),
    ("from shuangyong.plugins import parse_amount\nimport shuangyong.testing", []),
    ("from shuangyong.engine import Engine", ["shuangyong.engine import Engine"]),
    ("from shuangyong import compile_rules", ["shuangyong import compile_rules"]),
    ("from shuangyong.plugins import call_each", ["shuangyong.plugins import call_each"]),
    ("def f():\n    from shuangyong.money import (\n        ZERO,\n    )", ["shuangyong.money import ZERO"]),
    ("import shuangyong.whatif", ["shuangyong.whatif"]),
])
def test_the_scan_finds_an_internal_import_wherever_it_is(code: str, expected: list[str]) -> None:
    """The scanner itself: inside a function, across lines, a private name of a public module."""
    found = [f"{module} import {name}" if name else module
             for _, module, name in core_imports(code) if not _is_public(module, name)]
    assert expected == found


def test_a_plugin_may_use_only_its_own_allowance() -> None:
    assert _allowed("shuangyong-dask", "shuangyong.batch.progress") == ("shuangyong-dask", "shuangyong.batch")
    assert _allowed("shuangyong-fhir", "shuangyong.batch") is None
    assert _allowed("shuangyong-dask", "shuangyong.batchy") is None
    assert _allowed(None, "shuangyong.cli") is None
