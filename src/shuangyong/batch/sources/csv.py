"""CSV, a row per charge line, read a block at a time and nested into the visit table (a visit
whose rows straddle two blocks is carried over); and the nested table flattened back."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from shuangyong.batch.sources.decoding import Decoded
from shuangyong.batch.sources.table import CREDENTIAL, LINE, PATIENT, VISITS, Chunk, table_chunk

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

#: One row per charge line for CSV: the visit's and patient's columns repeat on each of its lines;
#: categories and tags are ``;``-separated, credentials ``kind|number|from|to`` joined by ``;``.
FLAT_COLUMNS = ("visit_id", "date", "kind", "region", "patient_id", "patient_name", "birth_date", "categories",
                "disability_level", "disability_cause", "credentials", "line_id", "item", "code", "amount",
                "tags", "description")
CSV_BLOCK = 4 << 20


def csv_chunks(path: str | Path, encoding: str) -> Iterator[Chunk]:
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
                yield table_chunk(table, first, 0)
                first += table.num_rows
        if pending is not None and pending.num_rows:
            yield table_chunk(nest(pending), first, 0)


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
