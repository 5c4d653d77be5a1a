"""Reading visits in chunks of columns: JSON Lines, Parquet and CSV, all into one nested table.

Every format becomes the same Arrow table, whose schema mirrors the JSON contract (a row per
visit, its patient a struct, its lines a list of structs), so the evaluation has one input.
A chunk also keeps a way back to each visit as a record the row engine reads
(:class:`~shuangyong.interchange.framing.RawRecord`): whatever the columns cannot take exactly (a record
pyarrow refuses, a value it reads more leniently than the contract) goes to the row engine,
which then gives the very answer, or error, that ``shuangyong evaluate`` would.

Memory stays flat: JSON Lines are read a block of whole lines at a time, Parquet a batch of rows
at a time, CSV a block at a time (a visit whose rows straddle two blocks is carried over).

One module a format (``jsonl``, ``parquet``, ``csv``), on top of ``table`` (the visit table and
its chunks) and ``decoding`` (the text formats' encodings); ``writers`` writes visits as Parquet
or CSV. This module picks the reader for a file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from shuangyong.batch.sources.csv import csv_chunks
from shuangyong.batch.sources.decoding import Decoded
from shuangyong.batch.sources.jsonl import json_line_chunks
from shuangyong.batch.sources.parquet import parquet_chunks
from shuangyong.batch.sources.table import Chunk
from shuangyong.batch.sources.writers import records_in_tables, write_records_in_chunks
from shuangyong.errors import InputError
from shuangyong.limits import ENCODINGS
from shuangyong.text import Text

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["FORMATS", "Chunk", "detect_format", "read_chunks", "records_in_tables", "total_size",
           "write_records_in_chunks"]

FORMATS = ("jsonl", "parquet", "csv")


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


def read_chunks(path: str | Path, fmt: str | None = None, encoding: str = ENCODINGS[0], *,
                empty: bool = False) -> Iterator[Chunk]:
    """The visits of a file in chunks; ``fmt`` is one of :data:`FORMATS` (default: by suffix),
    ``encoding`` one of ``limits.ENCODINGS`` (JSON Lines and CSV). A file without a single
    record is refused, as ``shuangyong evaluate`` refuses an empty input, unless ``empty`` (one
    partition of a dataset, which may hold none)."""
    fmt = fmt or detect_format(path)
    records = 0
    try:
        for chunk in _chunks(path, fmt, encoding):
            records += chunk.count
            yield chunk
    except (OSError, pa.ArrowException) as error:
        raise InputError(Text(f"无法读取 {path}（{fmt}）：{error}", f"cannot read {path} as {fmt}: {error}"),
                         record=str(path)) from None
    if not records and not empty:
        raise InputError(Text("输入为空：没有任何就诊记录", "empty input: no visit records"), record=str(path))


def _chunks(path: str | Path, fmt: str, encoding: str) -> Iterator[Chunk]:
    if fmt == "parquet":
        yield from parquet_chunks(pq.ParquetFile(path), path)
    elif fmt == "csv":
        yield from csv_chunks(path, encoding)
    else:
        with open(path, "rb") as raw:
            yield from json_line_chunks(Decoded(raw, encoding))
