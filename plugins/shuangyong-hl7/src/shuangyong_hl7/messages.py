"""HL7 v2 messages → JSON-contract data, through hl7apy; every refusal names segment and field.

Versions 2.3 to 2.6 (``VERSIONS``) are read, each against its own definitions in hl7apy. With
``strict`` validation hl7apy checks the structure of the message type and the data types and
``validate()`` the required fields; ``lenient`` parses tolerantly and leaves only shuangyong's own
checks of the fields it reads. Where hl7apy reports a problem without saying where (a bad date in
some field), the message is re-parsed field by field to find it.

What is read (docs/hl7.md has the table):

- patient (PID of a registration or a charge): PID-3 repetitions read through the identifier map
  (``IDENTIFIER_TYPES``: CX-5 → patient id, credential kind or ignored); PID-5 name; PID-7 birth
  date; PID-27 (veterans military status) a category, and OBX with OBX-3 ``category`` any further
  one (PID-27 does not repeat); OBX with OBX-3 ``disability_level`` / ``disability_cause``.
- visit (PV1 of a charge): PV1-19 visit number (else PID-18, the account), PV1-2 patient class
  (O, E, I), PV1-44 admit date (else the first FT1-4), PV1-39 servicing facility as the GB/T 2260
  region (else the listener's own).
- lines (FT1): FT1-1 set id, FT1-7 transaction code (coding system ``SYITEM``: the item kind;
  any other: the hospital's charge code), FT1-11 extended amount in CNY (else FT1-12 unit amount
  × FT1-10 quantity).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from shuangyong import InputError, Text
from shuangyong.limits import MAX_TEXT_LENGTH
from shuangyong.plugins import format_amount, parse_amount
from shuangyong_hl7.replies import VERSIONS, unescape

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping

    from hl7apy.core import Message

ITEM_SYSTEM = "SYITEM"
#: Messages that register or update a patient, and messages that carry charges.
REGISTRATIONS = frozenset({("ADT", "A01"), ("ADT", "A04"), ("ADT", "A08"), ("ADT", "A28"), ("ADT", "A31"),
                           ("BAR", "P01")})
CHARGES = frozenset({("DFT", "P03"), ("DFT", "P11")})
SUPPORTED = REGISTRATIONS | CHARGES
#: hl7apy's message structures for each event, the first one a version defines being used when
#: MSH-9 names none (2.3 cannot; hl7apy's 2.3 and 2.3.1 have no ADT_A05, so A28 and A31 use ADT_A01).
STRUCTURES = {("ADT", "A01"): ("ADT_A01",), ("ADT", "A04"): ("ADT_A01",), ("ADT", "A08"): ("ADT_A01",),
              ("ADT", "A28"): ("ADT_A05", "ADT_A01"), ("ADT", "A31"): ("ADT_A05", "ADT_A01"),
              ("BAR", "P01"): ("BAR_P01",), ("DFT", "P03"): ("DFT_P03",), ("DFT", "P11"): ("DFT_P11",)}
PATIENT_CLASS = {"O": "outpatient", "E": "emergency", "I": "inpatient"}
STRICT, LENIENT = "strict", "lenient"  #: validation levels
#: HL7 table 0357 error codes used in ERR-3.
MISSING, DATA_TYPE, TABLE_VALUE = "101", "102", "103"
UNSUPPORTED, UNSUPPORTED_EVENT, UNSUPPORTED_VERSION, UNKNOWN_KEY, INTERNAL = "200", "201", "203", "204", "207"
#: Meanings of a PID-3 identifier type (CX-5) besides a credential kind.
PATIENT_ID, IGNORE = "patient_id", "ignore"
UNLISTED = "?"  #: the meaning of a type the map does not list and no credential kind has
#: CX-5 → meaning, as Chinese HIS send them (HL7 table 0203): the patient's id (MR first, then PI),
#: or identifiers that say nothing about 双拥 (the resident ID card, insurance and social security
#: cards, person, account and visit numbers). A type not listed is a credential when the registry
#: knows it as a credential kind (``key_care_medical_card``), else a patient id of last resort.
IDENTIFIER_TYPES: Mapping[str, str] = {"MR": PATIENT_ID, "PI": PATIENT_ID, "PN": IGNORE, "NNCHN": IGNORE,
                                       "HC": IGNORE, "SS": IGNORE, "AN": IGNORE, "VN": IGNORE}


class Hl7Error(InputError):
    """A message shuangyong cannot use. ``field`` is the HL7 location, ``PID-3`` or ``FT1(2)-11``;
    ``segment``, ``sequence`` and ``position`` are its parts for ERR-2; ``code`` is ERR-3."""

    def __init__(self, message: Text, *, segment: str, position: int | None = None, sequence: int = 1,
                 code: str = DATA_TYPE, record: str | None = None, value: Any = None) -> None:
        where = segment + (f"({sequence})" if sequence > 1 else "") + (f"-{position}" if position else "")
        super().__init__(message, record=record, field=where, value=value)
        self.segment, self.sequence, self.position, self.code = segment, sequence, position, code


def _hl7apy_location(text: str, detail: str, version: str) -> tuple[str, int | None, int]:
    """Where hl7apy's complaint is: from its message (``PID.PID_3``), else by parsing each field."""
    named = (re.search(r"\b([A-Z][A-Z0-9]{2})[._]\1_(\d+)", detail)
             or re.search(r"Field ([A-Z][A-Z0-9]{2})_(\d+)", detail))
    if named:
        return named.group(1), int(named.group(2)), 1
    from hl7apy.consts import VALIDATION_LEVEL  # here: hl7apy when a message is read, not when the plugin loads
    from hl7apy.exceptions import HL7apyException
    from hl7apy.parser import parse_field

    if "_FINANCIAL" in detail:  # the group of FT1 segments: a charge message without a charge
        return "FT1", None, 1
    missing = re.search(r"Missing required child \w+\.([A-Z][A-Z0-9]{2})\b", detail)
    if missing:
        return missing.group(1), None, 1
    counts: dict[str, int] = {}
    for segment in text.split("\r"):
        name = segment[:3]
        counts[name] = counts.get(name, 0) + 1
        first = 2 if name == "MSH" else 1  # MSH-1 is the separator itself, MSH-2 the encoding characters
        for position, value in enumerate(segment.split("|")[first:], start=first + (name == "MSH")):
            for repetition in filter(None, value.split("~")):
                try:
                    parse_field(repetition, name=f"{name}_{position}", version=version,
                                validation_level=VALIDATION_LEVEL.STRICT)
                except (HL7apyException, ValueError):
                    return name, position, counts[name]
    return (text[:3] or "MSH"), None, 1


