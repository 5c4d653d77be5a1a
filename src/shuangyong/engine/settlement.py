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
     :func:`apportion`: in proportion to each line's base, never above what the line may give,
     remainders to the largest fractions, ties in canonical line order.
   - What a rule takes comes off ``gross`` and ``left``, and off the pots: a pot-based rule's
     off its own pot; a gross or patient-share rule's off the in-scope pot first, then the
     out-of-scope pot (which matters only to a later pot-based rule).
3. The patient pays what is ``left``. On every line and in the totals, insurance + every
   concession payer + the patient == the amount.
"""

from __future__ import annotations

from decimal import Decimal
from operator import attrgetter
from typing import TYPE_CHECKING, NamedTuple

from shuangyong.engine.compiler import CompiledRule, Plan
from shuangyong.engine.decision import Applied, LineDecision, Totals
from shuangyong.errors import InputError
from shuangyong.model.insurance import SELF_PAY_PARTS
from shuangyong.model.registry import PATIENT, Registry
from shuangyong.model.spread import fund_order, largest_remainder
from shuangyong.money import ZERO, from_fen, to_fen
from shuangyong.text import Text

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from shuangyong.engine.context import VisitContext
    from shuangyong.engine.fee_category_rules import CategoryPlan
    from shuangyong.model.visit import ChargeLine, Visit



class Step(NamedTuple):
    """What one rule did on one line, for ``explain``: ``outcome`` is applied, outdone,
    nothing_left, skipped, or item_first (shut out by ``winner``, an item-level rule:
    engine/fee_category_rules.py); ``base_amount`` what its base was on this line (``None`` when
    skipped or shut out); ``reduction`` what it took; ``left`` what the patient still owed before the stage;
    ``winner`` the rule that won the stage (on this line, or over the visit); ``visit`` (visit
    scope) the visit's sum of the rule's base and what the rule computed on it."""

    outcome: str
    base_amount: Decimal | None
    reduction: Decimal
    left: Decimal
    winner: str | None
    visit: tuple[Decimal, Decimal] | None = None


#: line id → rule order → what the rule did there
Steps = dict[str, dict[int, Step]]
Funds = tuple[tuple[str, Decimal], ...]  #: (fund id, what it paid) pairs
_ORDER = attrgetter("order")


class _Figures:
    """The running figures of the lines some rule covers, while the stages go by: one list per
    figure, a position per line (canonical order). The pots are empty without insurance data."""

    __slots__ = ("applied", "first", "funds", "gross", "in_scope", "insurance", "insured", "left", "lines",
                 "out_of_scope")

    def __init__(self, insured: bool) -> None:
        self.insured = insured
        self.lines: list[ChargeLine] = []
        self.insurance: list[Decimal] = []
        self.funds: list[Funds] = []  #: the funds that paid part of each line, in output order
        self.gross: list[Decimal] = []
        self.left: list[Decimal] = []
        self.in_scope: list[Decimal] = []
        self.out_of_scope: list[Decimal] = []
        self.applied: list[list[Applied] | None] = []
        #: the first rule applied on each line: the decision's ``rule`` and ``clause``
        self.first: list[CompiledRule | None] = []

    def add(self, line: ChargeLine, paid: Decimal, left: Decimal, in_scope: Decimal, out_of_scope: Decimal,
            funds: Funds) -> int:
        self.lines.append(line)
        self.insurance.append(paid)
        self.funds.append(funds)
        self.gross.append(line.amount)
        self.left.append(left)
        self.in_scope.append(in_scope)
        self.out_of_scope.append(out_of_scope)
        self.applied.append(None)
        self.first.append(None)
        return len(self.lines) - 1

    def base(self, n: int, name: str) -> Decimal | None:
        """What a base stands for on line ``n`` now; ``None``: unknown without insurance data."""
        if name == "gross":
            return self.gross[n]
        if not self.insured:
            return None
        if name == "patient_share":
            return self.left[n]
        return self.in_scope[n] if name == "in_scope_self_pay" else self.out_of_scope[n]

    def take(self, n: int, rule: CompiledRule, reduction: Decimal) -> None:
        """Rule ``rule`` takes ``reduction`` off line ``n``: off gross, what is left, and a pot."""
        share = Applied(rule.rule_id, reduction, rule.payer, rule.base)
        applied = self.applied[n]
        if applied is None:
            self.applied[n] = [share]
            self.first[n] = rule
        else:
            applied.append(share)
        self.gross[n] -= reduction
        self.left[n] -= reduction
        if not self.insured:
            return
        in_scope, out_of_scope = self.in_scope, self.out_of_scope
        if rule.base == "out_of_scope_self_pay":
            out_of_scope[n] -= reduction
        elif rule.base == "in_scope_self_pay" or reduction <= in_scope[n]:
            in_scope[n] -= reduction
        else:  # gross or patient share: the in-scope pot first, then the out-of-scope pot
            out_of_scope[n] -= reduction - in_scope[n]
            in_scope[n] = ZERO


Stages = dict[tuple[int, int], list[tuple[int, tuple[CompiledRule, ...]]]]  #: stage → (line, its rules)


class Settler:
    """The settlement path of one engine: the payers' waterfall order and the output order."""

    def __init__(self, payers: tuple[str, ...], registry: Registry) -> None:
        self.registry = registry
        #: the concession payers' places in the output: after the funds, in waterfall order
        self.waterfall = {payer: (1, n, "") for n, payer in enumerate(payers)}
        #: ids a line's funds may not use: they name who bears concessions, or the patient
        self.not_funds = frozenset((PATIENT, *registry.payer_ids("subsidy")))

    def settle(self, visit: Visit, ctx: VisitContext, by_item: dict[str, Plan],
               unknown_item: Callable[[Visit, ChargeLine], Exception] | None,
               steps: Steps | None = None, categories: CategoryPlan | None = None,
               ) -> tuple[tuple[LineDecision, ...], Totals]:
        """Every line's decision and the visit's totals; ``steps`` (if given) is filled in for
        ``explain``. ``unknown_item`` builds the error for an unknown item kind (strict mode).
        ``categories``: the rules naming fee categories, merged into each line's rules
        (engine/fee_category_rules.py).

        A line no rule covers is decided at once; the others go through the stages together."""
        lines = sorted(visit.lines, key=_ORDER)
        insured = bool(lines) and lines[0].insurance is not None
        figures = _Figures(insured)
        decided: list[LineDecision | None] = []
        waiting: list[tuple[int, int]] = []  #: (place in ``decided``, position in ``figures``)
        stages: Stages = {}
        sums: dict[str, Decimal] = {}  #: every payer's part of the visit but the patient's
        paid = in_scope = out_of_scope = ZERO
        funds: Funds = ()
        for line in lines:
            if insured:
                paid, in_scope, out_of_scope, funds = self._settled(visit, line)
                left = line.amount - paid
            elif line.insurance is not None:
                raise _mixed(visit, lines[0])
            else:
                left = line.amount
            groups = by_item.get(line.item)
            if groups is None and unknown_item is not None and line.item not in self.registry.items:
                raise unknown_item(visit, line)
            if categories is not None:
                groups = categories.plan(ctx, line, groups, steps)
            if groups is None:  # no rule covers the line: what the funds paid, and the patient the rest
                parts = self._funds(funds, sums) if insured else []
                parts.append((PATIENT, left))
                decided.append(LineDecision(line.line_id, line.item, line.amount, ZERO, left, None, None, (),
                                            paid, tuple(parts)))
                continue
            n = figures.add(line, paid, left, in_scope, out_of_scope, funds)
            waiting.append((len(decided), n))
            decided.append(None)
            for group in groups:
                stage = group[0].stage
                if stage in stages:
                    stages[stage].append((n, group))
                else:
                    stages[stage] = [(n, group)]
        cap_left: dict[int, Decimal] = {}
        for stage in sorted(stages):
            entries = stages[stage]
            if entries[0][1][0].visit_scope:
                _visit_stage(visit, ctx, figures, entries, steps)
            else:
                for n, group in entries:
                    _line_stage(visit, ctx, figures, n, group, cap_left, steps)
        for place, n in waiting:
            decided[place] = self._decision(figures.lines[n], figures.insurance[n], figures.funds[n],
                                            figures.left[n], figures.applied[n], figures.first[n], sums)
        decisions: tuple[LineDecision, ...] = tuple(decided)  # type: ignore[arg-type]
        amount = sum([line.amount for line in lines], ZERO)
        payable = sum([decision.payable for decision in decisions], ZERO)
        insurance = sum([decision.insurance for decision in decisions], ZERO) if insured else ZERO
        ordered = sorted(sums.items(), key=self._rank) if len(sums) > 1 else list(sums.items())
        return decisions, Totals(amount, amount - insurance - payable, payable, insurance,
                                 (*ordered, (PATIENT, payable)))

    def _settled(self, visit: Visit, line: ChargeLine) -> tuple[Decimal, Decimal, Decimal, Funds]:
        """What the funds paid, the in-scope and the out-of-scope self-pay of a line of an insured
        visit, and the funds that paid anything; once checked: there, no part below 0, funds that
        are funds, the parts adding up to the amount. The contract checks the same
        (docs/json-contract.md); a visit built in Python is checked here, so that the payers
        always add up."""
        insurance = line.insurance
        if insurance is None:
            raise _mixed(visit, line)
        paid = ZERO
        for fund, amount in insurance.funds:
            if amount.is_signed() or fund in self.not_funds:  # is_signed: -0.00 too, let through there
                _check_fund(visit, line, fund, amount, self.not_funds)
            paid += amount
        preliminary, scope, full, over = insurance.preliminary, insurance.in_scope, insurance.full, insurance.over_limit
        if preliminary.is_signed() or scope.is_signed() or full.is_signed() or over.is_signed():
            _check_self_pay(visit, line)
        in_scope, out_of_scope = preliminary + scope, full + over
        if paid + in_scope + out_of_scope != line.amount:
            raise InputError(Text(
                f"收费明细 {line.line_id!r} 的医保结算各部分之和 {insurance.total} 不等于金额 {line.amount}",
                f"line {line.line_id!r}: the insurance parts add up to {insurance.total}, not the amount "
                f"{line.amount}"), record=visit.visit_id, field=_field(visit, line))
        funds = insurance.funds
        if len(funds) > 1 or not paid:  # one fund that paid something is the usual line: as it is
            funds = tuple(sorted((fund for fund in funds if fund[1]), key=self._rank))
        return paid, in_scope, out_of_scope, funds

    def _decision(self, line: ChargeLine, paid: Decimal, funds: Funds, left: Decimal,
                  applied: list[Applied] | None, first: CompiledRule | None, sums: dict[str, Decimal]) -> LineDecision:
        """The decision of a line some rule covers, with every payer's part (added to ``sums``)."""
        parts = self._funds(funds, sums)
        reduction = ZERO
        if applied:
            concessions: dict[str, Decimal] = {}  # stage by stage: the payers in waterfall order
            for share in applied:
                reduction += share.reduction
                concessions[share.payer] = concessions.get(share.payer, ZERO) + share.reduction
            for payer, part in concessions.items():
                sums[payer] = sums[payer] + part if payer in sums else part
                parts.append((payer, part))
        parts.append((PATIENT, left))
        return LineDecision(line.line_id, line.item, line.amount, reduction, left,
                            first.rule_id if first else None, first.clause if first else None,
                            tuple(applied) if applied else (), paid, tuple(parts))

    @staticmethod
    def _funds(funds: Funds, sums: dict[str, Decimal]) -> list[tuple[str, Decimal]]:
        """The parts of the funds that paid a line (``_settled``), added to ``sums``."""
        for payer, part in funds:
            sums[payer] = sums[payer] + part if payer in sums else part
        return list(funds)

    def _rank(self, part: tuple[str, Decimal]) -> tuple[int, int, str]:
        """Output order: the funds as the contract orders them (``model.spread.fund_order``), then
        the concession payers in waterfall order."""
        return self.waterfall.get(part[0]) or (0, *fund_order(part[0]))


