"""The policy-pack file format (DESIGN §5), validated with pydantic; unknown keys are refused.

This module only describes the shape of one file. Cross-file checks (known category ids,
``extends``, overrides) happen in :mod:`shuangyong.policy.layers`, where the registry is known.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from shuangyong.dates import parse_date
from shuangyong.documents import LongInteger
from shuangyong.errors import InputError
from shuangyong.limits import MAX_AMOUNT, MAX_COUNT, MAX_ID_LENGTH
from shuangyong.model.insurance import BASES
from shuangyong.money import parse_amount, parse_rate
from shuangyong.text import Text

SCHEMA_VERSION = 1
#: who bears a benefit when a rule names no payer: the hospital (医院负担), the only payer before
#: settlement with insurance (docs/settlement.md)
DEFAULT_PAYER = "hospital"
SCOPES = ("line", "visit")
WITHOUT_INSURANCE = ("error", "skip")
#: the rule keys of settlement with insurance: left out, a rule means what it always meant
SETTLEMENT_KEYS = ("payer", "base", "scope", "without_insurance")


class StrictModel(BaseModel):
    """Base of every file-format model (policy packs, standards packs, dossiers): unknown keys are
    refused, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _as_tuple(value: Any) -> Any:
    """Let a single value stand for a one-item list (``category: serviceman``)."""
    return (value,) if isinstance(value, str) else value


Names = Annotated[tuple[str, ...], BeforeValidator(_as_tuple)]


def _fee_category_ids(value: Any) -> Any:
    """Fee categories are two digits as text (``"09"``): a bare ``9`` is YAML's number nine."""
    value = _as_tuple(value)
    for entry in value if isinstance(value, (list, tuple)) else ():
        if type(entry) is int:
            raise InputError(Text(f"医疗收费项目类别写作带引号的两位数字（\"{entry:02d}\"），收到 {entry}",
                                  f"a fee category is two digits in quotes (\"{entry:02d}\"), got {entry}"),
                             value=entry)
    return value


FeeCategoryIds = Annotated[tuple[str, ...], BeforeValidator(_fee_category_ids)]


#: a plain decimal number, the JSON contract's amount grammar: no sign, exponent, space,
#: underscore, full-width digit, or bare leading or trailing dot (``Decimal`` reads them all)
_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?", re.ASCII)
#: a rate is a plain decimal number of percent
_RATE = re.compile(r"[0-9]+(?:\.[0-9]+)?%", re.ASCII)


def _shown(value: Any) -> str:
    """A value as a message shows it: a 5,000-digit number is cut, not printed whole."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, LongInteger):
        return f"{value[:12]}…({len(value.lstrip('+-'))} digits)"
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:30]}…({len(text)} chars)"


def _too_large(value: Any, bound: Any) -> InputError:
    return InputError(Text(f"数值 {_shown(value)} 过大（最大 {bound}）",
                           f"number {_shown(value)} is too large (at most {bound})"), value=value)


def _whole(value: Any) -> int:
    """A whole number as YAML writes one: not ``true`` (a bool is an int in Python), not ``"5"``,
    not ``5.0``, and at most ``MAX_COUNT``."""
    if isinstance(value, LongInteger) or (type(value) is int and abs(value) > MAX_COUNT):
        raise _too_large(value, MAX_COUNT)
    if type(value) is not int:
        raise InputError(Text(f"应为整数，收到 {_shown(value)}", f"must be a whole number, got {_shown(value)}"),
                         value=value)
    return value


def _flag(value: Any) -> bool:
    """``true`` or ``false`` only: ``1``, ``"yes"`` and ``"false"`` (which is true!) are refused."""
    if type(value) is not bool:
        raise InputError(Text(f"应为 true 或 false，收到 {_shown(value)}",
                              f"must be true or false, got {_shown(value)}"), value=value)
    return value


def _yuan(value: Any) -> Decimal:
    """An amount in a pack: the JSON contract's grammar and maximum (``money.parse_amount``)."""
    if isinstance(value, LongInteger):
        raise _too_large(value, MAX_AMOUNT)
    return parse_amount(value)


