"""What the engine answers: a decision per charge line, and for the whole visit."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, NamedTuple

import attrs

if TYPE_CHECKING:

    from shuangyong.text import Text


# Applied and LineDecision are built once per charge line on the hot path; as named tuples they
# cost a quarter of a frozen attrs class (measured: benchmarks/RESULTS.md), and are as immutable.
class Applied(NamedTuple):
    """One rule's share of a line's reduction (several groups can stack on one line), who bears
    it (``payer``) and what it was computed on (``base``; docs/settlement.md)."""

    rule: str
    reduction: Decimal
    payer: str = "hospital"
    base: str = "gross"


class LineDecision(NamedTuple):
    """``insurance + reduction + payable == amount``: what the insurance funds paid (as the HIS
    sent it; 0 without insurance data), what the concessions take off, and what the patient
    pays. ``rule`` is the first rule applied, or ``None``. ``payers`` is every payer's part in
    output order when settlement is in play (docs/settlement.md), else empty."""

    line_id: str
    item: str
    amount: Decimal
    reduction: Decimal
    payable: Decimal
    rule: str | None
    clause: str | None
    applied: tuple[Applied, ...]
    insurance: Decimal = Decimal("0.00")  #: as every amount, exact to the fen
    payers: tuple[tuple[str, Decimal], ...] = ()


@attrs.frozen(slots=True)
class Entitlement:
    """A visit-level grant (priorities, services) and the rule behind it."""

    rule: str
    clause: str
    priorities: tuple[str, ...]
    services: tuple[str, ...]


@attrs.frozen(slots=True)
class Totals:
    """The visit's sums of its lines' figures (``payers`` per payer, when settlement is in play)."""

    amount: Decimal
    reduction: Decimal
    payable: Decimal
    insurance: Decimal = Decimal("0.00")  #: as every amount, exact to the fen
    payers: tuple[tuple[str, Decimal], ...] = ()


@attrs.frozen(slots=True)
class Decision:
    """The answer for one visit; ``policy`` is the fingerprint of the rule set that gave it."""

    visit_id: str
    policy: str
    lines: tuple[LineDecision, ...]
    priorities: tuple[str, ...]
    services: tuple[str, ...]
    entitlements: tuple[Entitlement, ...]
    totals: Totals


@attrs.frozen(slots=True)
class RuleTrace:
    """One rule considered by ``explain``: outcome is applied, granted, outdone, nothing_left,
    skipped (a base the visit lacks, and the rule says so), not_eligible, not_effective or
    outside_region. When settlement is in play (docs/settlement.md), a line rule's trace names its
    ``payer`` and ``base``, and ``base_amount``, what the base was on the line when the rule was
    computed; otherwise these are ``None``."""

    rule: str
    title: Text
    clause: str
    source: str
    outcome: str
    reason: Text
    reduction: Decimal | None = None
    payer: str | None = None
    base: str | None = None
    base_amount: Decimal | None = None


@attrs.frozen(slots=True)
class LineTrace:
    """The rules ``explain`` considered for one line."""

    line_id: str
    item: str
    considered: tuple[RuleTrace, ...]


@attrs.frozen(slots=True)
class Explanation:
    """The decision, plus every rule considered for each line and for the visit, with reasons."""

    decision: Decision
    lines: tuple[LineTrace, ...]
    visit: tuple[RuleTrace, ...]
