"""The engine's invariants (shuangyong.testing.properties) on every built-in pack and on random
packs, and each check's own failure path: a broken decision is caught with a readable message."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

from shuangyong.dates import DateWindow
from shuangyong.engine import Applied, Decision, Engine, Entitlement
from shuangyong.interchange import decision_to_dict
from shuangyong.model import Credential, Visit
from shuangyong.policy import builtin_pack_names
from shuangyong.policy.layers import PolicySet
from shuangyong.testing.properties import (
    PropertyFailure,
    check_bounds,
    check_caps,
    check_deterministic,
    check_in_force,
    check_monotone,
    check_order_independent,
    check_sums,
    check_visit,
    more_eligible,
)
from shuangyong.testing.strategies import (
    BIRTHDAYS,
    TIE_RATES,
    birth_dates,
    categories,
    credential_kinds,
    credentials,
    default_registry,
    effective_windows,
    money,
    pack_sets,
    policy_packs,
    tie_amounts,
    visits,
)

from .builders import visit as make_visit
from .builders import write_pack

REGISTRY = default_registry()
BUILTIN = {name: Engine.from_packs(name, registry=REGISTRY) for name in builtin_pack_names()}
settings.register_profile("shuangyong", deadline=None, max_examples=150)
settings.load_profile("shuangyong")


def test_every_builtin_pack_is_covered() -> None:
    """The property tests below run on each pack the library ships, not on a fixed list."""
    assert {"seed-example", "cn-national"} <= set(BUILTIN)


@pytest.mark.parametrize("pack", sorted(BUILTIN))
@given(visit=visits())
def test_builtin_pack_invariants(pack: str, visit: Visit) -> None:
    """Sums, bounds, caps, dates and region, determinism and line order, on each built-in pack."""
    check_visit(BUILTIN[pack], visit)


@pytest.mark.parametrize("pack", sorted(BUILTIN))
@given(visit=visits(), category=st.one_of(st.none(), categories()), data=st.data())
def test_builtin_pack_monotone(pack: str, visit: Visit, category: str | None, data: st.DataObject) -> None:
    """More categories or credentials never take anything away on the built-in packs."""
    card = data.draw(st.one_of(st.none(), credentials(visit.date)))
    check_monotone(BUILTIN[pack], visit, more_eligible(visit, category, card))


@given(pack_sets(), visits())
def test_random_pack_invariants(policy: PolicySet, visit: Visit) -> None:
    """The same invariants on random packs with conditions, groups, caps, dates and regions."""
    check_visit(Engine(policy, REGISTRY), visit)


@settings(max_examples=60)
@given(visits(amounts=money(ties=TIE_RATES)), st.data())
def test_random_pack_invariants_on_the_edges(visit: Visit, data: st.DataObject) -> None:
    """The invariants with rules starting, ending or lapsing on the visit day and half-fen amounts."""
    check_visit(Engine(data.draw(pack_sets(around=visit.date)), REGISTRY), visit)


@given(pack_sets(), visits(), st.data())
def test_random_pack_any_line_order(policy: PolicySet, visit: Visit, data: st.DataObject) -> None:
    """Any permutation of the lines, not only the reversed one, gives the same output."""
    order = data.draw(st.permutations(range(len(visit.lines))))
    check_order_independent(Engine(policy, REGISTRY), visit, order)


@given(pack_sets(negation=False, per_visit_caps=False), visits(), categories(), st.data())
def test_random_pack_monotone(policy: PolicySet, visit: Visit, category: str, data: st.DataObject) -> None:
    """Without `not` and per-visit caps, more eligibility never lowers a line's reduction."""
    card = data.draw(credentials(visit.date, placement="covers"))
    check_monotone(Engine(policy, REGISTRY), visit, more_eligible(visit, category, card))


@given(visits(), credential_kinds(), st.integers(1, 3000))
def test_expired_credential_grants_nothing(visit: Visit, kind: str, days_ago: int) -> None:
    """A credential that ended before the visit date, or starts after it, counts as none."""
    engine = BUILTIN["seed-example"]
    plain = attrs.evolve(visit, patient=attrs.evolve(visit.patient, credentials=()))
    expired = Credential(kind, "X", DateWindow(None, visit.date - dt.timedelta(days=days_ago)))
    not_yet = Credential(kind, "Y", DateWindow(visit.date + dt.timedelta(days=days_ago), None))
    with_dead_cards = attrs.evolve(plain, patient=attrs.evolve(plain.patient, credentials=(expired, not_yet)))
    assert decision_to_dict(engine.evaluate(plain)) == decision_to_dict(engine.evaluate(with_dead_cards))


