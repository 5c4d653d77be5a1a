"""FHIR R4B → JSON-contract visits: Patient and Coverage make the beneficiary, an Encounter and
its ChargeItems make the visit.

Where each field comes from (docs/fhir.md has the table):

- ``patient.id``: the Patient's identifier of type MR (medical record number), else its id;
  categories, disability level and cause: the Patient's extensions (``systems.EXT_*``);
  credentials: Patient identifiers whose type is a ``CS_CREDENTIAL`` code, and active Coverages
  of the patient whose type is one (``subscriberId`` the card number, ``period`` its validity).
- the visit: ``Encounter.id``, ``period.start`` (the date as written), ``class`` (``VISIT_KINDS``),
  the region extension (on the Encounter, its serviceProvider or its location, else the caller's
  default), ``subject``.
- lines: the billable or billed ChargeItems whose ``context`` is the Encounter; ``line_id`` their
  first identifier (else id), ``code`` a ``CS_ITEM`` coding (the item kind) and/or another
  coding (the hospital's charge code), ``priceOverride`` the amount: in R4B it is the total
  price of the charge, never multiplied by ``quantity``.

Each Encounter is read on its own: what is wrong with it, its ChargeItems or its Patient is an
error for that visit only, yielded in its place (:func:`read_each`). Only what is structural is
checked here, and named by resource and element; the values (known categories, amounts to the
fen, dates) are checked again by the JSON contract.
"""

from __future__ import annotations

import unicodedata
from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any

import attrs

from shuangyong import InputError
from shuangyong.plugins import format_amount, parse_amount
from shuangyong_fhir import systems
from shuangyong_fhir.bundle import BundleIndex, Entry, FhirError, Source, fail, iso_date, load_entries
from shuangyong_fhir.insurance import responses_by_encounter, visit_insurance

if TYPE_CHECKING:
    from collections.abc import Iterator


@attrs.frozen
class VisitContext:
    """What an Invoice answering the visit needs that a decision does not carry: references the
    sender can resolve, and the charges that were not decided."""

    patient: str  #: the Patient, as a reference
    issuer: dict[str, Any] | None  #: the Encounter's serviceProvider, the Reference as sent
    charges: dict[str, str]  #: line_id → the ChargeItem, as a reference
    not_decided: tuple[str, ...] = ()  #: ``ChargeItem/x (status planned)``, one per charge left out


def read_bundle(source: Source, *, region: str | None = None) -> Iterator[dict[str, Any]]:
    """One JSON-contract visit per Encounter of the bundle, in bundle order; the first error raises."""
    for visit in read_each(source, region=region):
        if isinstance(visit, InputError):
            raise visit
        yield visit


def read_each(source: Source, *, region: str | None = None,
              contexts: dict[str, VisitContext] | None = None) -> Iterator[dict[str, Any] | InputError]:
    """Each Encounter's visit, or the error that refuses it (a :class:`FhirError`, a ``MoneyError``
    for an amount not in whole fen), in bundle order; then any
    Coverage or ChargeItem that belongs to no Encounter it can name, as its error. A bundle with
    nothing to decide (no Encounter: a Claim, a search result) is one error that says why.
    ``region`` is the GB/T 2260 code of a visit whose resources give none; ``contexts``, when
    given, is filled with each visit's :class:`VisitContext` (for the Invoice)."""
    kind, entries = load_entries(source)  # kind None: a single resource
    index = BundleIndex.of(entries)
    orphans: list[FhirError] = []
    coverages: dict[str, list[Entry]] = defaultdict(list)
    for entry in index.of_type("Coverage"):
        owner = _owner(index, entry, "beneficiary", "Patient", orphans)
        if owner is not None:
            coverages[owner.name].append(entry)
    charges: dict[str, list[Entry]] = defaultdict(list)
    for entry in index.of_type("ChargeItem"):
        # one not to be decided that names no visit is moot; one FHIR refuses may have been meant
        decided = entry.status in systems.DECIDED_CHARGES or entry.error is not None
        owner = _owner(index, entry, "context", "Encounter", orphans if decided else [])
        if owner is not None:
            charges[owner.name].append(entry)
    responses = responses_by_encounter(index)
    skipped = []
    for entry in index.of_type("Encounter"):
        if entry.status in systems.SKIPPED_ENCOUNTERS:
            skipped.append(f"{entry.name} ({entry.status})")
            continue
        try:
            if entry.error is not None:
                raise entry.error
            visit, context = _visit(entry, index, coverages, charges[entry.name], region)
            insurance = visit_insurance(responses.get(entry.name, []),
                                        sum((parse_amount(line["amount"]) for line in visit["lines"]), systems.ZERO))
            if insurance is not None:
                visit["insurance"] = insurance
        except InputError as error:
            yield error
            continue
        if contexts is not None:
            contexts[visit["visit_id"]] = context
        yield visit
    yield from orphans
    if len(skipped) == sum(1 for _ in index.of_type("Encounter")):  # none, or none that took place
        yield _nothing_to_decide(kind, entries, skipped)


