"""The engine on the built-in packs and on small hand-written packs: each rule, stacking, caps."""

from __future__ import annotations

from pathlib import Path

import pytest

from shuangyong.engine import Engine
from shuangyong.errors import UnknownCategoryError, UnknownItemError

from .builders import engine_for, reductions, visit, write_pack

SEED = Engine.from_packs()
CARD = ("key_care_medical_card", "2024-01-01", "2025-03-01")


class TestSeedExample:
    def test_two_waivers_and_three_halves(self) -> None:
        """With a valid card: registration and injection waived, routine tests and dressing halved."""
        v = visit([("1", "registration", "12.00"), ("2", "injection", "3.50"), ("3", "routine_test", "20.00"),
                   ("4", "dressing", "35.50"), ("5", "drug", "37.85")], categories=("disabled_veteran",),
                  disability_level=5, cards=(CARD,))
        decision = SEED.evaluate(v)
        assert {"1": "12.00", "2": "3.50", "3": "10.00", "4": "17.75", "5": "0.00"} == reductions(SEED, v)
        assert ["two-waivers.registration", "two-waivers.injection", "three-halves.routine-test",
                "three-halves.dressing", None] == [line.rule for line in decision.lines]
        assert (None, ()) == (decision.lines[4].clause, decision.lines[4].applied)

    def test_bed_half_up_inpatient_only(self) -> None:
        """Bed 12.35 at 50 % gives 6.18 off and 6.17 to pay, but only for an inpatient visit."""
        inpatient = SEED.evaluate(visit([("1", "bed", "12.35")], kind="inpatient", cards=(CARD,))).lines[0]
        outpatient = SEED.evaluate(visit([("1", "bed", "12.35")], cards=(CARD,))).lines[0]
        assert (("6.18", "6.17"), ("0.00", "12.35")) == (
            (str(inpatient.reduction), str(inpatient.payable)), (str(outpatient.reduction), str(outpatient.payable)))

    @pytest.mark.parametrize(("valid_from", "valid_to", "granted"), [
        ("2024-01-01", "2025-02-28", False), ("2024-01-01", "2025-03-01", True),
        ("2025-03-01", None, True), ("2025-03-02", None, False),
    ])
    def test_card_validity_is_inclusive(self, valid_from: str, valid_to: str | None, granted: bool) -> None:
        """A card counts on its first and last day, not the day before or after."""
        v = visit([("1", "registration", "12.00")], cards=(("key_care_medical_card", valid_from, valid_to),))
        decision = SEED.evaluate(v)
        assert (granted, granted) == (decision.lines[0].reduction > 0, "pharmacy" in decision.priorities)

    def test_category_without_card_gets_no_fee_concession(self) -> None:
        """The seed ties fee concessions to the card, not to the category."""
        assert {"1": "0.00"} == reductions(SEED, visit([("1", "registration", "12.00")], categories=("martyr_family",)))

    def test_serviceman_services(self) -> None:
        """A serviceman: military window, green channel, consultation priority; acute visits add ward
        and treat first, settle later."""
        outpatient = SEED.evaluate(visit(categories=("serviceman",)))
        emergency = SEED.evaluate(visit(kind="emergency", categories=("serviceman",)))
        assert ("consultation",) == outpatient.priorities
        assert ("preferential_service", "military_window", "green_channel") == outpatient.services
        assert ("preferential_service", "military_window", "green_channel", "military_ward",
                "treat_first_settle_later") == emergency.services

    @pytest.mark.parametrize(("categories", "waived"), [
        (("serviceman",), "1000.00"), (("military_family",), "1000.00"), (("veteran",), "0.00"), ((), "0.00"),
    ])
    def test_blood_deposit(self, categories: tuple[str, ...], waived: str) -> None:
        """The blood deposit is waived for servicemen and their direct relatives only."""
        assert {"1": waived} == reductions(SEED, visit([("1", "blood_deposit", "1000.00")], categories=categories))

    def test_priorities_in_canonical_order(self) -> None:
        """The four priorities come out in the vocabulary's order."""
        decision = SEED.evaluate(visit(cards=(CARD,)))
        assert ("registration", "consultation", "pharmacy", "admission") == decision.priorities
        assert ["four-priorities"] == [e.rule for e in decision.entitlements]

    def test_lines_in_natural_order(self) -> None:
        """Output lines are in natural line_id order whatever the input order."""
        decision = SEED.evaluate(visit([("10", "drug", "1.00"), ("2", "drug", "1.00"), ("1", "drug", "1.00"),
                                        ("a", "drug", "1.00")]))
        assert ["1", "2", "10", "a"] == [line.line_id for line in decision.lines]

    def test_totals(self) -> None:
        """Totals add the lines."""
        totals = SEED.evaluate(visit([("1", "registration", "12.00"), ("2", "drug", "37.85")], cards=(CARD,))).totals
        assert ("49.85", "12.00", "37.85") == (str(totals.amount), str(totals.reduction), str(totals.payable))

    def test_unknown_category_and_credential(self) -> None:
        """Unknown categories and credential kinds are errors naming them and the record."""
        with pytest.raises(UnknownCategoryError, match="space_cadet") as caught:
            SEED.evaluate(visit(categories=("space_cadet",)))
        assert ("V1", "patient.categories") == (caught.value.record, caught.value.field)
        with pytest.raises(UnknownCategoryError, match="library_card"):
            SEED.evaluate(visit(cards=(("library_card", None, None),)))

    def test_unknown_item(self) -> None:
        """An unknown item kind gets nothing, or is an error in strict mode."""
        assert {"1": "0.00"} == reductions(SEED, visit([("1", "acupuncture", "30.00")], cards=(CARD,)))
        with pytest.raises(UnknownItemError, match="acupuncture"):
            Engine.from_packs(strict=True).evaluate(visit([("1", "acupuncture", "30.00")]))


