"""HL7 v2.5 messages → JSON-contract data, through hl7apy; every refusal names segment and field.

hl7apy parses with strict validation (structure of the message type, data types) and
``validate()`` checks required fields. Where hl7apy reports a problem without saying where (a
bad date in some field), the message is re-parsed field by field to find it. Then the fields
shuangyong needs are checked one by one.

What is read (docs/hl7.md has the table):

- patient (PID of ADT^A04, or of DFT^P03): PID-3 repetitions — the one of type ``MR`` is the
  patient id, any other with a type (CX-5) is a credential of that kind, number CX-1, valid
  CX-7 to CX-8; PID-5 name; PID-7 birth date; PID-27 (veterans military status) a category, and
  OBX with OBX-3 ``category`` any further one (PID-27 does not repeat); OBX with OBX-3
  ``disability_level`` / ``disability_cause``.
- visit (PV1 of DFT^P03): PV1-19 visit number, PV1-2 patient class (O, E, I), PV1-44 admit
  date, PV1-39 servicing facility as the GB/T 2260 region (else the listener's own).
- lines (FT1): FT1-1 set id, FT1-7 transaction code (coding system ``SYITEM``: the item kind;
  any other: the hospital's charge code), FT1-11 extended amount in CNY.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.exceptions import HL7apyException
from hl7apy.parser import parse_field, parse_message

from shuangyong import InputError, Text
from shuangyong.limits import MAX_TEXT_LENGTH
from shuangyong.plugins import format_amount, parse_amount
from shuangyong_hl7.replies import unescape

if TYPE_CHECKING:
    from collections.abc import Mapping

    from hl7apy.core import Message

VERSION = "2.5"
ITEM_SYSTEM = "SYITEM"
SUPPORTED = {("ADT", "A04"), ("DFT", "P03")}
PATIENT_CLASS = {"O": "outpatient", "E": "emergency", "I": "inpatient"}
#: HL7 table 0357 error codes used in ERR-3.
MISSING, DATA_TYPE, TABLE_VALUE, UNSUPPORTED, UNKNOWN_KEY, INTERNAL = "101", "102", "103", "200", "204", "207"


class Hl7Error(InputError):
    """A message shuangyong cannot use. ``field`` is the HL7 location, ``PID-3`` or ``FT1(2)-11``;
    ``segment``, ``sequence`` and ``position`` are its parts for ERR-2; ``code`` is ERR-3."""

    def __init__(self, message: Text, *, segment: str, position: int | None = None, sequence: int = 1,
                 code: str = DATA_TYPE, record: str | None = None, value: Any = None) -> None:
        where = segment + (f"({sequence})" if sequence > 1 else "") + (f"-{position}" if position else "")
        super().__init__(message, record=record, field=where, value=value)
        self.segment, self.sequence, self.position, self.code = segment, sequence, position, code


def _hl7apy_location(text: str, detail: str) -> tuple[str, int | None, int]:
    """Where hl7apy's complaint is: from its message (``PID.PID_3``), else by parsing each field."""
    named = (re.search(r"\b([A-Z][A-Z0-9]{2})[._]\1_(\d+)", detail)
             or re.search(r"Field ([A-Z][A-Z0-9]{2})_(\d+)", detail))
    if named:
        return named.group(1), int(named.group(2)), 1
    if "DFT_P03_FINANCIAL" in detail:  # the group of FT1 segments: a charge message without a charge
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
                    parse_field(repetition, name=f"{name}_{position}", version=VERSION,
                                validation_level=VALIDATION_LEVEL.STRICT)
                except (HL7apyException, ValueError):
                    return name, position, counts[name]
    return (text[:3] or "MSH"), None, 1


