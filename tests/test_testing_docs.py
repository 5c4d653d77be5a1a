"""docs/testing.md stays true: its Python blocks run, its case file fails exactly as shown."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_kill_rate_table_is_measured(capsys: pytest.CaptureFixture[str]) -> None:
    """Each row of the page's mutation table is what scripts/mutate_packs.py prints today."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import mutate_packs
    finally:
        sys.path.pop(0)
    rows = re.findall(r"^\| (?:`(tests/cases/\S+)` alone|all of `(tests/cases)`) "
                      r"\| \**(\d+ of \d+) \(([\d.]+) %\)\** \|$", PAGE, re.MULTILINE)
    assert 3 == len(rows)
    for single, folder, counts, percent in rows:
        mutate_packs.main([str(ROOT / (single or folder))])
        last = capsys.readouterr().out.rstrip().splitlines()[-1]
        assert f"{counts} mutants killed: {float(percent):.1f}%" == last
