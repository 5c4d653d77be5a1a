"""JSON contract v1 (DESIGN §7): visits in, decisions out, as JSON or streamed JSON Lines.

pydantic checks the shape of a record (required keys, types, unknown keys); the attrs model's
own constructors check the values (money, dates, levels), so each rule is written once. Every
failure becomes an ``InputError`` naming the record and the field.
"""

from __future__ import annotations

import codecs
import datetime as dt
import json
import re
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache, partial
from itertools import accumulate, chain
from typing import IO, Annotated, Any

import attrs
from pydantic import ConfigDict, StringConstraints, Strict, TypeAdapter, ValidationError
from typing_extensions import NotRequired, TypedDict

from shuangyong.dates import DateWindow, parse_date
from shuangyong.engine.decision import Decision, Entitlement, Explanation, LineDecision, RuleTrace
from shuangyong.errors import InputError, ShuangyongError, field_path
from shuangyong.limits import ENCODINGS, MAX_DEPTH, MAX_ID_LENGTH, MAX_RECORD_BYTES, MAX_TEXT_LENGTH
from shuangyong.model.beneficiary import Beneficiary, Credential
from shuangyong.model.charge_codes import ChargeCodeMap
from shuangyong.model.visit import ChargeLine, Visit
from shuangyong.money import format_amount
from shuangyong.text import Text


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
    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]
    kind: Id
    number: Id
    valid_from: NotRequired[Id | None]
    valid_to: NotRequired[Id | None]


class PatientIn(TypedDict):
    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]
    id: Id
    name: NotRequired[Prose | None]
    birth_date: NotRequired[Id | None]
    categories: NotRequired[list[Id]]
    disability_level: NotRequired[Level | None]
    disability_cause: NotRequired[Id | None]
    credentials: NotRequired[list[CredentialIn]]


class LineIn(TypedDict):
    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]
    line_id: Id
    item: NotRequired[Id | None]
    code: NotRequired[Id | None]
    amount: Any  # parse_amount refuses all but strings, ints and Decimals, so nesting stops here too
    tags: NotRequired[list[Id]]
    description: NotRequired[Prose | None]


class VisitIn(TypedDict):
    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]
    visit_id: Id
    date: Id
    kind: Id
    region: Id
    patient: PatientIn
    lines: list[LineIn]


VISIT_SHAPE = TypeAdapter(VisitIn)
_NO_TAGS: frozenset[str] = frozenset()


def printable(text: str) -> str:
    """A string from input as an error may quote it (a key, an id): cut to the id bound, and
    escaped when no output could encode it (a lone surrogate)."""
    if not (len(text) <= MAX_ID_LENGTH and (text.isascii() or _encodable(text))):
        text = ascii(text[:MAX_ID_LENGTH])
    return text


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


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
    if not (value.isascii() or _encodable(value)):
        raise InputError(_surrogate(field), record=record, field=field)
    return value


def too_deep(record: str) -> InputError:
    """The refusal of a record (or document) nested deeper than ``limits.MAX_DEPTH``."""
    return InputError(Text(f"嵌套超过 {MAX_DEPTH} 层", f"nested deeper than {MAX_DEPTH} levels"), record=record)


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