def plain_decimal(value: Any) -> Any:
    """A positive quantity that is not money (a weight): an integer, or a decimal written as
    text (``"1.5"``); a float, ``"1_0"``, ``"1e3"`` or ``true`` is refused; at most ``MAX_COUNT``."""
    if isinstance(value, LongInteger):
        raise _too_large(value, MAX_COUNT)
    if isinstance(value, Decimal) or type(value) is int or (type(value) is str and _DECIMAL.fullmatch(value)):
        number = Decimal(value)
    else:
        raise InputError(Text(f"{_shown(value)} 应为整数或带引号的小数（\"1.5\"）",
                              f"{_shown(value)} must be an integer or a quoted decimal (\"1.5\")"), value=value)
    if number > MAX_COUNT:
        raise _too_large(value, MAX_COUNT)
    return number


def percentage(value: Any) -> Decimal:
    """``"50%"`` → 0.5: a plain decimal number of percent between 0 and 100 (not ``"5_0%"``,
    ``" 50%"``, ``"5e1%"`` or full-width digits, which ``Decimal`` would read)."""
    if not (type(value) is str and _RATE.fullmatch(value)):
        raise InputError(Text(f"比例应写作 \"50%\"，收到 {_shown(value)}",
                              f"a percentage is written like \"50%\", got {_shown(value)}"), value=value)
    return parse_rate(value)


def _choice(name: Text, allowed: tuple[str, ...]) -> BeforeValidator:
    """A key that takes one of a few words (``base: patient_share``), refused in zh and en."""

    def check(value: Any) -> str:
        if not (type(value) is str and value in allowed):
            raise InputError(Text(f"{name.zh}应为 {'、'.join(allowed)} 之一，收到 {_shown(value)}",
                                  f"{name.en} must be one of {', '.join(allowed)}, got {_shown(value)}"),
                             value=value)
        return value

    return BeforeValidator(check)


Yuan = Annotated[Decimal, BeforeValidator(_yuan)]
Whole = Annotated[int, BeforeValidator(_whole)]
Flag = Annotated[bool, BeforeValidator(_flag)]
Id = Annotated[str, Field(min_length=1, max_length=MAX_ID_LENGTH)]
PackDate = Annotated[dt.date, BeforeValidator(parse_date)]


class LocalText(StrictModel):
    """A text as a pack writes it, in zh and en."""

    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class Range(StrictModel):
    """Inclusive bounds; either may be left out."""

    min: Whole | None = None
    max: Whole | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.max < self.min:
            raise ValueError(f"max {self.max} is below min {self.min}")
        return self


class When(StrictModel):
    """A condition. Several keys in one mapping must all hold; ``any``/``all``/``not`` nest."""

    category: Names | None = None
    credential: Names | None = None
    disability_level: Range | None = None
    disability_cause: Names | None = None
    visit_kind: Names | None = None
    region: Names | None = None
    age: Range | None = None
    tags: Names | None = None
    #: conditions from plugins (``register_predicates``): name → its argument
    custom: dict[str, Any] | None = Field(default=None, min_length=1)
    all: tuple[When, ...] | None = None
    any: tuple[When, ...] | None = None
    not_: When | None = Field(default=None, alias="not")

    @model_validator(mode="after")
    def _not_empty(self) -> When:
        if not self.model_fields_set:
            raise ValueError("an empty condition; write at least one of " + ", ".join(
                f.alias or name for name, f in When.model_fields.items()))
        return self


class Tier(StrictModel):
    """One band of a progressive benefit: the part of the base above the band before (or 0) and
    up to ``up_to`` is reduced at ``reduce``; the last band has no ``up_to`` and takes the rest."""

    up_to: Yuan | None = None
    reduce: str

    @field_validator("reduce")
    @classmethod
    def _percentage(cls, value: str) -> str:
        percentage(value)
        return value

    @property
    def rate(self) -> Decimal:
        """The band's percentage as a fraction (``"60%"`` → 0.6)."""
        return parse_rate(self.reduce)


#: the benefit shapes, in the order messages list them; a benefit is exactly one of them
BENEFIT_SHAPES = ("reduce", "fixed", "waive", "waive_deposit", "patient_pays_at_most", "tiers")


