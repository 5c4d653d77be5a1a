"""The engine: the seed rules line by line, stacking and caps, conditions, errors and explanations.

Expected amounts are worked out by hand from the rules in the comments beside them.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from shuangyong.engine import Engine
from shuangyong.errors import PolicyError, UnknownCategoryError, UnknownItemError
from shuangyong.model import Registry, Visit
from shuangyong.policy import load_reference

from .conftest import CARD, RULE_HEAD

MakeVisit = Callable[..., Visit]
WritePack = Callable[..., Path]

DAY = "2025-03-01"
VALID_CARD = (CARD, "2024-01-01", "2025-12-31")
SEED_RULES = {rule.id: rule for rule in load_reference("seed-example").spec.rules}


def _line(engine: Engine, visit: Visit, line_id: str = "1") -> tuple[str, str, str | None]:
    """(reduction, payable, rule) of one line of the decision."""
    line = next(line for line in engine.evaluate(visit).lines if line.line_id == line_id)
    return str(line.reduction), str(line.payable), line.rule


def _rule(rule_id: str, body: str) -> str:
    """One rule of a test pack: the required fields, then ``body``."""
    lines = [f"  - id: {rule_id}", *("    " + text for text in RULE_HEAD.splitlines()),
             *("    " + text for text in textwrap.dedent(body).strip().splitlines())]
    return "\n".join(lines) + "\n"


def _engine(write_pack: WritePack, *rules: str, head: str = "", **options: bool) -> Engine:
    """An engine on one pack that extends nothing."""
    path = write_pack("pack: local\ntitle: {zh: 本地, en: local}\n" + head + "rules:\n" + "".join(rules))
    return Engine.from_packs(str(path), **options)


class TestSeedDecisionShape:
    """What the YAML cases do not show: clauses, the applied list, entitlement order.

    The seed pack's amounts, priorities and services are expected in tests/cases/*.case.yaml.
    """

    def test_registration_waived(self, seed_engine: Engine, make_visit: MakeVisit) -> None:
        """重点优抚对象医疗证: the registration fee is waived in full, citing “两免”."""
        line = seed_engine.evaluate(make_visit([("1", "registration", "12.00")], cards=(VALID_CARD,))).lines[0]
        assert (Decimal("12.00"), Decimal("0.00"), "two-waivers.registration",
                SEED_RULES["two-waivers.registration"].clause) == (line.reduction, line.payable, line.rule, line.clause)

    def test_drug_gets_nothing(self, seed_engine: Engine, make_visit: MakeVisit) -> None:
        """Drugs have no seed concession: no rule, no clause, nothing off."""
        line = seed_engine.evaluate(make_visit([("1", "drug", "37.85")], cards=(VALID_CARD,))).lines[0]
        assert (Decimal("0.00"), Decimal("37.85"), None, None, ()) == (
            line.reduction, line.payable, line.rule, line.clause, line.applied)

    def test_entitlements_name_their_rules(self, seed_engine: Engine, make_visit: MakeVisit) -> None:
        """Each visit-level grant carries its rule id, in rule order."""
        decision = seed_engine.evaluate(make_visit(categories=("serviceman",)))
        assert ["nat.status-law-51.servicemen", "nat.regulation-44.recipients", "military-window",
                "green-channel"] == [entitlement.rule for entitlement in decision.entitlements]

    def test_ordinary_patient_nothing(self, seed_engine: Engine, make_visit: MakeVisit) -> None:
        """A patient in no category with no card is granted nothing."""
        decision = seed_engine.evaluate(make_visit([("1", "registration", "12.00")]))
        assert ((), (), ()) == (decision.priorities, decision.services, decision.entitlements)


class TestSeedDecision:
    LINES = [("10", "drug", "37.85"), ("2", "injection", "3.50"), ("1", "registration", "12.00"),
             ("3", "routine_test", "20.01")]

    def test_totals_add_up(self, seed_engine: Engine, make_visit: MakeVisit) -> None:
        """Totals: 73.36 charged; 12.00 + 3.50 + 10.01 (half of 20.01 rounded up) = 25.51 off; 47.85 to pay."""
        totals = seed_engine.evaluate(make_visit(self.LINES, cards=(VALID_CARD,))).totals
        assert (Decimal("73.36"), Decimal("25.51"), Decimal("47.85")) == (
            totals.amount, totals.reduction, totals.payable)

    def test_each_line_adds_up(self, seed_engine: Engine, make_visit: MakeVisit) -> None:
        """On every line, reduction + payable == amount."""
        decision = seed_engine.evaluate(make_visit(self.LINES, cards=(VALID_CARD,)))
        assert [line.amount for line in decision.lines] == [line.reduction + line.payable for line in decision.lines]

    def test_lines_in_natural_order(self, seed_engine: Engine, make_visit: MakeVisit) -> None:
        """Output lines are ordered 1, 2, 3, 10 (natural order), whatever order they came in."""
        decision = seed_engine.evaluate(make_visit(self.LINES, cards=(VALID_CARD,)))
        assert ["1", "2", "3", "10"] == [line.line_id for line in decision.lines]

    def test_input_order_does_not_matter(self, seed_engine: Engine, make_visit: MakeVisit) -> None:
        """The same lines in reverse order give an identical decision."""
        forward = seed_engine.evaluate(make_visit(self.LINES, cards=(VALID_CARD,)))
        backward = seed_engine.evaluate(make_visit(self.LINES[::-1], cards=(VALID_CARD,)))
        assert forward == backward

    def test_decision_carries_fingerprint(self, seed_engine: Engine, make_visit: MakeVisit) -> None:
        """Every decision names the fingerprint of the rule set that made it."""
        assert seed_engine.policy.fingerprint == seed_engine.evaluate(make_visit()).policy

    def test_visit_without_lines(self, seed_engine: Engine, make_visit: MakeVisit) -> None:
        """A visit with no lines still gets its entitlements and zero totals."""
        decision = seed_engine.evaluate(make_visit(cards=(VALID_CARD,)))
        assert ((), Decimal("0.00"), Decimal("0.00")) == (decision.lines, decision.totals.amount,
                                                           decision.totals.payable)


class TestInputErrors:
    def test_unknown_category(self, seed_engine: Engine, make_visit: MakeVisit) -> None:
        """An unknown category is an error naming it, the visit and the field."""
        with pytest.raises(UnknownCategoryError) as caught:
            seed_engine.evaluate(make_visit(visit_id="V9", categories=("astronaut",)))
        known = ", ".join(term.id for term in Registry.builtin().categories)
        assert ("V9", "patient.categories", "astronaut", f"unknown category 'astronaut' (known: {known})") == (
            caught.value.record, caught.value.field, caught.value.value, caught.value.message.en)

    def test_unknown_credential_kind(self, seed_engine: Engine, make_visit: MakeVisit) -> None:
        """An unknown credential kind is an error naming it, the visit and the credential's field."""
        with pytest.raises(UnknownCategoryError) as caught:
            seed_engine.evaluate(make_visit(visit_id="V9", cards=(VALID_CARD, ("library_card", None, None))))
        assert ("V9", "patient.credentials[1].kind", "library_card") == (
            caught.value.record, caught.value.field, caught.value.value)

    def test_unknown_item_gets_nothing(self, seed_engine: Engine, make_visit: MakeVisit) -> None:
        """By default an unknown item kind is not an error: it gets nothing."""
        visit = make_visit([("1", "teleport", "9.99")], cards=(VALID_CARD,))
        assert ("0.00", "9.99", None) == _line(seed_engine, visit)

    def test_unknown_item_strict(self, make_visit: MakeVisit) -> None:
        """In strict mode an unknown item kind is an UnknownItemError naming it and the visit."""
        with pytest.raises(UnknownItemError) as caught:
            Engine.from_packs(strict=True).evaluate(make_visit([("1", "teleport", "9.99")], visit_id="V9"))
        assert ("V9", "teleport", "unknown item kind 'teleport' (strict mode) on line_id '1'") == (
            caught.value.record, caught.value.value, caught.value.message.en)

    def test_unknown_item_strict_field_is_positional(self, make_visit: MakeVisit) -> None:
        """The field of a strict-mode error is the line's input position, like every other ``lines[n]``
        path, and the message names the line's line_id (issue 14, 17)."""
        with pytest.raises(UnknownItemError) as caught:
            Engine.from_packs(strict=True).evaluate(
                make_visit([("B", "registration", "1.00"), ("A", "teleport", "9.99")]))
        assert ("lines[1].item", True) == (caught.value.field, "line_id 'A'" in caught.value.message.en)

    def test_known_item_without_rules_strict(self, make_visit: MakeVisit) -> None:
        """Strict mode refuses unknown kinds only: a known kind no rule covers (surgery) gets nothing."""
        visit = make_visit([("1", "surgery", "800.00")], cards=(VALID_CARD,))
        assert ("0.00", "800.00", None) == _line(Engine.from_packs(strict=True), visit)