class TestCnNational:
    @pytest.mark.parametrize(("day", "categories", "services"), [
        ("2021-07-31", ("serviceman",), ("military_window", "green_channel")),
        ("2021-08-01", ("serviceman",), ("preferential_service", "military_window", "green_channel")),
        ("2025-03-01", ("military_family",), ("preferential_service", "medical_preference")),
        ("2024-09-30", ("disabled_veteran",), ()),
        ("2024-10-01", ("disabled_veteran",), ("preferential_service", "medical_concession")),
        ("2021-01-01", ("disabled_veteran", "veteran"), ("preferential_service", "medical_concession")),
        ("2020-12-31", ("veteran",), ()),
        ("2021-01-01", ("war_test_veteran",), ("preferential_service", "medical_concession")),
    ])
    def test_services_by_date_and_category(self, day: str, categories: tuple[str, ...],
                                           services: tuple[str, ...]) -> None:
        """National services start on each law's effective date and reach the categories it names."""
        assert services == SEED.evaluate(visit(day=day, categories=categories)).services


RULE = "    - id: {id}\n      title: {{zh: 规则, en: rule}}\n      clause: 条款\n      source: test\n"


def pack(tmp_path: Path, rules: str, head: str = "") -> Engine:
    return engine_for(write_pack(tmp_path, "p", f"pack: p\ntitle: {{zh: 包, en: pack}}\n{head}rules:\n{rules}"))


def rule(rule_id: str, extra: str) -> str:
    return RULE.format(id=rule_id) + "".join(f"      {line}\n" for line in extra.strip().splitlines())


