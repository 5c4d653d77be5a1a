"""Properties of compliance reports over random dossiers (hypothesis)."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shuangyong.compliance.records import LOCATIONS, RECORD_TYPES
from shuangyong.compliance.report import Report, Status, evaluate, report_to_dict
from shuangyong.compliance.standards import StandardsSet
from tests.dossiers import HEAD, dossier

SEED = StandardsSet.load(["seed-standards"])
YEAR = 2026
days = st.integers(-20, 380).map(lambda n: dt.date(YEAR, 1, 1) + dt.timedelta(days=n))


@st.composite
def records(draw: st.DrawFn, number: int) -> dict[str, Any]:
    kind = draw(st.sampled_from(sorted(RECORD_TYPES)))
    record: dict[str, Any] = {"id": f"r{number}", "kind": kind,
                              "type": draw(st.sampled_from(sorted(RECORD_TYPES[kind])))}
    start = draw(days)
    if kind in ("facility", "pairing"):
        record["since"] = start.isoformat()
        if draw(st.booleans()):
            record["until"] = (start + dt.timedelta(days=draw(st.integers(0, 400)))).isoformat()
        record["location" if kind == "facility" else "partner"] = draw(
            st.sampled_from(sorted(LOCATIONS)) if kind == "facility" else st.sampled_from(["PAP-1", "PAP-2"]))
    else:
        record["date"] = start.isoformat()
    if kind == "coverage":
        total = draw(st.integers(1, 50))
        record |= {"reached": draw(st.integers(0, total)), "total": total}
    elif kind == "placement":
        record["count"] = draw(st.integers(0, 3))
    elif kind == "ledger_publication":
        record |= {"complete": draw(st.booleans()), "published": draw(st.booleans())}
    else:
        record["led_by"] = draw(st.sampled_from([HEAD, "李红"]))
        if kind == "activity":
            record["partner"] = draw(st.sampled_from(["PAP-1", "PAP-2"]))
    return record


@st.composite
def dossiers(draw: st.DrawFn) -> tuple[list[dict[str, Any]], str, dt.date]:
    size = draw(st.integers(0, 40))
    items = [draw(records(n)) for n in range(size)]
    return items, draw(st.sampled_from(["hospital", "township"])), draw(days)


def report(items: list[dict[str, Any]], unit_kind: str, as_of: dt.date) -> Report:
    return evaluate(dossier(*items, kind=unit_kind), SEED, as_of)


def scores(result: Report) -> list[Fraction | None]:
    return [result.score] + [h.score for h in result.headlines] + [r.score for r in result.results]


def not_lower(before: Fraction | None, after: Fraction | None) -> bool:
    return before is None or (after is not None and after >= before)


@settings(max_examples=60, deadline=None)
@given(dossiers(), records(999))
def test_adding_a_record_never_lowers_a_score(case: tuple, extra: dict[str, Any]) -> None:
    items, unit_kind, as_of = case
    before, after = report(items, unit_kind, as_of), report([*items, extra], unit_kind, as_of)
    assert all(not_lower(b, a) for b, a in zip(scores(before), scores(after), strict=True))


@settings(max_examples=60, deadline=None)
@given(dossiers(), st.data())
def test_removing_a_record_never_raises_a_score(case: tuple, data: st.DataObject) -> None:
    items, unit_kind, as_of = case
    if not items:
        return
    index = data.draw(st.integers(0, len(items) - 1))
    before = report(items, unit_kind, as_of)
    after = report(items[:index] + items[index + 1:], unit_kind, as_of)
    assert all(not_lower(a, b) for b, a in zip(scores(before), scores(after), strict=True))


@settings(max_examples=40, deadline=None)
@given(dossiers(), st.randoms(use_true_random=False))
def test_the_report_does_not_depend_on_record_order(case: tuple, random: Any) -> None:
    items, unit_kind, as_of = case
    shuffled = list(items)
    random.shuffle(shuffled)
    assert report_to_dict(report(items, unit_kind, as_of)) == report_to_dict(report(shuffled, unit_kind, as_of))


@settings(max_examples=40, deadline=None)
@given(dossiers(), st.integers(1, 400))
def test_before_every_due_date_nothing_is_missing(case: tuple, days_before: int) -> None:
    items, unit_kind, _ = case
    as_of = dt.date(YEAR, 1, 1) - dt.timedelta(days=days_before)
    statuses = {r.status for r in report(items, unit_kind, as_of).results}
    assert set() == statuses & {Status.MISSING, Status.PARTIAL}


@settings(max_examples=40, deadline=None)
@given(dossiers())
def test_scores_lie_between_zero_and_one_and_match_statuses(case: tuple) -> None:
    result = report(*case)
    for standard in result.results:
        if standard.status is Status.MET:
            assert 1 == standard.score
        elif standard.status is Status.MISSING:
            assert 0 == standard.score
        elif standard.status is Status.PARTIAL:
            assert standard.score is not None and 0 < standard.score < 1
    assert all(s is None or 0 <= s <= 1 for s in scores(result))
