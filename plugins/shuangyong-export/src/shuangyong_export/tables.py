"""What an export shows, independent of the file format: titled tables of typed columns.

Each subject (decisions, ledger postings) is turned into :class:`Table`\\ s once, here; the xlsx,
HTML and PDF writers only lay tables out. Cells keep their types — text stays ``str`` (ids such
as ``"0012"`` keep their zeros), money is ``Decimal`` read with :func:`shuangyong.money.parse_amount`
(floats refused), dates are ``datetime.date`` — so that each writer can format them for its
medium without guessing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any, Literal

import attrs

from shuangyong import InputError, Registry, ShuangyongError, Text
from shuangyong.ledger.category import CATEGORY_LABELS
from shuangyong.ledger.export import EXPORT_COLUMNS, export_row
from shuangyong.plugins import Posting, parse_amount

Kind = Literal["text", "money", "int", "date"]
Cell = str | Decimal | int | dt.date | None
SUBJECTS = frozenset({"decisions", "ledger", "ledger_report"})
#: The core renders compliance reports as HTML itself; xlsx and PDF add them here.
WITH_COMPLIANCE = SUBJECTS | {"compliance"}


class ExportError(ShuangyongError, ValueError):
    """A subject an exporter cannot write, or data it cannot write faithfully; nothing was written."""


@attrs.frozen(slots=True)
class Column:
    """One column of a table: the key it reads from each row, its bilingual title, how to write it."""

    key: str
    title: Text
    kind: Kind = "text"


@attrs.frozen(slots=True)
class Table:
    """One sheet of a workbook, one table of a page."""

    name: str  #: short, for a sheet tab
    title: Text
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]


def _col(key: str, zh: str, kind: Kind = "text") -> Column:
    return Column(key, Text(zh, key), kind)


LINE_COLUMNS = (
    _col("visit_id", "就诊号"), _col("line_id", "明细号"), _col("item", "项目类别"), _col("item_label", "项目名称"),
    _col("amount", "金额", "money"), _col("reduction", "减免", "money"), _col("payable", "应付", "money"),
    _col("rule", "依据规则"))
RULE_COLUMNS = (_col("rule", "规则"), _col("clause", "条文"))
VISIT_COLUMNS = (
    _col("visit_id", "就诊号"), _col("policy", "政策指纹"), _col("amount", "金额", "money"),
    _col("reduction", "减免", "money"), _col("payable", "应付", "money"), _col("priorities", "优先"),
    _col("services", "服务"))
_LEDGER_KINDS: Mapping[str, Kind] = {"seq": "int", "reverses": "int", "business_date": "date", "amount": "money",
                                     "requested": "money", "granted": "money", "year_cap": "money"}
_LEDGER_ZH = {"seq": "序号", "kind": "类型", "visit_id": "就诊号", "line_id": "明细号", "rule_id": "规则",
              "payer": "负担方", "category": "优抚对象类别", "fingerprint": "政策指纹", "patient_key": "患者标识",
              "item": "项目类别",
              "business_date": "业务日期", "amount": "金额", "requested": "申请减免", "granted": "实际减免",
              "year_cap": "年度上限",
              "reverses": "冲正序号", "reason": "原因", "posted_at": "记账时间（UTC）", "prev_hash": "前一哈希",
              "hash": "哈希"}
LEDGER_COLUMNS = tuple(_col(key, _LEDGER_ZH[key], _LEDGER_KINDS.get(key, "text")) for key in EXPORT_COLUMNS)


def _member(data: Mapping[str, Any], key: str, record: str, field: str) -> Any:
    if not isinstance(data, Mapping) or key not in data:
        raise InputError(Text(f"缺少字段 {field}", f"missing field {field}"), record=record, field=field)
    return data[key]


def _text(value: object, record: str, field: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise InputError(Text(f"{field} 应为字符串，收到 {type(value).__name__}",
                              f"{field} must be a string, got {type(value).__name__}"),
                         record=record, field=field, value=value)
    return value


def decision_tables(decisions: Iterable[Mapping[str, Any]]) -> tuple[Table, Table, Table]:
    """Lines, visit totals and the clauses of the rules that applied, from JSON-contract decision
    dicts (``decision_to_dict``'s output). Each clause is printed once, in the rules table, rather
    than on every line it reduced: shorter to read, and a PDF of 1,000 lines lays out in a
    fraction of the time."""
    items = Registry.builtin().items
    lines: list[tuple[Cell, ...]] = []
    visits: list[tuple[Cell, ...]] = []
    clauses: dict[str, str | None] = {}
    for number, decision in enumerate(decisions, 1):
        record = decision.get("visit_id") if isinstance(decision, Mapping) else None
        record = record if isinstance(record, str) else f"#{number}"
        visit_id = _text(_member(decision, "visit_id", record, "visit_id"), record, "visit_id")
        for n, line in enumerate(_member(decision, "lines", record, "lines")):
            at = f"lines[{n}]"
            money = [parse_amount(_member(line, key, record, f"{at}.{key}"), record=record, field=f"{at}.{key}")
                     for key in ("amount", "reduction", "payable")]
            item = _text(_member(line, "item", record, f"{at}.item"), record, f"{at}.item")
            rule = _text(line.get("rule"), record, f"{at}.rule")
            if rule is not None:
                clauses.setdefault(rule, _text(line.get("clause"), record, f"{at}.clause"))
            lines.append((visit_id, _text(_member(line, "line_id", record, f"{at}.line_id"), record, f"{at}.line_id"),
                          item, items.get(item).label.zh if item is not None and item in items else None, *money, rule))
        totals = _member(decision, "totals", record, "totals")
        visits.append((visit_id, _text(_member(decision, "policy", record, "policy"), record, "policy"),
                       *[parse_amount(_member(totals, key, record, f"totals.{key}"), record=record,
                                      field=f"totals.{key}") for key in ("amount", "reduction", "payable")],
                       "、".join(decision.get("priorities", ())), "、".join(decision.get("services", ()))))
    return (Table("lines", Text("减免明细", "Concessions by charge line"), LINE_COLUMNS, tuple(lines)),
            Table("visits", Text("就诊汇总", "Totals by visit"), VISIT_COLUMNS, tuple(visits)),
            Table("rules", Text("依据条文", "Clauses of the rules applied"), RULE_COLUMNS, tuple(clauses.items())))


def ledger_table(postings: Iterable[Posting]) -> tuple[Table]:
    """Every posting with the columns of the built-in CSV export, money back in yuan."""
    rows = tuple(tuple(_cell(row[c.key], c.kind, f"#{row['seq']}", c.key) for c in LEDGER_COLUMNS)
                 for row in map(export_row, postings))
    return (Table("ledger", Text("优惠减免台帐", "Concession ledger"), LEDGER_COLUMNS, rows),)


HEADLINE_COLUMNS = (_col("headline", "总体标准"), _col("title", "名称"), _col("score", "得分（%）"))
STANDARD_COLUMNS = (
    _col("headline", "总体标准"), _col("standard", "标准"), _col("title", "名称"), _col("status", "状态"),
    _col("score", "得分（%）"), _col("gaps", "差距"), _col("evidence", "依据记录"), _col("clause", "条文"),
    _col("source", "出处"))


def compliance_tables(report: Mapping[str, Any]) -> tuple[Table, Table]:
    """Headline scores and every standard with its status, gaps and evidence, from the report's
    JSON form (``shuangyong.compliance/1``); scores stay text, as the report writes them."""
    from shuangyong.compliance.report import STATUS_LABELS, Status  # here: the compliance modules only for a report

    record = "compliance"
    headlines, standards = [], []
    for h, headline in enumerate(_member(report, "headlines", record, "headlines")):
        at = f"headlines[{h}]"
        title = _member(_member(headline, "title", record, f"{at}.title"), "zh", record, f"{at}.title.zh")
        headlines.append((headline.get("id"), title, headline.get("score")))
        for s, standard in enumerate(_member(headline, "standards", record, f"{at}.standards")):
            where = f"{at}.standards[{s}]"
            status = Status(_member(standard, "status", record, f"{where}.status"))
            standards.append((
                headline.get("id"), _member(standard, "id", record, f"{where}.id"),
                _member(_member(standard, "title", record, f"{where}.title"), "zh", record, f"{where}.title.zh"),
                STATUS_LABELS[status].zh, standard.get("score"),
                "；".join(gap["zh"] for gap in standard.get("gaps", ())) or None,
                "、".join(standard.get("evidence", ())) or None, standard.get("clause"), standard.get("source")))
    return (Table("headlines", Text("总体标准得分", "Scores by headline standard"), HEADLINE_COLUMNS, tuple(headlines)),
            Table("standards", Text("各项标准", "Standards, gaps and evidence"), STANDARD_COLUMNS, tuple(standards)))


_TALLY_COLUMNS = (_col("visits", "人次", "int"), _col("persons", "人数", "int"), _col("granted", "减免", "money"),
                  _col("reversed", "冲正", "money"), _col("net", "净额", "money"))
MONTH_COLUMNS = (_col("month", "月份"), _col("from", "业务日期起", "date"), _col("to", "业务日期止", "date"),
                 _col("postings", "记账条数", "int"), _col("through_seq", "账本截至序号", "int"), *_TALLY_COLUMNS)
#: each grouping of the monthly report: (its key in the report, the id's column, a label column's
#: vocabulary in the built-in registry or None, the table's zh and en title)
_GROUPINGS = (("by_rule", _col("rule", "规则"), None, "按规则", "by rule"),
              ("by_category", _col("category", "优抚对象类别"), "categories", "按优抚对象类别", "by category"),
              ("by_item", _col("item", "项目类别"), "items", "按收费项目类别", "by item kind"),
              ("by_payer", _col("payer", "负担方"), "payers", "按负担方", "by payer"))
#: groupings a report written by an earlier version lacks: left out rather than refused
_ADDED_LATER = frozenset({"by_category"})


def _whole(value: object, record: str, field: str) -> int:
    if type(value) is not int:
        raise InputError(Text(f"{field} 应为整数，收到 {value!r}", f"{field} must be a whole number, got {value!r}"),
                         record=record, field=field, value=value)
    return value


def _tally(row: Mapping[str, Any], record: str, at: str) -> tuple[Cell, ...]:
    """A tally's counts and amounts, read back exactly (floats refused)."""
    return tuple(_whole(_member(row, c.key, record, f"{at}.{c.key}"), record, f"{at}.{c.key}") if c.kind == "int"
                 else parse_amount(_member(row, c.key, record, f"{at}.{c.key}"), record=record, field=f"{at}.{c.key}")
                 for c in _TALLY_COLUMNS)


def ledger_report_tables(report: Mapping[str, Any]) -> tuple[Table, ...]:
    """The monthly 台帐 from its JSON form (``shuangyong.ledger-month/1``, ``ledger report
    --format json``): the month's totals, then a table per grouping, categories, item kinds and
    payers labelled in Chinese where the built-in registry knows them (a category not recorded, or
    none, by what it means)."""
    record = "ledger_report"
    month = _text(_member(report, "month", record, "month"), record, "month")
    head = (month, *(_cell(_member(report, key, record, key), "date", record, key) for key in ("from", "to")),
            *(_whole(_member(report, key, record, key), record, key) for key in ("postings", "through_seq")),
            *_tally(_member(report, "total", record, "total"), record, "total"))
    tables = [Table("total", Text(f"{month} 合计", f"Totals, {month}"), MONTH_COLUMNS, (head,))]
    registry = Registry.builtin()
    for name, key, vocabulary, zh, en in _GROUPINGS:
        if name in _ADDED_LATER and name not in report:
            continue
        terms = getattr(registry, vocabulary) if vocabulary else None
        special = CATEGORY_LABELS if name == "by_category" else {}
        columns = (key, *([_col(f"{key.key}_label", "名称")] if terms is not None else []), *_TALLY_COLUMNS)
        rows = []
        for n, row in enumerate(_member(report, name, record, name)):
            at = f"{name}[{n}]"
            ident = _text(_member(row, key.key, record, f"{at}.{key.key}"), record, f"{at}.{key.key}")
            label = [] if terms is None else [
                special[ident].zh if ident in special else terms.get(ident).label.zh if ident in terms else None]
            rows.append((ident, *label, *_tally(row, record, at)))
        tables.append(Table(name, Text(f"{month} {zh}", f"{month}, {en}"), columns, tuple(rows)))
    return tuple(tables)


def _cell(value: Any, kind: Kind, record: str, field: str) -> Cell:
    if value is None:
        return None
    if kind == "money":
        return parse_amount(value, record=record, field=field)
    if kind == "date":
        return dt.date.fromisoformat(value)
    return value if kind == "int" else str(value)


BUILDERS: Mapping[str, Callable[[Any], tuple[Table, ...]]] = {
    "decisions": decision_tables, "ledger": ledger_table, "compliance": compliance_tables,
    "ledger_report": ledger_report_tables}


def tables_for(subject: str, data: Any, subjects: frozenset[str], exporter: str) -> tuple[Table, ...]:
    """The tables of a subject, or an :class:`ExportError` if this exporter does not take it."""
    if subject not in subjects:
        raise ExportError(Text(f"导出格式 {exporter} 不支持 {subject}（支持：{'、'.join(sorted(subjects))}）",
                               f"exporter {exporter} cannot write {subject} "
                               f"(it writes: {', '.join(sorted(subjects))})"),
                          record=exporter, field="subject", value=subject)
    return BUILDERS[subject](data)
