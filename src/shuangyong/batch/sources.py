"""Reading visits in chunks of columns: JSON Lines, Parquet and CSV, all into one nested table.

Every format becomes the same Arrow table, whose schema mirrors the JSON contract (a row per
visit, its patient a struct, its lines a list of structs), so the evaluation has one input.
A chunk also keeps a way back to each visit as a record the row engine reads
(:class:`~shuangyong.interchange.framing.RawRecord`): whatever the columns cannot take exactly (a record
pyarrow refuses, a value it reads more leniently than the contract) goes to the row engine,
which then gives the very answer, or error, that ``shuangyong evaluate`` would.

Memory stays flat: JSON Lines are read a block of whole lines at a time, Parquet a batch of rows
at a time, CSV a block at a time (a visit whose rows straddle two blocks is carried over).

JSON Lines and CSV are text in one of ``limits.ENCODINGS`` (UTF-8 by default, with or without a
BOM); :class:`Decoded` hands the readers UTF-8, and a line that is not text in the file's encoding
is that record's error, naming its line and byte offset. Parquet's strings are UTF-8 by the
format, and a floating-point column is refused: floats are never money.
"""

from __future__ import annotations

import codecs
import io
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from shuangyong.errors import InputError
from shuangyong.interchange.framing import RawRecord, undecodable
from shuangyong.limits import ENCODINGS
from shuangyong.text import Text

CREDENTIAL = pa.struct([("kind", pa.string()), ("number", pa.string()), ("valid_from", pa.string()),
                        ("valid_to", pa.string())])
LINE = pa.struct([("line_id", pa.string()), ("item", pa.string()), ("code", pa.string()),
                  ("amount", pa.string()), ("tags", pa.list_(pa.string())), ("description", pa.string())])
PATIENT = pa.struct([("id", pa.string()), ("name", pa.string()), ("birth_date", pa.string()),
                     ("categories", pa.list_(pa.string())), ("disability_level", pa.int64()),
                     ("disability_cause", pa.string()), ("credentials", pa.list_(CREDENTIAL))])
#: The JSON contract's visit as an Arrow schema: what every reader produces.
VISITS = pa.schema([("visit_id", pa.string()), ("date", pa.string()), ("kind", pa.string()),
                    ("region", pa.string()), ("patient", PATIENT), ("lines", pa.list_(LINE))])
#: One row per charge line for CSV: the visit's and patient's columns repeat on each of its lines;
#: categories and tags are ``;``-separated, credentials ``kind|number|from|to`` joined by ``;``.
FLAT_COLUMNS = ("visit_id", "date", "kind", "region", "patient_id", "patient_name", "birth_date", "categories",
                "disability_level", "disability_cause", "credentials", "line_id", "item", "code", "amount",
                "tags", "description")
FORMATS = ("jsonl", "parquet", "csv")
CHUNK_BYTES = 4 << 20  #: JSON Lines read per chunk (about 6,000 visits)
PARQUET_BATCH = 8192  #: visits per chunk from Parquet
CSV_BLOCK = 4 << 20
#: ``"categories": null`` is an error in the contract but reads like a missing list in Arrow
_NULL_LIST = re.compile(rb'"(?:categories|credentials|tags)"\s*:\s*null')
#: settlement figures (contract 1.1) have no column form: such a visit goes to the row engine. A
#: key spelled with escapes (``"\u0069nsurance"``) is not seen here, but Arrow refuses it as an
#: unknown field, which sends its line to the row engine all the same.
_INSURANCE = re.compile(rb'"insurance"\s*:')
#: the member that carries settlement figures, on a visit and on a line
INSURANCE = "insurance"


@attrs.frozen(slots=True)
class Chunk:
    """Some visits as columns (``table`` is ``None`` if they could not be read as columns), the
    visits that must go to the row engine whatever happens, and each visit as a raw record."""

    table: pa.Table | None
    count: int
    record: Callable[[int], RawRecord]
    forced: frozenset[int] = frozenset()
    size: int = 0  #: bytes (JSON Lines) or rows (Parquet) consumed, for progress
    #: records refused while reading (a line not in the file's encoding), by position
    problems: dict[int, InputError] = attrs.field(factory=dict)