@given(pack_sets(), visits())
def test_output_amounts_have_two_decimals(policy: PolicySet, visit: Visit) -> None:
    """Every amount written is exact to the fen: the invariant ``format_amount`` relies on."""
    data = decision_to_dict(Engine(policy, REGISTRY).evaluate(visit))
    amounts = [line[key] for line in data["lines"] for key in ("amount", "reduction", "payable")]
    amounts += [a["reduction"] for line in data["lines"] for a in line["applied"]]
    amounts += list(data["totals"].values())
    for text in amounts:
        whole, _, fen = text.partition(".")
        assert whole.isdigit() and len(fen) == 2 and fen.isdigit(), text


# --- the strategies reach the edges --------------------------------------------------------

@settings(max_examples=40)
@given(st.sampled_from(TIE_RATES), st.data())
def test_tie_amounts_fall_on_half_a_fen(rate: str, data: st.DataObject) -> None:
    """Worked out with Decimal here: the amount times the rate, in fen, ends in exactly .5."""
    amount = data.draw(tie_amounts(rate, max_value="500.00"))
    assert Decimal(0) <= amount <= Decimal("500.00")
    assert Decimal("0.5") == (amount * 100 * Decimal(rate[:-1]) / 100) % 1


@pytest.mark.parametrize("rate", ["0%", "20%", "40%", "100%"])
def test_rates_without_a_tie_are_refused(rate: str) -> None:
    """Whole fifths of a fen never end in a half: ``tie_amounts`` says so, ``money`` skips them."""
    with pytest.raises(ValueError, match=f"no amount up to 99999999.99 times {rate} ends in half a fen"):
        tie_amounts(rate)
    assert find(money(ties=[rate]), lambda amount: True) == Decimal("0.00")


@pytest.mark.parametrize(("day", "placement"), [
    (dt.date(2025, 3, 1), "birthday"), (dt.date(2025, 3, 1), "day_after"), (dt.date(2025, 3, 1), "day_before"),
    (dt.date(2024, 2, 29), "birthday"), (dt.date(2025, 2, 28), "leap_day"), (dt.date(2024, 2, 29), "leap_day")])
@settings(max_examples=20)
@given(data=st.data())
def test_birth_dates_sit_on_the_birthday_edges(day: dt.date, placement: str, data: st.DataObject) -> None:
    """The birthday falls on the day, the day after or before it, or on 29 February."""
    born = data.draw(birth_dates(day, placement, ages=st.integers(0, 90)))
    shift = {"birthday": 0, "day_after": 1, "day_before": -1, "leap_day": None}[placement]
    on = day + dt.timedelta(days=shift) if shift is not None else dt.date(2024, 2, 29)
    assert born <= day and (born.month, born.day) == (on.month, on.day)
    with pytest.raises(ValueError, match="placement must be one of birthday, day_after"):
        data.draw(birth_dates(day, "tomorrow"))
    assert "any" in BIRTHDAYS


@pytest.mark.parametrize(("placement", "edge"), [("starts_on", "from"), ("ends_on", "to")])
@settings(max_examples=20)
@given(data=st.data())
def test_effective_windows_start_or_end_on_the_day(placement: str, edge: str, data: st.DataObject) -> None:
    day = dt.date(2025, 6, 15)
    assert day.isoformat() == data.draw(effective_windows(day, placement))[edge]


@settings(max_examples=30)
@given(policy_packs(around=dt.date(2030, 6, 15)))
def test_packs_around_a_day_place_their_windows_there(pack: dict[str, Any]) -> None:
    """Rules' windows are placed around the day given (random ones would lie in 2024–2026)."""
    for rule in pack["rules"]:
        for day in rule.get("effective", {}).values():
            assert abs(dt.date.fromisoformat(day) - dt.date(2030, 6, 15)) <= dt.timedelta(days=1460), rule


# --- each check catches what it is for -------------------------------------------------------

CARD = ("key_care_medical_card", "2024-01-01", None)
SEED = BUILTIN["seed-example"]


def _decision(*lines: tuple[str, str, str]) -> tuple[Visit, Decision]:
    visit = make_visit([(line_id, item, amount) for line_id, item, amount in lines], cards=(CARD,))
    return visit, SEED.evaluate(visit)


def _with_line(decision: Decision, **changes: object) -> Decision:
    return attrs.evolve(decision, lines=(decision.lines[0]._replace(**changes),) + decision.lines[1:])


