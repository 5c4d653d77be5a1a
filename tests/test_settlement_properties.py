"""Settlement's properties (issue 16) on random packs with the settlement keys and random insured
visits, and the failure paths of the checks that guard them.

- every payer's part, the patient's included, is at least 0, and the parts add up to the amount
  on every line and for the visit (``check_sums``, ``check_bounds``);
- without insurance data and without the new pack keys, the settlement path decides exactly as
  the fast path (and ``evaluate`` takes the fast path);
- the order the lines come in changes nothing, visit-scope allocations included;
- no rule takes more than its per-line or per-visit cap, visit-scope rules included;
- more insurance never raises what the patient pays for the visit;
- ``explain`` gives ``evaluate``'s amounts and a trace for every share applied.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import attrs
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from shuangyong.engine import Applied, Decision, Engine
from shuangyong.errors import InputError
from shuangyong.model import Beneficiary, ChargeLine, Visit
from shuangyong.model.insurance import Insurance
from shuangyong.money import from_fen, to_fen
from shuangyong.policy import merge, parse_pack
from shuangyong.policy.layers import PolicySet
from shuangyong.testing.properties import PropertyFailure, check_bounds, check_caps, check_sums
from shuangyong.testing.strategies import default_registry, insured_visits, pack_sets, visits

REGISTRY = default_registry()
SUBSIDY = "youfu_medical_subsidy"
settings.register_profile("settlement", deadline=None, max_examples=150)
settings.load_profile("settlement")

#: few item kinds, rules always in force and everywhere: so that rules meet lines and stack often
ITEMS = ("drug", "exam", "registration", "blood_deposit")
SETTLING = pack_sets(settlement=True, registry=REGISTRY, items=ITEMS, effective_dates=False, regions=False)


def decide(policy: PolicySet, visit: Visit) -> tuple[Engine, Decision]:
    engine = Engine(policy, REGISTRY)
    return engine, engine.evaluate(visit)


@given(SETTLING, insured_visits(registry=REGISTRY, items=ITEMS))
def test_parts_add_up_and_none_is_negative(policy: PolicySet, visit: Visit) -> None:
    """Funds + every concession payer + the patient = the amount, on every line and in total."""
    _, decision = decide(policy, visit)
    check_sums(decision)
    check_bounds(decision)
    assert all(line.payers and line.payers[-1] == ("patient", line.payable) for line in decision.lines)


@given(SETTLING, visits(registry=REGISTRY, items=ITEMS))
def test_without_insurance_data_a_visit_is_decided_or_refused_by_name(policy: PolicySet, visit: Visit) -> None:
    """A visit without insurance data under settlement packs adds up too, or, when a rule needs a
    patient share it lacks and says ``error``, is refused naming that rule and the visit."""
    try:
        _, decision = decide(policy, visit)
    except InputError as error:
        assert error.record == visit.visit_id
        rule_id = error.message.en.split()[1]
        assert policy.rule(rule_id).spec.without_insurance == "error"
        assert policy.rule(rule_id).spec.base != "gross"
        return
    check_sums(decision)
    check_bounds(decision)
    assert Decimal("0.00") == decision.totals.insurance


@given(pack_sets(registry=REGISTRY, items=ITEMS), visits(registry=REGISTRY, items=ITEMS))
def test_without_insurance_and_new_keys_the_fast_path_decides(policy: PolicySet, visit: Visit) -> None:
    """Old packs, no insurance data: ``evaluate`` takes today's fast path (no payer breakdown),
    and the settlement path, forced, gives the same lines, shares and totals."""
    engine, fast = decide(policy, visit)
    assert not engine.settles(visit)
    settled = engine.settle(visit)
    assert [line[:8] for line in fast.lines] == [line[:8] for line in settled.lines]
    assert (fast.totals.amount, fast.totals.reduction, fast.totals.payable) == (
        settled.totals.amount, settled.totals.reduction, settled.totals.payable)
    assert {()} | {line.payers for line in fast.lines} == {()}


@given(SETTLING, insured_visits(registry=REGISTRY, items=ITEMS, max_lines=8), st.data())
def test_line_order_changes_nothing(policy: PolicySet, visit: Visit, data: st.DataObject) -> None:
    """The lines in any order: the same decision, to the fen (allocations included)."""
    engine, decision = decide(policy, visit)
    shuffled = attrs.evolve(visit, lines=tuple(data.draw(st.permutations(visit.lines))))
    assert decision == engine.evaluate(shuffled)


@given(SETTLING, insured_visits(registry=REGISTRY, items=ITEMS))
def test_caps_never_exceeded(policy: PolicySet, visit: Visit) -> None:
    """No rule, line or visit scope, takes more than its per-line or per-visit cap."""
    engine, decision = decide(policy, visit)
    check_caps(engine, decision)


def _more_insured(visit: Visit, index: int, part: str, fraction: int) -> Visit:
    """``visit`` with ``fraction`` % of one self-pay ``part`` of line ``index`` paid by the
    basic pool instead: the same line, more of it settled by insurance."""
    line = visit.lines[index]
    insurance = line.insurance
    assert insurance is not None
    moved = from_fen(to_fen(getattr(insurance, part)) * fraction // 100)
    funds = dict(insurance.funds)
    funds["basic_pool"] = funds.get("basic_pool", Decimal("0.00")) + moved
    richer = attrs.evolve(insurance, funds=tuple(funds.items()),
                          **{part: getattr(insurance, part) - moved})  # type: ignore[arg-type]
    lines = list(visit.lines)
    lines[index] = line._replace(insurance=richer)
    return attrs.evolve(visit, lines=tuple(lines))


@given(SETTLING, insured_visits(registry=REGISTRY, items=ITEMS, max_lines=6), st.data())
def test_more_insurance_never_raises_what_the_patient_pays(policy: PolicySet, visit: Visit,
                                                          data: st.DataObject) -> None:
    """Move part of a line's self-pay to a fund: the patient's total for the visit does not rise.
    (Per line it may move by a fen: a visit-scope share is re-apportioned over the lines.)"""
    assume(visit.lines)
    index = data.draw(st.integers(0, len(visit.lines) - 1))
    part = data.draw(st.sampled_from(["preliminary", "in_scope", "full", "over_limit"]))
    richer = _more_insured(visit, index, part, data.draw(st.integers(1, 100)))
    engine, before = decide(policy, visit)
    after = engine.evaluate(richer)
    assert after.totals.payable <= before.totals.payable
    assert after.totals.insurance >= before.totals.insurance


@given(SETTLING, insured_visits(registry=REGISTRY, items=ITEMS, max_lines=6))
def test_explain_gives_evaluates_amounts(policy: PolicySet, visit: Visit) -> None:
    """``explain`` reports ``evaluate``'s decision, and every share applied appears in the
    line's traces as applied, with its payer, base and amount."""
    engine, decision = decide(policy, visit)
    explained = engine.explain(visit)
    assert decision == explained.decision
    for line, trace in zip(decision.lines, explained.lines, strict=True):
        applied = {(t.rule, t.reduction, t.payer, t.base) for t in trace.considered if t.outcome == "applied"}
        assert {(a.rule, a.reduction, a.payer, a.base) for a in line.applied} == applied


