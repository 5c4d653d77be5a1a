"""What basic medical insurance (医保) settled on a charge line, as the HIS sends it back.

A hospital settles 医保 first; the 优抚 concessions then apply to what the patient still owes
(docs/settlement.md). This module holds the figures and the bases derived from them, and checks
them once, whoever builds them (the contract reader or Python code): every figure an amount (no
float, not negative, whole fen), every fund id a fund's. That the parts add up to the line's
amount is checked where the line is built (``model.visit.ChargeLine``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from shuangyong.errors import InputError
from shuangyong.model.registry import BUILTIN_FUNDS, NOT_FUNDS, PATIENT
from shuangyong.money import ZERO, parse_amount
from shuangyong.text import Text

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from decimal import Decimal

#: The bases a benefit may be computed on (a pack rule's ``base``); ``gross`` is the amount itself,
#: today's meaning and the default.
BASES = ("gross", "patient_share", "in_scope_self_pay", "out_of_scope_self_pay")
#: The self-pay parts, in the order the contract lists (and per-visit figures are spread in).
SELF_PAY_PARTS = ("preliminary", "in_scope", "full", "over_limit")
_PART_FIELDS = tuple(f"insurance.self_pay.{part}" for part in SELF_PAY_PARTS)
_RANK = {fund: rank for rank, fund in enumerate(BUILTIN_FUNDS)}
T = TypeVar("T")


def fund_order(fund_id: str) -> tuple[int, str]:
    """Sort key of fund ids: the built-in funds in registry order, then any other id by code point.

    Fixed without the plugin registry, so that how a visit is read never depends on which plugins
    are installed, nor on the order of the keys in its ``funds`` object.
    """
    return (_RANK.get(fund_id, len(_RANK)), fund_id)


def ordered_funds(funds: Sequence[tuple[str, T]]) -> tuple[tuple[str, T], ...]:
    """``(fund id, amount)`` pairs in :func:`fund_order`."""
    return tuple(funds) if len(funds) < 2 else tuple(sorted(funds, key=lambda pair: fund_order(pair[0])))


@attrs.frozen(slots=True, init=False)
class Insurance:
    """One line's settlement: what each fund paid (``(fund id, yuan)`` pairs in the order the
    HIS sent them) and the four self-pay parts. Each figure is read as an amount is (a string,
    int or Decimal, never a float) and held as Decimal yuan in whole fen, at least 0; a bad one
    raises ``InputError`` naming its field (``insurance.funds.basic_pool``).

    The fields after these are worked out once, when the figures are built, because the engine
    reads them on every line it settles (benchmarks/RESULTS.md, "Settlement (issue 16)")."""

    funds: tuple[tuple[str, Decimal], ...] = ()
    preliminary: Decimal = ZERO  #: 先行自付: the patient's part of an item the fund covers in part
    in_scope: Decimal = ZERO  #: 符合范围个人自付: within the fund's scope, below its threshold or ratio
    full: Decimal = ZERO  #: 全自费: outside the fund's scope entirely
    over_limit: Decimal = ZERO  #: 超限价: above the fund's price limit
    #: what the insurance funds paid together
    fund_total: Decimal = attrs.field(init=False, eq=False, repr=False)
    #: the four self-pay parts together: what the patient owes before any concession
    self_pay: Decimal = attrs.field(init=False, eq=False, repr=False)
    #: the payer breakdown before any concession, as a decision gives it: the funds that paid
    #: something in :func:`fund_order`, then ``("patient", the self-pay)``
    payers: tuple[tuple[str, Decimal], ...] = attrs.field(init=False, eq=False, repr=False)

    def __init__(self, funds: Iterable[tuple[str, Any]] = (), preliminary: Any = ZERO, in_scope: Any = ZERO,
                 full: Any = ZERO, over_limit: Any = ZERO) -> None:
        """Read and check the figures, and work out the rest. Written by hand, not by attrs: one
        is built per line the contract reads, and setting each field once costs half as much."""
        read = tuple([_fund(fund_id, paid) for fund_id, paid in funds]) if funds else ()
        # each part but a default ZERO read, without a loop (most lines leave two or three out)
        if preliminary is not ZERO:
            preliminary = parse_amount(preliminary, field=_PART_FIELDS[0])
        if in_scope is not ZERO:
            in_scope = parse_amount(in_scope, field=_PART_FIELDS[1])
        if full is not ZERO:
            full = parse_amount(full, field=_PART_FIELDS[2])
        if over_limit is not ZERO:
            over_limit = parse_amount(over_limit, field=_PART_FIELDS[3])
        fund_total = read[0][1] if len(read) == 1 else sum([amount for _, amount in read], ZERO)
        if preliminary is ZERO and over_limit is ZERO:  # the usual line: in scope, full, or both
            self_pay = full if in_scope is ZERO else in_scope if full is ZERO else in_scope + full
        else:
            self_pay = preliminary + in_scope + full + over_limit
        set_field = object.__setattr__  # frozen: every field set once, here
        set_field(self, "funds", read)
        set_field(self, "preliminary", preliminary)
        set_field(self, "in_scope", in_scope)
        set_field(self, "full", full)
        set_field(self, "over_limit", over_limit)
        set_field(self, "fund_total", fund_total)
        set_field(self, "self_pay", self_pay)
        if len(read) == 1 and fund_total:  # the usual line: one fund, which paid part of it
            set_field(self, "payers", (read[0], (PATIENT, self_pay)))
        else:
            set_field(self, "payers", (*ordered_funds([fund for fund in read if fund[1]]), (PATIENT, self_pay)))

    @property
    def total(self) -> Decimal:
        """Every part together: equal to the line's amount in a valid line (worked out when asked:
        only building a line asks, and a field would cost every line's memory)."""
        return self.fund_total + self.self_pay

    @property
    def in_scope_self_pay(self) -> Decimal:
        """先行自付 plus 符合范围个人自付: what the patient pays within the fund's scope."""
        return self.preliminary + self.in_scope

    @property
    def out_of_scope_self_pay(self) -> Decimal:
        """全自费 plus 超限价: what the patient pays outside the fund's scope or price limit."""
        return self.full + self.over_limit


def _fund(fund_id: object, paid: object) -> tuple[str, Decimal]:
    """A fund's ``(id, what it paid)``. The id is a non-empty string that names no payer of
    concessions nor the patient (whether a registry knows it is the contract reader's question,
    in strict mode)."""
    if type(fund_id) is not str or not fund_id or fund_id in NOT_FUNDS:
        known = ", ".join(BUILTIN_FUNDS)
        raise InputError(Text(f"{fund_id!r} 不是医保基金（内置基金：{known}）",
                              f"{fund_id!r} is not an insurance fund (built-in funds: {known})"),
                         field=f"insurance.funds.{fund_id}", value=str(fund_id))
    return fund_id, parse_amount(paid, field=f"insurance.funds.{fund_id}")


def parts_differ(insurance: Insurance, amount: object, whose: Text) -> InputError:
    """The parts do not add up to the amount they settle (``whose``: the line's, the visit's)."""
    return InputError(Text(f"insurance 各部分之和为 {insurance.total}，与{whose.zh} {amount} 不符",
                           f"the parts of insurance add up to {insurance.total}, not to {whose.en} {amount}"),
                      field="insurance", value=str(insurance.total))
