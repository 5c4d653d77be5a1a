"""Settlement with insurance (docs/settlement.md): the pack keys, the layering of the payers'
order, the engine's waterfall, explain's steps and every refusal.

Each worked example's figures are done by hand in its docstring; the pack rates and caps are the
tests' own, not any city's.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from shuangyong.batch import BatchEngine
from shuangyong.batch.sources import json_line_chunks
from shuangyong.cli import main
from shuangyong.engine import Engine
from shuangyong.engine.settlement import apportion
from shuangyong.errors import InputError, PolicyError
from shuangyong.interchange import visit_from_dict
from shuangyong.model import Beneficiary, ChargeLine, Registry, Visit
from shuangyong.model.insurance import Insurance
from shuangyong.model.vocabulary import Term
from shuangyong.policy import load_reference
from shuangyong.text import Text

from .batch_support import batch_output, jsonl, row_output
from .builders import RULE_HEAD
from .conftest import line_of
from .test_batch import good

DAY = dt.date(2025, 3, 1)
SUBSIDY = "youfu_medical_subsidy"


def insured(line_id: str, item: str, amount: str, *, funds: dict[str, str] | None = None,
            **self_pay: str) -> ChargeLine:
    """A charge line with what 医保 settled on it: ``funds`` and the self-pay parts, in yuan."""
    return ChargeLine(line_id, item, amount, insurance=Insurance(
        tuple((fund, Decimal(paid)) for fund, paid in (funds or {}).items()),
        **{part: Decimal(value) for part, value in self_pay.items()}))


def visit(*lines: ChargeLine, visit_id: str = "V1") -> Visit:
    return Visit(visit_id, DAY, "outpatient", "450100", Beneficiary("P1", frozenset({"disabled_veteran"})), lines)


def rule(rule_id: str, body: str) -> str:
    """One rule of a test pack: the required fields, then ``body`` (YAML, one key a line)."""
    lines = [f"  - id: {rule_id}", *("    " + text for text in RULE_HEAD.splitlines()),
             *("    " + text.strip() for text in body.strip().splitlines())]
    return "\n".join(lines) + "\n"


def pack_text(*rules: str, head: str = "", name: str = "city") -> str:
    return f"pack: {name}\ntitle: {{zh: 测试, en: test}}\n{head}" + ("rules:\n" + "".join(rules) if rules else "")


def write(tmp_path: Path, *rules: str, head: str = "", name: str = "city") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(pack_text(*rules, head=head, name=name), encoding="utf-8")
    return path


def engine(tmp_path: Path, *rules: str, head: str = "") -> Engine:
    return Engine.from_packs(str(write(tmp_path, *rules, head=head)))


def payers(decision_line: Any) -> dict[str, str]:
    return {payer: str(part) for payer, part in decision_line.payers}


SHARE_80 = rule("subsidy", f"""
    items: [drug, exam, registration]
    benefit: {{reduce: "80%"}}
    payer: {SUBSIDY}
    base: patient_share
    caps: {{per_visit: "20.00"}}
    group: subsidy
""")
HOSPITAL_10 = rule("hospital", """
    items: [drug, exam, registration]
    benefit: {reduce: "10%"}
    group: fee
