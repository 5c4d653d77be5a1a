"""Settlement: who pays each fen of a charge line once 医保 has settled (docs/settlement.md).

``Engine.evaluate`` comes here instead of its fast loop when a visit carries insurance data, or
when the policy set uses a payer other than the hospital, a base other than the gross amount,
visit scope, or a benefit shape only this path computes (``patient_pays_at_most``, ``tiers``).
Without insurance data and with hospital, gross, line-scope rules only, the algorithm below is
the fast loop's, step for step.

The algorithm, for one visit:

1. Every line starts with ``insurance``, what the funds paid (0 without insurance data);
   ``left`` = amount − insurance, what the patient still owes; ``gross`` = the amount; and, with
   insurance data, two pots: the in-scope self-pay (preliminary + in_scope) and the out-of-scope
   self-pay (full + over_limit), which together are ``left``.
2. Stages run in order: the payers in waterfall order (``PolicySet.payers``), and within a payer
   the stacking groups in group order; every line goes through every stage, in canonical line
   order (``model.visit.line_order``).

   - A rule's base is ``gross`` (base ``gross``), ``left`` (``patient_share``), or what is left
     of the in-scope or the out-of-scope pot. A base other than gross on a visit without
     insurance data refuses the visit (``InputError`` naming visit and rule), or with
     ``without_insurance: skip`` the rule does not apply (and ``explain`` says why).
   - Line scope: each rule of the stage that holds for the line computes its benefit on its
     base, within its per-line cap, what is left of its per-visit cap, and ``left``. The largest
     reduction wins, the earlier rule on a tie; a reduction of nothing never wins.
   - Visit scope (a stage holds visit-scope rules only): each rule sums its base over the lines
     it covers (its items and line conditions), computes its benefit on the sum, within its
     per-visit cap and what those lines may still give (each line min(base, left)). The largest
     total wins, the earlier rule on a tie, and is shared back over those lines in whole fen by
     ``money.apportion``: in proportion to each line's base, never above what the line may give,
     remainders to the largest fractions, ties in canonical line order.
   - What a rule takes comes off ``gross`` and ``left``, and off the pots: a pot-based rule's
     off its own pot; a gross or patient-share rule's off the in-scope pot first, then the
     out-of-scope pot (which matters only to a later pot-based rule).
3. The patient pays what is ``left``. On every line and in the totals, insurance + every
   concession payer + the patient == the amount.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import NamedTuple

from shuangyong.engine.compiler import CompiledRule, Plan
from shuangyong.engine.context import VisitContext
from shuangyong.engine.decision import Applied, LineDecision, Totals
from shuangyong.errors import InputError
from shuangyong.model.registry import PATIENT, Registry
from shuangyong.model.visit import ChargeLine, Visit
from shuangyong.money import ZERO, apportion, from_fen, to_fen
from shuangyong.text import Text



class Step(NamedTuple):
    """What one rule did on one line, for ``explain``: ``outcome`` is applied, outdone,
    nothing_left or skipped; ``base_amount`` what its base was on this line (``None`` when
    skipped); ``reduction`` what it took, or would have taken; ``left`` what the patient still
    owed before the stage; ``visit`` (visit scope) the visit's sum of the bases and the total."""

    outcome: str
    base_amount: Decimal | None
    reduction: Decimal
    left: Decimal
    visit: tuple[Decimal, Decimal] | None = None


#: line id → rule order → what the rule did there
Steps = dict[str, dict[int, Step]]


