"""Evaluating a dossier against a standards set as of a date: statuses, gaps, scores.

Statuses come from the requirements a check lists, the same way for every kind:

* ``not_applicable`` — the standard is not for this kind of unit;
* ``met`` — every requirement is satisfied (early is fine);
* ``partial`` / ``missing`` — a requirement is overdue (its due date is before or on as-of and
  it is not satisfied), with / without anything else found;
* ``not_yet_due`` — nothing is overdue, but not everything is done yet.

A standard's score is the mean progress of its *relevant* requirements: those that are due, and
those already satisfied. A requirement that is not yet due and not done counts for nothing
either way, so adding a record can only raise a score and removing one only lower it (the
property tests check exactly this). Scores are exact fractions; the JSON shows them as percent.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import attrs

from shuangyong.compliance.checks.base import Context, Requirement
from shuangyong.text import Text

if TYPE_CHECKING:
    from collections.abc import Iterable

    from shuangyong.compliance.records import Dossier
    from shuangyong.compliance.standards import Headline, Standard, StandardsSet

REPORT_SCHEMA = "shuangyong.compliance/1"


class Status(StrEnum):
    """Where a standard stands on the report's date."""

    MET = "met"
    PARTIAL = "partial"
    MISSING = "missing"
    NOT_YET_DUE = "not_yet_due"
    NOT_APPLICABLE = "not_applicable"

    @property
    def label(self) -> Text:
        """The status's name, in zh and en."""
        return STATUS_LABELS[self]


STATUS_LABELS = {
    Status.MET: Text("已达标", "met"),
    Status.PARTIAL: Text("部分达标", "partial"),
    Status.MISSING: Text("缺失", "missing"),
    Status.NOT_YET_DUE: Text("未到期", "not yet due"),
    Status.NOT_APPLICABLE: Text("不适用", "not applicable"),
}


@attrs.frozen(slots=True)
class StandardResult:
    """One standard checked: its status, its requirements, and the share of the due ones met."""

    standard: Standard
    status: Status
    requirements: tuple[Requirement, ...]
    score: Fraction | None  #: None when nothing is relevant yet (not due, or not applicable)

    @property
    def evidence(self) -> tuple[str, ...]:
        """The ids of the records that counted, each once, in order."""
        return tuple(dict.fromkeys(i for r in self.requirements for i in r.found))

    def gaps(self, as_of: dt.date) -> list[Text]:
        """Sentences for what is not done: overdue first, then what falls due later."""
        open_ = [r for r in self.requirements if not r.satisfied]
        return [r.gap() for r in sorted(open_, key=lambda r: (r.due > as_of, r.due))]


@attrs.frozen(slots=True)
class HeadlineResult:
    """The standards of one headline, and their weighted score."""

    headline: Headline
    results: tuple[StandardResult, ...]
    score: Fraction | None


@attrs.frozen(slots=True)
class Report:
    """A dossier checked against a standards set on ``as_of``."""

    dossier: Dossier
    standards: StandardsSet
    as_of: dt.date
    headlines: tuple[HeadlineResult, ...]
    score: Fraction | None

    @property
    def results(self) -> tuple[StandardResult, ...]:
        """Every standard's result, headline by headline."""
        return tuple(r for h in self.headlines for r in h.results)

    def counts(self) -> dict[Status, int]:
        """How many standards have each status (every status present, zero or not)."""
        counts = dict.fromkeys(Status, 0)
        for result in self.results:
            counts[result.status] += 1
        return counts

    def next_due(self, limit: int = 5) -> list[tuple[StandardResult, Requirement]]:
        """The open requirements that fall due next after as-of, soonest first."""
        upcoming = [(r, q) for r in self.results for q in r.requirements
                    if r.status is not Status.NOT_APPLICABLE and not q.satisfied and q.due > self.as_of]
        return sorted(upcoming, key=lambda pair: (pair[1].due, pair[0].standard.id))[:limit]


