"""The settlement path's two orders decide alike (issue 16, benchmarks/RESULTS.md "Settlement").

A visit with insurance data under line-scope rules is decided line by line
(``Settler.line_by_line``, with each line's payer breakdown built with its figures:
``Insurance.payers``); every other visit, and ``explain``, stage by stage. Both must give the
same decision to the byte, amounts' exponents included (the JSON writes an amount as it is), or
the same refusal. ``Engine.settle(visit, steps)`` is the stage-by-stage order for any visit.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from shuangyong.engine import Engine
from shuangyong.errors import InputError
from shuangyong.interchange.output import decision_to_json
from shuangyong.model import Beneficiary, ChargeLine, Visit
from shuangyong.model.insurance import Insurance
from shuangyong.policy.layers import PolicySet
from shuangyong.testing.strategies import default_registry, insured_visits, pack_sets

from .builders import RULE_HEAD

REGISTRY = default_registry()
ITEMS = ("drug", "exam", "registration", "blood_deposit")
PACKS = st.one_of(pack_sets(settlement=True, registry=REGISTRY, items=ITEMS, effective_dates=False, regions=False),
                  pack_sets(registry=REGISTRY, items=ITEMS, effective_dates=False, regions=False))
D = Decimal


def both_orders(engine: Engine, visit: Visit) -> tuple[str, str]:
    """``evaluate``'s decision and the stage-by-stage one, as JSON and repr, or the refusal."""
    def outcome(decide: object) -> str:
        try:
            decision = decide()  # type: ignore[operator]
        except InputError as error:
            return f"refused {error.as_dict()}"
        return decision_to_json(decision) + "\n" + repr(decision)

    return outcome(lambda: engine.evaluate(visit)), outcome(lambda: engine.settle(visit, {}))


@settings(max_examples=100, deadline=None)
@given(PACKS, insured_visits(registry=REGISTRY, items=ITEMS), st.booleans())
def test_line_by_line_decides_as_stage_by_stage(policy: PolicySet, visit: Visit, strict: bool) -> None:
    engine = Engine(policy, REGISTRY, strict=strict)
    assume(engine.settles(visit))  # a visit without lines, under packs without the settlement keys: the fast loop
    line_by_line, stage_by_stage = both_orders(engine, visit)
    assert line_by_line == stage_by_stage


@settings(max_examples=300, deadline=None)
@given(pack_sets(registry=REGISTRY, items=ITEMS, effective_dates=False, regions=False),
       insured_visits(registry=REGISTRY, items=ITEMS), st.booleans())
def test_hospital_rules_on_insured_visits_decide_as_stage_by_stage(policy: PolicySet, visit: Visit,
                                                                    strict: bool) -> None:
    """Under packs without the settlement keys an insured visit goes through
    ``Settler.hospital_lines``: the fast loop's plan-time winners, each reduction cut to what the
    patient still owes. It decides as the stage-by-stage order does, cut winners and ties too."""
    engine = Engine(policy, REGISTRY, strict=strict)
    assume(visit.insured)
    assert not engine.compiled.settles
    line_by_line, stage_by_stage = both_orders(engine, visit)
    assert line_by_line == stage_by_stage


HEAD = textwrap.indent(RULE_HEAD, "    ")
PACK = f"""schema_version: 1
pack: paths
title: {{zh: 测试, en: test}}
settlement: {{payers: [hospital, youfu_medical_subsidy]}}
rules:
  - id: hospital-10
{HEAD}    items: [drug, exam]
    benefit: {{reduce: "10%"}}
    caps: {{per_visit: "4.00"}}
    group: fee
  - id: subsidy-in-scope
{HEAD}    items: [drug]
    benefit: {{reduce: "50%"}}
    payer: youfu_medical_subsidy
    base: in_scope_self_pay
    group: fee
"""


def visit(*insurances: Insurance) -> Visit:
    """A visit of lines of 10.00 (drug, exam, bed in turn), each with its insurance."""
    items = ("drug", "exam", "bed")
    return Visit("V1", dt.date(2025, 3, 1), "outpatient", "450100", Beneficiary("P1", frozenset({"disabled_veteran"})),
                 tuple(ChargeLine(str(n + 1), items[n % 3], "10.00", insurance=insurance)
                       for n, insurance in enumerate(insurances)))


USUAL = Insurance((("basic_pool", D("6.00")),), in_scope=D("3.00"), full=D("1.00"))


