"""Rules that name fee categories, on the settlement path (docs/settlement.md#fee-category-rules).

A rule's ``fee_categories`` (医保 收费项目类别, ``"05"`` 治疗费) make it concern every line whose
``fee_category`` is one of them, whatever the line's item kind. On a line, a rule is *item-level*
when it names the line's item kind, *category-level* when it reaches the line only through the
fee category. Public HIS discount tables hold both kinds of row and look the item's row up
first; a pack says so with ``settlement: {item_rules_first: true}``: on a line where an
item-level rule of a payer holds (eligible for the visit, its line conditions met, not skipped
for want of insurance data), that payer's category-level rules do not apply, in any of its
groups, whatever the item-level rule takes (a ``reduce: "0%"`` item rule keeps an item out of a
category discount). Without it, both kinds compete in their stacking groups alike.

Whether an item-level rule holds does not depend on any amount, so this is settled per line
before the stages run: the line's plan leaves the shut-out rules out, and ``explain`` is told why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from shuangyong.engine.settlement import Step
from shuangyong.money import ZERO

if TYPE_CHECKING:
    from shuangyong.engine.compiler import CompiledRule, Plan
    from shuangyong.engine.context import VisitContext
    from shuangyong.engine.settlement import Steps
    from shuangyong.model.visit import ChargeLine

MERGED_CACHE_SIZE = 1024  #: (item kind, fee category) pairs kept per plan; item kinds come from input
#: a payer's item-level rules on a line, and the orders of its category-level rules they shut out
Contest = tuple[tuple["CompiledRule", ...], frozenset[int]]


@attrs.frozen(slots=True)
class _Merged:
    """The rules of an item kind and a fee category together, and what item-first may shut out."""

    plan: Plan
    contested: tuple[Contest, ...]


def _merge(by_item: Plan | None, by_category: Plan, item: str, item_rules_first: bool) -> _Merged:
    """Both plans stage by stage, each stage in rule order, a rule naming both once; and, with
    ``item_rules_first``, per payer that has both kinds on this item, the contest between them."""
    stages: dict[tuple[int, int], dict[int, CompiledRule]] = {}
    for group in (*(by_item or ()), *by_category):
        stage = stages.setdefault(group[0].stage, {})
        for rule in group:
            stage[rule.order] = rule
    plan = tuple(tuple(rule for _, rule in sorted(stage.items())) for _, stage in sorted(stages.items()))
    if not (item_rules_first and by_item):
        return _Merged(plan, ())
    payers: dict[int, tuple[list[CompiledRule], set[int]]] = {}
    for group in by_category:
        for rule in group:
            if item not in rule.rule.spec.items:
                payers.setdefault(rule.stage[0], ([], set()))[1].add(rule.order)
    for group in by_item:
        for rule in group:
            if rule.stage[0] in payers:
                payers[rule.stage[0]][0].append(rule)
    return _Merged(plan, tuple((tuple(rules), frozenset(shut)) for rules, shut in payers.values() if rules))


def _holds(rule: CompiledRule, ctx: VisitContext, line: ChargeLine) -> bool:
    """Whether an (eligible) rule applies to the line: its line conditions hold, and it is not
    skipped for want of insurance data."""
    return ((rule.line_test is None or rule.line_test(ctx, line))
            and not (rule.skip_without_insurance and line.insurance is None))


@attrs.frozen(slots=True)
class CategoryPlan:
    """The eligible rules of a visit that name fee categories, by fee category and stage."""

    by_category: dict[str, Plan]
    item_rules_first: bool
    _merged: dict[tuple[str, str], _Merged] = attrs.field(factory=dict, eq=False, repr=False)

    def plan(self, ctx: VisitContext, line: ChargeLine, by_item: Plan | None, steps: Steps | None) -> Plan | None:
        """The rules for ``line``: ``by_item`` (its item kind's) with its fee category's merged
        in; with ``item_rules_first``, less the category-level rules of every payer one of whose
        item-level rules holds on the line (``steps``, if given, records each as ``item_first``)."""
        category = line.fee_category
        if category is None or category not in self.by_category:
            return by_item
        key = (line.item, category)
        merged = self._merged.get(key)
        if merged is None:
            if len(self._merged) >= MERGED_CACHE_SIZE:
                self._merged.clear()
            merged = self._merged[key] = _merge(by_item, self.by_category[category], line.item,
                                                self.item_rules_first)
        plan = merged.plan
        for item_rules, shut in merged.contested:
            first = next((rule for rule in item_rules if _holds(rule, ctx, line)), None)
            if first is None:
                continue
            plan = tuple(kept for group in plan if (kept := tuple(rule for rule in group if rule.order not in shut)))
            if steps is not None:
                record = steps.setdefault(line.line_id, {})
                for order in shut:
                    record[order] = Step("item_first", None, ZERO, ZERO, first.rule_id)
        return plan
