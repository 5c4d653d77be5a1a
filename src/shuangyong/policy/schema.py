"""The policy-pack file format (DESIGN §5), validated with pydantic; unknown keys are refused.

This module only describes the shape of one file. Cross-file checks (known category ids,
``extends``, overrides) happen in :mod:`shuangyong.policy.layers`, where the registry is known.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from shuangyong.dates import parse_date
from shuangyong.money import parse_amount, parse_rate

SCHEMA_VERSION = 1


class StrictModel(BaseModel):
    """Base of every file-format model (policy packs, standards packs, dossiers): unknown keys are
    refused, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _as_tuple(value: Any) -> Any:
    """Let a single value stand for a one-item list (``category: serviceman``)."""
    return (value,) if isinstance(value, str) else value


Names = Annotated[tuple[str, ...], BeforeValidator(_as_tuple)]


def _yuan(value: Any) -> Decimal:
    return parse_amount(value)


Yuan = Annotated[Decimal, BeforeValidator(_yuan)]
PackDate = Annotated[dt.date, BeforeValidator(parse_date)]


class LocalText(StrictModel):
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class Range(StrictModel):
    """Inclusive bounds; either may be left out."""

    min: int | None = None
    max: int | None = None

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


class Benefit(StrictModel):
    """Exactly one of: a percentage reduction, a fixed reduction, a waiver, a deposit waiver."""

    reduce: str | None = None
    fixed: Yuan | None = None
    waive: bool | None = None
    waive_deposit: bool | None = None

    @field_validator("reduce")
    @classmethod
    def _percentage(cls, value: str | None) -> str | None:
        if value is not None:
            parse_rate(value)
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> Benefit:
        chosen = [name for name in ("reduce", "fixed", "waive", "waive_deposit")
                  if getattr(self, name) is not None and getattr(self, name) is not False]
        if len(chosen) != 1:
            raise ValueError("a benefit is exactly one of reduce, fixed, waive: true, "
                             f"waive_deposit: true (got {', '.join(chosen) or 'none'})")
        return self

    @property
    def rate(self) -> Decimal | None:
        return parse_rate(self.reduce) if self.reduce is not None else None


class Caps(StrictModel):
    """Most a rule may take off one line, off one whole visit, and off one beneficiary's year.

    ``per_year`` needs memory of earlier visits, so the ledger enforces it when posting
    (:mod:`shuangyong.ledger`); ``Engine.evaluate`` alone reports the amount before it.
    """

    per_line: Yuan | None = None
    per_visit: Yuan | None = None
    per_year: Yuan | None = None


class Effective(StrictModel):
    from_: PackDate | None = Field(default=None, alias="from")
    to: PackDate | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Effective:
        if self.from_ and self.to and self.to < self.from_:
            raise ValueError(f"'to' {self.to} is before 'from' {self.from_}")
        return self


class RuleSpec(StrictModel):
    """One rule: who (``when``), on which charge items, what benefit, or which visit grants."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.\-]*$")
    title: LocalText
    clause: str = Field(min_length=1)
    source: str = Field(min_length=1)
    effective: Effective = Effective()
    region: str | None = None
    when: When | None = None
    items: Names = ()
    benefit: Benefit | None = None
    caps: Caps | None = None
    group: str = "default"
    priorities: Names = ()
    services: Names = ()
    override: bool = False

    @model_validator(mode="after")
    def _grants_something(self) -> RuleSpec:
        if bool(self.items) != (self.benefit is not None):
            raise ValueError("items and benefit go together: a benefit needs the items it "
                             "applies to, and items need a benefit")
        if self.benefit is None and not (self.priorities or self.services):
            raise ValueError("a rule grants a benefit on items, priorities or services")
        if self.caps is not None and self.benefit is None:
            raise ValueError("caps limit a benefit; this rule has none")
        return self


class PackSpec(StrictModel):
    """One policy-pack file."""

    schema_version: int = SCHEMA_VERSION
    pack: str = Field(pattern=r"^[a-z0-9][a-z0-9_.\-]*$")
    title: LocalText
    extends: Names = ()
    region: str = "*"
    description: str | None = None
    groups: tuple[str, ...] = ()
    disable: tuple[str, ...] = ()
    rules: tuple[RuleSpec, ...] = ()

    @field_validator("schema_version")
    @classmethod
    def _known_version(cls, value: int) -> int:
        if value != SCHEMA_VERSION:
            raise ValueError(f"this library reads schema_version {SCHEMA_VERSION}, not {value}")
        return value
