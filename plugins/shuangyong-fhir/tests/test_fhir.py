"""FHIR R4B adapter: the fixture bundle read into visits, decisions written as Invoices and read
back, visits round-tripped through a Bundle, and every refusal naming resource and element."""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fhir.resources.R4B.bundle import Bundle
from hypothesis import given, settings
from hypothesis import strategies as st

from shuangyong import plugins
from shuangyong.cli import main
from shuangyong.engine import Engine
from shuangyong.errors import InputError, MoneyError
from shuangyong.interchange import decision_to_dict, visit_from_dict
from shuangyong.model.registry import Registry
from shuangyong_fhir import FhirAdapter, FhirError, exact_json, invoices_from_bundle, read_bundle, visits_to_bundle
from shuangyong_fhir.reader import read_each

FIXTURE = Path(__file__).parent / "fixtures" / "nanning-outpatient-inpatient.json"
REAL = Path(__file__).parent / "fixtures" / "real"
ENGINE = Engine.from_packs("seed-example")


def fixture() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def resource(bundle: dict[str, Any], resource_id: str) -> dict[str, Any]:
    return next(e["resource"] for e in bundle["entry"] if e["resource"]["id"] == resource_id)


def read(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return list(read_bundle(json.dumps(bundle, ensure_ascii=False)))


def decide(visits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [decision_to_dict(ENGINE.evaluate(visit_from_dict(v))) for v in visits]


class TestRead:
    def test_fixture_visits(self) -> None:
        """Two encounters become two visits; the entered-in-error charge is left out."""
        visits = list(FhirAdapter().read(FIXTURE))
        assert [("MZ20260302-0042", "outpatient", "2026-03-02", ["1", "2", "3", "4"]),
                ("ZY20260225-0007", "inpatient", "2026-02-25", ["1", "2"])] == [
            (v["visit_id"], v["kind"], v["date"], [line["line_id"] for line in v["lines"]]) for v in visits]

    def test_patient_from_identifiers_and_extensions(self) -> None:
        """MR number as id; name, birth date, category, disability and the card from the Patient."""
        patient = read(fixture())[0]["patient"]
        assert {"id": "MZ2026030017", "name": "黄建国", "birth_date": "1956-08-01", "disability_level": 6,
                "disability_cause": "war", "categories": ["disabled_veteran"],
                "credentials": [{"kind": "key_care_medical_card", "number": "桂优医字第0451033号",
                                 "valid_from": "2024-01-01", "valid_to": "2026-12-31"}]} == patient

    def test_coverage_gives_the_card_and_fullurl_references_resolve(self) -> None:
        """覃秀兰's card comes from her Coverage, referenced by urn:uuid fullUrl; family + given make her name."""
        patient = read(fixture())[1]["patient"]
        assert ("覃秀兰", [{"kind": "key_care_medical_card", "number": "桂优医字第0450877号",
                          "valid_from": "2025-01-01", "valid_to": "2027-12-31"}]) == (
            patient["name"], patient["credentials"])

    def test_cancelled_coverage_gives_no_card(self) -> None:
        """A Coverage that is not active is not a credential."""
        bundle = fixture()
        resource(bundle, "qin-xiulan-card")["status"] = "cancelled"
        assert "credentials" not in read(bundle)[1]["patient"]

    def test_price_override_is_the_total_not_a_unit_price(self) -> None:
        """Issue 17, defect 2: in R4B ``priceOverride`` is the total price of the charge. Two
        injections priced 7.00 in all are 7.00 (not 14.00), three days' bed at 135.00 are 135.00
        (not 405.00); ``quantity`` and ``factorOverride`` do not change it."""
        bundle = fixture()
        resource(bundle, "ci-0007-1")["factorOverride"] = 0.5
        visits = read(bundle)
        assert ("7.00", "135.00") == (visits[0]["lines"][1]["amount"], visits[1]["lines"][0]["amount"])

    def test_decisions_from_the_bundle(self) -> None:
        """The visits decide under seed-example: registration and injections waived, tests, bed and
        dressing halved, drugs paid."""
        decisions = decide(read(fixture()))
        assert [("12.00", "7.00", "12.50", "0.00"), ("67.50", "19.25")] == [
            tuple(line["reduction"] for line in d["lines"]) for d in decisions]


class TestWrite:
    def test_invoice_carries_discounts_and_reads_back(self) -> None:
        """Each decision becomes an Invoice with base and discount components; reading the bundle
        back gives the decision's lines, rules and totals to the fen."""
        decisions = decide(read(fixture()))
        target = io.BytesIO()
        FhirAdapter().write(decisions, target)
        Bundle.model_validate_json(target.getvalue())  # valid R4B
        expected = [{"visit_id": d["visit_id"], "policy": d["policy"], "totals": d["totals"],
                     "lines": [{k: line[k] for k in ("line_id", "amount", "reduction", "payable", "applied")}
                               for line in d["lines"]]} for d in decisions]
        assert expected == invoices_from_bundle(target.getvalue())
        assert (True, False) == (b'"value": 12.00,' in target.getvalue(),  # FHIR decimal text as the Decimal reads
                                 b"null" in target.getvalue())  # FHIR JSON has no nulls

    def test_invoice_elements(self) -> None:
        """The discount names the rule in CS_RULE and quotes the clause."""
        target = io.BytesIO()
        FhirAdapter().write(decide(read(fixture()))[:1], target)
        invoice = json.loads(target.getvalue(), parse_float=Decimal)["entry"][0]["resource"]
        first = invoice["lineItem"][0]
        assert (["base", "discount"], "two-waivers.registration", Decimal("12.00")) == (
            [p["type"] for p in first["priceComponent"]], first["priceComponent"][1]["code"]["coding"][0]["code"],
            first["priceComponent"][1]["amount"]["value"])
        assert first["priceComponent"][1]["code"]["text"].startswith("凭“重点优抚对象医疗证”就诊")

    def test_totals_follow_r4b(self) -> None:
        """Issue 17, defect 3: R4B's totalGross and totalNet are the totals with and without tax,
        not before and after the concession. The concession is the discount total component; with
        no tax both totals are what is payable (50.35), the 81.85 charged is the base component."""
        adapter = FhirAdapter()
        target = io.BytesIO()
        adapter.write(decide(list(adapter.read(FIXTURE)))[:1], target)
        invoice = json.loads(target.getvalue(), parse_float=Decimal)["entry"][0]["resource"]
        assert ([("base", Decimal("81.85")), ("discount", Decimal("31.50"))], Decimal("50.35"), Decimal("50.35")) == (
            [(p["type"], p["amount"]["value"]) for p in invoice["totalPriceComponent"]],
            invoice["totalGross"]["value"], invoice["totalNet"]["value"])

    def test_invoice_names_subject_date_issuer_and_resolvable_charges(self) -> None:
        """Issue 17, defect 3: the Invoice names its patient, its date and issuer, and each line
        refers to the ChargeItem it answers by a reference the sender can resolve."""
        adapter = FhirAdapter()
        bundle = fixture()
        resource(bundle, "MZ20260302-0042")["serviceProvider"] = {"reference": "Organization/nnsy"}
        visits = list(adapter.read(json.dumps(bundle, ensure_ascii=False)))
        target = io.BytesIO()
        adapter.write(decide(visits), target)
        invoices = [e["resource"] for e in json.loads(target.getvalue(), parse_float=Decimal)["entry"]]
        sent = {e["resource"]["id"]: e for e in bundle["entry"]}
        assert ("Patient/huang-jianguo", {"reference": "Organization/nnsy"}, "Patient/qin-xiulan", False, True) == (
            invoices[0]["subject"]["reference"], invoices[0]["issuer"], invoices[1]["subject"]["reference"],
            "issuer" in invoices[1], invoices[0]["date"].startswith("20"))
        references = [item["chargeItemReference"]["reference"] for item in invoices[0]["lineItem"]]
        assert (["ChargeItem/ci-0042-1", "ChargeItem/ci-0042-2", "ChargeItem/ci-0042-3", "ChargeItem/ci-0042-4"],
                True) == (references, all(r.split("/")[1] in sent for r in references))

    def test_float_in_a_decision_refused_and_nothing_written(self, tmp_path: Path) -> None:
        """A float amount in a decision is a MoneyError naming visit and field; no file appears."""
        decisions = decide(read(fixture()))
        decisions[1]["lines"][0]["applied"][0]["reduction"] = 67.5
        target = tmp_path / "invoices.json"
        with pytest.raises(MoneyError) as caught:
            FhirAdapter().write(decisions, target)
        assert ("ZY20260225-0007", "lines[0].applied[0].reduction", False) == (
            caught.value.record, caught.value.field, target.exists())

    @pytest.mark.parametrize(("element", "says", "cut"), [
        ("totalNet.value", "totalNet.value (the amount) is missing", lambda invoice: invoice.pop("totalNet")),
        ("lineItem[0].priceComponent[0].amount.value", "amount.value (the amount) is missing",
         lambda invoice: invoice["lineItem"][0]["priceComponent"][0].pop("amount")),
        ("lineItem[0].priceComponent[1].code.coding", "the discount names no rule",
         lambda invoice: invoice["lineItem"][0]["priceComponent"][1].pop("code")),
        ("lineItem[0].chargeItemReference.identifier.value", "the line id",
         lambda invoice: invoice["lineItem"][0].update(chargeItemReference={"reference": "ChargeItem/1"})),
    ])
    def test_reading_back_an_invoice_without_an_element_names_it(
            self, element: str, says: str, cut: Callable[[dict[str, Any]], object]) -> None:
        """An Invoice valid R4B but without what a decision needs (these elements are optional in
        FHIR) is a FhirError naming the invoice and the element, not a crash on None."""
        target = io.BytesIO()
        FhirAdapter().write(decide(read(fixture()))[:1], target)
        bundle = json.loads(target.getvalue(), parse_float=Decimal)
        cut(bundle["entry"][0]["resource"])
        with pytest.raises(FhirError) as caught:
            invoices_from_bundle(exact_json.dumps(bundle))
        assert ("Invoice/invoice-1", element, True) == (caught.value.record, caught.value.field,
                                                        says in caught.value.message.en)

    def test_any_visit_id(self) -> None:
        """A visit id that is no valid FHIR id (spaces, 汉字, /) still gets its Invoice."""
        visit = {**read(fixture())[0], "visit_id": "门诊 0042/甲"}
        target = io.BytesIO()
        FhirAdapter().write(decide([visit]), target)
        assert "门诊 0042/甲" == invoices_from_bundle(target.getvalue())[0]["visit_id"]

    def test_large_amount_written_exactly(self) -> None:
        """The largest amount the contract takes (limits.MAX_AMOUNT: larger ones are refused as
        input since issue 14) is written digit for digit and read back the same."""
        visit = {**read(fixture())[0], "lines": [{"line_id": "1", "item": "drug", "amount": "9999999999.99"}]}
        target = io.BytesIO()
        FhirAdapter().write(decide([visit]), target)
        assert "9999999999.99" == invoices_from_bundle(target.getvalue())[0]["totals"]["amount"]

    def test_exact_json_refuses_floats(self) -> None:
        with pytest.raises(TypeError):
            exact_json.dumps({"value": 0.1})

    def test_decision_missing_totals(self) -> None:
        decisions = decide(read(fixture()))
        del decisions[0]["totals"]
        with pytest.raises(InputError) as caught:
            FhirAdapter().write(decisions, io.BytesIO())
        assert ("MZ20260302-0042", "totals") == (caught.value.record, caught.value.field)


REGISTRY = Registry.builtin()
ids = st.from_regex(r"[A-Z]{1,3}[0-9]{1,6}", fullmatch=True)
cards = st.fixed_dictionaries({"kind": st.sampled_from([t.id for t in REGISTRY.credentials]), "number": ids},
                              optional={"valid_from": st.just("2024-01-01"), "valid_to": st.just("2026-12-31")})
patients = st.fixed_dictionaries(
    {"id": ids}, optional={"name": st.sampled_from(["黄建国", "覃秀兰", "韦志强"]),
                           "categories": st.lists(st.sampled_from([t.id for t in REGISTRY.categories]),
                                                  min_size=1, max_size=2, unique=True),
                           "disability_level": st.integers(1, 10),
                           "credentials": st.lists(cards, min_size=1, max_size=2)})
lines = st.fixed_dictionaries({"item": st.sampled_from([t.id for t in REGISTRY.items]),
                               "amount": st.decimals(0, Decimal("99999999.99"), places=2).map(str)},
                              optional={"code": ids, "description": st.just("挂号费")})


@st.composite
def visit_lists(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(1, 3))
    return [{"visit_id": f"V{n}", "date": draw(st.sampled_from(["2026-01-01", "2026-02-28"])),
             "kind": draw(st.sampled_from(["outpatient", "emergency", "inpatient"])),
             "region": draw(st.sampled_from(["450103", "370100"])), "patient": draw(patients),
             "lines": [{"line_id": str(m), **line} for m, line in enumerate(draw(st.lists(lines, max_size=4)), 1)]}
            for n in range(count)]


@settings(max_examples=40, deadline=None)
@given(visit_lists())
def test_visits_round_trip_through_a_bundle(visits: list[dict[str, Any]]) -> None:
    """Any JSON-contract visits written as a Bundle read back the same (patients shared by id)."""
    first = {}
    for visit in visits:  # one patient id is one Patient: its first visit's details win
        first.setdefault(visit["patient"]["id"], visit["patient"])
        visit["patient"] = first[visit["patient"]["id"]]
    assert visits == list(read_bundle(exact_json.dumps(visits_to_bundle(visits))))


@settings(max_examples=30, deadline=None)
@given(visit_lists())
def test_any_decision_round_trips_through_invoices(visits: list[dict[str, Any]]) -> None:
    """Whatever seed-example decides for any visits, the Invoice bundle carries it back to the fen:
    every line's amount, reduction, payable and each rule's share, and the totals."""
    decisions = decide(visits)
    target = io.BytesIO()
    FhirAdapter().write(decisions, target)
    assert [{"visit_id": d["visit_id"], "policy": d["policy"], "totals": d["totals"],
             "lines": [{k: line[k] for k in ("line_id", "amount", "reduction", "payable", "applied")}
                       for line in d["lines"]]} for d in decisions] == invoices_from_bundle(target.getvalue())


class TestErrors:
    @pytest.mark.parametrize(("change", "record", "element"), [
        (lambda b: resource(b, "ci-0042-4").pop("priceOverride"), "ChargeItem/ci-0042-4", "priceOverride.value"),
        (lambda b: resource(b, "ci-0042-4")["priceOverride"].update(currency="USD"),
         "ChargeItem/ci-0042-4", "priceOverride.currency"),
        (lambda b: resource(b, "ci-0042-4").update(subject={"reference": "Patient/qin-xiulan"}),
         "ChargeItem/ci-0042-4", "subject"),
        (lambda b: resource(b, "ci-0042-4").pop("context"), "ChargeItem/ci-0042-4", "context"),
        (lambda b: resource(b, "ci-0042-4").update(code={"text": "药"}), "ChargeItem/ci-0042-4", "code"),
        (lambda b: resource(b, "MZ20260302-0042")["class"].update(code="HH"), "Encounter/MZ20260302-0042", "class"),
        (lambda b: resource(b, "MZ20260302-0042").pop("extension"), "Encounter/MZ20260302-0042",
         "extension(https://shuangyong.invalid/fhir/StructureDefinition/region)"),
        (lambda b: resource(b, "MZ20260302-0042").pop("period"), "Encounter/MZ20260302-0042", "period.start"),
        (lambda b: resource(b, "MZ20260302-0042")["period"].update(start="2026-03"), "Encounter/MZ20260302-0042",
         "period.start"),
        (lambda b: resource(b, "MZ20260302-0042").update(subject={"reference": "Patient/nobody"}),
         "Encounter/MZ20260302-0042", "subject"),
        (lambda b: resource(b, "qin-xiulan-card").pop("subscriberId"), "Coverage/qin-xiulan-card", "subscriberId"),
        (lambda b: resource(b, "qin-xiulan-card").update(beneficiary={"reference": "Patient/x"}),
         "Coverage/qin-xiulan-card", "beneficiary"),
        (lambda b: resource(b, "qin-xiulan-card")["period"].update(end="2024-12-31"), "Coverage/qin-xiulan-card",
         "period.end"),
        (lambda b: resource(b, "huang-jianguo")["identifier"][1]["period"].update(start="2027-01-01"),
         "Patient/huang-jianguo", "identifier[1].period.end"),
        (lambda b: resource(b, "huang-jianguo")["identifier"][1].pop("value"), "Patient/huang-jianguo",
         "identifier[1].value"),
        (lambda b: resource(b, "huang-jianguo")["extension"][0]["valueCoding"].update(system="urn:x"),
         "Patient/huang-jianguo", "extension[0].valueCoding"),
        (lambda b: b["entry"].append(copy.deepcopy(b["entry"][0])), "Patient/huang-jianguo", "id"),
    ])
    def test_missing_or_contradictory(self, change: Any, record: str, element: str) -> None:
        """Each problem is a FhirError naming the resource and the element, in zh and en."""
        bundle = fixture()
        change(bundle)
        with pytest.raises(FhirError) as caught:
            read(bundle)
        assert (record, element) == (caught.value.record, caught.value.field)
        assert (caught.value.message.zh != caught.value.message.en) is True

    def test_invalid_fhir_named_by_resource_and_other_visits_decided(self) -> None:
        """A value FHIR itself refuses (a decimal that is text) names the resource and the element,
        and refuses that visit only: the other is still read (issue 14's leftover, issue 17)."""
        bundle = fixture()
        resource(bundle, "ci-0042-3")["priceOverride"]["value"] = "二十五"
        results = list(read_each(json.dumps(bundle, ensure_ascii=False)))
        assert (FhirError, "ChargeItem/ci-0042-3", "priceOverride.value", "ZY20260225-0007") == (
            type(results[0]), results[0].record, results[0].field, results[1]["visit_id"])

    def test_a_bad_encounter_refuses_its_visit_only(self) -> None:
        """An Encounter with an unknown class is an error in its place; the next visit is read."""
        bundle = fixture()
        resource(bundle, "MZ20260302-0042")["class"]["code"] = "FLD"
        results = list(read_each(json.dumps(bundle, ensure_ascii=False)))
        assert ("Encounter/MZ20260302-0042", "class", "ZY20260225-0007") == (
            results[0].record, results[0].field, results[1]["visit_id"])
        assert "AMB, VR, EMER, OBSENC, IMP, ACUTE, NONAC, SS" in results[0].message.en

    def test_amount_beyond_the_fen(self) -> None:
        """A price times quantity that is not whole fen is refused at the ChargeItem's price."""
        bundle = fixture()
        resource(bundle, "ci-0042-4")["priceOverride"]["value"] = 12.345
        with pytest.raises(MoneyError) as caught:
            read(bundle)
        assert ("ChargeItem/ci-0042-4", "priceOverride.value") == (caught.value.record, caught.value.field)

    def test_invalid_json(self) -> None:
        with pytest.raises(FhirError) as caught:
            list(read_bundle('{"resourceType": "Bundle",'))
        assert ("Bundle", True) == (caught.value.record, "invalid JSON" in str(caught.value))

    def test_decoded_python_data_refused(self) -> None:
        """A dict from json.loads may already hold floats: the adapter asks for the JSON text."""
        with pytest.raises(FhirError) as caught:
            list(read_bundle(fixture()))  # type: ignore[arg-type]
        assert "JSON text" in str(caught.value)


def test_registered_as_his_adapter_and_exporter() -> None:
    """Installed, the plugin offers the adapter `fhir` and the decisions exporter `fhir`, and shows
    in `shuangyong plugins`."""
    adapters = plugins.collect("register_his_adapters")
    info = {i.name: i.hooks for i in plugins.plugin_infos()}
    assert (True, True, ("register_exporters", "register_his_adapters")) == (
        isinstance(adapters["fhir"], FhirAdapter), "fhir" in plugins.exporters("decisions"), info["fhir"])


class TestCli:
    def test_bundle_in_invoices_out(self, tmp_path: Path) -> None:
        """`evaluate BUNDLE --his fhir --format fhir -o FILE`: the Invoice bundle of the decisions."""
        out = tmp_path / "invoices.json"
        result = CliRunner().invoke(main, ["evaluate", str(FIXTURE), "--his", "fhir", "--format", "fhir",
                                           "-o", str(out)])
        invoices = invoices_from_bundle(out)
        assert (0, ["50.35", "86.75"]) == (result.exit_code, [i["totals"]["payable"] for i in invoices])
        written = [e["resource"] for e in json.loads(out.read_text(encoding="utf-8"))["entry"]]
        assert (["Patient/huang-jianguo", "Patient/qin-xiulan"], "ChargeItem/ci-0007-1") == (
            [i["subject"]["reference"] for i in written], written[1]["lineItem"][0]["chargeItemReference"]["reference"])

    def test_bundle_in_json_out(self) -> None:
        """With --his the default output is a JSON array of decisions, like an array input."""
        result = CliRunner().invoke(main, ["evaluate", str(FIXTURE), "--his", "fhir"])
        assert (0, ["MZ20260302-0042", "ZY20260225-0007"]) == (
            result.exit_code, [d["visit_id"] for d in json.loads(result.stdout)])

    def test_bad_visit_exits_2_and_the_others_are_decided(self, tmp_path: Path) -> None:
        """A ChargeItem the adapter refuses is an error for its visit, with resource and element
        named; the other visit is still decided, and the run exits 2."""
        bundle = fixture()
        resource(bundle, "ci-0042-4")["priceOverride"]["currency"] = "USD"
        source, out = tmp_path / "bad.json", tmp_path / "out.json"
        source.write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
        result = CliRunner().invoke(main, ["evaluate", str(source), "--his", "fhir", "-o", str(out)])
        written = json.loads(out.read_text(encoding="utf-8"))
        assert (2, ("ChargeItem/ci-0042-4", "priceOverride.currency"), "ZY20260225-0007") == (
            result.exit_code, (written[0]["error"]["record"], written[0]["error"]["field"]), written[1]["visit_id"])

    @pytest.mark.parametrize(("name", "says"), [
        ("Bundle-bundle-example.json", "the bundle (searchset) has no Encounter, so there is no visit to decide; it "
                                       "holds: 1 MedicationRequest, 1 Medication"),
        ("Claim-100150.json", "a single Claim is no Bundle with an Encounter, so there is no visit to decide")])
    def test_no_encounter_exits_2_saying_why(self, name: str, says: str) -> None:
        """Issue 17, defect 5: a bundle with no Encounter (a Claim, a searchset) was decided as
        nothing, `[]` and exit 0. Now it exits 2 and says there is no visit and what it holds."""
        result = CliRunner().invoke(main, ["evaluate", str(REAL / name), "--his", "fhir"])
        assert (2, says) == (result.exit_code, json.loads(result.stdout)[0]["error"]["message"]["en"])

    def test_unknown_adapter(self) -> None:
        result = CliRunner().invoke(main, ["explain", str(FIXTURE), "--his", "nope"])
        assert (2, True) == (result.exit_code, "no HIS adapter named 'nope'" in result.stderr)

    def test_explain_through_the_adapter(self) -> None:
        result = CliRunner().invoke(main, ["explain", str(FIXTURE), "--his", "fhir", "--format", "json"])
        assert (0, 2) == (result.exit_code, len(result.stdout.splitlines()))


def test_insurance_of_contract_1_1_is_a_deduction_and_reads_back() -> None:
    """A settled decision (contract 1.1): what the funds paid becomes a ``deduction`` component, so
    base − discounts − deduction is the net; read back, payable and insurance are the decision's.
    The per-payer breakdown and each share's payer are not carried."""
    line = {"line_id": "1", "item": "bed", "amount": "100.00", "reduction": "20.00", "payable": "10.00",
            "rule": "r.bed", "clause": "条款",
            "applied": [{"rule": "r.bed", "reduction": "15.00", "payer": "hospital", "base": "gross"},
                        {"rule": "r.subsidy", "reduction": "5.00", "payer": "youfu_medical_subsidy",
                         "base": "patient_share"}],
            "insurance": "70.00", "payers": {"basic_pool": "70.00", "hospital": "15.00",
                                             "youfu_medical_subsidy": "5.00", "patient": "10.00"}}
    totals = {"amount": "100.00", "reduction": "20.00", "payable": "10.00", "insurance": "70.00",
              "payers": line["payers"]}
    decision = {"visit_id": "ZY1", "policy": "sha256:0", "lines": [line], "priorities": [], "services": [],
                "entitlements": [], "totals": totals}
    target = io.BytesIO()
    FhirAdapter().write([decision], target)
    invoice = json.loads(target.getvalue(), parse_float=Decimal)["entry"][0]["resource"]
    assert (["base", "discount", "discount", "deduction"], Decimal("70.00"), Decimal("10.00")) == (
        [p["type"] for p in invoice["lineItem"][0]["priceComponent"]],
        invoice["lineItem"][0]["priceComponent"][3]["amount"]["value"], invoice["totalNet"]["value"])
    back = invoices_from_bundle(target.getvalue())[0]
    assert ({"amount": "100.00", "reduction": "20.00", "payable": "10.00", "insurance": "70.00"},
            ("10.00", "70.00",
             [{"rule": "r.bed", "reduction": "15.00"}, {"rule": "r.subsidy", "reduction": "5.00"}])) == (
        back["totals"], (back["lines"][0]["payable"], back["lines"][0]["insurance"], back["lines"][0]["applied"]))


FOUND_DEEP = Path(__file__).resolve().parents[3] / "tests/fuzz/corpus/fhir/found-deep-utf16-bundle.json"


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32", "utf-8"])
def test_a_deep_bundle_is_refused_in_every_json_encoding(codec: str) -> None:
    """The fuzzer's UTF-16 bundle, arrays 1,000 deep after a ``"\\ud800"`` escape, reached
    json.loads (a RecursionError): the depth was counted on the undecoded bytes, whose strings
    the counter misread. In every encoding json.loads accepts, it is refused first."""
    text = FOUND_DEEP.read_bytes().decode("utf-16")
    with pytest.raises(FhirError) as raised:
        list(read_bundle(text.encode(codec)))
    assert "nested deeper than 64 levels" in raised.value.message.en


def transaction(bundle: dict[str, Any]) -> dict[str, Any]:
    """The fixture as an HIS posts it in a transaction: no ids, every reference a `urn:uuid` fullUrl."""
    urls = {}
    for n, entry in enumerate(bundle["entry"]):
        entry.setdefault("fullUrl", f"urn:uuid:00000000-0000-4000-8000-{n:012d}")
        urls[f"{entry['resource']['resourceType']}/{entry['resource'].pop('id')}"] = entry["fullUrl"]
        entry["request"] = {"method": "POST", "url": entry["resource"]["resourceType"]}
    text = json.dumps({**bundle, "type": "transaction"}, ensure_ascii=False)
    for reference, url in urls.items():
        text = text.replace(f'"reference": "{reference}"', f'"reference": "{url}"')
    return dict(json.loads(text))


def with_charge(bundle: dict[str, Any], charge_id: str, **change: Any) -> dict[str, Any]:
    resource(bundle, charge_id).update(change)
    return bundle


class TestBreadth:
    def test_transaction_with_urn_uuid_fullurls_and_no_ids(self) -> None:
        """A transaction bundle without ids reads as the collection does: references resolve by
        fullUrl, an Encounter without id is named by its identifier or fullUrl, lines by identifier."""
        bundle = transaction(fixture())
        resource_of = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
        encounter = resource_of["urn:uuid:8f0d5f6e-3c1a-4b0e-9a51-0c2f3e7d1a04"]
        encounter["identifier"] = [{"value": "MZ20260302-0042"}]
        adapter = FhirAdapter()
        visits = list(adapter.read(json.dumps(bundle, ensure_ascii=False)))
        expected = read(fixture())
        assert (["MZ20260302-0042", "urn:uuid:8f0d5f6e-3c1a-4b0e-9a51-0c2f3e7d1a05"],
                [v["lines"] for v in expected], [v["patient"] for v in expected]) == (
            [v["visit_id"] for v in visits], [v["lines"] for v in visits], [v["patient"] for v in visits])
        target = io.BytesIO()
        adapter.write(decide(visits), target)
        invoice = json.loads(target.getvalue(), parse_float=Decimal)["entry"][0]["resource"]
        assert ("urn:uuid:8f0d5f6e-3c1a-4b0e-9a51-0c2f3e7d1a01", "urn:uuid:00000000-0000-4000-8000-000000000005") == (
            invoice["subject"]["reference"], invoice["lineItem"][0]["chargeItemReference"]["reference"])

    @pytest.mark.parametrize(("change", "region"), [
        (lambda e, b: None, "450103"),
        (lambda e, b: e.pop("extension"), "110101"),
        (lambda e, b: (e.pop("extension"), e.update(serviceProvider={"reference": "Organization/h1"}),
                       b["entry"].append({"resource": {"resourceType": "Organization", "id": "h1", "extension": [
                           {"url": "https://shuangyong.invalid/fhir/StructureDefinition/region",
                            "valueCode": "450102"}]}})), "450102"),
        (lambda e, b: (e.pop("extension"), e.update(location=[{"location": {"reference": "Location/w1"}}]),
                       b["entry"].append({"resource": {"resourceType": "Location", "id": "w1", "extension": [
                           {"url": "https://shuangyong.invalid/fhir/StructureDefinition/region",
                            "valueCode": "450105"}]}})), "450105"),
    ])
    def test_region_from_encounter_provider_location_or_default(self, change: Any, region: str) -> None:
        """The Encounter's region extension wins; then its serviceProvider's, then its location's;
        then the default the caller gives (`--region`)."""
        bundle = fixture()
        change(resource(bundle, "MZ20260302-0042"), bundle)
        visits = list(FhirAdapter().read(json.dumps(bundle, ensure_ascii=False), region="110101"))
        assert region == visits[0]["region"]

    def test_no_region_anywhere_names_where_it_looked(self) -> None:
        bundle = fixture()
        resource(bundle, "MZ20260302-0042").pop("extension")
        with pytest.raises(FhirError) as caught:
            read(bundle)
        assert "its serviceProvider or its location, and no default region (--region)" in caught.value.message.en

    @pytest.mark.parametrize(("code", "kind"), [("VR", "outpatient"), ("OBSENC", "emergency"), ("SS", "inpatient"),
                                                ("ACUTE", "inpatient"), ("EMER", "emergency")])
    def test_more_encounter_classes(self, code: str, kind: str) -> None:
        bundle = fixture()
        resource(bundle, "MZ20260302-0042")["class"]["code"] = code
        assert kind == read(bundle)[0]["kind"]

    @pytest.mark.parametrize("code", ["HH", "FLD", "PRENC"])
    def test_classes_without_a_visit_kind_refused_with_the_list(self, code: str) -> None:
        bundle = fixture()
        resource(bundle, "MZ20260302-0042")["class"]["code"] = code
        with pytest.raises(FhirError) as caught:
            read(bundle)
        assert ("class", f"class must be one of AMB, VR, EMER, OBSENC, IMP, ACUTE, NONAC, SS, got {code!r}") == (
            caught.value.field, caught.value.message.en)

    @pytest.mark.parametrize("status", ["planned", "entered-in-error", "not-billable", "aborted", "unknown"])
    def test_charges_not_billable_are_not_decided_and_the_invoice_says_so(self, status: str) -> None:
        """Only billable and billed charges are decided; the Invoice notes each one left out."""
        adapter = FhirAdapter()
        bundle = with_charge(fixture(), "ci-0042-4", status=status)
        visits = list(adapter.read(json.dumps(bundle, ensure_ascii=False)))
        target = io.BytesIO()
        adapter.write(decide(visits), target)
        invoice = json.loads(target.getvalue(), parse_float=Decimal)["entry"][0]["resource"]
        assert (["1", "2", "3"], [f"未决定 / not decided: ChargeItem/ci-0042-4 (status {status})",
                                  "未决定 / not decided: ChargeItem/ci-0042-5 (status entered-in-error)"]) == (
            [line["line_id"] for line in visits[0]["lines"]], sorted(n["text"] for n in invoice["note"]))

    @pytest.mark.parametrize(("target", "where", "record", "element"), [
        ("MZ20260302-0042", lambda r: r, "Encounter/MZ20260302-0042", "modifierExtension[0]"),
        ("ci-0042-2", lambda r: r.setdefault("performer", [{"actor": {"display": "护士"}}])[0],
         "ChargeItem/ci-0042-2", "performer[0].modifierExtension[0]"),
        ("huang-jianguo", lambda r: r.setdefault("contact", [{"name": {"text": "黄某"}}])[0],
         "Patient/huang-jianguo", "contact[0].modifierExtension[0]"),
    ])
    def test_a_modifier_extension_not_understood_refuses_the_visit(
            self, target: str, where: Callable[[dict[str, Any]], dict[str, Any]], record: str, element: str) -> None:
        """FHIR forbids processing a resource whose modifierExtension one does not understand: the
        visit is refused, naming where the extension is and its url; the other visit is read."""
        bundle = fixture()
        where(resource(bundle, target))["modifierExtension"] = [{"url": "http://example.org/not-really",
                                                                  "valueBoolean": True}]
        results = list(read_each(json.dumps(bundle, ensure_ascii=False)))
        assert (record, element, "http://example.org/not-really", "ZY20260225-0007") == (
            results[0].record, results[0].field, results[0].value, results[1]["visit_id"])

    @pytest.mark.parametrize(("names", "joined"), [
        ([{"family": "Chalmers", "given": ["Peter", "James"], "prefix": ["Mr."]}], "Mr. Peter James Chalmers"),
        ([{"family": "黄", "given": ["建国"]}], "黄建国"),
        ([{"use": "old", "text": "黄小明"}, {"family": "黄", "given": ["建国"]}], "黄建国"),
        ([{"use": "usual", "given": ["Jim"]}, {"use": "official", "family": "Chalmers", "given": ["James"]}],
         "James Chalmers"),
    ])
    def test_names_joined_per_their_parts(self, names: list[dict[str, Any]], joined: str) -> None:
        """A name without text is its parts: Chinese ones without spaces (family first), others
        prefix given family suffix with spaces; the official name is preferred, old ones are not used."""
        bundle = fixture()
        resource(bundle, "huang-jianguo")["name"] = names
        assert joined == read(bundle)[0]["patient"]["name"]

    def test_a_single_resource_is_a_bundle_of_one(self) -> None:
        """An Encounter sent alone is read (and here refused: its Patient is not sent with it)."""
        with pytest.raises(FhirError) as caught:
            list(read_bundle(REAL / "Encounter-emerg.json"))
        assert ("Encounter/emerg", "subject") == (caught.value.record, caught.value.field)

    def test_only_cancelled_encounters_say_so(self) -> None:
        bundle = fixture()
        for encounter in ("MZ20260302-0042", "ZY20260225-0007"):
            resource(bundle, encounter)["status"] = "cancelled"
        with pytest.raises(FhirError) as caught:
            read(bundle)
        assert ("Bundle", "entry", "no visit to decide: Encounter/MZ20260302-0042 (cancelled), "
                                   "Encounter/ZY20260225-0007 (cancelled) did not take place") == (
            caught.value.record, caught.value.field, caught.value.message.en)

    def test_a_charge_for_no_encounter_in_the_bundle_is_its_own_error(self) -> None:
        """A ChargeItem whose context names no Encounter of the bundle is reported on its own; both visits are read."""
        bundle = fixture()
        resource(bundle, "ci-0042-4")["context"] = {"reference": "Encounter/elsewhere"}
        results = list(read_each(json.dumps(bundle, ensure_ascii=False)))
        assert (["MZ20260302-0042", "ZY20260225-0007"], "ChargeItem/ci-0042-4", "context") == (
            [r["visit_id"] for r in results[:2]], results[2].record, results[2].field)

    def test_an_unknown_resource_type_is_named(self) -> None:
        bundle = fixture()
        bundle["entry"].append({"resource": {"resourceType": "Gadget", "id": "g1"}})
        results = list(read_each(json.dumps(bundle, ensure_ascii=False)))
        assert 2 == len(results)  # a resource nothing needs is not read
        resource(bundle, "MZ20260302-0042")["subject"] = {"reference": "Gadget/g1"}
        with pytest.raises(FhirError) as caught:
            read(bundle)
        assert ("Encounter/MZ20260302-0042", "subject") == (caught.value.record, caught.value.field)


def settled(bundle: dict[str, Any], *totals: tuple[str | None, str, Any], currency: str = "CNY") -> dict[str, Any]:
    """The fixture with a Claim for the outpatient visit and the ClaimResponse 医保 answered it with."""
    claim = {"resourceType": "Claim", "id": "c1", "status": "active", "type": {"coding": [{"code": "professional"}]},
             "use": "claim", "patient": {"reference": "Patient/huang-jianguo"}, "created": "2026-03-02",
             "provider": {"display": "南宁市第一人民医院"}, "priority": {"coding": [{"code": "normal"}]},
             "insurance": [{"sequence": 1, "focal": True, "coverage": {"display": "职工医保"}}],
             "item": [{"sequence": 1, "productOrService": {"text": "门诊"},
                       "encounter": [{"reference": "Encounter/MZ20260302-0042"}]}]}
    response = {"resourceType": "ClaimResponse", "id": "r1", "status": "active",
                "type": {"coding": [{"code": "professional"}]}, "use": "claim",
                "patient": {"reference": "Patient/huang-jianguo"}, "created": "2026-03-02",
                "insurer": {"display": "南宁市医疗保障局"}, "request": {"reference": "Claim/c1"}, "outcome": "complete",
                "total": [{"category": {"coding": [{"system": system, "code": code} if system else {"code": code}]},
                           "amount": {"value": value, "currency": currency}} for system, code, value in totals]}
    bundle["entry"] += [{"resource": claim}, {"resource": response}]
    return bundle


ADJUDICATION = "http://terminology.hl7.org/CodeSystem/adjudication"


class TestInsurance:
    def test_claim_response_totals_become_the_visits_insurance(self) -> None:
        """benefit → basic_pool; copay and deductible → in_scope; submitted − eligible → full: the
        visit's insurance (contract 1.1), spread over its lines when decided; the Invoice carries
        what the funds paid as a deduction, and the patient pays the rest less the concession."""
        bundle = settled(fixture(), (ADJUDICATION, "submitted", 81.85), (None, "eligible", 50.00),
                         (ADJUDICATION, "benefit", 40.00), (None, "copay", 6.00), (None, "deductible", 4.00))
        adapter = FhirAdapter()
        visits = list(adapter.read(json.dumps(bundle, ensure_ascii=False)))
        assert {"funds": {"basic_pool": "40.00"}, "self_pay": {"in_scope": "10.00", "full": "31.85"}} == visits[0][
            "insurance"]
        assert "insurance" not in visits[1]
        decisions = decide(visits)
        target = io.BytesIO()
        adapter.write(decisions, target)
        invoice = json.loads(target.getvalue(), parse_float=Decimal)["entry"][0]["resource"]
        totals = decisions[0]["totals"]
        components = [("base", Decimal("81.85")), ("discount", Decimal(totals["reduction"])),
                      ("deduction", Decimal("40.00"))]
        assert ("40.00", Decimal(totals["payable"]), components) == (
            totals["insurance"], invoice["totalNet"]["value"],
            [(p["type"], p["amount"]["value"]) for p in invoice["totalPriceComponent"]])

    def test_fund_and_self_pay_codes_of_this_project(self) -> None:
        """A total coded in CS_FUND names the fund; one in CS_SELF_PAY names the patient's part."""
        bundle = settled(fixture(), ("https://shuangyong.invalid/fhir/CodeSystem/fund", "basic_pool", 30.00),
                         ("https://shuangyong.invalid/fhir/CodeSystem/fund", "disabled_servicemen", 20.00),
                         ("https://shuangyong.invalid/fhir/CodeSystem/self-pay", "preliminary", 31.85))
        assert {"funds": {"basic_pool": "30.00", "disabled_servicemen": "20.00"},
                "self_pay": {"preliminary": "31.85"}} == read(bundle)[0]["insurance"]

    @pytest.mark.parametrize(("totals", "currency", "element", "says"), [
        ([(None, "benefit", 40.00)], "CNY", "total", "the parts of the ClaimResponse add up to 40.00, not to the "
                                                      "visit's charges 81.85"),
        ([(None, "benefit", 81.85)], "USD", "total[0].amount.currency", "currency must be CNY, got USD"),
        ([("https://shuangyong.invalid/fhir/CodeSystem/self-pay", "cash", 81.85)], "CNY", "total[0].category",
         "a self-pay part must be one of preliminary, in_scope, full, over_limit, got 'cash'"),
    ])
    def test_a_claim_response_that_does_not_add_up_refuses_its_visit(
            self, totals: list[tuple[str | None, str, Any]], currency: str, element: str, says: str) -> None:
        """Nothing is guessed: figures that do not account for the visit's charges exactly, in
        CNY, refuse that visit, naming the ClaimResponse and the element; the other visit is read."""
        results = list(read_each(json.dumps(settled(fixture(), *totals, currency=currency), ensure_ascii=False)))
        assert ("ClaimResponse/r1", element, says, "ZY20260225-0007") == (
            results[0].record, results[0].field, results[0].message.en, results[1]["visit_id"])


def test_a_planned_charge_for_no_encounter_is_left_alone() -> None:
    """A charge that would not be decided anyway is no error when it names no Encounter."""
    bundle = with_charge(fixture(), "ci-0042-4", status="planned")
    resource(bundle, "ci-0042-4").pop("context")
    assert ["1", "2", "3"] == [line["line_id"] for line in read(bundle)[0]["lines"]]


def test_an_amount_beyond_the_fen_refuses_its_visit_only() -> None:
    """A price not in whole fen is a MoneyError for its visit, in its place; the other visit is read."""
    bundle = fixture()
    resource(bundle, "ci-0042-4")["priceOverride"]["value"] = 12.345
    results = list(read_each(json.dumps(bundle, ensure_ascii=False)))
    assert (MoneyError, "ChargeItem/ci-0042-4", "priceOverride.value", "ZY20260225-0007") == (
        type(results[0]), results[0].record, results[0].field, results[1]["visit_id"])


@pytest.mark.parametrize("status", [{"code": "billed"}, ["billed"]])
def test_a_status_that_is_no_string_refuses_its_visit(status: Any) -> None:
    """Found by mutating the fixture: a ChargeItem whose status is an object crashed the reader
    (unhashable); it is now FHIR's refusal of that resource, for its visit."""
    bundle = with_charge(fixture(), "ci-0042-4", status=status)
    results = list(read_each(json.dumps(bundle, ensure_ascii=False)))
    assert ("ChargeItem/ci-0042-4", "status", "ZY20260225-0007") == (
        results[0].record, results[0].field, results[1]["visit_id"])


def test_a_null_in_the_given_names_is_skipped() -> None:
    """Found by mutating the fixture: FHIR JSON may hold null in a list of names (with its
    extension in `_given`); the name is joined from the others."""
    bundle = fixture()
    resource(bundle, "huang-jianguo")["name"] = [{"family": "黄", "given": [None, "建国"],
                                                  "_given": [{"extension": [{"url": "u", "valueString": "x"}]}, None]}]
    assert "黄建国" == read(bundle)[0]["patient"]["name"]


def test_the_organization_giving_the_region_must_be_understood() -> None:
    """The serviceProvider whose region extension is used is held to modifierExtension too."""
    bundle = fixture()
    encounter = resource(bundle, "MZ20260302-0042")
    encounter.pop("extension")
    encounter["serviceProvider"] = {"reference": "Organization/h1"}
    bundle["entry"].append({"resource": {
        "resourceType": "Organization", "id": "h1",
        "modifierExtension": [{"url": "http://example.org/closed", "valueBoolean": True}],
        "extension": [{"url": "https://shuangyong.invalid/fhir/StructureDefinition/region", "valueCode": "450102"}]}})
    with pytest.raises(FhirError) as caught:
        read(bundle)
    assert ("Organization/h1", "modifierExtension[0]") == (caught.value.record, caught.value.field)


@pytest.mark.parametrize(("text", "record", "element", "says"), [
    (b"[]", "Bundle", "resourceType", "a FHIR resource (a JSON object) is expected"),
    (b'{"resourceType": "Gadget", "id": "g1"}', "Gadget/g1", "resourceType", "a single Gadget is no Bundle"),
])
def test_input_that_is_no_resource(text: bytes, record: str, element: str, says: str) -> None:
    with pytest.raises(FhirError) as caught:
        list(read_bundle(text))
    assert (record, element, True) == (caught.value.record, caught.value.field, says in caught.value.message.en)


def test_two_claim_responses_for_one_visit_refuse_it() -> None:
    bundle = settled(fixture(), (None, "benefit", 81.85))
    second = copy.deepcopy(bundle["entry"][-1])
    second["resource"]["id"] = "r2"
    bundle["entry"].append(second)
    results = list(read_each(json.dumps(bundle, ensure_ascii=False)))
    assert ("ClaimResponse/r2", "request", "the visit has more than one ClaimResponse (ClaimResponse/r1 and "
                                           "ClaimResponse/r2)") == (
        results[0].record, results[0].field, results[0].message.en)


def test_a_claim_response_total_without_an_amount_is_named() -> None:
    bundle = settled(fixture(), (None, "benefit", 81.85))
    bundle["entry"][-1]["resource"]["total"][0].pop("amount")
    results = list(read_each(json.dumps(bundle, ensure_ascii=False)))
    assert ("ClaimResponse/r1", "total[0].amount") == (results[0].record, results[0].field)
