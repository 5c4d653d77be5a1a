"""The engine's invariants as checks anyone can run against their own pack set.

Each ``check_*`` takes an engine (or a decision) and a visit, returns quietly when the invariant
holds, and raises :class:`PropertyFailure` (an ``AssertionError``) naming the visit, the line and
the rule when it does not. They need no hypothesis: call them from a ``@given`` test with
:mod:`shuangyong.testing.strategies`, from a loop over recorded visits, or once by hand.

The checks read the packs (``engine.policy``), never the compiled rules, so that they test the
engine rather than repeat it.
"""

from __future__ import annotations

import difflib
import json
from typing import TYPE_CHECKING

import attrs

from shuangyong.dates import DateWindow
from shuangyong.interchange.output import decision_to_dict
from shuangyong.model.registry import PATIENT
from shuangyong.money import ZERO
from shuangyong.text import Text

if TYPE_CHECKING:
    from collections.abc import Sequence
    from decimal import Decimal

    from shuangyong.engine import Decision, Engine, LineDecision
    from shuangyong.model import Credential, Visit

__all__ = ["PropertyFailure", "check_bounds", "check_caps", "check_deterministic", "check_in_force",
           "check_monotone", "check_order_independent", "check_sums", "check_visit", "more_eligible"]


class PropertyFailure(AssertionError):
    """An invariant that does not hold. ``message`` carries zh and en; ``detail`` (a diff of two
    outputs) is language-free; ``str()`` shows all three."""

    def __init__(self, message: Text, detail: str = "") -> None:
        self.message = message
        self.detail = detail
        super().__init__("\n".join(part for part in (message.en, message.zh, detail) if part))


def _line_name(visit_id: str, line_id: str, item: str) -> Text:
    return Text(f"就诊 {visit_id} 第 {line_id} 行（{item}）", f"visit {visit_id}, line {line_id} ({item})")


def check_sums(decision: Decision) -> None:
    """insurance + reduction + payable == amount on every line and in the totals (insurance is 0
    without insurance data); a line's reduction is the sum of what each applied rule took; when
    settlement is in play, the payers' parts add up to the amount, the patient's part is what is
    payable, each concession payer's part is what its rules took; the totals are the sums of the
    lines, per payer too."""
    payers: dict[str, Decimal] = {}
    for line in decision.lines:
        where = _line_name(decision.visit_id, line.line_id, line.item)
        if line.insurance + line.reduction + line.payable != line.amount:
            raise PropertyFailure(Text(
                f"{where.zh}：医保 {line.insurance} + 减免 {line.reduction} + 应付 {line.payable} ≠ 金额 {line.amount}",
                f"{where.en}: insurance {line.insurance} + reduction {line.reduction} + payable {line.payable} "
                f"is not the amount {line.amount}"))
        shares = sum((a.reduction for a in line.applied), start=ZERO)
        if shares != line.reduction:
            raise PropertyFailure(Text(
                f"{where.zh}：各规则减免之和 {shares} ≠ 本行减免 {line.reduction}",
                f"{where.en}: the rules' shares add up to {shares}, not the line's reduction {line.reduction}"))
        if line.payers:
            _check_payers(where, line)
        for payer, part in line.payers:
            payers[payer] = payers.get(payer, ZERO) + part
    totals = decision.totals
    for name, total in (("amount", totals.amount), ("reduction", totals.reduction), ("payable", totals.payable),
                        ("insurance", totals.insurance)):
        lines = sum((getattr(line, name) for line in decision.lines), start=ZERO)
        if lines != total:
            raise PropertyFailure(Text(f"就诊 {decision.visit_id}：合计 {name} {total} ≠ 各行之和 {lines}",
                                       f"visit {decision.visit_id}: total {name} {total} is not the sum "
                                       f"of the lines, {lines}"))
    expected = {payer: part for payer, part in payers.items() if part and payer != PATIENT} | {PATIENT: totals.payable}
    if (totals.payers or payers) and dict(totals.payers) != expected:
        raise PropertyFailure(Text(
            f"就诊 {decision.visit_id}：各付款方合计 {dict(totals.payers)} ≠ 各行之和 {expected}",
            f"visit {decision.visit_id}: the payers' totals {dict(totals.payers)} are not the sums of the lines, "
            f"{expected}"))


