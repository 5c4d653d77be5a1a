"""Which beneficiary category a posting records (:mod:`shuangyong.ledger.category`): the one the
rule's grant is for, the most specific, the first in registry order, whatever order the patient's
categories come in; no category and not recorded said as such; stored on every backend, carried
by reversals, and never a reason to refuse a re-post."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shuangyong.engine import Engine
from shuangyong.errors import LedgerError
from shuangyong.ledger import Ledger, requests_for
from shuangyong.ledger.category import NO_CATEGORY, UNRECORDED, named_categories, posting_category
from shuangyong.model import Registry
from shuangyong.model.vocabulary import Term
from shuangyong.policy import PolicySet
from shuangyong.policy.schema import When
from shuangyong.text import Text

from .builders import engine_for, visit, write_pack
from .test_ledger import request

BUILTIN = Registry.builtin().categories


def _with_elder() -> Registry:
    """A registry where a plugin put the “三老” elders under key care."""
    registry = Registry.builtin()
    registry.categories.register(Term("meritorious_elder", Text("“三老”功臣", "elder"), ("key_care",)))
    return registry


@pytest.mark.parametrize(("categories", "named", "expected"), [
    pytest.param((), (), NO_CATEGORY, id="none-listed"),
    pytest.param((), ("key_care",), NO_CATEGORY, id="none-listed-rule-by-category"),
    pytest.param(("key_care", "disabled_veteran"), (), "disabled_veteran", id="most-specific"),
    pytest.param(("veteran", "war_test_veteran"), (), "war_test_veteran", id="second-parent-dropped"),
    pytest.param(("veteran", "disabled_veteran"), (), "disabled_veteran", id="registry-order"),
    pytest.param(("veteran", "disabled_veteran"), ("veteran",), "veteran", id="the-rule-is-for-veterans"),
    pytest.param(("military_family", "martyr_family"), (), "military_family", id="rule-names-none"),
    pytest.param(("military_family", "martyr_family"), ("key_care",), "martyr_family", id="rule-names-a-parent"),
    pytest.param(("military_family", "martyr_family"), ("serviceman",), "military_family",
                 id="rule-names-none-of-hers"),
    pytest.param(("zz_local", "aa_local"), (), "aa_local", id="unknown-by-id"),
    pytest.param(("aa_local", "veteran"), (), "veteran", id="known-before-unknown"),
])
def test_the_category_chosen(categories: tuple[str, ...], named: tuple[str, ...], expected: str) -> None:
    assert expected == posting_category(categories, frozenset(named), BUILTIN)


def test_a_plugins_parents_count_when_its_registry_is_given() -> None:
    """Without the plugin's registry an elder is not known to be under key care, so the rule for
    key care is for the key_care entry; with it, the elder is the more specific."""
    listed, named = ("meritorious_elder", "key_care"), frozenset({"key_care"})
    assert ("key_care", "meritorious_elder") == (posting_category(listed, named, BUILTIN),
                                                 posting_category(listed, named, _with_elder().categories))


@given(st.permutations(["veteran", "military_family", "key_care", "martyr_family", "war_test_veteran", "x_local"]),
       st.sampled_from([(), ("key_care",), ("veteran",), ("serviceman",)]))
def test_independent_of_the_order_given(categories: list[str], named: tuple[str, ...]) -> None:
    """Any order of the same categories gives the same answer (hand-computed for each rule)."""
    expected = {(): "military_family", ("key_care",): "martyr_family", ("veteran",): "war_test_veteran",
                ("serviceman",): "military_family"}[named]
    assert expected == posting_category(categories, frozenset(named), BUILTIN)


def test_named_categories_leave_out_what_is_negated() -> None:
    when = When.model_validate({"category": "serviceman", "any": [{"category": ["veteran"]}, {"credential": "x"}],
                                "all": [{"not": {"category": "military_family"}}, {"any": [{"category": "key_care"}]}]})
    assert (frozenset({"serviceman", "veteran", "key_care"}), frozenset()) == (
        named_categories(when), named_categories(None))


PACK = """
    schema_version: 1
    pack: test-categories
    title: {zh: 测试, en: test}
    extends: seed-example
    region: "450000"
    rules:
      - id: family.consultation
        title: {zh: 军属诊查费减半, en: Consultation halved for families}
        clause: 测试条文
        source: 测试出处
        when: {category: military_family}
        items: [consultation]
        benefit: {reduce: "50%"}
        group: family
      - id: care.drug
        title: {zh: 药品费, en: Drugs}
        clause: 测试条文
        source: 测试出处
        when: {any: [{category: key_care}, {credential: preferential_card}]}
        items: [drug]
        benefit: {reduce: "10%"}
        group: care
      - id: not-serving.exam
        title: {zh: 检查费, en: Exams}
        clause: 测试条文
        source: 测试出处
        when: {not: {category: serviceman}}
        items: [exam]
        benefit: {reduce: "20%"}
        group: exam
