"""The engine: ``Engine.from_packs(...).evaluate(visit)`` → ``Decision``; ``explain`` says why.

Stacking (DESIGN §5): on each line, within a group the rule taking off most wins (the earlier
rule on a tie); groups apply in order, each on what the previous ones left; nothing goes below
zero. Lines are handled in canonical ``line_id`` order so that per-visit caps, and therefore the
output, do not depend on the order the HIS sent the lines in.
"""

from __future__ import annotations

from operator import attrgetter
from typing import TYPE_CHECKING

import attrs

from shuangyong.engine.compiler import (
    CompiledPolicy,
    CompiledRule,
    LineGroup,
    Plan,
    VisitPlan,
    best_in_group,
    line_groups,
)
from shuangyong.engine.context import VisitContext, visit_age
from shuangyong.engine.decision import (
    Applied,
    Decision,
    Entitlement,
    Explanation,
    LineDecision,
    RuleTrace,
    Totals,
)
from shuangyong.engine.explain import Gate, explain
from shuangyong.engine.fee_category_rules import CategoryPlan
from shuangyong.engine.settlement import GROSS, HOSPITAL, POT_BASES, Settler, Steps
from shuangyong.errors import UnknownItemError
from shuangyong.model.registry import Registry
from shuangyong.money import ZERO
from shuangyong.policy.layers import PolicySet
from shuangyong.text import Text

if TYPE_CHECKING:
    from decimal import Decimal

    from shuangyong.model.visit import ChargeLine, Visit
    from shuangyong.policy.loader import PackReference

DEFAULT_PACKS = ("seed-example",)

_ORDER = attrgetter("order")
#: ``_new(LineDecision, (every field))``: a named tuple built without its ``__new__``'s argument
#: handling (benchmarks/RESULTS.md, "Settlement (issue 16)")
_new = tuple.__new__
_NO_INSURANCE = LineDecision._field_defaults["insurance"]
PLAN_CACHE_SIZE = 4096  #: distinct eligible-rule sets kept; real visits share a handful


@attrs.frozen(slots=True)
class CachedPlan:
    """A ``VisitPlan`` with its entitlements already in output form, and what the settlement
    path needs to know of its rules."""

    by_item: dict[str, Plan]
    entitlements: tuple[Entitlement, ...]
    priorities: tuple[str, ...]
    services: tuple[str, ...]
    #: some rule is computed on a self-pay pot (then the settlement path keeps count of the pots)
    pots: bool
    #: the eligible rules naming fee categories (they settle), or ``None`` when there are none
    categories: CategoryPlan | None = None
    #: ``by_item`` as the fast loop runs it: the rules that can win each group, winners known
    #: at plan time (``compiler.LineGroup``)
    lines: dict[str, tuple[LineGroup, ...]] = attrs.field(factory=dict)
    #: some rule of ``lines`` tests the line (then the fast loop needs the visit's context)
    line_tests: bool = False
    #: no rule has visit scope nor names a fee category: an insured visit may then be settled
    #: line by line (``Settler.line_by_line``)
    by_line: bool = False

    @classmethod
    def of(cls, plan: VisitPlan, registry: Registry, *, item_rules_first: bool = False) -> CachedPlan:
        """What ``plan`` grants a visit: its entitlements, and their priorities and services in
        registry order; and its rules on fee categories (``item_rules_first`` as the packs say)."""
        entitlements = tuple(Entitlement(r.rule_id, r.clause, r.rule.spec.priorities, r.rule.spec.services)
                             for r in plan.grants)
        rules = [rule for plans in (plan.by_item, plan.by_category) for groups in plans.values()
                 for group in groups for rule in group]
        return cls(plan.by_item, entitlements,
                   registry.priorities.order(p for e in entitlements for p in e.priorities),
                   registry.services.order(s for e in entitlements for s in e.services),
                   any(rule.base in POT_BASES for rule in rules),
                   CategoryPlan(plan.by_category, item_rules_first) if plan.by_category else None,
                   {item: line_groups(groups) for item, groups in plan.by_item.items()},
                   any(rule.line_test is not None for groups in plan.by_item.values()
                       for group in groups for rule in group),
                   not plan.by_category and not any(rule.visit_scope for rule in rules))


