"""Parquet read as columns, a batch of rows at a time. Its strings are UTF-8 by the format, and a
floating-point column is refused: floats are never money."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from shuangyong.batch.sources.table import VISITS, Chunk, table_chunk
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
    first = 0
    for batch in source.iter_batches(batch_size=PARQUET_BATCH, columns=VISITS.names):
        table = pa.Table.from_batches([batch]).cast(VISITS)
        yield table_chunk(table, first, table.num_rows)
        first += table.num_rows