def _field(visit: Visit, line: ChargeLine, rest: str = "") -> str:
    """``lines[N].insurance…`` of a line, N its position in the visit as sent."""
    return f"lines[{visit.lines.index(line)}].insurance{rest}"


def _mixed(visit: Visit, bare: ChargeLine) -> InputError:
    return InputError(Text(
        f"收费明细 {bare.line_id!r} 没有医保结算数据，而本次就诊的其他明细有；"
        "未经医保结算的明细请写 self_pay: {full: 金额}",
        f"line {bare.line_id!r} has no insurance data while other lines of the visit have; "
        "give self_pay: {full: AMOUNT} for a line insurance did not settle"),
        record=visit.visit_id, field=_field(visit, bare))


def _check_fund(visit: Visit, line: ChargeLine, fund: str, amount: Decimal, not_funds: frozenset[str]) -> None:
    field = _field(visit, line, f".funds.{fund}")
    if fund in not_funds:
        raise InputError(Text(f"收费明细 {line.line_id!r}：{fund!r} 不是医保基金（它是减免的付款方或患者）",
                              f"line {line.line_id!r}: {fund!r} is not an insurance fund (it bears concessions, "
                              "or is the patient)"), record=visit.visit_id, field=field, value=fund)
    if amount < ZERO:
        raise _negative(visit, line, field, amount)


