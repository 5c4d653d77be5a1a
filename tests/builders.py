"""Small builders shared by the tests: packs written to a folder, visits from keyword arguments."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path
from typing import Any

from shuangyong.engine import Engine
from shuangyong.interchange import visit_from_dict
from shuangyong.model import Registry, Visit
from shuangyong.policy import PolicySet

RULE_HEAD = "title: {zh: 规则, en: rule}\nclause: 条款\nsource: test\n"


def write_pack(folder: Path, name: str, body: str) -> Path:
    """Write ``body`` (dedented YAML) as ``folder/name.yaml`` and return its path."""
    path = folder / f"{name}.yaml"
    path.write_text(textwrap.dedent(body).lstrip("\n"), encoding="utf-8")
    return path


def engine_for(*paths: Path) -> Engine:
    registry = Registry.builtin()
    return Engine(PolicySet.load([str(p) for p in paths], registry), registry)


def visit(lines: list[tuple[str, ...]] | None = None, *, day: str = "2025-03-01",
          kind: str = "outpatient", region: str = "450100", categories: tuple[str, ...] = (),
          cards: tuple[tuple[str, str | None, str | None], ...] = (), visit_id: str = "V1",
          patient_id: str = "P1", **patient: Any) -> Visit:
    """A visit from (line_id, item, amount[, tag, …]) tuples, categories and (kind, from, to) cards."""
    return visit_from_dict({
        "visit_id": visit_id, "date": day, "kind": kind, "region": region,
        "patient": {"id": patient_id, "categories": list(categories), **patient,
                    "credentials": [{"kind": k, "number": "N", "valid_from": start, "valid_to": end}
                                    for k, start, end in cards]},
        "lines": [{"line_id": i, "item": item, "amount": amount, "tags": list(tags)}
                  for i, item, amount, *tags in (lines or [])],
    })


def reductions(engine: Engine, visit_: Visit) -> dict[str, str]:
    return {line.line_id: str(line.reduction) for line in engine.evaluate(visit_).lines}


DAY = dt.date(2025, 3, 1)
