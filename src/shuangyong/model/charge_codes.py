"""A hospital's own charge codes mapped to item kinds, so real HIS codes can be sent as they are."""

from __future__ import annotations

import csv
from pathlib import Path

import attrs
import yaml

from shuangyong.errors import InputError
from shuangyong.model.vocabulary import Vocabulary
from shuangyong.text import Text


@attrs.frozen(slots=True)
class ChargeCodeMap:
    """``code → item kind``. Load from CSV (``code,item[,description]``) or a YAML mapping."""

    items: dict[str, str] = attrs.field(factory=dict)

    @classmethod
    def load(cls, path: Path, items: Vocabulary) -> ChargeCodeMap:
        """Read and check a mapping table; every item kind must be known to ``items``."""
        if path.suffix.lower() in {".yaml", ".yml"}:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            if not isinstance(raw, dict):
                raise InputError(Text("收费编码映射表应为 编码: 项目类别 的映射",
                                      "a charge-code table must map code: item"), record=str(path))
            rows = [(str(code), str(item), f"{code}") for code, item in raw.items()]
        else:
            with path.open(encoding="utf-8-sig", newline="") as handle:
                reader = csv.DictReader(handle)
                if not reader.fieldnames or not {"code", "item"} <= set(reader.fieldnames):
                    raise InputError(Text("收费编码映射表需要 code 和 item 两列",
                                          "a charge-code table needs the columns code and item"),
                                     record=str(path))
                rows = [(row["code"].strip(), row["item"].strip(), f"line {n}")
                        for n, row in enumerate(reader, start=2)]
        table: dict[str, str] = {}
        for code, item, where in rows:
            if item not in items:
                raise items.unknown(item, record=f"{path}:{where}", field="item")
            if code in table and table[code] != item:
                raise InputError(Text(f"收费编码 {code} 对应了两个项目类别", f"code {code} maps to two items"),
                                 record=f"{path}:{where}", field="code", value=code)
            table[code] = item
        return cls(table)

    def item_for(self, code: str) -> str | None:
        return self.items.get(code)