""")


class TestWorkedExamples:
    def test_subsidy_on_the_patient_share(self, tmp_path: Path) -> None:
        """Amount 100.00: basic_pool 60.00, in_scope 30.00, full 10.00. The patient's share is
        100.00 − 60.00 = 40.00; the subsidy is 80 % of it, 32.00, capped at 20.00 a visit: 20.00.
        The patient pays 40.00 − 20.00 = 20.00; 60.00 + 20.00 + 20.00 = 100.00."""
        decision = engine(tmp_path, SHARE_80).evaluate(visit(
            insured("1", "drug", "100.00", funds={"basic_pool": "60.00"}, in_scope="30.00", full="10.00")))
        line = decision.lines[0]
        assert {"basic_pool": "60.00", SUBSIDY: "20.00", "patient": "20.00"} == payers(line)
        assert (Decimal("60.00"), Decimal("20.00"), Decimal("20.00")) == (line.insurance, line.reduction, line.payable)
        assert [("subsidy", Decimal("20.00"), SUBSIDY, "patient_share")] == [tuple(a) for a in line.applied]

    def test_hospital_then_visit_subsidy_shared_back(self, tmp_path: Path) -> None:
        """Line 1, drug 100.00: basic_pool 60.00, in_scope 30.00, full 10.00. Line 2, registration
        12.00, all full self-pay. The hospital takes 10 % of the gross first: 10.00 (left 30.00)
        and 1.20 (left 10.80). The subsidy, visit scope, 80 % of the visit's patient share
        30.00 + 10.80 = 40.80 is 32.64, capped at 20.00. Shared back by the lines' shares, in
        fen: 2000 × 3000 / 4080 = 1470.59 and 2000 × 1080 / 4080 = 529.41; floors 1470 + 529 =
        1999, the last fen to the larger remainder (line 1): 14.71 and 5.29. The patient pays
        30.00 − 14.71 = 15.29 and 10.80 − 5.29 = 5.51."""
        visit_rule = SHARE_80.replace("    group: subsidy", "    scope: visit\n    group: subsidy")
        decision = engine(tmp_path, HOSPITAL_10, visit_rule, head="groups: [fee, subsidy]\n").evaluate(visit(
            insured("1", "drug", "100.00", funds={"basic_pool": "60.00"}, in_scope="30.00", full="10.00"),
            insured("2", "registration", "12.00", full="12.00")))
        first, second = decision.lines
        assert {"basic_pool": "60.00", "hospital": "10.00", SUBSIDY: "14.71", "patient": "15.29"} == payers(first)
        assert {"hospital": "1.20", SUBSIDY: "5.29", "patient": "5.51"} == payers(second)
        assert {"basic_pool": "60.00", "hospital": "11.20", SUBSIDY: "20.00", "patient": "20.80"} == {
            payer: str(part) for payer, part in decision.totals.payers}
        assert (Decimal("112.00"), Decimal("60.00"), Decimal("31.20"), Decimal("20.80")) == (
            decision.totals.amount, decision.totals.insurance, decision.totals.reduction, decision.totals.payable)

    def test_waterfall_order_decides(self, tmp_path: Path) -> None:
        """The same two rules, the subsidy's payer put first (settlement.payers). Drug 100.00,
        basic_pool 60.00, full 40.00: the subsidy takes 80 % of 40.00 = 32.00, capped 20.00
        (left 20.00); then the hospital's 10 % of the gross left, 100.00 − 20.00 = 80.00, is
        8.00 (left 12.00). In the default order (hospital first) the hospital takes 10.00 and the
        subsidy 80 % of 30.00 = 24.00, capped 20.00: the patient pays 10.00 instead."""
        lines = insured("1", "drug", "100.00", funds={"basic_pool": "60.00"}, full="40.00")
        first = engine(tmp_path, HOSPITAL_10, SHARE_80, head=f"settlement: {{payers: [{SUBSIDY}, hospital]}}\n")
        assert {"basic_pool": "60.00", SUBSIDY: "20.00", "hospital": "8.00", "patient": "12.00"} == payers(
            first.evaluate(visit(lines)).lines[0])
        assert (SUBSIDY, "hospital") == first.policy.payers
        default = engine(tmp_path, HOSPITAL_10, SHARE_80)
        assert {"basic_pool": "60.00", "hospital": "10.00", SUBSIDY: "20.00", "patient": "10.00"} == payers(
            default.evaluate(visit(lines)).lines[0])

    def test_in_scope_self_pay(self, tmp_path: Path) -> None:
        """A subsidy of all the in-scope self-pay. Drug 100.00: basic_pool 60.00, preliminary
        5.00, in_scope 25.00, full 10.00. The in-scope self-pay is 5.00 + 25.00 = 30.00, all of
        it subsidised; the patient pays the out-of-scope 10.00."""
        subsidy = rule("in-scope", f"""
            items: [drug]
            benefit: {{waive: true}}
            payer: {SUBSIDY}
            base: in_scope_self_pay
        """)
        line = engine(tmp_path, subsidy).evaluate(visit(insured(
            "1", "drug", "100.00", funds={"basic_pool": "60.00"}, preliminary="5.00", in_scope="25.00",
            full="10.00"))).lines[0]
        assert {"basic_pool": "60.00", SUBSIDY: "30.00", "patient": "10.00"} == payers(line)

    @pytest.mark.parametrize(("fixed", "expected"), [
        # 15.00 comes off the in-scope pot (30.00 → 15.00); the subsidy takes those 15.00
        ("15.00", {"basic_pool": "60.00", "hospital": "15.00", SUBSIDY: "15.00", "patient": "10.00"}),
        # 35.00 empties the in-scope pot and takes 5.00 of the out-of-scope 10.00: nothing is
        # left in scope to subsidise, and the patient pays the other 5.00
        ("35.00", {"basic_pool": "60.00", "hospital": "35.00", "patient": "5.00"}),
    ])
    def test_share_reductions_take_the_in_scope_pot_first(self, tmp_path: Path, fixed: str,
                                                          expected: dict[str, str]) -> None:
        """Drug 100.00: basic_pool 60.00, in_scope 30.00, full 10.00. The hospital takes a fixed
        amount off the patient's share, then a subsidy waives what is left of the in-scope pot."""
        hospital = rule("hospital", f"""
            items: [drug]
            benefit: {{fixed: "{fixed}"}}
            base: patient_share
            group: fee
        """)
        subsidy = rule("in-scope", f"""
            items: [drug]
            benefit: {{waive: true}}
            payer: {SUBSIDY}
            base: in_scope_self_pay
            group: subsidy
        """)
        line = engine(tmp_path, hospital, subsidy).evaluate(visit(insured(
            "1", "drug", "100.00", funds={"basic_pool": "60.00"}, in_scope="30.00", full="10.00"))).lines[0]
        assert expected == payers(line)

    def test_patient_pays_at_most_per_line(self, tmp_path: Path) -> None:
        """定额自负 10.00 on the patient's share: drug 100.00, basic_pool 60.00, share 40.00: the
        subsidy takes 40.00 − 10.00 = 30.00. On a share of 8.00 it takes nothing."""
        fixed_copay = rule("copay", f"""
            items: [drug]
            benefit: {{patient_pays_at_most: "10.00"}}
            payer: {SUBSIDY}
            base: patient_share
        """)
        decision = engine(tmp_path, fixed_copay).evaluate(visit(
            insured("1", "drug", "100.00", funds={"basic_pool": "60.00"}, full="40.00"),
            insured("2", "drug", "20.00", funds={"basic_pool": "12.00"}, full="8.00")))
        assert [{"basic_pool": "60.00", SUBSIDY: "30.00", "patient": "10.00"},
                {"basic_pool": "12.00", "patient": "8.00"}] == [payers(line) for line in decision.lines]

    def test_patient_pays_at_most_per_visit(self, tmp_path: Path) -> None:
        """定额自负 10.00 for the whole visit: shares 30.00 and 10.80 make 40.80, so the subsidy is
        30.80, shared 30.00 : 10.80 in fen: 3080 × 3000 / 4080 = 2264.71 and 3080 × 1080 / 4080
        = 815.29; floors 2264 + 815 = 3079, the last fen to line 1's larger remainder: 22.65 and
        8.15. The patient pays 7.35 + 2.65 = 10.00."""
        fixed_copay = rule("copay", f"""
            items: [drug, registration]
            benefit: {{patient_pays_at_most: "10.00"}}
            payer: {SUBSIDY}
            base: patient_share
            scope: visit
        """)
        decision = engine(tmp_path, fixed_copay).evaluate(visit(
            insured("1", "drug", "100.00", funds={"basic_pool": "70.00"}, in_scope="30.00"),
            insured("2", "registration", "10.80", full="10.80")))
        assert [("22.65", "7.35"), ("8.15", "2.65")] == [
            (str(line.reduction), str(line.payable)) for line in decision.lines]
        assert Decimal("10.00") == decision.totals.payable

    @pytest.mark.parametrize(("amount", "reduction"), [
        ("6000.00", "4700.00"),  # 1000 × 60 % + 4000 × 80 % + 1000 × 90 % = 600 + 3200 + 900
        ("1000.05", "600.04"),  # 600 + 0.05 × 80 % = 600.04
        ("5000.01", "3800.01"),  # 600 + 3200 + 0.01 × 90 % = 3800.009, rounded once: 3800.01
        ("800.00", "480.00"),  # only the first band: 800 × 60 %
    ])
    def test_tiers_are_progressive(self, tmp_path: Path, amount: str, reduction: str) -> None:
        """Bands of the gross: up to 1000.00 at 60 %, up to 5000.00 at 80 %, the rest at 90 %."""
        tiered = rule("tiers", """
            items: [surgery]
            benefit: {tiers: [{up_to: "1000.00", reduce: "60%"}, {up_to: "5000.00", reduce: "80%"}, {reduce: "90%"}]}
        """)
        line = engine(tmp_path, tiered).evaluate(visit(ChargeLine("1", "surgery", amount))).lines[0]
        assert Decimal(reduction) == line.reduction

    def test_tiers_round_once(self, tmp_path: Path) -> None:
        """Two bands of 50 % on 0.02: each band's part is 0.005; rounded once, 0.01 (rounding each
        band half up would give 0.02, the whole line)."""
        tiered = rule("tiers", """
            items: [surgery]
            benefit: {tiers: [{up_to: "0.01", reduce: "50%"}, {reduce: "50%"}]}
        """)
        line = engine(tmp_path, tiered).evaluate(visit(ChargeLine("1", "surgery", "0.02"))).lines[0]
        assert Decimal("0.01") == line.reduction

    def test_visit_share_never_above_what_a_line_may_give(self, tmp_path: Path) -> None:
        """Gross base, visit scope, the patient pays at most 100.00 of the visit's gross: line 1
        100.00 with basic_pool 90.00 (the patient owes 10.00), line 2 50.00 all full self-pay.
        The gross is 150.00, so 50.00 is taken, shared 100 : 50 by gross: 33.33 would exceed the
        10.00 line 1 owes, so line 1 gives its 10.00 and line 2 the other 40.00."""
        copay = rule("copay", f"""
            items: [exam]
            benefit: {{patient_pays_at_most: "100.00"}}
            payer: {SUBSIDY}
            scope: visit
        """)
        decision = engine(tmp_path, copay).evaluate(visit(
            insured("1", "exam", "100.00", funds={"basic_pool": "90.00"}, full="10.00"),
            insured("2", "exam", "50.00", full="50.00")))
        assert [("10.00", "0.00"), ("40.00", "10.00")] == [
            (str(line.reduction), str(line.payable)) for line in decision.lines]

    def test_a_line_insurance_paid_in_full(self, tmp_path: Path) -> None:
        """A line the funds paid in full leaves nothing for the hospital's waiver: its payers are
        the funds and a patient part of 0.00 (never left out)."""
        line = engine(tmp_path, HOSPITAL_10).evaluate(visit(
            insured("1", "drug", "30.00", funds={"basic_pool": "20.00", "critical_illness": "10.00"}))).lines[0]
        assert ([("basic_pool", Decimal("20.00")), ("critical_illness", Decimal("10.00")),
                 ("patient", Decimal("0.00"))], None) == (list(line.payers), line.rule)

    def test_funds_in_contract_order(self, tmp_path: Path) -> None:
        """Funds are listed as the contract orders them whatever order they came in (the built-in
        funds in registry order, then other ids by code point: ``model.spread.fund_order``), and a
        fund that paid 0.00 is left out."""
        line = engine(tmp_path, HOSPITAL_10).evaluate(visit(insured(
            "1", "drug", "10.00", funds={"city_fund": "1.00", "medical_assistance": "2.00", "basic_pool": "3.00",
                                         "large_amount": "0.00"}, full="4.00"))).lines[0]
        assert ["basic_pool", "medical_assistance", "city_fund", "hospital", "patient"] == [p for p, _ in line.payers]


