"""Compile a ``PolicySet`` once into rules indexed by item kind and by eligibility token."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import ROUND_CEILING, Decimal, localcontext
from operator import attrgetter
from typing import TYPE_CHECKING, Any, NamedTuple

import attrs

from shuangyong.dates import DateWindow
from shuangyong.engine.predicates import AllOf, Predicate, compile_when, conjuncts, index_tokens, visit_facts
from shuangyong.errors import PolicyError
from shuangyong.money import FEN, ZERO, round_yuan
from shuangyong.text import Text

if TYPE_CHECKING:
    from shuangyong.engine.context import VisitContext
    from shuangyong.model.visit import ChargeLine
    from shuangyong.policy.layers import PolicySet, Rule
    from shuangyong.policy.schema import Benefit, Tier

Reducer = Callable[[Decimal], Decimal]


def _tiered(tiers: tuple[Tier, ...]) -> Reducer:
    """Progressive bands: each band's part of the base at its rate, rounded once at the end."""
    bands = []
    lower = ZERO
    for tier in tiers:
        bands.append((lower, tier.up_to, tier.rate))
        lower = tier.up_to if tier.up_to is not None else lower

    def reduce(base: Decimal) -> Decimal:
        total = ZERO
        for low, high, rate in bands:
            if base <= low:
                break
            total += ((base if high is None or base < high else high) - low) * rate
        return round_yuan(total)

    return reduce


def make_reducer(benefit: Benefit, per_line_cap: Decimal | None) -> Reducer:
    """The reduction a benefit takes off its base (what is left of a line, or of a part of it),
    before any per-visit cap."""
    rate = benefit.rate
    if benefit.fixed is not None:
        fixed = benefit.fixed
        if per_line_cap is not None:
            fixed = min(fixed, per_line_cap)
        return lambda remaining: fixed if fixed < remaining else remaining
    if benefit.patient_pays_at_most is not None:
        most = benefit.patient_pays_at_most
        reducer: Reducer = lambda base: base - most if base > most else ZERO  # noqa: E731
    elif benefit.tiers is not None:
        reducer = _tiered(benefit.tiers)
    elif rate is None or rate == 1:  # waive, waive_deposit, "100%"
        reducer = lambda remaining: remaining  # noqa: E731
    else:
        reducer = lambda remaining: round_yuan(remaining * rate)  # noqa: E731
    if per_line_cap is None:
        return reducer
    cap = per_line_cap
    return lambda remaining: min(reducer(remaining), cap)


@attrs.frozen(slots=True, repr=False)
class CompiledRule:
    """A rule ready to run: its visit-level test, its line-level test and its reducer.

    ``stage`` is (rank of its payer in the waterfall, rank of its group): rules apply stage by
    stage; without settlement every rule's payer is the hospital, so stages are groups."""

    rule: Rule
    rule_id: str
    clause: str
    order: int
    group: int
    stage: tuple[int, int]
    effective: DateWindow
    condition: Predicate | None  #: the whole ``when``, for explanations
    visit_test: Predicate | None
    line_test: Predicate | None
    reduce: Reducer | None
    per_visit_cap: Decimal | None
    tokens: frozenset[str] | None
    #: the settlement keys (docs/settlement.md), copied from the spec for the settlement path
    payer: str
    base: str
    visit_scope: bool
    skip_without_insurance: bool
    #: the rule's title, as ``explain`` quotes it
    title: Text

    def in_force(self, ctx: VisitContext) -> bool:
        """Whether the visit's date lies in the rule's effective window."""
        return self.effective.contains(ctx.visit.date)

    def in_region(self, ctx: VisitContext) -> bool:
        """Whether the visit's region lies in the rule's pack region."""
        return ctx.visit.region.startswith(self.rule.region)

    def __repr__(self) -> str:
        return f"<rule {self.rule_id} {self.visit_test!r} {self.line_test!r}>"


def _split(predicate: Predicate | None) -> tuple[Predicate | None, Predicate | None]:
    """Separate the parts decided once per visit from those that look at each line."""
    if predicate is None:
        return None, None
    visit_parts = [p for p in conjuncts(predicate) if not p.LINE_LEVEL]
    line_parts = [p for p in conjuncts(predicate) if p.LINE_LEVEL]

    def join(parts: list[Predicate]) -> Predicate | None:
        return None if not parts else parts[0] if len(parts) == 1 else AllOf(tuple(parts))

    return join(visit_parts), join(line_parts)