def parse(text: str) -> Message:
    """Parse and validate a v2.5 message, or raise :class:`Hl7Error` naming segment and field."""
    if not text.startswith("MSH|"):
        raise Hl7Error(Text("消息必须以 MSH 段开头", "a message must start with an MSH segment"), segment="MSH",
                       code=MISSING)
    msh = text.split("\r", 1)[0].split("|") + [""] * 12
    kind = tuple((msh[8].split("^") + [""])[:2])
    if kind not in SUPPORTED:
        raise Hl7Error(Text(f"不支持的消息类型 {'^'.join(kind)}（支持 ADT^A04、DFT^P03）",
                            f"unsupported message type {'^'.join(kind)} (ADT^A04 and DFT^P03 are)"),
                       segment="MSH", position=9, code=UNSUPPORTED, record=msh[9], value="^".join(kind))
    if msh[11].split("^")[0] != VERSION:
        raise Hl7Error(Text(f"版本应为 {VERSION}，收到 {msh[11]!r}", f"the version must be {VERSION}, got {msh[11]!r}"),
                       segment="MSH", position=12, code=UNSUPPORTED, record=msh[9], value=msh[11])
    _check_field_lengths(text)
    try:
        message = parse_message(text, validation_level=VALIDATION_LEVEL.STRICT, find_groups=True)
        message.validate()
    except (HL7apyException, ValueError) as error:
        segment, position, sequence = _hl7apy_location(text, str(error))
        missing = "Missing required" in str(error)
        raise Hl7Error(Text(f"HL7 校验失败：{error}", f"HL7 validation failed: {error}"), segment=segment,
                       position=position, sequence=sequence, code=MISSING if missing else DATA_TYPE,
                       record=control_id(text)) from None
    return message


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
    fields = text.split("\r", 1)[0].split("|")
    return fields[9] if len(fields) > 9 else ""


def message_type(message: Message) -> tuple[str, str]:
    """MSH-9's message code and trigger event, e.g. ``("DFT", "P03")``."""
    return message.msh.msh_9.msg_1.to_er7(), message.msh.msh_9.msg_2.to_er7()


def _date(value: str, segment: str, position: int, record: str, sequence: int = 1) -> str:
    if not re.fullmatch(r"[0-9]{8}.*", value):
        raise Hl7Error(Text(f"需要完整日期 YYYYMMDD，收到 {value!r}", f"a full date YYYYMMDD is needed, got {value!r}"),
                       segment=segment, position=position, sequence=sequence,
                       code=MISSING if not value else DATA_TYPE, record=record, value=value)
    return f"{value[:4]}-{value[4:6]}-{value[6:8]}"


def _required(value: str, segment: str, position: int, record: str, what: Text, sequence: int = 1) -> str:
    if not value:
        raise Hl7Error(Text(f"缺少{what.zh}", f"{what.en} is missing"), segment=segment, position=position,
                       sequence=sequence, code=MISSING, record=record)
    return value


def patient(message: Message) -> dict[str, Any]:
    """The PID (and disability OBX) of a message as the JSON contract's ``patient``."""
    record = message.msh.msh_10.to_er7()
    pid = message.pid
    out: dict[str, Any] = {}
    credentials = []
    for repetition in pid.pid_3:
        number, kind = unescape(repetition.cx_1.to_er7()), unescape(repetition.cx_5.to_er7())
        if kind == "MR" or (not kind and "id" not in out):
            out.setdefault("id", number)
        elif kind:
            card: dict[str, Any] = {
                "kind": kind, "number": _required(number, "PID", 3, record, Text("证件号码", "a card number"))}
            if repetition.cx_7.to_er7():
                card["valid_from"] = _date(repetition.cx_7.to_er7(), "PID", 3, record)
            if repetition.cx_8.to_er7():
                card["valid_to"] = _date(repetition.cx_8.to_er7(), "PID", 3, record)
            credentials.append(card)
    _required(out.get("id", ""), "PID", 3, record, Text("患者标识（类型 MR）", "the patient identifier (type MR)"))
    name = pid.pid_5.to_er7().split("~")[0].split("^") if pid.pid_5.to_er7() not in ("", '""') else []
    if name:  # family name (its first subcomponent, the surname) and given name
        out["name"] = unescape(name[0].split("&")[0]) + (unescape(name[1]) if len(name) > 1 else "")
    if pid.pid_7.to_er7():
        out["birth_date"] = _date(pid.pid_7.to_er7(), "PID", 7, record)
    categories = [unescape(c.split("^")[0]) for c in pid.pid_27.to_er7().split("~") if c]
    for sequence, obx in enumerate(_segments(message, "OBX"), 1):
        _observation(out, categories, obx, record, sequence)
    if categories:
        out["categories"] = categories
    if credentials:
        out["credentials"] = credentials
    return out


