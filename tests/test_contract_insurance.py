"""JSON contract 1.1: insurance in (per line, per visit), the payer breakdown out, and every bad
input refused naming record and field while the other visits are still decided."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from shuangyong.cli import main
from shuangyong.engine.decision import Applied, Decision, LineDecision, Totals
from shuangyong.errors import InputError
from shuangyong.interchange import decision_to_dict, decision_to_json, visit_from_dict, visit_from_json
from shuangyong.model import Registry
from shuangyong.model.insurance import Insurance

ROOT = Path(__file__).resolve().parents[1]
D = Decimal


def visit(*, insurance: dict[str, Any] | None = None, lines: list[dict[str, Any]] | None = None,
          visit_id: str = "V1") -> dict[str, Any]:
    record: dict[str, Any] = {
        "visit_id": visit_id, "date": "2025-03-01", "kind": "outpatient", "region": "450100",
        "patient": {"id": "P1", "categories": ["disabled_veteran"], "disability_level": 5,
                    "credentials": [{"kind": "key_care_medical_card", "number": "桂001",
                                     "valid_from": "2024-01-01", "valid_to": "2025-12-31"}]},
        "lines": lines if lines is not None else [
            {"line_id": "1", "item": "registration", "amount": "12.00"},
            {"line_id": "2", "item": "drug", "amount": "37.85"}]}
    if insurance is not None:
        record["insurance"] = insurance
    return record


def insured(visit_id: str = "V1") -> dict[str, Any]:
    """A visit whose HIS sends 医保's figures per line."""
    return visit(visit_id=visit_id, lines=[
        {"line_id": "1", "item": "registration", "amount": "12.00", "insurance": {"self_pay": {"full": "12.00"}}},
        {"line_id": "2", "item": "drug", "amount": "37.85",
         "insurance": {"funds": {"critical_illness": "3.00", "basic_pool": "25.00"},
                       "self_pay": {"preliminary": "1.85", "in_scope": "8.00"}}}])


class TestReading:
    def test_line_figures(self) -> None:
        """Funds in registry order whatever the key order; absent parts are zero."""
        line = visit_from_dict(insured()).lines[1]
        assert Insurance((("basic_pool", D("25.00")), ("critical_illness", D("3.00"))), D("1.85"), D("8.00"),
                         D("0.00"), D("0.00")) == line.insurance

    def test_a_visit_without_insurance_reads_as_today(self) -> None:
        assert [None, None] == [line.insurance for line in visit_from_dict(visit()).lines]

    def test_null_is_no_insurance(self) -> None:
        record = visit(insurance=None)
        record["insurance"] = None
        record["lines"][0]["insurance"] = None
        record["lines"][1]["insurance"] = None
        assert [None, None] == [line.insurance for line in visit_from_dict(record).lines]

    def test_visit_figures_are_spread_over_the_lines(self) -> None:
        """49.85 settled for the visit: each part shared in proportion to what each line has left."""
        record = visit(insurance={"funds": {"basic_pool": "30.00"}, "self_pay": {"in_scope": "10.00", "full": "9.85"}})
        lines = visit_from_dict(record).lines
        assert [(D("12.00"), D("7.22"), D("2.41"), D("2.37")), (D("37.85"), D("22.78"), D("7.59"), D("7.48"))] == [
            (line.insurance.total, line.insurance.fund_total, line.insurance.in_scope, line.insurance.full)
            for line in lines if line.insurance is not None]

    def test_json_text_and_decoded_json_agree(self) -> None:
        """The fast path (JSON text) counts the keys inside insurance too, and reads the same visit."""
        record = insured()
        assert visit_from_dict(record) == visit_from_json(json.dumps(record))

    def test_a_key_twice_inside_funds_is_refused(self) -> None:
        text = json.dumps(insured()).replace('"critical_illness": "3.00"', '"basic_pool": "3.00"')
        with pytest.raises(InputError, match="basic_pool"):
            visit_from_json(text)

    def test_strict_refuses_a_fund_no_registry_knows(self) -> None:
        """Without the registry (not strict) a fund is reported under its own id; with it, refused."""
        record = insured()
        record["lines"][1]["insurance"]["funds"]["city_top_up"] = record["lines"][1]["insurance"]["funds"].pop(
            "critical_illness")
        assert ("basic_pool", "city_top_up") == tuple(f for f, _ in visit_from_dict(record).lines[1].insurance.funds)
        with pytest.raises(InputError) as caught:
            visit_from_dict(record, payers=Registry.builtin().payers)
        assert ("V1", "lines[1].insurance.funds.city_top_up") == (caught.value.record, caught.value.field)