class _Line:
    """One line's running figures while the stages go by."""

    __slots__ = ("applied", "first", "gross", "in_scope", "index", "insurance", "left", "line", "out_of_scope")

    def __init__(self, line: ChargeLine, index: int) -> None:
        self.line = line
        self.index = index  #: position in the visit as sent, for error fields
        self.gross = line.amount
        self.applied: list[Applied] = []
        self.first: CompiledRule | None = None  #: the first rule applied: the decision's rule and clause
        insurance = line.insurance
        if insurance is None:
            self.insurance = ZERO
            self.left = line.amount
            self.in_scope = self.out_of_scope = None
        else:
            self.insurance = insurance.fund_total
            self.left = line.amount - self.insurance
            self.in_scope = insurance.in_scope_self_pay
            self.out_of_scope = insurance.out_of_scope_self_pay

    def base(self, name: str) -> Decimal | None:
        """The amount a base stands for now; ``None``: not known without insurance data."""
        if name == "gross":
            return self.gross
        if self.in_scope is None:
            return None
        if name == "patient_share":
            return self.left
        return self.in_scope if name == "in_scope_self_pay" else self.out_of_scope

    def take(self, rule: CompiledRule, reduction: Decimal) -> None:
        self.applied.append(Applied(rule.rule_id, reduction, rule.payer, rule.base))
        self.first = self.first or rule
        self.gross -= reduction
        self.left -= reduction
        if self.in_scope is None or self.out_of_scope is None:
            return
        if rule.base == "out_of_scope_self_pay":
            self.out_of_scope -= reduction
        elif rule.base == "in_scope_self_pay" or reduction <= self.in_scope:
            self.in_scope -= reduction
        else:
            self.out_of_scope -= reduction - self.in_scope
            self.in_scope = ZERO