@pytest.mark.parametrize("odd", [
    Insurance((("basic_pool", D("6")),), in_scope=D("3"), full=D("1")),  # whole yuan: other exponents
    Insurance((("basic_pool", D("6.000")),), in_scope=D("3.00"), full=D("1.00")),
    Insurance((("basic_pool", D("6.00")),), in_scope=D("3.000"), full=D("1.00")),
    Insurance((("basic_pool", D("6.00")), ("critical_illness", D("0.00"))), in_scope=D("3.00"), full=D("1.00")),
    Insurance((("other_fund", D("2.00")), ("basic_pool", D("4.00"))), in_scope=D("3.00"), full=D("1.00")),
    Insurance((("critical_illness", D("6.00")),), in_scope=D("3.00"), full=D("1.00")),  # another fund
    Insurance((("basic_pool", D("0.00")),), in_scope=D("9.00"), full=D("1.00")),  # a fund that paid nothing
    Insurance(full=D("10.00")),  # no fund
    Insurance((("basic_pool", D("6.00")),), preliminary=D("-0.00"), in_scope=D("3.00"), full=D("1.00")),
    Insurance((("basic_pool", D("6.00")),), in_scope=D("-0.00"), full=D("-0.00"), preliminary=D("4.00")),
])
@pytest.mark.parametrize("where", [0, 1, 3])
def test_odd_figures_built_in_python(tmp_path: Path, odd: Insurance, where: int) -> None:
    """Figures written otherwise than the contract writes them, among usual lines: the same
    decision. (Figures the contract refuses are refused where they are built: tests/test_settlement.py,
    ``TestRefusedInsuranceData``.)"""
    (tmp_path / "paths.yaml").write_text(PACK, encoding="utf-8")
    engine = Engine.from_packs(str(tmp_path / "paths.yaml"))
    insurances = [USUAL] * 5
    insurances[where] = odd
    line_by_line, stage_by_stage = both_orders(engine, visit(*insurances))
    assert line_by_line == stage_by_stage


class TestInsuranceFigures:
    """What ``Insurance`` works out when it is built, for the line-by-line order."""

    def test_the_usual_line(self) -> None:
        assert (USUAL.total, USUAL.payers) == (
            D("10.00"), (("basic_pool", D("6.00")), ("patient", D("4.00"))))

    @pytest.mark.parametrize(("insurance", "payers"), [
        (Insurance((("other_fund", D("1.00")), ("basic_pool", D("6.00"))), in_scope=D("3.00")),
         (("basic_pool", D("6.00")), ("other_fund", D("1.00")), ("patient", D("3.00")))),
        (Insurance((("basic_pool", D("0.00")), ("other_fund", D("1.00"))), in_scope=D("9.00")),
         (("other_fund", D("1.00")), ("patient", D("9.00")))),
        (Insurance((("basic_pool", D("0.00")),), in_scope=D("10.00")), (("patient", D("10.00")),)),
        (Insurance(in_scope=D("10.00")), (("patient", D("10.00")),)),
    ])
    def test_any_other_line_has_its_breakdown_too(self, insurance: Insurance,
                                                   payers: tuple[tuple[str, D], ...]) -> None:
        """Several funds (in fund order, whatever order they came in), a fund that paid nothing
        (left out), no fund: the breakdown a decision gives before any concession."""
        assert (D("10.00"), payers) == (insurance.total, insurance.payers)

    def test_the_visit_sums_what_each_fund_paid(self) -> None:
        """``Visit.funds_paid``: every fund named, in fund order, what it paid over the lines
        (a fund that paid nothing is named with 0.00: the engine leaves it out of the totals)."""
        built = visit(USUAL, Insurance((("critical_illness", D("1.00")), ("basic_pool", D("2.50"))),
                                       in_scope=D("6.50")),
                      Insurance((("zz_city_fund", D("0.00")),), full=D("10.00")))
        assert (("basic_pool", D("8.50")), ("critical_illness", D("1.00")), ("zz_city_fund", D("0.00"))) \
            == built.funds_paid
        assert () == Visit("V", dt.date(2025, 6, 1), "outpatient", "450100", built.patient,
                           (ChargeLine("1", "drug", "1.00"),)).funds_paid

    def test_a_line_of_nothing_but_zeros_owes_zero_not_minus_zero(self) -> None:
        insurance = Insurance((("basic_pool", D("10.00")),), D("-0.00"), D("-0.00"), D("-0.00"), D("-0.00"))
        assert "0.00" == str(insurance.payers[1][1])


RATES = f"""schema_version: 1
pack: rates
title: {{zh: 测试, en: test}}
rules:
  - id: half
{HEAD}    items: [drug]
    benefit: {{reduce: "50%"}}
    group: fee
  - id: most
{HEAD}    items: [drug]
    benefit: {{reduce: "80%"}}
    group: fee
"""


@pytest.mark.parametrize(("paid", "rule", "reduction"), [
    ("3.00", "most", "7.00"),  # 80% of 10.00 = 8.00, cut to the 7.00 left, beats 50%'s 5.00
    ("6.00", "half", "4.00"),  # 5.00 and 8.00 both cut to the 4.00 left: a tie, the earlier rule's
    ("1.00", "most", "8.00"),  # 8.00 < 9.00 left: the plan-time winner as it is
])
def test_rates_cut_to_what_is_left(tmp_path: Path, paid: str, rule: str, reduction: str) -> None:
    """A group of plain rates on the gross amount (the fast loop knows its winner at plan time):
    on an insured line, where what the patient still owes cuts the higher rate's reduction, an
    earlier rule cut to the same figure ties and wins, line by line as stage by stage."""
    (tmp_path / "rates.yaml").write_text(RATES, encoding="utf-8")
    engine = Engine.from_packs(str(tmp_path / "rates.yaml"))
    insurance = Insurance((("basic_pool", D(paid)),), in_scope=D("10.00") - D(paid))
    line = engine.evaluate(visit(insurance)).lines[0]
    assert (rule, D(reduction)) == (line.rule, line.reduction)
    line_by_line, stage_by_stage = both_orders(engine, visit(insurance))
    assert line_by_line == stage_by_stage
