"""A ledger in a Python list: for tests, demos and property checks. One lock serialises writers."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING

from typing_extensions import override

from shuangyong.errors import LedgerError
from shuangyong.ledger.base import Ledger, first_head
from shuangyong.text import Text

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from shuangyong.ledger.posting import CapKey, Posting


class _MemoryTransaction:
    def __init__(self, ledger: MemoryLedger) -> None:
        self.ledger = ledger
        self.pending: list[Posting] = []
        self.settings: dict[str, str] = {}

    def head(self) -> tuple[int, str]:
        return first_head(self.ledger.rows[-1] if self.ledger.rows else None)

    def visit_rows(self, visit_ids: Iterable[str]) -> list[Posting]:
        wanted = set(visit_ids)
        return [row for row in self.ledger.rows if row.visit_id in wanted]

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

    def setting(self, name: str) -> str | None:
        return self.settings.get(name, self.ledger.settings.get(name))

    def fix_setting(self, name: str, value: str) -> None:
        self.settings[name] = value

    def insert(self, postings: Sequence[Posting]) -> None:
        self.pending.extend(postings)


class MemoryLedger(Ledger):
    """``memory:`` — gone when the process ends."""

    def __init__(self, url: str = "memory:", *, create: bool = True) -> None:
        """A memory ledger is always new, so one that must already exist (``create=False``:
        verify, export, reverse, head) is refused rather than reported empty and verified."""
        if not create:
            raise LedgerError(Text("memory: 账本只存在于一个进程之内，没有可打开的已有账本",
                                   "a memory: ledger lives only inside one process; there is no existing one to open"),
                              record=url, field="ledger")
        self.url = url
        self.rows: list[Posting] = []
        self.settings: dict[str, str] = {}
        self._lock = threading.Lock()

    @override
    @contextmanager
    def transaction(self) -> Iterator[_MemoryTransaction]:
        with self._lock:
            tx = _MemoryTransaction(self)
            yield tx
            self.rows.extend(tx.pending)  # reached only if the block did not raise: all or nothing
            self.settings.update(tx.settings)

    @override
    def postings(self) -> Iterator[Posting]:
        return iter(list(self.rows))