class Benefit(StrictModel):
    """Exactly one of: a percentage reduction, a fixed reduction, a waiver, a deposit waiver, a
    most the patient pays (定额自负), progressive bands (docs/settlement.md)."""

    reduce: str | None = None
    fixed: Yuan | None = None
    waive: Flag | None = None
    waive_deposit: Flag | None = None
    #: 定额自负: the reduction is whatever of the base lies above this amount
    patient_pays_at_most: Yuan | None = None
    tiers: tuple[Tier, ...] | None = Field(default=None, min_length=1)

    @field_validator("reduce")
    @classmethod
    def _percentage(cls, value: str | None) -> str | None:
        if value is not None:
            percentage(value)
        return value

    @field_validator("tiers")
    @classmethod
    def _bands(cls, tiers: tuple[Tier, ...] | None) -> tuple[Tier, ...] | None:
        if tiers is None:
            return None
        *bounded, last = tiers
        if last.up_to is not None:
            raise InputError(Text(f"最后一档不写 up_to（它包含 {last.up_to} 以上的部分）",
                                  f"the last band has no up_to (it takes everything above {last.up_to})"))
        below = Decimal(0)
        for number, tier in enumerate(bounded, start=1):
            if tier.up_to is None:
                raise InputError(Text(f"第 {number} 档缺少 up_to（只有最后一档不写）",
                                      f"band {number} has no up_to (only the last band leaves it out)"))
            if tier.up_to <= below:
                raise InputError(Text(f"第 {number} 档的 up_to {tier.up_to} 应大于上一档的 {below}",
                                      f"band {number}'s up_to {tier.up_to} must be above the band before, {below}"))
            below = tier.up_to
        return tiers

    @model_validator(mode="after")
    def _exactly_one(self) -> Benefit:
        chosen = [name for name in BENEFIT_SHAPES
                  if getattr(self, name) is not None and getattr(self, name) is not False]
        if len(chosen) != 1:
            raise ValueError("a benefit is exactly one of reduce, fixed, waive: true, waive_deposit: true, "
                             f"patient_pays_at_most, tiers (got {', '.join(chosen) or 'none'})")
        return self

    @property
    def rate(self) -> Decimal | None:
        """``reduce`` as a fraction (``"50%"`` → 0.5), or ``None``."""
        return parse_rate(self.reduce) if self.reduce is not None else None

    @property
    def settles(self) -> bool:
        """A shape only the settlement path computes (``Engine.evaluate``'s fast path cannot)."""
        return self.patient_pays_at_most is not None or self.tiers is not None


class Caps(StrictModel):
    """Most a rule may take off one line, off one whole visit, and off one beneficiary's year.

    ``per_year`` needs memory of earlier visits, so the ledger enforces it when posting
    (:mod:`shuangyong.ledger`); ``Engine.evaluate`` alone reports the amount before it.
    """

    per_line: Yuan | None = None
    per_visit: Yuan | None = None
    per_year: Yuan | None = None


class Effective(StrictModel):
    """The days a rule is in force, both included; either end may be open."""

    from_: PackDate | None = Field(default=None, alias="from")
    to: PackDate | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Effective:
        if self.from_ and self.to and self.to < self.from_:
            raise ValueError(f"'to' {self.to} is before 'from' {self.from_}")
        return self


