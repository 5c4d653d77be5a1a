"""JSON contract v1 (DESIGN §7): visits in, decisions out, as JSON or streamed JSON Lines.

pydantic checks the shape of a record (required keys, types, unknown keys); the attrs model's
own constructors check the values (money, dates, levels), so each rule is written once. Every
failure becomes an ``InputError`` naming the record and the field.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache, partial
from typing import IO, Any

import attrs
from pydantic import ConfigDict, TypeAdapter, ValidationError
from typing_extensions import NotRequired, TypedDict

from shuangyong.dates import DateWindow, parse_date
from shuangyong.engine.decision import Decision, Entitlement, Explanation, LineDecision, RuleTrace
from shuangyong.errors import InputError, ShuangyongError, field_path
from shuangyong.model.beneficiary import Beneficiary, Credential
from shuangyong.model.charge_codes import ChargeCodeMap
from shuangyong.model.visit import ChargeLine, Visit
from shuangyong.money import format_amount
from shuangyong.text import Text


# The input shapes are TypedDicts rather than models: pydantic-core checks them just as strictly
# (required keys, types, unknown keys refused) but hands back plain dicts, which costs a third of
# building model instances (benchmarks/RESULTS.md).
class CredentialIn(TypedDict):
    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]
    kind: str
    number: str
    valid_from: NotRequired[str | None]
    valid_to: NotRequired[str | None]


class PatientIn(TypedDict):
    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]
    id: str
    name: NotRequired[str | None]
    birth_date: NotRequired[str | None]
    categories: NotRequired[list[str]]
    disability_level: NotRequired[int | None]
    disability_cause: NotRequired[str | None]
    credentials: NotRequired[list[CredentialIn]]


class LineIn(TypedDict):
    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]
    line_id: str
    item: NotRequired[str | None]
    code: NotRequired[str | None]
    amount: Any
    tags: NotRequired[list[str]]
    description: NotRequired[str | None]


class VisitIn(TypedDict):
    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]
    visit_id: str
    date: str
    kind: str
    region: str
    patient: PatientIn
    lines: list[LineIn]


VISIT_SHAPE = TypeAdapter(VisitIn)
_NO_TAGS: frozenset[str] = frozenset()


def _shape_error(error: ValidationError, record: str) -> InputError:
    first = error.errors(include_url=False)[0]
    field = field_path(first["loc"]) or None
    kind = first["type"]
    if kind == "missing":
        message = Text(f"缺少必填字段 {field}", f"missing required field {field}")
    elif kind == "extra_forbidden":
        message = Text(f"未知字段 {field}", f"unknown field {field}")
    elif kind == "json_invalid":
        detail = first["ctx"].get("error", "")
        message, field = Text(f"不是有效的 JSON：{detail}", f"invalid JSON: {detail}"), None
    elif kind in ("model_type", "dict_type"):
        message = Text("记录应为 JSON 对象", "a record must be a JSON object")
    else:
        message = Text(f"取值无效：{first['msg']}", f"invalid value: {first['msg']}")
    return InputError(message, record=record, field=field, value=first.get("input"))


def _date_or_none(value: str | None, field: str) -> dt.date | None:
    return parse_date(value, field=field) if value else None


def _credential(data: CredentialIn) -> Credential:
    return Credential(data["kind"], data["number"], DateWindow(
        _date_or_none(data.get("valid_from"), "valid_from"), _date_or_none(data.get("valid_to"), "valid_to")))


def _beneficiary(data: PatientIn) -> Beneficiary:
    return Beneficiary(
        data["id"], frozenset(data.get("categories", ())),
        tuple([_credential(c) for c in data.get("credentials", ())]),
        data.get("disability_level"), data.get("disability_cause"),
        _date_or_none(data.get("birth_date"), "birth_date"), data.get("name"))


def _line(data: LineIn, codes: ChargeCodeMap | None) -> ChargeLine:
    code = data.get("code")
    item = data.get("item") or (codes.item_for(code) if codes is not None and code else None)
    if item is None:
        raise InputError(Text(
            "缺少 item，且收费编码无法映射到项目类别" if code else "缺少必填字段 item",
            f"no item, and charge code {code!r} is not in the mapping table"
            if code else "missing required field item"), field="item", value=code)
    tags = data.get("tags")
    return ChargeLine(data["line_id"], item, data["amount"], frozenset(tags) if tags else _NO_TAGS,
                      code, data.get("description"))


def _failing_part(record: VisitIn, codes: ChargeCodeMap | None) -> str | None:
    """Where in a record a value error came from, found by re-running the parts one by one.

    Runs on the error path only, so the fast path keeps no bookkeeping per line.
    """
    patient = record["patient"]
    parts: list[tuple[str, Callable[[], object]]] = [
        (f"patient.credentials[{n}]", partial(_credential, c)) for n, c in enumerate(patient.get("credentials", ()))]
    parts.append(("patient", partial(_beneficiary, patient)))
    parts += [(f"lines[{n}]", partial(_line, line, codes)) for n, line in enumerate(record["lines"])]
    for where, build in parts:
        try:
            build()
        except ShuangyongError:
            return where
    return None


def _build(record: VisitIn, codes: ChargeCodeMap | None) -> Visit:
    """attrs objects from a shape-checked record; value errors get the field path they came from."""
    try:
        return Visit(record["visit_id"], parse_date(record["date"]), record["kind"], record["region"],
                     _beneficiary(record["patient"]), tuple([_line(line, codes) for line in record["lines"]]))
    except ShuangyongError as error:
        raise error.located(record=record["visit_id"], prefix=_failing_part(record, codes)) from None


def visit_from_dict(data: object, *, record: str = "#1", codes: ChargeCodeMap | None = None) -> Visit:
    """A ``Visit`` from a decoded JSON object; ``record`` names it in errors until its id is known."""
    try:
        model = VISIT_SHAPE.validate_python(data)
    except ValidationError as error:
        raise _shape_error(error, _visit_id_of(data) or record) from None
    return _build(model, codes)


def visit_from_json(text: str | bytes, *, record: str = "#1", codes: ChargeCodeMap | None = None) -> Visit:
    """A ``Visit`` from one JSON document (one JSON Lines line): the fast path."""
    try:
        model = VISIT_SHAPE.validate_json(text)
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
    first, position = stream.readline(), 1
    while first and not first.strip():
        first, position = stream.readline(), position + 1
    if not first:
        raise InputError(Text("输入为空：没有任何就诊记录", "empty input: no visit records"))
    try:
        json.loads(first)
        single_line = True
    except ValueError:
        single_line = False
    if single_line and first.lstrip().startswith("{"):
        return Input("lines", _lines(first, position, stream))
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


def _lines(first: str, position: int, stream: IO[str]) -> Iterator[RawRecord]:
    yield RawRecord(position, text=first)
    for position, text in enumerate(stream, start=position + 1):
        if text.strip():
            yield RawRecord(position, text=text)


quote = json.encoder.encode_basestring  # type: ignore[attr-defined]  # C-accelerated, ensure_ascii=False


def _text(value: str | None) -> str:
    return "null" if value is None else quote(value)


def _names(values: Iterable[str]) -> str:
    return "[" + ",".join(map(quote, values)) + "]"


@lru_cache(maxsize=4096)
def rule_json(rule: str | None, clause: str | None) -> str:
    """The rule and clause members of a line, escaped once per rule rather than once per line."""
    return f'"rule":{_text(rule)},"clause":{_text(clause)}'


def _line_json(line: LineDecision) -> str:
    applied = ",".join([f'{{"rule":{quote(a.rule)},"reduction":"{a.reduction!s}"}}' for a in line.applied])
    return (f'{{"line_id":{quote(line.line_id)},"item":{quote(line.item)},"amount":"{line.amount!s}",'
            f'"reduction":"{line.reduction!s}","payable":"{line.payable!s}",{rule_json(line.rule, line.clause)},'
            f'"applied":[{applied}]}}')


def decision_to_json(decision: Decision) -> str:
    """The contract's output object as compact JSON text, written directly (the CLI's hot path).

    Amounts are written with ``str`` (``!s``: formatting a Decimal with ``format`` costs three
    times as much): every amount the engine holds is quantized to the fen (see
    ``money.format_amount``), so each has exactly two decimals.
    """
    totals = decision.totals
    return (f'{{"visit_id":{quote(decision.visit_id)},"policy":{quote(decision.policy)},'
            f'"lines":[{",".join(map(_line_json, decision.lines))}],'
            f'{grants_json(decision.priorities, decision.services, decision.entitlements)},'
            f'"totals":{{"amount":"{totals.amount!s}","reduction":"{totals.reduction!s}",'
            f'"payable":"{totals.payable!s}"}}}}')


def grants_json(priorities: tuple[str, ...], services: tuple[str, ...],
                entitlements: tuple[Entitlement, ...]) -> str:
    """The visit-level members of a decision (priorities, services, entitlements), as JSON text.

    Shared by ``decision_to_json`` and the batch path, which writes it once per distinct set.
    """
    granted = ",".join(
        f'{{"rule":{quote(e.rule)},"clause":{quote(e.clause)},"priorities":{_names(e.priorities)},'
        f'"services":{_names(e.services)}}}' for e in entitlements)
    return f'"priorities":{_names(priorities)},"services":{_names(services)},"entitlements":[{granted}]'


def result_json(ok: bool, result: Decision | ShuangyongError, record: RawRecord) -> str:
    """One JSON Lines line of output: the decision, or the error object naming the record."""
    if ok:
        return decision_to_json(result)  # type: ignore[arg-type]
    return json.dumps(error_to_dict(result, record.visit_id()),  # type: ignore[arg-type]
                      ensure_ascii=False, separators=(",", ":"))


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
