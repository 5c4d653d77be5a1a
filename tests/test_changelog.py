"""The changelog's fragments (changelog.d/): each is named for an issue and a Keep a Changelog
type, says something, and towncrier renders them all."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FRAGMENTS = sorted((ROOT / "changelog.d").glob("*.md"))
TYPES = {t["directory"] for t in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["towncrier"]["type"]}


def test_the_types_are_keep_a_changelogs() -> None:
    assert TYPES == {"added", "changed", "deprecated", "removed", "fixed", "security"}


@pytest.mark.parametrize("fragment", FRAGMENTS, ids=lambda p: p.name)
def test_fragment_is_named_for_an_issue_and_a_type(fragment: Path) -> None:
    match = re.fullmatch(r"(\d+)-[a-z0-9-]+\.([a-z]+)\.md", fragment.name)
    assert match, f"{fragment.name}: name it <issue>-<slug>.<type>.md"
    assert match[2] in TYPES, f"{fragment.name}: type {match[2]!r} is not one of {sorted(TYPES)}"
    assert fragment.read_text(encoding="utf-8").strip(), f"{fragment.name} is empty"


def test_towncrier_renders_every_fragment() -> None:
    result = subprocess.run([sys.executable, "-m", "towncrier", "build", "--draft", "--version", "next"],
                            cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    for fragment in FRAGMENTS:
        first_words = " ".join(fragment.read_text(encoding="utf-8").split()[:6])
        assert first_words in " ".join(result.stdout.split()), f"{fragment.name} is not in the draft"