PACK = """
pack: t
title: {zh: 测试, en: test}
rules:
  - id: waiver
    title: {zh: 减免, en: waiver}
    clause: 条款
    source: test
    items: [drug]
    benefit: {reduce: "10%"}
"""


def _settled() -> Decision:
    """Drug 100.00: basic_pool 60.00, full 40.00; the hospital takes 10 % of the gross, 10.00;
    the patient pays 30.00."""
    engine = Engine(merge([parse_pack(PACK, "t.yaml")], REGISTRY), REGISTRY)
    line = ChargeLine("1", "drug", "100.00", insurance=Insurance(
        (("basic_pool", Decimal("60.00")),), full=Decimal("40.00")))
    return engine.evaluate(Visit("V1", dt.date(2025, 3, 1), "outpatient", "450100", Beneficiary("P1", frozenset()),
                                 (line,)))


def _with(decision: Decision, **changes: object) -> Decision:
    return attrs.evolve(decision, lines=(decision.lines[0]._replace(**changes),))


def test_the_tampering_starts_from_a_sound_decision() -> None:
    decision = _settled()
    check_sums(decision)
    check_bounds(decision)
    assert (("basic_pool", Decimal("60.00")), ("hospital", Decimal("10.00")), ("patient", Decimal("30.00"))) == (
        decision.lines[0].payers)


@pytest.mark.parametrize(("payers", "message"), [
    ((("basic_pool", "60.00"), ("hospital", "10.00"), ("patient", "31.00")),
     "the payers' parts add up to 101.00, not the amount 100.00"),
    ((("basic_pool", "61.00"), ("hospital", "10.00"), ("patient", "29.00")),
     "the patient's part 29.00 is not the payable 30.00"),
    ((("basic_pool", "60.00"), ("hospital", "5.00"), (SUBSIDY, "5.00"), ("patient", "30.00")),
     "hospital's part 5.00 is not what its rules took, 10.00"),
])
def test_sums_catch_payers_that_do_not_add_up(payers: tuple[tuple[str, str], ...], message: str) -> None:
    broken = _with(_settled(), payers=tuple((payer, Decimal(part)) for payer, part in payers))
    with pytest.raises(PropertyFailure, match=message) as caught:
        check_sums(broken)
    assert "就诊 V1 第 1 行（drug）" in caught.value.message.zh


def test_sums_catch_a_payer_apart_from_its_rules() -> None:
    """The hospital's part must be what the hospital's rules took."""
    decision = _settled()
    broken = _with(decision, applied=(Applied("waiver", Decimal("10.00"), SUBSIDY, "gross"),))
    with pytest.raises(PropertyFailure, match=f"{SUBSIDY}'s part 0.00 is not what its rules took, 10.00"):
        check_sums(broken)


def test_sums_catch_insurance_that_does_not_add_up() -> None:
    with pytest.raises(PropertyFailure,
                       match="insurance 50.00 \\+ reduction 10.00 \\+ payable 30.00 is not the amount"):
        check_sums(_with(_settled(), insurance=Decimal("50.00")))


def test_sums_catch_payer_totals() -> None:
    decision = _settled()
    broken = attrs.evolve(decision, totals=attrs.evolve(decision.totals, payers=(("patient", Decimal("30.00")),)))
    with pytest.raises(PropertyFailure, match="visit V1: the payers' totals .* are not the sums of the lines"):
        check_sums(broken)


def test_bounds_catch_a_negative_part() -> None:
    broken = _with(_settled(), payers=(("basic_pool", Decimal("60.00")), ("hospital", Decimal("45.00")),
                                       ("patient", Decimal("-5.00"))))
    with pytest.raises(PropertyFailure, match="patient's part -5.00 is negative") as caught:
        check_bounds(broken)
    assert "patient 的部分 -5.00 为负" in caught.value.message.zh


def test_bounds_catch_a_reduction_above_what_is_owed() -> None:
    """60.00 of 100.00 was insured: a reduction of 50.00 is more than the 40.00 owed."""
    with pytest.raises(PropertyFailure,
                       match="reduction 50.00 is not between 0.00 and the amount after insurance 40.00"):
        check_bounds(_with(_settled(), reduction=Decimal("50.00")))
