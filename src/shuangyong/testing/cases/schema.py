"""What a case file may say (pydantic, unknown keys refused), and a case ready to run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
from pydantic import BaseModel, ConfigDict, Field, model_validator

from shuangyong.engine import DEFAULT_PACKS
from shuangyong.policy.schema import Names, Yuan

if TYPE_CHECKING:
    from pathlib import Path


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LineExpect(_Strict):
    """What one line must show; keys left out are not checked (``rule: null`` is checked)."""

    reduction: Yuan | None = None
    payable: Yuan | None = None
    rule: str | None = None
    applied: dict[str, Yuan] | None = None
    #: settlement (docs/settlement.md): what the funds paid, and who pays what (every payer with
    #: a part, the patient always), as the decision's ``payers``
    insurance: Yuan | None = None
    payers: dict[str, Yuan] | None = None


class TotalsExpect(_Strict):
    """The visit totals a case expects (any of them)."""

    amount: Yuan | None = None
    reduction: Yuan | None = None
    payable: Yuan | None = None
    insurance: Yuan | None = None
    payers: dict[str, Yuan] | None = None


class ErrorExpect(_Strict):
    """An input error the visit must raise: its class name, field, and a piece of its message."""

    type: str | None = None
    field: str | None = None
    message: str | None = None


class Expect(_Strict):
    """What a case expects; it must name at least one thing to check."""

    lines: dict[str, LineExpect] | None = None
    totals: TotalsExpect | None = None
    priorities: Names | None = None
    services: Names | None = None
    #: exactly the rules that reduced a line or granted a priority or service
    rules: Names | None = None
    error: ErrorExpect | None = None

    @model_validator(mode="after")
    def _checks_something(self) -> Expect:
        if not self.model_fields_set:  # a case that expects nothing passes whatever the packs say
            raise ValueError("expect names nothing to check; give lines, totals, priorities, services, "
                             "rules or error")
        return self


class CaseSpec(_Strict):
    """One case: a name, its packs (else the file's), a visit, what to expect."""

    name: str = Field(min_length=1)
    packs: Names | None = None
    visit: dict[str, Any] | str
    expect: Expect


class CaseFileSpec(_Strict):
    """A case file: default packs, a charge-code table, defaults merged into each visit, the cases."""

    packs: Names = DEFAULT_PACKS
    codes: str | None = None
    defaults: dict[str, Any] = {}
    cases: list[CaseSpec] = Field(min_length=1)


@attrs.frozen(slots=True)
class Case:
    """One case, ready to run: the packs, the visit record (JSON contract) and what to expect."""

    name: str
    where: str  #: file:line of the case, for every message about it
    packs: tuple[str, ...]
    record: dict[str, Any]  #: the visit as the JSON contract
    expect: Expect
    codes: Path | None