class RuleSpec(StrictModel):
    """One rule: who (``when``), on which charge items, what benefit, or which visit grants."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.\-]*$", max_length=MAX_ID_LENGTH)
    title: LocalText
    clause: str = Field(min_length=1)
    source: str = Field(min_length=1)
    effective: Effective = Effective()
    region: str | None = None
    when: When | None = None
    items: Names = ()
    #: national fee categories (医保 收费项目类别, ``"05"``) the benefit applies to, besides ``items``;
    #: which of the two wins on a line where both kinds of rule hold: ``settlement.item_rules_first``
    fee_categories: FeeCategoryIds = ()
    benefit: Benefit | None = None
    caps: Caps | None = None
    group: str = "default"
    priorities: Names = ()
    services: Names = ()
    override: Flag = False
    #: who bears the benefit (docs/settlement.md): a payer of the registry, not an insurance fund
    payer: Id = DEFAULT_PAYER
    #: what the benefit is computed on: the amount, or a part of it left after 医保 settlement
    base: Annotated[str, _choice(Text("base", "base"), BASES)] = "gross"
    #: ``visit``: the benefit works on the sum of the bases of the lines it covers
    scope: Annotated[str, _choice(Text("scope", "scope"), SCOPES)] = "line"
    #: a non-gross base on a visit without insurance data: refuse the visit, or skip the rule
    without_insurance: Annotated[str, _choice(Text("without_insurance", "without_insurance"),
                                              WITHOUT_INSURANCE)] = "error"

    def settlement_defaults(self) -> dict[str, Any]:
        """``model_dump``'s ``exclude`` for the settlement keys this rule leaves at their defaults:
        dumped without them, a rule reads as a pack written before they existed did (the
        fingerprint, ``policy show``)."""
        exclude: dict[str, Any] = {key: True for key in SETTLEMENT_KEYS
                                   if getattr(self, key) == RuleSpec.model_fields[key].default}
        if not self.fee_categories:
            exclude["fee_categories"] = True
        if self.benefit is not None:
            exclude["benefit"] = {key for key in ("patient_pays_at_most", "tiers")
                                  if getattr(self.benefit, key) is None}
        return exclude

    @property
    def settles(self) -> bool:
        """Uses something only the settlement path computes: another payer than the hospital, a
        base other than the gross amount, visit scope, a new benefit shape, or fee categories."""
        return (self.payer != DEFAULT_PAYER or self.base != "gross" or self.scope != "line"
                or (self.benefit is not None and self.benefit.settles) or bool(self.fee_categories))

    @model_validator(mode="after")
    def _settlement_keys(self) -> RuleSpec:
        given = self.model_fields_set & set(SETTLEMENT_KEYS)
        if given and self.benefit is None:
            raise ValueError(f"{', '.join(k for k in SETTLEMENT_KEYS if k in given)} "
                             "describe a benefit; this rule has none")
        if "without_insurance" in given and self.base == "gross":
            raise ValueError("without_insurance is for a rule whose base is not gross: the gross "
                             "amount is known without insurance data")
        if self.scope == "visit" and self.caps is not None and self.caps.per_line is not None:
            raise ValueError("caps.per_line limits one line; a rule with scope: visit works on the "
                             "visit's sum (use caps.per_visit)")
        return self

    @model_validator(mode="after")
    def _grants_something(self) -> RuleSpec:
        if self.fee_categories and self.benefit is None:
            raise ValueError("fee_categories and benefit go together: fee categories need a benefit")
        if bool(self.items or self.fee_categories) != (self.benefit is not None):
            raise ValueError("items and benefit go together: a benefit needs the items (or the "
                             "fee_categories) it applies to, and items need a benefit")
        if self.benefit is None and not (self.priorities or self.services):
            raise ValueError("a rule grants a benefit on items, priorities or services")
        if self.caps is not None and self.benefit is None:
            raise ValueError("caps limit a benefit; this rule has none")
        return self


class Settlement(StrictModel):
    """How concessions settle after insurance (docs/settlement.md): the payers' waterfall order,
    and whether a payer's item-level rules come before its fee-category rules. A layer sets
    either or both; a key it leaves out keeps the lower layers' value."""

    payers: tuple[Id, ...] | None = Field(default=None, min_length=1)
    item_rules_first: Flag = False

    @model_validator(mode="after")
    def _says_something(self) -> Settlement:
        if not self.model_fields_set:
            raise ValueError("an empty settlement; write payers, item_rules_first or both")
        return self

    @field_validator("payers")
    @classmethod
    def _once_each(cls, payers: tuple[str, ...] | None) -> tuple[str, ...]:
        if payers is None:  # written ``payers: null``: the default is never validated
            raise ValueError("payers is a list of payers; leave the key out to keep the lower layers' order")
        twice = sorted({p for p in payers if payers.count(p) > 1})
        if twice:
            raise InputError(Text(f"付款方 {', '.join(twice)} 重复", f"payer {', '.join(twice)} appears twice"))
        return payers


class PackSpec(StrictModel):
    """One policy-pack file."""

    schema_version: Whole = SCHEMA_VERSION
    pack: str = Field(pattern=r"^[a-z0-9][a-z0-9_.\-]*$", max_length=MAX_ID_LENGTH)
    title: LocalText
    extends: Names = ()
    region: str = "*"
    description: str | None = None
    groups: tuple[str, ...] = ()
    disable: tuple[str, ...] = ()
    settlement: Settlement | None = None
    rules: tuple[RuleSpec, ...] = ()

    @field_validator("schema_version")
    @classmethod
    def _known_version(cls, value: int) -> int:
        if value != SCHEMA_VERSION:
            raise ValueError(f"this library reads schema_version {SCHEMA_VERSION}, not {value}")
        return value