class TestStacking:
    HALF = _rule("half", "items: [bed]\nbenefit: {reduce: \"50%\"}\ngroup: fee")
    FIVE = _rule("five", "items: [bed]\nbenefit: {fixed: \"5.00\"}\ngroup: fee")

    @pytest.mark.parametrize(("amount", "reduction", "rule"), [
        ("100.00", "50.00", "half"),   # 50.00 beats 5.00
        ("8.00", "5.00", "five"),      # 5.00 beats 4.00
        ("10.00", "5.00", "half"),     # a tie: the earlier rule
        ("3.00", "3.00", "five"),      # fixed 5.00 takes the whole 3.00; half only 1.50
    ])
    def test_best_of_a_group_wins(self, write_pack: WritePack, make_visit: MakeVisit, amount: str,
                                  reduction: str, rule: str) -> None:
        """Within one group only the rule taking off most applies (the earlier on a tie)."""
        engine = _engine(write_pack, self.HALF, self.FIVE)
        line = engine.evaluate(make_visit([("1", "bed", amount)])).lines[0]
        assert (reduction, rule, 1) == (str(line.reduction), line.rule, len(line.applied))

    def test_groups_stack_on_the_remainder(self, write_pack: WritePack, make_visit: MakeVisit) -> None:
        """Group a takes 50% of 100.00 (50.00), then group b 5.00 of the 50.00 left: 55.00 off."""
        engine = _engine(write_pack, self.HALF.replace("group: fee", "group: a"),
                         self.FIVE.replace("group: fee", "group: b"))
        line = engine.evaluate(make_visit([("1", "bed", "100.00")])).lines[0]
        assert ("55.00", "45.00", "half", [("half", "50.00"), ("five", "5.00")]) == (
            str(line.reduction), str(line.payable), line.rule, [(a.rule, str(a.reduction)) for a in line.applied])

    def test_declared_group_order(self, write_pack: WritePack, make_visit: MakeVisit) -> None:
        """``groups: [b, a]`` puts the fixed 5.00 first: 5.00, then half of 95.00 = 47.50; 52.50 off."""
        engine = _engine(write_pack, self.HALF.replace("group: fee", "group: a"),
                         self.FIVE.replace("group: fee", "group: b"), head="groups: [b, a]\n")
        line = engine.evaluate(make_visit([("1", "bed", "100.00")])).lines[0]
        assert ("52.50", "five", [("five", "5.00"), ("half", "47.50")]) == (
            str(line.reduction), line.rule, [(a.rule, str(a.reduction)) for a in line.applied])

    def test_never_below_zero(self, write_pack: WritePack, make_visit: MakeVisit) -> None:
        """On 4.00: half takes 2.00, the fixed 5.00 can only take the 2.00 left; nothing to pay."""
        engine = _engine(write_pack, self.HALF.replace("group: fee", "group: a"),
                         self.FIVE.replace("group: fee", "group: b"))
        assert ("4.00", "0.00", "half") == _line(engine, make_visit([("1", "bed", "4.00")]))

    def test_zero_amount_line(self, write_pack: WritePack, make_visit: MakeVisit) -> None:
        """A line of 0.00 has nothing to reduce, so no rule is named."""
        engine = _engine(write_pack, self.HALF)
        assert ("0.00", "0.00", None) == _line(engine, make_visit([("1", "bed", "0.00")]))


