"""Issue 18 §1: a command imports what it runs, not what every installed plugin could do.

``shuangyong evaluate`` of one visit, in a fresh interpreter with one plugin of this repository
loaded (and the built-in one), must leave none of that plugin's heavy dependencies in
``sys.modules``: a plugin's hooks module imports them inside the hook or adapter method that
needs them (docs/plugins.md). One plugin at a time, so that each plugin answers for its own
imports. Not timed: ``benchmarks/startup.py`` measures; this checks the cause, which timing on
a shared machine would hide.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: (entry-point name, module) pairs: a module that plugin needs for some hooks, and that
#: `evaluate` with that plugin loaded must not import. A plugin made cheap to import adds its
#: modules here.
HEAVY = [
    ("export", "openpyxl"),
    ("export", "numpy"),
    ("export", "weasyprint"),
    ("export", "shuangyong.compliance"),
    ("sql", "sqlalchemy"),
    ("dask", "dask"),
    ("dask", "distributed"),
    ("dask", "pyarrow"),
    ("hl7", "hl7apy"),
    ("hl7", "asyncio"),
    ("hl7", "sqlalchemy"),
    ("fhir", "fhir.resources"),
    ("shuangyong.builtin_plugin", "shuangyong.compliance"),
]

#: Runs the command line in this interpreter, then writes what it imported and which plugins loaded.
RUN_AND_LIST = """\
import json, sys
from shuangyong.cli import main
out, args = sys.argv[1], sys.argv[2:]
try:
    main(args)
except SystemExit as stop:
    code = stop.code
modules = sorted(sys.modules)
from shuangyong import plugins  # after the snapshot: listing the plugins imports them
with open(out, "w") as handle:
    json.dump({"code": code, "modules": modules,
               "plugins": [name for name, _ in plugins.plugin_manager().list_name_plugin()]}, handle)
"""


def run_in_process(tmp_path: Path, *args: str, load: str | None = None) -> dict[str, object]:
    """The exit status, imported modules and loaded plugins of ``shuangyong ARGS`` in a fresh
    interpreter with the installed plugin ``load`` (None: every installed plugin)."""
    listing = tmp_path / "modules.json"
    env = {key: value for key, value in os.environ.items()
           if key not in ("SHUANGYONG_LOAD_PLUGINS", "SHUANGYONG_DISABLE_PLUGINS")}
    if load is not None:
        env["SHUANGYONG_LOAD_PLUGINS"] = load
    subprocess.run([sys.executable, "-c", RUN_AND_LIST, str(listing), *args], cwd=ROOT, env=env,
                   capture_output=True, check=True)
    result: dict[str, object] = json.loads(listing.read_text(encoding="utf-8"))
    return result


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], dict[str, object]]:
    """``evaluate`` of one visit with one plugin loaded, run once per plugin."""
    runs: dict[str, dict[str, object]] = {}

    def run(plugin: str) -> dict[str, object]:
        if plugin not in runs:
            load = "" if plugin == "shuangyong.builtin_plugin" else plugin
            runs[plugin] = run_in_process(tmp_path_factory.mktemp("startup"), "evaluate", "examples/visit.json",
                                          load=load)
        return runs[plugin]

    return run


@pytest.mark.parametrize(("plugin", "module"), HEAVY)
def test_evaluate_imports_no_heavy_dependency(evaluated: Callable[[str], dict[str, object]], plugin: str,
                                              module: str) -> None:
    """The plugin loaded (else the check would prove nothing) and its heavy module was not imported."""
    result = evaluated(plugin)
    assert 0 == result["code"]
    loaded = result["plugins"]
    assert isinstance(loaded, list)
    if plugin not in loaded:
        pytest.skip(f"plugin {plugin} is not installed")
    modules = result["modules"]
    assert isinstance(modules, list)
    assert [] == [name for name in modules if name == module or name.startswith(f"{module}.")]


def test_version_imports_neither_engine_nor_plugins(tmp_path: Path) -> None:
    """``--version`` answers from the group alone: no command module, no engine, no plugin read."""
    result = run_in_process(tmp_path, "--version")
    modules = result["modules"]
    assert isinstance(modules, list)
    assert (0, [], []) == (result["code"], [name for name in modules if name.startswith(("shuangyong.engine",
                                                                                         "shuangyong.cli.base"))],
                           [name for name in modules if name.startswith("shuangyong_")])


def test_a_mistyped_command_is_still_offered_the_one_meant() -> None:
    """The commands are loaded lazily, but click's "did you mean" still knows every one of them."""
    from click.testing import CliRunner

    from shuangyong.cli import main

    result = CliRunner().invoke(main, ["--lang", "en", "evalute"])
    assert (2, True) == (result.exit_code, "'evaluate'" in result.output)