class Settler:
    """The settlement path of one engine: the payers' order and the funds' output order."""

    def __init__(self, payers: tuple[str, ...], registry: Registry) -> None:
        self.payers = payers
        self.registry = registry
        #: funds are listed in registry order, ids no registry knows after them as given
        self.fund_rank = {fund: n for n, fund in enumerate(registry.payer_ids("fund"))}
        #: ids a line's funds may not use: they name who bears concessions, or the patient
        self.not_funds = frozenset((PATIENT, *registry.payer_ids("subsidy")))

    def settle(self, visit: Visit, ctx: VisitContext, by_item: dict[str, Plan],
               unknown_item: Callable[[Visit, ChargeLine], Exception] | None,
               steps: Steps | None = None) -> tuple[tuple[LineDecision, ...], Totals]:
        """Every line's decision and the visit's totals; ``steps`` (if given) is filled in for
        ``explain``. ``unknown_item`` builds the error for an unknown item kind (strict mode)."""
        states = [_Line(line, index) for index, line in enumerate(visit.lines)]
        states.sort(key=lambda state: state.line.order)
        self._check_insurance(visit, states)
        stages: dict[tuple[int, int], list[tuple[_Line, tuple[CompiledRule, ...]]]] = {}
        for state in states:
            groups = by_item.get(state.line.item)
            if groups is None:
                if unknown_item is not None and state.line.item not in self.registry.items:
                    raise unknown_item(visit, state.line)
                continue
            for group in groups:
                stages.setdefault(group[0].stage, []).append((state, group))
        cap_left: dict[int, Decimal] = {}
        for stage in sorted(stages):
            entries = stages[stage]
            if entries[0][1][0].visit_scope:
                _visit_stage(visit, ctx, entries, steps)
            else:
                for state, group in entries:
                    _line_stage(visit, ctx, state, group, cap_left, steps)
        return self._decisions(states)

    def _check_insurance(self, visit: Visit, states: list[_Line]) -> None:
        """Insurance data on every line or on none, each line's parts adding up to its amount and
        none negative: what the contract checks, checked again for visits built in Python."""
        insured = [state for state in states if state.line.insurance is not None]
        if not insured or len(insured) == len(states):
            for state in insured:
                line, insurance = state.line, state.line.insurance
                assert insurance is not None
                field = f"lines[{state.index}].insurance"
                parts = (*(paid for _, paid in insurance.funds), insurance.preliminary, insurance.in_scope,
                         insurance.full, insurance.over_limit)
                for fund, _ in insurance.funds:
                    if fund in self.not_funds:
                        raise InputError(Text(f"收费明细 {line.line_id!r}：{fund!r} 是减免的付款方，不是医保基金",
                                              f"line {line.line_id!r}: {fund!r} bears concessions; it is not an "
                                              "insurance fund"), record=visit.visit_id, field=f"{field}.funds")
                if any(part < 0 for part in parts):
                    raise InputError(Text(f"收费明细 {line.line_id!r} 的医保结算含负数",
                                          f"line {line.line_id!r}: an insurance part is negative"),
                                     record=visit.visit_id, field=field)
                if insurance.total != line.amount:
                    raise InputError(Text(
                        f"收费明细 {line.line_id!r} 的医保结算各部分之和 {insurance.total} 不等于金额 {line.amount}",
                        f"line {line.line_id!r}: the insurance parts add up to {insurance.total}, "
                        f"not the amount {line.amount}"), record=visit.visit_id, field=field)
            return
        bare = next(state for state in states if state.line.insurance is None)
        raise InputError(Text(
            f"收费明细 {bare.line.line_id!r} 没有医保结算数据，而本次就诊的其他明细有；"
            "未经医保结算的明细请写 self_pay: {full: 金额}",
            f"line {bare.line.line_id!r} has no insurance data while other lines of the visit have; "
            "give self_pay: {full: AMOUNT} for a line insurance did not settle"),
            record=visit.visit_id, field=f"lines[{bare.index}].insurance")

    def _decisions(self, states: list[_Line]) -> tuple[tuple[LineDecision, ...], Totals]:
        decisions = []
        sums: dict[str, Decimal] = {}
        amount = reduction = payable = insurance = ZERO
        for state in states:
            line = state.line
            parts = self._parts(state)
            for payer, part in parts:
                sums[payer] = sums.get(payer, ZERO) + part
            first = state.first
            line_reduction = line.amount - state.insurance - state.left
            decisions.append(LineDecision(
                line.line_id, line.item, line.amount, line_reduction, state.left,
                first.rule_id if first else None, first.clause if first else None,
                tuple(state.applied), state.insurance, parts))
            amount += line.amount
            reduction += line_reduction
            payable += state.left
            insurance += state.insurance
        sums.pop(PATIENT, None)
        ordered = sorted(sums.items(), key=lambda item: self._rank(item[0]))
        totals = Totals(amount, reduction, payable, insurance, (*ordered, (PATIENT, payable)))
        return tuple(decisions), totals

    def _rank(self, payer: str) -> tuple[int, int]:
        """Output order: funds (registry order, then ids no registry knows), concession payers
        (waterfall order); ids no list knows sort by themselves after the known ones."""
        if payer in self.payers:
            return (2, self.payers.index(payer))
        return (0, self.fund_rank[payer]) if payer in self.fund_rank else (1, 0)

    def _parts(self, state: _Line) -> tuple[tuple[str, Decimal], ...]:
        parts: dict[str, Decimal] = {}
        insurance = state.line.insurance
        for fund, paid in insurance.funds if insurance is not None else ():
            if paid:
                parts[fund] = parts.get(fund, ZERO) + paid
        for applied in state.applied:
            parts[applied.payer] = parts.get(applied.payer, ZERO) + applied.reduction
        ordered = sorted(parts.items(), key=lambda item: self._rank(item[0]))
        return (*ordered, (PATIENT, state.left))


def _missing_insurance(visit: Visit, state: _Line, rule: CompiledRule) -> InputError:
    return InputError(Text(
        f"规则 {rule.rule_id} 按 {rule.base} 计算，但本次就诊没有医保结算数据；"
        "请随就诊送来 insurance，或在规则中写 without_insurance: skip",
        f"rule {rule.rule_id} is computed on {rule.base}, but the visit has no insurance data; "
        "send the visit's insurance, or write without_insurance: skip in the rule"),
        record=visit.visit_id, field=f"lines[{state.index}].insurance")


