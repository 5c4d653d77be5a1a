"""The ledger's rules, written once; a backend only stores and finds rows inside a transaction.

Every backend gives :class:`Ledger` the same few primitives (:class:`Transaction`). The rules —
idempotent grants, yearly caps, reversals, the hash chain — live here, so the in-memory,
SQLite and SQL-server ledgers cannot disagree about them. A transaction must hold the chain's
head exclusively from ``head()`` until it ends: that one lock is what makes caps hold under
concurrent writers and keeps the chain a line.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Protocol

from shuangyong.errors import LedgerError
from shuangyong.ledger.posting import (
    GENESIS,
    CapKey,
    GrantKey,
    Posting,
    PostingRequest,
    seal,
    utc_now,
)
from shuangyong.text import Text


class Transaction(Protocol):
    """What a backend does inside one atomic unit of work (all or nothing)."""

    def head(self) -> tuple[int, str]:
        """Lock the chain and return (last seq, last hash); ``(0, GENESIS)`` when empty."""

    def grants(self, keys: Iterable[GrantKey]) -> dict[GrantKey, Posting]:
        """The grants already posted under these keys."""

    def used(self, keys: Iterable[CapKey]) -> dict[CapKey, int]:
        """Net fen granted (grants less reversals) per (patient, rule, year); missing means 0."""

    def posting(self, seq: int) -> Posting | None:
        """The row with this sequence number."""

    def reversal_of(self, seq: int) -> Posting | None:
        """The reversal row that cancels grant ``seq``, if any."""

    def insert(self, postings: Sequence[Posting]) -> None:
        """Append rows, already sealed and numbered."""


class Ledger(ABC):
    """Append-only postings of granted concessions. Subclasses provide storage only."""

    url: str

    @abstractmethod
    def transaction(self) -> AbstractContextManager[Transaction]:
        """An atomic unit of work: committed when the block ends, rolled back if it raises."""

    @abstractmethod
    def postings(self) -> Iterator[Posting]:
        """Every row in sequence order."""

    def close(self) -> None:
        """Release connections; the default has none."""

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def post(self, requests: Sequence[PostingRequest]) -> list[Posting]:
        """Grant the requests atomically, each within its yearly cap; return the rows, one per
        request, in order. A request posted before returns its earlier row and writes nothing."""
        if not requests:
            return []
        keys = [request.grant_key for request in requests]
        if len(set(keys)) != len(keys):
            raise LedgerError(Text("同一批次中同一明细同一规则出现两次", "a batch asks for the same line and rule twice"),
                              record=requests[0].visit_id, field="line_id")
        with self.transaction() as tx:
            seq, prev = tx.head()
            earlier = tx.grants(keys)
            used = tx.used({r.cap_key for r in requests if r.year_cap_fen is not None})
            now = utc_now()
            rows: list[Posting] = []
            new: list[Posting] = []
            for request in requests:
                found = earlier.get(request.grant_key)
                if found is not None:
                    rows.append(found)
                    continue
                granted = request.requested_fen
                if request.year_cap_fen is not None:
                    spent = used.get(request.cap_key, 0)
                    granted = max(0, min(granted, request.year_cap_fen - spent))
                    used[request.cap_key] = spent + granted
                seq += 1
                posting = seal(dict(
                    seq=seq, kind="grant", visit_id=request.visit_id, line_id=request.line_id,
                    rule_id=request.rule_id, fingerprint=request.fingerprint, patient_key=request.patient_key,
                    item=request.item, business_date=request.business_date, amount_fen=request.amount_fen,
                    requested_fen=request.requested_fen, granted_fen=granted, year_cap_fen=request.year_cap_fen,
                    reverses=None, reason=None, posted_at=now, prev_hash=prev))
                prev = posting.hash
                rows.append(posting)
                new.append(posting)
            tx.insert(new)
        return rows

    def reverse(self, seq: int, reason: str) -> Posting:
        """Cancel grant ``seq`` with a reversal row; the grant itself stays as it was."""
        if type(seq) is not int:
            raise LedgerError(Text(f"记账序号必须是整数，收到 {seq!r}", f"posting number must be an integer, got {seq!r}"),
                              record=self.url, field="seq", value=seq)
        if not isinstance(reason, str) or not reason.strip():
            raise LedgerError(Text("冲正须写明原因", "a reversal needs a reason"), record=f"{self.url}#{seq}",
                              field="reason", value=reason)
        with self.transaction() as tx:
            last, prev = tx.head()
            grant = tx.posting(seq)
            if grant is None:
                raise LedgerError(Text(f"账本中没有第 {seq} 条记账", f"the ledger has no posting {seq}"),
                                  record=self.url, field="seq", value=seq)
            if grant.kind != "grant":
                raise LedgerError(Text(f"第 {seq} 条本身是冲正，不能再冲正", f"posting {seq} is a reversal itself"),
                                  record=f"{self.url}#{seq}", field="seq", value=seq)
            if tx.reversal_of(seq) is not None:
                raise LedgerError(Text(f"第 {seq} 条已被冲正", f"posting {seq} has already been reversed"),
                                  record=f"{self.url}#{seq}", field="seq", value=seq)
            reversal = seal(dict(
                seq=last + 1, kind="reversal", visit_id=grant.visit_id, line_id=grant.line_id,
                rule_id=grant.rule_id, fingerprint=grant.fingerprint, patient_key=grant.patient_key,
                item=grant.item, business_date=grant.business_date, amount_fen=grant.amount_fen,
                requested_fen=grant.requested_fen, granted_fen=grant.granted_fen, year_cap_fen=grant.year_cap_fen,
                reverses=seq, reason=reason.strip(), posted_at=utc_now(), prev_hash=prev))
            tx.insert([reversal])
        return reversal


def first_head(last: Posting | None) -> tuple[int, str]:
    """(seq, hash) of the chain's last row, or the genesis values for an empty ledger."""
    return (0, GENESIS) if last is None else (last.seq, last.hash)