class Engine:
    """A compiled pack set. Build once (compiling is the slow part), evaluate many visits."""

    def __init__(self, policy: PolicySet, registry: Registry | None = None, *,
                 strict: bool = False) -> None:
        self.registry = registry if registry is not None else Registry.builtin()
        self.policy = policy
        self.compiled = CompiledPolicy.compile(policy, self.registry.predicates)
        self.strict = strict
        self.settler = Settler(policy.payers, self.registry, hospital_only=not self.compiled.settles)
        self._plans: dict[tuple[int, ...], CachedPlan] = {}
        #: the plan of each visit signature (``_signature``), when the policy's conditions are the
        #: built-in ones: a visit's facts then tell its eligible rules without trying each rule
        self._signed: dict[tuple[object, ...], CachedPlan] | None = {} if self.compiled.facts is not None else None
        self._ages = self.compiled.facts is not None and "age" in self.compiled.facts
        #: what ``explain`` keeps of visits alike (engine/explain.py)
        self.explained: dict[tuple[object, ...], tuple[dict[int, Gate], tuple[RuleTrace, ...]]] = {}

    @classmethod
    def from_packs(cls, *references: PackReference, registry: Registry | None = None,
                   strict: bool = False) -> Engine:
        """Load packs by built-in name or path (default ``seed-example``) and compile them."""
        registry = registry if registry is not None else Registry.builtin()
        policy = PolicySet.load(references or DEFAULT_PACKS, registry)
        return cls(policy, registry, strict=strict)

    @property
    def fingerprint(self) -> str:
        """The fingerprint of the packs this engine compiled (each decision's ``policy``)."""
        return self.policy.fingerprint

    def settles(self, visit: Visit) -> bool:
        """Whether the visit takes the settlement path (engine/settlement.py): it carries
        insurance data, or the policy set needs that path for every visit."""
        return self.compiled.settles or visit.insured

    def evaluate(self, visit: Visit) -> Decision:
        """Decide every line of the visit and the visit's priorities and services."""
        signed = self._signed
        plan = signed.get(self._signature(visit)) if signed is not None else None  # ``_visit_plan``'s usual case
        ctx = None
        if plan is None:
            plan, ctx = self._visit_plan(visit)
        if self.compiled.settles or visit.insured:  # ``settles``, inlined
            if visit.insured and plan.by_line and not self.settler.not_funds:  # ``Settler.settle``'s usual case
                if ctx is None and plan.line_tests:
                    ctx = VisitContext.of(visit, self.registry)
                settled, totals = self.settler.by_line(visit, ctx, plan, self._unknown_item if self.strict else None)
                return Decision(visit.visit_id, self.policy.fingerprint, settled, plan.priorities, plan.services,
                                plan.entitlements, totals)
            return self._settled(visit, plan, ctx, None)
        if ctx is None and plan.line_tests:
            ctx = VisitContext.of(visit, self.registry)
        by_item = plan.lines
        cap_left: dict[int, Decimal] = {}
        decisions = []
        total_amount = total_reduction = ZERO
        strict = self.strict
        lines = visit.lines
        for line in sorted(lines, key=_ORDER) if len(lines) > 1 else lines:
            amount = remaining = line.amount
            groups = by_item.get(line.item)
            total_amount += amount
            if groups is None:  # no eligible rule covers this item kind: half of all lines
                if strict and line.item not in self.registry.items:
                    raise self._unknown_item(visit, line)
                decisions.append(_new(LineDecision, (line.line_id, line.item, amount, ZERO, amount, None, None, (),
                                                     _NO_INSURANCE, ())))
                continue
            applied: list[Applied] = []
            first: CompiledRule | None = None
            for rules, best, threshold in groups:
                if best is not None and (threshold is None or remaining >= threshold):
                    best_reduction = best.reduce(remaining)  # type: ignore[misc]
                    if not best_reduction:
                        continue
                else:
                    best, best_reduction = best_in_group(rules, ctx, line, remaining, cap_left)
                    if best is None:
                        continue
                remaining -= best_reduction
                applied.append(_new(Applied, (best.rule_id, best_reduction, HOSPITAL, GROSS)))
                if first is None:
                    first = best
            if first is None:
                decisions.append(_new(LineDecision, (line.line_id, line.item, amount, ZERO, amount, None, None, (),
                                                     _NO_INSURANCE, ())))
                continue
            reduction = amount - remaining
            decisions.append(_new(LineDecision, (line.line_id, line.item, amount, reduction, remaining,
                                                 first.rule_id, first.clause, tuple(applied), _NO_INSURANCE, ())))
            total_reduction += reduction
        return Decision(
            visit.visit_id, self.policy.fingerprint, tuple(decisions), plan.priorities, plan.services,
            plan.entitlements, Totals(total_amount, total_reduction, total_amount - total_reduction))

    def settle(self, visit: Visit, steps: Steps | None = None) -> Decision:
        """The settlement path for any visit (``evaluate`` takes it when ``settles``); ``steps``,
        if given, is filled with what each rule did on each line, for ``explain``."""
        plan, ctx = self._visit_plan(visit)
        return self._settled(visit, plan, ctx, steps)

    def _settled(self, visit: Visit, plan: CachedPlan, ctx: VisitContext | None, steps: Steps | None) -> Decision:
        """``settle`` once the visit's plan is known (and its context, if it was built on the way)."""
        if ctx is None and (plan.line_tests or plan.categories is not None):  # else no rule reads it
            ctx = VisitContext.of(visit, self.registry)
        lines, totals = self.settler.settle(visit, ctx, plan, self._unknown_item if self.strict else None, steps)
        return Decision(visit.visit_id, self.policy.fingerprint, lines, plan.priorities, plan.services,
                        plan.entitlements, totals)

    def _unknown_item(self, visit: Visit, line: ChargeLine) -> UnknownItemError:
        return UnknownItemError(
            Text(f"收费明细 {line.line_id!r} 的项目类别 {line.item!r} 未知（严格模式）",
                 f"unknown item kind {line.item!r} (strict mode) on line_id {line.line_id!r}"),
            record=visit.visit_id, field=f"lines[{visit.lines.index(line)}].item", value=line.item)

    def explain(self, visit: Visit) -> Explanation:
        """The decision with every rule considered and why it applied or not (the slow path)."""
        return explain(self, visit)

    def _visit_plan(self, visit: Visit) -> tuple[CachedPlan, VisitContext | None]:
        """The visit's plan, and its context if it was built on the way (``None``: the plan was
        known from the visit's signature)."""
        signed = self._signed
        if signed is None:
            ctx = VisitContext.of(visit, self.registry)
            return self._plan(ctx), ctx
        key = self._signature(visit)
        plan = signed.get(key)
        if plan is not None:
            return plan, None
        ctx = VisitContext.of(visit, self.registry)  # which refuses unknown categories and credentials
        plan = self._plan(ctx)
        if len(signed) >= PLAN_CACHE_SIZE:
            signed.clear()
        signed[key] = plan
        return plan, ctx

    def signature(self, visit: Visit) -> tuple[object, ...] | None:
        """Every fact of a visit that decides which rules are eligible for it (``_signature``), or
        ``None`` when a plugin's condition may read any other part of it."""
        return self._signature(visit) if self._signed is not None else None

    def _signature(self, visit: Visit) -> tuple[object, ...]:
        """Every fact of a visit the built-in conditions, the dates and the regions of rules read
        (``VisitContext``): visits alike in these have the same eligible rules."""
        patient = visit.patient
        day = visit.date
        credentials = patient.credentials
        if not credentials:
            held: tuple[object, ...] = ()
        elif len(credentials) == 1:  # the usual patient with a card: no list built
            held = (credentials[0].kind, credentials[0].valid_on(day))
        else:
            held = tuple([(credential.kind, credential.valid_on(day)) for credential in credentials])
        return (visit.region, day, visit.kind, patient.categories, patient.disability_level, patient.disability_cause,
                held, visit_age(patient, day) if self._ages else None)

    def _plan(self, ctx: VisitContext) -> CachedPlan:
        """The plan for this visit's eligible rules, built once per distinct eligible set."""
        eligible = self.compiled.eligible(ctx)
        key = tuple(rule.order for rule in eligible)
        plan = self._plans.get(key)
        if plan is None:
            if len(self._plans) >= PLAN_CACHE_SIZE:
                self._plans.clear()
            plan = self._plans[key] = CachedPlan.of(VisitPlan.of(eligible), self.registry,
                                                    item_rules_first=self.policy.item_rules_first)
        return plan