def _check_scopes(rules: list[CompiledRule]) -> None:
    """A stage (payer and group) is all visit scope or all line scope: the best of a group is
    chosen per line among line rules, per visit among visit rules, and the two cannot be weighed."""
    first: dict[tuple[int, int], CompiledRule] = {}
    for rule in rules:
        if rule.reduce is None:
            continue
        other = first.setdefault(rule.stage, rule)
        if other.visit_scope != rule.visit_scope:
            visit, line = (other, rule) if other.visit_scope else (rule, other)
            spec = rule.rule.spec
            raise PolicyError(Text(
                f"规则 {visit.rule_id}（scope: visit）与 {line.rule_id}（scope: line）同属付款方 {spec.payer} 的"
                f"同一叠加组 {spec.group}；请把 scope: visit 的规则放进自己的组",
                f"rule {visit.rule_id} (scope: visit) and {line.rule_id} (scope: line) share payer "
                f"{spec.payer}'s stacking group {spec.group}; give the scope: visit rule a group of its own"),
                record=rule.rule.where, field="scope")


CANDIDATE_CACHE_SIZE = 4096
IndexKey = tuple[str, str | None]  #: (region prefix, eligibility token or None)
Plan = tuple[tuple[CompiledRule, ...], ...]  #: candidate rules for one item kind, by group
Names = Callable[[CompiledRule], tuple[str, ...]]  #: the names a rule is filed under
_ITEMS: Names = attrgetter("rule.spec.items")
_FEE_CATEGORIES: Names = attrgetter("rule.spec.fee_categories")


def _filed(rules: Iterable[CompiledRule], names: Names) -> dict[str, tuple[CompiledRule, ...]]:
    """``rules`` filed under each name ``names`` gives a rule, in rule order."""
    filed: dict[str, list[CompiledRule]] = {}
    for rule in rules:
        for name in names(rule):
            filed.setdefault(name, []).append(rule)
    return {name: tuple(found) for name, found in filed.items()}


def _plans(eligible: tuple[CompiledRule, ...], names: Names) -> dict[str, Plan]:
    """``eligible`` filed under each name ``names`` gives a rule, by stage (payer, then group)."""
    plans: dict[str, Plan] = {}
    for name, rules in _filed(eligible, names).items():
        stages: dict[tuple[int, int], list[CompiledRule]] = {}
        for rule in rules:
            stages.setdefault(rule.stage, []).append(rule)
        plans[name] = tuple(tuple(stages[stage]) for stage in sorted(stages))
    return plans


#: what a benefit takes off an amount on the fen grid, for comparing rules at plan time:
#: ``("rate", r, cap)``, ``min(round_yuan(x × r), cap)`` (``r`` = 1: ``min(x, cap)``), or
#: ``("fixed", f, None)``, ``min(f, x)`` (its per-line cap already in ``f``); ``None``: another shape
Shape = tuple[str, Decimal, Decimal | None] | None


def _shape(rule: CompiledRule) -> Shape:
    """The shape of the rule's reducer (as :func:`make_reducer` builds it)."""
    benefit = rule.rule.spec.benefit
    if benefit is None or benefit.patient_pays_at_most is not None or benefit.tiers is not None:
        return None
    caps = rule.rule.spec.caps
    cap = caps.per_line if caps else None
    if benefit.fixed is not None:
        return "fixed", benefit.fixed if cap is None else min(benefit.fixed, cap), None
    rate = benefit.rate
    return "rate", Decimal(1) if rate is None else rate, cap


def _covers(first: Shape, other: Shape) -> bool:
    """Whether ``first`` takes at least what ``other`` takes off every amount on the fen grid
    (amounts, and what is left of them, are in whole fen; ``round_yuan(x × r) ≤ x`` for r ≤ 1)."""
    if first is None or other is None:
        return False
    kind, value, cap = first
    other_kind, other_value, other_cap = other
    if kind == "rate" and other_kind == "rate":
        return value >= other_value and (cap is None or (other_cap is not None and other_cap <= cap))
    if kind == "fixed" and other_kind == "fixed":
        return value >= other_value
    if kind == "rate":  # min(x, cap) against min(f, x)
        return value == 1 and (cap is None or cap >= other_value)
    return other_cap is not None and other_cap <= value  # min(f, x) against min(round_yuan(x × r), cap ≤ f)


class LineGroup(NamedTuple):
    """A stacking group as the fast loop runs it on a line (``Engine.evaluate``).

    ``rules`` are the group's rules less those that can never win on any line: a rule is left
    out when an earlier one that needs nothing of the line (no line condition, no per-visit cap)
    takes at least as much off every amount, since the earlier rule wins ties. When ``winner``
    is set, it wins the group on every line whose amount left is at least ``threshold`` (always,
    when ``threshold`` is ``None``), if it takes anything: then ``rules`` need not be tried."""

    rules: tuple[CompiledRule, ...]
    winner: CompiledRule | None
    threshold: Decimal | None