def _nothing_to_decide(kind: str | None, entries: list[Entry], skipped: list[str]) -> FhirError:
    """Why a bundle gave no visit: what it holds instead, or which Encounters were left out."""
    held = Counter(str(e.data.get("resourceType")) for e in entries)
    holds = ", ".join(f"{n} {t}" for t, n in held.items()) or "—"
    if skipped:
        return fail("Bundle", "entry", f"没有可决定的就诊：{'，'.join(skipped)} 已取消或录入有误",
                    f"no visit to decide: {', '.join(skipped)} did not take place")
    if kind is None and entries:  # one resource, not a Bundle
        alone = str(entries[0].data.get("resourceType"))
        return fail(entries[0].name, "resourceType", f"收到单个 {alone}，不是含 Encounter 的 Bundle，无就诊可决定",
                    f"a single {alone} is no Bundle with an Encounter, so there is no visit to decide", alone)
    return fail("Bundle", "entry",
                f"Bundle（{kind}）中没有 Encounter，无就诊可决定；其中有：{holds}",
                f"the bundle ({kind}) has no Encounter, so there is no visit to decide; it holds: {holds}", holds)


def _owner(index: BundleIndex, entry: Entry, element: str, resource_type: str,
           orphans: list[FhirError]) -> Entry | None:
    """The entry ``entry``'s ``element`` refers to (read from the JSON as sent, so that a broken
    resource still finds its visit); none is an error of its own, kept in ``orphans``."""
    reference = entry.data.get(element)
    target = reference.get("reference") if isinstance(reference, dict) else None
    found = index.by_reference.get(target) if isinstance(target, str) else None
    if found is not None and found.data.get("resourceType") == resource_type:
        return found
    orphans.append(fail(entry.name, element, f"{element} 应指向 Bundle 中的 {resource_type}，收到 {target!r}",
                        f"{element} must refer to a {resource_type} in the bundle, got {target!r}", target))
    return None


def _understood(entry: Entry) -> None:
    """FHIR forbids processing a resource with a modifierExtension one does not know: this plugin
    knows none, so any is a refusal naming where it is."""
    def walk(value: Any, path: str) -> str | None:
        if isinstance(value, dict):
            if value.get("modifierExtension"):
                return f"{path}.modifierExtension[0]".lstrip(".")
            for name, inner in value.items():
                if name != "contained" and (found := walk(inner, f"{path}.{name}")):
                    return found
        elif isinstance(value, list):
            for n, inner in enumerate(value):
                if found := walk(inner, f"{path}[{n}]"):
                    return found
        return None

    where = walk(entry.data, "")
    if where is not None:
        url = _at(entry.data, where)
        raise fail(entry.name, where, f"不理解的 modifierExtension（{url}），按 FHIR 规定不能处理此资源",
                   f"a modifierExtension this adapter does not understand ({url}): FHIR forbids processing "
                   f"the resource", url)


def _at(data: Any, path: str) -> Any:
    """The ``url`` of the modifierExtension at ``path`` (``participant[0].modifierExtension[0]``)."""
    for part in path.replace("[", ".").replace("]", "").split("."):
        data = data[int(part)] if part.isdigit() else data[part]
    return data.get("url") if isinstance(data, dict) else None


def _visit(entry: Entry, index: BundleIndex, coverages: dict[str, list[Entry]], charges: list[Entry],
           default_region: str | None) -> tuple[dict[str, Any], VisitContext]:
    encounter, record = entry.resource, entry.name
    _understood(entry)
    patient = index.resolve(record, "subject", encounter.subject, "Patient")
    patient_entry = index.owners[id(patient)]
    _understood(patient_entry)
    decided, not_decided = [], []
    for charge in charges:
        if charge.error is not None:  # whatever its status says: it cannot be read
            raise charge.error
        if charge.status not in systems.DECIDED_CHARGES:
            not_decided.append(f"{charge.name} (status {charge.status})")
            continue
        _understood(charge)
        owner = index.resolve(charge.name, "subject", charge.resource.subject, "Patient")
        if owner is not patient:
            raise fail(charge.name, "subject",
                       f"收费项目属于 {index.name(owner)}，但其就诊 {record} 属于 {index.name(patient)}",
                       f"the charge is for {index.name(owner)} but its encounter {record} is for {index.name(patient)}",
                       index.name(owner))
        decided.append(charge)
    cards = []
    for coverage in coverages.get(patient_entry.name, ()):
        if coverage.error is not None:
            raise coverage.error
        _understood(coverage)
        cards.append(coverage)
    if encounter.period is None or encounter.period.start is None:
        raise fail(record, "period.start", "缺少就诊开始时间 period.start", "period.start (the visit date) is missing")
    code = encounter.class_fhir.code if encounter.class_fhir else None
    if code not in systems.VISIT_KINDS:
        known = ", ".join(systems.VISIT_KINDS)
        raise fail(record, "class", f"就诊类型 class 应为 {known} 之一，收到 {code!r}",
                   f"class must be one of {known}, got {code!r}", code)
    lines = [_line(charge) for charge in decided]
    visit_id = encounter.id or next((i.value for i in encounter.identifier or () if i.value), None) or record
    visit = {"visit_id": visit_id, "date": iso_date(encounter.period.start, record, "period.start"),
             "kind": systems.VISIT_KINDS[code], "region": _region(encounter, record, index, default_region),
             "patient": _patient(patient, patient_entry.name, cards),
             "lines": lines}
    issuer = entry.data.get("serviceProvider") if isinstance(entry.data.get("serviceProvider"), dict) else None
    references = {line["line_id"]: index.reference_to(c.resource) for line, c in zip(lines, decided, strict=True)}
    context = VisitContext(index.reference_to(patient), issuer, references, tuple(not_decided))
    return visit, context


