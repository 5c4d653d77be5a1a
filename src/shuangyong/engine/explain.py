"""The tracing path: every rule considered for each line and for the visit, and why.

The amounts come from ``Engine.evaluate`` (one source of truth for the arithmetic); this module
only adds reasons. It is allowed to be slow: it looks at every rule of the set, not only the
ones the index would hand to the fast path. When settlement is in play, the settlement path
reports what each rule did on each line (``settlement.Step``), and each line rule's trace names
its payer, its base and the base amount it was computed on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from shuangyong.engine.context import VisitContext
from shuangyong.engine.decision import Decision, Explanation, LineDecision, LineTrace, RuleTrace
from shuangyong.text import Text

if TYPE_CHECKING:
    from decimal import Decimal

    from shuangyong.engine.compiler import CompiledPolicy, CompiledRule
    from shuangyong.engine.predicates import Predicate
    from shuangyong.engine.settlement import Step, Steps
    from shuangyong.model.registry import Registry
    from shuangyong.model.visit import ChargeLine, Visit

NO_CONDITION = Text("无附加条件", "no condition")
EXPLAINED_CACHE_SIZE = 4096  #: visit signatures whose visit-level reasons are kept
Gate = tuple[bool, str, Text]  #: holds, outcome if not, reason
Said = dict["Predicate", tuple[bool, Text]]  #: a visit-level condition → what it says of the visit
#: the bases of docs/settlement.md, as reasons name them
BASE_LABELS = {
    "gross": Text("总金额", "gross amount"),
    "patient_share": Text("医保结算后个人负担", "patient share after insurance"),
    "in_scope_self_pay": Text("符合范围个人自付（含先行自付）", "in-scope self-pay"),
    "out_of_scope_self_pay": Text("全自费及超限价部分", "out-of-scope self-pay"),
}


class Evaluator(Protocol):
    """What tracing needs of ``evaluate.Engine``, which calls this module (so it cannot be imported
    here without an import cycle)."""

    registry: Registry
    compiled: CompiledPolicy
    #: per visit signature and credentials, the visit-level gates met so far and the visit's traces
    explained: dict[tuple[object, ...], tuple[dict[int, Gate], tuple[RuleTrace, ...]]]

    def signature(self, visit: Visit) -> tuple[object, ...] | None:
        """What decides which rules are eligible for the visit, or ``None`` if that is unknown."""

    def evaluate(self, visit: Visit) -> Decision:
        """The decision ``explain`` traces."""

    def settles(self, visit: Visit) -> bool:
        """Whether the visit takes the settlement path."""

    def settle(self, visit: Visit, steps: Steps | None = None) -> Decision:
        """The settlement path's decision, with what each rule did on each line in ``steps``."""


def _trace(rule: CompiledRule, outcome: str, reason: Text, reduction: Decimal | None = None, *,
           settling: bool = False, base_amount: Decimal | None = None) -> RuleTrace:
    spec = rule.rule.spec
    payer, base = (spec.payer, spec.base) if settling and spec.benefit is not None else (None, None)
    return RuleTrace(spec.id, rule.title, spec.clause, spec.source, outcome, reason, reduction, payer, base,
                     base_amount)


def _step_trace(rule: CompiledRule, reason: Text, step: Step | None) -> RuleTrace:
    """A rule that holds for the line, as the settlement path reports what it did there."""
    spec = rule.rule.spec
    label = BASE_LABELS[spec.base]
    if step is None:  # unreachable when the index and the conditions agree; said, not hidden
        return _trace(rule, "nothing_left", Text(f"{reason.zh}；但未参与计算", f"{reason.en}; but it was not computed"),
                      settling=True)
    if step.outcome == "item_first":
        return _trace(rule, "outdone", Text(
            f"{reason.zh}；但同一付款方的项目级规则已先适用：{step.winner}（付款方 {spec.payer}，item_rules_first）；"
            "本条按医疗收费项目类别的规则不再适用",
            f"{reason.en}; but an item-level rule of the same payer applied first: {step.winner} (payer "
            f"{spec.payer}, item_rules_first); this fee-category rule does not apply"), settling=True)
    if step.outcome == "skipped":
        return _trace(rule, "skipped", Text(
            f"{reason.zh}；但本次就诊没有医保结算数据，无{label.zh}可算，规则写明 without_insurance: skip，跳过",
            f"{reason.en}; skipped: no insurance data, so no {label.en} (the rule says without_insurance: skip)"),
            settling=True)
    amount = step.base_amount
    if step.visit is not None:
        summed, total = step.visit
        basis = Text(f"按本次就诊{label.zh}合计 {summed}（本行 {amount}）计算为 {total}，由 {spec.payer} 负担，"
                     f"按各行{label.zh}比例分摊",
                     f"computed on the visit's {label.en}, {summed} in all (this line {amount}), as {total}, "
                     f"borne by {spec.payer} and shared over the lines by their {label.en}")
    else:
        basis = Text(f"按{label.zh} {amount} 计算，由 {spec.payer} 负担",
                     f"computed on the {label.en}, {amount}, borne by {spec.payer}")
    if step.outcome == "applied":
        return _trace(rule, "applied", Text(f"{reason.zh}；{basis.zh}", f"{reason.en}; {basis.en}"),
                      step.reduction, settling=True, base_amount=amount)
    if step.outcome == "outdone":
        why = Text(f"但付款方 {spec.payer} 同组（{spec.group}）规则 {step.winner} 减免更多或在先",
                   f"but {step.winner} in payer {spec.payer}'s same group ({spec.group}) takes off more or comes first")
    elif not step.left:
        why = Text("但本行已无应付金额", "but nothing is left to pay on this line")
    elif not amount:
        why = Text(f"但{label.zh}为 0.00", f"but the {label.en} is 0.00")
    else:
        why = Text("但已达封顶或算得 0.00", "but its cap is reached or it comes to 0.00")
    return _trace(rule, step.outcome, Text(f"{reason.zh}；{basis.zh}；{why.zh}", f"{reason.en}; {basis.en}; {why.en}"),
                  settling=True, base_amount=amount)


