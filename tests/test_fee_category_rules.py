"""Rules that name fee categories, and ``settlement.item_rules_first``
(docs/settlement.md#fee-category-rules): the worked examples, explain's reasons, the pack keys and
their refusals, layering, fingerprints, the fast path and batch, ``policy check``, and two
hypothesis properties.

Each worked example's figures are done by hand in its docstring; the rates are the tests' own.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal
from operator import attrgetter
from pathlib import Path
from typing import Any

import attrs
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from shuangyong.batch import BatchEngine
from shuangyong.batch.sources import json_line_chunks
from shuangyong.cli import main
from shuangyong.engine import Decision, Engine
from shuangyong.errors import PolicyError, UnknownItemError
from shuangyong.model import Beneficiary, ChargeLine, Registry, Visit
from shuangyong.money import from_fen
from shuangyong.policy import PolicySet, load_reference
from shuangyong.policy.reach import unreached_items
from shuangyong.testing.properties import check_bounds, check_sums

from .batch_support import batch_output, jsonl, row_output
from .conftest import line_of
from .test_batch import good
from .test_settlement import SUBSIDY, engine, insured, payers, rule, visit, write

ITEM_FIRST = "settlement: {item_rules_first: true}\n"
INJECTION_WAIVED = rule("item", """
    items: [injection]
    benefit: {reduce: "100%"}
""")
TREATMENT_HALF = rule("cat", """
    fee_categories: ["05"]
    benefit: {reduce: "50%"}