def _set(path: str, value: object) -> Callable[[dict[str, Any]], None]:
    """A mutation setting a dotted path of the insured record (list positions as numbers)."""
    def mutate(record: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = record
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[int(last) if last.isdigit() else last] = value
    return mutate


def _drop(path: str) -> Callable[[dict[str, Any]], None]:
    def mutate(record: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = record
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        del target[last]
    return mutate


def _both(*mutations: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def mutate(record: dict[str, Any]) -> None:
        for mutation in mutations:
            mutation(record)
    return mutate


FUNDS = "lines.1.insurance.funds"
SELF_PAY = "lines.1.insurance.self_pay"
#: name → (mutation of the insured record, error type, field, what the English message says)
BAD = {
    "parts short of the amount": (_set(f"{FUNDS}.basic_pool", "24.00"), "InputError", "lines[1].insurance",
                                  "the parts of insurance add up to 36.85, not to the line's amount 37.85"),
    "parts over the amount": (_set(f"{SELF_PAY}.full", "0.01"), "InputError", "lines[1].insurance",
                              "add up to 37.86, not to the line's amount 37.85"),
    "negative fund": (_set(f"{FUNDS}.basic_pool", "-25.00"), "MoneyError", "lines[1].insurance.funds.basic_pool",
                      "must not be negative"),
    "negative self-pay part": (_set(f"{SELF_PAY}.in_scope", "-8.00"), "MoneyError",
                               "lines[1].insurance.self_pay.in_scope", "must not be negative"),
    "three decimals": (_set(f"{FUNDS}.basic_pool", "25.001"), "MoneyError", "lines[1].insurance.funds.basic_pool",
                       "more than two decimals"),
    "a float": (_set(f"{SELF_PAY}.preliminary", 1.85), "MoneyError", "lines[1].insurance.self_pay.preliminary",
                "must not be a float"),
    "not a number": (_set(f"{FUNDS}.basic_pool", "25 yuan"), "MoneyError", "lines[1].insurance.funds.basic_pool",
                     "is not a number"),
    "above the maximum": (_set(f"{FUNDS}.basic_pool", "10000000000.00"), "MoneyError",
                          "lines[1].insurance.funds.basic_pool", "above the maximum"),
    "an unknown self-pay part": (_set(f"{SELF_PAY}.copay", "1.00"), "InputError", "lines[1].insurance.self_pay.copay",
                                 "unknown field"),
    "an unknown member": (_set("lines.1.insurance.fund", {}), "InputError", "lines[1].insurance.fund", "unknown field"),
    "a concession payer as a fund": (
        _both(_set(f"{FUNDS}.hospital", "25.00"), _drop(f"{FUNDS}.basic_pool")), "InputError",
        "lines[1].insurance.funds.hospital", "'hospital' is not an insurance fund"),
    "visit and line figures both": (
        _set("insurance", {"self_pay": {"full": "49.85"}}), "InputError", "lines[0].insurance",
        "insurance is given for the whole visit and on this line too: give one or the other"),
    "one line insured, the other not": (
        _drop("lines.0.insurance"), "InputError", "lines[0].insurance",
        'for a line insurance did not settle, give "insurance": {"self_pay": {"full": "12.00"}}'),
    "visit figures short of the total": (
        _both(_drop("lines.0.insurance"), _drop("lines.1.insurance"),
              _set("insurance", {"funds": {"basic_pool": "30.00"}, "self_pay": {"full": "9.85"}})),
        "InputError", "insurance", "add up to 39.85, not to the total of the lines' amounts 49.85"),
    "negative visit figure": (
        _both(_drop("lines.0.insurance"), _drop("lines.1.insurance"),
              _set("insurance", {"self_pay": {"full": "-49.85"}})),
        "MoneyError", "insurance.self_pay.full", "must not be negative"),
}


def run(*args: str, stdin: str) -> Any:
    return CliRunner().invoke(main, ["--lang", "en", *args], input=stdin)


def jsonl(*records: object) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def outputs(result: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def _refused_among_good(bad: dict[str, Any], *args: str) -> dict[str, Any]:
    """``bad`` between two good visits (one insured): exit 2, both neighbours decided, its error in
    place, and in Chinese too."""
    result = run("evaluate", *args, "-", stdin=jsonl(insured("A"), bad, visit(visit_id="B")))
    assert 2 == result.exit_code, result.output
    records = outputs(result)
    assert (["A", "BAD", "B"], True, True) == ([r["visit_id"] for r in records], "lines" in records[0],
                                               "lines" in records[2])
    error = records[1]["error"]
    assert error["message"]["zh"] and "lines" not in records[1]
    return error  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", BAD)
def test_bad_insurance_is_refused_and_the_others_decided(name: str) -> None:
    mutate, error_type, field, fragment = BAD[name]
    bad = copy.deepcopy(insured("BAD"))
    mutate(bad)
    error = _refused_among_good(bad)
    assert (error_type, "BAD", field) == (error["type"], error["record"], error["field"])
    assert fragment in error["message"]["en"], error["message"]["en"]


def test_strict_refuses_an_unknown_fund_at_the_command_line() -> None:
    """``--strict``: a fund no registry knows is the record's error; without it, the visit is decided."""
    bad = copy.deepcopy(insured("BAD"))
    bad["lines"][1]["insurance"]["funds"]["city_top_up"] = bad["lines"][1]["insurance"]["funds"].pop("critical_illness")
    error = _refused_among_good(bad, "--strict")
    assert ("InputError", "lines[1].insurance.funds.city_top_up") == (error["type"], error["field"])
    assert error["message"]["en"].startswith("'city_top_up' is not a known insurance fund (known: basic_pool, ")
    assert "不是已知的医保基金" in error["message"]["zh"]
    assert 0 == run("evaluate", "-", stdin=jsonl(bad)).exit_code


def test_explain_refuses_bad_insurance_too() -> None:
    bad = copy.deepcopy(insured("BAD"))
    bad["lines"][1]["insurance"]["funds"]["basic_pool"] = "24.00"
    result = run("explain", "--format", "json", "-", stdin=jsonl(visit(visit_id="A"), bad))
    records = outputs(result)
    assert (2, "A", "lines[1].insurance") == (result.exit_code, records[0]["decision"]["visit_id"],
                                               records[1]["error"]["field"])


def test_decisions_without_settlement_are_todays_bytes() -> None:
    """examples/visits.jsonl decided now gives the bytes main gave before contract 1.1
    (tests/golden/visits.decisions.jsonl, written by main's ``shuangyong evaluate``)."""
    result = CliRunner().invoke(main, ["evaluate", str(ROOT / "examples" / "visits.jsonl")])
    assert (0, (ROOT / "tests" / "golden" / "visits.decisions.jsonl").read_text(encoding="utf-8")) == (
        result.exit_code, result.stdout)


def _settled() -> Decision:
    """A decision as the settlement path gives it: 70.00 from insurance, 15.00 from the hospital,
    5.00 from the 优抚 subsidy, 10.00 left to the patient; a second line with no concession."""
    first = LineDecision("1", "bed", D("100.00"), D("20.00"), D("10.00"), "r.bed", "条款", (
        Applied("r.bed", D("15.00")), Applied("r.subsidy", D("5.00"), "youfu_medical_subsidy", "patient_share")),
        D("70.00"), (("basic_pool", D("60.00")), ("critical_illness", D("10.00")), ("large_amount", D("0.00")),
                     ("hospital", D("15.00")), ("youfu_medical_subsidy", D("5.00")), ("patient", D("10.00"))))
    second = LineDecision("2", "drug", D("20.00"), D("0.00"), D("20.00"), None, None, (), D("0.00"),
                          (("patient", D("20.00")),))
    return Decision("V1", "sha256:0", (first, second), (), (), (),
                    Totals(D("120.00"), D("20.00"), D("30.00"), D("70.00"),
                           (*first.payers[:-1], ("patient", D("30.00")))))


class TestOutput:
    def test_settled_lines_and_totals_say_who_pays(self) -> None:
        """Zero parts left out but the patient's; applied shares name payer and base."""
        out = decision_to_dict(_settled())
        first, second = out["lines"]
        assert ({"basic_pool": "60.00", "critical_illness": "10.00", "hospital": "15.00",
                 "youfu_medical_subsidy": "5.00", "patient": "10.00"}, "70.00") == (first["payers"], first["insurance"])
        assert [{"rule": "r.bed", "reduction": "15.00", "payer": "hospital", "base": "gross"},
                {"rule": "r.subsidy", "reduction": "5.00", "payer": "youfu_medical_subsidy",
                 "base": "patient_share"}] == first["applied"]
        assert ({"patient": "20.00"}, "0.00") == (second["payers"], second["insurance"])
        assert {"amount": "120.00", "reduction": "20.00", "payable": "30.00", "insurance": "70.00",
                "payers": {"basic_pool": "60.00", "critical_illness": "10.00", "hospital": "15.00",
                           "youfu_medical_subsidy": "5.00", "patient": "30.00"}} == out["totals"]

    def test_payer_order_is_the_engines(self) -> None:
        """Funds, then the concession payers, as the engine ordered them; the patient last."""
        lines = decision_to_dict(_settled())["lines"]
        assert ["basic_pool", "critical_illness", "hospital", "youfu_medical_subsidy", "patient"] == list(
            lines[0]["payers"])

    def test_every_part_adds_up(self) -> None:
        out = decision_to_dict(_settled())
        for line in out["lines"]:
            assert D(line["amount"]) == sum(map(D, line["payers"].values())) == (
                D(line["insurance"]) + D(line["reduction"]) + D(line["payable"]))

    def test_a_zero_default_insurance_prints_as_money(self) -> None:
        """A settled line built with the default ``insurance`` (``Decimal(0)``) still reads "0.00"."""
        line = LineDecision("1", "bed", D("10.00"), D("10.00"), D("0.00"), "r", "c", (Applied("r", D("10.00")),),
                            payers=(("hospital", D("10.00")),))
        decision = Decision("V1", "p", (line,), (), (), (), Totals(D("10.00"), D("10.00"), D("0.00"),
                                                                  payers=(("hospital", D("10.00")),)))
        out = decision_to_dict(decision)
        assert ("0.00", "0.00", {"hospital": "10.00", "patient": "0.00"}) == (
            out["lines"][0]["insurance"], out["totals"]["insurance"], out["totals"]["payers"])

    def test_without_payers_the_output_is_contract_1_0(self) -> None:
        """No line with payers: no insurance, payers, payer or base member anywhere."""
        plain = _settled()
        lines = tuple(line._replace(payers=()) for line in plain.lines)
        totals = Totals(D("120.00"), D("20.00"), D("30.00"))
        text = decision_to_json(Decision("V1", "sha256:0", lines, (), (), (), totals))
        assert [] == [key for key in ("insurance", "payers", "payer", "base") if f'"{key}"' in text]