class TestWithoutInsurance:
    def test_error_names_visit_rule_and_line(self, tmp_path: Path) -> None:
        """A patient-share rule on a visit without insurance data refuses the visit: no silent 0."""
        with pytest.raises(InputError) as caught:
            engine(tmp_path, SHARE_80).evaluate(visit(ChargeLine("5", "exam", "9.00"), ChargeLine("1", "drug", "3.00"),
                                                      visit_id="V7"))
        assert ("V7", "lines[1].insurance") == (caught.value.record, caught.value.field)
        assert "rule subsidy is computed on patient_share, but the visit has no insurance data" in (
            caught.value.message.en)
        assert "规则 subsidy" in caught.value.message.zh

    def test_skip_applies_nothing_and_explain_says_why(self, tmp_path: Path) -> None:
        """``without_insurance: skip``: the step does not apply, and explain says it was skipped."""
        skipping = SHARE_80.replace("    base: patient_share", "    base: patient_share\n    without_insurance: skip")
        built = engine(tmp_path, HOSPITAL_10, skipping)
        bare = visit(ChargeLine("1", "drug", "100.00"))
        line = built.evaluate(bare).lines[0]
        assert {"hospital": "10.00", "patient": "90.00"} == payers(line)
        traces = {trace.rule: trace for trace in built.explain(bare).lines[0].considered}
        assert ("skipped", SUBSIDY, "patient_share", None) == (
            traces["subsidy"].outcome, traces["subsidy"].payer, traces["subsidy"].base, traces["subsidy"].base_amount)
        assert "skipped: no insurance data" in traces["subsidy"].reason.en
        assert "without_insurance: skip" in traces["subsidy"].reason.zh

    def test_visit_scope_error_and_skip(self, tmp_path: Path) -> None:
        """The same for a visit-scope rule: refused, or skipped on every line it covers."""
        visit_rule = SHARE_80.replace("    group: subsidy", "    scope: visit\n    group: subsidy")
        bare = visit(ChargeLine("1", "drug", "100.00"), ChargeLine("2", "exam", "8.00"))
        with pytest.raises(InputError, match="rule subsidy is computed on patient_share"):
            engine(tmp_path, visit_rule).evaluate(bare)
        skipping = visit_rule.replace("    base: patient_share", "    base: patient_share\n    without_insurance: skip")
        built = engine(tmp_path, skipping)
        assert [Decimal("0.00"), Decimal("0.00")] == [line.reduction for line in built.evaluate(bare).lines]
        assert ["skipped", "skipped"] == [line.considered[0].outcome for line in built.explain(bare).lines]

    def test_gross_rules_need_no_insurance(self, tmp_path: Path) -> None:
        """A subsidy on the gross amount (another payer, no insurance data) takes the settlement
        path: 50 % of 12.35 is 6.175, rounded half up 6.18, borne by the subsidy."""
        gross = rule("gross", f"""
            items: [registration]
            benefit: {{reduce: "50%"}}
            payer: {SUBSIDY}
        """)
        line = engine(tmp_path, gross).evaluate(visit(ChargeLine("1", "registration", "12.35"))).lines[0]
        assert ({SUBSIDY: "6.18", "patient": "6.17"}, Decimal("0.00")) == (payers(line), line.insurance)

    def test_cli_refuses_that_visit_and_decides_the_others(self, tmp_path: Path) -> None:
        """``shuangyong evaluate``: the visit the rule cannot be applied to is an error record
        naming it (exit 2); the visit without a covered line is decided."""
        path = write(tmp_path, SHARE_80)
        records = [{"visit_id": visit_id, "date": "2025-03-01", "kind": "outpatient", "region": "450100",
                    "patient": {"id": "P1", "categories": [], "credentials": []},
                    "lines": [{"line_id": "1", "item": item, "amount": "10.00"}]}
                   for visit_id, item in (("A", "drug"), ("B", "bed"))]
        result = CliRunner().invoke(main, ["--lang", "en", "evaluate", "-p", str(path), "-"],
                                    input="".join(json.dumps(r) + "\n" for r in records))
        assert 2 == result.exit_code
        first, second = (json.loads(text) for text in result.stdout.splitlines())
        assert ("A", "lines[0].insurance") == (first["visit_id"], first["error"]["field"])
        assert ("B", "10.00") == (second["visit_id"], second["lines"][0]["payable"])


