"""Issue 17's done-when for FHIR: every public real example in ``fixtures/real`` (the official
FHIR R4 examples, unmodified; provenance in its README.md) either yields a valid R4B Invoice or
a refusal that names the resource and the element. Besides each file alone, bundles assembled
from several unmodified files (a Patient with the Encounters and ChargeItem that refer to it)
are run the same way."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.invoice import Invoice

from shuangyong.engine import Engine
from shuangyong.errors import ShuangyongError
from shuangyong.interchange import decision_to_dict, visit_from_dict
from shuangyong_fhir import FhirAdapter, FhirError, exact_json

REAL = Path(__file__).parent / "fixtures" / "real"
ENGINE = Engine.from_packs("seed-example")
DEFAULT_REGION = "110101"  # what `--region` gives: the official examples carry no GB/T 2260 code


def assembled(*names: str) -> str:
    """A collection Bundle of the named real resources, each as published."""
    entries = [{"fullUrl": f"http://hl7.org/fhir/{r['resourceType']}/{r['id']}", "resource": r}
               for r in (json.loads((REAL / n).read_text(encoding="utf-8"), parse_float=Decimal) for n in names)]
    return exact_json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries})


SOURCES: dict[str, Any] = {path.name: path for path in sorted(REAL.glob("*.json"))}
SOURCES |= {
    "Patient-example + Encounter-emerg": assembled("Patient-example.json", "Encounter-emerg.json"),
    "Patient-example + Encounter-example + ChargeItem-example": assembled(
        "Patient-example.json", "Encounter-example.json", "ChargeItem-example.json"),
    "Patient-example + Encounter-home": assembled("Patient-example.json", "Encounter-home.json"),
}


def outcomes(source: Any) -> list[tuple[str, Any]]:
    """("invoice", the Invoice) or ("refused", the error) for each visit the source gives."""
    adapter = FhirAdapter()
    found: list[tuple[str, Any]] = []
    try:
        results = list(adapter.read_each(source, region=DEFAULT_REGION))
    except ShuangyongError as error:
        return [("refused", error)]
    for result in results:
        if isinstance(result, FhirError):
            found.append(("refused", result))
            continue
        try:
            decision = decision_to_dict(ENGINE.evaluate(visit_from_dict(result)))
        except ShuangyongError as error:
            found.append(("refused", error))
            continue
        target = io.BytesIO()
        adapter.write([decision], target)
        bundle = Bundle.model_validate_json(target.getvalue())  # valid R4B, or this raises
        found.append(("invoice", bundle.entry[0].resource))
    return found


@pytest.mark.parametrize("name", list(SOURCES))
def test_every_real_example_gets_an_invoice_or_a_named_refusal(name: str) -> None:
    """Each visit is an R4B Invoice (validated by fhir.resources) or an error whose record and
    field name the resource and the element, in Chinese and English."""
    found = outcomes(SOURCES[name])
    assert found
    for kind, value in found:
        if kind == "invoice":
            assert isinstance(value, Invoice)
        else:
            assert (True, True, True) == (bool(value.record), bool(value.field), value.message.zh != value.message.en)


def test_what_the_real_examples_give() -> None:
    """The figures docs/fhir.md reports: which examples are decided and why the others are not."""
    summary = {name: [(kind, value.identifier[0].value if kind == "invoice" else f"{value.record} {value.field}")
                      for kind, value in outcomes(source)] for name, source in SOURCES.items()}
    assert {"Bundle-father.json": [("invoice", "doc-example")],
            "Patient-example + Encounter-emerg": [("invoice", "emerg")],
            "Patient-example + Encounter-example + ChargeItem-example": [("refused", "Encounter/example period.start")],
            "Patient-example + Encounter-home": [("refused", "Encounter/home class")],
            "Claim-100150.json": [("refused", "Claim/100150 resourceType")],
            "Bundle-bundle-example.json": [("refused", "Bundle entry")],
            "Encounter-f001.json": [("refused", "Encounter/f001 subject")],
            "ChargeItem-example.json": [("refused", "ChargeItem/example context"),
                                        ("refused", "ChargeItem/example resourceType")],
            } == {name: summary[name] for name in ("Bundle-father.json", "Patient-example + Encounter-emerg",
                                                  "Patient-example + Encounter-example + ChargeItem-example",
                                                  "Patient-example + Encounter-home", "Claim-100150.json",
                                                  "Bundle-bundle-example.json", "Encounter-f001.json",
                                                  "ChargeItem-example.json")}
    assert 2 == sum(kind == "invoice" for found in summary.values() for kind, _ in found)


def test_the_real_invoice_names_patient_and_visit() -> None:
    """Bundle-father's inpatient Encounter: Eve Everywoman, no charges, nothing to pay; the
    Invoice refers to her Patient by the reference the bundle uses."""
    (kind, invoice), = outcomes(SOURCES["Bundle-father.json"])
    assert ("Patient/d1", "doc-example", Decimal("0.00"), None) == (
        invoice.subject.reference, invoice.identifier[0].value, invoice.totalNet.value, invoice.lineItem)