def header(text: str) -> list[str]:
    """The MSH fields of a message's text (index 9 is MSH-10), padded, read whether or not it parses."""
    return text.split("\r", 1)[0].split("|") + [""] * 20


def check_header(text: str) -> tuple[tuple[str, str], str]:
    """((message code, trigger event), version) of a message shuangyong answers, or :class:`Hl7Error`:
    200 for a message code it does not take, 201 for an event of one it does, 203 for another version."""
    if not text.startswith("MSH|"):
        raise Hl7Error(Text("消息必须以 MSH 段开头", "a message must start with an MSH segment"), segment="MSH",
                       code=MISSING)
    msh = header(text)
    kind = (msh[8].split("^") + [""])[:2]
    code, event = kind[0], kind[1]
    if (code, event) not in SUPPORTED:
        known = "、".join(sorted(f"{c}^{e}" for c, e in SUPPORTED))
        raise Hl7Error(Text(f"不支持的消息类型 {code}^{event}（支持 {known}）",
                            f"unsupported message type {code}^{event} ({known.replace('、', ', ')} are)"),
                       segment="MSH", position=9, record=msh[9], value=f"{code}^{event}",
                       code=UNSUPPORTED_EVENT if code in {c for c, _ in SUPPORTED} else UNSUPPORTED)
    version = msh[11].split("^")[0]
    if version not in VERSIONS:
        raise Hl7Error(Text(f"不支持的版本 {version!r}（支持 {'、'.join(VERSIONS)}）",
                            f"unsupported version {version!r} ({', '.join(VERSIONS)} are)"),
                       segment="MSH", position=12, code=UNSUPPORTED_VERSION, record=msh[9], value=msh[11])
    return (code, event), version


