"""Visits and their charge lines: what the engine decides on."""

from __future__ import annotations

import re
from functools import lru_cache
from operator import attrgetter
from typing import TYPE_CHECKING, NamedTuple

import attrs

from shuangyong.errors import InputError
from shuangyong.limits import MAX_ID_LENGTH
from shuangyong.model.insurance import ordered_funds, parts_differ
from shuangyong.model.registry import FEE_CATEGORIES as _FEE_CATEGORY_ROWS
from shuangyong.model.registry import VISIT_KINDS as _VISIT_KIND_ROWS
from shuangyong.model.vocabulary import one_of
from shuangyong.money import parse_amount
from shuangyong.text import Text

if TYPE_CHECKING:
    import datetime as dt
    from decimal import Decimal

    from shuangyong.model.beneficiary import Beneficiary
    from shuangyong.model.insurance import Insurance

VISIT_KINDS = tuple(row[0] for row in _VISIT_KIND_ROWS)
_KIND = Text("就诊类型", "visit kind")
FEE_CATEGORIES = tuple(row[0] for row in _FEE_CATEGORY_ROWS)
_FEE_CATEGORY = Text("医疗收费项目类别", "fee category")
_REGION = re.compile(r"[0-9]{6}")
_DIGITS = re.compile(r"([0-9]+)")
_INSURANCE = attrgetter("insurance")


@lru_cache(maxsize=4096)  # every visit numbers its lines "1", "2" … again
def line_order(line_id: str) -> tuple[int, object, str]:
    """Canonical line order: natural ("2" before "10"), then the raw id to break ties.

    The engine handles lines in this order so that per-visit caps, and so the output, do not
    depend on the order in which the HIS sent them. Only ASCII digits count as a number ("²"
    and "١" are digits to ``str.isdigit`` but not to ``int``), and an id longer than
    ``limits.MAX_ID_LENGTH`` is refused before ``int`` meets Python's 4,300-digit limit.
    """
    if len(line_id) > MAX_ID_LENGTH:
        raise InputError(Text(f"line_id 超过 {MAX_ID_LENGTH} 个字符", f"line_id is longer than {MAX_ID_LENGTH} "
                              "characters"), field="line_id", value=line_id[:MAX_ID_LENGTH])
    if line_id.isascii() and line_id.isdigit():
        return (0, int(line_id), line_id)
    return (1, tuple((0, int(p), "") if p.isascii() and p.isdigit() else (1, 0, p)
                     for p in _DIGITS.split(line_id) if p), line_id)


class _ChargeLineFields(NamedTuple):
    line_id: str
    item: str
    amount: Decimal
    tags: frozenset[str] = frozenset()
    code: str | None = None
    description: str | None = None
    #: ``line_order(line_id)``, kept so that sorting a visit's lines costs no more than a sort
    order: tuple[int, object, str] = (0, 0, "")
    #: the national fee category (医保 收费项目类别, ``"01"``…``"14"``), when the HIS sends it
    fee_category: str | None = None
    #: what 医保 settled on this line (docs/settlement.md), when the HIS sends it
    insurance: Insurance | None = None


#: ``_tuple_new(ChargeLine, (every field))``: the named tuple built without its ``__new__``'s
#: argument handling, which cost as much as the checks (one line is built per charge line)
_tuple_new = tuple.__new__


class ChargeLine(_ChargeLineFields):
    """One line of the bill. ``amount`` is exact yuan; floats are refused on construction.

    A named tuple rather than a frozen attrs class: one is built per charge line on the
    streaming path, where this costs 40 % less (benchmarks/RESULTS.md); it is as immutable, and
    ``_replace`` validates like the constructor.
    """

    __slots__ = ()

    def __new__(cls, line_id: str, item: str, amount: object, tags: frozenset[str] = frozenset(),
                code: str | None = None, description: str | None = None, fee_category: str | None = None,
                insurance: Insurance | None = None) -> ChargeLine:
        """Check and build a line; ``amount`` is parsed to ``Decimal`` yuan (floats refused), and
        the parts of its ``insurance``, if any, must add up to it."""
        exact = parse_amount(amount)
        if insurance is not None and insurance.total != exact:
            raise parts_differ(insurance, exact, Text("本行金额", "the line's amount"))
        return _tuple_new(cls, (line_id, item, exact, tags, code, description, line_order(line_id),
                                fee_category if fee_category is None else check_fee_category(fee_category),
                                insurance))

    def _replace(self, **changes: object) -> ChargeLine:
        fields = {name: getattr(self, name) for name in _ChargeLineFields._fields if name != "order"}
        return ChargeLine(**{**fields, **changes})


