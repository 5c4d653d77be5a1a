"""What basic medical insurance (医保) settled on a charge line, as the HIS sends it back.

A hospital settles 医保 first; the 优抚 concessions then apply to what the patient still owes
(docs/settlement.md). This module only holds the figures and the bases derived from them; the
contract (``shuangyong.interchange``) checks that the parts add up to the line's amount, and the
engine decides who pays the rest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from shuangyong.model.registry import PATIENT
from shuangyong.money import ZERO

if TYPE_CHECKING:
    from decimal import Decimal

#: The bases a benefit may be computed on (a pack rule's ``base``); ``gross`` is the amount itself,
#: today's meaning and the default.
BASES = ("gross", "patient_share", "in_scope_self_pay", "out_of_scope_self_pay")
#: The self-pay parts, in the order the contract lists (and per-visit figures are spread in).
SELF_PAY_PARTS = ("preliminary", "in_scope", "full", "over_limit")


@attrs.frozen(slots=True)
class Insurance:
    """One line's settlement: what each fund paid (``(fund id, yuan)`` pairs in the order the
    HIS sent them) and the four self-pay parts. Every figure is a Decimal of yuan, at least 0.

    The fields after these are worked out once, when the figures are built, because the engine
    reads them on every line it settles (benchmarks/RESULTS.md, "Settlement (issue 16)")."""

    funds: tuple[tuple[str, Decimal], ...] = ()
    preliminary: Decimal = ZERO  #: 先行自付: the patient's part of an item the fund covers in part
    in_scope: Decimal = ZERO  #: 符合范围个人自付: within the fund's scope, below its threshold or ratio
    full: Decimal = ZERO  #: 全自费: outside the fund's scope entirely
    over_limit: Decimal = ZERO  #: 超限价: above the fund's price limit
    #: what the insurance funds paid together
    fund_total: Decimal = attrs.field(init=False, eq=False, repr=False)
    #: 先行自付 plus 符合范围个人自付: what the patient pays within the fund's scope
    in_scope_self_pay: Decimal = attrs.field(init=False, eq=False, repr=False)
    #: 全自费 plus 超限价: what the patient pays outside the fund's scope or price limit
    out_of_scope_self_pay: Decimal = attrs.field(init=False, eq=False, repr=False)
    #: every part together: equal to the line's amount in a valid record
    total: Decimal = attrs.field(init=False, eq=False, repr=False)
    #: some part is below 0 (a record the contract and the engine refuse)
    negative: bool = attrs.field(init=False, eq=False, repr=False)
    #: the usual line's one ``(fund id, yuan)`` pair: one fund named, and it paid something; no
    #: part below 0, every part in whole fen (as the contract reads them); else ``None``
    sole_fund: tuple[str, Decimal] | None = attrs.field(init=False, eq=False, repr=False)
    #: the usual line's payer breakdown before any concession: ``(sole_fund, ("patient", the
    #: self-pay))``, as a decision gives it; ``()`` when ``sole_fund`` is ``None``
    payers: tuple[tuple[str, Decimal], ...] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        fund_total = ZERO
        negative = False
        for _, amount in self.funds:
            fund_total += amount
            negative = negative or amount < ZERO
        self_pay = (self.preliminary, self.in_scope, self.full, self.over_limit)
        for part in self_pay:
            negative = negative or part < ZERO
        in_scope, out_of_scope = self.preliminary + self.in_scope, self.full + self.over_limit
        sole = self.funds[0] if len(self.funds) == 1 and self.funds[0][1] and not negative else None
        if sole is not None and not all(ZERO.same_quantum(part) for part in (sole[1], *self_pay)):
            sole = None  # another exponent: the engine's sums keep it, so it takes the general way
        set_ = object.__setattr__  # frozen: the derived fields are set here, once
        set_(self, "fund_total", fund_total)
        set_(self, "in_scope_self_pay", in_scope)
        set_(self, "out_of_scope_self_pay", out_of_scope)
        set_(self, "total", fund_total + in_scope + out_of_scope)
        set_(self, "negative", negative)
        set_(self, "sole_fund", sole)
        set_(self, "payers", () if sole is None else (sole, (PATIENT, in_scope + out_of_scope)))