def detect_format(path: str | Path) -> str:
    """The format from the file name: ``.parquet``/``.pq``, ``.csv``, anything else JSON Lines."""
    suffix = Path(path).suffix.lower()
    return "parquet" if suffix in (".parquet", ".pq") else "csv" if suffix == ".csv" else "jsonl"


def total_size(path: str | Path, fmt: str) -> int | None:
    """What the chunks' ``size`` add up to, for a progress bar (``None``: not known ahead: CSV, or
    a file that cannot be read, which :func:`read_chunks` then reports)."""
    try:
        if fmt == "parquet":
            return int(pq.ParquetFile(path).metadata.num_rows)
        return Path(path).stat().st_size if fmt == "jsonl" else None
    except (OSError, pa.ArrowException):
        return None


def read_chunks(path: str | Path, fmt: str | None = None, encoding: str = ENCODINGS[0]) -> Iterator[Chunk]:
    """The visits of a file in chunks; ``fmt`` is one of :data:`FORMATS` (default: by suffix),
    ``encoding`` one of ``limits.ENCODINGS`` (JSON Lines and CSV). A file without a single
    record is refused, as ``shuangyong evaluate`` refuses an empty input."""
    fmt = fmt or detect_format(path)
    records = 0
    try:
        for chunk in _chunks(path, fmt, encoding):
            records += chunk.count
            yield chunk
    except (OSError, pa.ArrowException) as error:
        raise InputError(Text(f"无法读取 {path}（{fmt}）：{error}", f"cannot read {path} as {fmt}: {error}"),
                         record=str(path)) from None
    if not records:
        raise InputError(Text("输入为空：没有任何就诊记录", "empty input: no visit records"), record=str(path))


def _chunks(path: str | Path, fmt: str, encoding: str) -> Iterator[Chunk]:
    if fmt == "parquet":
        yield from _parquet_chunks(pq.ParquetFile(path), path)
    elif fmt == "csv":
        yield from _csv_chunks(path, encoding)
    else:
        with open(path, "rb") as raw:
            yield from json_line_chunks(Decoded(raw, encoding))


class Decoded(io.RawIOBase):
    """A text file's bytes as UTF-8, whole lines at a time: a leading byte order mark dropped (a
    UTF-8 one means UTF-8, whatever ``encoding`` says), GB 18030 transcoded.

    A line that is not text in ``encoding`` is read with replacement characters and its error
    kept in ``problems`` (by line number) for the reader to refuse that record alone, as
    ``shuangyong evaluate`` does; with ``refuse``, it is raised instead, once the lines before it
    have been read (CSV, whose rows need not be lines). Neither encoding has a ``\\n`` byte inside
    a character, so a block cut after one never splits a character.
    """

    def __init__(self, raw: IO[bytes], encoding: str, *, refuse: bool = False, block: int = CHUNK_BYTES) -> None:
        super().__init__()
        if encoding not in ENCODINGS:
            raise InputError(Text(f"不支持的编码 {encoding!r}（可用：{', '.join(ENCODINGS)}）",
                                  f"unsupported encoding {encoding!r} (available: {', '.join(ENCODINGS)})"),
                             field="encoding", value=encoding)
        self._raw, self._encoding, self._refuse, self._block = raw, encoding, refuse, block
        self._pending = b""  #: bytes read but not decoded yet: the start of an unfinished line
        self._out, self._at = b"", 0  #: decoded UTF-8, and how much of it is handed out
        self._offset, self._line = 0, 1  #: where in the file the next byte to decode lies
        self.problems: dict[int, InputError] = {}

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        """The next decoded bytes (at most ``size``): a whole block without copying it, if asked."""
        while self._at == len(self._out):
            if self._refuse and self.problems:
                raise next(iter(self.problems.values()))
            if not self._decode_block():
                return b""
        start = self._at
        self._at = len(self._out) if size < 0 else min(len(self._out), start + size)
        return self._out if not start and self._at == len(self._out) else self._out[start:self._at]

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def _decode_block(self) -> bool:
        """Decode the next block of whole lines (the rest, at the end); ``False`` at the end."""
        while True:
            block = self._raw.read(self._block)
            data = self._pending + block
            cut = data.rfind(b"\n") + 1 if block else len(data)
            if cut or not block:
                break
            self._pending = data  # a line longer than a block: read on
        data, self._pending = data[:cut], data[cut:]
        if not data:
            return False
        first, offset = not self._offset, self._offset
        if first and data.startswith(codecs.BOM_UTF8):
            data, self._encoding = data[len(codecs.BOM_UTF8):], "utf-8"
            offset += len(codecs.BOM_UTF8)
        if self._encoding == "utf-8" and _utf8(data):  # valid as it is: handed on, not copied
            self._out = data
        else:
            try:
                text = data.decode(self._encoding)
            except UnicodeDecodeError:
                text = self._line_by_line(data, offset)
            self._out = (text.removeprefix("\ufeff") if first else text).encode("utf-8")
        self._at = 0
        self._line += data.count(b"\n")
        self._offset = offset + len(data)
        return True

    def _line_by_line(self, data: bytes, offset: int) -> str:
        """A block with a bad byte, a line at a time: each bad line noted in ``problems`` (and
        read with replacement characters), or, with ``refuse``, the lines before the first."""
        decoded = []
        for number, line in enumerate(_lines_of(data), start=self._line):
            try:
                decoded.append(line.decode(self._encoding))
            except UnicodeDecodeError as error:
                self.problems[number] = undecodable(number, offset + error.start, self._encoding)
                if self._refuse:
                    break
                decoded.append(line.decode(self._encoding, "replace"))
            offset += len(line)
        return "".join(decoded)