class TestCaps:
    def test_per_line_cap(self, write_pack: WritePack, make_visit: MakeVisit) -> None:
        """50% capped at 3.00 a line: 3.00 off 10.00, but 2.00 off 4.00 (under the cap)."""
        engine = _engine(write_pack, _rule("half", "items: [bed]\nbenefit: {reduce: \"50%\"}\n"
                                                   "caps: {per_line: \"3.00\"}"))
        visit = make_visit([("1", "bed", "10.00"), ("2", "bed", "4.00")])
        assert (("3.00", "7.00", "half"), ("2.00", "2.00", "half")) == (
            _line(engine, visit, "1"), _line(engine, visit, "2"))

    def test_per_line_cap_on_fixed(self, write_pack: WritePack, make_visit: MakeVisit) -> None:
        """A fixed 5.00 capped at 3.00 a line takes 3.00."""
        engine = _engine(write_pack, _rule("five", "items: [bed]\nbenefit: {fixed: \"5.00\"}\n"
                                                   "caps: {per_line: \"3.00\"}"))
        assert ("3.00", "7.00", "five") == _line(engine, make_visit([("1", "bed", "10.00")]))

    PER_VISIT = _rule("waive", "items: [drug]\nbenefit: {waive: true}\ncaps: {per_visit: \"15.00\"}")

    @pytest.mark.parametrize("order", [["1", "2", "10"], ["10", "2", "1"], ["2", "10", "1"]])
    def test_per_visit_cap_in_canonical_order(self, write_pack: WritePack, make_visit: MakeVisit,
                                              order: list[str]) -> None:
        """A 15.00 visit cap over three 10.00 lines is used up in the order 1, 2, 10, whatever the input."""
        engine = _engine(write_pack, self.PER_VISIT)
        visit = make_visit([(line_id, "drug", "10.00") for line_id in order])
        decision = engine.evaluate(visit)
        assert ([("1", "10.00", "waive"), ("2", "5.00", "waive"), ("10", "0.00", None)], Decimal("15.00")) == (
            [(line.line_id, str(line.reduction), line.rule) for line in decision.lines], decision.totals.reduction)

    def test_per_visit_cap_never_exceeded(self, write_pack: WritePack, make_visit: MakeVisit) -> None:
        """Twelve lines of 3.33 under a 15.00 cap: 3.33 × 4 = 13.32, then 1.68, then nothing."""
        engine = _engine(write_pack, self.PER_VISIT)
        decision = engine.evaluate(make_visit([(str(n), "drug", "3.33") for n in range(1, 13)]))
        assert (["3.33"] * 4 + ["1.68"] + ["0.00"] * 7, Decimal("15.00")) == (
            [str(line.reduction) for line in decision.lines], decision.totals.reduction)

    def test_cap_is_per_visit_not_per_engine(self, write_pack: WritePack, make_visit: MakeVisit) -> None:
        """A second visit starts with a fresh per-visit cap."""
        engine = _engine(write_pack, self.PER_VISIT)
        visit = make_visit([("1", "drug", "10.00"), ("2", "drug", "10.00")])
        engine.evaluate(visit)
        assert Decimal("15.00") == engine.evaluate(visit).totals.reduction

    def test_exhausted_cap_lets_next_rule_win(self, write_pack: WritePack, make_visit: MakeVisit) -> None:
        """When a rule's visit cap runs out, the next best rule of its group takes over."""
        # capped waiver (15.00 a visit) and an uncapped 50% in one group, three 10.00 lines:
        # line 1 waiver 10.00; line 2 waiver 5.00 ties 50% 5.00, the earlier (waiver) wins;
        # line 10 waiver has 0.00 left, so 50% takes 5.00
        engine = _engine(write_pack, self.PER_VISIT.replace("{waive: true}", "{waive: true}\n    group: fee"),
                         _rule("half", "items: [drug]\nbenefit: {reduce: \"50%\"}\ngroup: fee"))
        decision = engine.evaluate(make_visit([("1", "drug", "10.00"), ("2", "drug", "10.00"),
                                               ("10", "drug", "10.00")]))
        assert [("10.00", "waive"), ("5.00", "waive"), ("5.00", "half")] == [
            (str(line.reduction), line.rule) for line in decision.lines]