class TestRefusedInsuranceData:
    """What the contract refuses is refused when a visit is built in Python too, once, where it is
    built (``Insurance``, ``ChargeLine``, ``Visit``): the engine never sees it."""

    @pytest.mark.parametrize(("build", "field", "message"), [
        (lambda: insured("1", "drug", "10.00", funds={"basic_pool": "6.00"}, full="3.00"), "insurance",
         "the parts of insurance add up to 9.00, not to the line's amount 10.00"),
        (lambda: insured("1", "drug", "10.00", funds={"basic_pool": "12.00"}, full="-2.00"),
         "insurance.self_pay.full", "amount must not be negative (-2.00)"),
        (lambda: insured("1", "drug", "10.00", funds={"basic_pool": "-1.00"}, full="11.00"),
         "insurance.funds.basic_pool", "amount must not be negative (-1.00)"),
        (lambda: insured("1", "drug", "10.00", funds={"hospital": "1.00"}, full="9.00"), "insurance.funds.hospital",
         "'hospital' is not an insurance fund (built-in funds: basic_pool, critical_illness"),
        (lambda: insured("1", "drug", "10.00", funds={"patient": "1.00"}, full="9.00"), "insurance.funds.patient",
         "'patient' is not an insurance fund"),
        (lambda: insured("1", "drug", "10.00", funds={"": "1.00"}, full="9.00"), "insurance.funds.",
         "'' is not an insurance fund"),
        (lambda: Insurance((("basic_pool", 1.5),)), "insurance.funds.basic_pool", "amount must not be a float"),
        (lambda: Insurance(full=Decimal("1.005")), "insurance.self_pay.full", "has more than two decimals"),
    ])
    def test_bad_parts(self, build: Any, field: str, message: str) -> None:
        with pytest.raises(InputError) as caught:
            build()
        assert field == caught.value.field
        assert message in caught.value.message.en

    def test_figures_held_in_whole_fen(self) -> None:
        """Figures given as text, whole yuan or one decimal are held as the contract reads them,
        so a line built in Python is the usual line the engine's quick path takes."""
        built = Insurance((("basic_pool", "6"),), in_scope=Decimal("3.5"), full=0)
        assert (("basic_pool", "6.00"), "3.50", "0.00", "9.50", "6.00") == (
            tuple(map(str, built.funds[0])), str(built.in_scope), str(built.full), str(built.total),
            str(built.fund_total))
        assert (("basic_pool", Decimal("6.00")), ("patient", Decimal("3.50"))) == built.payers

    @pytest.mark.parametrize("bare_first", [True, False])
    def test_some_lines_insured_others_not(self, bare_first: bool) -> None:
        """Insurance data on some lines and not on others is refused, naming the visit and the
        bare line, with what to send for it."""
        lines = [ChargeLine("2", "drug", "5.00"), insured("1", "drug", "10.00", full="10.00")]
        with pytest.raises(InputError) as caught:
            visit(*(lines if bare_first else lines[::-1]), visit_id="V3")
        assert ("V3", f"lines[{0 if bare_first else 1}].insurance") == (caught.value.record, caught.value.field)
        assert ("other lines of this visit give insurance and line '2' does not: for a line insurance did not "
                'settle, give "insurance": {"self_pay": {"full": "5.00"}}') == caught.value.message.en

    def test_fund_named_like_a_plugin_subsidy(self, tmp_path: Path) -> None:
        """A payer a plugin registers to bear concessions cannot be a fund on a line: the engine,
        which knows the registry, refuses the visit naming line and field, and decides the next."""
        registry = Registry.builtin()
        registry.register_payer(Term("city_subsidy", Text("市补助", "city subsidy"), kind="subsidy"))
        built = Engine.from_packs(str(write(tmp_path, HOSPITAL_10)), registry=registry)
        with pytest.raises(InputError) as caught:
            built.evaluate(visit(insured("1", "drug", "10.00", funds={"city_subsidy": "1.00"}, full="9.00"),
                                 visit_id="V4"))
        assert ("V4", "lines[0].insurance.funds.city_subsidy") == (caught.value.record, caught.value.field)
        assert "line '1': 'city_subsidy' is not an insurance fund (it bears concessions)" == caught.value.message.en
        assert {"hospital": "1.00", "patient": "9.00"} == payers(
            built.evaluate(visit(insured("1", "drug", "10.00", full="10.00"))).lines[0])

    @pytest.mark.parametrize("how", ["evaluate", "explain"])
    def test_plugin_subsidy_named_on_a_later_line(self, tmp_path: Path, how: str) -> None:
        """Named as a fund on a line other than the first, among lines a fund paid: the error
        names that line as sent, whether the visit is decided or explained."""
        registry = Registry.builtin()
        registry.register_payer(Term("city_subsidy", Text("市补助", "city subsidy"), kind="subsidy"))
        built = Engine.from_packs(str(write(tmp_path, HOSPITAL_10)), registry=registry)
        lines = (insured("2", "drug", "10.00", funds={"basic_pool": "4.00"}, full="6.00"),
                 insured("10", "drug", "10.00", funds={"basic_pool": "2.00", "city_subsidy": "1.00"}, full="7.00"),
                 insured("1", "drug", "10.00", funds={"basic_pool": "4.00"}, full="6.00"))
        with pytest.raises(InputError) as caught:
            getattr(built, how)(visit(*lines, visit_id="V5"))
        assert ("V5", "lines[1].insurance.funds.city_subsidy") == (caught.value.record, caught.value.field)


