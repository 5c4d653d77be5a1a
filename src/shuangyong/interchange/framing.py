"""Reading an input stream into records: lines decoded in ``--encoding`` and bounded in size,
JSON Lines told from one JSON document, and each record kept apart so that a bad one refuses only
itself. What a record means is ``visits``' business; this module only frames it.
"""

from __future__ import annotations

import codecs
import json
import re
from functools import partial
from itertools import chain
from typing import IO, TYPE_CHECKING, Generic, TypeVar

import attrs

from shuangyong.errors import InputError, ShuangyongError
from shuangyong.interchange.json_text import (
    JSON_STRING,
    decoded,
    duplicate_in,
    json_depth,
    object_pairs,
    too_deep,
)
from shuangyong.interchange.visits import visit_from_dict, visit_from_json, visit_id_of
from shuangyong.limits import ENCODINGS, MAX_DEPTH, MAX_RECORD_BYTES
from shuangyong.model.charge_codes import ChargeCodeMap
from shuangyong.model.visit import Visit
from shuangyong.text import Text

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from shuangyong.model.charge_codes import ChargeCodeMap
    from shuangyong.model.visit import Visit
    from shuangyong.model.vocabulary import Vocabulary


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

    def visit(self, codes: ChargeCodeMap | None = None, payers: Vocabulary | None = None) -> Visit:
        """The record as a checked visit; a record the input already refused raises that error."""
        if self.problem is not None:
            raise self.problem
        if self.text is not None:
            return visit_from_json(self.text, record=self.label, codes=codes, payers=payers)
        return visit_from_dict(self.value, record=self.label, codes=codes, payers=payers)

    def visit_id(self) -> str | None:
        """The record's visit_id for its error object, when it can be read; else None."""
        if self.problem is not None:
            return None
        if self.text is not None:
            try:
                return visit_id_of(decoded(self.text, self.label))
            except ValueError:
                return None
        return visit_id_of(self.value)


T = TypeVar("T")


@attrs.frozen(slots=True)
class Handled(Generic[T]):
    """A record that was handled, and what came of it (a decision, an explanation …)."""

    record: RawRecord
    value: T


@attrs.frozen(slots=True)
class Refused:
    """A record that was refused, and the error that names it: reported in its place, the run goes on."""

    record: RawRecord
    error: ShuangyongError


#: what came of one record of a run: ``Handled`` or ``Refused``, never a flag beside a value
Outcome = Handled[T] | Refused


class Tally:
    """Counts the refused records of a run as its outcomes pass through, so that a front end
    (the command line's exit status, the server's HTTP status) can tell afterwards whether any
    record was bad, and why the first one was, without holding the outcomes."""

    def __init__(self) -> None:
        self.seen = 0  #: records, handled or refused
        self.refused = 0
        self.first: ShuangyongError | None = None  #: the first refused record's error

    def __call__(self, outcomes: Iterable[Outcome[T]]) -> Iterator[Outcome[T]]:
        """The same outcomes, in order, counted."""
        for outcome in outcomes:
            self.seen += 1
            if isinstance(outcome, Refused):
                self.refused += 1
                self.first = self.first or outcome.error
            yield outcome


@attrs.frozen(slots=True)
class Input:
    """An opened input: its shape (``object``, ``array`` or ``lines``) and its records."""

    shape: str
    records: Iterator[RawRecord]


#: a numbered line of input, as text, with the reason it cannot be read (or ``None``)
Line = tuple[int, str, InputError | None]


def too_long(position: int) -> InputError:
    """Line ``position`` is longer than ``limits.MAX_RECORD_BYTES``: its record's error."""
    return InputError(Text(f"第 {position} 行超过 {MAX_RECORD_BYTES} 字节",
                           f"line {position} is longer than {MAX_RECORD_BYTES} bytes"), record=f"line {position}")


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
            yield position, "", too_long(position)
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


def read_records(stream: IO[bytes] | IO[str], encoding: str = "utf-8", *, empty: bool = False) -> Input:
    """Sniff the input: JSON Lines are streamed line by line; a JSON document is read whole.

    A first line that is a complete JSON object means JSON Lines (a one-line object is the same
    in both readings). An empty input is an error, unless ``empty`` (one partition of a dataset,
    which may hold none): then it is JSON Lines without a record. ``stream`` is bytes in
    ``encoding`` (see ``decoded_lines``), or text.
    """
    lines = decoded_lines(stream, encoding)
    first = next(lines, None)
    while first is not None and first[2] is None and not first[1].strip(JSON_SPACE):
        first = next(lines, None)
    if first is None:
        if empty:
            return Input("lines", iter(()))
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
        value = json.loads(document, object_pairs_hook=partial(object_pairs, seen))
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
    return RawRecord(position, value=value, problem=duplicate_in(value, f"#{position}") if seen else None)


#: what JSON counts as white space; Python's ``str.strip`` also strips ``\x1c``–``\x1f`` and more,
#: which would make a line of them "blank" here and a bad record on the batch path
JSON_SPACE = " \t\n\r"
_TOKEN = re.compile(JSON_STRING.pattern + r"|[\[\]{},]")


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
        if mark == '"' or (mark == "," and depth > 1):
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
        return _value_record(position, json.loads(text, object_pairs_hook=partial(object_pairs, seen)), seen)
    except ValueError as error:
        raise _invalid_document(error, f"#{position}") from None
