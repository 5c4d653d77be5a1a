"""A hospital's own charge codes mapped to item kinds, so real HIS codes can be sent as they are."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import yaml

from shuangyong.documents import BoundedLoader, YamlRefusal, read_document
from shuangyong.errors import InputError
from shuangyong.limits import MAX_ID_LENGTH
from shuangyong.text import Text

if TYPE_CHECKING:
    from shuangyong.model.vocabulary import Vocabulary


@attrs.frozen(slots=True)
class ChargeCodeMap:
    """``code → item kind``. Load from CSV (``code,item[,description]``) or a YAML mapping."""

    items: dict[str, str] = attrs.field(factory=dict)

    @classmethod
    def load(cls, path: str | Path, items: Vocabulary) -> ChargeCodeMap:
        """Read and check a mapping table; every item kind must be known to ``items``."""
        path = Path(path)
        try:
            rows = _yaml_rows(path) if path.suffix.lower() in {".yaml", ".yml"} else _csv_rows(path)
        except (OSError, UnicodeDecodeError, csv.Error, yaml.YAMLError) as error:
            reason = getattr(error, "strerror", None) or str(error).splitlines()[0]
            raise InputError(Text(f"无法读取收费编码映射表：{reason}", f"cannot read the charge-code table: {reason}"),
                             record=str(path)) from None
        table: dict[str, str] = {}
        for code, item, line in rows:
            where = f"{path}:line {line}"
            if len(code) > MAX_ID_LENGTH:
                raise InputError(Text(f"收费编码超过 {MAX_ID_LENGTH} 个字符", f"a code is longer than {MAX_ID_LENGTH} "
                                      "characters"), record=where, field="code", value=code[:MAX_ID_LENGTH])
            if not code or not item:
                raise InputError(Text("收费编码映射表的每一行都要有编码和项目类别",
                                      "every row of a charge-code table needs a code and an item"),
                                 record=where, field="item" if code else "code")
            if item not in items:
                raise items.unknown(item, record=where, field="item")
            if code in table and table[code] != item:
                raise InputError(Text(f"收费编码 {code} 对应了两个项目类别", f"code {code} maps to two items"),
                                 record=where, field="code", value=code)
            table[code] = item
        return cls(table)

    def item_for(self, code: str) -> str | None:
        """The item kind of an HIS charge code, or ``None`` for a code the table does not map."""
        return self.items.get(code)


_Row = tuple[str, str, int]


def _csv_rows(path: Path) -> list[_Row]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not {"code", "item"} <= set(reader.fieldnames):
            raise InputError(Text("收费编码映射表需要 code 和 item 两列",
                                  "a charge-code table needs the columns code and item"), record=str(path))
        return [((row["code"] or "").strip(), (row["item"] or "").strip(), reader.line_num) for row in reader]


def _yaml_rows(path: Path) -> list[_Row]:
    """Codes are read as written (a node's text), so ``010`` stays ``010`` and is not octal 8;
    the file is read and composed within the limits every YAML document is held to."""
    noun = Text("收费编码映射表", "charge-code table")
    text = read_document(path, noun, InputError)
    try:
        loader = BoundedLoader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except YamlRefusal as refusal:
        raise InputError(refusal.message, record=f"{path}:line {refusal.line}") from None
    if node is None:
        return []
    if not isinstance(node, yaml.MappingNode):
        raise InputError(Text("收费编码映射表应为 编码: 项目类别 的映射",
                              "a charge-code table must map code: item"), record=str(path))
    return [(str(key.value).strip(), str(value.value).strip() if isinstance(value, yaml.ScalarNode) else "",
             key.start_mark.line + 1) for key, value in node.value]