"""
LINES = [("1", "registration", "12.00"), ("2", "consultation", "20.00"), ("3", "drug", "50.00"),
         ("4", "exam", "80.00")]


@pytest.mark.parametrize(("categories", "expected"), [
    # the registration and the exam rules name none of her categories, so the first in registry
    # order; the drug rule is for key care, which she is as a martyr's survivor
    (("martyr_family", "military_family"), ["military_family", "military_family", "martyr_family",
                                            "military_family"]),
    (("key_care", "disabled_veteran"), ["disabled_veteran", None, "disabled_veteran", "disabled_veteran"]),
    ((), [NO_CATEGORY, None, None, NO_CATEGORY]),
])
def test_requests_record_the_category_each_rule_grants_for(tmp_path: Path, categories: tuple[str, ...],
                                                          expected: list[str | None]) -> None:
    """Each share of a visit records the category its own rule is for (``None``: no share)."""
    engine = engine_for(write_pack(tmp_path, "categories", PACK))
    patient = visit(LINES, categories=categories, cards=(("key_care_medical_card", None, None),))
    asked = {r.line_id: (r.rule_id, r.category) for r in requests_for(patient, engine.evaluate(patient),
                                                                       engine.policy)}
    rules = ["two-waivers.registration", "family.consultation", "care.drug", "not-serving.exam"]
    assert {line: (rule, category) for line, rule, category in zip("1234", rules, expected, strict=True)
            if category is not None} == asked


def test_requests_use_the_registry_given(tmp_path: Path) -> None:
    """The engine's registry (a plugin's category under key care) decides, not the built-in one."""
    registry = _with_elder()
    engine = Engine(PolicySet.load([str(write_pack(tmp_path, "categories", PACK))], registry), registry)
    patient = visit([("3", "drug", "50.00")], categories=("key_care", "meritorious_elder"))
    decision = engine.evaluate(patient)
    assert (["key_care"], ["meritorious_elder"]) == (
        [r.category for r in requests_for(patient, decision, engine.policy)],
        [r.category for r in requests_for(patient, decision, engine.policy, registry=engine.registry)])


class TestOnTheLedger:
    def test_stored_carried_by_the_reversal_and_not_compared_on_a_repost(self, ledger: Ledger) -> None:
        """A re-post with another category (the patient's record changed since) is the same grant:
        it returns the earlier row, with the category it was posted with, and writes nothing."""
        first = ledger.post([request("1", category="disabled_veteran"), request("2"),
                             request("3", category=NO_CATEGORY)])
        again = ledger.post([request("1", category="military_family"), request("2", category="veteran"),
                             request("3")])
        reversal = ledger.reverse(1, "挂错号")
        assert (first, reversal.category) == (again, "disabled_veteran")
        assert [("grant", "disabled_veteran"), ("grant", UNRECORDED), ("grant", NO_CATEGORY),
                ("reversal", "disabled_veteran")] == [(p.kind, p.category) for p in ledger.postings()]

    @pytest.mark.parametrize("category", [" disabled_veteran", "disabled_veteran\n", 5, None])
    def test_a_category_that_is_no_id_is_refused(self, ledger: Ledger, category: object) -> None:
        """Refused when the request is built, naming the line and the field: nothing is posted."""
        ledger.post([request("1")])
        with pytest.raises(LedgerError) as caught:
            ledger.post([request("2"), request("3", category=category)])
        assert ("V1/3", "category", category, f"category {category!r} is not a category id") == (
            caught.value.record, caught.value.field, caught.value.value, caught.value.message.en)
        assert f"优抚对象类别 {category!r} 不是类别标识" == caught.value.message.zh
        assert [1] == [p.seq for p in ledger.postings()]
