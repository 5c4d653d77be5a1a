"""JSON contract v1 (DESIGN §7), the input side: one visit record, as JSON text or decoded, checked
and built into a ``Visit``.

pydantic checks the shape of a record (required keys, types, unknown keys); the attrs model's
own constructors check the values (money, dates, levels), so each rule is written once. Every
failure becomes an ``InputError`` naming the record and the field.
"""

from __future__ import annotations

import re
from functools import lru_cache, partial
from typing import TYPE_CHECKING, Annotated, Any, NotRequired

from pydantic import ConfigDict, Strict, StringConstraints, TypeAdapter, ValidationError
from typing_extensions import TypedDict

from shuangyong.dates import DateWindow, parse_date
from shuangyong.errors import InputError, ShuangyongError, field_path
from shuangyong.interchange.insurance import InsuranceIn, insurance_from, key_count, settle_visit
from shuangyong.interchange.json_text import decoded, encodable, printable, too_deep
from shuangyong.limits import MAX_DEPTH, MAX_ID_LENGTH, MAX_TEXT_LENGTH
from shuangyong.model.beneficiary import Beneficiary, Credential
from shuangyong.model.registry import FEE_CATEGORY_ITEMS
from shuangyong.model.visit import ChargeLine, Visit, check_fee_category
from shuangyong.text import Text

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable

    from shuangyong.model.charge_codes import ChargeCodeMap
    from shuangyong.model.vocabulary import Vocabulary

# The input shapes are TypedDicts rather than models: pydantic-core checks them just as strictly
# (required keys, types, unknown keys refused) but hands back plain dicts, which costs a third of
# building model instances (benchmarks/RESULTS.md). Every string has a length bound: besides
# bounding ids (limits.MAX_ID_LENGTH), that makes pydantic-core read each one as Unicode, which
# refuses a lone surrogate ("\ud800", which no output could encode) in Rust, on every path.
Id = Annotated[str, StringConstraints(max_length=MAX_ID_LENGTH)]
Prose = Annotated[str, StringConstraints(max_length=MAX_TEXT_LENGTH)]
#: a JSON integer and nothing else: not true, "5" or 5.0
Level = Annotated[int, Strict()]


class CredentialIn(TypedDict):
    """A credential as the contract writes it."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]
    kind: Id
    number: Id
    valid_from: NotRequired[Id | None]
    valid_to: NotRequired[Id | None]


class PatientIn(TypedDict):
    """A patient as the contract writes it."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]
    id: Id
    name: NotRequired[Prose | None]
    birth_date: NotRequired[Id | None]
    categories: NotRequired[list[Id]]
    disability_level: NotRequired[Level | None]
    disability_cause: NotRequired[Id | None]
    credentials: NotRequired[list[CredentialIn]]


class LineIn(TypedDict):
    """A charge line as the contract writes it."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]
    line_id: Id
    item: NotRequired[Id | None]
    code: NotRequired[Id | None]
    amount: Any  # parse_amount refuses all but strings, ints and Decimals, so nesting stops here too
    tags: NotRequired[list[Id]]
    description: NotRequired[Prose | None]
    fee_category: NotRequired[Id | None]
    insurance: NotRequired[InsuranceIn | None]


class VisitIn(TypedDict):
    """A visit as the contract writes it (docs/contract.md)."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]
    visit_id: Id
    date: Id
    kind: Id
    region: Id
    patient: PatientIn
    lines: list[LineIn]
    insurance: NotRequired[InsuranceIn | None]


VISIT_SHAPE = TypeAdapter(VisitIn)
_NO_TAGS: frozenset[str] = frozenset()


def _too_long(field: str, limit: int) -> Text:
    return Text(f"{field} 超过 {limit} 个字符", f"{field} is longer than {limit} characters")


def _surrogate(field: str | None) -> Text:
    """``field`` is None for a key (pydantic-core does not say which)."""
    return Text(f"{field or '某个键'} 含有孤立的代理码位（如 \\ud800），不是有效的 Unicode 文本",
                f"{field or 'a key'} holds a lone surrogate (such as \\ud800), which is not Unicode text")


def check_id(value: object, field: str, *, record: str | None = None, limit: int = MAX_ID_LENGTH) -> str:
    """An id or name from input held to the contract: a string of at most ``limit`` characters
    that every output can encode. ``VISIT_SHAPE`` checks the same in Rust; this is for readers
    that build records another way (the batch path)."""
    if type(value) is not str:
        raise InputError(Text(f"{field} 应为字符串", f"{field} must be a string"), record=record, field=field,
                         value=value)
    if len(value) > limit:
        raise InputError(_too_long(field, limit), record=record, field=field, value=value[:limit])
    if not (value.isascii() or encodable(value)):
        raise InputError(_surrogate(field), record=record, field=field)
    return value


