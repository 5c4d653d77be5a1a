"""Shared fixtures: policy packs written to ``tmp_path``, visits from keyword arguments, a ledger on
every backend."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from shuangyong.engine import Engine
from shuangyong.interchange import visit_from_dict
from shuangyong.ledger import Ledger, MemoryLedger, SQLiteLedger
from shuangyong.model import Visit
from shuangyong.plugins import open_ledger
from shuangyong.testing.prerequisites import import_or_missing

#: The fields every rule must carry, for packs whose rules only differ in what they grant.
RULE_HEAD = """\
title: {zh: 规则, en: rule}
clause: 条款
source: test"""

CARD = "key_care_medical_card"


def line_of(path: Path, needle: str) -> int:
    """The 1-based number of the first line of ``path`` containing ``needle``."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} is not in {path}")


@pytest.fixture
def write_pack(tmp_path: Path) -> Callable[..., Path]:
    """Write dedented YAML as ``tmp_path/<name>`` and return its path."""

    def write(text: str, name: str = "pack.yaml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


def _make_visit(lines: list[tuple[Any, ...]] | None = None, *, visit_id: str = "V1",
                day: str = "2025-03-01", kind: str = "outpatient", region: str = "450100",
                categories: tuple[str, ...] = (),
                cards: tuple[tuple[str, str | None, str | None], ...] = (),
                **patient: Any) -> Visit:
    """A visit from ``(line_id, item, amount[, tag, …])`` tuples and ``(kind, from, to)`` cards."""
    return visit_from_dict({
        "visit_id": visit_id, "date": day, "kind": kind, "region": region,
        "patient": {"id": "P1", "categories": list(categories), **patient,
                    "credentials": [{"kind": k, "number": "桂001", "valid_from": start, "valid_to": end}
                                    for k, start, end in cards]},
        "lines": [{"line_id": line_id, "item": item, "amount": amount, "tags": list(tags)}
                  for line_id, item, amount, *tags in (lines or [])],
    })


@pytest.fixture
def make_visit() -> Callable[..., Visit]:
    """The visit builder (see ``_make_visit``)."""
    return _make_visit


@pytest.fixture(scope="session")
def seed_engine() -> Engine:
    """The default engine: ``seed-example`` on top of ``cn-national``."""
    return Engine.from_packs()


@pytest.fixture(params=["memory", "sqlite", "sql:sqlite", "sql:postgresql", "sql:mariadb"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    """Every backend, the SQL plugin's included: the rules must not depend on where rows are kept."""
    if request.param == "memory":
        yield MemoryLedger()
        return
    if request.param == "sqlite":
        with SQLiteLedger(f"sqlite:///{tmp_path / 'l.db'}") as opened:
            yield opened
        return
    sql_testing = import_or_missing("shuangyong_sql.testing")
    with sql_testing.scratch_url(request.param.removeprefix("sql:"), tmp_path) as url, open_ledger(url) as opened:
        yield opened
