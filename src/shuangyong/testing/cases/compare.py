"""A decision against what a case expects: each expectation not met, as a ``Mismatch``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from shuangyong.text import Text

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping
    from decimal import Decimal

    from shuangyong.engine import Decision
    from shuangyong.engine.decision import LineDecision, Totals
    from shuangyong.errors import ShuangyongError
    from shuangyong.testing.cases.schema import ErrorExpect, Expect, LineExpect, TotalsExpect


@attrs.frozen(slots=True)
class Mismatch:
    """One expectation not met: ``subject`` is a line id or ``totals``/``priorities``/… ."""

    subject: str
    key: str
    expected: str
    got: str
    #: for priorities, services and rules: the names in one answer and not the other
    differing: frozenset[str] = frozenset()


def rules_applied(decision: Decision) -> frozenset[str]:
    """The rules that reduced a line or granted a priority or service."""
    return frozenset({a.rule for line in decision.lines for a in line.applied}
                     | {e.rule for e in decision.entitlements})


def _names(values: Iterable[str]) -> str:
    return ", ".join(sorted(values)) or "—"


def compare(expect: Expect, decision: Decision) -> Iterator[Mismatch]:
    """Each expectation of ``expect`` that ``decision`` does not meet."""
    got_lines = {line.line_id: line for line in decision.lines}
    for line_id, wanted in (expect.lines or {}).items():
        line = got_lines.get(line_id)
        if line is None:
            yield Mismatch(line_id, "line", line_id, Text("无此行", "no such line").en)
            continue
        yield from _figures(line_id, wanted, line, ("reduction", "payable", "insurance"))
        if "rule" in wanted.model_fields_set and wanted.rule != line.rule:
            yield Mismatch(line_id, "rule", wanted.rule or "—", line.rule or "—")
        if wanted.applied is not None:
            shares = {a.rule: a.reduction for a in line.applied}
            if shares != wanted.applied:
                yield Mismatch(line_id, "applied", _shares(wanted.applied), _shares(shares))
    if expect.totals is not None:
        yield from _figures("totals", expect.totals, decision.totals, ("amount", "reduction", "payable", "insurance"))
    for key, got in (("priorities", decision.priorities), ("services", decision.services),
                     ("rules", rules_applied(decision))):
        wanted_names = getattr(expect, key)
        if wanted_names is not None and set(wanted_names) != set(got):
            yield Mismatch(key, key, _names(wanted_names), _names(got), frozenset(wanted_names) ^ frozenset(got))


def _figures(subject: str, wanted: LineExpect | TotalsExpect, got: LineDecision | Totals,
             keys: tuple[str, ...]) -> Iterator[Mismatch]:
    """The amounts ``wanted`` names that ``got`` does not have, then its ``payers`` if named."""
    for key in keys:
        value = getattr(wanted, key)
        if value is not None and value != getattr(got, key):
            yield Mismatch(subject, key, str(value), str(getattr(got, key)))
    if wanted.payers is not None:
        payers = dict(got.payers)
        if payers != wanted.payers:
            yield Mismatch(subject, "payers", _shares(wanted.payers), _shares(payers))


def _shares(shares: Mapping[str, Decimal]) -> str:
    return ", ".join(f"{rule} {amount}" for rule, amount in sorted(shares.items())) or "—"


def error_mismatches(expected: ErrorExpect, error: ShuangyongError) -> Iterator[Mismatch]:
    """How the input error raised differs from the one the case expects."""
    if expected.type is not None and expected.type != type(error).__name__:
        yield Mismatch("error", "type", expected.type, type(error).__name__)
    if expected.field is not None and expected.field != error.field:
        yield Mismatch("error", "field", expected.field, error.field or "—")
    said = (error.message.en, error.message.zh)
    if expected.message is not None and not any(expected.message in text for text in said):
        yield Mismatch("error", "message", f"…{expected.message}…", error.message.en)