def _utf8(data: bytes) -> bool:
    """Whether ``data`` is valid UTF-8, checked by Arrow (20 times faster than decoding CJK)."""
    if data.isascii():
        return True
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int32))
    try:
        pa.Array.from_buffers(pa.binary(), 1, [None, offsets, pa.py_buffer(data)]).cast(pa.string())
    except pa.ArrowInvalid:
        return False
    return True


def _lines_of(data: bytes) -> list[bytes]:
    """``data`` cut after each ``\\n`` only (``splitlines`` also cuts at a lone ``\\r``)."""
    lines = [line + b"\n" for line in data.split(b"\n")]
    lines[-1] = lines[-1][:-1]
    return [line for line in lines if line]


def json_line_chunks(handle: Decoded | IO[bytes], chunk_bytes: int = CHUNK_BYTES) -> Iterator[Chunk]:
    """JSON Lines (UTF-8) a block of whole lines at a time; the lines Arrow refuses go to the row
    engine (it then names the bad record exactly as ``shuangyong evaluate`` does), and so does a
    line :class:`Decoded` could not decode, as its error."""
    problems = handle.problems if isinstance(handle, Decoded) else {}
    line_number, buffer = 0, b""
    while True:
        block = handle.read(chunk_bytes)
        buffer += block
        if block:
            cut = buffer.rfind(b"\n") + 1
            if not cut:  # no whole line yet: a line longer than a block
                continue
            data, buffer = buffer[:cut], buffer[cut:]
        else:
            data, buffer = buffer, b""
        texts, positions = [], []
        pieces = data.split(b"\n")
        for offset, raw in enumerate(pieces):
            if raw.strip(b" \t\n\r"):  # JSON's white space only, as evaluate; lines end as "\n"
                texts.append(raw.removesuffix(b"\r") + b"\n" if offset < len(pieces) - 1 else raw)
                positions.append(line_number + offset + 1)
        line_number += data.count(b"\n")
        if texts:
            yield _json_chunk(data, texts, positions, {n: problems.pop(line) for n, line in enumerate(positions)
                                                      if line in problems})
        if not block:
            return


def _json_chunk(data: bytes, texts: list[bytes], positions: list[int], problems: dict[int, InputError]) -> Chunk:
    def record(index: int) -> RawRecord:
        return RawRecord(positions[index], text="" if index in problems else texts[index].decode("utf-8"))

    forced = frozenset(problems)
    size = len(data)
    if _NULL_LIST.search(data):
        forced |= frozenset(n for n, text in enumerate(texts) if _NULL_LIST.search(text))
    if _INSURANCE.search(data):  # read as a row of nulls here, by the row engine from its text
        insured = frozenset(n for n, text in enumerate(texts) if _INSURANCE.search(text))
        forced |= insured
        data = b"".join(_EMPTY_RECORD if n in insured else text for n, text in enumerate(texts))
    table = _json_table(data, len(texts))
    if table is None:  # some lines Arrow refuses: find them, and read the others as columns
        refused = _refused(texts, 0, len(texts), [REFUSED_LINES]) if len(texts) > 1 else None
        if refused is not None:
            forced |= refused
            table = _json_table(b"".join(_EMPTY_RECORD if n in refused else text for n, text in enumerate(texts)),
                                len(texts))
    return Chunk(table, len(texts), record, forced, size, problems)