def best_in_group(rules: tuple[CompiledRule, ...], ctx: VisitContext | None, line: ChargeLine, amount: Decimal,
                  cap_left: dict[int, Decimal], left: Decimal | None = None) -> tuple[CompiledRule | None, Decimal]:
    """The rule of a stacking group that takes most off ``amount`` on ``line`` (the earlier on a
    tie), and what it takes: its line test holding, within what is left of its per-visit cap
    (``cap_left``, off which the winner's take then comes) and, if given, within ``left``, what the
    patient still owes (the settlement path). ``(None, 0)`` when none takes anything. The loops
    call it where no winner is known at plan time (:class:`LineGroup`)."""
    best: CompiledRule | None = None
    best_reduction = ZERO
    for rule in rules:
        if rule.line_test is not None and not rule.line_test(ctx, line):  # type: ignore[arg-type]
            continue
        reduction = rule.reduce(amount)  # type: ignore[misc]
        if rule.per_visit_cap is not None:
            reduction = min(reduction, cap_left.get(rule.order, rule.per_visit_cap))
        if left is not None and reduction > left:
            reduction = left
        if reduction > best_reduction:
            best, best_reduction = rule, reduction
    if best is not None and best.per_visit_cap is not None:
        cap_left[best.order] = cap_left.get(best.order, best.per_visit_cap) - best_reduction
    return best, best_reduction


def line_groups(plan: Plan) -> tuple[LineGroup, ...]:
    """Each group of ``plan`` with its rules that can win, and its winner where it is known at
    plan time (:class:`LineGroup`)."""
    return tuple(_line_group(group) for group in plan)


def _line_group(group: tuple[CompiledRule, ...]) -> LineGroup:
    kept: list[tuple[CompiledRule, Shape]] = []
    for rule in group:
        shape = _shape(rule)
        if not any(other.line_test is None and other.per_visit_cap is None and _covers(other_shape, shape)
                   for other, other_shape in kept):
            kept.append((rule, shape))
    rules = tuple(rule for rule, _ in kept)
    if any(rule.line_test is not None or rule.per_visit_cap is not None for rule in rules):
        return LineGroup(rules, None, None)
    if len(rules) == 1:
        return LineGroup(rules, rules[0], None)
    shapes = [shape for _, shape in kept]
    if any(shape is None or shape[0] != "rate" or shape[2] is not None for shape in shapes):
        return LineGroup(rules, None, None)
    # Plain rates, each kept one higher than every earlier one. Once x × (r_last − r) ≥ 0.01 for
    # every earlier r, the last one takes at least a fen more than any other: it wins.
    gap = shapes[-1][1] - shapes[-2][1]  # type: ignore[index]
    with localcontext() as context:
        context.rounding = ROUND_CEILING
        threshold = (FEN / gap).quantize(FEN)
    return LineGroup(rules, rules[-1], threshold)


@attrs.frozen(slots=True)
class VisitPlan:
    """What a set of eligible rules grants: per item kind, and per fee category, the rules by
    stacking group; and the visit-level entitlements. Shared by every visit whose eligible set is
    the same."""

    by_item: dict[str, Plan]
    grants: tuple[CompiledRule, ...]
    #: the rules naming fee categories (``fee_categories``): only the settlement path reads them
    by_category: dict[str, Plan] = attrs.field(factory=dict)

    @classmethod
    def of(cls, eligible: tuple[CompiledRule, ...]) -> VisitPlan:
        """Group ``eligible`` by item kind, and by fee category, and by stage (payer, then
        stacking group); keep the ones granting to the visit."""
        grants = tuple(r for r in eligible if r.rule.spec.priorities or r.rule.spec.services)
        return cls(_plans(eligible, _ITEMS), grants, _plans(eligible, _FEE_CATEGORIES))