def _segments(element: Any, name: str) -> list[Any]:
    """Every segment called ``name`` in the message, inside groups too, in order."""
    found = []
    for child in element.children:
        if child.name == name:
            found.append(child)
        elif child.classname == "Group":
            found += _segments(child, name)
    return found


def _observation(out: dict[str, Any], categories: list[str], obx: Any, record: str, sequence: int) -> None:
    """OBX-3 ``category`` (a further category: PID-27 does not repeat), ``disability_level`` or
    ``disability_cause``, OBX-5 the value; other observations are not shuangyong's."""
    code, value = unescape(obx.obx_3.to_er7().split("^")[0]), unescape(obx.obx_5.to_er7())
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


def visit(message: Message, registered: Mapping[str, Mapping[str, Any]], region: str | None) -> dict[str, Any]:
    """A DFT^P03 as a JSON-contract visit. The patient's categories and cards come from the
    message's PID when it has them, else from ``registered`` (the patients of earlier ADT^A04s,
    by id)."""
    record = message.msh.msh_10.to_er7()
    pv1 = message.pv1
    patient_data = patient(message)
    if patient_data["id"] in registered and not ({"categories", "credentials"} & patient_data.keys()):
        patient_data = dict(registered[patient_data["id"]])
    kind = pv1.pv1_2.to_er7()
    if kind not in PATIENT_CLASS:
        raise Hl7Error(Text(f"患者类别应为 O、E 或 I，收到 {kind!r}",
                            f"the patient class must be O, E or I, got {kind!r}"),
                       segment="PV1", position=2, code=MISSING if not kind else TABLE_VALUE, record=record, value=kind)
    visit_region = unescape(pv1.pv1_39.to_er7()) or region
    visit_id = unescape(pv1.pv1_19.to_er7().split("^")[0])
    return {"visit_id": _required(visit_id, "PV1", 19, record, Text("就诊号", "the visit number")),
            "date": _date(pv1.pv1_44.to_er7(), "PV1", 44, record), "kind": PATIENT_CLASS[kind],
            "region": _required(visit_region or "", "PV1", 39, record,
                                Text("就诊地区（GB/T 2260）", "the region (GB/T 2260)")),
            "patient": patient_data,
            "lines": [_line(ft1, n, record) for n, ft1 in enumerate(_segments(message, "FT1"), 1)]}


def _line(ft1: Any, sequence: int, record: str) -> dict[str, Any]:
    code, text, system = ([unescape(part) for part in ft1.ft1_7.to_er7().split("^")] + ["", "", ""])[:3]
    _required(code, "FT1", 7, record, Text("收费项目编码", "the transaction code"), sequence)
    amount_text, currency = (ft1.ft1_11.to_er7().split("&") + [""])[:2]
    if currency not in ("", "CNY"):
        raise Hl7Error(Text(f"币种应为 CNY，收到 {currency}", f"the currency must be CNY, got {currency}"),
                       segment="FT1", position=11, sequence=sequence, record=record, value=currency)
    _required(amount_text, "FT1", 11, record, Text("金额", "the extended amount"), sequence)
    try:
        amount = parse_amount(amount_text, record=record, field=f"FT1({sequence})-11")
    except InputError as error:
        raise Hl7Error(error.message, segment="FT1", position=11, sequence=sequence, record=record,
                       value=amount_text) from None
    line: dict[str, Any] = {"line_id": _required(unescape(ft1.ft1_1.to_er7()), "FT1", 1, record,
                                                 Text("明细序号", "the set id"), sequence),
                            "amount": format_amount(amount)}
    line["item" if system == ITEM_SYSTEM else "code"] = code
    if text:
        line["description"] = text
    return line


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
