"""``compliance template``: an empty dossier for a year, with an example of every record the
standards read, so that a 双拥 office starts from the right kinds and types."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from shuangyong.compliance.records import LOCATIONS, RECORD_TYPES

if TYPE_CHECKING:
    from shuangyong.compliance.standards import StandardsSet
    from shuangyong.text import Lang


def _example(kind: str, type_: str, year: int, number: int) -> dict[str, object]:
    record: dict[str, object] = {"id": f"{kind}-{number}", "kind": kind, "type": type_}
    if kind in ("facility", "pairing"):
        record["since"] = f"{year}-01-01"
    else:
        record["date"] = f"{year}-MM-DD"
    extras: dict[str, dict[str, object]] = {
        "facility": {"location": next(iter(LOCATIONS))},
        "pairing": {"partner": "部队单位代号", "partner_name": "部队单位名称"},
        "coverage": {"reached": 0, "total": 1},
        "placement": {"count": 1},
        "ledger_publication": {"complete": True, "published": True},
    }
    return {**record, **extras.get(kind, {"led_by": "姓名"})}


def dossier_template(standards: StandardsSet, year: int, lang: Lang = "zh") -> str:
    """YAML text of a dossier with no records and, commented out, one example per needed record."""
    needed = sorted({pair for s in standards.standards for pair in s.kind.needs(s.options)},
                    key=lambda pair: (list(RECORD_TYPES).index(pair[0]), pair[1]))
    head = ("# 双拥工作档案：填写单位信息，再按下列示例添加记录（去掉行首的 # ）；日期写作 YYYY-MM-DD。"
            if lang == "zh" else
            "# 双拥 dossier: fill in the unit, then add records like the examples below (remove the #); "
            "dates are YYYY-MM-DD.")
    lines = [head, f"# standards: {', '.join(standards.packs)}", "schema_version: 1", "unit:",
             "  id: UNIT-ID", "  name: {zh: 单位名称, en: Unit name}", "  kind: hospital", "  head: 一把手姓名",
             f"year: {year}", "records: []", "# records:"]
    for number, (kind, type_) in enumerate(needed, start=1):
        example = json.dumps(_example(kind, type_, year, number), ensure_ascii=False)
        lines.append(f"#   - {example}  # {RECORD_TYPES[kind][type_].in_(lang)}")
    return "\n".join(lines) + "\n"