@attrs.frozen(slots=True)
class CompiledPolicy:
    """Rules filed by (region prefix, eligibility token): a visit looks only under its own
    region's prefixes and its own categories and credentials, so cost does not grow with the
    rules written for other places or other people."""

    policy: PolicySet
    rules: tuple[CompiledRule, ...]
    index: dict[IndexKey, tuple[CompiledRule, ...]]
    #: some rule needs the settlement path (``PolicySet.settles``), for every visit
    settles: bool
    #: every rule that names an item kind, eligible or not: what ``explain`` goes through
    concerning: dict[str, tuple[CompiledRule, ...]]
    #: every rule that names a fee category, likewise
    concerning_category: dict[str, tuple[CompiledRule, ...]]
    #: what of a visit the rules' visit-level conditions read (``predicates.visit_facts``), or
    #: ``None`` when one of them is a plugin's: then the facts do not tell which rules are eligible
    facts: frozenset[str] | None = None
    _candidates: dict[tuple[str, frozenset[str]], tuple[CompiledRule, ...]] = attrs.field(
        factory=dict, eq=False, repr=False)

    @classmethod
    def compile(cls, policy: PolicySet,
                custom: Mapping[str, Callable[[Any], Predicate]] | None = None) -> CompiledPolicy:
        """Compile every rule of ``policy``; ``custom`` holds the conditions plugins registered."""
        group_rank = {group: n for n, group in enumerate(policy.groups)}
        payer_rank = {payer: n for n, payer in enumerate(policy.payers)}
        compiled = []
        for order, rule in enumerate(policy.rules):
            spec = rule.spec
            predicate = compile_when(spec.when, custom) if spec.when is not None else None
            visit_test, line_test = _split(predicate)
            if line_test is not None and (spec.priorities or spec.services):
                # a tag belongs to a line, a priority to the whole visit: which line would decide?
                raise PolicyError(Text(f"规则 {spec.id} 按收费明细标签判断，不能同时授予就诊级待遇（优先、服务）；"
                                       "请拆成两条规则",
                                       f"rule {spec.id} tests charge-line tags, so it cannot also grant "
                                       "visit-level priorities or services; split it into two rules"),
                                  record=rule.where, field="when.tags")
            caps = spec.caps
            reduce = (make_reducer(spec.benefit, caps.per_line if caps else None)
                      if spec.benefit is not None else None)
            compiled.append(CompiledRule(
                rule, spec.id, spec.clause, order, group_rank[spec.group],
                (payer_rank[spec.payer], group_rank[spec.group]), DateWindow(spec.effective.from_, spec.effective.to),
                predicate, visit_test, line_test, reduce, caps.per_visit if caps else None,
                index_tokens(predicate) if predicate is not None else None,
                spec.payer, spec.base, spec.scope == "visit", spec.without_insurance == "skip",
                Text(spec.title.zh, spec.title.en)))
        _check_scopes(compiled)
        index: dict[IndexKey, list[CompiledRule]] = {}
        for compiled_rule in compiled:
            for token in compiled_rule.tokens or (None,):
                index.setdefault((compiled_rule.rule.region, token), []).append(compiled_rule)
        facts: frozenset[str] | None = frozenset()
        for compiled_rule in compiled:
            read = visit_facts(compiled_rule.visit_test) if compiled_rule.visit_test is not None else frozenset()
            facts = None if facts is None or read is None else facts | read
        return cls(policy, tuple(compiled), {key: tuple(rules) for key, rules in index.items()},
                   policy.settles, _filed(compiled, _ITEMS), _filed(compiled, _FEE_CATEGORIES), facts)

    def concerning_line(self, line: ChargeLine) -> tuple[CompiledRule, ...]:
        """Every rule that names the line's item kind or its fee category, in rule order."""
        by_item = self.concerning.get(line.item, ())
        if line.fee_category is None or line.fee_category not in self.concerning_category:
            return by_item
        both = {rule.order: rule for rule in (*by_item, *self.concerning_category[line.fee_category])}
        return tuple(rule for _, rule in sorted(both.items()))

    def candidates(self, region: str, tokens: frozenset[str]) -> tuple[CompiledRule, ...]:
        """Rules filed under the region's prefixes and the tokens (or no token), in rule order.

        Remembered per (region, tokens): a hospital sees few regions and few kinds of patient.
        """
        key = (region, tokens)
        found = self._candidates.get(key)
        if found is None:
            rules: dict[int, CompiledRule] = {}
            for prefix in ("", region[:2], region[:4], region):
                for token in (None, *tokens):
                    for rule in self.index.get((prefix, token), ()):
                        rules[rule.order] = rule
            if len(self._candidates) >= CANDIDATE_CACHE_SIZE:
                self._candidates.clear()
            found = self._candidates[key] = tuple(rule for _, rule in sorted(rules.items()))
        return found

    def eligible(self, ctx: VisitContext) -> tuple[CompiledRule, ...]:
        """Rules whose dates, region and visit-level conditions hold for this visit, in order."""
        return tuple(rule for rule in self.candidates(ctx.visit.region, ctx.tokens)
                     if rule.in_force(ctx) and (rule.visit_test is None or rule.visit_test(ctx, None)))