#: a JSON string, whole: outside strings the only quote is an opening one, so scanning string by
#: string never starts inside one; ``(:)`` marks a string that is a key
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_KEY_OR_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"\s*(:?)')
_KEY_OR_STRING_BYTES = re.compile(_KEY_OR_STRING.pattern.encode())
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def json_depth(text: str | bytes) -> int:
    """How deeply a JSON text nests arrays and objects, found without recursion (brackets inside
    strings do not count), so that a text too deep for ``json.loads`` can be refused by name."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


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
    return (len(model) + len(patient) + sum(map(len, patient.get("credentials", ())))
            + sum(map(len, model["lines"])))


class _Duplicated:
    """Stands, in decoded JSON, for an object that has a key twice; ``key`` is the first such key."""

    __slots__ = ("key",)

    def __init__(self, key: str) -> None:
        self.key = key


def _pairs(seen: list[bool], pairs: list[tuple[str, Any]]) -> object:
    """``object_pairs_hook``: a dict, or a ``_Duplicated`` marker for an object with a key twice."""
    value = dict(pairs)
    if len(value) == len(pairs):
        return value
    seen.append(True)
    keys: set[str] = set()
    for key, _ in pairs:
        if key in keys:
            break
        keys.add(key)
    return _Duplicated(key)


def _duplicate_in(value: object, record: str) -> InputError | None:
    """The error for the first object of ``value`` that has a key twice, naming key and path."""
    stack: list[tuple[tuple[str | int, ...], object]] = [((), value)]
    while stack:
        loc, node = stack.pop()
        if isinstance(node, _Duplicated):
            key = printable(node.key)
            return InputError(Text(f"键 {key} 在同一对象中出现了两次", f"key {key} appears twice in one object"),
                              record=record, field=field_path([*loc, key]), value=key)
        if isinstance(node, dict):
            stack.extend(((*loc, printable(k)), v) for k, v in reversed(node.items()))
        elif isinstance(node, list):
            stack.extend(((*loc, n), v) for n, v in reversed(list(enumerate(node))))
    return None


def _decoded(text: str | bytes, record: str) -> object:
    """A JSON text read by Python's ``json``: on error paths, to name what pydantic-core refused.

    Raises the record's ``InputError`` when the text nests too deeply or writes a key twice, and
    ``ValueError`` when it is not JSON.
    """
    if json_depth(text) > MAX_DEPTH:
        raise too_deep(record)
    seen: list[bool] = []
    value = json.loads(text, object_pairs_hook=partial(_pairs, seen))
    duplicate = _duplicate_in(value, record) if seen else None
    if duplicate is not None:
        raise duplicate
    return value


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
        if _value_depth(data) > MAX_DEPTH:
            raise too_deep(record) from None
        raise _shape_error(error, _visit_id_of(data) or record) from None
    return _build(model, codes)


def visit_from_json(text: str | bytes, *, record: str = "#1", codes: ChargeCodeMap | None = None) -> Visit:
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
            data = _decoded(text, record)
        except InputError:
            raise
        except ValueError:
            raise _shape_error(error, record) from None
        return visit_from_dict(data, record=record, codes=codes)
    keys = _keys_read(model)
    if text.count(":" if isinstance(text, str) else b":") != keys and _key_count(text) != keys:  # type: ignore[arg-type]
        try:
            _decoded(text, record)
        except InputError:
            raise
        except ValueError as error:  # what pydantic-core reads and json does not: a 5,000-digit number
            raise InputError(Text(f"不是有效的 JSON：{error}", f"invalid JSON: {error}"), record=record) from None
    return _build(model, codes)


def _visit_id_of(data: object) -> str | None:
    """A record's visit_id, if it is one an error object can repeat."""
    visit_id = data.get("visit_id") if isinstance(data, dict) else None
    if type(visit_id) is not str or len(visit_id) > MAX_ID_LENGTH or not _encodable(visit_id):
        return None
    return visit_id


@attrs.frozen(slots=True)
class RawRecord:
    """One record of an input stream before parsing: text (JSON Lines) or a decoded value.

    ``problem`` is set when reading the input already refused the record (bytes not in the
    input's encoding, a line longer than ``limits.MAX_RECORD_BYTES``; in a JSON document, a
    duplicate key or too deep a nesting): the record is then that error, and the others go on.
    """

    position: int
    text: str | None = None
    value: object = None
    problem: InputError | None = None

    @property
    def label(self) -> str:
        """How errors name a record before its visit_id is known: its line, or its array index."""
        return f"line {self.position}" if self.text is not None else f"#{self.position}"

    def visit(self, codes: ChargeCodeMap | None = None) -> Visit:
        if self.problem is not None:
            raise self.problem
        if self.text is not None:
            return visit_from_json(self.text, record=self.label, codes=codes)
        return visit_from_dict(self.value, record=self.label, codes=codes)

    def visit_id(self) -> str | None:
        if self.problem is not None:
            return None
        if self.text is not None:
            try:
                return _visit_id_of(_decoded(self.text, self.label))
            except ValueError:
                return None
        return _visit_id_of(self.value)


