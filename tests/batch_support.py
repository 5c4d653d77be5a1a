"""Helpers for the batch tests: visits as contract records, and both engines' JSON Lines."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from shuangyong.batch import BatchEngine, chunk_bytes
from shuangyong.batch.sources.jsonl import json_line_chunks
from shuangyong.engine import Engine
from shuangyong.interchange import read_records
from shuangyong.interchange.output import result_json
from shuangyong.model import Visit


def record_of(visit: Visit) -> dict[str, Any]:
    """The contract record a ``Visit`` was (or could have been) read from."""
    patient = visit.patient
    person: dict[str, Any] = {"id": patient.id, "categories": sorted(patient.categories), "credentials": [
        {"kind": c.kind, "number": c.number,
         "valid_from": c.validity.start.isoformat() if c.validity.start else None,
         "valid_to": c.validity.end.isoformat() if c.validity.end else None} for c in patient.credentials]}
    if patient.disability_level is not None:
        person["disability_level"] = patient.disability_level
    if patient.disability_cause is not None:
        person["disability_cause"] = patient.disability_cause
    if patient.birth_date is not None:
        person["birth_date"] = patient.birth_date.isoformat()
    return {"visit_id": visit.visit_id, "date": visit.date.isoformat(), "kind": visit.kind, "region": visit.region,
            "patient": person, "lines": [{"line_id": ln.line_id, "item": ln.item, "amount": str(ln.amount),
                                          "tags": sorted(ln.tags)} for ln in visit.lines]}


def jsonl(records: list[Any]) -> bytes:
    return "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n"
                   for r in records).encode("utf-8")


def row_output(engine: Engine, data: bytes) -> bytes:
    """What ``shuangyong evaluate --format jsonl`` writes for these JSON Lines."""
    batch = BatchEngine(engine)
    out = []
    for record in read_records(io.StringIO(data.decode("utf-8"))).records:
        out.append(result_json(batch.row(record)) + "\n")
    return "".join(out).encode("utf-8")


def batch_output(engine: Engine | BatchEngine, data: bytes, chunk_bytes_size: int = 1 << 20) -> bytes:
    batch = engine if isinstance(engine, BatchEngine) else BatchEngine(engine)
    pieces = []
    for chunk in json_line_chunks(io.BytesIO(data), chunk_bytes_size):
        pieces.extend(bytes(p) for p in chunk_bytes(batch.evaluate_chunk(chunk), batch.policy,
                                                    batch.engine.fingerprint))
    return b"".join(pieces)


def lines_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


#: what a careless or hostile HIS puts in a field: every spelling of an amount the contract
#: refuses or reads, wrong types, empty and over-long ids, impossible dates, unknown terms
HOSTILE: tuple[Any, ...] = (
    "", " 12.00", "+12.00", "1e3", ".5", "12.", "12", "12.5", "012.00", "-1.00", "-0.00", "12.345", "１２.00",
    "9999999999.99", "10000000000.00", "99999999999999999999.99", 12, 12.5, 0, -1, 5, 11, True, None, [], {},
    ["disabled_veteran"], ["astronaut"], [""], [None], "x" * 200, "x" * 201, "2025-02-30", "2025-03-01",
    "0000-01-01", "bed", "drug", "\t", "1", "2", "a10", "450100", "inpatient", {"kind": "x"},
)
#: where a mutation lands in ``tests.test_batch.good``'s record
PATHS: tuple[tuple[str | int, ...], ...] = (
    ("visit_id",), ("date",), ("kind",), ("region",), ("patient",), ("lines",), ("patient", "id"),
    ("patient", "name"), ("patient", "birth_date"), ("patient", "categories"), ("patient", "disability_level"),
    ("patient", "disability_cause"), ("patient", "credentials"), ("patient", "credentials", 0, "kind"),
    ("patient", "credentials", 0, "number"), ("patient", "credentials", 0, "valid_from"),
    ("patient", "credentials", 0, "valid_to"),
    *(("lines", n, name) for n in range(3) for name in ("line_id", "item", "amount", "tags", "code",
                                                          "description", "extra")),
)


def mutated(record: dict[str, Any], mutations: list[tuple[tuple[str | int, ...], Any, bool]]) -> dict[str, Any]:
    """``record`` with each (path, value, delete) applied in turn; a path that no longer leads
    anywhere (an earlier mutation replaced its parent) is skipped."""
    record = json.loads(json.dumps(record))
    for path, value, delete in mutations:
        parent: Any = record
        for step in path[:-1]:
            try:
                parent = parent[step]
            except (KeyError, IndexError, TypeError):
                break
        else:
            if isinstance(parent, dict):
                if delete:
                    parent.pop(path[-1], None)
                else:
                    parent[path[-1]] = value
    return record
