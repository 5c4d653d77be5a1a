"""JSON contract v1 (DESIGN §7): visits in, decisions out, as JSON or streamed JSON Lines.

pydantic checks the shape of a record (required keys, types, unknown keys); the attrs model's
own constructors check the values (money, dates, levels), so each rule is written once. Every
failure becomes an ``InputError`` naming the record and the field.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import IO, Any

import attrs
from pydantic import BaseModel, ConfigDict, ValidationError

from shuangyong.dates import DateWindow, parse_date
from shuangyong.engine.decision import Decision, Explanation, LineDecision, RuleTrace
from shuangyong.errors import InputError, ShuangyongError
from shuangyong.model.beneficiary import Beneficiary, Credential
from shuangyong.model.charge_codes import ChargeCodeMap
from shuangyong.model.visit import ChargeLine, Visit
from shuangyong.money import format_amount
from shuangyong.text import Text

CONTRACT_VERSION = 1


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False)


class CredentialIn(_Record):
    kind: str
    number: str
    valid_from: str | None = None
    valid_to: str | None = None


class PatientIn(_Record):
    id: str
    name: str | None = None
    birth_date: str | None = None
    categories: tuple[str, ...] = ()
    disability_level: int | None = None
    disability_cause: str | None = None
    credentials: tuple[CredentialIn, ...] = ()


class LineIn(_Record):
    line_id: str
    item: str | None = None
    code: str | None = None
    amount: Any
    tags: tuple[str, ...] = ()
    description: str | None = None


class VisitIn(_Record):
    visit_id: str
    date: str
    kind: str
    region: str
    patient: PatientIn
    lines: tuple[LineIn, ...]


def _dotted(loc: tuple[str | int, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _shape_error(error: ValidationError, record: str) -> InputError:
    first = error.errors(include_url=False)[0]
    field = _dotted(first["loc"]) or None
    kind = first["type"]
    if kind == "missing":
        message = Text(f"缺少必填字段 {field}", f"missing required field {field}")
    elif kind == "extra_forbidden":
        message = Text(f"未知字段 {field}", f"unknown field {field}")
    elif kind == "json_invalid":
        detail = first["ctx"].get("error", "")
        message, field = Text(f"不是有效的 JSON：{detail}", f"invalid JSON: {detail}"), None
    elif kind == "model_type":
        message = Text("记录应为 JSON 对象", "a record must be a JSON object")
    else:
        message = Text(f"取值无效：{first['msg']}", f"invalid value: {first['msg']}")
    return InputError(message, record=record, field=field, value=first.get("input"))


def _build(model: VisitIn, codes: ChargeCodeMap | None) -> Visit:
    """attrs objects from a shape-checked record; value errors get the field path they came from."""
    where = "patient"
    try:
        patient = model.patient
        credentials = []
        for n, credential in enumerate(patient.credentials):
            where = f"patient.credentials[{n}]"
            credentials.append(Credential(credential.kind, credential.number, DateWindow(
                parse_date(credential.valid_from, field="valid_from") if credential.valid_from else None,
                parse_date(credential.valid_to, field="valid_to") if credential.valid_to else None)))
        where = "patient"
        beneficiary = Beneficiary(
            patient.id, frozenset(patient.categories), tuple(credentials),
            patient.disability_level, patient.disability_cause,
            parse_date(patient.birth_date, field="birth_date") if patient.birth_date else None,
            patient.name)
        lines = []
        for n, line in enumerate(model.lines):
            where = f"lines[{n}]"
            item = line.item or (codes.item_for(line.code) if codes and line.code else None)
            if item is None:
                raise InputError(Text(
                    "缺少 item，且收费编码无法映射到项目类别" if line.code else "缺少必填字段 item",
                    f"no item, and charge code {line.code!r} is not in the mapping table"
                    if line.code else "missing required field item"), field="item", value=line.code)
            lines.append(ChargeLine(line.line_id, item, line.amount, frozenset(line.tags),
                                    line.code, line.description))
        where = ""
        return Visit(model.visit_id, parse_date(model.date), model.kind, model.region,
                     beneficiary, tuple(lines))
    except ShuangyongError as error:
        raise error.located(record=model.visit_id, prefix=where or None) from None


def visit_from_dict(data: object, *, record: str = "#1", codes: ChargeCodeMap | None = None) -> Visit:
    """A ``Visit`` from a decoded JSON object; ``record`` names it in errors until its id is known."""
    try:
        model = VisitIn.model_validate(data)
    except ValidationError as error:
        raise _shape_error(error, _visit_id_of(data) or record) from None
    return _build(model, codes)


def visit_from_json(text: str | bytes, *, record: str = "#1", codes: ChargeCodeMap | None = None) -> Visit:
    """A ``Visit`` from one JSON document (one JSON Lines line): the fast path."""
    try:
        model = VisitIn.model_validate_json(text)
    except ValidationError as error:
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        raise _shape_error(error, _visit_id_of(data) or record) from None
    return _build(model, codes)


def _visit_id_of(data: object) -> str | None:
    visit_id = data.get("visit_id") if isinstance(data, dict) else None
    return visit_id if isinstance(visit_id, str) else None


@attrs.frozen(slots=True)
class RawRecord:
    """One record of an input stream before parsing: text (JSON Lines) or a decoded value."""

    position: int
    text: str | None = None
    value: object = None

    @property
    def label(self) -> str:
        """How errors name a record before its visit_id is known: its line, or its array index."""
        return f"line {self.position}" if self.text is not None else f"#{self.position}"

    def visit(self, codes: ChargeCodeMap | None = None) -> Visit:
        if self.text is not None:
            return visit_from_json(self.text, record=self.label, codes=codes)
        return visit_from_dict(self.value, record=self.label, codes=codes)

    def visit_id(self) -> str | None:
        if self.text is not None:
            try:
                return _visit_id_of(json.loads(self.text))
            except ValueError:
                return None
        return _visit_id_of(self.value)


@attrs.frozen(slots=True)
class Input:
    """An opened input: its shape (``object``, ``array`` or ``lines``) and its records."""

    shape: str
    records: Iterator[RawRecord]


def read_records(stream: IO[str]) -> Input:
    """Sniff the input: JSON Lines are streamed line by line; a JSON document is read whole.

    A first line that is a complete JSON value means JSON Lines (a one-line object is the same
    in both readings). An empty input is an error.
    """
    first = stream.readline()
    while first and not first.strip():
        first = stream.readline()
    if not first:
        raise InputError(Text("输入为空：没有任何就诊记录", "empty input: no visit records"))
    try:
        json.loads(first)
        single_line = True
    except ValueError:
        single_line = False
    if single_line and first.lstrip().startswith("{"):
        return Input("lines", _lines(first, stream))
    document = first + stream.read()
    try:
        value = json.loads(document)
    except ValueError as error:
        raise InputError(Text(f"不是有效的 JSON：{error}", f"invalid JSON: {error}"), record="#1") from None
    if isinstance(value, list):
        if not value:
            raise InputError(Text("输入为空数组：没有任何就诊记录", "empty array: no visit records"))
        return Input("array", (RawRecord(n, value=v) for n, v in enumerate(value, start=1)))
    return Input("object", iter([RawRecord(1, value=value)]))


def _lines(first: str, stream: IO[str]) -> Iterator[RawRecord]:
    yield RawRecord(1, text=first)
    for position, text in enumerate(stream, start=2):
        if text.strip():
            yield RawRecord(position, text=text)


_quote = json.encoder.encode_basestring  # type: ignore[attr-defined]  # C-accelerated, ensure_ascii=False


def _text(value: str | None) -> str:
    return "null" if value is None else _quote(value)


def _names(values: Iterable[str]) -> str:
    return "[" + ",".join(map(_quote, values)) + "]"


def _line_json(line: LineDecision) -> str:
    applied = ",".join(f'{{"rule":{_quote(a.rule)},"reduction":"{a.reduction}"}}' for a in line.applied)
    return (f'{{"line_id":{_quote(line.line_id)},"item":{_quote(line.item)},"amount":"{line.amount}",'
            f'"reduction":"{line.reduction}","payable":"{line.payable}","rule":{_text(line.rule)},'
            f'"clause":{_text(line.clause)},"applied":[{applied}]}}')


def decision_to_json(decision: Decision) -> str:
    """The contract's output object as compact JSON text, written directly (the CLI's hot path).

    Amounts are written with ``str``: every amount the engine holds is quantized to the fen
    (see ``money.format_amount``), so each has exactly two decimals.
    """
    entitlements = ",".join(
        f'{{"rule":{_quote(e.rule)},"clause":{_quote(e.clause)},"priorities":{_names(e.priorities)},'
        f'"services":{_names(e.services)}}}' for e in decision.entitlements)
    totals = decision.totals
    return (f'{{"visit_id":{_quote(decision.visit_id)},"policy":{_quote(decision.policy)},'
            f'"lines":[{",".join(map(_line_json, decision.lines))}],'
            f'"priorities":{_names(decision.priorities)},"services":{_names(decision.services)},'
            f'"entitlements":[{entitlements}],'
            f'"totals":{{"amount":"{totals.amount}","reduction":"{totals.reduction}",'
            f'"payable":"{totals.payable}"}}}}')


def decision_to_dict(decision: Decision) -> dict[str, Any]:
    """The contract's output object as Python data (parsed from ``decision_to_json``, so the
    two can never disagree)."""
    return json.loads(decision_to_json(decision))  # type: ignore[no-any-return]


def error_to_dict(error: ShuangyongError, visit_id: str | None) -> dict[str, Any]:
    return {"visit_id": visit_id, "error": error.as_dict()}


def _trace_dict(trace: RuleTrace) -> dict[str, Any]:
    return {
        "rule": trace.rule,
        "title": trace.title.as_dict(),
        "outcome": trace.outcome,
        "reason": trace.reason.as_dict(),
        "reduction": format_amount(trace.reduction) if trace.reduction is not None else None,
        "clause": trace.clause,
        "source": trace.source,
    }


def explanation_to_dict(explanation: Explanation) -> dict[str, Any]:
    return {
        "decision": decision_to_dict(explanation.decision),
        "lines": [{"line_id": t.line_id, "item": t.item,
                   "considered": [_trace_dict(c) for c in t.considered]} for t in explanation.lines],
        "visit": [_trace_dict(c) for c in explanation.visit],
    }