class TestStacking:
    def test_best_in_group_wins(self, tmp_path: Path) -> None:
        """Within a group the larger reduction wins: 50 % of 100 beats 5.00 off."""
        engine = pack(tmp_path, rule("half", 'items: [drug]\nbenefit: {reduce: "50%"}') +
                      rule("five", 'items: [drug]\nbenefit: {fixed: "5.00"}'))
        line = engine.evaluate(visit([("1", "drug", "100.00")])).lines[0]
        assert ("50.00", "half") == (str(line.reduction), line.rule)
        small = engine.evaluate(visit([("1", "drug", "8.00")])).lines[0]
        assert ("5.00", "five") == (str(small.reduction), small.rule)

    def test_tie_goes_to_the_earlier_rule(self, tmp_path: Path) -> None:
        """Equal reductions: the earlier rule is the one recorded."""
        engine = pack(tmp_path, rule("first", 'items: [drug]\nbenefit: {fixed: "5.00"}') +
                      rule("second", 'items: [drug]\nbenefit: {fixed: "5.00"}'))
        assert "first" == engine.evaluate(visit([("1", "drug", "100.00")])).lines[0].rule

    def test_groups_apply_in_order_on_the_remainder(self, tmp_path: Path) -> None:
        """Group a takes 50 % of 100, group b then 5.00 of the 50 left: 55.00 in all."""
        engine = pack(tmp_path, rule("half", 'items: [drug]\nbenefit: {reduce: "50%"}\ngroup: b') +
                      rule("five", 'items: [drug]\nbenefit: {fixed: "5.00"}\ngroup: a'), head="groups: [b, a]\n")
        line = engine.evaluate(visit([("1", "drug", "100.00")])).lines[0]
        assert ("55.00", "45.00", "half") == (str(line.reduction), str(line.payable), line.rule)
        assert [("half", "50.00"), ("five", "5.00")] == [(a.rule, str(a.reduction)) for a in line.applied]

    def test_fixed_never_below_zero(self, tmp_path: Path) -> None:
        """A fixed reduction larger than the line takes the line to zero, not below."""
        engine = pack(tmp_path, rule("big", 'items: [drug]\nbenefit: {fixed: "50.00"}'))
        line = engine.evaluate(visit([("1", "drug", "12.00")])).lines[0]
        assert ("12.00", "0.00") == (str(line.reduction), str(line.payable))

    def test_per_line_cap(self, tmp_path: Path) -> None:
        """A per-line cap bounds the reduction of each line."""
        engine = pack(tmp_path, rule("cap", 'items: [drug]\nbenefit: {waive: true}\ncaps: {per_line: "30.00"}'))
        lines = [("1", "drug", "100.00"), ("2", "drug", "20.00")]
        assert {"1": "30.00", "2": "20.00"} == reductions(engine, visit(lines))

    def test_per_visit_cap_in_line_order(self, tmp_path: Path) -> None:
        """A per-visit cap is consumed in canonical line order, whatever the input order."""
        engine = pack(tmp_path, rule("cap", 'items: [drug]\nbenefit: {waive: true}\ncaps: {per_visit: "50.00"}'))
        forward = reductions(engine, visit([("1", "drug", "30.00"), ("2", "drug", "30.00"), ("10", "drug", "30.00")]))
        backward = reductions(engine, visit([("10", "drug", "30.00"), ("2", "drug", "30.00"), ("1", "drug", "30.00")]))
        assert {"1": "30.00", "2": "20.00", "10": "0.00"} == forward == backward
        assert None is engine.evaluate(visit([("1", "drug", "60.00"), ("2", "drug", "5.00")])).lines[1].rule


