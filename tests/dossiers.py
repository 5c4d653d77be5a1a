"""Small dossiers and one-standard sets for the compliance tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

import yaml

from shuangyong.compliance.checks.kinds import BUILTIN_CHECK_KINDS
from shuangyong.compliance.dossier import dossier_from_dict
from shuangyong.compliance.records import Dossier
from shuangyong.compliance.report import StandardResult, evaluate
from shuangyong.compliance.standards import STANDARDS, StandardsSet, merge_standards
from shuangyong.policy.loader import parse_pack

HEAD = "王建国"


def dossier(*records: dict[str, Any], year: int = 2026, kind: str = "hospital", head: str | None = HEAD) -> Dossier:
    unit: dict[str, Any] = {"id": "U1", "name": {"zh": "单位", "en": "Unit"}, "kind": kind}
    if head:
        unit["head"] = head
    return dossier_from_dict({"unit": unit, "year": year, "records": list(records)}, "test")


def event(id_: str, kind: str, type_: str, day: str, **extra: Any) -> dict[str, Any]:
    return {"id": id_, "kind": kind, "type": type_, "date": day, **extra}


def one_standard(check: dict[str, Any], applies_to: list[str] | None = None) -> StandardsSet:
    """A standards set with a single standard running ``check``."""
    standard: dict[str, Any] = {"id": "s", "title": {"zh": "标准", "en": "standard"}, "headline": "h",
                                "clause": "c", "source": "test", "check": check}
    if applies_to is not None:
        standard["applies_to"] = applies_to
    pack = {"pack": "t", "title": {"zh": "测试", "en": "test"},
            "headlines": [{"id": "h", "title": {"zh": "总", "en": "h"}, "clause": "c", "source": "test"}],
            "standards": [standard]}
    loaded = parse_pack(yaml.safe_dump(pack, allow_unicode=True), "t.yaml", kind=STANDARDS)
    return merge_standards([loaded], {kind.name: kind for kind in BUILTIN_CHECK_KINDS})


def result(check: dict[str, Any], records: Dossier, as_of: str) -> StandardResult:
    return evaluate(records, one_standard(check), dt.date.fromisoformat(as_of)).results[0]