def test_sums_catch_a_line_that_does_not_add_up() -> None:
    _, decision = _decision(("1", "registration", "10.00"))
    with pytest.raises(PropertyFailure) as caught:
        check_sums(_with_line(decision, payable=Decimal("1.00")))
    assert ("visit V1, line 1 (registration): insurance 0.00 + reduction 10.00 + payable 1.00 is not the amount "
            "10.00" in str(caught.value))
    assert "就诊 V1 第 1 行（registration）" in caught.value.message.zh


def test_sums_catch_shares_and_totals() -> None:
    _, decision = _decision(("1", "registration", "10.00"), ("2", "drug", "5.00"))
    with pytest.raises(PropertyFailure, match="shares add up to 4.00, not the line's reduction 10.00"):
        check_sums(_with_line(decision, applied=(Applied("two-waivers.registration", Decimal("4.00")),)))
    wrong_total = attrs.evolve(decision, totals=attrs.evolve(decision.totals, payable=Decimal("0.00")))
    with pytest.raises(PropertyFailure, match="total payable 0.00 is not the sum of the lines, 5.00"):
        check_sums(wrong_total)


def test_bounds_catch_a_reduction_above_the_amount() -> None:
    _, decision = _decision(("1", "registration", "10.00"))
    with pytest.raises(PropertyFailure,
                       match="reduction 11.00 is not between 0.00 and the amount after insurance 10.00"):
        check_bounds(_with_line(decision, reduction=Decimal("11.00")))
    with pytest.raises(PropertyFailure, match="rule two-waivers.registration took a negative -1.00"):
        check_bounds(_with_line(decision, applied=(Applied("two-waivers.registration", Decimal("-1.00")),)))


def _capped_engine(write: object) -> Engine:
    path = write_pack(write, "capped", """
        pack: capped
        title: {zh: 封顶, en: capped}
        rules:
          - id: half
            title: {zh: 减半, en: half}
            clause: 条款
            source: test
            items: [drug]
            benefit: {reduce: "50%"}
            caps: {per_line: "3.00", per_visit: "5.00"}
    """)
    return Engine.from_packs(str(path))


def test_caps_catch_per_line_and_per_visit(tmp_path: object) -> None:
    engine = _capped_engine(tmp_path)
    visit = make_visit([("1", "drug", "10.00"), ("2", "drug", "10.00")])
    decision = engine.evaluate(visit)
    check_caps(engine, decision)  # the engine itself keeps within 3.00 + 2.00
    over_line = _with_line(decision, applied=(Applied("half", Decimal("3.01")),))
    with pytest.raises(PropertyFailure, match="rule half took 3.01, above its per-line cap 3.00"):
        check_caps(engine, over_line)
    second = decision.lines[1]._replace(applied=(Applied("half", Decimal("3.00")),))
    with pytest.raises(PropertyFailure, match="rule half took 6.00 in all, above its per-visit cap 5.00"):
        check_caps(engine, attrs.evolve(decision, lines=(decision.lines[0], second)))


def test_in_force_catches_a_rule_outside_its_dates_and_region(tmp_path: object) -> None:
    visit = make_visit(day="2024-09-30", categories=("disabled_veteran",))
    decision = SEED.evaluate(visit)
    check_in_force(SEED, visit, decision)
    granted = Entitlement("nat.regulation-44.concession", "…", (), ("medical_concession",))
    with pytest.raises(PropertyFailure, match=r"rule nat.regulation-44.concession applied on 2024-09-30, "
                                              r"outside its dates 2024-10-01 – …"):
        check_in_force(SEED, visit, attrs.evolve(decision, entitlements=(granted,)))
    local = write_pack(tmp_path, "local", """
        pack: local
        title: {zh: 本地, en: local}
        region: "450100"
        rules:
          - id: nanning
            title: {zh: 南宁, en: Nanning}
            clause: 条款
            source: test
            items: [drug]
            benefit: {waive: true}
    """)
    engine = Engine.from_packs(str(local))
    elsewhere = make_visit([("1", "drug", "2.00")], region="370100")
    doctored = _with_line(engine.evaluate(elsewhere), applied=(Applied("nanning", Decimal("2.00")),))
    with pytest.raises(PropertyFailure, match="applied in region 370100, outside its region 450100"):
        check_in_force(engine, elsewhere, doctored)