def _check_self_pay(visit: Visit, line: ChargeLine) -> None:
    for part in SELF_PAY_PARTS:
        amount = getattr(line.insurance, part)
        if amount < ZERO:
            raise _negative(visit, line, _field(visit, line, f".self_pay.{part}"), amount)


def _negative(visit: Visit, line: ChargeLine, field: str, amount: Decimal) -> InputError:
    return InputError(Text(f"收费明细 {line.line_id!r} 的医保结算金额 {amount} 为负数",
                           f"line {line.line_id!r}: insurance amount {amount} is negative"),
                      record=visit.visit_id, field=field, value=str(amount))


def _missing_insurance(visit: Visit, line: ChargeLine, rule: CompiledRule) -> InputError:
    return InputError(Text(
        f"规则 {rule.rule_id} 按 {rule.base} 计算，但本次就诊没有医保结算数据；"
        "请随就诊送来 insurance，或在规则中写 without_insurance: skip",
        f"rule {rule.rule_id} is computed on {rule.base}, but the visit has no insurance data; "
        "send the visit's insurance, or write without_insurance: skip in the rule"),
        record=visit.visit_id, field=_field(visit, line))


def _line_stage(visit: Visit, ctx: VisitContext, figures: _Figures, n: int, group: tuple[CompiledRule, ...],
                cap_left: dict[int, Decimal], steps: Steps | None) -> None:
    """The best of a stage's line-scope rules on line ``n``."""
    line = figures.lines[n]
    left = figures.left[n]
    best: CompiledRule | None = None
    best_reduction = ZERO
    tried: list[tuple[CompiledRule, Decimal | None, Decimal]] | None = [] if steps is not None else None
    for rule in group:
        if rule.line_test is not None and not rule.line_test(ctx, line):
            continue
        base = figures.gross[n] if rule.base == "gross" else figures.base(n, rule.base)
        if base is None:
            if not rule.skip_without_insurance:
                raise _missing_insurance(visit, line, rule)
            if tried is not None:
                tried.append((rule, None, ZERO))
            continue
        reduction = rule.reduce(base)  # type: ignore[misc]
        if rule.per_visit_cap is not None:
            reduction = min(reduction, cap_left.get(rule.order, rule.per_visit_cap))
        if reduction > left:
            reduction = left
        if tried is not None:
            tried.append((rule, base, reduction))
        if reduction > best_reduction:
            best, best_reduction = rule, reduction
    if best is not None:
        figures.take(n, best, best_reduction)
        if best.per_visit_cap is not None:
            cap_left[best.order] = cap_left.get(best.order, best.per_visit_cap) - best_reduction
    if steps is not None and tried:
        record = steps.setdefault(line.line_id, {})
        winner = best.rule_id if best is not None else None
        for rule, base, reduction in tried:
            record[rule.order] = Step(_outcome(rule, base, best), base, reduction if rule is best else ZERO, left,
                                      winner)