def _shape_error(error: ValidationError, record: str) -> InputError:
    first = error.errors(include_url=False)[0]
    field = field_path([printable(part) if isinstance(part, str) else part for part in first["loc"]]) or None
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
    elif kind == "string_too_long":
        message = _too_long(str(field), first["ctx"]["max_length"])
    elif kind == "string_unicode":
        message = _surrogate(field)
    else:
        message = Text(f"取值无效：{first['msg']}", f"invalid value: {first['msg']}")
    value = first.get("input")
    return InputError(message, record=record, field=field, value=value if kind != "string_too_long" else None)


#: a JSON string, whole (as ``json_text.JSON_STRING``); ``(:)`` marks a string that is a key
_KEY_OR_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"\s*(:?)')
_KEY_OR_STRING_BYTES = re.compile(_KEY_OR_STRING.pattern.encode())


def _value_depth(value: object) -> int:
    """How deeply decoded JSON nests, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is not None:
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in children)
    return deepest


def _key_count(text: str | bytes) -> int:
    """The keys written in a JSON text (duplicates included), counted by a regular expression."""
    if isinstance(text, bytes):
        marks: list[Any] = _KEY_OR_STRING_BYTES.findall(text)
        return len(marks) - marks.count(b"")
    marks = _KEY_OR_STRING.findall(text)
    return len(marks) - marks.count("")


def _keys_read(model: VisitIn) -> int:
    """The keys of a shape-checked record: fewer than ``_key_count`` of its text only when a key
    was written twice (or an amount is itself an object, which is refused anyway)."""
    patient = model["patient"]
    lines = model["lines"]
    keys = len(model) + len(patient) + sum(map(len, patient.get("credentials", ()))) + sum(map(len, lines))
    if "insurance" in model or any("insurance" in line for line in lines):
        keys += key_count(model.get("insurance")) + sum(key_count(line.get("insurance")) for line in lines)
    return keys


@lru_cache(maxsize=4096)  # a day's visits share their date and their cards' dates
def _day(value: str, field: str = "date") -> dt.date:
    """``parse_date``, once per distinct text (a ``date`` is immutable, so it is shared)."""
    return parse_date(value, field=field)


def _date_or_none(value: str | None, field: str) -> dt.date | None:
    return _day(value, field) if value else None


def _credential(data: CredentialIn) -> Credential:
    return Credential(data["kind"], data["number"], DateWindow(
        _date_or_none(data.get("valid_from"), "valid_from"), _date_or_none(data.get("valid_to"), "valid_to")))


def _beneficiary(data: PatientIn) -> Beneficiary:
    return Beneficiary(
        data["id"], frozenset(data.get("categories", ())),
        tuple([_credential(c) for c in data.get("credentials", ())]),
        data.get("disability_level"), data.get("disability_cause"),
        _date_or_none(data.get("birth_date"), "birth_date"), data.get("name"))


def _line(data: LineIn, codes: ChargeCodeMap | None, day: dt.date,
          payers: Vocabulary | None = None) -> ChargeLine:
    """A line's item kind is its ``item``, else what the code table maps its ``code`` to on the
    visit's ``day``, else what its ``fee_category`` maps to (docs/fee-categories.md)."""
    code, category = data.get("code"), data.get("fee_category")
    item = (data.get("item") or (codes.item_for(code, day) if codes is not None and code else None)
            or (FEE_CATEGORY_ITEMS.get(check_fee_category(category)) if category is not None else None))
    if item is None:
        raise _no_item(code, category, codes, day)
    tags = data.get("tags")
    insurance = data.get("insurance")
    return ChargeLine(data["line_id"], item, data["amount"], frozenset(tags) if tags else _NO_TAGS,
                      code, data.get("description"), fee_category=category,
                      insurance=None if insurance is None else insurance_from(insurance, payers))


def _no_item(code: str | None, category: str | None, codes: ChargeCodeMap | None, day: dt.date) -> InputError:
    """Why a line without ``item`` got none from its code or its fee category."""
    why = []
    if code and codes is not None and code in codes:
        why.append(Text(f"收费编码 {code!r} 在 {day} 没有有效的映射",
                        f"charge code {code!r} maps to no item kind on {day}"))
    elif code:
        why.append(Text("收费编码无法映射到项目类别", f"charge code {code!r} is not in the mapping table"))
    if category is not None:
        why.append(Text(f"医疗收费项目类别 {category} 不对应单一的项目类别",
                        f"fee category {category} maps to no single item kind"))
    if not why:
        return InputError(Text("缺少必填字段 item", "missing required field item"), field="item")
    return InputError(Text("缺少 item，且" + "，且".join(text.zh for text in why),
                           "no item, and " + ", and ".join(text.en for text in why)),
                      field="item", value=code or category)