REFUSED_LINES = 64  #: refused lines looked for in a block before the whole block goes to the row engine
_EMPTY_RECORD = b"{}\n"  #: stands in for a refused line: a row of nulls, which the row engine answers


def _json_table(data: bytes, lines: int) -> pa.Table | None:
    """Lines of JSON as the visit table, or ``None`` if Arrow refuses them (or reads another
    number of records than lines: two objects on one line)."""
    try:
        table = pa_json.read_json(io.BytesIO(data), parse_options=pa_json.ParseOptions(
            explicit_schema=VISITS, unexpected_field_behavior="error"))
    except pa.ArrowInvalid:
        return None
    return table if table.num_rows == lines else None


def _refused(texts: list[bytes], low: int, high: int, budget: list[int]) -> frozenset[int] | None:
    """The lines of ``texts[low:high]`` (which Arrow refuses as a whole) that it refuses, found
    by halving: one refused line costs about two readings of the block. ``None`` once more than
    ``budget`` are found: then the whole block goes to the row engine."""
    if high - low == 1:
        budget[0] -= 1
        return frozenset([low]) if budget[0] >= 0 else None
    found: frozenset[int] = frozenset()
    middle = (low + high) // 2
    for start, end in ((low, middle), (middle, high)):
        if _json_table(b"".join(texts[start:end]), end - start) is None:
            part = _refused(texts, start, end, budget)
            if part is None:
                return None
            found |= part
    return found


def _without_nulls(value: Any) -> Any:
    """A row of the table as a contract record: absent members are left out, not ``null``."""
    if isinstance(value, dict):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value


def _table_chunk(table: pa.Table, first: int, size: int, raw: pa.Table | None = None) -> Chunk:
    """A chunk of an already columnar source; records are numbered ``#n`` from 1 in the file.
    ``raw``: the rows as read, with the settlement figures ``table`` has no column for; the visits
    that carry any go to the row engine, which reads them from there."""
    rows = table if raw is None else raw

    def record(index: int) -> RawRecord:
        return RawRecord(first + index + 1, value=_without_nulls(rows.slice(index, 1).to_pylist()[0]))

    return Chunk(table, table.num_rows, record, _insured(raw) if raw is not None else frozenset(), size=size)


def _insured(raw: pa.Table) -> frozenset[int]:
    """The rows whose visit, or any of whose lines, carries settlement figures."""
    hit = np.zeros(raw.num_rows, dtype=bool)
    if INSURANCE in raw.column_names:
        hit |= pc.is_valid(raw.column(INSURANCE)).to_numpy(zero_copy_only=False)
    lines = raw.column("lines").combine_chunks()
    if INSURANCE in {field.name for field in lines.type.value_type}:
        line_insured = pc.is_valid(pc.struct_field(pc.list_flatten(lines), INSURANCE)).to_numpy(zero_copy_only=False)
        hit[pc.list_parent_indices(lines).to_numpy()[line_insured]] = True
    return frozenset(np.flatnonzero(hit).tolist())


def _carries_insurance(schema: pa.Schema) -> bool:
    lines = schema.field("lines").type
    return INSURANCE in schema.names or (pa.types.is_list(lines) and pa.types.is_struct(lines.value_type)
                                          and INSURANCE in {field.name for field in lines.value_type})


def _floating(name: str, kind: pa.DataType) -> Iterator[str]:
    """The columns (dotted paths) of a Parquet schema that hold floating-point numbers."""
    if pa.types.is_floating(kind):
        yield name
    elif pa.types.is_struct(kind):
        for field in kind:
            yield from _floating(f"{name}.{field.name}", field.type)
    elif pa.types.is_list(kind) or pa.types.is_large_list(kind):
        yield from _floating(name, kind.value_type)