""")


def line(line_id: str, item: str, amount: str, fee_category: str | None = None, **more: Any) -> ChargeLine:
    return ChargeLine(line_id, item, amount, fee_category=fee_category, **more)


#: an injection and a dressing in 05, drugs in 09, and an injection that sends no fee category
FOUR_LINES = visit(line("1", "injection", "20.00", "05"), line("2", "dressing", "30.00", "05"),
                   line("3", "drug", "40.00", "09"), line("4", "injection", "10.00"))


def shares(decision_line: Any) -> list[tuple[str, str]]:
    return [(share.rule, str(share.reduction)) for share in decision_line.applied]


def traces(built: Engine, visit_: Visit, number: int = 0) -> dict[str, Any]:
    return {trace.rule: trace for trace in built.explain(visit_).lines[number].considered}


def in_groups(text: str, group: str) -> str:
    return text.rstrip("\n") + f"\n    group: {group}\n"


class TestWorkedExamples:
    def test_one_group_without_item_rules_first(self, tmp_path: Path) -> None:
        """Both rules in the default group. Line 1 (injection, 05, 20.00): the item rule takes
        20.00, the category rule 50 % = 10.00; the larger wins. Line 2 (dressing, 05, 30.00):
        only the category rule, 15.00. Line 3 (drugs, 09): neither. Line 4 (injection, no fee
        category): the item rule only, 10.00."""
        built = engine(tmp_path, INJECTION_WAIVED, TREATMENT_HALF)
        decision = built.evaluate(FOUR_LINES)
        assert [[("item", "20.00")], [("cat", "15.00")], [], [("item", "10.00")]] == [
            shares(line_) for line_ in decision.lines]
        assert (Decimal("45.00"), {"hospital": "45.00", "patient": "55.00"}) == (
            decision.totals.reduction, dict((p, str(a)) for p, a in decision.totals.payers))
        cat = traces(built, FOUR_LINES)["cat"]
        assert ("outdone", "but item in payer hospital's same group (default) takes off more or comes first") == (
            cat.outcome, cat.reason.en.split("; ")[-1])

    def test_one_group_with_item_rules_first(self, tmp_path: Path) -> None:
        """The same, item rules first: the same amounts (the item rule was the larger anyway),
        but on line 1 the category rule is shut out rather than outdone, and explain says so."""
        built = engine(tmp_path, INJECTION_WAIVED, TREATMENT_HALF, head=ITEM_FIRST)
        decision = built.evaluate(FOUR_LINES)
        assert [[("item", "20.00")], [("cat", "15.00")], [], [("item", "10.00")]] == [
            shares(line_) for line_ in decision.lines]
        cat = traces(built, FOUR_LINES)["cat"]
        assert ("outdone", None, None) == (cat.outcome, cat.reduction, cat.base_amount)
        assert cat.reason.en == ("no condition; but an item-level rule of the same payer applied first: item "
                                 "(payer hospital, item_rules_first); this fee-category rule does not apply")
        assert cat.reason.zh == ("无附加条件；但同一付款方的项目级规则已先适用：item（付款方 hospital，"
                                 "item_rules_first）；本条按医疗收费项目类别的规则不再适用")
        assert "applied" == traces(built, FOUR_LINES, 1)["cat"].outcome

    def test_category_group_first_without_item_rules_first(self, tmp_path: Path) -> None:
        """Groups [category, item]: on line 1 the category rule halves 20.00 (10.00), then the
        item rule waives the 10.00 left; the decision's rule is the category rule."""
        built = engine(tmp_path, in_groups(INJECTION_WAIVED, "item"), in_groups(TREATMENT_HALF, "category"),
                       head="groups: [category, item]\n")
        first = built.evaluate(FOUR_LINES).lines[0]
        assert ([("cat", "10.00"), ("item", "10.00")], "cat", Decimal("0.00")) == (
            shares(first), first.rule, first.payable)

    def test_category_group_first_with_item_rules_first(self, tmp_path: Path) -> None:
        """The same groups, item rules first: whatever the group order, the item rule alone
        waives line 1 (20.00); the dressing is still halved (15.00)."""
        built = engine(tmp_path, in_groups(INJECTION_WAIVED, "item"), in_groups(TREATMENT_HALF, "category"),
                       head="groups: [category, item]\n" + ITEM_FIRST)
        decision = built.evaluate(FOUR_LINES)
        assert ([("item", "20.00")], "item", [("cat", "15.00")]) == (
            shares(decision.lines[0]), decision.lines[0].rule, shares(decision.lines[1]))

    @pytest.mark.parametrize(("head", "expected"), [("", [("cat", "10.00")]), (ITEM_FIRST, [("item", "4.00")])])
    def test_a_smaller_item_rule_still_comes_first(self, tmp_path: Path, head: str,
                                                   expected: list[tuple[str, str]]) -> None:
        """Item rule 20 % (4.00 of 20.00) against the category's 50 % (10.00) in one group: the
        larger wins without item_rules_first, the item rule with it."""
        smaller = INJECTION_WAIVED.replace('"100%"', '"20%"')
        assert expected == shares(engine(tmp_path, smaller, TREATMENT_HALF, head=head).evaluate(FOUR_LINES).lines[0])

    def test_zero_percent_item_rule_keeps_an_item_out_of_the_category(self, tmp_path: Path) -> None:
        """An item rule of 0 % holds and takes nothing: the injection pays 20.00 in full and the
        decision names no rule; the category rule is traced as shut out."""
        built = engine(tmp_path, INJECTION_WAIVED.replace('"100%"', '"0%"'), TREATMENT_HALF, head=ITEM_FIRST)
        first = built.evaluate(FOUR_LINES).lines[0]
        assert ([], None, Decimal("20.00")) == (shares(first), first.rule, first.payable)
        assert "this fee-category rule does not apply" in traces(built, FOUR_LINES)["cat"].reason.en

    def test_an_item_rule_that_does_not_hold_shuts_nothing_out(self, tmp_path: Path) -> None:
        """The item rule is for servicemen (the patient is a disabled veteran) or for lines tagged
        ``stat``: where it does not hold, the category rule halves the injection (10.00)."""
        for condition in ("{category: serviceman}", "{tags: [stat]}"):
            narrow = INJECTION_WAIVED.replace("    items:", f"    when: {condition}\n    items:")
            built = engine(tmp_path, narrow, TREATMENT_HALF, head=ITEM_FIRST)
            assert [("cat", "10.00")] == shares(built.evaluate(FOUR_LINES).lines[0]), condition
        tagged = visit(line("1", "injection", "20.00", "05", tags=frozenset({"stat"})))
        assert [("item", "20.00")] == shares(built.evaluate(tagged).lines[0])

    def test_an_item_rule_skipped_without_insurance_shuts_nothing_out(self, tmp_path: Path) -> None:
        """The item rule is on the patient's share and skips visits without insurance data: on
        such a visit it does not apply, so the category rule does (10.00)."""
        skipping = INJECTION_WAIVED.replace("    items:", "    base: patient_share\n    without_insurance: skip\n"
                                                          "    items:")
        assert [("cat", "10.00")] == shares(engine(tmp_path, skipping, TREATMENT_HALF, head=ITEM_FIRST)
                                            .evaluate(FOUR_LINES).lines[0])

    def test_another_payers_item_rule_does_not_shut_out_the_hospitals(self, tmp_path: Path) -> None:
        """The item rule is the subsidy's: the hospital (first in the waterfall) halves the
        injection, 10.00, and the subsidy waives the 10.00 left."""
        subsidy = INJECTION_WAIVED.replace("    items:", f"    payer: {SUBSIDY}\n    items:")
        first = engine(tmp_path, subsidy, TREATMENT_HALF, head=ITEM_FIRST).evaluate(FOUR_LINES).lines[0]
        assert {"hospital": "10.00", SUBSIDY: "10.00", "patient": "0.00"} == payers(first)

    def test_a_rule_naming_both_counts_once_and_is_item_level(self, tmp_path: Path) -> None:
        """``both`` names injection and fee category 04: it reaches an injection sent in 04 once
        (20.00, not twice), a routine test in 04 and an injection with no category. On the
        injection in 04 it is item-level, and shuts out ``lab``, a rule on 04 alone; on the
        routine test it is category-level, like ``lab``, and the two stack (8.00 waived first)."""
        both = rule("both", """
            items: [injection]
            fee_categories: ["04"]
            benefit: {reduce: "100%"}
        """)
        lab = rule("lab", """
            fee_categories: ["04"]
            benefit: {reduce: "50%"}
            group: lab
        """)
        built = engine(tmp_path, both, lab, head=ITEM_FIRST)
        decision = built.evaluate(visit(line("1", "injection", "20.00", "04"), line("2", "routine_test", "8.00", "04"),
                                        line("3", "injection", "6.00")))
        assert [[("both", "20.00")], [("both", "8.00")], [("both", "6.00")]] == [
            shares(line_) for line_ in decision.lines]
        assert "outdone" == traces(built, visit(line("1", "injection", "20.00", "04")))["lab"].outcome

    def test_visit_scope_category_rule_leaves_out_the_shut_out_lines(self, tmp_path: Path) -> None:
        """Insured: injection 20.00 (basic_pool 10.00, in-scope 10.00), dressing 30.00 (basic_pool
        10.00, in-scope 20.00). The subsidy's item rule takes 50 % of the injection's share (5.00);
        its visit-scope category rule takes 80 % of the 05 lines' summed share. Item rules first:
        the sum is the dressing's 20.00 alone, 16.00. Without: 5.00 + 20.00 = 25.00, 20.00, shared
        back 4.00 and 16.00."""
        item = rule("item", f"""
            items: [injection]
            benefit: {{reduce: "50%"}}
            payer: {SUBSIDY}
            base: patient_share
            group: item
        """)
        cat = rule("cat", f"""
            fee_categories: ["05"]
            benefit: {{reduce: "80%"}}
            payer: {SUBSIDY}
            base: patient_share
            scope: visit
            group: category
        """)
        insured_visit = visit(
            insured("1", "injection", "20.00", funds={"basic_pool": "10.00"}, in_scope="10.00")._replace(
                fee_category="05"),
            insured("2", "dressing", "30.00", funds={"basic_pool": "10.00"}, in_scope="20.00")._replace(
                fee_category="05"))
        head = "groups: [item, category]\n"
        first, second = engine(tmp_path, item, cat, head=head + ITEM_FIRST).evaluate(insured_visit).lines
        assert ([("item", "5.00")], [("cat", "16.00")]) == (shares(first), shares(second))
        first, second = engine(tmp_path, item, cat, head=head).evaluate(insured_visit).lines
        assert ([("item", "5.00"), ("cat", "4.00")], [("cat", "16.00")]) == (shares(first), shares(second))
        assert {"basic_pool": "10.00", SUBSIDY: "9.00", "patient": "1.00"} == payers(first)

    def test_strict_mode_still_refuses_an_unknown_item_in_a_category(self, tmp_path: Path) -> None:
        """An unknown item kind sent in 05 is refused in strict mode, though a 05 rule would reach it."""
        built = Engine.from_packs(str(write(tmp_path, TREATMENT_HALF)), strict=True)
        with pytest.raises(UnknownItemError) as caught:
            built.evaluate(visit(line("1", "acupuncture", "20.00", "05")))
        assert ("V1", "lines[0].item") == (caught.value.record, caught.value.field)
        lenient = engine(tmp_path, TREATMENT_HALF).evaluate(visit(line("1", "acupuncture", "20.00", "05")))
        assert [("cat", "10.00")] == shares(lenient.lines[0])


