"""Properties of every calculation, on the built-in packs and on random packs."""

from __future__ import annotations

import datetime as dt

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from shuangyong.dates import DateWindow
from shuangyong.engine import Decision, Engine
from shuangyong.interchange import decision_to_dict
from shuangyong.model import Credential, Visit

from .strategies import CATEGORIES, CREDENTIALS, REGISTRY, credentials, pack_sets, visits

SEED = Engine.from_packs("seed-example")
settings.register_profile("shuangyong", deadline=None, max_examples=150)
settings.load_profile("shuangyong")


def _check_sums(decision: Decision) -> None:
    for line in decision.lines:
        assert line.amount == line.reduction + line.payable
        assert 0 <= line.reduction <= line.amount
        assert line.reduction == sum((a.reduction for a in line.applied), start=line.reduction * 0)
    totals = decision.totals
    assert totals.amount == totals.reduction + totals.payable
    assert totals.reduction == sum((line.reduction for line in decision.lines), start=totals.amount * 0)


@given(visits())
def test_seed_pack_sums_and_bounds(visit: Visit) -> None:
    """reduction + payable == amount and 0 ≤ reduction ≤ amount, line by line and in total."""
    _check_sums(SEED.evaluate(visit))


@given(pack_sets(), visits())
def test_random_pack_sums_and_bounds(policy, visit: Visit) -> None:  # type: ignore[no-untyped-def]
    """The same bounds hold for random packs with stacking groups and caps."""
    _check_sums(Engine(policy, REGISTRY).evaluate(visit))


@given(pack_sets(), visits())
def test_per_visit_caps_never_exceeded(policy, visit: Visit) -> None:  # type: ignore[no-untyped-def]
    """No rule takes more off a visit than its per-visit cap, nor more off a line than per-line."""
    decision = Engine(policy, REGISTRY).evaluate(visit)
    for rule in policy.rules:
        caps = rule.spec.caps
        taken = [a.reduction for line in decision.lines for a in line.applied if a.rule == rule.spec.id]
        if caps and caps.per_visit is not None:
            assert sum(taken) <= caps.per_visit
        if caps and caps.per_line is not None:
            assert all(t <= caps.per_line for t in taken)


@given(pack_sets(), visits())
def test_deterministic(policy, visit: Visit) -> None:  # type: ignore[no-untyped-def]
    """Two engines compiled from the same packs give byte-identical output for the same visit."""
    first = decision_to_dict(Engine(policy, REGISTRY).evaluate(visit))
    second = decision_to_dict(Engine(policy, REGISTRY).evaluate(visit))
    assert first == second


@given(pack_sets(), visits(), st.randoms(use_true_random=False))
def test_line_order_independent(policy, visit: Visit, random) -> None:  # type: ignore[no-untyped-def]
    """Shuffling the lines changes nothing in the output, per-visit caps included."""
    engine = Engine(policy, REGISTRY)
    lines = list(visit.lines)
    random.shuffle(lines)
    assert decision_to_dict(engine.evaluate(visit)) == \
        decision_to_dict(engine.evaluate(attrs.evolve(visit, lines=tuple(lines))))


def _per_line(decision: Decision) -> dict[str, object]:
    return {line.line_id: line.reduction for line in decision.lines}


def _more_eligible(visit: Visit, category: str | None, credential: Credential | None) -> Visit:
    patient = visit.patient
    if category is not None:
        patient = attrs.evolve(patient, categories=patient.categories | {category},
                               disability_level=patient.disability_level or 5)
    if credential is not None:
        patient = attrs.evolve(patient, credentials=patient.credentials + (credential,))
    return attrs.evolve(visit, patient=patient)


@given(visits(), st.one_of(st.none(), st.sampled_from(CATEGORIES)), st.sampled_from(CREDENTIALS),
       st.booleans())
def test_seed_monotone_in_eligibility(visit: Visit, category, kind, grant_card) -> None:  # type: ignore[no-untyped-def]
    """Granting a category or a valid credential never lowers any line's reduction (seed pack)."""
    card = Credential(kind, "X", DateWindow(visit.date, visit.date)) if grant_card else None
    before = SEED.evaluate(visit)
    after = SEED.evaluate(_more_eligible(visit, category, card))
    for line_id, reduction in _per_line(before).items():
        assert _per_line(after)[line_id] >= reduction  # type: ignore[operator]
    assert set(before.priorities) <= set(after.priorities)
    assert set(before.services) <= set(after.services)


@given(pack_sets(per_visit_caps=False), visits(), st.sampled_from(CATEGORIES), credentials())
def test_random_monotone_in_eligibility(policy, visit: Visit, category, credential) -> None:  # type: ignore[no-untyped-def]
    """With stacking and per-line caps (no shared per-visit caps), more eligibility never lowers
    a line's reduction."""
    engine = Engine(policy, REGISTRY)
    before = _per_line(engine.evaluate(visit))
    after = _per_line(engine.evaluate(_more_eligible(visit, category, credential)))
    assert all(after[k] >= v for k, v in before.items())  # type: ignore[operator]


@given(visits(), st.sampled_from(CREDENTIALS), st.integers(1, 3000))
def test_expired_credential_grants_nothing(visit: Visit, kind: str, days_ago: int) -> None:
    """A credential that ended before the visit date counts as no credential at all."""
    plain = attrs.evolve(visit, patient=attrs.evolve(visit.patient, credentials=()))
    expired = Credential(kind, "X", DateWindow(None, visit.date - dt.timedelta(days=days_ago)))
    not_yet = Credential(kind, "Y", DateWindow(visit.date + dt.timedelta(days=days_ago), None))
    with_dead_cards = attrs.evolve(plain, patient=attrs.evolve(plain.patient, credentials=(expired, not_yet)))
    assert decision_to_dict(SEED.evaluate(plain)) == decision_to_dict(SEED.evaluate(with_dead_cards))


@given(pack_sets(), visits())
def test_output_amounts_have_two_decimals(policy, visit: Visit) -> None:  # type: ignore[no-untyped-def]
    """Every amount written is exact to the fen: the invariant ``format_amount`` relies on."""
    data = decision_to_dict(Engine(policy, REGISTRY).evaluate(visit))
    amounts = [line[key] for line in data["lines"] for key in ("amount", "reduction", "payable")]
    amounts += [a["reduction"] for line in data["lines"] for a in line["applied"]]
    amounts += list(data["totals"].values())
    for text in amounts:
        whole, _, fen = text.partition(".")
        assert whole.isdigit() and len(fen) == 2 and fen.isdigit(), text