def _gate(engine: Evaluator, rule: CompiledRule, ctx: VisitContext,
          line: ChargeLine | None, said: Said | None = None) -> Gate:
    """Dates, region, condition: the first that fails, or the reasons it all holds. ``said``, if
    given, keeps what each visit-level condition says of this visit: rules often share one."""
    if not rule.in_force(ctx):
        span = str(rule.effective)
        return False, "not_effective", Text(f"规则有效期 {span} 不含就诊日 {ctx.date}",
                                            f"rule in force {span}, not on the visit date {ctx.date}")
    if not rule.in_region(ctx):
        scope = rule.rule.region.ljust(6, "0")
        return False, "outside_region", Text(f"就诊地区 {ctx.visit.region} 不在规则地区 {scope} 之内",
                                             f"visit region {ctx.visit.region} lies outside the rule's region {scope}")
    if rule.condition is None:
        return True, "", NO_CONDITION
    if said is None:
        holds, reason = rule.condition.explain(ctx, line, engine.registry)
    else:
        answer = said.get(rule.condition)
        if answer is None:
            answer = said[rule.condition] = rule.condition.explain(ctx, line, engine.registry)
        holds, reason = answer
    return holds, ("" if holds else "not_eligible"), reason


def _line_trace(engine: Evaluator, ctx: VisitContext, line: ChargeLine, decision: LineDecision,
                visit_gates: dict[int, Gate], steps: Steps | None, said: Said | None) -> LineTrace:
    applied = {a.rule: a.reduction for a in decision.applied}
    concerning = engine.compiled.concerning_line(line)
    group_winner = {rule.group: rule for rule in concerning if rule.rule_id in applied}
    considered = []
    for rule in concerning:
        if rule.line_test is None:  # the answer is the same for every line of the visit
            gate = visit_gates.get(rule.order)
            if gate is None:
                gate = visit_gates[rule.order] = _gate(engine, rule, ctx, line, said)
        else:
            gate = _gate(engine, rule, ctx, line)
        holds, outcome, reason = gate
        if not holds:
            considered.append(_trace(rule, outcome, reason, settling=steps is not None))
        elif steps is not None:
            considered.append(_step_trace(rule, reason, steps.get(line.line_id, {}).get(rule.order)))
        elif rule.rule_id in applied:
            considered.append(_trace(rule, "applied", reason, applied[rule.rule_id]))
        elif rule.group in group_winner:
            winner = group_winner[rule.group].rule_id
            considered.append(_trace(rule, "outdone", Text(
                f"{reason.zh}；但同组（{rule.rule.spec.group}）规则 {winner} 减免更多或在先",
                f"{reason.en}; but {winner} in the same group ({rule.rule.spec.group}) takes off more or comes first")))
        else:
            considered.append(_trace(rule, "nothing_left", Text(
                f"{reason.zh}；但本行已无可减金额或已达封顶",
                f"{reason.en}; but nothing is left to reduce or the cap is reached")))
    return LineTrace(line.line_id, line.item, tuple(considered))


def explain(engine: Evaluator, visit: Visit) -> Explanation:
    """``evaluate`` plus the reasons for every rule that could concern this visit."""
    steps: Steps | None = {} if engine.settles(visit) else None
    decision = engine.evaluate(visit) if steps is None else engine.settle(visit, steps)
    ctx = VisitContext.of(visit, engine.registry)
    lines = {line.line_id: line for line in visit.lines}
    # The visit-level gates and traces say the same for visits alike in their signature and in
    # their credentials (whose numbers and validity the reasons quote): kept per both.
    signature = engine.signature(visit)
    key = None if signature is None else (signature, visit.patient.credentials)
    known = engine.explained.get(key) if key is not None else None
    visit_gates = {} if known is None else known[0]
    said: Said | None = {} if signature is not None else None  # built-in conditions: equal ones say the same
    traces = tuple(_line_trace(engine, ctx, lines[d.line_id], d, visit_gates, steps, said) for d in decision.lines)
    if known is not None:
        return Explanation(decision, traces, known[1])
    granted = {e.rule for e in decision.entitlements}
    visit_traces = []
    for rule in engine.compiled.rules:
        spec = rule.rule.spec
        if not (spec.priorities or spec.services):
            continue
        _, outcome, reason = _gate(engine, rule, ctx, None, said)
        visit_traces.append(_trace(rule, "granted" if rule.rule_id in granted else outcome, reason))
    if key is not None:
        if len(engine.explained) >= EXPLAINED_CACHE_SIZE:
            engine.explained.clear()
        engine.explained[key] = (visit_gates, tuple(visit_traces))
    return Explanation(decision, traces, tuple(visit_traces))