class TestFastPathKept:
    def test_uninsured_visit_under_old_packs_takes_the_fast_path(self, make_visit: Any) -> None:
        """Without insurance data and new pack keys nothing changes: no payers, no insurance, and
        the settlement path (taken when forced) gives the same amounts."""
        seed = Engine.from_packs()
        bare = make_visit([("1", "registration", "12.00"), ("2", "routine_test", "20.01"), ("3", "drug", "9.00")],
                          cards=(("key_care_medical_card", "2024-01-01", "2025-12-31"),))
        fast = seed.evaluate(bare)
        assert not seed.settles(bare)
        assert {()} == {line.payers for line in fast.lines}
        settled = seed.settle(bare)
        assert [line[:8] for line in fast.lines] == [line[:8] for line in settled.lines]
        assert (fast.totals.amount, fast.totals.reduction, fast.totals.payable) == (
            settled.totals.amount, settled.totals.reduction, settled.totals.payable)

    def test_insured_visit_under_old_packs_settles(self, make_visit: Any) -> None:
        """The seed pack's registration waiver on an insured line: 免交挂号费 takes what the
        patient owes, 12.00 − 5.00 = 7.00, borne by the hospital."""
        seed = Engine.from_packs()
        bare = make_visit([("1", "registration", "12.00")], cards=(("key_care_medical_card", "2024-01-01", None),))
        line = seed.evaluate(Visit(bare.visit_id, bare.date, bare.kind, bare.region, bare.patient, (
            insured("1", "registration", "12.00", funds={"basic_pool": "5.00"}, in_scope="7.00"),))).lines[0]
        assert {"basic_pool": "5.00", "hospital": "7.00", "patient": "0.00"} == payers(line)