def _outcome(rule: CompiledRule, base: Decimal | None, best: CompiledRule | None) -> str:
    if base is None:
        return "skipped"
    if best is None:
        return "nothing_left"
    return "applied" if rule is best else "outdone"


class _VisitTry(NamedTuple):
    """A visit-scope rule computed on the lines it covers (positions): their bases (empty:
    skipped), the bases' sum, and what the rule takes of it."""

    rule: CompiledRule
    lines: list[int]
    bases: tuple[Decimal, ...]
    summed: Decimal
    total: Decimal


def _visit_stage(visit: Visit, ctx: VisitContext, figures: _Figures,
                 entries: list[tuple[int, tuple[CompiledRule, ...]]], steps: Steps | None) -> None:
    """The best of a stage's visit-scope rules, on the sum of its lines' bases, shared back."""
    rules = {rule.order: rule for _, group in entries for rule in group}
    covering = [(n, {rule.order for rule in group}) for n, group in entries]
    lines, left = figures.lines, figures.left
    best: _VisitTry | None = None
    tried: list[_VisitTry] = []
    for order, rule in sorted(rules.items()):
        covered = [n for n, orders in covering
                   if order in orders and (rule.line_test is None or rule.line_test(ctx, lines[n]))]
        if not covered:
            continue
        if not figures.insured and rule.base != "gross":
            if not rule.skip_without_insurance:
                raise _missing_insurance(visit, lines[covered[0]], rule)
            tried.append(_VisitTry(rule, covered, (), ZERO, ZERO))
            continue
        bases = tuple(figures.base(n, rule.base) or ZERO for n in covered)
        summed = sum(bases, ZERO)
        total = rule.reduce(summed)  # type: ignore[misc]
        if rule.per_visit_cap is not None:
            total = min(total, rule.per_visit_cap)
        total = min(total, sum((min(base, left[n]) for base, n in zip(bases, covered, strict=True)), ZERO))
        tried.append(_VisitTry(rule, covered, bases, summed, total))
        if total > (best.total if best is not None else ZERO):
            best = tried[-1]
    owed = list(left) if steps is not None else []
    shares: dict[int, Decimal] = {}
    if best is not None:
        fen = apportion(to_fen(best.total), [to_fen(base) for base in best.bases],
                        [to_fen(min(base, left[n])) for base, n in zip(best.bases, best.lines, strict=True)])
        for n, share in zip(best.lines, fen, strict=True):
            shares[n] = from_fen(share)
            if share:
                figures.take(n, best.rule, shares[n])
    if steps is None:
        return
    winner = best.rule.rule_id if best is not None else None
    for attempt in tried:
        won = attempt is best
        for k, n in enumerate(attempt.lines):
            base = attempt.bases[k] if attempt.bases else None
            taken = shares[n] if won else ZERO
            outcome = ("skipped" if base is None else "applied" if taken
                       else "outdone" if best is not None and not won else "nothing_left")
            steps.setdefault(lines[n].line_id, {})[attempt.rule.order] = Step(
                outcome, base, taken, owed[n], winner, (attempt.summed, attempt.total))


