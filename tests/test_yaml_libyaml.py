"""Issue 18 §4: documents are read by libyaml when PyYAML has it, with the same data, the same
line of every key and the same refusals as PyYAML's Python loader (docs/limits.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from shuangyong import documents
from shuangyong.documents import PlainDatesLoader, read_yaml
from shuangyong.errors import PolicyError
from shuangyong.limits import MAX_DEPTH, MAX_YAML_ALIASES
from shuangyong.text import Text

ROOT = Path(__file__).resolve().parents[1]
YAML_FILES = sorted(path for pattern in ("*.yaml", "*.yml") for path in ROOT.glob(f"**/{pattern}")
                    if not {".venv", ".git", "node_modules"} & set(path.relative_to(ROOT).parts))

needs_libyaml = pytest.mark.skipif(not getattr(yaml, "__with_libyaml__", False), reason="PyYAML without libyaml")


def python_only(text: str, origin: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """What the Python loader alone answers: the data and lines, or the error's record and message."""
    with monkeypatch.context() as patched:
        patched.setattr(documents, "_read_with_libyaml", lambda *args: None)
        return answer(text, origin)


def answer(text: str, origin: str) -> Any:
    try:
        return read_yaml(text, origin)
    except PolicyError as error:
        return error.record, error.message


@needs_libyaml
def test_the_repository_s_documents_read_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every YAML file here (packs, standards, dossiers, cases, examples, hostile test files) reads
    to the same data and lines, or the same refusal, as with the Python loader alone; libyaml
    hands over only what the Python loader refuses, and an empty document."""
    read_fast, handed_over = 0, []
    for path in YAML_FILES:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # a test's non-UTF-8 file: refused before any YAML is read
        expected = python_only(text, str(path), monkeypatch)
        assert expected == answer(text, str(path)), path
        if documents._read_with_libyaml(text, str(path), PlainDatesLoader, PolicyError) is None:
            handed_over.append(expected)
        else:
            read_fast += 1
    assert read_fast > 20
    assert [] == [result for result in handed_over if result != (None, {}) and not isinstance(result[1], Text)]


HOSTILE = {
    "too deep": "a: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "\n",
    "too many aliases": "base: &b 1\nall: [" + ", ".join(["*b"] * (MAX_YAML_ALIASES + 1)) + "]\n",
    "alias bomb": "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n" + "".join(
        f"{chr(98 + n)}: &{chr(98 + n)} [{', '.join([f'*{chr(97 + n)}'] * 10)}]\n" for n in range(6)),
    "lone surrogate": 'a: "\\ud800"\n',
    "duplicate key": "pack: x\ntitle: y\npack: z\n",
    "broken": "pack: x\n  title: [\n",
    "unknown tag": "pack: !frobnicate x\n",
    "undefined alias": "pack: *nowhere\n",
}


@needs_libyaml
@pytest.mark.parametrize("name", HOSTILE)
def test_a_refusal_is_the_python_loader_s(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """libyaml hands every document it or the limits refuse to the Python loader, so the error, its
    line and its words are the ones users know."""
    text = HOSTILE[name]
    assert documents._read_with_libyaml(text, "hostile.yaml", PlainDatesLoader, PolicyError) is None
    refused = answer(text, "hostile.yaml")
    assert isinstance(refused, tuple) and refused[0].startswith("hostile.yaml:")
    assert python_only(text, "hostile.yaml", monkeypatch) == refused
