"""JSON Lines read as columns, a block of whole lines at a time; the lines Arrow refuses, and
those with settlement figures, go to the row engine."""

from __future__ import annotations

import io
import re
from typing import IO, TYPE_CHECKING

import pyarrow as pa
import pyarrow.json as pa_json

from shuangyong.batch.sources.decoding import CHUNK_BYTES, Decoded
from shuangyong.batch.sources.table import VISITS, Chunk
from shuangyong.interchange import framing
from shuangyong.interchange.framing import RawRecord, too_long

if TYPE_CHECKING:
    from collections.abc import Iterator

    from shuangyong.errors import InputError

#: ``"categories": null`` is an error in the contract but reads like a missing list in Arrow
_NULL_LIST = re.compile(rb'"(?:categories|credentials|tags)"\s*:\s*null')
#: a visit with settlement figures (contract 1.1) goes to the row engine. A key spelled with
#: escapes (``"\u0069nsurance"``) is not seen here, but Arrow refuses it as an unknown field,
#: which sends its line to the row engine all the same.
_INSURANCE = re.compile(rb'"insurance"\s*:')


def json_line_chunks(handle: Decoded | IO[bytes], chunk_bytes: int = CHUNK_BYTES) -> Iterator[Chunk]:
    """JSON Lines (UTF-8) a block of whole lines at a time; the lines Arrow refuses go to the row
    engine (it then names the bad record exactly as ``shuangyong evaluate`` does), and so do a
    line :class:`Decoded` could not decode and a line longer than ``limits.MAX_RECORD_BYTES``,
    as their errors."""
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
        texts, lines, positions = [], [], []
        pieces = data.split(b"\n")
        for offset, raw in enumerate(pieces):
            if raw.strip(b" \t\n\r"):  # JSON's white space only, as evaluate; lines end as "\n"
                ended = offset < len(pieces) - 1
                if len(raw) + ended > framing.MAX_RECORD_BYTES:  # as evaluate counts it, "\n" included
                    problems[line_number + offset + 1] = too_long(line_number + offset + 1)
                    raw = b"{}"
                texts.append(raw.removesuffix(b"\r") + b"\n" if ended else raw)
                lines.append(raw + b"\n" if ended else raw)  # as evaluate reads it, for the row engine
                positions.append(line_number + offset + 1)
        line_number += data.count(b"\n")
        if texts:
            yield _json_chunk(data, texts, lines, positions,
                              {n: problems.pop(line) for n, line in enumerate(positions) if line in problems})
        if not block:
            return


def _json_chunk(data: bytes, texts: list[bytes], lines: list[bytes], positions: list[int],
                problems: dict[int, InputError]) -> Chunk:
    def record(index: int) -> RawRecord:
        return RawRecord(positions[index], text="" if index in problems else lines[index].decode("utf-8"))

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