def _parquet_chunks(source: pq.ParquetFile, path: str | Path) -> Iterator[Chunk]:
    schema = source.schema_arrow
    missing = set(VISITS.names) - set(schema.names)
    if missing:
        raise InputError(Text(f"Parquet 文件缺少列：{', '.join(sorted(missing))}",
                              f"the Parquet file lacks the columns {', '.join(sorted(missing))}"))
    floats = [column for field in schema if field.name in VISITS.names for column in _floating(field.name, field.type)]
    if floats:  # a float amount has lost its fen already; a float level or id is no better
        raise InputError(Text(f"列 {', '.join(floats)} 是浮点数：浮点数不能表示金额，请写成字符串或 decimal",
                              f"column {', '.join(floats)} holds floating-point numbers, which are never money: "
                              "write amounts as strings or decimals"), record=str(path), field=floats[0])
    insured = _carries_insurance(schema)
    columns = [*VISITS.names, INSURANCE] if INSURANCE in schema.names else VISITS.names
    first = 0
    for batch in source.iter_batches(batch_size=PARQUET_BATCH, columns=columns):
        raw = pa.Table.from_batches([batch])
        table = raw.select(VISITS.names).cast(VISITS)  # a line's insurance field is left out by the cast
        yield _table_chunk(table, first, table.num_rows, raw if insured else None)
        first += table.num_rows


def _csv_chunks(path: str | Path, encoding: str) -> Iterator[Chunk]:
    """CSV rows (one per charge line) grouped into visits: consecutive rows with one visit_id."""
    types = {name: pa.string() for name in FLAT_COLUMNS}
    types["disability_level"] = pa.int64()
    with open(path, "rb") as raw:
        reader = pa_csv.open_csv(Decoded(raw, encoding, refuse=True),
                                 read_options=pa_csv.ReadOptions(block_size=CSV_BLOCK),
                                 convert_options=pa_csv.ConvertOptions(
                                     column_types=types, strings_can_be_null=False,
                                     include_columns=list(FLAT_COLUMNS)))
        first, pending = 0, None
        for batch in reader:
            rows = pa.Table.from_batches([batch])
            if pending is not None:
                rows = pa.concat_tables([pending, rows])
            ids = rows.column("visit_id").to_numpy(zero_copy_only=False)
            last_start = len(ids) - 1
            while last_start > 0 and ids[last_start - 1] == ids[-1]:
                last_start -= 1
            pending = rows.slice(last_start)
            if last_start:
                table = nest(rows.slice(0, last_start))
                yield _table_chunk(table, first, 0)
                first += table.num_rows
        if pending is not None and pending.num_rows:
            yield _table_chunk(nest(pending), first, 0)


def _split(column: pa.ChunkedArray | pa.Array, separator: str) -> pa.Array:
    """``"a;b"`` → ``["a", "b"]``, ``""`` → ``[]``."""
    parts = pc.split_pattern(column, separator)
    return pc.if_else(pc.equal(column, ""), pa.scalar([], pa.list_(pa.string())), parts)


def _blank_to_null(column: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(column, ""), pa.scalar(None, pa.string()), column)


def nest(rows: pa.Table) -> pa.Table:
    """Flat CSV rows → the nested visit table (a visit per run of rows with one visit_id)."""
    rows = rows.combine_chunks()
    ids = rows.column("visit_id")
    starts = pc.indices_nonzero(pc.not_equal(ids.slice(1), ids.slice(0, len(ids) - 1))).to_numpy() + 1
    offsets = pa.array([0, *starts.tolist(), rows.num_rows], pa.int32())
    heads = rows.take(pa.array([0, *starts.tolist()], pa.int64()))

    def column(name: str) -> pa.Array:
        return heads.column(name).combine_chunks()

    cards = _split(column("credentials"), ";")
    fields = pc.split_pattern(pc.list_flatten(cards), "|")
    credential_values = pa.StructArray.from_arrays(
        [pc.list_element(fields, 0), pc.list_element(fields, 1),
         _blank_to_null(pc.list_element(fields, 2)), _blank_to_null(pc.list_element(fields, 3))],
        fields=list(CREDENTIAL))
    credentials = pa.ListArray.from_arrays(cards.offsets, credential_values)
    patient = pa.StructArray.from_arrays(
        [column("patient_id"), _blank_to_null(column("patient_name")), _blank_to_null(column("birth_date")),
         _split(column("categories"), ";"), column("disability_level"),
         _blank_to_null(column("disability_cause")), credentials], fields=list(PATIENT))

    def line_column(name: str) -> pa.Array:
        return rows.column(name).combine_chunks()

    line_values = pa.StructArray.from_arrays(
        [line_column("line_id"), _blank_to_null(line_column("item")), _blank_to_null(line_column("code")),
         line_column("amount"), _split(line_column("tags"), ";"), _blank_to_null(line_column("description"))],
        fields=list(LINE))
    lines = pa.ListArray.from_arrays(offsets, line_values)
    return pa.Table.from_arrays([column("visit_id"), column("date"), column("kind"), column("region"),
                                 patient, lines], schema=VISITS)


