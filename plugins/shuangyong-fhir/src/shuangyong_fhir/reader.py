"""FHIR R4B → JSON-contract visits: Patient and Coverage make the beneficiary, an Encounter and
its ChargeItems make the visit.

Where each field comes from (docs/fhir.md has the table):

- ``patient.id``: the Patient's identifier of type MR (medical record number), else its id;
  categories, disability level and cause: the Patient's extensions (``systems.EXT_*``);
  credentials: Patient identifiers whose type is a ``CS_CREDENTIAL`` code, and active Coverages
  of the patient whose type is one (``subscriberId`` the card number, ``period`` its validity).
- the visit: ``Encounter.id``, ``period.start`` (the date as written), ``class`` (AMB, EMER, IMP),
  the region extension, ``subject``.
- lines: the ChargeItems whose ``context`` is the Encounter; ``line_id`` their first identifier
  (else id), ``code`` a ``CS_ITEM`` coding (the item kind) and/or another coding (the hospital's
  charge code), ``priceOverride`` × ``quantity`` the amount, in CNY.

Only what is structural is checked here, and named by resource and element; the values (known
categories, amounts to the fen, dates) are checked again by the JSON contract.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from shuangyong.plugins import format_amount, parse_amount
from shuangyong_fhir import systems
from shuangyong_fhir.bundle import BundleIndex, Source, fail, iso_date, key, load_bundle

if TYPE_CHECKING:
    from collections.abc import Iterator


def read_bundle(source: Source) -> Iterator[dict[str, Any]]:
    """One JSON-contract visit per Encounter of the bundle, in bundle order."""
    index = BundleIndex.of(load_bundle(source))
    coverages: dict[str, list[Any]] = defaultdict(list)
    for coverage in index.of_type("Coverage"):
        patient = index.resolve(key(coverage), "beneficiary", coverage.beneficiary, "Patient")
        coverages[key(patient)].append(coverage)
    charges: dict[str, list[Any]] = defaultdict(list)
    for charge in index.of_type("ChargeItem"):
        if charge.status not in systems.SKIPPED_CHARGES:
            charges[key(index.resolve(key(charge), "context", charge.context, "Encounter"))].append(charge)
    for encounter in index.of_type("Encounter"):
        if encounter.status not in systems.SKIPPED_ENCOUNTERS:
            yield _visit(encounter, index, coverages, charges[key(encounter)])


def _visit(encounter: Any, index: BundleIndex, coverages: dict[str, list[Any]],
           charges: list[Any]) -> dict[str, Any]:
    record = key(encounter)
    patient = index.resolve(record, "subject", encounter.subject, "Patient")
    for charge in charges:
        owner = index.resolve(key(charge), "subject", charge.subject, "Patient")
        if owner is not patient:
            raise fail(key(charge), "subject", f"收费项目属于 {key(owner)}，但其就诊 {record} 属于 {key(patient)}",
                       f"the charge is for {key(owner)} but its encounter {record} is for {key(patient)}",
                       key(owner))
    if encounter.period is None or encounter.period.start is None:
        raise fail(record, "period.start", "缺少就诊开始时间 period.start", "period.start (the visit date) is missing")
    code = encounter.class_fhir.code if encounter.class_fhir else None
    if code not in systems.VISIT_KINDS:
        known = ", ".join(systems.VISIT_KINDS)
        raise fail(record, "class", f"就诊类型 class 应为 {known} 之一，收到 {code!r}",
                   f"class must be one of {known}, got {code!r}", code)
    return {"visit_id": encounter.id, "date": iso_date(encounter.period.start, record, "period.start"),
            "kind": systems.VISIT_KINDS[code], "region": _region(encounter, record),
            "patient": _patient(patient, coverages.get(key(patient), [])),
            "lines": [_line(charge) for charge in charges]}


def _region(encounter: Any, record: str) -> str:
    for n, extension in enumerate(encounter.extension or ()):
        if extension.url == systems.EXT_REGION:
            if not extension.valueCode:
                raise fail(record, f"extension[{n}].valueCode", "地区扩展缺少 valueCode（GB/T 2260 代码）",
                           "the region extension has no valueCode (a GB/T 2260 code)")
            return str(extension.valueCode)
    raise fail(record, f"extension({systems.EXT_REGION})", "缺少就诊地区扩展（GB/T 2260 代码）",
               "the region extension (a GB/T 2260 code) is missing")


def _patient(patient: Any, coverages: list[Any]) -> dict[str, Any]:
    record = key(patient)
    medical_record = next((i.value for i in patient.identifier or () if i.type and any(
        c.system == systems.IDENTIFIER_TYPE and c.code == systems.MEDICAL_RECORD for c in i.type.coding or ())), None)
    out: dict[str, Any] = {"id": medical_record or patient.id}
    if patient.name:
        name = patient.name[0]
        out["name"] = name.text or (name.family or "") + "".join(name.given or ())
    if patient.birthDate is not None:
        out["birth_date"] = iso_date(patient.birthDate, record, "birthDate")
    categories = []
    for n, extension in enumerate(patient.extension or ()):
        if extension.url == systems.EXT_CATEGORY:
            coding = extension.valueCoding
            if coding is None or coding.system != systems.CS_CATEGORY or not coding.code:
                raise fail(record, f"extension[{n}].valueCoding", f"类别扩展应带 {systems.CS_CATEGORY} 的编码",
                           f"a category extension needs a valueCoding from {systems.CS_CATEGORY}")
            categories.append(coding.code)
        elif extension.url == systems.EXT_DISABILITY_LEVEL:
            out["disability_level"] = extension.valueInteger
        elif extension.url == systems.EXT_DISABILITY_CAUSE:
            out["disability_cause"] = extension.valueCode
    if categories:
        out["categories"] = categories
    credentials = [_card(record, f"identifier[{n}]", kind, i.value, i.period)
                   for n, i in enumerate(patient.identifier or ()) if (kind := _credential_kind(i.type))]
    credentials += [_card(key(c), "subscriberId", kind, c.subscriberId, c.period)
                    for c in coverages if c.status == "active" and (kind := _credential_kind(c.type))]
    if credentials:
        out["credentials"] = credentials
    return out


def _credential_kind(concept: Any) -> str | None:
    return next((c.code for c in concept.coding or () if c.system == systems.CS_CREDENTIAL), None) if concept else None


def _card(record: str, element: str, kind: str, number: str | None, period: Any) -> dict[str, Any]:
    if not number:
        raise fail(record, element if element == "subscriberId" else f"{element}.value",
                   f"证件（{kind}）缺少号码", f"the {kind} credential has no number")
    card: dict[str, Any] = {"kind": kind, "number": number}
    where = "period" if element == "subscriberId" else f"{element}.period"
    if period is not None and period.start is not None:
        card["valid_from"] = iso_date(period.start, record, f"{where}.start")
    if period is not None and period.end is not None:
        card["valid_to"] = iso_date(period.end, record, f"{where}.end")
        if card["valid_to"] < card.get("valid_from", card["valid_to"]):
            raise fail(record, f"{where}.end", f"有效期结束 {card['valid_to']} 早于开始 {card['valid_from']}",
                       f"the period ends ({card['valid_to']}) before it starts ({card['valid_from']})",
                       card["valid_to"])
    return card


def _line(charge: Any) -> dict[str, Any]:
    record = key(charge)
    codings = charge.code.coding or () if charge.code else ()
    item = next((c.code for c in codings if c.system == systems.CS_ITEM), None)
    code = next((c.code for c in codings if c.system != systems.CS_ITEM and c.code), None)
    if item is None and code is None:
        raise fail(record, "code", f"收费项目缺少项目类别（{systems.CS_ITEM}）或收费编码",
                   f"code has neither an item kind ({systems.CS_ITEM}) nor a charge code")
    price = charge.priceOverride
    if price is None or price.value is None:
        raise fail(record, "priceOverride.value", "缺少金额 priceOverride.value",
                   "priceOverride.value (the amount) is missing")
    if price.currency not in (None, systems.CURRENCY):
        raise fail(record, "priceOverride.currency", f"币种应为 CNY，收到 {price.currency}",
                   f"currency must be CNY, got {price.currency}", price.currency)
    quantity = charge.quantity.value if charge.quantity and charge.quantity.value is not None else Decimal(1)
    amount = parse_amount(price.value * quantity, record=record, field="priceOverride.value")
    line: dict[str, Any] = {"line_id": charge.identifier[0].value if charge.identifier else charge.id,
                            "amount": format_amount(amount)}
    if item is not None:
        line["item"] = item
    if code is not None:
        line["code"] = code
    description = charge.code.text or next((c.display for c in codings if c.display), None)
    if description:
        line["description"] = description
    return line