class TestPackKeys:
    @pytest.mark.parametrize(("body", "needle", "field", "message"), [
        ('fee_categories: ["05", "15"]\nbenefit: {reduce: "5%"}', "fee_categories:", "rules[0].fee_categories",
         "rule r1: unknown fee category '15' (known: 01, 02, 03, 04, 05, 06, 07, 08, 09, 10, 11, 12, 13, 14)"),
        ('fee_categories: [9]\nbenefit: {reduce: "5%"}', "fee_categories:", "rules[0].fee_categories",
         'a fee category is two digits in quotes ("09"), got 9'),
        ('fee_categories: ["05"]', "- id: r1", "rules[0]",
         "fee_categories and benefit go together: fee categories need a benefit"),
        ('fee_categories: ["05"]\nbenefit: {waive_deposit: true}', "benefit:", "rules[0].benefit",
         "rule r1: waive_deposit applies to deposit items only; fee categories (fee_categories) are charges"),
    ])
    def test_malformed_rule(self, tmp_path: Path, body: str, needle: str, field: str, message: str) -> None:
        """Each mistake is a PolicyError at its file:line and field, in zh and en."""
        path = write(tmp_path, rule("r1", body))
        with pytest.raises(PolicyError) as caught:
            Engine.from_packs(str(path))
        assert (f"{path}:{line_of(path, needle)}", field) == (caught.value.record, caught.value.field)
        assert message in caught.value.message.en and caught.value.message.zh

    def test_unknown_category_in_zh(self, tmp_path: Path) -> None:
        path = write(tmp_path, rule("r1", 'fee_categories: "15"\nbenefit: {reduce: "5%"}'))
        with pytest.raises(PolicyError) as caught:
            Engine.from_packs(str(path))
        assert caught.value.message.zh.startswith("规则 r1：未知的医疗收费项目类别 '15'（可用：01, 02")

    @pytest.mark.parametrize(("settlement", "field", "message"), [
        ("{}", "settlement", "an empty settlement; write payers, item_rules_first or both"),
        ('{item_rules_first: "yes"}', "settlement.item_rules_first", "must be true or false, got 'yes'"),
        ("{payers: null}", "settlement.payers", "payers is a list of payers"),
    ])
    def test_malformed_settlement(self, tmp_path: Path, settlement: str, field: str, message: str) -> None:
        path = write(tmp_path, TREATMENT_HALF, head=f"settlement: {settlement}\n")
        with pytest.raises(PolicyError) as caught:
            load_reference(str(path))
        assert (f"{path}:{line_of(path, 'settlement:')}", field) == (caught.value.record, caught.value.field)
        assert message in caught.value.message.en


