"""The docs stay true: they build without warnings, and the README's example runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_sphinx_builds_without_warnings(tmp_path: Path) -> None:
    """`sphinx-build -W` succeeds: no broken reference, no page left out of the toctree."""
    result = subprocess.run([sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html", str(ROOT / "docs"),
                             str(tmp_path)], capture_output=True, text=True, check=False)
    assert 0 == result.returncode, result.stderr
    assert (tmp_path / "index.html").exists()


def test_readme_embedding_example_runs() -> None:
    """The README's Python example runs from the repository root and prints the decision."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?)```", readme, re.S)
    assert code is not None
    result = subprocess.run([sys.executable, "-c", code.group(1)], cwd=ROOT, capture_output=True, text=True,
                            check=False, env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    assert 0 == result.returncode, result.stderr
    assert "registration" in result.stdout and "sha256:" in result.stdout


@pytest.mark.parametrize("page", ["tutorial", "policy-packs", "json-contract", "cli", "money-and-dates"])
def test_required_pages_exist(page: str) -> None:
    """The pages the project promises are there."""
    assert (ROOT / "docs" / f"{page}.md").exists()
