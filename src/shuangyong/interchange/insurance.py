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
from shuangyong.model.insurance import Insurance, ordered_funds, parts_differ
from shuangyong.model.spread import spread
from shuangyong.money import ZERO
from shuangyong.text import Text

if TYPE_CHECKING:
    from collections.abc import Sequence

    from shuangyong.model.registry import Registry
    from shuangyong.model.visit import ChargeLine
    from shuangyong.model.vocabulary import Vocabulary

Id = Annotated[str, StringConstraints(max_length=MAX_ID_LENGTH)]


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


def _fund(fund_id: str, value: object, payers: Vocabulary) -> tuple[str, object]:
    """In strict mode, a fund id the registry knows as a fund's (``Insurance`` checks the rest)."""
    if fund_id in payers and payers.get(fund_id).kind == "fund":
        return fund_id, value
    funds = ", ".join(t.id for t in payers if t.kind == "fund")
    raise InputError(Text(f"{fund_id!r} 不是已知的医保基金（可用：{funds}）",
                          f"{fund_id!r} is not a known insurance fund (known: {funds})"),
                     field=f"insurance.funds.{fund_id}", value=fund_id)


def insurance_from(data: InsuranceIn, payers: Vocabulary | None = None) -> Insurance:
    """The figures of a shape-checked ``insurance`` object, read and checked by ``Insurance``;
    fields are named from the line or visit it is on (``insurance.funds.basic_pool``). ``payers``
    (strict mode): a fund id the registry does not know as a fund is refused, instead of reported
    as given."""
    given = data.get("funds")
    funds: tuple[tuple[str, object], ...] = ()
    if given:
        funds = tuple(given.items()) if payers is None else tuple([_fund(fund_id, value, payers)
                                                                    for fund_id, value in given.items()])
        if len(funds) > 1:
            funds = ordered_funds(funds)
    self_pay = data.get("self_pay")
    return Insurance(funds, **self_pay) if self_pay else Insurance(funds)  # type: ignore[misc]  # its keys: the parts


def settle_visit(lines: Sequence[ChargeLine], insurance: Insurance) -> tuple[ChargeLine, ...]:
    """The visit's lines with the visit's insurance figures spread over them; none of them may
    give figures of its own."""
    insured = next((n for n, line in enumerate(lines) if line.insurance is not None), None)
    if insured is not None:
        raise InputError(Text("已在就诊层给出 insurance，收费明细不能再各自给出：二者只能选其一",
                              "insurance is given for the whole visit and on this line too: give one or the "
                              "other"), field=f"lines[{insured}].insurance")
    total = sum((line.amount for line in lines), ZERO)
    if insurance.total != total:
        raise parts_differ(insurance, total, Text("各收费明细金额合计", "the total of the lines' amounts"))
    shares = spread(insurance, ((line.line_id, line.amount) for line in lines))
    return tuple([line._replace(insurance=shares[line.line_id]) for line in lines])
