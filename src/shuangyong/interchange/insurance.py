"""JSON contract 1.1, the input side of settlement: ``insurance`` on a line or on a visit.

What the HIS got back from 医保 settlement (docs/json-contract.md): ``funds`` (what each fund
paid) and ``self_pay`` (the patient's four parts), money written as amounts are. The parts must add
up to the line's amount, or for a visit to the total of its lines, exactly: nothing is guessed.
A visit gives its figures either per line (every line, then) or for the whole visit, which is
spread over the lines (``model.spread``) before the engine sees them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, NotRequired

from pydantic import ConfigDict, StringConstraints
from typing_extensions import TypedDict

from shuangyong.errors import InputError
from shuangyong.limits import MAX_ID_LENGTH
from shuangyong.model.insurance import SELF_PAY_PARTS, Insurance
from shuangyong.model.registry import PATIENT, PAYERS, Registry
from shuangyong.model.spread import BUILTIN_FUNDS, ordered_funds, spread
from shuangyong.money import ZERO, parse_amount
from shuangyong.text import Text

if TYPE_CHECKING:
    from collections.abc import Sequence
    from decimal import Decimal

    from shuangyong.model.visit import ChargeLine
    from shuangyong.model.vocabulary import Vocabulary

Id = Annotated[str, StringConstraints(max_length=MAX_ID_LENGTH)]
#: ids no fund may take whatever the registry: what the patient owes, and the built-in payers of
#: concessions (a fund with one of these ids would be counted twice in the payer breakdown)
NOT_FUNDS = frozenset({PATIENT, *(payer_id for payer_id, _, _, kind in PAYERS if kind != "fund")})


class SelfPayIn(TypedDict):
    """The ``self_pay`` object of the contract's ``insurance`` (version 1.1)."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]
    preliminary: NotRequired[Any]
    in_scope: NotRequired[Any]
    full: NotRequired[Any]
    over_limit: NotRequired[Any]


class InsuranceIn(TypedDict):
    """The ``insurance`` object of a line or a visit (contract version 1.1)."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]
    funds: NotRequired[dict[Id, Any]]
    self_pay: NotRequired[SelfPayIn]


def key_count(data: InsuranceIn | None) -> int:
    """The keys inside a shape-checked ``insurance`` object (for the duplicate-key count)."""
    if data is None:
        return 0
    return len(data) + len(data.get("funds", ())) + len(data.get("self_pay", ()))


def strict_payers(registry: Registry, *, strict: bool) -> Vocabulary | None:
    """What ``payers`` to read visits with: the registry's in strict mode, else none (any fund id
    is taken and reported under its own id)."""
    return registry.payers if strict else None


def _fund(fund_id: str, value: object, payers: Vocabulary | None) -> tuple[str, Decimal]:
    field = f"insurance.funds.{fund_id}"
    if fund_id in NOT_FUNDS or not fund_id or (payers is not None and (
            fund_id not in payers or payers.get(fund_id).kind != "fund")):
        funds = ", ".join(t.id for t in payers if t.kind == "fund") if payers is not None else ", ".join(BUILTIN_FUNDS)
        raise InputError(Text(f"{fund_id!r} 不是已知的医保基金（可用：{funds}）",
                              f"{fund_id!r} is not a known insurance fund (known: {funds})"),
                         field=field, value=fund_id)
    return fund_id, parse_amount(value, field=field)


def insurance_from(data: InsuranceIn, payers: Vocabulary | None = None) -> Insurance:
    """The figures of a shape-checked ``insurance`` object, each a checked amount; fields are
    named from the line or visit it is on (``insurance.funds.basic_pool``). ``payers`` (strict mode):
    a fund id the registry does not know as a fund is refused, instead of reported as given."""
    given = data.get("funds")
    funds = ordered_funds([_fund(fund_id, value, payers) for fund_id, value in given.items()]) if given else ()
    self_pay = data.get("self_pay")
    if not self_pay:
        return Insurance(funds)
    given_parts: dict[str, Any] = dict(self_pay)
    return Insurance(funds, *[parse_amount(given_parts[part], field=f"insurance.self_pay.{part}")
                              if part in given_parts else ZERO for part in SELF_PAY_PARTS])


def parts_differ(insurance: Insurance, amount: object, whose: Text) -> InputError:
    """The parts do not add up to the amount they settle (``whose``: the line's, the visit's)."""
    return InputError(Text(f"insurance 各部分之和为 {insurance.total}，与{whose.zh} {amount} 不符",
                           f"the parts of insurance add up to {insurance.total}, not to {whose.en} {amount}"),
                      field="insurance", value=str(insurance.total))


def checked_line(line: ChargeLine) -> ChargeLine:
    """A line whose insurance, if any, adds up to its amount."""
    if line.insurance is not None and line.insurance.total != line.amount:
        raise parts_differ(line.insurance, line.amount, Text("本行金额", "the line's amount"))
    return line


def settle_visit(lines: Sequence[ChargeLine], insurance: Insurance | None) -> tuple[ChargeLine, ...]:
    """The visit's lines with insurance on each, or on none: visit figures spread over the lines;
    per-line figures kept as they are, given on every line or on none."""
    insured = [n for n, line in enumerate(lines) if line.insurance is not None]
    if insurance is not None:
        if insured:
            raise InputError(Text("已在就诊层给出 insurance，收费明细不能再各自给出：二者只能选其一",
                                  "insurance is given for the whole visit and on this line too: give one or the "
                                  "other"), field=f"lines[{insured[0]}].insurance")
        total = sum((line.amount for line in lines), ZERO)
        if insurance.total != total:
            raise parts_differ(insurance, total, Text("各收费明细金额合计", "the total of the lines' amounts"))
        shares = spread(insurance, ((line.line_id, line.amount) for line in lines))
        return tuple([line._replace(insurance=shares[line.line_id]) for line in lines])
    if insured and len(insured) < len(lines):
        bare = next(n for n, line in enumerate(lines) if line.insurance is None)
        amount = lines[bare].amount
        raise InputError(Text(f"本次就诊其他收费明细给出了 insurance，本行没有：未经医保结算的一行请写 "
                              f'"insurance": {{"self_pay": {{"full": "{amount}"}}}}',
                              f"other lines of this visit give insurance and this one does not: for a line "
                              f'insurance did not settle, give "insurance": {{"self_pay": {{"full": "{amount}"}}}}'),
                         field=f"lines[{bare}].insurance")
    return tuple(lines)
