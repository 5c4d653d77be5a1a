"""docs/testing.md stays true: its mutation table is what the script measures today. (Its Python
blocks and its case file's output are run by tests/test_docs.py, as every page's.)"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = (ROOT / "docs" / "testing.md").read_text(encoding="utf-8")


def test_kill_rate_table_is_measured(capsys: pytest.CaptureFixture[str]) -> None:
    """Each row of the page's mutation table is what scripts/mutate_packs.py prints today."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import mutate_packs
    finally:
        sys.path.pop(0)
    rows = re.findall(r"^\| (?:`(tests/cases/\S+)` alone|all of `(tests/cases)`) \| \**(\d+ of \d+) \(([\d.]+) %\)\** \|$",
                      PAGE, re.MULTILINE)
    assert 3 == len(rows)
    for single, folder, counts, percent in rows:
        mutate_packs.main([str(ROOT / (single or folder))])
        last = capsys.readouterr().out.rstrip().splitlines()[-1]
        assert f"{counts} mutants killed: {float(percent):.1f}%" == last