class TestExplain:
    def test_every_step_names_payer_base_and_amount(self, tmp_path: Path) -> None:
        """The two-line example: each rule's trace names its payer, its base and the base amount it
        was computed on; the visit-scope step gives the visit's sum and its total."""
        visit_rule = SHARE_80.replace("    group: subsidy", "    scope: visit\n    group: subsidy")
        built = engine(tmp_path, HOSPITAL_10, visit_rule, head="groups: [fee, subsidy]\n")
        explained = built.explain(visit(
            insured("1", "drug", "100.00", funds={"basic_pool": "60.00"}, in_scope="30.00", full="10.00"),
            insured("2", "registration", "12.00", full="12.00")))
        first = {trace.rule: trace for trace in explained.lines[0].considered}
        assert ("applied", "hospital", "gross", Decimal("100.00"), Decimal("10.00")) == (
            first["hospital"].outcome, first["hospital"].payer, first["hospital"].base,
            first["hospital"].base_amount, first["hospital"].reduction)
        assert ("applied", SUBSIDY, "patient_share", Decimal("30.00"), Decimal("14.71")) == (
            first["subsidy"].outcome, first["subsidy"].payer, first["subsidy"].base,
            first["subsidy"].base_amount, first["subsidy"].reduction)
        assert "computed on the visit's patient share after insurance, 40.80 in all (this line 30.00), as 20.00, " \
               f"borne by {SUBSIDY}" in first["subsidy"].reason.en
        assert "按本次就诊医保结算后个人负担合计 40.80（本行 30.00）计算为 20.00" in first["subsidy"].reason.zh

    def test_nothing_left_to_pay(self, tmp_path: Path) -> None:
        """A line the funds paid in full: the hospital's rule holds, but nothing is left to pay."""
        built = engine(tmp_path, HOSPITAL_10)
        paid_in_full = visit(insured("1", "drug", "30.00", funds={"basic_pool": "30.00"}))
        trace = built.explain(paid_in_full).lines[0].considered[0]
        assert ("nothing_left", Decimal("30.00"), None) == (trace.outcome, trace.base_amount, trace.reduction)
        assert trace.reason.en.endswith("but nothing is left to pay on this line")
        assert trace.reason.zh.endswith("但本行已无应付金额")

    def test_base_already_zero(self, tmp_path: Path) -> None:
        """An in-scope subsidy on a line with no in-scope self-pay: its base is 0.00."""
        subsidy = rule("in-scope", f"""
            items: [drug]
            benefit: {{waive: true}}
            payer: {SUBSIDY}
            base: in_scope_self_pay
        """)
        all_out_of_scope = visit(insured("1", "drug", "30.00", full="30.00"))
        trace = engine(tmp_path, subsidy).explain(all_out_of_scope).lines[0].considered[0]
        assert ("nothing_left", Decimal("0.00")) == (trace.outcome, trace.base_amount)
        assert trace.reason.en.endswith("but the in-scope self-pay is 0.00")

    def test_outdone_names_the_winner(self, tmp_path: Path) -> None:
        """Two subsidy rules in one group: 80 % of the 40.00 share (32.00) beats a fixed 5.00."""
        fixed = rule("fixed", f"""
            items: [drug]
            benefit: {{fixed: "5.00"}}
            payer: {SUBSIDY}
            base: patient_share
            group: subsidy
        """)
        explained = engine(tmp_path, fixed, SHARE_80.replace('per_visit: "20.00"', 'per_visit: "50.00"')).explain(
            visit(insured("1", "drug", "100.00", funds={"basic_pool": "60.00"}, full="40.00")))
        traces = {trace.rule: trace for trace in explained.lines[0].considered}
        assert ("outdone", "applied", Decimal("32.00")) == (
            traces["fixed"].outcome, traces["subsidy"].outcome, traces["subsidy"].reduction)
        assert f"but subsidy in payer {SUBSIDY}'s same group (subsidy) takes off more" in traces["fixed"].reason.en

    def test_not_eligible_still_names_payer_and_base(self, tmp_path: Path) -> None:
        """A rule whose condition fails says so, with its payer and base but no base amount."""
        narrow = SHARE_80.replace("    items:", "    when: {category: serviceman}\n    items:")
        bare = visit(insured("1", "drug", "10.00", full="10.00"))
        trace = engine(tmp_path, narrow).explain(bare).lines[0].considered[0]
        assert ("not_eligible", SUBSIDY, "patient_share", None) == (
            trace.outcome, trace.payer, trace.base, trace.base_amount)

    def test_without_settlement_traces_are_as_before(self, make_visit: Any) -> None:
        """An uninsured visit under the seed packs: no payer, base or base amount in any trace."""
        explained = Engine.from_packs().explain(make_visit([("1", "registration", "12.00")]))
        assert {(None, None, None)} == {(t.payer, t.base, t.base_amount) for t in explained.lines[0].considered}