class Segments:
    """A message's segments by name, each the list of its fields as sent (index N is field N): the
    fields are read from the text, where each version puts them, not from hl7apy's rendering."""

    def __init__(self, text: str) -> None:
        self.by_name: dict[str, list[list[str]]] = {}
        for segment in text.split("\r"):
            fields = segment.split("|")
            if fields[0] == "MSH":
                fields.insert(1, "|")  # MSH-1 is the field separator itself
            self.by_name.setdefault(fields[0], []).append(fields)

    def all(self, name: str) -> list[list[str]]:
        """Every segment called NAME, in order."""
        return self.by_name.get(name, [])

    def first(self, name: str) -> list[str] | None:
        """The first segment called NAME, or None."""
        return next(iter(self.all(name)), None)


def parse(text: str, validation: str = STRICT) -> Segments:
    """Check a message of a supported type and version with hl7apy (``strict``: its structure, data
    types and required fields; ``lenient``: that it parses) and return its segments, or raise
    :class:`Hl7Error` naming segment and field."""
    from hl7apy.consts import VALIDATION_LEVEL  # here: hl7apy when a message is read, not when the plugin loads
    from hl7apy.exceptions import HL7apyException
    from hl7apy.parser import get_message_info, parse_segments

    kind, version = check_header(text)
    _check_field_lengths(text)
    level = VALIDATION_LEVEL.STRICT if validation == STRICT else VALIDATION_LEVEL.TOLERANT
    try:
        encoding, named, _ = get_message_info(text)
        message = _message(kind, named, version, level, encoding, record=control_id(text))
        message.children = parse_segments(text, version, encoding, level, message.reference, True)
        if validation == STRICT:
            message.validate()
    except Hl7Error:
        raise
    except (HL7apyException, ValueError) as error:
        segment, position, sequence = _hl7apy_location(text, str(error), version)
        missing = "Missing required" in str(error)
        raise Hl7Error(Text(f"HL7 校验失败：{error}", f"HL7 validation failed: {error}"), segment=segment,
                       position=position, sequence=sequence, code=MISSING if missing else DATA_TYPE,
                       record=control_id(text)) from None
    return Segments(text)


def _message(kind: tuple[str, str], named: str | None, version: str, level: int, encoding: dict[str, str], *,
             record: str) -> Message:
    """An empty hl7apy message of the structure MSH-9 names, else of the event's structure in VERSION;
    an event VERSION does not define (DFT^P11 before 2.4) is refused, 201."""
    from hl7apy.core import Message  # here: hl7apy when a message is read, not when the plugin loads
    from hl7apy.exceptions import InvalidName, OperationNotAllowed

    for structure in [named or "", *STRUCTURES[kind]]:
        try:
            return Message(structure, version=version, validation_level=level, encoding_chars=encoding)
        except (InvalidName, OperationNotAllowed):
            continue
    name = "^".join(kind)
    raise Hl7Error(Text(f"版本 {version} 没有 {name} 消息", f"version {version} has no {name} message"),
                   segment="MSH", position=9, code=UNSUPPORTED_EVENT, record=record, value=name)


def _check_field_lengths(text: str) -> None:
    """Refuse a field longer than ``MAX_TEXT_LENGTH`` before hl7apy sees it: its validation takes
    time quadratic in a field's length (a 38 KB timestamp took over a minute of CPU), and no field
    of an ADT^A04 or DFT^P03 comes near the bound."""
    counts: dict[str, int] = {}
    for segment in text.split("\r"):
        name = segment[:3]
        counts[name] = counts.get(name, 0) + 1
        first = 2 if name == "MSH" else 1  # MSH-1 is the separator itself, MSH-2 the encoding characters
        for position, field in enumerate(segment.split("|")[1:], start=first):
            if len(field) > MAX_TEXT_LENGTH:
                raise Hl7Error(Text(f"字段超过 {MAX_TEXT_LENGTH} 个字符",
                                    f"a field is longer than {MAX_TEXT_LENGTH} characters"),
                               segment=name, position=position, sequence=counts[name], code=DATA_TYPE,
                               record=control_id(text), value=len(field))