class TestConditions:
    def test_effective_window_inclusive(self, write_pack: WritePack, make_visit: MakeVisit) -> None:
        """A rule in force 2025-03-01 to 2025-03-31 applies on both those days, not the days outside."""
        engine = _engine(write_pack, _rule("march", "effective: {from: 2025-03-01, to: 2025-03-31}\n"
                                                    "items: [registration]\nbenefit: {waive: true}"))
        applied = {day: _line(engine, make_visit([("1", "registration", "5.00")], day=day))[2]
                   for day in ("2025-02-28", "2025-03-01", "2025-03-31", "2025-04-01")}
        assert {"2025-02-28": None, "2025-03-01": "march", "2025-03-31": "march", "2025-04-01": None} == applied

    @pytest.mark.parametrize(("region", "applies"), [
        ("450100", True), ("450000", True), ("451000", True), ("370100", False), ("440100", False),
    ])
    def test_regional_pack(self, write_pack: WritePack, make_visit: MakeVisit, region: str, applies: bool) -> None:
        """A pack for 450000 (广西) applies to visits in 广西 only."""
        engine = _engine(write_pack, _rule("gx", "items: [registration]\nbenefit: {waive: true}"),
                         head="region: \"450000\"\n")
        rule = _line(engine, make_visit([("1", "registration", "5.00")], region=region))[2]
        assert ("gx" if applies else None) == rule

    def test_region_predicate(self, write_pack: WritePack, make_visit: MakeVisit) -> None:
        """``when: {region: "450100"}`` holds in 南宁 (450102) but not in 柳州 (450200)."""
        engine = _engine(write_pack, _rule("nn", "when: {region: \"450100\"}\nitems: [registration]\n"
                                                 "benefit: {waive: true}"))
        assert ("nn", None) == (_line(engine, make_visit([("1", "registration", "5.00")], region="450102"))[2],
                                _line(engine, make_visit([("1", "registration", "5.00")], region="450200"))[2])

    def test_tags(self, write_pack: WritePack, make_visit: MakeVisit) -> None:
        """``tags`` tests each line: only the tagged drug line is waived."""
        engine = _engine(write_pack, _rule("tagged", "when: {tags: [military_supply]}\nitems: [drug]\n"
                                                     "benefit: {waive: true}"))
        visit = make_visit([("1", "drug", "8.00", "military_supply"), ("2", "drug", "8.00"),
                            ("3", "drug", "8.00", "other", "military_supply")])
        assert [("1", "tagged"), ("2", None), ("3", "tagged")] == [
            (line.line_id, line.rule) for line in engine.evaluate(visit).lines]

    def test_tags_with_visit_grants_refused(self, write_pack: WritePack) -> None:
        """A rule that tests line tags cannot also grant priorities: no line could decide for the visit."""
        with pytest.raises(PolicyError) as caught:
            _engine(write_pack, _rule("relapse", "when: {category: disabled_veteran, tags: old_injury_relapse}\n"
                                                 "items: [drug]\nbenefit: {reduce: \"50%\"}\n"
                                                 "priorities: [pharmacy]"))
        assert ("when.tags", "rule relapse tests charge-line tags, so it cannot also grant visit-level "
                "priorities or services; split it into two rules") == (caught.value.field, caught.value.message.en)

    @pytest.mark.parametrize(("birth_date", "applies"), [
        ("1965-03-01", True),    # 60 on the visit day, the birthday itself
        ("1965-03-02", False),   # 59 until tomorrow
        ("1940-01-01", True),
        (None, False),           # no birth date: age unknown, not eligible
    ])
    def test_age(self, write_pack: WritePack, make_visit: MakeVisit, birth_date: str | None,
                 applies: bool) -> None:
        """``age: {min: 60}`` needs a birth date and 60 whole years on the visit date."""
        engine = _engine(write_pack, _rule("elder", "when: {age: {min: 60}}\nitems: [registration]\n"
                                                    "benefit: {waive: true}"))
        visit = make_visit([("1", "registration", "5.00")], day=DAY, birth_date=birth_date)
        assert ("elder" if applies else None) == _line(engine, visit)[2]

    @pytest.mark.parametrize(("level", "applies"), [(1, True), (4, True), (5, False), (10, False), (None, False)])
    def test_disability_level(self, write_pack: WritePack, make_visit: MakeVisit, level: int | None,
                              applies: bool) -> None:
        """``disability_level: {min: 1, max: 4}`` holds for levels 1 to 4 inclusive, not without a level."""
        engine = _engine(write_pack, _rule("severe", "when: {category: disabled_veteran, "
                                                     "disability_level: {min: 1, max: 4}}\n"
                                                     "items: [registration]\nbenefit: {waive: true}"))
        visit = make_visit([("1", "registration", "5.00")], categories=("disabled_veteran",),
                           disability_level=level)
        assert ("severe" if applies else None) == _line(engine, visit)[2]

    def test_parent_category_covers_children(self, write_pack: WritePack, make_visit: MakeVisit) -> None:
        """A rule on key_care covers a martyr's survivor (烈士遗属 is under 重点优抚对象)."""
        engine = _engine(write_pack, _rule("kc", "when: {category: key_care}\nitems: [registration]\n"
                                                 "benefit: {waive: true}"))
        visit = make_visit([("1", "registration", "5.00")], categories=("martyr_family",))
        assert "kc" == _line(engine, visit)[2]

    @pytest.mark.parametrize(("categories", "applies"), [
        (("serviceman",), True), (("military_family",), True), (("veteran",), False), ((), False),
    ])
    def test_any(self, write_pack: WritePack, make_visit: MakeVisit, categories: tuple[str, ...],
                 applies: bool) -> None:
        """``any`` holds when one of its conditions does."""
        engine = _engine(write_pack, _rule("either", "when: {any: [{category: serviceman}, "
                                                     "{category: military_family}]}\n"
                                                     "items: [registration]\nbenefit: {waive: true}"))
        visit = make_visit([("1", "registration", "5.00")], categories=categories)
        assert ("either" if applies else None) == _line(engine, visit)[2]

    @pytest.mark.parametrize(("categories", "applies"), [
        ((), True), (("serviceman",), True), (("veteran",), False), (("demobilized_veteran",), False),
    ])
    def test_not(self, write_pack: WritePack, make_visit: MakeVisit, categories: tuple[str, ...],
                 applies: bool) -> None:
        """``not`` negates, and a child category (在乡复员军人 under 退役军人) counts as its parent."""
        engine = _engine(write_pack, _rule("nonvet", "when: {not: {category: veteran}}\n"
                                                     "items: [registration]\nbenefit: {waive: true}"))
        visit = make_visit([("1", "registration", "5.00")], categories=categories)
        assert ("nonvet" if applies else None) == _line(engine, visit)[2]

    @pytest.mark.parametrize(("kind", "cause", "applies"), [
        ("inpatient", "war", True), ("inpatient", "duty", False), ("outpatient", "war", False),
    ])
    def test_several_keys_all_hold(self, write_pack: WritePack, make_visit: MakeVisit, kind: str, cause: str,
                                   applies: bool) -> None:
        """Several keys in one ``when`` must all hold (visit kind and disability cause)."""
        engine = _engine(write_pack, _rule("war-ward", "when: {visit_kind: inpatient, disability_cause: war}\n"
                                                       "items: [bed]\nbenefit: {waive: true}"))
        visit = make_visit([("1", "bed", "30.00")], kind=kind, categories=("disabled_veteran",),
                           disability_cause=cause)
        assert ("war-ward" if applies else None) == _line(engine, visit)[2]


