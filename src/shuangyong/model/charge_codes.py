"""A hospital's own charge codes mapped to item kinds, so real HIS codes can be sent as they are.

A row may carry ``valid_from``/``valid_to`` (inclusive): the national item codes are being replaced
(old → new is many-to-many), so one code can mean different item kinds in different periods, and
the visit's date picks the row (docs/fee-categories.md).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import yaml

from shuangyong.dates import DateWindow, parse_date
from shuangyong.documents import BoundedLoader, YamlRefusal, read_document
from shuangyong.errors import InputError, ShuangyongError
from shuangyong.limits import MAX_ID_LENGTH
from shuangyong.text import Text

if TYPE_CHECKING:
    import datetime as dt

    from shuangyong.model.vocabulary import Vocabulary

#: the keys of one row written as a YAML mapping (``description`` is read and not used, as in CSV)
_ROW_KEYS = ("item", "valid_from", "valid_to", "description")


@attrs.frozen(slots=True)
class _Row:
    """One row as read: ``valid_from``/``valid_to`` as written ("" when absent), ``line`` in the file."""

    code: str
    item: str
    valid_from: str
    valid_to: str
    line: int


@attrs.frozen(slots=True)
class ChargeCodeMap:
    """``code → item kind``. Load from CSV (``code,item[,valid_from,valid_to][,description]``) or YAML
    (``code: item``, or ``code: {item, valid_from, valid_to}`` or a list of those).

    ``items`` holds the codes whose one row has no dates; ``dated`` the others, each with its
    rows' disjoint date windows in file order.
    """

    items: dict[str, str] = attrs.field(factory=dict)
    dated: dict[str, tuple[tuple[DateWindow, str], ...]] = attrs.field(factory=dict)

    @classmethod
    def load(cls, path: str | Path, items: Vocabulary) -> ChargeCodeMap:
        """Read and check a mapping table; every item kind must be known to ``items``, and two
        rows of one code must not share a day (unless they are the same row written twice)."""
        path = Path(path)
        try:
            rows = _yaml_rows(path) if path.suffix.lower() in {".yaml", ".yml"} else _csv_rows(path)
        except (OSError, UnicodeDecodeError, csv.Error, yaml.YAMLError) as error:
            reason = getattr(error, "strerror", None) or str(error).splitlines()[0]
            raise InputError(Text(f"无法读取收费编码映射表：{reason}", f"cannot read the charge-code table: {reason}"),
                             record=str(path)) from None
        table: dict[str, list[tuple[DateWindow, str, int]]] = {}
        for row in rows:
            where = f"{path}:line {row.line}"
            window = _checked(row, where, items)
            earlier = table.setdefault(row.code, [])
            if (window, row.item) in ((w, i) for w, i, _ in earlier):
                continue  # the same row twice is harmless
            for other, other_item, other_line in earlier:
                if _overlap(window, other):
                    raise InputError(Text(
                        f"收费编码 {row.code} 在第 {other_line} 行对应 {other_item}（{_period(other).zh}），"
                        f"在第 {row.line} 行对应 {row.item}（{_period(window).zh}）：有效期重叠",
                        f"code {row.code} maps to {other_item} ({_period(other).en}, line {other_line}) and to "
                        f"{row.item} ({_period(window).en}, line {row.line}): the periods overlap"),
                        record=where, field="code", value=row.code)
            earlier.append((window, row.item, row.line))
        undated: dict[str, str] = {}
        dated: dict[str, tuple[tuple[DateWindow, str], ...]] = {}
        for code, found in table.items():
            if found[0][0] == DateWindow():  # then it is the code's only row: any other would overlap it
                undated[code] = found[0][1]
            else:
                dated[code] = tuple((window, item) for window, item, _ in found)
        return cls(undated, dated)

    def __contains__(self, code: object) -> bool:
        return code in self.items or code in self.dated

    def item_for(self, code: str, day: dt.date | None = None) -> str | None:
        """The item kind ``code`` means on ``day``, or ``None``. A code with dated rows needs the day."""
        item = self.items.get(code)
        if item is not None or code not in self.dated:
            return item
        if day is None:
            raise ValueError(f"charge code {code!r} has dated rows: item_for needs the visit's date")
        return next((item for window, item in self.dated[code] if window.contains(day)), None)

    def item_kinds(self) -> frozenset[str]:
        """Every item kind some row maps to, in any period."""
        return frozenset(self.items.values()) | {item for rows in self.dated.values() for _, item in rows}


def _checked(row: _Row, where: str, items: Vocabulary) -> DateWindow:
    """The row's date window, after checking its code, item and dates; errors name ``where``."""
    if len(row.code) > MAX_ID_LENGTH:
        raise InputError(Text(f"收费编码超过 {MAX_ID_LENGTH} 个字符", f"a code is longer than {MAX_ID_LENGTH} "
                              "characters"), record=where, field="code", value=row.code[:MAX_ID_LENGTH])
    if not row.code or not row.item:
        raise InputError(Text("收费编码映射表的每一行都要有编码和项目类别",
                              "every row of a charge-code table needs a code and an item"),
                         record=where, field="item" if row.code else "code")
    if row.item not in items:
        raise items.unknown(row.item, record=where, field="item")
    try:
        return DateWindow(parse_date(row.valid_from, field="valid_from") if row.valid_from else None,
                          parse_date(row.valid_to, field="valid_to") if row.valid_to else None)
    except ShuangyongError as error:
        raise error.located(record=where) from None