def _failing_part(record: VisitIn, codes: ChargeCodeMap | None, payers: Vocabulary | None) -> str | None:
    """Where in a record a value error came from, found by re-running the parts one by one.

    Runs on the error path only, so the fast path keeps no bookkeeping per line.
    """
    try:
        day = parse_date(record["date"])
    except ShuangyongError:
        return None  # the date itself: its error names the field
    patient = record["patient"]
    parts: list[tuple[str, Callable[[], object]]] = [
        (f"patient.credentials[{n}]", partial(_credential, c)) for n, c in enumerate(patient.get("credentials", ()))]
    parts.append(("patient", partial(_beneficiary, patient)))
    parts += [(f"lines[{n}]", partial(_line, line, codes, day, payers)) for n, line in enumerate(record["lines"])]
    for where, build in parts:
        try:
            build()
        except ShuangyongError:
            return where
    return None


def _build(record: VisitIn, codes: ChargeCodeMap | None, payers: Vocabulary | None) -> Visit:
    """attrs objects from a shape-checked record; value errors get the field path they came from."""
    try:
        day = _day(record["date"])
        lines = tuple([ChargeLine(line["line_id"], item, line["amount"])  # only line_id, item and amount
                       if len(line) == 3 and (item := line.get("item"))
                       else ChargeLine(line["line_id"], item, line["amount"], insurance=insurance_from(settled, payers))
                       if len(line) == 4 and (item := line.get("item")) and (settled := line.get("insurance"))
                       else _line(line, codes, day, payers)  # and insurance
                       for line in record["lines"]])
        insurance = record.get("insurance")
        if insurance is not None:
            lines = settle_visit(lines, insurance_from(insurance, payers))
        return Visit(record["visit_id"], day, record["kind"], record["region"], _beneficiary(record["patient"]), lines)
    except ShuangyongError as error:
        raise error.located(record=record["visit_id"], prefix=_failing_part(record, codes, payers)) from None


def visit_from_dict(data: object, *, record: str = "#1", codes: ChargeCodeMap | None = None,
                    payers: Vocabulary | None = None) -> Visit:
    """A ``Visit`` from a decoded JSON object; ``record`` names it in errors until its id is known.
    ``payers`` (a registry's, in strict mode): an insurance fund it does not know is refused."""
    try:
        model = VISIT_SHAPE.validate_python(data)
    except ValidationError as error:
        if _value_depth(data) > MAX_DEPTH:
            raise too_deep(record) from None
        raise _shape_error(error, visit_id_of(data) or record) from None
    return _build(model, codes, payers)


def visit_from_json(text: str | bytes, *, record: str = "#1", codes: ChargeCodeMap | None = None,
                    payers: Vocabulary | None = None) -> Visit:
    """A ``Visit`` from one JSON document (one JSON Lines line): the fast path.

    pydantic-core reads the text; it takes the last of two equal keys, so the keys written are
    counted too, and only a record where the counts differ is read again to find the duplicate.
    Counting colons is the cheap first count: it is at least the number of keys, and equal to
    it unless a string holds a colon; only then are the keys counted exactly.
    What pydantic-core refuses is read again by Python's ``json`` to name the field (a lone
    surrogate) or to find the depth, the duplicate key or the visit_id of the record.
    """
    try:
        model = VISIT_SHAPE.validate_json(text)
    except ValidationError as error:
        try:
            data = decoded(text, record)
        except InputError:
            raise
        except ValueError:
            raise _shape_error(error, record) from None
        return visit_from_dict(data, record=record, codes=codes, payers=payers)
    keys = _keys_read(model)
    if text.count(":" if isinstance(text, str) else b":") != keys and _key_count(text) != keys:  # type: ignore[arg-type]
        try:
            decoded(text, record)
        except InputError:
            raise
        except ValueError as error:  # what pydantic-core reads and json does not: a 5,000-digit number
            raise InputError(Text(f"不是有效的 JSON：{error}", f"invalid JSON: {error}"), record=record) from None
    return _build(model, codes, payers)


def visit_id_of(data: object) -> str | None:
    """A record's visit_id, if it is one an error object can repeat."""
    visit_id = data.get("visit_id") if isinstance(data, dict) else None
    if type(visit_id) is not str or len(visit_id) > MAX_ID_LENGTH or not encodable(visit_id):
        return None
    return visit_id