def apportion(total: int, weights: Sequence[int], bounds: Sequence[int]) -> list[int]:
    """Share ``total`` fen out in whole fen, in proportion to ``weights``, never above ``bounds``.

    A share that proportion would put above its bound gets exactly the bound, and the rest is
    shared again among the others, until every proportional share fits; then
    ``model.spread.largest_remainder`` rounds (ties to the earlier position: callers pass shares
    in canonical line order). Exact and never negative; needs ``0 ≤ bound ≤ weight`` for each and
    ``0 ≤ total ≤`` the sum of the bounds, else ``ValueError``.
    """
    if any(not 0 <= bound <= weight for weight, bound in zip(weights, bounds, strict=True)):
        raise ValueError("every bound must lie between 0 and its weight")
    if not 0 <= total <= sum(bounds):
        raise ValueError(f"cannot share {total} fen within bounds adding up to {sum(bounds)}")
    shares = [0] * len(weights)
    open_ = [n for n, bound in enumerate(bounds) if bound > 0]
    left = total
    while open_:
        weight = sum(weights[n] for n in open_)
        full = [n for n in open_ if left * weights[n] > bounds[n] * weight]
        if not full:
            for n, share in zip(open_, largest_remainder(left, [weights[n] for n in open_]), strict=True):
                shares[n] = share
            break
        for n in full:
            shares[n] = bounds[n]
            left -= bounds[n]
        open_ = [n for n in open_ if n not in full]
    return shares