def _overlap(one: DateWindow, other: DateWindow) -> bool:
    """Whether two inclusive windows share a day (an open side reaches as far as it likes)."""
    return ((one.start is None or other.end is None or one.start <= other.end)
            and (other.start is None or one.end is None or other.start <= one.end))


def _period(window: DateWindow) -> Text:
    if window == DateWindow():
        return Text("不限日期", "any date")
    return Text(str(window), str(window))


def _csv_rows(path: Path) -> list[_Row]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not {"code", "item"} <= set(reader.fieldnames):
            raise InputError(Text("收费编码映射表需要 code 和 item 两列",
                                  "a charge-code table needs the columns code and item"), record=str(path))
        rows = []
        for row in reader:
            code, item, valid_from, valid_to = ((row.get(key) or "").strip()
                                                for key in ("code", "item", "valid_from", "valid_to"))
            rows.append(_Row(code, item, valid_from, valid_to, line=reader.line_num))
        return rows


def _yaml_rows(path: Path) -> list[_Row]:
    """Codes and dates are read as written (a node's text), so ``010`` stays ``010`` and is not
    octal 8; the file is read and composed within the limits every YAML document is held to."""
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
    rows = []
    for key, value in node.value:
        code = str(key.value).strip() if isinstance(key, yaml.ScalarNode) else ""
        if isinstance(value, yaml.SequenceNode):
            rows += [_yaml_row(path, code, entry) for entry in value.value]
        else:
            rows.append(_yaml_row(path, code, value) if isinstance(value, yaml.MappingNode)
                        else _Row(code, str(value.value).strip() if isinstance(value, yaml.ScalarNode) else "", "", "",
                                  key.start_mark.line + 1))
    return rows


def _yaml_row(path: Path, code: str, node: yaml.Node) -> _Row:
    """``{item: drug, valid_from: 2026-01-01}``: one dated row of ``code``."""
    line = node.start_mark.line + 1
    if not isinstance(node, yaml.MappingNode):
        raise InputError(Text("带日期的行应写成 {item: 项目类别, valid_from: 日期, valid_to: 日期}",
                              "a dated row is a mapping {item: KIND, valid_from: DATE, valid_to: DATE}"),
                         record=f"{path}:line {line}", field="code", value=code)
    fields: dict[str, str] = {}
    for key, value in node.value:
        name = str(key.value) if isinstance(key, yaml.ScalarNode) else ""
        if name not in _ROW_KEYS or not isinstance(value, yaml.ScalarNode):
            raise InputError(Text(f"收费编码 {code} 的行只能有 {'、'.join(_ROW_KEYS)}，且每项为一个值",
                                  f"a row of code {code} takes only {', '.join(_ROW_KEYS)}, each a single value"),
                             record=f"{path}:line {key.start_mark.line + 1}", field=name or "code", value=code)
        fields[name] = str(value.value).strip()
    return _Row(code, fields.get("item", ""), fields.get("valid_from", ""), fields.get("valid_to", ""), line)
