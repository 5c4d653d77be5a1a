"""docs/testing.md stays true: its mutation example and table are what `shuangyong test --mutate` prints
today. (Its Python
blocks and its case file's output are run by tests/test_docs.py, as every page's.)"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from shuangyong.cli import main

ROOT = Path(__file__).resolve().parents[1]
PAGE = (ROOT / "docs" / "testing.md").read_text(encoding="utf-8")


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