def _line_stage(visit: Visit, ctx: VisitContext, state: _Line, group: tuple[CompiledRule, ...],
                cap_left: dict[int, Decimal], steps: Steps | None) -> None:
    """The best of a stage's line-scope rules on one line."""
    line = state.line
    best: CompiledRule | None = None
    best_reduction = ZERO
    tried: list[tuple[CompiledRule, Decimal | None, Decimal]] = []
    for rule in group:
        if rule.line_test is not None and not rule.line_test(ctx, line):
            continue
        base = state.base(rule.base)
        if base is None:
            if rule.rule.spec.without_insurance != "skip":
                raise _missing_insurance(visit, state, rule)
            tried.append((rule, None, ZERO))
            continue
        reduction = rule.reduce(base)  # type: ignore[misc]
        if rule.per_visit_cap is not None:
            reduction = min(reduction, cap_left.get(rule.order, rule.per_visit_cap))
        if reduction > state.left:
            reduction = state.left
        tried.append((rule, base, reduction))
        if reduction > best_reduction:
            best, best_reduction = rule, reduction
    left = state.left
    if best is not None:
        state.take(best, best_reduction)
        if best.per_visit_cap is not None:
            cap_left[best.order] = cap_left.get(best.order, best.per_visit_cap) - best_reduction
    if steps is not None:
        record = steps.setdefault(line.line_id, {})
        for rule, base, reduction in tried:
            record[rule.order] = Step(_outcome(rule, base, best), base, reduction, left)


def _outcome(rule: CompiledRule, base: Decimal | None, best: CompiledRule | None) -> str:
    if base is None:
        return "skipped"
    if best is None:
        return "nothing_left"
    return "applied" if rule is best else "outdone"


def _visit_stage(visit: Visit, ctx: VisitContext, entries: list[tuple[_Line, tuple[CompiledRule, ...]]],
                 steps: Steps | None) -> None:
    """The best of a stage's visit-scope rules, on the sum of its lines' bases, shared back."""
    rules = {rule.order: rule for _, group in entries for rule in group}
    best: tuple[CompiledRule, list[_Line], list[Decimal]] | None = None
    best_total = ZERO
    tried: list[tuple[CompiledRule, list[_Line], list[Decimal], Decimal, Decimal]] = []
    for _, rule in sorted(rules.items()):
        covered = [state for state, group in entries
                   if rule in group and (rule.line_test is None or rule.line_test(ctx, state.line))]
        if not covered:
            continue
        bases = [state.base(rule.base) for state in covered]
        if bases[0] is None:  # no insurance data: none of the visit's lines has any
            if rule.rule.spec.without_insurance != "skip":
                raise _missing_insurance(visit, covered[0], rule)
            tried.append((rule, covered, bases, ZERO, ZERO))
            continue
        known = [base for base in bases if base is not None]
        summed = sum(known, ZERO)
        total = rule.reduce(summed)  # type: ignore[misc]
        if rule.per_visit_cap is not None:
            total = min(total, rule.per_visit_cap)
        total = min(total, sum((min(base, state.left) for base, state in zip(known, covered)), ZERO))
        tried.append((rule, covered, bases, summed, total))
        if total > best_total:
            best, best_total = (rule, covered, known), total
    shares: dict[int, Decimal] = {}
    if best is not None:
        rule, covered, known = best
        fen = apportion(to_fen(best_total), [to_fen(base) for base in known],
                        [to_fen(min(base, state.left)) for base, state in zip(known, covered)])
        for state, share in zip(covered, fen):
            shares[id(state)] = from_fen(share)
    lefts = {id(state): state.left for state, _ in entries}
    if best is not None:
        for state in best[1]:
            share = shares[id(state)]
            if share:
                state.take(best[0], share)
    if steps is None:
        return
    for rule, covered, bases, summed, total in tried:
        for state, base in zip(covered, bases):
            won = best is not None and rule is best[0]
            taken = shares.get(id(state), ZERO) if won else ZERO
            outcome = ("skipped" if base is None else "applied" if won and taken
                       else "outdone" if best is not None and not won else "nothing_left")
            steps.setdefault(state.line.line_id, {})[rule.order] = Step(
                outcome, base, taken if won else total, lefts[id(state)], (summed, total))
