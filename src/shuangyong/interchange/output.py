"""JSON contract v1 (DESIGN §7), the output side: decisions, explanations and error objects as
JSON text (written directly, the CLI's hot path) or as Python data.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Literal

from shuangyong.engine.decision import Applied, Decision, Entitlement, Explanation, LineDecision, RuleTrace
from shuangyong.errors import ShuangyongError
from shuangyong.interchange.framing import Refused
from shuangyong.model.registry import PATIENT
from shuangyong.money import ZERO, format_amount

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from decimal import Decimal

    from shuangyong.engine.decision import Applied, Decision, Entitlement, Explanation, LineDecision, RuleTrace
    from shuangyong.errors import ShuangyongError
    from shuangyong.interchange.framing import Outcome
    from shuangyong.model.visit import Visit

quote = json.encoder.encode_basestring  # C-accelerated, ensure_ascii=False
_PAYERS = attrgetter("payers")


def _text(value: str | None) -> str:
    return "null" if value is None else quote(value)


def _names(values: Iterable[str]) -> str:
    return "[" + ",".join(map(quote, values)) + "]"


@lru_cache(maxsize=4096)
def rule_json(rule: str | None, clause: str | None) -> str:
    """The rule and clause members of a line, escaped once per rule rather than once per line."""
    return f'"rule":{_text(rule)},"clause":{_text(clause)}'


def _applied_json(applied: tuple[Applied, ...]) -> str:
    return ",".join([f'{{"rule":{quote(a.rule)},"reduction":"{a.reduction!s}"}}' for a in applied])


def _lines_json(lines: tuple[LineDecision, ...]) -> str:
    """A visit's lines (contract 1.0), in one comprehension: no call per line but the rule's cache
    lookup, and none for the ``applied`` of a line no rule touched (most of them)."""
    return ",".join([
        f'{{"line_id":{quote(line.line_id)},"item":{quote(line.item)},"amount":"{line.amount!s}",'
        f'"reduction":"{line.reduction!s}","payable":"{line.payable!s}",{rule_json(line.rule, line.clause)},'
        f'"applied":[{_applied_json(line.applied) if line.applied else ""}]}}' for line in lines])


def _payers_json(payers: tuple[tuple[str, Decimal], ...], patient: Decimal) -> str:
    """Who pays what (contract 1.1): every part but zero ones, in the engine's order (funds, then
    concession payers in waterfall order), then ``patient``, always, which is what is payable."""
    parts = "".join([f'{quote(payer)}:"{amount!s}",' for payer, amount in payers if amount and payer != PATIENT])
    return f'{{{parts}"{PATIENT}":"{patient!s}"}}'


def _settled_line_json(line: LineDecision) -> str:
    """A line when settlement is in play: each applied share with its payer and base, and the
    line's insurance and payer breakdown at the end (``or ZERO``: the fields' default, a bare
    ``Decimal(0)``, would print as ``0``)."""
    applied = ",".join([f'{{"rule":{quote(a.rule)},"reduction":"{a.reduction!s}","payer":{quote(a.payer)},'
                        f'"base":{quote(a.base)}}}' for a in line.applied])
    return (f'{{"line_id":{quote(line.line_id)},"item":{quote(line.item)},"amount":"{line.amount!s}",'
            f'"reduction":"{line.reduction!s}","payable":"{line.payable!s}",{rule_json(line.rule, line.clause)},'
            f'"applied":[{applied}],"insurance":"{line.insurance or ZERO!s}",'
            f'"payers":{_payers_json(line.payers, line.payable)}}}')


def decision_to_json(decision: Decision) -> str:
    """The contract's output object as compact JSON text, written directly (the CLI's hot path).

    Amounts are written with ``str`` (``!s``: formatting a Decimal with ``format`` costs three
    times as much): every amount the engine holds is quantized to the fen (see
    ``money.format_amount``), so each has exactly two decimals. When settlement is in play (the
    engine gave lines a payer breakdown), lines and totals also say who pays what (contract 1.1);
    otherwise the text is contract 1.0's, byte for byte.
    """
    totals = decision.totals
    settled = any(map(_PAYERS, decision.lines))
    lines = ",".join(map(_settled_line_json, decision.lines)) if settled else _lines_json(decision.lines)
    settlement = (f',"insurance":"{totals.insurance or ZERO!s}","payers":{_payers_json(totals.payers, totals.payable)}'
                  if settled else "")
    return (f'{{"visit_id":{quote(decision.visit_id)},"policy":{quote(decision.policy)},'
            f'"lines":[{lines}],'
            f'{grants_json(decision.priorities, decision.services, decision.entitlements)},'
            f'"totals":{{"amount":"{totals.amount!s}","reduction":"{totals.reduction!s}",'
            f'"payable":"{totals.payable!s}"{settlement}}}}}')


@lru_cache(maxsize=1024)
def grants_json(priorities: tuple[str, ...], services: tuple[str, ...],
                entitlements: tuple[Entitlement, ...]) -> str:
    """The visit-level members of a decision (priorities, services, entitlements), as JSON text.

    Shared by ``decision_to_json`` and the batch path. Cached: a run grants a handful of distinct
    sets, and writing one costs as much as a visit's lines.
    """
    granted = ",".join(
        f'{{"rule":{quote(e.rule)},"clause":{quote(e.clause)},"priorities":{_names(e.priorities)},'
        f'"services":{_names(e.services)}}}' for e in entitlements)
    return f'"priorities":{_names(priorities)},"services":{_names(services)},"entitlements":[{granted}]'


def result_json(outcome: Outcome[tuple[Visit, Decision]]) -> str:
    """One JSON Lines line of output: the decision, or the error object naming the record."""
    if isinstance(outcome, Refused):
        return json.dumps(error_to_dict(outcome.error, outcome.record.visit_id()),
                          ensure_ascii=False, separators=(",", ":"))
    return decision_to_json(outcome.value[1])


#: how a run's decisions are laid out as text: one JSON object (indented), a JSON array of them
#: (indented), or JSON Lines (one compact object a line)
Layout = Literal["object", "array", "lines"]


def layout_for(fmt: str, shape: str) -> Layout:
    """The layout of format FMT (``auto``, ``json`` or ``jsonl``) for an input of SHAPE
    (``object``, ``array`` or ``lines``): ``auto`` mirrors the input, and ``json`` writes an
    array unless the input was one object."""
    if fmt == "jsonl" or (fmt == "auto" and shape == "lines"):
        return "lines"
    return "object" if shape == "object" else "array"


def results_text(outcomes: Iterable[Outcome[tuple[Visit, Decision]]], layout: Layout) -> Iterator[str]:
    """A run's output, piece by piece, in input order: each decision, or the error object in a
    bad record's place. The one writer of ``evaluate``'s JSON and JSON Lines, for the command
    line and the HTTP server alike, so that the two answer the same input with the same bytes.
    Lazy: a piece is made when the outcome before it has been written (JSON Lines streams)."""
    if layout == "array":
        yield "[\n"
    for count, outcome in enumerate(outcomes):
        if layout == "lines":
            yield result_json(outcome) + "\n"
            continue
        payload = (error_to_dict(outcome.error, outcome.record.visit_id()) if isinstance(outcome, Refused)
                   else decision_to_dict(outcome.value[1]))
        text = json.dumps(payload, ensure_ascii=False, indent=2)
        yield (",\n" if count else "") + text if layout == "array" else text + "\n"
    if layout == "array":
        yield "\n]\n"


def explanation_json(outcome: Outcome[tuple[Visit, Explanation]]) -> str:
    """One line of ``explain --format json`` (without its newline): the explanation, or the error
    object naming the bad record."""
    if isinstance(outcome, Refused):
        return json.dumps(error_to_dict(outcome.error, outcome.record.visit_id()), ensure_ascii=False)
    return json.dumps(explanation_to_dict(outcome.value[1]), ensure_ascii=False)


def decision_to_dict(decision: Decision) -> dict[str, Any]:
    """The contract's output object as Python data (parsed from ``decision_to_json``, so the
    two can never disagree)."""
    return json.loads(decision_to_json(decision))


def error_to_dict(error: ShuangyongError, visit_id: str | None) -> dict[str, Any]:
    """The error object the output carries in a bad record's place."""
    return {"visit_id": visit_id, "error": error.as_dict()}


def _trace_dict(trace: RuleTrace) -> dict[str, Any]:
    traced = {
        "rule": trace.rule,
        "title": trace.title.as_dict(),
        "outcome": trace.outcome,
        "reason": trace.reason.as_dict(),
        "reduction": format_amount(trace.reduction) if trace.reduction is not None else None,
        "clause": trace.clause,
        "source": trace.source,
    }
    if trace.payer is not None:  # settlement in play (docs/settlement.md)
        traced.update(payer=trace.payer, base=trace.base,
                      base_amount=format_amount(trace.base_amount) if trace.base_amount is not None else None)
    return traced


def explanation_to_dict(explanation: Explanation) -> dict[str, Any]:
    """``explain``'s JSON: the decision, and every rule considered for each line."""
    return {
        "decision": decision_to_dict(explanation.decision),
        "lines": [{"line_id": t.line_id, "item": t.item,
                   "considered": [_trace_dict(c) for c in t.considered]} for t in explanation.lines],
        "visit": [_trace_dict(c) for c in explanation.visit],
    }
