"""JSON contract → FHIR R4B: decisions as Invoices with discount price components, and visits as
the Bundle a hospital would send (for test data and round trips).

An Invoice answers one Encounter (``identifier`` in ``SYS_VISIT``). Each line item points at its
ChargeItem (by reference when the bundle it came from was read, and by identifier) and carries a
``base`` component (the amount) and one ``discount`` component per rule that took something off
(coded in ``CS_RULE``, the clause as text), so the hospital sees which rule gave what. A decision
of contract 1.1 whose line (or totals) carries ``insurance`` gets a ``deduction`` component for
what the insurance funds paid; the per-payer breakdown is not carried. Discounts and deductions
are written as positive amounts taken off the base. In R4B ``totalNet`` and ``totalGross`` are
the totals without and with tax: there is no tax, so both are base − discounts − deductions,
what the patient pays; the pre-concession amount is the ``base`` total component. Every amount is
a ``Decimal`` written as FHIR decimal text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.invoice import Invoice
from pydantic import ValidationError

from shuangyong import InputError, Text
from shuangyong.plugins import format_amount, parse_amount
from shuangyong_fhir import systems
from shuangyong_fhir.bundle import FhirError, Source, fail, key, load_bundle
from shuangyong_fhir.systems import ZERO

if TYPE_CHECKING:
    from decimal import Decimal

    from fhir.resources.R4B.codeableconcept import CodeableConcept
    from fhir.resources.R4B.money import Money

    from shuangyong_fhir.reader import VisitContext



def _money(value: Decimal) -> dict[str, Any]:
    return {"value": value, "currency": systems.CURRENCY}


def _member(data: Mapping[str, Any], name: str, record: str, field: str) -> Any:
    if not isinstance(data, Mapping) or name not in data:
        raise InputError(Text(f"缺少字段 {field}", f"missing field {field}"), record=record, field=field)
    return data[name]


def _component(kind: str, amount: Decimal, rule: str | None = None, clause: str | None = None) -> dict[str, Any]:
    component: dict[str, Any] = {"type": kind, "amount": _money(amount)}
    if rule is not None:
        component["code"] = {"coding": [{"system": systems.CS_RULE, "code": rule}]}
        if clause:
            component["code"]["text"] = clause
    return component


def _insurance(part: Mapping[str, Any], record: str, at: str) -> list[dict[str, Any]]:
    """The ``deduction`` component for what insurance paid (contract 1.1), if anything."""
    if part.get("insurance") is None:
        return []
    paid = parse_amount(part["insurance"], record=record, field=f"{at}.insurance")
    return [_component("deduction", paid)] if paid else []


def _invoice(decision: Mapping[str, Any], number: int, issued: str,
             contexts: Mapping[str, VisitContext]) -> dict[str, Any]:
    visit_id = _member(decision, "visit_id", f"#{number}", "visit_id")
    context = contexts.get(visit_id)
    items = []
    for n, line in enumerate(_member(decision, "lines", visit_id, "lines")):
        def amount(name: str, data: Mapping[str, Any] = line, at: str = f"lines[{n}]") -> Decimal:
            return parse_amount(_member(data, name, visit_id, f"{at}.{name}"), record=visit_id, field=f"{at}.{name}")

        discounts = [_component("discount", amount("reduction", a, f"lines[{n}].applied[{m}]"), a["rule"],
                                line.get("clause") if a["rule"] == line.get("rule") else None)
                     for m, a in enumerate(_member(line, "applied", visit_id, f"lines[{n}].applied"))]
        line_id = _member(line, "line_id", visit_id, f"lines[{n}].line_id")
        reference = context.charges.get(line_id) if context is not None else None
        items.append({"sequence": n + 1,
                      "chargeItemReference": {**({"reference": reference} if reference else {}),
                                              "identifier": {"value": line_id}, "display": line.get("item")},
                      "priceComponent": [_component("base", amount("amount")), *discounts,
                                         *_insurance(line, visit_id, f"lines[{n}]")]})
    totals = _member(decision, "totals", visit_id, "totals")
    total = {name: parse_amount(_member(totals, name, visit_id, f"totals.{name}"), record=visit_id,
                                field=f"totals.{name}") for name in ("amount", "reduction", "payable")}
    invoice: dict[str, Any] = {
        "resourceType": "Invoice", "id": f"invoice-{number}", "status": "issued",  # any visit id, even 门诊/1
        "identifier": [{"system": systems.SYS_VISIT, "value": visit_id}],
        "extension": [{"url": systems.EXT_POLICY, "valueString": _member(decision, "policy", visit_id, "policy")}],
        "date": issued}
    if context is not None:
        invoice["subject"] = {"reference": context.patient}
        if context.issuer:
            invoice["issuer"] = context.issuer
    if items:  # FHIR JSON has no empty arrays
        invoice["lineItem"] = items
    invoice |= {"totalPriceComponent": [_component("base", total["amount"]),
                                        _component("discount", total["reduction"]),
                                        *_insurance(totals, visit_id, "totals")],
                "totalNet": _money(total["payable"]), "totalGross": _money(total["payable"])}  # no tax: the same
    if context is not None and context.not_decided:
        invoice["note"] = [{"text": f"未决定 / not decided: {c}"}
                           for c in context.not_decided]
    return invoice


def decisions_to_bundle(decisions: Iterable[Mapping[str, Any]], contexts: Mapping[str, VisitContext] | None = None,
                        issued: dt.datetime | None = None) -> dict[str, Any]:
    """A collection Bundle with one Invoice per JSON-contract decision (validated; write it with
    :func:`shuangyong_fhir.exact_json.dumps`). ``contexts`` (from reading the bundle the visits
    came from) give each Invoice its subject, issuer and ChargeItem references; ``issued`` is its
    date (default now)."""
    date = (issued or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")
    return _bundle([_invoice(d, n, date, contexts or {}) for n, d in enumerate(decisions, 1)], "Invoice")


def _bundle(resources: list[dict[str, Any]], what: str) -> dict[str, Any]:
    """The Bundle as data, after ``fhir.resources`` has checked it is valid R4B."""
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"fullUrl": f"urn:shuangyong:{r['resourceType']}/{r['id']}", "resource": r} for r in resources]}
    try:
        Bundle.model_validate(bundle)
        return bundle
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        entry = first["loc"][1] if len(first["loc"]) > 1 else 0
        raise FhirError(Text(f"无法生成 FHIR {what}：{first['msg']}", f"cannot build the FHIR {what}: {first['msg']}"),
                        record=f"{resources[entry]['resourceType']}/{resources[entry]['id']}"
                        if isinstance(entry, int) and entry < len(resources) else what,
                        field=".".join(map(str, first["loc"][3:])) or None, value=first.get("input")) from None


def _deductions(components: Iterable[Any]) -> Decimal:
    """What insurance paid, as the ``deduction`` components say (0 for a contract 1.0 Invoice)."""
    return sum((p.amount.value for p in components if p.type == "deduction"), ZERO)


def invoices_from_bundle(source: Source) -> list[dict[str, Any]]:
    """The decisions an Invoice bundle carries, back as JSON-contract fragments (visit_id, policy,
    lines with amount, reduction, payable and applied, and insurance where a deduction says so;
    totals): what a hospital reads."""
    found = []
    for entry in load_bundle(source).entry or ():
        invoice = entry.resource
        if not isinstance(invoice, Invoice):
            continue
        record = key(invoice)
        visit_id = next((i.value for i in invoice.identifier or () if i.system == systems.SYS_VISIT), None)
        if visit_id is None:
            raise FhirError(Text("发票缺少就诊标识", "the invoice names no visit"), record=record,
                            field=f"identifier({systems.SYS_VISIT})")
        lines = []
        for n, item in enumerate(invoice.lineItem or ()):
            at = f"lineItem[{n}]"
            parts = list(enumerate(item.priceComponent or ()))
            amount = sum((_amount(p.amount, record, f"{at}.priceComponent[{m}].amount")
                          for m, p in parts if p.type == "base"), ZERO)
            discounts = [(_rule(p.code, record, f"{at}.priceComponent[{m}].code"),
                          _amount(p.amount, record, f"{at}.priceComponent[{m}].amount"))
                         for m, p in parts if p.type == "discount"]
            reduction = sum((taken for _, taken in discounts), ZERO)
            paid = _deductions(item.priceComponent or ())
            reference = item.chargeItemReference
            line_id = reference.identifier.value if reference is not None and reference.identifier else None
            if line_id is None:
                raise fail(record, f"{at}.chargeItemReference.identifier.value", "缺少收费明细编号",
                           "the line id (chargeItemReference.identifier.value) is missing")
            lines.append({"line_id": line_id, "amount": format_amount(parse_amount(amount)),
                          "reduction": format_amount(reduction),
                          "payable": format_amount(parse_amount(amount - reduction - paid)),
                          "applied": [{"rule": rule, "reduction": format_amount(taken)} for rule, taken in discounts],
                          **({"insurance": format_amount(parse_amount(paid))} if paid else {})})
        policy = next((e.valueString for e in invoice.extension or () if e.url == systems.EXT_POLICY), None)
        net = _amount(invoice.totalNet, record, "totalNet")
        parts = list(enumerate(invoice.totalPriceComponent or ()))
        gross, reduction = (sum((_amount(p.amount, record, f"totalPriceComponent[{m}].amount")
                                 for m, p in parts if p.type == kind), ZERO) for kind in ("base", "discount"))
        paid = _deductions(invoice.totalPriceComponent or ())
        found.append({"visit_id": visit_id, "policy": policy, "lines": lines, "totals": {
            "amount": format_amount(gross), "reduction": format_amount(reduction),
            "payable": format_amount(net), **({"insurance": format_amount(parse_amount(paid))} if paid else {})}})
    return found


def _amount(money: Money | None, record: str, element: str) -> Decimal:
    """The checked amount of a Money element of an Invoice read back; a missing one is an error."""
    if money is None or money.value is None:
        raise fail(record, f"{element}.value", f"缺少金额 {element}.value", f"{element}.value (the amount) is missing")
    return parse_amount(money.value, record=record, field=f"{element}.value")


def _rule(code: CodeableConcept | None, record: str, element: str) -> str:
    """The rule id a discount is coded with; a discount that names none is an error."""
    rule = next((c.code for c in (code.coding or ()) if c.code), None) if code is not None else None
    if rule is None:
        raise fail(record, f"{element}.coding", "折扣未注明规则", "the discount names no rule")
    return rule


def _card_identifier(card: Mapping[str, Any]) -> dict[str, Any]:
    identifier: dict[str, Any] = {"type": {"coding": [{"system": systems.CS_CREDENTIAL, "code": card["kind"]}]},
                                  "value": card["number"]}
    period = {k: v for k, v in (("start", card.get("valid_from")), ("end", card.get("valid_to"))) if v}
    if period:
        identifier["period"] = period
    return identifier


def _patient_resource(patient: Mapping[str, Any], resource_id: str) -> dict[str, Any]:
    extensions: list[dict[str, Any]] = [
        {"url": systems.EXT_CATEGORY, "valueCoding": {"system": systems.CS_CATEGORY, "code": c}}
        for c in patient.get("categories", ())]
    if patient.get("disability_level") is not None:
        extensions.append({"url": systems.EXT_DISABILITY_LEVEL, "valueInteger": patient["disability_level"]})
    if patient.get("disability_cause"):
        extensions.append({"url": systems.EXT_DISABILITY_CAUSE, "valueCode": patient["disability_cause"]})
    resource: dict[str, Any] = {
        "resourceType": "Patient", "id": resource_id,
        "identifier": [{"type": {"coding": [{"system": systems.IDENTIFIER_TYPE, "code": systems.MEDICAL_RECORD}]},
                        "value": patient["id"]}, *map(_card_identifier, patient.get("credentials", ()))]}
    if extensions:
        resource["extension"] = extensions
    if patient.get("name"):
        resource["name"] = [{"text": patient["name"]}]
    if patient.get("birth_date"):
        resource["birthDate"] = patient["birth_date"]
    return resource


def visits_to_bundle(visits: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The Bundle an HIS would send for these JSON-contract visits: what ``read_bundle`` reads back.

    Credentials are written as Patient identifiers; ids must be valid FHIR ids (letters, digits,
    ``-`` and ``.``), or the error names the resource.
    """
    resources: list[dict[str, Any]] = []
    patients: dict[str, str] = {}
    for visit in visits:
        patient = visit["patient"]
        if patient["id"] not in patients:
            patients[patient["id"]] = f"patient-{len(patients) + 1}"
            resources.append(_patient_resource(patient, patients[patient["id"]]))
        subject = {"reference": f"Patient/{patients[patient['id']]}"}
        resources.append({"resourceType": "Encounter", "id": visit["visit_id"], "status": "finished",
                          "class": {"system": systems.ENCOUNTER_CLASS, "code": systems.CLASS_OF_KIND[visit["kind"]]},
                          "extension": [{"url": systems.EXT_REGION, "valueCode": visit["region"]}],
                          "subject": subject, "period": {"start": visit["date"]}})
        for line in visit["lines"]:
            codings = [{"system": systems.CS_ITEM, "code": line["item"]}] if line.get("item") else []
            if line.get("code"):
                codings.append({"system": f"{systems.BASE}/CodeSystem/hospital-charge", "code": line["code"]})
            code: dict[str, Any] = {"coding": codings}
            if line.get("description"):
                code["text"] = line["description"]
            resources.append({"resourceType": "ChargeItem", "id": f"{visit['visit_id']}-{line['line_id']}",
                              "identifier": [{"value": line["line_id"]}], "status": "billable", "code": code,
                              "subject": subject, "context": {"reference": f"Encounter/{visit['visit_id']}"},
                              "priceOverride": _money(parse_amount(line["amount"], record=visit["visit_id"]))})
    return _bundle(resources, "Bundle")