def evaluate_standard(standard: Standard, context: Context) -> StandardResult:
    """Check one standard; ``score`` counts only requirements met or already due."""
    if not standard.applies(context.dossier.unit.kind):
        return StandardResult(standard, Status.NOT_APPLICABLE, (), None)
    requirements = tuple(standard.kind.requirements(standard.options, context))
    relevant = [r for r in requirements if r.satisfied or r.due <= context.as_of]
    score = (sum((Fraction(min(len(r.found), r.needed), r.needed) for r in relevant), Fraction(0)) / len(relevant)
             if relevant else None)
    overdue = [r for r in relevant if not r.satisfied]
    if all(r.satisfied for r in requirements):
        status = Status.MET
    elif overdue:
        status = Status.PARTIAL if score else Status.MISSING
    else:
        status = Status.NOT_YET_DUE
    return StandardResult(standard, status, requirements, score)


def _weighted(results: Iterable[StandardResult]) -> Fraction | None:
    scored = [(Fraction(r.standard.weight), r.score) for r in results if r.score is not None]
    total = sum((weight for weight, _ in scored), Fraction(0))
    return sum((weight * score for weight, score in scored), Fraction(0)) / total if scored else None


def evaluate(dossier: Dossier, standards: StandardsSet, as_of: dt.date | None = None) -> Report:
    """The report of ``dossier`` on ``as_of`` (default: the last day of its year)."""
    as_of = as_of or dt.date(dossier.year, 12, 31)
    context = Context(dossier.up_to(as_of), as_of)
    headlines = []
    for headline in standards.headlines:
        results = tuple(evaluate_standard(s, context) for s in standards.standards if s.headline == headline.id)
        if results:
            headlines.append(HeadlineResult(headline, results, _weighted(results)))
    return Report(dossier, standards, as_of, tuple(headlines), _weighted(r for h in headlines for r in h.results))


def percent(score: Fraction | None) -> str | None:
    """A score as a percentage with one decimal, half up (scores are not money: no yuan rounding)."""
    if score is None:
        return None
    value = Decimal(score.numerator * 100) / Decimal(score.denominator)
    return str(value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _requirement_dict(requirement: Requirement, as_of: dt.date) -> dict[str, Any]:
    return {
        "label": requirement.label.as_dict(),
        "subject": requirement.subject.as_dict(),
        "window": {"start": str(requirement.window.start), "end": str(requirement.window.end)},
        "due": requirement.due.isoformat(),
        "needed": requirement.needed,
        "found": list(requirement.found),
        "satisfied": requirement.satisfied,
        "overdue": not requirement.satisfied and requirement.due <= as_of,
    }


def report_to_dict(report: Report) -> dict[str, Any]:
    """The JSON form (schema ``shuangyong.compliance/1``, documented in docs/compliance.md)."""
    unit = report.dossier.unit
    return {
        "schema": REPORT_SCHEMA,
        "unit": {"id": unit.id, "name": unit.name.as_dict(), "kind": unit.kind, "head": unit.head},
        "year": report.dossier.year,
        "as_of": report.as_of.isoformat(),
        "packs": list(report.standards.packs),
        "score": percent(report.score),
        "counts": {status.value: count for status, count in report.counts().items()},
        "headlines": [{
            "id": h.headline.id,
            "title": h.headline.title.as_dict(),
            "score": percent(h.score),
            "standards": [{
                "id": r.standard.id,
                "title": r.standard.title.as_dict(),
                "status": r.status.value,
                "score": percent(r.score),
                "weight": str(r.standard.weight),
                "check": r.standard.kind.name,
                "clause": r.standard.clause,
                "source": r.standard.source,
                "evidence": list(r.evidence),
                "gaps": [gap.as_dict() for gap in r.gaps(report.as_of)],
                "requirements": [_requirement_dict(q, report.as_of) for q in r.requirements],
            } for r in h.results],
        } for h in report.headlines],
        "next_due": [{"standard": r.standard.id, "due": q.due.isoformat(), "gap": q.gap().as_dict()}
                     for r, q in report.next_due()],
    }