class TestExplain:
    def test_expired_card_not_eligible(self, seed_engine: Engine, make_visit: MakeVisit) -> None:
        """A card expired the day before: not_eligible, giving the card's window and the visit date."""
        visit = make_visit([("1", "registration", "12.00")], cards=((CARD, "2024-01-01", "2025-02-28"),))
        trace = seed_engine.explain(visit).lines[0].considered
        assert ([("two-waivers.registration", "not_eligible", None)],
                "重点优抚对象医疗证（桂001）在 2025-03-01 不在有效期内（2024-01-01 – 2025-02-28）",
                "key_care_medical_card (桂001) is not valid on 2025-03-01 (valid 2024-01-01 – 2025-02-28)") == (
            [(t.rule, t.outcome, t.reduction) for t in trace], trace[0].reason.zh, trace[0].reason.en)

    def test_applied_with_reduction(self, seed_engine: Engine, make_visit: MakeVisit) -> None:
        """With a valid card the rule is applied, with the amount it took off, its clause and source."""
        visit = make_visit([("1", "registration", "12.00")], cards=(VALID_CARD,))
        trace = seed_engine.explain(visit).lines[0].considered[0]
        rule = SEED_RULES["two-waivers.registration"]
        assert ("two-waivers.registration", "applied", Decimal("12.00"), rule.clause, rule.source) == (
            trace.rule, trace.outcome, trace.reduction, trace.clause, trace.source)

    def test_explain_keeps_the_decision(self, seed_engine: Engine, make_visit: MakeVisit) -> None:
        """``explain`` carries the same decision ``evaluate`` gives."""
        visit = make_visit([("2", "bed", "12.35"), ("1", "registration", "12.00")], kind="inpatient",
                           cards=(VALID_CARD,))
        assert seed_engine.evaluate(visit) == seed_engine.explain(visit).decision

    def test_outdone(self, write_pack: WritePack, make_visit: MakeVisit) -> None:
        """The losing rule of a group is traced as outdone, the winner as applied."""
        engine = _engine(write_pack, TestStacking.HALF, TestStacking.FIVE)
        trace = engine.explain(make_visit([("1", "bed", "100.00")])).lines[0].considered
        assert [("half", "applied", Decimal("50.00")), ("five", "outdone", None)] == [
            (t.rule, t.outcome, t.reduction) for t in trace]

    def test_not_effective(self, write_pack: WritePack, make_visit: MakeVisit) -> None:
        """A rule whose dates do not include the visit is traced as not_effective."""
        engine = _engine(write_pack, _rule("later", "effective: {from: 2026-01-01}\n"
                                                    "items: [registration]\nbenefit: {waive: true}"))
        trace = engine.explain(make_visit([("1", "registration", "5.00")])).lines[0].considered
        assert [("later", "not_effective")] == [(t.rule, t.outcome) for t in trace]

    def test_outside_region(self, write_pack: WritePack, make_visit: MakeVisit) -> None:
        """A regional rule is traced as outside_region for a visit elsewhere."""
        engine = _engine(write_pack, _rule("gx", "items: [registration]\nbenefit: {waive: true}"),
                         head="region: \"450000\"\n")
        trace = engine.explain(make_visit([("1", "registration", "5.00")], region="370100")).lines[0].considered
        assert [("gx", "outside_region")] == [(t.rule, t.outcome) for t in trace]

    def test_nothing_left_under_cap(self, write_pack: WritePack, make_visit: MakeVisit) -> None:
        """Once the per-visit cap is spent, a later line traces the rule as nothing_left."""
        engine = _engine(write_pack, TestCaps.PER_VISIT)
        explanation = engine.explain(make_visit([("1", "drug", "20.00"), ("2", "drug", "10.00")]))
        assert [("1", "applied"), ("2", "nothing_left")] == [
            (line.line_id, line.considered[0].outcome) for line in explanation.lines]

    def test_visit_level_granted(self, seed_engine: Engine, make_visit: MakeVisit) -> None:
        """A serviceman's outpatient visit: window and green channel granted, the ward not eligible."""
        outcomes = {t.rule: t.outcome for t in seed_engine.explain(make_visit(categories=("serviceman",))).visit}
        assert ("granted", "granted", "not_eligible", "not_eligible") == (
            outcomes["military-window"], outcomes["green-channel"], outcomes["military-ward"],
            outcomes["four-priorities"])

    def test_every_visit_rule_traced(self, seed_engine: Engine, make_visit: MakeVisit) -> None:
        """The visit trace lists every rule that grants priorities or services, in rule order."""
        traced = [t.rule for t in seed_engine.explain(make_visit()).visit]
        expected = [rule.spec.id for rule in seed_engine.policy.rules
                    if rule.spec.priorities or rule.spec.services]
        assert expected == traced