def control_id(text: str) -> str:
    """MSH-10 of a message's text, or "" (used before and whether or not it parses)."""
    return header(text)[9]


def message_type(message: Segments) -> tuple[str, str]:
    """MSH-9's message code and trigger event, e.g. ``("DFT", "P03")``."""
    code, event = ([unescape(part) for part in _value(message.first("MSH"), 9).split("^")] + [""])[:2]
    return code, event


def _date(value: str, segment: str, position: int, record: str, sequence: int = 1) -> str:
    """The ISO date of an HL7 date or timestamp (``YYYYMMDD…``), which must be a day of the calendar
    (lenient validation leaves ``20261399`` to us)."""
    day = f"{value[:4]}-{value[4:6]}-{value[6:8]}"
    try:
        if not re.fullmatch(r"[0-9]{8}.*", value):
            raise ValueError(value)
        dt.date.fromisoformat(day)
    except ValueError:
        raise Hl7Error(Text(f"需要完整日期 YYYYMMDD，收到 {value!r}", f"a full date YYYYMMDD is needed, got {value!r}"),
                       segment=segment, position=position, sequence=sequence,
                       code=MISSING if not value else DATA_TYPE, record=record, value=value) from None
    return day


def _required(value: str, segment: str, position: int, record: str, what: Text, sequence: int = 1) -> str:
    if not value:
        raise Hl7Error(Text(f"缺少{what.zh}", f"{what.en} is missing"), segment=segment, position=position,
                       sequence=sequence, code=MISSING, record=record)
    return value


def patient(message: Segments, identifiers: Mapping[str, str] = IDENTIFIER_TYPES,
            credential_kinds: Collection[str] = ()) -> dict[str, Any]:
    """The PID (and disability OBX) of a message as the JSON contract's ``patient``. Each PID-3
    repetition means what ``identifiers`` says its type (CX-5) means; a type it does not list is a
    credential if ``credential_kinds`` has it. The patient id is the repetition of the first
    patient-id type in ``identifiers`` order, else the first one with no type, else the first of a
    type the map does not list (a HIS's own type: VINAH's ``A``); ``ignore`` types never are."""
    record = _value(message.first("MSH"), 10)
    pid = message.first("PID")
    out: dict[str, Any] = {}
    ids: dict[str, str] = {}
    credentials = []
    for repetition in filter(None, _field(pid, 3).split("~")):
        parts = [unescape(part) for part in repetition.split("^")] + [""] * 8
        number, kind = parts[0], parts[4]
        meaning = identifiers.get(kind, kind if kind in credential_kinds else UNLISTED) if kind else PATIENT_ID
        if meaning in (PATIENT_ID, UNLISTED):
            ids.setdefault(kind if meaning == PATIENT_ID else UNLISTED, number)
        elif meaning != IGNORE:
            card: dict[str, Any] = {
                "kind": meaning, "number": _required(number, "PID", 3, record, Text("证件号码", "a card number"))}
            if parts[6]:
                card["valid_from"] = _date(parts[6], "PID", 3, record)
            if parts[7]:
                card["valid_to"] = _date(parts[7], "PID", 3, record)
            credentials.append(card)
    patient_types = [kind for kind, meaning in identifiers.items() if meaning == PATIENT_ID]
    patient_id = next((ids[kind] for kind in [*patient_types, "", UNLISTED] if ids.get(kind)), "")
    out["id"] = _required(patient_id, "PID", 3, record, Text(
        f"患者标识（类型 {'、'.join(patient_types)}、无类型或对照表之外的类型）",
        f"the patient identifier (of type {', '.join(patient_types)}, untyped or of a type the map does not list)"))
    name = _value(pid, 5).split("^") if _value(pid, 5) not in ("", '""') else []
    if name:  # family name (its first subcomponent, the surname) and given name
        out["name"] = unescape(name[0].split("&")[0]) + (unescape(name[1]) if len(name) > 1 else "")
    if _value(pid, 7):
        out["birth_date"] = _date(_value(pid, 7), "PID", 7, record)
    categories = [unescape(c.split("^")[0]) for c in _field(pid, 27).split("~") if c]
    for sequence, obx in enumerate(message.all("OBX"), 1):
        _observation(out, categories, obx, record, sequence)
    if categories:
        out["categories"] = categories
    if credentials:
        out["credentials"] = credentials
    return out


