"""``--his`` input on evaluate and explain: ``--region`` handed to the HIS adapter as ``region=``,
only when given, so that an adapter written before the keyword existed keeps working; and a
charge code no table maps decided as an unknown item outside strict mode."""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, ClassVar

import pytest
from click.testing import CliRunner

from shuangyong import plugins
from shuangyong.cli import main

if TYPE_CHECKING:
    from collections.abc import Iterator


def _visit(region: str) -> dict[str, Any]:
    return {"visit_id": "V1", "date": "2026-03-02", "kind": "outpatient", "region": region,
            "patient": {"id": "P1", "categories": ["disabled_veteran"]},
            "lines": [{"line_id": "1", "item": "registration", "amount": "12.00"}]}


class OldAdapter:
    """An adapter from before the keyword: ``read(source)`` only."""

    def read(self, source: IO[bytes]) -> Iterator[dict[str, Any]]:
        source.read()
        yield _visit("450100")


class RegionAdapter:
    """An adapter that takes ``region=``: it notes what it was given."""

    given: ClassVar[list[str | None]] = []

    def read(self, source: IO[bytes], *, region: str | None = None) -> Iterator[dict[str, Any]]:
        source.read()
        self.given.append(region)
        yield _visit(region or "450100")


class CodedAdapter:
    """An adapter whose line carries only the hospital's charge code."""

    def read(self, source: IO[bytes]) -> Iterator[dict[str, Any]]:
        source.read()
        visit = _visit("450100")
        visit["lines"] = [{"line_id": "1", "code": "GH001", "amount": "12.00"}]
        yield visit


@pytest.fixture(autouse=True)
def adapters(monkeypatch: pytest.MonkeyPatch) -> None:
    real = plugins.collect

    def collect(hook: str, *args: Any, **kwargs: Any) -> Any:
        if hook == "register_his_adapters":
            return {"old": OldAdapter(), "regional": RegionAdapter(), "coded": CodedAdapter()}
        return real(hook, *args, **kwargs)

    monkeypatch.setattr(plugins, "collect", collect)


def run(*args: str) -> Any:
    return CliRunner().invoke(main, ["--lang", "en", *args], input=b"messages")


@pytest.mark.parametrize("command", ["evaluate", "explain"])
def test_region_reaches_the_adapter_only_when_given(command: str) -> None:
    RegionAdapter.given.clear()
    given, absent = run(command, "-", "--his", "regional", "--region", "450103"), run(command, "-", "--his", "regional")
    assert (0, 0, ["450103", None]) == (given.exit_code, absent.exit_code, RegionAdapter.given)


def test_an_adapter_without_the_keyword_works_without_region() -> None:
    result = run("evaluate", "-", "--his", "old", "--format", "jsonl")
    assert (0, "V1") == (result.exit_code, json.loads(result.stdout)["visit_id"])


def test_region_without_his_is_refused() -> None:
    result = run("evaluate", "-", "--region", "450103")
    assert (2, "error: field --region: --region goes with --his") == (result.exit_code, result.stderr[:47])


def test_region_to_an_adapter_without_the_keyword_is_refused() -> None:
    """An old adapter given --region: exit 2 naming the adapter, not a TypeError."""
    result = run("evaluate", "-", "--his", "old", "--region", "450103")
    assert (2, "the HIS adapter 'old' does not take --region") == (result.exit_code,
                                                                   result.stderr.split(": ", 2)[2].strip())


class TestUnmappedCodes:
    """A HIS adapter's charge code no table maps: an unknown item outside strict mode, an error in
    it; a code the table maps is mapped."""

    def test_decided_as_an_unknown_item(self) -> None:
        result = run("evaluate", "-", "--his", "coded", "--format", "jsonl")
        line = json.loads(result.stdout)["lines"][0]
        assert (0, "GH001", "0.00") == (result.exit_code, line["item"], line["reduction"])

    def test_refused_in_strict_mode(self) -> None:
        result = run("evaluate", "-", "--his", "coded", "--strict", "--format", "jsonl")
        assert (2, "lines[0].item") == (result.exit_code, json.loads(result.stdout)["error"]["field"])

    def test_a_mapped_code_is_mapped(self, tmp_path: Path) -> None:
        table = tmp_path / "codes.csv"
        table.write_text("code,item\nGH001,registration\n", encoding="utf-8")
        result = run("evaluate", "-", "--his", "coded", "--codes", str(table), "--format", "jsonl")
        assert (0, "registration") == (result.exit_code, json.loads(result.stdout)["lines"][0]["item"])