class TestConditions:
    def test_effective_window_inclusive(self, tmp_path: Path) -> None:
        """A rule applies on the first and last day of its window only."""
        engine = pack(tmp_path, rule("r", "effective: {from: 2025-03-01, to: 2025-03-31}\n"
                                          "items: [drug]\nbenefit: {waive: true}"))
        days = ["2025-02-28", "2025-03-01", "2025-03-31", "2025-04-01"]
        got = [reductions(engine, visit([("1", "drug", "1.00")], day=d))["1"] for d in days]
        assert ["0.00", "1.00", "1.00", "0.00"] == got

    def test_region_scope(self, tmp_path: Path) -> None:
        """A pack for 450000 covers 450100 and 450103 but not 370100."""
        engine = pack(tmp_path, rule("r", "items: [drug]\nbenefit: {waive: true}"), head='region: "450000"\n')
        regions = ("450100", "450103", "370100")
        got = [reductions(engine, visit([("1", "drug", "1.00")], region=r))["1"] for r in regions]
        assert ["1.00", "1.00", "0.00"] == got

    def test_tags(self, tmp_path: Path) -> None:
        """A tags condition looks at each line."""
        engine = pack(tmp_path, rule("r", "when: {tags: surgical}\nitems: [dressing]\nbenefit: {waive: true}"))
        plain, tagged = visit([("1", "dressing", "10.00")]), visit([("1", "dressing", "10.00", "surgical")])
        assert ({"1": "0.00"}, {"1": "10.00"}) == (reductions(engine, plain), reductions(engine, tagged))

    def test_age_needs_birth_date(self, tmp_path: Path) -> None:
        """An age condition holds from the birthday on, and never without a birth date."""
        engine = pack(tmp_path, rule("r", "when: {age: {min: 60}}\nitems: [drug]\nbenefit: {waive: true}"))
        got = [reductions(engine, visit([("1", "drug", "1.00")], **extra))["1"]
               for extra in ({"birth_date": "1965-03-01"}, {"birth_date": "1965-03-02"}, {})]
        assert ["1.00", "0.00", "0.00"] == got

    def test_disability_level_any_not(self, tmp_path: Path) -> None:
        """Level ranges, any and not combine as written."""
        engine = pack(tmp_path, rule("r", "when: {any: [{disability_level: {max: 4}}, {not: {category: key_care}}]}\n"
                                          "items: [drug]\nbenefit: {waive: true}"))
        cases = [dict(categories=("disabled_veteran",), disability_level=3),
                 dict(categories=("disabled_veteran",), disability_level=7), dict()]
        assert ["1.00", "0.00", "1.00"] == [reductions(engine, visit([("1", "drug", "1.00")], **c))["1"] for c in cases]


class TestExplain:
    def test_outcomes_and_reasons(self, tmp_path: Path) -> None:
        """explain says applied, outdone, not eligible and granted, with reasons."""
        engine = pack(tmp_path, rule("half", "when: {credential: key_care_medical_card}\n"
                                             'items: [drug]\nbenefit: {reduce: "50%"}') +
                      rule("five", 'items: [drug]\nbenefit: {fixed: "5.00"}') +
                      rule("vets", "when: {category: veteran}\nitems: [drug]\nbenefit: {waive: true}\ngroup: other") +
                      rule("prio", "priorities: [pharmacy]"))
        explanation = engine.explain(visit([("1", "drug", "100.00")], cards=(CARD,)))
        outcomes = {t.rule: (t.outcome, t.reduction) for t in explanation.lines[0].considered}
        assert {"half": ("applied", explanation.decision.lines[0].reduction), "five": ("outdone", None),
                "vets": ("not_eligible", None)} == outcomes
        assert [("prio", "granted")] == [(t.rule, t.outcome) for t in explanation.visit]

    def test_expired_card_reason(self) -> None:
        """An expired card is named in the reason with its validity."""
        explanation = SEED.explain(visit([("1", "registration", "12.00")], day="2025-03-02", cards=(CARD,)))
        trace = explanation.lines[0].considered[0]
        assert ("two-waivers.registration", "not_eligible") == (trace.rule, trace.outcome)
        assert "not valid on 2025-03-02 (valid 2024-01-01 – 2025-03-01)" in trace.reason.en
        assert "不在有效期内" in trace.reason.zh

    def test_not_effective_and_outside_region(self, tmp_path: Path) -> None:
        """Rules out of date or out of region say so."""
        engine = pack(tmp_path, rule("old", "effective: {to: 2020-01-01}\nitems: [drug]\nbenefit: {waive: true}") +
                      rule("far", 'region: "370100"\nitems: [drug]\nbenefit: {waive: true}'))
        outcomes = {t.rule: t.outcome for t in engine.explain(visit([("1", "drug", "1.00")])).lines[0].considered}
        assert {"old": "not_effective", "far": "outside_region"} == outcomes


def test_packs_by_path_object(tmp_path: Path) -> None:
    """A ``pathlib.Path`` names a pack file, even one without a slash or a .yaml suffix."""
    source = Path(__file__).parents[1] / "src/shuangyong/policy/packs/seed-example.yaml"
    copy = tmp_path / "seed"
    copy.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    v = visit([("1", "registration", "12.00")], categories=("disabled_veteran",), cards=(CARD,))
    assert reductions(SEED, v) == reductions(Engine.from_packs(copy), v)