def _observation(out: dict[str, Any], categories: list[str], obx: list[str], record: str, sequence: int) -> None:
    """OBX-3 ``category`` (a further category: PID-27 does not repeat), ``disability_level`` or
    ``disability_cause``, OBX-5 the value; other observations are not shuangyong's."""
    code, value = unescape(_value(obx, 3).split("^")[0]), unescape(_value(obx, 5))
    if code == "category":
        categories.append(value)
    elif code == "disability_level":
        if not value.isdigit():
            raise Hl7Error(Text(f"伤残等级应为整数，收到 {value!r}",
                                f"the disability level must be a whole number, got {value!r}"),
                           segment="OBX", position=5, sequence=sequence, record=record, value=value)
        out["disability_level"] = int(value)
    elif code == "disability_cause":
        out["disability_cause"] = value


def visit(message: Segments, registered: Mapping[str, Mapping[str, Any]], region: str | None,
          patient_data: dict[str, Any] | None = None) -> dict[str, Any]:
    """A charge message as a JSON-contract visit. The patient's categories and cards come from
    the message's PID (``patient_data``, read with the identifier map) when it has them, else
    from ``registered`` (the patients of earlier registrations, by id)."""
    record = _value(message.first("MSH"), 10)
    pv1 = message.first("PV1")
    patient_data = patient(message) if patient_data is None else patient_data
    if patient_data["id"] in registered and not ({"categories", "credentials"} & patient_data.keys()):
        patient_data = dict(registered[patient_data["id"]])
    kind = _value(pv1, 2)
    if kind not in PATIENT_CLASS:
        raise Hl7Error(Text(f"患者类别应为 O、E 或 I，收到 {kind!r}",
                            f"the patient class must be O, E or I, got {kind!r}"),
                       segment="PV1", position=2, code=MISSING if not kind else TABLE_VALUE, record=record, value=kind)
    charges = message.all("FT1")
    visit_id = _value(pv1, 19).split("^")[0] or _value(message.first("PID"), 18).split("^")[0]
    date = _value(pv1, 44) or (_value(charges[0], 4) if charges else "")
    return {"visit_id": unescape(_required(visit_id, "PV1", 19, record, Text("就诊号", "the visit number"))),
            "date": _date(date, "PV1", 44, record), "kind": PATIENT_CLASS[kind],
            "region": _required(unescape(_value(pv1, 39)) or region or "", "PV1", 39, record,
                                Text("就诊地区（GB/T 2260）", "the region (GB/T 2260)")),
            "patient": patient_data, "lines": _insured([_line(ft1, n, record) for n, ft1 in enumerate(charges, 1)])}


