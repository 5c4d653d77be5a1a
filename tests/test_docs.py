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


def test_tutorial_snippets_run_in_order() -> None:
    """Every Python block of the tutorial runs, top to bottom, in one namespace, from the repo root."""
    text = (ROOT / "docs" / "tutorial.md").read_text(encoding="utf-8")
    code = "\n".join(re.findall(r"```python\n(.*?)```", text, re.S))
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            check=False, env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    assert 0 == result.returncode, result.stderr
    assert "1 registration 12.00 12.00 0.00 two-waivers.registration" in result.stdout
    assert "2 drug 37.85 0.00 37.85 None" in result.stdout


def test_reference_example_pack_loads(tmp_path: Path) -> None:
    """The complete example pack of the policy-pack reference passes `policy check`."""
    from shuangyong.model import Registry
    from shuangyong.policy import PolicySet

    text = (ROOT / "docs" / "policy-packs.md").read_text(encoding="utf-8")
    pack = tmp_path / "hospital.yaml"
    pack.write_text(re.search(r"```yaml\n(.*?)```", text, re.S).group(1), encoding="utf-8")  # type: ignore[union-attr]
    merged = PolicySet.load([str(pack)], Registry.builtin())
    assert ("cn-national", "seed-example", "nanning-people-hospital") == merged.packs
    assert "green-channel" not in {rule.spec.id for rule in merged.rules}


def test_cli_reference_matches_help() -> None:
    """docs/cli.md has a section for every command showing its current --help, so the reference
    cannot drift; `python scripts/refresh_cli_docs.py` rewrites the blocks."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import refresh_cli_docs
    finally:
        sys.path.pop(0)
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert text == refresh_cli_docs.refresh(text), "run: python scripts/refresh_cli_docs.py"
