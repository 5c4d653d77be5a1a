"""Human-readable text: decision tables and explanations, in zh or en, aligned for CJK text."""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

from shuangyong.model.registry import PATIENT
from shuangyong.money import format_amount
from shuangyong.text import Lang, Text

if TYPE_CHECKING:
    from collections.abc import Sequence

    from shuangyong.engine.decision import Decision, Explanation, RuleTrace
    from shuangyong.engine.evaluate import Engine
    from shuangyong.model.registry import Registry
    from shuangyong.model.visit import Visit

OUTCOMES = {
    "applied": Text("适用", "applied"),
    "granted": Text("授予", "granted"),
    "outdone": Text("被同组规则取代", "outdone"),
    "nothing_left": Text("无可减", "nothing left"),
    "skipped": Text("跳过", "skipped"),
    "not_eligible": Text("不符合条件", "not eligible"),
    "not_effective": Text("不在有效期", "not in force"),
    "outside_region": Text("不在适用地区", "outside region"),
}


#: Characters a terminal acts on rather than shows: C0 and C1 controls (ESC starts a sequence that
#: can recolour, move the cursor or retitle the window), DEL, and the bidirectional overrides that
#: reorder what is shown. Each is shown as its escape instead: ``\x1b``, ``\u202e``.
_INVISIBLE = {code: f"\\x{code:02x}" for code in (*range(0x20), *range(0x7F, 0xA0))} | {
    code: f"\\u{code:04x}" for code in (0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))}


def visible(text: str) -> str:
    """TEXT with every control character written as its escape, so that a value from input (an id,
    a name) cannot act on the terminal or break a table's lines; everything else is kept."""
    return text.translate(_INVISIBLE)


def width(text: str) -> int:
    """Columns a string takes in a terminal: wide (CJK) characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, columns: int, right: bool = False) -> str:
    fill = " " * max(columns - width(text), 0)
    return fill + text if right else text + fill


def table(rows: Sequence[Sequence[str]], right: set[int]) -> list[str]:
    """Align rows into columns; column numbers in ``right`` are right-aligned (money). Cells are
    shown :func:`visible`, so a control character in a value neither acts nor misaligns."""
    rows = [[visible(cell) for cell in row] for row in rows]
    widths = [max(width(row[c]) for row in rows) for c in range(len(rows[0]))]
    return ["  ".join(_pad(cell, widths[c], c in right) for c, cell in enumerate(row)).rstrip()
            for row in rows]


def _title(engine: Engine, rule_id: str | None, lang: Lang) -> str:
    if rule_id is None:
        return "—"
    title = engine.policy.rule(rule_id).spec.title
    return title.zh if lang == "zh" else title.en


def decision_table(engine: Engine, visit: Visit, decision: Decision, lang: Lang) -> str:
    """One visit as a table: a row per line, totals, then priorities and services. When
    settlement is in play (docs/settlement.md), an insurance column and who pays what."""
    zh = lang == "zh"
    registry = engine.registry
    settled = any(line.payers for line in decision.lines)
    kind = registry.visit_kinds.get(visit.kind).label.in_(lang)
    patient = visit.patient.name or visit.patient.id
    head = visible(f"就诊 {visit.visit_id}  {visit.date}  {kind}  地区 {visit.region}  患者 {patient}"
            if zh else f"Visit {visit.visit_id}  {visit.date}  {kind}  region {visit.region}  patient {patient}")
    insurance = (["医保"] if zh else ["insurance"]) if settled else []
    header = (["明细", "项目", "金额", *insurance, "减免", "应付", "规则"] if zh
              else ["line", "item", "amount", *insurance, "reduction", "payable", "rule"])
    rows = [header]
    for line in decision.lines:
        item = registry.items.get(line.item).label.in_(lang) if line.item in registry.items else line.item
        paid = [format_amount(line.insurance)] if settled else []
        rows.append([line.line_id, item, format_amount(line.amount), *paid, format_amount(line.reduction),
                     format_amount(line.payable), _title(engine, line.rule, lang)])
    totals = decision.totals
    paid = [format_amount(totals.insurance)] if settled else []
    rows.append(["合计" if zh else "total", "", format_amount(totals.amount), *paid,
                 format_amount(totals.reduction), format_amount(totals.payable), ""])
    out = [head, *("  " + row for row in table(rows, right=set(range(2, len(header) - 1))))]
    if settled:
        out.append("  各方支付：" if zh else "  who pays:")
        parts = [(line.line_id, line.payers) for line in decision.lines] + [("合计" if zh else "total", totals.payers)]
        out.extend(visible(f"    {line_id}  " + ("；" if zh else "; ").join(
            f"{_payer(registry, payer, lang)} {format_amount(part)}" for payer, part in payers))
            for line_id, payers in parts)
    none = "无" if zh else "none"
    priorities = [registry.priorities.get(p).label.in_(lang) for p in decision.priorities]
    services = [registry.services.get(s).label.in_(lang) for s in decision.services]
    sep = "、" if zh else ", "
    out.append(("  优先：" if zh else "  priorities: ") + visible(sep.join(priorities) or none))
    out.append(("  服务：" if zh else "  services: ") + visible(sep.join(services) or none))
    return "\n".join(out)


def _payer(registry: Registry, payer: str, lang: Lang) -> str:
    """A payer's label; the patient's; a fund no registry knows by its id."""
    if payer == PATIENT:
        return "患者" if lang == "zh" else "patient"
    return registry.payers.get(payer).label.in_(lang) if payer in registry.payers else payer


def _trace_line(trace: RuleTrace, lang: Lang) -> str:
    outcome = OUTCOMES[trace.outcome].in_(lang)
    amount = f" −{format_amount(trace.reduction)}" if trace.reduction is not None else ""
    payer = f" ({trace.payer}, {trace.base})" if trace.payer is not None else ""
    return visible(f"    [{outcome}{amount}] {trace.rule}{payer} {trace.title.in_(lang)}: {trace.reason.in_(lang)}")


def explanation_text(engine: Engine, visit: Visit, explanation: Explanation, lang: Lang) -> str:
    """The decision table, then every rule considered per line and for the visit, with clauses."""
    zh = lang == "zh"
    out = [decision_table(engine, visit, explanation.decision, lang)]
    clauses: dict[str, list[str]] = {}  # clause (with source) → rules quoting it
    items = engine.registry.items
    for trace in explanation.lines:
        item = items.get(trace.item).label.in_(lang) if trace.item in items else trace.item
        out.append(visible(f"  明细 {trace.line_id}（{item}）：" if zh else f"  line {trace.line_id} ({item}):"))
        if not trace.considered:
            out.append("    没有规则涉及此项目类别" if zh else "    no rule covers this item kind")
        out.extend(_trace_line(considered, lang) for considered in trace.considered)
    out.append("  就诊级待遇：" if zh else "  visit-level entitlements:")
    out.extend(_trace_line(considered, lang) for considered in explanation.visit)
    for considered in (*(c for t in explanation.lines for c in t.considered), *explanation.visit):
        rules = clauses.setdefault(f"{considered.clause}（{considered.source}）", [])
        if considered.rule not in rules:
            rules.append(considered.rule)
    out.append("  依据：" if zh else "  clauses:")
    out.extend(visible(f"    {', '.join(rules)}: {clause}") for clause, rules in clauses.items())
    return "\n".join(out)
