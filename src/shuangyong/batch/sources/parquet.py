"""Parquet read as columns, a batch of rows at a time. Its strings are UTF-8 by the format, and a
floating-point column is refused: floats are never money. Settlement figures (an ``insurance``
column, or field of the lines) send their rows, whole, to the row engine."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from shuangyong.batch.sources.table import INSURANCE, VISITS, Chunk, table_chunk
from shuangyong.errors import InputError
from shuangyong.text import Text

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

PARQUET_BATCH = 8192  #: visits per chunk from Parquet


def _floating(name: str, kind: pa.DataType) -> Iterator[str]:
    """The columns (dotted paths) of a Parquet schema that hold floating-point numbers."""
    if pa.types.is_floating(kind):
        yield name
    elif pa.types.is_struct(kind):
        for field in kind:
            yield from _floating(f"{name}.{field.name}", field.type)
    elif pa.types.is_list(kind) or pa.types.is_large_list(kind):
        yield from _floating(name, kind.value_type)


def parquet_chunks(source: pq.ParquetFile, path: str | Path) -> Iterator[Chunk]:
    """A Parquet file in the contract's nested schema, ``PARQUET_BATCH`` visits a chunk; a missing
    column, or a float column where an amount goes, is an ``InputError``."""
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
        if insured:
            yield table_chunk(table, first, table.num_rows, raw, _insured(raw))
        else:
            yield table_chunk(table, first, table.num_rows)
        first += table.num_rows


def _carries_insurance(schema: pa.Schema) -> bool:
    """Whether a file has settlement figures: an ``insurance`` column, or field of the lines."""
    lines = schema.field("lines").type
    return INSURANCE in schema.names or (pa.types.is_list(lines) and pa.types.is_struct(lines.value_type)
                                          and INSURANCE in {field.name for field in lines.value_type})


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