class TestLayering:
    def test_each_key_is_decided_by_the_highest_layer_that_gives_it(self, tmp_path: Path) -> None:
        """The city puts item rules first and orders the payers; a hospital pack that sets only
        the payers keeps item rules first; one that says false turns it off and keeps the order."""
        write(tmp_path, TREATMENT_HALF, rule("s", f'items: [drug]\nbenefit: {{reduce: "5%"}}\npayer: {SUBSIDY}'),
              head=f"settlement: {{payers: [{SUBSIDY}, hospital], item_rules_first: true}}\n", name="city")
        keeps = write(tmp_path, head=f"extends: city.yaml\nsettlement: {{payers: [hospital, {SUBSIDY}]}}\n",
                      name="keeps")
        turns = write(tmp_path, head="extends: city.yaml\nsettlement: {item_rules_first: false}\n", name="turns")
        assert (True, ("hospital", SUBSIDY)) == (lambda p: (p.item_rules_first, p.payers))(
            Engine.from_packs(str(keeps)).policy)
        assert (False, (SUBSIDY, "hospital")) == (lambda p: (p.item_rules_first, p.payers))(
            Engine.from_packs(str(turns)).policy)


class TestFingerprint:
    def test_the_defaults_leave_it_as_it_was(self, tmp_path: Path) -> None:
        """``fee_categories: []`` and ``item_rules_first: false`` change nothing; fee categories
        or ``item_rules_first: true`` do, each differently."""
        plain_rule = rule("r", 'items: [drug]\nbenefit: {reduce: "5%"}')
        plain = Engine.from_packs(str(write(tmp_path, plain_rule, name="plain"))).fingerprint
        spelled = write(tmp_path, plain_rule.rstrip("\n") + "\n    fee_categories: []\n",
                        head="settlement: {item_rules_first: false}\n", name="spelled")
        assert plain == Engine.from_packs(str(spelled)).fingerprint
        changed = {Engine.from_packs(str(write(tmp_path, text, head=head, name=f"p{n}"))).fingerprint
                   for n, (text, head) in enumerate([
                       (plain_rule.rstrip("\n") + '\n    fee_categories: ["09"]\n', ""),
                       (plain_rule, ITEM_FIRST)])}
        assert 2 == len(changed) and plain not in changed


