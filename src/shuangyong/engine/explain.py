"""The tracing path: every rule considered for each line and for the visit, and why.

The amounts come from ``Engine.evaluate`` (one source of truth for the arithmetic); this module
only adds reasons. It is allowed to be slow: it looks at every rule of the set, not only the
ones the index would hand to the fast path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from shuangyong.engine.context import VisitContext
from shuangyong.engine.decision import Decision, Explanation, LineDecision, LineTrace, RuleTrace
from shuangyong.text import Text

if TYPE_CHECKING:
    from decimal import Decimal

    from shuangyong.engine.compiler import CompiledPolicy, CompiledRule
    from shuangyong.model.registry import Registry
    from shuangyong.model.visit import ChargeLine, Visit

NO_CONDITION = Text("无附加条件", "no condition")
Gate = tuple[bool, str, Text]  #: holds, outcome if not, reason


class Evaluator(Protocol):
    """What tracing needs of ``evaluate.Engine``, which calls this module (so it cannot be imported
    here without an import cycle)."""

    registry: Registry
    compiled: CompiledPolicy

    def evaluate(self, visit: Visit) -> Decision:
        """The decision ``explain`` traces."""


def _trace(rule: CompiledRule, outcome: str, reason: Text,
           reduction: Decimal | None = None) -> RuleTrace:
    spec = rule.rule.spec
    return RuleTrace(spec.id, Text(spec.title.zh, spec.title.en), spec.clause, spec.source,
                     outcome, reason, reduction)


def _gate(engine: Evaluator, rule: CompiledRule, ctx: VisitContext,
          line: ChargeLine | None) -> Gate:
    """Dates, region, condition: the first that fails, or the reasons it all holds."""
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
    holds, reason = rule.condition.explain(ctx, line, engine.registry)
    return holds, ("" if holds else "not_eligible"), reason


def _line_trace(engine: Evaluator, ctx: VisitContext, line: ChargeLine, decision: LineDecision,
                visit_gates: dict[int, Gate]) -> LineTrace:
    applied = {a.rule: a.reduction for a in decision.applied}
    concerning = engine.compiled.concerning.get(line.item, ())
    group_winner = {rule.group: rule for rule in concerning if rule.rule_id in applied}
    considered = []
    for rule in concerning:
        if rule.line_test is None:  # the answer is the same for every line of the visit
            gate = visit_gates.get(rule.order)
            if gate is None:
                gate = visit_gates[rule.order] = _gate(engine, rule, ctx, line)
        else:
            gate = _gate(engine, rule, ctx, line)
        holds, outcome, reason = gate
        if not holds:
            considered.append(_trace(rule, outcome, reason))
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
    decision = engine.evaluate(visit)
    ctx = VisitContext.of(visit, engine.registry)
    lines = {line.line_id: line for line in visit.lines}
    visit_gates: dict[int, Gate] = {}
    traces = tuple(_line_trace(engine, ctx, lines[d.line_id], d, visit_gates) for d in decision.lines)
    granted = {e.rule for e in decision.entitlements}
    visit_traces = []
    for rule in engine.compiled.rules:
        spec = rule.rule.spec
        if not (spec.priorities or spec.services):
            continue
        _, outcome, reason = _gate(engine, rule, ctx, None)
        visit_traces.append(_trace(rule, "granted" if rule.rule_id in granted else outcome, reason))
    return Explanation(decision, traces, tuple(visit_traces))