def _region_extension(resource: Any, record: str) -> str | None:
    for n, extension in enumerate(resource.extension or ()):
        if extension.url == systems.EXT_REGION:
            if not extension.valueCode:
                raise fail(record, f"extension[{n}].valueCode", "地区扩展缺少 valueCode（GB/T 2260 代码）",
                           "the region extension has no valueCode (a GB/T 2260 code)")
            return str(extension.valueCode)
    return None


def _region(encounter: Any, record: str, index: BundleIndex, default: str | None) -> str:
    """The region extension on the Encounter, else on its serviceProvider Organization, else on
    its first Location that has one (when they are in the bundle), else ``default``."""
    found = _region_extension(encounter, record)
    places = [(encounter.serviceProvider, "Organization"),
              *((p.location, "Location") for p in encounter.location or ())]
    for reference, kind in places:
        if found is not None:
            break
        target = index.by_reference.get(reference.reference) if reference is not None and reference.reference else None
        if target is not None and target.data.get("resourceType") == kind and target.resource is not None:
            _understood(target)
            found = _region_extension(target.resource, target.name)
    if found is None:
        found = default
    if found is None:
        raise fail(record, f"extension({systems.EXT_REGION})",
                   "缺少就诊地区（GB/T 2260 代码）：Encounter、其 serviceProvider 与 location 均无地区扩展，"
                   "也未给默认地区（--region）",
                   "the visit's region (a GB/T 2260 code) is missing: no region extension on the Encounter, its "
                   "serviceProvider or its location, and no default region (--region)")
    return found


def _name(name: Any) -> str:
    """A HumanName as one string: its text, else its parts, joined without spaces when they are
    written in Chinese characters (黄 + 建国), else with spaces (prefix given family suffix)."""
    if name.text:
        return str(name.text)
    given = [g for g in name.given or () if g]  # FHIR JSON may hold null in a list (its extension elsewhere)
    if name.family and all(unicodedata.east_asian_width(ch) in "WF" for ch in name.family + "".join(given)):
        return name.family + "".join(given)
    return " ".join(p for p in (*(name.prefix or ()), *given, name.family, *(name.suffix or ())) if p)


def _patient(patient: Any, record: str, coverages: list[Entry]) -> dict[str, Any]:
    medical_record = next((i.value for i in patient.identifier or () if i.type and any(
        c.system == systems.IDENTIFIER_TYPE and c.code == systems.MEDICAL_RECORD for c in i.type.coding or ())), None)
    out: dict[str, Any] = {"id": medical_record or patient.id}
    names = [n for n in patient.name or () if n.use not in ("old", "maiden")]
    name = next((n for n in names if n.use == "official"), names[0] if names else None)
    if name is not None and (joined := _name(name)):
        out["name"] = joined
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
    credentials += [_card(e.name, "subscriberId", kind, c.subscriberId, c.period) for e in coverages
                    if (c := e.resource).status == "active" and (kind := _credential_kind(c.type))]
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


def _line(entry: Entry) -> dict[str, Any]:
    charge, record = entry.resource, entry.name
    codings = charge.code.coding or () if charge.code else ()
    item = next((c.code for c in codings if c.system == systems.CS_ITEM), None)
    code = next((c.code for c in codings if c.system != systems.CS_ITEM and c.code), None)
    if item is None and code is None:
        raise fail(record, "code", f"收费项目缺少项目类别（{systems.CS_ITEM}）或收费编码",
                   f"code has neither an item kind ({systems.CS_ITEM}) nor a charge code")
    price = charge.priceOverride
    if price is None or price.value is None:
        raise fail(record, "priceOverride.value",
                   "缺少金额 priceOverride.value（本适配器不按 ChargeItemDefinition 计价）",
                   "priceOverride.value (the charge's total price) is missing; this adapter does not price "
                   "charges from a ChargeItemDefinition")
    if price.currency not in (None, systems.CURRENCY):
        raise fail(record, "priceOverride.currency", f"币种应为 CNY，收到 {price.currency}",
                   f"currency must be CNY, got {price.currency}", price.currency)
    # R4B: priceOverride is the total price of the charge, quantity already included
    amount = parse_amount(price.value, record=record, field="priceOverride.value")
    line_id = charge.identifier[0].value if charge.identifier and charge.identifier[0].value else charge.id
    line: dict[str, Any] = {"line_id": line_id or entry.full_url or record, "amount": format_amount(amount)}
    if item is not None:
        line["item"] = item
    if code is not None:
        line["code"] = code
    description = charge.code.text or next((c.display for c in codings if c.display), None)
    if description:
        line["description"] = description
    return line