def _check_payers(where: Text, line: LineDecision) -> None:
    """A line's payer breakdown against its figures (``check_sums``). With the line's own sums
    checked, the funds' parts then add up to its insurance: amount − payable − reduction."""
    parts = dict(line.payers)
    taken: dict[str, Decimal] = {}
    for applied in line.applied:
        taken[applied.payer] = taken.get(applied.payer, ZERO) + applied.reduction
    total = sum(parts.values(), ZERO)
    if total != line.amount:
        raise PropertyFailure(Text(f"{where.zh}：各付款方之和 {total} ≠ 金额 {line.amount}",
                                   f"{where.en}: the payers' parts add up to {total}, not the amount {line.amount}"))
    if parts.get(PATIENT) != line.payable:
        raise PropertyFailure(Text(f"{where.zh}：患者部分 {parts.get(PATIENT)} ≠ 应付 {line.payable}",
                                   f"{where.en}: the patient's part {parts.get(PATIENT)} is not the payable "
                                   f"{line.payable}"))
    for payer, part in taken.items():
        if parts.get(payer, ZERO) != part:
            raise PropertyFailure(Text(
                f"{where.zh}：{payer} 的部分 {parts.get(payer, ZERO)} ≠ 其规则减免之和 {part}",
                f"{where.en}: {payer}'s part {parts.get(payer, ZERO)} is not what its rules took, {part}"))


def check_bounds(decision: Decision) -> None:
    """0 ≤ reduction ≤ amount − insurance on every line, no rule's share negative, no payer's
    part negative."""
    for line in decision.lines:
        where = _line_name(decision.visit_id, line.line_id, line.item)
        owed = line.amount - line.insurance
        if not ZERO <= line.reduction <= owed:
            raise PropertyFailure(Text(f"{where.zh}：减免 {line.reduction} 不在 0.00 与医保后金额 {owed} 之间",
                                       f"{where.en}: reduction {line.reduction} is not between 0.00 and "
                                       f"the amount after insurance {owed}"))
        for applied in line.applied:
            if applied.reduction < ZERO:
                raise PropertyFailure(Text(f"{where.zh}：规则 {applied.rule} 的减免 {applied.reduction} 为负",
                                           f"{where.en}: rule {applied.rule} took a negative {applied.reduction}"))
        for payer, part in line.payers:
            if part < ZERO:
                raise PropertyFailure(Text(f"{where.zh}：{payer} 的部分 {part} 为负",
                                           f"{where.en}: {payer}'s part {part} is negative"))


def check_caps(engine: Engine, decision: Decision) -> None:
    """No rule takes more off a line than its ``per_line`` cap, nor off the visit than ``per_visit``."""
    taken: dict[str, Decimal] = {}
    for line in decision.lines:
        for applied in line.applied:
            caps = engine.policy.rule(applied.rule).spec.caps
            if caps is not None and caps.per_line is not None and applied.reduction > caps.per_line:
                where = _line_name(decision.visit_id, line.line_id, line.item)
                raise PropertyFailure(Text(
                    f"{where.zh}：规则 {applied.rule} 减免 {applied.reduction}，超过每行封顶 {caps.per_line}",
                    f"{where.en}: rule {applied.rule} took {applied.reduction}, "
                    f"above its per-line cap {caps.per_line}"))
            taken[applied.rule] = taken.get(applied.rule, ZERO) + applied.reduction
    for rule_id, total in taken.items():
        caps = engine.policy.rule(rule_id).spec.caps
        if caps is not None and caps.per_visit is not None and total > caps.per_visit:
            raise PropertyFailure(Text(
                f"就诊 {decision.visit_id}：规则 {rule_id} 共减免 {total}，超过每次就诊封顶 {caps.per_visit}",
                f"visit {decision.visit_id}: rule {rule_id} took {total} in all, above its per-visit cap "
                f"{caps.per_visit}"))


def check_in_force(engine: Engine, visit: Visit, decision: Decision) -> None:
    """Every rule that reduced a line or granted a priority or service is in force on the visit
    date (inclusive) and covers the visit's region."""
    used = [a.rule for line in decision.lines for a in line.applied] + [e.rule for e in decision.entitlements]
    for rule_id in dict.fromkeys(used):
        rule = engine.policy.rule(rule_id)
        window = DateWindow(rule.spec.effective.from_, rule.spec.effective.to)
        if not window.contains(visit.date):
            raise PropertyFailure(Text(
                f"就诊 {visit.visit_id}：规则 {rule_id} 的有效期 {window} 不含就诊日 {visit.date}，却被适用",
                f"visit {visit.visit_id}: rule {rule_id} applied on {visit.date}, outside its dates {window}"))
        if not visit.region.startswith(rule.region):
            scope = rule.region.ljust(6, "0")
            raise PropertyFailure(Text(
                f"就诊 {visit.visit_id}：规则 {rule_id} 只适用于地区 {scope}，却在 {visit.region} 被适用",
                f"visit {visit.visit_id}: rule {rule_id} applied in region {visit.region}, outside its region {scope}"))