@attrs.frozen(slots=True)
class Input:
    """An opened input: its shape (``object``, ``array`` or ``lines``) and its records."""

    shape: str
    records: Iterator[RawRecord]


#: a numbered line of input, as text, with the reason it cannot be read (or ``None``)
Line = tuple[int, str, InputError | None]


def decoded_lines(stream: IO[bytes] | IO[str], encoding: str = "utf-8") -> Iterator[Line]:
    """Each line of an input as text, numbered from 1: the one reader of ``--encoding``.

    A byte-order mark at the start is dropped; a UTF-8 one means UTF-8 whatever ``encoding``
    says (GB 18030 would read it, and the rest, as other characters). A line that is not valid
    ``encoding`` comes with an ``InputError`` naming it and the file offset of its first bad
    byte, and a line longer than ``limits.MAX_RECORD_BYTES`` with one saying so (its text is
    then not kept); the caller decides whether that refuses a record or the whole input.
    A text stream is taken as already decoded.
    """
    offset, position = 0, 0
    while raw := stream.readline(MAX_RECORD_BYTES + 1):
        position += 1
        size = len(raw)
        if size > MAX_RECORD_BYTES:
            while raw and raw[-1:] not in ("\n", b"\n"):  # skip the rest of the line, a piece at a time
                raw = stream.readline(MAX_RECORD_BYTES)
                size += len(raw)
            yield position, "", InputError(
                Text(f"第 {position} 行超过 {MAX_RECORD_BYTES} 字节", f"line {position} is longer than "
                     f"{MAX_RECORD_BYTES} bytes"), record=f"line {position}")
        elif isinstance(raw, str):
            yield position, raw.removeprefix("\ufeff") if position == 1 else raw, None
        else:
            skipped = 0
            if position == 1 and raw.startswith(codecs.BOM_UTF8):
                skipped, encoding = len(codecs.BOM_UTF8), "utf-8"
            try:
                text = raw[skipped:].decode(encoding)
            except UnicodeDecodeError as error:
                yield (position, raw[skipped:].decode(encoding, "replace"),
                       undecodable(position, offset + skipped + error.start, encoding))
            else:  # one byte-order mark: the UTF-8 one skipped above, or GB 18030's, decoded as U+FEFF
                yield position, text.removeprefix("\ufeff") if position == 1 and not skipped else text, None
        offset += size


def undecodable(position: int, offset: int, encoding: str) -> InputError:
    """A line that is not text in ``encoding``, named with the file offset of its first bad byte
    (the same words from evaluate and batch)."""
    other = " / ".join(f"--encoding {name}" for name in ENCODINGS if name != encoding)
    return InputError(Text(f"第 {position} 行不是有效的 {encoding} 编码（第一个错误字节在文件偏移 {offset} 处）；"
                           f"若文件是其他编码，请用 {other}",
                           f"line {position} is not valid {encoding} (first bad byte at offset {offset} of the "
                           f"file); if the file is in another encoding, use {other}"),
                      record=f"line {position}", value=offset)


def read_records(stream: IO[bytes] | IO[str], encoding: str = "utf-8") -> Input:
    """Sniff the input: JSON Lines are streamed line by line; a JSON document is read whole.

    A first line that is a complete JSON object means JSON Lines (a one-line object is the same
    in both readings). An empty input is an error. ``stream`` is bytes in ``encoding`` (see
    ``decoded_lines``), or text.
    """
    lines = decoded_lines(stream, encoding)
    first = next(lines, None)
    while first is not None and first[2] is None and not first[1].strip(JSON_SPACE):
        first = next(lines, None)
    if first is None:
        raise InputError(Text("输入为空：没有任何就诊记录", "empty input: no visit records"))
    if _one_object(first[1]):
        return Input("lines", _records(first, lines))
    parts, size = [], 0
    for _, text, problem in chain([first], lines):
        if problem is not None:
            raise problem
        size += len(text.encode("utf-8", "surrogatepass"))
        if size > MAX_RECORD_BYTES:
            raise InputError(Text(f"JSON 文档超过 {MAX_RECORD_BYTES} 字节；大量就诊请用 JSON Lines（每行一条）",
                                  f"a JSON document is longer than {MAX_RECORD_BYTES} bytes; send many visits as "
                                  "JSON Lines (one per line)"), record="#1")
        parts.append(text)
    return _document("".join(parts))


