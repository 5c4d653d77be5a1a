"""Visits written as Parquet (nested) or CSV (flat), from visit tables or contract records."""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from shuangyong.batch.sources.csv import flatten
from shuangyong.batch.sources.table import VISITS

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


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