def _json(decision: Decision) -> str:
    return json.dumps(decision_to_dict(decision), ensure_ascii=False, indent=1, sort_keys=True)


def _differs(first: Decision, second: Decision, labels: tuple[str, str]) -> str | None:
    """A unified diff of two decisions' JSON, or ``None`` when they are the same."""
    a, b = _json(first), _json(second)
    if a == b:
        return None
    return "\n".join(difflib.unified_diff(a.splitlines(), b.splitlines(), *labels, lineterm="", n=1))


def check_deterministic(engine: Engine, visit: Visit) -> None:
    """The same visit gives the same output twice, and from a freshly compiled engine too
    (nothing cached by an earlier visit changes the answer)."""
    first = engine.evaluate(visit)
    fresh = type(engine)(engine.policy, engine.registry, strict=engine.strict)
    for label, again in (("again", engine.evaluate(visit)), ("fresh engine", fresh.evaluate(visit))):
        diff = _differs(first, again, ("first", label))
        if diff is not None:
            raise PropertyFailure(Text(f"就诊 {visit.visit_id}：同一输入两次结果不同",
                                       f"visit {visit.visit_id}: the same input gave two outputs"), diff)


def check_order_independent(engine: Engine, visit: Visit, order: Sequence[int] | None = None) -> None:
    """Sending the lines in another order (``order``: a permutation of their indices; reversed
    by default) changes nothing in the output, per-visit caps included."""
    permutation = list(order) if order is not None else list(range(len(visit.lines)))[::-1]
    if sorted(permutation) != list(range(len(visit.lines))):
        raise ValueError(f"order must be a permutation of 0..{len(visit.lines) - 1}, got {permutation}")
    shuffled = attrs.evolve(visit, lines=tuple(visit.lines[i] for i in permutation))
    diff = _differs(engine.evaluate(visit), engine.evaluate(shuffled), ("as sent", "reordered"))
    if diff is not None:
        ids = ", ".join(line.line_id for line in shuffled.lines)
        raise PropertyFailure(Text(f"就诊 {visit.visit_id}：收费明细换成 {ids} 的顺序后结果改变",
                                   f"visit {visit.visit_id}: reordering the lines as {ids} changed the output"), diff)


def more_eligible(visit: Visit, category: str | None = None, credential: Credential | None = None) -> Visit:
    """The visit with one more category (and a disability level if none was given) and/or one
    more credential: a patient at least as entitled as before, when no rule tests a ``not``."""
    patient = visit.patient
    if category is not None:
        patient = attrs.evolve(patient, categories=patient.categories | {category},
                               disability_level=patient.disability_level or 5)
    if credential is not None:
        patient = attrs.evolve(patient, credentials=patient.credentials + (credential,))
    return attrs.evolve(visit, patient=patient)


def check_monotone(engine: Engine, visit: Visit, richer: Visit) -> None:
    """A patient with more categories or credentials (``richer``, e.g. from :func:`more_eligible`)
    loses no priority and no service, and no line's reduction goes down.

    Holds for packs whose conditions use no ``not`` and whose rules have no per-visit cap: a
    capped rule newly winning one line can leave less of its cap for a later line.
    """
    before, after = engine.evaluate(visit), engine.evaluate(richer)
    for name in ("priorities", "services"):
        lost = set(getattr(before, name)) - set(getattr(after, name))
        if lost:
            raise PropertyFailure(Text(
                f"就诊 {visit.visit_id}：资格增加后失去了 {', '.join(sorted(lost))}",
                f"visit {visit.visit_id}: more eligibility lost the {name} {', '.join(sorted(lost))}"))
    reductions = {line.line_id: line for line in after.lines}
    for line in before.lines:
        now = reductions[line.line_id]
        if now.reduction < line.reduction:
            where = _line_name(visit.visit_id, line.line_id, line.item)
            raise PropertyFailure(Text(
                f"{where.zh}：资格增加后减免从 {line.reduction}（{line.rule or '—'}）"
                f"降为 {now.reduction}（{now.rule or '—'}）",
                f"{where.en}: more eligibility lowered the reduction from {line.reduction} ({line.rule or '—'}) "
                f"to {now.reduction} ({now.rule or '—'})"))


def check_visit(engine: Engine, visit: Visit) -> Decision:
    """Every single-visit invariant (sums, bounds, caps, dates and region, determinism, line
    order); returns the decision so that a test can go on asserting about it."""
    decision = engine.evaluate(visit)
    check_sums(decision)
    check_bounds(decision)
    check_caps(engine, decision)
    check_in_force(engine, visit, decision)
    check_deterministic(engine, visit)
    check_order_independent(engine, visit)
    return decision
