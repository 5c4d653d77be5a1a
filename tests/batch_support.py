"""Helpers for the batch tests: visits as contract records, and both engines' JSON Lines."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from shuangyong.batch import BatchEngine, chunk_bytes
from shuangyong.batch.sources import json_line_chunks
from shuangyong.engine import Engine
from shuangyong.interchange import read_records, result_json
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
        ok, value, _ = batch.row(record)
        out.append(result_json(ok, value[1] if ok else value, record) + "\n")
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
