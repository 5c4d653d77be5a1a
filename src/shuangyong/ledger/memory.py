"""A ledger in a Python list: for tests, demos and property checks. One lock serialises writers."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

from shuangyong.ledger.base import Ledger, first_head
from shuangyong.ledger.posting import CapKey, GrantKey, Posting


class _MemoryTransaction:
    def __init__(self, ledger: MemoryLedger) -> None:
        self.ledger = ledger
        self.pending: list[Posting] = []

    def head(self) -> tuple[int, str]:
        return first_head(self.ledger.rows[-1] if self.ledger.rows else None)

    def grants(self, keys: Iterable[GrantKey]) -> dict[GrantKey, Posting]:
        wanted = set(keys)
        return {row.grant_key: row for row in self.ledger.rows if row.kind == "grant" and row.grant_key in wanted}

    def used(self, keys: Iterable[CapKey]) -> dict[CapKey, int]:
        wanted = set(keys)
        totals: dict[CapKey, int] = {}
        for row in self.ledger.rows:
            if row.cap_key in wanted:
                totals[row.cap_key] = totals.get(row.cap_key, 0) + row.signed_fen
        return totals

    def posting(self, seq: int) -> Posting | None:
        return self.ledger.rows[seq - 1] if 0 < seq <= len(self.ledger.rows) else None

    def reversal_of(self, seq: int) -> Posting | None:
        return next((row for row in self.ledger.rows if row.reverses == seq), None)

    def insert(self, postings: Sequence[Posting]) -> None:
        self.pending.extend(postings)


class MemoryLedger(Ledger):
    """``memory:`` — gone when the process ends."""

    def __init__(self, url: str = "memory:") -> None:
        self.url = url
        self.rows: list[Posting] = []
        self._lock = threading.Lock()

    @contextmanager
    def transaction(self) -> Iterator[_MemoryTransaction]:
        with self._lock:
            tx = _MemoryTransaction(self)
            yield tx
            self.rows.extend(tx.pending)  # reached only if the block did not raise: all or nothing

    def postings(self) -> Iterator[Posting]:
        return iter(list(self.rows))