class TestPaths:
    def test_a_fee_category_rule_takes_the_settlement_path(self, tmp_path: Path) -> None:
        """A pack with a fee-category rule settles every visit (its decisions name the payers)."""
        built = engine(tmp_path, TREATMENT_HALF)
        assert built.compiled.settles
        assert {"hospital": "10.00", "patient": "10.00"} == payers(built.evaluate(FOUR_LINES).lines[0])

    def test_item_rules_first_alone_keeps_the_fast_path(self, tmp_path: Path) -> None:
        """Without fee-category rules, item_rules_first changes nothing: the fast path, and the
        decisions of the same pack without it."""
        plain = engine(tmp_path, INJECTION_WAIVED)
        first = Engine.from_packs(str(write(tmp_path, INJECTION_WAIVED, head=ITEM_FIRST, name="first")))
        assert (False, False) == (first.compiled.settles, first.settles(FOUR_LINES))
        assert attrs.evolve(plain.evaluate(FOUR_LINES), policy=first.fingerprint) == first.evaluate(FOUR_LINES)

    def test_batch_sends_every_visit_to_the_row_engine(self, tmp_path: Path) -> None:
        """Under a pack with a fee-category rule, batch decides no visit over columns, and its
        bytes are evaluate's."""
        built = engine(tmp_path, rule("cat", 'fee_categories: ["01"]\nbenefit: {reduce: "50%"}'))
        data = jsonl([good("A"), good("B", lines=[{"line_id": "1", "fee_category": "01", "amount": "80.00"}])])
        result = BatchEngine(built).evaluate_chunk(next(json_line_chunks(io.BytesIO(data))))
        assert ([0, 1], 0) == (sorted(result.rows), len(result.vector))
        ours = batch_output(built, data)
        assert ours == row_output(built, data)
        assert {"hospital": "40.00", "patient": "40.00"} == json.loads(ours.splitlines()[1])["lines"][0]["payers"]


class TestPolicyTools:
    def test_policy_check_counts_a_fee_category_rule_as_reached(self, tmp_path: Path) -> None:
        """Injection is reached by no fee category mapping: a rule naming it alone is warned
        about; one naming it and fee category 05 is not."""
        registry = Registry.builtin()
        alone = load_policy(tmp_path, INJECTION_WAIVED, registry)
        both = load_policy(tmp_path, INJECTION_WAIVED.replace("    items:", '    fee_categories: ["05"]\n    items:'),
                           registry)
        assert ({"injection": ("item",)}, {}) == (unreached_items(alone, registry), unreached_items(both, registry))

    def test_policy_show_names_the_fee_categories(self, tmp_path: Path) -> None:
        path = write(tmp_path, INJECTION_WAIVED, TREATMENT_HALF)
        shown = CliRunner().invoke(main, ["policy", "show", "-p", str(path), "--format", "json"])
        item, cat = json.loads(shown.stdout)["rules"]
        assert (False, ["05"]) == ("fee_categories" in item, cat["fee_categories"])
        table = CliRunner().invoke(main, ["policy", "show", "-p", str(path)])
        assert "fee_category 05" in table.stdout


def load_policy(tmp_path: Path, text: str, registry: Registry) -> PolicySet:
    return PolicySet.load([str(write(tmp_path, text, name="reach"))], registry)


