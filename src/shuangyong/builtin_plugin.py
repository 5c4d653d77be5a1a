"""The library's own behaviour, registered through the same hooks a third-party plugin uses."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import IO, Any

import attrs

from shuangyong.hookspecs import hookimpl
from shuangyong.ledger import Ledger, MemoryLedger, Posting, PostingRequest, SQLiteLedger
from shuangyong.ledger.export import write_csv, write_jsonl


@attrs.frozen(slots=True)
class LedgerExporter:
    """Writes ledger postings; ``subjects`` says it takes nothing else."""

    write_postings: Any
    suffix: str
    subjects: frozenset[str] = frozenset({"ledger"})

    def write(self, subject: str, data: Iterable[Posting], target: IO[bytes]) -> None:
        self.write_postings(data, target)


@hookimpl
def register_storage() -> Mapping[str, Any]:
    return {"memory": MemoryLedger, "sqlite": SQLiteLedger}


@hookimpl
def register_exporters() -> Mapping[str, Any]:
    return {"jsonl": LedgerExporter(write_jsonl, ".jsonl"), "csv": LedgerExporter(write_csv, ".csv")}


@hookimpl
def ledger_append(ledger: Ledger, requests: list[PostingRequest]) -> list[Posting]:
    return ledger.post(requests)
