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
    #: every part together: equal to the line's amount in a valid record
    total: Decimal = attrs.field(init=False, eq=False, repr=False)
    #: the payer breakdown of the usual line before any concession, as a decision gives it:
    #: ``((fund id, yuan), ("patient", the self-pay))``. Usual: one fund named, and it paid
    #: something; no part below 0; every part in whole fen, as the contract reads them (another
    #: exponent would change the engine's sums). ``()`` for any other line.
    payers: tuple[tuple[str, Decimal], ...] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        funds, preliminary, in_scope, full, over_limit = (self.funds, self.preliminary, self.in_scope, self.full,
                                                          self.over_limit)
        in_scope_self_pay, out_of_scope_self_pay = preliminary + in_scope, full + over_limit
        payers: tuple[tuple[str, Decimal], ...] = ()
        if len(funds) == 1:
            paid = funds[0][1]
            fund_total = ZERO + paid
            self_pay = ZERO + in_scope_self_pay + out_of_scope_self_pay  # ZERO: never -0.00, as amount − paid
            if (paid > ZERO and preliminary >= ZERO and in_scope >= ZERO and full >= ZERO and over_limit >= ZERO
                    and ZERO.same_quantum(paid) and ZERO.same_quantum(self_pay)):
                payers = (funds[0], (PATIENT, self_pay))
        else:
            fund_total = self.fund_total
        object.__setattr__(self, "total", fund_total + in_scope_self_pay + out_of_scope_self_pay)  # frozen: once
        object.__setattr__(self, "payers", payers)

    @property
    def fund_total(self) -> Decimal:
        """What the insurance funds paid together."""
        return sum((amount for _, amount in self.funds), ZERO)

    @property
    def in_scope_self_pay(self) -> Decimal:
        """先行自付 plus 符合范围个人自付: what the patient pays within the fund's scope."""
        return self.preliminary + self.in_scope

    @property
    def out_of_scope_self_pay(self) -> Decimal:
        """全自费 plus 超限价: what the patient pays outside the fund's scope or price limit."""
        return self.full + self.over_limit