class TestPackKeys:
    @pytest.mark.parametrize(("body", "needle", "field", "message"), [
        ('items: [drug]\nbenefit: {tiers: [{reduce: "50%"}, {reduce: "60%"}]}', "benefit:", "rules[0].benefit.tiers",
         "band 1 has no up_to (only the last band leaves it out)"),
        ('items: [drug]\nbenefit: {tiers: [{up_to: "10.00", reduce: "50%"}]}', "benefit:", "rules[0].benefit.tiers",
         "the last band has no up_to (it takes everything above 10.00)"),
        ('items: [drug]\nbenefit: {tiers: [{up_to: "10.00", reduce: "5%"}, {up_to: "10.00", reduce: "6%"}, '
         '{reduce: "7%"}]}', "benefit:", "rules[0].benefit.tiers",
         "band 2's up_to 10.00 must be above the band before, 10.00"),
        ('items: [drug]\nbenefit: {tiers: []}', "benefit:", "rules[0].benefit.tiers", "at least 1 item"),
        ('items: [drug]\nbenefit: {tiers: [{up_to: "1.00", reduce: "5"}, {reduce: "7%"}]}', "benefit:",
         "rules[0].benefit.tiers[0].reduce", 'a percentage is written like "50%", got \'5\''),
        ('items: [drug]\nbenefit: {patient_pays_at_most: 10.5}', "benefit:", "rules[0].benefit.patient_pays_at_most",
         "amount must not be a float"),
        ('items: [drug]\nbenefit: {patient_pays_at_most: "10.00", reduce: "5%"}', "benefit:", "rules[0].benefit",
         "a benefit is exactly one of reduce, fixed, waive: true, waive_deposit: true, patient_pays_at_most, tiers "
         "(got reduce, patient_pays_at_most)"),
        ('items: [drug]\nbenefit: {reduce: "5%"}\nbase: share', "base:", "rules[0].base",
         "base must be one of gross, patient_share, in_scope_self_pay, out_of_scope_self_pay, got 'share'"),
        ('items: [drug]\nbenefit: {reduce: "5%"}\nscope: clinic', "scope:", "rules[0].scope",
         "scope must be one of line, visit, got 'clinic'"),
        ('items: [drug]\nbenefit: {reduce: "5%"}\nbase: patient_share\nwithout_insurance: ignore',
         "without_insurance:", "rules[0].without_insurance", "without_insurance must be one of error, skip"),
        ('items: [drug]\nbenefit: {reduce: "5%"}\nwithout_insurance: skip', "- id: r1", "rules[0]",
         "without_insurance is for a rule whose base is not gross"),
        ('items: [drug]\nbenefit: {reduce: "5%"}\nscope: visit\ncaps: {per_line: "5.00"}', "- id: r1", "rules[0]",
         "caps.per_line limits one line; a rule with scope: visit works on the visit's sum"),
        ("priorities: [registration]\npayer: hospital", "- id: r1", "rules[0]",
         "payer describe a benefit; this rule has none"),
    ])
    def test_malformed_rule(self, tmp_path: Path, body: str, needle: str, field: str, message: str) -> None:
        """Each mistake is a PolicyError at its file:line and field, saying what is wrong."""
        path = write(tmp_path, rule("r1", body))
        with pytest.raises(PolicyError) as caught:
            load_reference(str(path))
        assert (f"{path}:{line_of(path, needle)}", field) == (caught.value.record, caught.value.field)
        assert message in caught.value.message.en

    @pytest.mark.parametrize(("payer", "message"), [
        ("city_subsidy", "unknown payer 'city_subsidy' (known: basic_pool"),
        ("basic_pool", "'basic_pool' is an insurance fund: what it pays comes from the 医保 settlement"),
        ("patient", "unknown payer 'patient'"),
    ])
    def test_rule_payer_must_be_a_known_subsidy(self, tmp_path: Path, payer: str, message: str) -> None:
        path = write(tmp_path, rule("r1", f'items: [drug]\nbenefit: {{reduce: "5%"}}\npayer: {payer}'))
        with pytest.raises(PolicyError) as caught:
            Engine.from_packs(str(path))
        assert (f"{path}:{line_of(path, 'payer:')}", "rules[0].payer") == (caught.value.record, caught.value.field)
        assert f"rule r1: {message}" in caught.value.message.en

    @pytest.mark.parametrize(("order", "needle", "field", "message"), [
        ("[hospital, city_subsidy]", "settlement:", "settlement.payers[1]", "unknown payer 'city_subsidy'"),
        ("[hospital, basic_pool]", "settlement:", "settlement.payers[1]", "'basic_pool' is an insurance fund"),
        ("[hospital, hospital]", "settlement:", "settlement.payers", "payer hospital appears twice"),
        ("[]", "settlement:", "settlement.payers", "at least 1 item"),
    ])
    def test_bad_payer_order(self, tmp_path: Path, order: str, needle: str, field: str, message: str) -> None:
        path = write(tmp_path, HOSPITAL_10, head=f"settlement: {{payers: {order}}}\n")
        with pytest.raises(PolicyError) as caught:
            Engine.from_packs(str(path))
        assert (f"{path}:{line_of(path, needle)}", field) == (caught.value.record, caught.value.field)
        assert message in caught.value.message.en

    def test_order_must_name_every_rules_payer(self, tmp_path: Path) -> None:
        """A payer order that leaves out a rule's payer is refused at that rule's payer line."""
        path = write(tmp_path, HOSPITAL_10, SHARE_80, head="settlement: {payers: [hospital]}\n")
        with pytest.raises(PolicyError) as caught:
            Engine.from_packs(str(path))
        assert (f"{path}:{line_of(path, 'payer: youfu')}", "rules[1].payer") == (
            caught.value.record, caught.value.field)
        assert (f"rule subsidy: payer '{SUBSIDY}' is not in settlement.payers (hospital) at "
                f"{path}:{line_of(path, 'settlement:')}") == caught.value.message.en

    def test_visit_scope_shares_no_stage_with_line_scope(self, tmp_path: Path) -> None:
        """A visit-scope rule and a line-scope rule of one payer in one group cannot be weighed
        against each other: refused when the engine compiles the set."""
        visit_rule = SHARE_80.replace("    group: subsidy", "    scope: visit\n    group: fee").replace(
            f"payer: {SUBSIDY}", "payer: hospital")
        path = write(tmp_path, HOSPITAL_10, visit_rule)
        with pytest.raises(PolicyError) as caught:
            Engine.from_packs(str(path))
        assert (f"{path}:{line_of(path, '- id: subsidy')}", "scope") == (caught.value.record, caught.value.field)
        assert ("rule subsidy (scope: visit) and hospital (scope: line) share payer hospital's stacking group fee; "
                "give the scope: visit rule a group of its own") == caught.value.message.en


class TestLayering:
    def test_default_order_hospital_then_first_named(self, tmp_path: Path) -> None:
        """Without settlement.payers: the hospital, then payers as the merged rules first name them."""
        registry = Registry.builtin()
        registry.register_payer(Term("city_subsidy", Text("市补助", "city subsidy"), kind="subsidy"))
        path = write(tmp_path, SHARE_80.replace(SUBSIDY, "city_subsidy"), SHARE_80.replace("id: subsidy", "id: s2"),
                     HOSPITAL_10)
        assert ("hospital", "city_subsidy", SUBSIDY) == Engine.from_packs(str(path), registry=registry).policy.payers

    def test_later_layer_replaces_the_order(self, tmp_path: Path) -> None:
        """A hospital pack's settlement.payers replaces its city pack's; one with none keeps it."""
        write(tmp_path, HOSPITAL_10, SHARE_80, head=f"settlement: {{payers: [{SUBSIDY}, hospital]}}\n", name="city")
        keeps = write(tmp_path, head="extends: city.yaml\n", name="keeps")
        turns = write(tmp_path, head=f"extends: city.yaml\nsettlement: {{payers: [hospital, {SUBSIDY}]}}\n",
                      name="turns")
        assert (SUBSIDY, "hospital") == Engine.from_packs(str(keeps)).policy.payers
        assert ("hospital", SUBSIDY) == Engine.from_packs(str(turns)).policy.payers


class TestFingerprint:
    @pytest.mark.parametrize(("pack", "fingerprint"), [
        ("seed-example", "sha256:85152b0cd97f82dc"),
        ("cn-national", "sha256:5baeb5cfdd021283"),
        (str(Path(__file__).parent.parent / "examples" / "reform-bed-waiver.yaml"), "sha256:7fb9382076cd55a0"),
    ])
    def test_shipped_packs_keep_their_fingerprints(self, pack: str, fingerprint: str) -> None:
        """The packs the library and its examples ship have the fingerprints they had before the
        settlement keys (computed on the commit before them)."""
        assert fingerprint == Engine.from_packs(pack).fingerprint

    def test_default_values_leave_it_as_it_was(self, tmp_path: Path) -> None:
        """Writing the defaults (payer: hospital, base: gross, scope: line, the default payer
        order) changes nothing; a real change of payer, base, scope, shape or order does."""
        plain = Engine.from_packs(str(write(tmp_path, HOSPITAL_10))).fingerprint
        spelled = HOSPITAL_10.replace("    group: fee", "    group: fee\n    payer: hospital\n    base: gross\n"
                                                        "    scope: line")
        spelled_path = write(tmp_path, spelled, head="settlement: {payers: [hospital]}\n")
        assert plain == Engine.from_packs(str(spelled_path)).fingerprint
        changed = {
            Engine.from_packs(str(write(tmp_path, HOSPITAL_10.replace("    group: fee", f"    group: fee\n    {key}"),
                                        name=f"p{n}"))).fingerprint
            for n, key in enumerate((f"payer: {SUBSIDY}", "base: patient_share", "scope: visit"))}
        assert 3 == len(changed) and plain not in changed
        both = write(tmp_path, HOSPITAL_10, SHARE_80, name="both")
        turned = write(tmp_path, HOSPITAL_10, SHARE_80, head=f"settlement: {{payers: [{SUBSIDY}, hospital]}}\n",
                       name="turned")
        assert Engine.from_packs(str(both)).fingerprint != Engine.from_packs(str(turned)).fingerprint