# --- properties --------------------------------------------------------------------------------

#: a line's fee category as a function of its item kind, so that "05" names injection and dressing
CATEGORY_OF = {"injection": "05", "dressing": "05", "routine_test": "04", "drug": "09"}
RATES = st.sampled_from(["0%", "20%", "50%", "100%"])
LINES = st.lists(st.tuples(st.sampled_from(sorted(CATEGORY_OF)), st.integers(1, 50_000), st.booleans()),
                 min_size=1, max_size=6)


def property_visit(drawn: list[tuple[str, int, bool]]) -> Visit:
    return Visit("V", dt.date(2025, 3, 1), "outpatient", "450100", Beneficiary("P", frozenset({"disabled_veteran"})),
                 tuple(ChargeLine(str(n), item, from_fen(fen), frozenset({"stat"}) if tagged else frozenset(),
                                  fee_category=CATEGORY_OF[item])
                       for n, (item, fen, tagged) in enumerate(drawn, start=1)))


def property_pack(tmp_path: Path, item_rate: str, cat_rate: str, order: str, *, category_key: str,
                  tagged: bool, head: str) -> Engine:
    """An item rule on injections (for lines tagged ``stat`` if ``tagged``) and a category rule
    named by ``category_key``, in one group or two in ``order``."""
    when = "\nwhen: {tags: [stat]}" if tagged else ""
    item = rule("item", f'items: [injection]\nbenefit: {{reduce: "{item_rate}"}}\ngroup: {order[0]}{when}')
    cat = rule("cat", f'{category_key}\nbenefit: {{reduce: "{cat_rate}"}}\ngroup: {order[1]}')
    groups = f"groups: [{', '.join(dict.fromkeys(order))}]\n"
    return Engine.from_packs(str(write(tmp_path, item, cat, head=groups + head, name="property")))


ORDERS = st.sampled_from(["aa", "ab", "ba"])


@settings(max_examples=60, deadline=None)
@given(RATES, RATES, ORDERS, st.booleans(), LINES)
def test_with_item_rules_first_an_item_matched_line_gets_nothing_from_the_category(
        tmp_path_factory: pytest.TempPathFactory, item_rate: str, cat_rate: str, order: str, tagged: bool,
        drawn: list[tuple[str, int, bool]]) -> None:
    """Wherever the hospital's item rule holds (an injection, tagged if the rule asks), no share
    of the line comes from its category rule, whatever the rates and the group order; the
    parts add up and none is negative."""
    built = property_pack(tmp_path_factory.mktemp("p"), item_rate, cat_rate, order,
                          category_key='fee_categories: ["05"]', tagged=tagged, head=ITEM_FIRST)
    subject = property_visit(drawn)
    decision = built.evaluate(subject)
    check_sums(decision)
    check_bounds(decision)
    for sent, decided in zip(sorted(subject.lines, key=attrgetter("order")), decision.lines, strict=True):
        holds = sent.item == "injection" and (not tagged or "stat" in sent.tags)
        assert not (holds and any(share.rule == "cat" for share in decided.applied)), decided


@settings(max_examples=60, deadline=None)
@given(RATES, RATES, ORDERS, LINES)
def test_without_item_rules_first_a_category_rule_is_its_items_rule(
        tmp_path_factory: pytest.TempPathFactory, item_rate: str, cat_rate: str, order: str,
        drawn: list[tuple[str, int, bool]]) -> None:
    """Without item_rules_first, ``fee_categories: ["05"]`` decides every line exactly as
    ``items: [dressing, injection]`` does, when those are the item kinds of the 05 lines."""
    folder = tmp_path_factory.mktemp("p")
    subject = property_visit(drawn)
    by_category = property_pack(folder, item_rate, cat_rate, order, category_key='fee_categories: ["05"]',
                                tagged=False, head="")
    by_items = property_pack(folder, item_rate, cat_rate, order, category_key="items: [dressing, injection]",
                             tagged=False, head="")
    assert outcome(by_category.evaluate(subject)) == outcome(by_items.evaluate(subject))


def outcome(decision: Decision) -> list[tuple[Any, ...]]:
    """What each line's decision says but the payer breakdown (only the settlement path gives one)."""
    return [(line_.line_id, line_.reduction, line_.payable, line_.rule, line_.applied) for line_ in decision.lines]
