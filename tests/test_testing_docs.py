"""docs/testing.md stays true: its Python blocks run, its case file fails exactly as shown."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from shuangyong.cli import main

ROOT = Path(__file__).resolve().parents[1]
PAGE = (ROOT / "docs" / "testing.md").read_text(encoding="utf-8")


def test_python_blocks_run_in_order() -> None:
    code = "\n".join(re.findall(r"```python\n(.*?)```", PAGE, re.DOTALL))
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            check=False, env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    assert 0 == result.returncode, result.stderr


def test_tutorial_case_file_fails_as_shown(tmp_path: Path) -> None:
    """The tutorial's case file, run with `shuangyong test`, prints the page's output verbatim."""
    case_file = re.search(r"```yaml\n(.*?)```", PAGE, re.DOTALL).group(1)  # type: ignore[union-attr]
    shown = re.search(r"```text\n(FAIL .*?)```", PAGE, re.DOTALL).group(1)  # type: ignore[union-attr]
    (tmp_path / "test_my_hospital.case.yaml").write_text(case_file, encoding="utf-8")
    script = Path(sys.executable).parent / "shuangyong"
    result = subprocess.run([str(script), "--lang", "en", "test", "test_my_hospital.case.yaml"], cwd=tmp_path,
                            capture_output=True, text=True, check=False,
                            env={**os.environ, "SHUANGYONG_LOAD_PLUGINS": ""})
    assert 1 == result.returncode
    assert shown == result.stdout.rstrip("\n") + "\n" + result.stderr


def mutate(cases: str) -> Any:
    return CliRunner().invoke(main, ["--lang", "en", "test", "--mutate", str(ROOT / cases)])


def test_mutation_example_prints_as_shown() -> None:
    """The survivors the page shows are what `shuangyong test --mutate` prints today."""
    command = re.search(r"```sh\nshuangyong test --mutate (\S+)\n```", PAGE).group(1)  # type: ignore[union-attr]
    shown = re.search(r"```text\n(\d+ case\(s\).*?)```", PAGE, re.DOTALL).group(1)  # type: ignore[union-attr]
    result = mutate(command)
    assert 1 == result.exit_code
    assert shown == result.stdout + result.stderr


def test_mutation_table_is_measured() -> None:
    """Each row of the page's mutation table is what `shuangyong test --mutate` prints today."""
    rows = re.findall(r"^\| (?:`(tests/cases/\S+)` alone|all of `(tests/cases)`) \| ([a-z, -]+) \| "
                      r"\**(\d+) of (\d+) \(([\d.]+) %\)\** \|$", PAGE, re.MULTILINE)
    assert 3 == len(rows)
    for single, folder, packs, killed, total, percent in rows:
        result = mutate(single or folder)
        last = (result.stdout + result.stderr).rstrip().splitlines()[-1]
        score = Decimal(percent).quantize(Decimal("0.1"))
        assert (f"mutation testing: {total} mutant(s) of {packs}: {killed} killed, {int(total) - int(killed)} "
                f"survived; mutation score {score}%") == last