class TestPolicyShow:
    def test_json_names_the_settlement_keys_only_where_a_rule_sets_them(self, tmp_path: Path) -> None:
        """``policy show --format json``: a rule at the defaults shows none of the new keys (the
        seed packs read as before); a subsidy rule shows its payer, base and scope."""
        visit_rule = SHARE_80.replace("    group: subsidy", "    scope: visit\n    group: subsidy")
        path = write(tmp_path, HOSPITAL_10, visit_rule)
        result = CliRunner().invoke(main, ["policy", "show", "-p", str(path), "--format", "json"])
        assert 0 == result.exit_code, result.output
        hospital, subsidy = json.loads(result.stdout)["rules"]
        new_keys = {"payer", "base", "scope", "without_insurance"}
        assert (set(), {"payer": SUBSIDY, "base": "patient_share", "scope": "visit"}) == (
            new_keys & set(hospital), {key: subsidy[key] for key in new_keys & set(subsidy)})
        assert {"reduce": "10%"} == hospital["benefit"]


class TestApportion:
    def test_largest_remainder_ties_to_the_earlier(self) -> None:
        """100 fen over three equal weights: 33 each and the last fen to the first (a tie)."""
        assert [34, 33, 33] == apportion(100, [100, 100, 100], [100, 100, 100])

    def test_a_full_share_passes_the_rest_on(self) -> None:
        """50 fen by weights 100 : 50 bounded 10 and 50: 33 is over line 1's 10, so 10 and 40."""
        assert [10, 40] == apportion(50, [100, 50], [10, 50])

    def test_zero_and_empty(self) -> None:
        assert ([0, 0], []) == (apportion(0, [0, 5], [0, 5]), apportion(0, [], []))

    @pytest.mark.parametrize(("total", "weights", "bounds", "message"), [
        (61, [50, 50], [30, 30], "cannot share 61 fen within bounds adding up to 60"),
        (1, [5], [6], "every bound must lie between 0 and its weight"),
        (-1, [5], [5], "cannot share -1 fen"),
    ])
    def test_refused(self, total: int, weights: list[int], bounds: list[int], message: str) -> None:
        with pytest.raises(ValueError, match=message):
            apportion(total, weights, bounds)


class TestBatch:
    def test_a_settling_pack_set_sends_every_visit_to_the_row_engine(self, tmp_path: Path) -> None:
        """Under a pack set with a subsidy, even a visit without insurance data is decided by the
        row engine (its decision names the payers), and the batch bytes are ``evaluate``'s."""
        gross = rule("gross", f"""
            items: [registration]
            benefit: {{reduce: "50%"}}
            payer: {SUBSIDY}
        """)
        built = engine(tmp_path, gross)
        data = jsonl([good("A"), good("B")])
        result = BatchEngine(built).evaluate_chunk(next(json_line_chunks(io.BytesIO(data))))
        assert ([0, 1], 0) == (sorted(result.rows), len(result.vector))
        ours = batch_output(built, data)
        assert ours == row_output(built, data)
        assert {SUBSIDY: "6.00", "patient": "6.00"} == json.loads(ours.splitlines()[0])["lines"][0]["payers"]


ROOT = Path(__file__).resolve().parents[1]


class TestExample:
    """examples/youfu-subsidy.yaml (hypothetical) on examples/insured-visit.json, as
    docs/settlement.md walks through it (its table is a transcript tests/test_docs.py runs) and
    ``make demo`` shows it."""

    def test_the_figures_done_by_hand(self) -> None:
        """Registration 12.00 and the injection's 6.00 owed are waived by the hospital; 80 % of the
        visit's patient share 4.00 + 46.25 = 50.25 is 40.20, shared 3.20 and 37.00."""
        built = Engine.from_packs(str(ROOT / "examples" / "youfu-subsidy.yaml"))
        record = json.loads((ROOT / "examples" / "insured-visit.json").read_text(encoding="utf-8"))
        decision = built.evaluate(visit_from_dict(record))
        assert {"basic_pool": "97.21", "hospital": "18.00", SUBSIDY: "40.20", "patient": "10.05"} == {
            payer: str(part) for payer, part in decision.totals.payers}

    def test_the_pack_says_its_figures_are_placeholders(self) -> None:
        """Marked hypothetical in its title (both languages), in its description and at its rule."""
        pack = load_reference(str(ROOT / "examples" / "youfu-subsidy.yaml")).spec
        assert "占位" in pack.title.zh and "placeholders" in pack.title.en
        assert "Hypothetical" in pack.description
        assert all("占位" in rule.title.zh and "placeholder" in rule.title.en for rule in pack.rules)

    def test_english_table_names_the_payers(self) -> None:
        result = CliRunner().invoke(main, ["--lang", "en", "evaluate", "--format", "table", "-p",
                                           str(ROOT / "examples" / "youfu-subsidy.yaml"),
                                           str(ROOT / "examples" / "insured-visit.json")])
        assert "    3  Basic medical insurance pooled fund 9.00; Borne by the hospital 6.00; patient 0.00" in (
            result.stdout)
        assert "line   item              amount  insurance  reduction  payable  rule" in result.stdout