class _Forgetful(Engine):
    """An engine whose answer drifts from call to call: what determinism must catch."""

    calls = 0

    def evaluate(self, visit: Visit) -> Decision:
        _Forgetful.calls += 1
        return attrs.evolve(super().evaluate(visit), visit_id=f"{visit.visit_id}-{_Forgetful.calls}")


def test_determinism_catches_a_drifting_engine() -> None:
    engine = _Forgetful(SEED.policy, SEED.registry)
    with pytest.raises(PropertyFailure) as caught:
        check_deterministic(engine, make_visit())
    assert "visit V1: the same input gave two outputs" in str(caught.value)
    assert '- "visit_id": "V1-1"\n+ "visit_id": "V1-2"' in caught.value.detail
    assert 1 == str(caught.value).count(caught.value.detail)


class _FirstComeFirstServed(Engine):
    """Takes the lines in the order sent: what order independence must catch under a cap."""

    def evaluate(self, visit: Visit) -> Decision:
        decision = super().evaluate(visit)
        order = {line.line_id: n for n, line in enumerate(visit.lines)}
        return attrs.evolve(decision, lines=tuple(sorted(decision.lines, key=lambda d: order[d.line_id])))


def test_order_independence_catches_order_dependence() -> None:
    visit = make_visit([("1", "drug", "1.00"), ("2", "drug", "2.00")])
    with pytest.raises(PropertyFailure, match="reordering the lines as 2, 1 changed the output"):
        check_order_independent(_FirstComeFirstServed(SEED.policy, SEED.registry), visit)
    with pytest.raises(ValueError, match=r"order must be a permutation of 0..1, got \[0, 0\]"):
        check_order_independent(SEED, visit, [0, 0])


CIVILIAN_FEES = """
    pack: civilians
    title: {zh: 非军人, en: civilians}
    rules:
      - id: civilians-only
        title: {zh: 非军人减半, en: civilians half}
        clause: 条款
        source: test
        when: {not: {category: serviceman}}
        items: [drug]
        benefit: {reduce: "50%"}
"""
CIVILIAN_WINDOW = """
      - id: civilian-window
        title: {zh: 非军人窗口, en: civilian window}
        clause: 条款
        source: test
        when: {not: {category: serviceman}}
        services: [green_channel]
"""


def test_monotone_catches_a_negated_condition(tmp_path: object) -> None:
    visit = make_visit([("1", "drug", "10.00")])
    fees = Engine.from_packs(str(write_pack(tmp_path, "fees", CIVILIAN_FEES)))
    with pytest.raises(PropertyFailure, match=r"line 1 \(drug\): more eligibility lowered the reduction "
                                              r"from 5.00 \(civilians-only\) to 0.00 \(—\)"):
        check_monotone(fees, visit, more_eligible(visit, "serviceman"))
    window = Engine.from_packs(str(write_pack(tmp_path, "window", CIVILIAN_FEES + CIVILIAN_WINDOW)))
    with pytest.raises(PropertyFailure, match="more eligibility lost the services green_channel"):
        check_monotone(window, visit, more_eligible(visit, "serviceman"))


CAPPED_SHARING = """
    pack: shared-cap
    title: {zh: 共享封顶, en: shared cap}
    groups: [first, second]
    rules:
      - id: beds-for-servicemen
        title: {zh: 军人床位, en: servicemen's beds}
        clause: 条款
        source: test
        when: {category: serviceman}
        items: [bed]
        benefit: {fixed: "6.00"}
        group: first
      - id: capped
        title: {zh: 封顶, en: capped}
        clause: 条款
        source: test
        items: [bed, drug]
        benefit: {waive: true}
        caps: {per_visit: "5.00"}
        group: second
      - id: fixed-six
        title: {zh: 六元, en: six}
        clause: 条款
        source: test
        items: [bed]
        benefit: {fixed: "6.00"}
        group: second
"""


def test_per_visit_caps_are_why_monotonicity_needs_a_precondition(tmp_path: object) -> None:
    """check_monotone's precondition is real: a capped rule that newly wins an earlier line (the
    bed, once the serviceman's rule has taken 6.00 of it) leaves less of its cap for the drug."""
    engine = Engine.from_packs(str(write_pack(tmp_path, "shared", CAPPED_SHARING)))
    visit = make_visit([("1", "bed", "10.00"), ("2", "drug", "10.00")])
    with pytest.raises(PropertyFailure, match=r"line 2 \(drug\): more eligibility lowered the reduction "
                                              r"from 5.00 \(capped\) to 1.00 \(capped\)"):
        check_monotone(engine, visit, more_eligible(visit, "serviceman"))