def _insured(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Contract 1.1 wants insurance on every line or on none: when some FT1 carries an insurance
    amount, a line without one is one 医保 did not settle, the patient's in full."""
    if any("insurance" in line for line in lines):
        for line in lines:
            line.setdefault("insurance", {"self_pay": {"full": line["amount"]}})
    return lines


def _field(segment: list[str] | None, position: int) -> str:
    """A field's text with all its repetitions, "" when the segment or the field is absent."""
    return segment[position] if segment is not None and len(segment) > position else ""


def _value(segment: list[str] | None, position: int) -> str:
    """A field's first repetition."""
    return _field(segment, position).split("~")[0]


def _amount(text: str, sequence: int, position: int, record: str) -> Decimal:
    """A money field: ``12.00`` or ``12.00&CNY`` (MO in CP), trailing zeros past the fen allowed."""
    amount_text, currency = (text.split("^")[0].split("&") + [""])[:2]
    if currency not in ("", "CNY"):
        raise Hl7Error(Text(f"币种应为 CNY，收到 {currency}", f"the currency must be CNY, got {currency}"),
                       segment="FT1", position=position, sequence=sequence, record=record, value=currency)
    if re.fullmatch(r"-?[0-9]+\.[0-9]{2}0+", amount_text):
        amount_text = amount_text.rstrip("0")
        amount_text += "0" * (3 - len(amount_text.rsplit(".", 1)[1]) - 1)
    try:
        return parse_amount(amount_text, record=record, field=f"FT1({sequence})-{position}")
    except InputError as error:
        raise Hl7Error(error.message, segment="FT1", position=position, sequence=sequence, record=record,
                       value=amount_text) from None


def _line(ft1: list[str], sequence: int, record: str) -> dict[str, Any]:
    code, text, system = ([unescape(part) for part in _value(ft1, 7).split("^")] + ["", "", ""])[:3]
    _required(code, "FT1", 7, record, Text("收费项目编码", "the transaction code"), sequence)
    if _value(ft1, 11).split("&")[0] or not _value(ft1, 12).split("&")[0]:
        _required(_value(ft1, 11).split("&")[0], "FT1", 11, record, Text("金额", "the extended amount"), sequence)
        amount = _amount(_value(ft1, 11), sequence, 11, record)
    else:  # no extended amount: the unit amount times the quantity
        try:
            quantity = Decimal(_value(ft1, 10) or "1")
        except InvalidOperation:
            raise Hl7Error(Text(f"数量应为数字，收到 {_value(ft1, 10)!r}",
                                f"the quantity must be a number, got {_value(ft1, 10)!r}"),
                           segment="FT1", position=10, sequence=sequence, record=record,
                           value=_value(ft1, 10)) from None
        amount = _amount(str(_amount(_value(ft1, 12), sequence, 12, record) * quantity), sequence, 12, record)
    line: dict[str, Any] = {"line_id": _required(unescape(_value(ft1, 1)), "FT1", 1, record,
                                                 Text("明细序号", "the set id"), sequence),
                            "amount": format_amount(amount)}
    line["item" if system == ITEM_SYSTEM else "code"] = code
    if text:
        line["description"] = text
    if _value(ft1, 15).split("&")[0]:
        line["insurance"] = _insurance(ft1, amount, sequence, record)
    return line


def _insurance(ft1: list[str], amount: Decimal, sequence: int, record: str) -> dict[str, Any]:
    """What 医保 settled on a line: FT1-15 (insurance amount) paid by the fund FT1-14 names (its
    CE-1, a fund id of the contract: ``basic_pool``…); the rest of the line is the patient's part
    within the funds' scope (HL7 has one insurance amount per line, not 医保's four self-pay parts)."""
    paid = _amount(_value(ft1, 15), sequence, 15, record)
    fund = unescape(_value(ft1, 14).split("^")[0])
    _required(fund, "FT1", 14, record, Text("支付 FT1-15 的医保基金（FT1-14）", "the fund that paid FT1-15 (FT1-14)"),
              sequence)
    if paid > amount:
        raise Hl7Error(Text(f"医保支付 {paid} 超过本行金额 {amount}", f"the insurance amount {paid} exceeds the line's "
                            f"amount {amount}"), segment="FT1", position=15, sequence=sequence, record=record,
                       value=str(paid))
    return {"funds": {fund: format_amount(paid)}, "self_pay": {"in_scope": format_amount(amount - paid)}}


def location(field: str | None) -> tuple[str, int | None, int]:
    """(segment, field position, segment sequence) a JSON-contract field came from, so that an
    error the engine finds (an unknown category) is reported at its HL7 location."""
    if not field:
        return "MSH", None, 1
    line = re.match(r"lines\[(\d+)\]\.?(\w*)", field)
    if line:
        return "FT1", {"line_id": 1, "amount": 11}.get(line.group(2), 7), int(line.group(1)) + 1
    for prefix, (segment, position) in {"patient.credentials": ("PID", 3), "patient.categories": ("PID", 27),
                                        "patient.birth_date": ("PID", 7), "patient.disability": ("OBX", 5),
                                        "patient": ("PID", 3), "date": ("PV1", 44), "kind": ("PV1", 2),
                                        "region": ("PV1", 39), "visit_id": ("PV1", 19)}.items():
        if field.startswith(prefix):
            return segment, position, 1
    return "MSH", None, 1