def _mixed(visit: Visit) -> InputError:
    """Insurance data on some lines of ``visit`` and not on others: the first bare line named."""
    index, bare = next((n, line) for n, line in enumerate(visit.lines) if line.insurance is None)
    return InputError(Text(f"本次就诊其他收费明细给出了 insurance，收费明细 {bare.line_id!r} 没有："
                           f'未经医保结算的一行请写 "insurance": {{"self_pay": {{"full": "{bare.amount}"}}}}',
                           f"other lines of this visit give insurance and line {bare.line_id!r} does not: for a "
                           f'line insurance did not settle, give "insurance": {{"self_pay": {{"full": '
                           f'"{bare.amount}"}}}}'), record=visit.visit_id, field=f"lines[{index}].insurance")


def _funds_paid(lines: tuple[ChargeLine, ...]) -> tuple[tuple[str, Decimal], ...]:
    """What each fund paid over ``lines``, all with insurance data (``Visit.funds_paid``)."""
    sums: dict[str, Decimal] = {}
    for line in lines:
        for fund, paid in line.insurance.funds:  # type: ignore[union-attr]  # every line has insurance data
            sums[fund] = sums[fund] + paid if fund in sums else paid
    return ordered_funds(list(sums.items()))


def _kind(value: str) -> str:
    return one_of(value, "kind", _KIND, VISIT_KINDS)


def check_fee_category(value: str) -> str:
    """A line's fee category, which must be one of the national ones (01–14)."""
    return one_of(value, "fee_category", _FEE_CATEGORY, FEE_CATEGORIES)


def _region(value: str) -> str:
    if not isinstance(value, str) or not _REGION.fullmatch(value):
        raise InputError(Text(f"行政区划代码应为 6 位数字（GB/T 2260），收到 {value!r}",
                              f"region must be a 6-digit GB/T 2260 code, got {value!r}"),
                         field="region", value=value)
    return value


@attrs.frozen(slots=True)
class Visit:
    """An outpatient, emergency or inpatient visit on one business date, in one region."""

    visit_id: str
    date: dt.date
    kind: str = attrs.field(converter=_kind)
    region: str = attrs.field(converter=_region)
    patient: Beneficiary
    lines: tuple[ChargeLine, ...] = ()
    #: every line carries insurance data (docs/settlement.md); a visit where some lines do and
    #: others do not is refused, naming the first bare line
    insured: bool = attrs.field(init=False, eq=False, repr=False)
    #: every fund the lines' insurance data names and what it paid over them, in fund order
    #: (``model.insurance.fund_order``); ``()`` without insurance data. Summed once, here, for
    #: every evaluation of the visit (benchmarks/RESULTS.md, "Settlement (issue 16)").
    funds_paid: tuple[tuple[str, Decimal], ...] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        lines = self.lines
        bare = list(map(_INSURANCE, lines)).count(None)
        if bare and bare < len(lines):
            raise _mixed(self)
        insured = bool(lines) and not bare
        object.__setattr__(self, "insured", insured)  # frozen: set once, here
        object.__setattr__(self, "funds_paid", _funds_paid(lines) if insured else ())
        if len({line.line_id for line in lines}) == len(lines):
            return
        seen: set[str] = set()
        for index, line in enumerate(self.lines):
            if line.line_id in seen:
                raise InputError(Text(f"收费明细编号 {line.line_id!r} 重复",
                                      f"line_id {line.line_id!r} appears twice"),
                                 record=self.visit_id, field=f"lines[{index}].line_id",
                                 value=line.line_id)
            seen.add(line.line_id)