def _one_object(line: str) -> bool:
    """Whether a line is a JSON object of its own (the mark of JSON Lines); one nested too
    deeply to read counts as one, to be refused as a record."""
    if not line.lstrip(JSON_SPACE).startswith("{"):
        return False
    if json_depth(line) > MAX_DEPTH:
        return True
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


def _records(first: Line, lines: Iterator[Line]) -> Iterator[RawRecord]:
    for line in chain([first], lines):
        yield from _record(*line)


def _record(position: int, text: str, problem: InputError | None) -> Iterator[RawRecord]:
    if problem is not None:
        yield RawRecord(position, text="", problem=problem)
    elif text.strip(JSON_SPACE):
        yield RawRecord(position, text=text)


def _invalid_document(error: ValueError, record: str = "#1") -> InputError:
    return InputError(Text(f"不是有效的 JSON：{error}", f"invalid JSON: {error}"), record=record)


def _document(document: str) -> Input:
    """A whole JSON document: one visit object, or an array of them."""
    seen: list[bool] = []
    try:
        value = json.loads(document, object_pairs_hook=partial(_pairs, seen))
    except RecursionError:  # far deeper than MAX_DEPTH: read the array element by element
        return _deep_document(document)
    except ValueError as error:
        raise _invalid_document(error) from None
    if not isinstance(value, list):
        return Input("object", iter([_value_record(1, value, seen)]))
    if not value:
        raise InputError(Text("输入为空数组：没有任何就诊记录", "empty array: no visit records"))
    return Input("array", iter([_value_record(n, v, seen) for n, v in enumerate(value, start=1)]))


def _value_record(position: int, value: object, seen: list[bool]) -> RawRecord:
    return RawRecord(position, value=value, problem=_duplicate_in(value, f"#{position}") if seen else None)


#: what JSON counts as white space; Python's ``str.strip`` also strips ``\x1c``–``\x1f`` and more,
#: which would make a line of them "blank" here and a bad record on the batch path
JSON_SPACE = " \t\n\r"
_TOKEN = re.compile(_STRING.pattern + r"|[\[\]{},]")


def _deep_document(document: str) -> Input:
    """A document ``json`` cannot read for its depth: each element of its top-level array is
    read on its own, so that only those nested deeper than ``MAX_DEPTH`` are refused."""
    start = len(document) - len(document.lstrip(JSON_SPACE))
    if not document.startswith("[", start):
        return Input("object", iter([RawRecord(1, problem=too_deep("#1"))]))
    records: list[RawRecord] = []
    depth = deepest = 0
    begin = start + 1
    for token in _TOKEN.finditer(document, start):
        mark = token.group()[0]
        if mark == '"' or mark == "," and depth > 1:
            continue
        if mark in "[{":
            depth += 1
            deepest = max(deepest, depth)
            continue
        if mark in "]}":
            depth -= 1
            if depth:
                continue
        # a comma between elements, or the array's closing bracket: an element ends here
        records.append(_element(len(records) + 1, document[begin:token.start()], deepest - 1))
        begin, deepest = token.end(), 1
        if not depth:
            if document[token.end():].strip(JSON_SPACE):
                raise _invalid_document(ValueError("extra data after the array"))
            return Input("array", iter(records))
    raise _invalid_document(ValueError("the array is not closed"))


def _element(position: int, text: str, depth: int) -> RawRecord:
    if depth > MAX_DEPTH:
        return RawRecord(position, problem=too_deep(f"#{position}"))
    seen: list[bool] = []
    try:
        return _value_record(position, json.loads(text, object_pairs_hook=partial(_pairs, seen)), seen)
    except ValueError as error:
        raise _invalid_document(error, f"#{position}") from None


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