def flatten(table: pa.Table) -> pa.Table:
    """The nested visit table → one CSV row per charge line (the inverse of :func:`nest`)."""
    lines = table.column("lines").combine_chunks()
    parents = pc.list_parent_indices(lines)
    heads = table.take(parents)
    patient = heads.column("patient").combine_chunks()
    cards = patient.field("credentials")
    card_fields = cards.flatten()
    joined = pc.binary_join_element_wise(
        card_fields.field("kind"), card_fields.field("number"),
        pc.fill_null(card_fields.field("valid_from"), ""), pc.fill_null(card_fields.field("valid_to"), ""), "|")
    card_text = pc.binary_join(pa.ListArray.from_arrays(cards.offsets, joined), ";")
    line = pc.list_flatten(lines)

    def text(array: pa.Array) -> pa.Array:
        return pc.fill_null(array, "")

    def joined_list(array: pa.Array) -> pa.Array:
        return pc.fill_null(pc.binary_join(array, ";"), "")

    return pa.table({
        "visit_id": heads.column("visit_id"), "date": heads.column("date"), "kind": heads.column("kind"),
        "region": heads.column("region"), "patient_id": patient.field("id"),
        "patient_name": text(patient.field("name")), "birth_date": text(patient.field("birth_date")),
        "categories": joined_list(patient.field("categories")),
        "disability_level": patient.field("disability_level"),
        "disability_cause": text(patient.field("disability_cause")), "credentials": text(card_text),
        "line_id": line.field("line_id"), "item": text(line.field("item")), "code": text(line.field("code")),
        "amount": line.field("amount"), "tags": joined_list(line.field("tags")),
        "description": text(line.field("description")),
    })


def write_table(table: pa.Table, path: str | Path, fmt: str) -> None:
    """Write visits as Parquet (nested) or CSV (flat)."""
    write_records_in_chunks(iter([table]), path, fmt)


def write_records_in_chunks(tables: Iterator[pa.Table], path: str | Path, fmt: str) -> int:
    """Write a stream of visit tables into one Parquet (nested) or CSV (flat) file, a table at a
    time, so that memory stays flat; returns the visits written."""
    written = 0
    writer: pq.ParquetWriter | pa_csv.CSVWriter | None = None
    try:
        for table in tables:
            if fmt == "parquet":
                writer = writer or pq.ParquetWriter(path, VISITS)
                writer.write_table(table.cast(VISITS))
            elif fmt == "csv":
                flat = flatten(table)
                writer = writer or pa_csv.CSVWriter(path, flat.schema)
                writer.write_table(flat)
            else:
                raise ValueError(f"not a columnar format: {fmt}")
            written += table.num_rows
    finally:
        if writer is not None:
            writer.close()
    return written


def records_in_tables(records: Iterator[dict[str, Any]], size: int = 8192) -> Iterator[pa.Table]:
    """Contract records (dicts) as nested visit tables of ``size`` visits each."""
    batch: list[dict[str, Any]] = []
    for record in records:
        batch.append(record)
        if len(batch) == size:
            yield records_table(batch)
            batch = []
    if batch:
        yield records_table(batch)


def records_table(records: list[dict[str, Any]]) -> pa.Table:
    """Contract records (dicts) as the nested visit table, through the JSON reader."""
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")
    return pa_json.read_json(io.BytesIO(data), parse_options=pa_json.ParseOptions(
        explicit_schema=VISITS, unexpected_field_behavior="error"))
