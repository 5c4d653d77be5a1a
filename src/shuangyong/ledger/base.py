"""The ledger's rules, written once; a backend only stores and finds rows inside a transaction.

Every backend gives :class:`Ledger` the same few primitives (:class:`Transaction`). The rules —
idempotent grants, yearly caps, reversals, the hash chain — live here, so the in-memory,
SQLite and SQL-server ledgers cannot disagree about them. A transaction must hold the chain's
head exclusively from ``head()`` until it ends: that one lock is what makes caps hold under
concurrent writers and keeps the chain a line.
"""

from __future__ import annotations

import collections
from abc import ABC, abstractmethod
from collections import Counter
from typing import TYPE_CHECKING, Protocol

from shuangyong.errors import LedgerError
from shuangyong.ledger.posting import (
    CONTENT_FIELDS,
    GENESIS,
    CapKey,
    GrantKey,
    Posting,
    PostingRequest,
    seal,
    utc_now,
)
from shuangyong.text import Text

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence
    from contextlib import AbstractContextManager

PSEUDONYMISATION = "pseudonymisation"  #: the setting that fixes how a ledger keys patients


class Transaction(Protocol):
    """What a backend does inside one atomic unit of work (all or nothing)."""

    def head(self) -> tuple[int, str]:
        """Lock the chain and return (last seq, last hash); ``(0, GENESIS)`` when empty."""

    def visit_rows(self, visit_ids: Iterable[str]) -> list[Posting]:
        """Every row (grants and reversals) already posted for these visits, in seq order."""

    def used(self, keys: Iterable[CapKey]) -> dict[CapKey, int]:
        """Net fen granted (grants less reversals) per (patient, rule, payer, year); missing means 0."""

    def posting(self, seq: int) -> Posting | None:
        """The row with this sequence number."""

    def reversal_of(self, seq: int) -> Posting | None:
        """The reversal row that cancels grant ``seq``, if any."""

    def setting(self, name: str) -> str | None:
        """A ledger-wide setting fixed when first needed (``pseudonymisation``), or None."""

    def fix_setting(self, name: str, value: str) -> None:
        """Record a setting not yet recorded; settings are never changed afterwards."""

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

    def head(self) -> tuple[int, str]:
        """(last seq, its hash) — ``(0, GENESIS)`` when empty: the anchor an auditor keeps. Read
        without taking the write lock, so a read-only copy of a ledger has a head too."""
        last = collections.deque(self.postings(), maxlen=1)
        return first_head(last[0] if last else None)

    def close(self) -> None:  # noqa: B027 - a default that does nothing, for backends without connections
        """Release connections; the default has none."""

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def post(self, requests: Sequence[PostingRequest]) -> list[Posting]:
        """Grant the requests atomically, each within its payer's yearly cap; return the rows, one
        per request, in order. A request posted before with the same content returns its earlier
        row and writes nothing; one posted before with other content, a line already granted under
        another policy, or a patient keyed another way than the ledger's is refused (nothing of
        the batch is written)."""
        if not requests:
            return []
        counts = Counter(request.grant_key for request in requests)
        duplicate = next((r for r in requests if counts[r.grant_key] > 1), None)
        if duplicate is not None:
            raise LedgerError(Text("同一批次中同一明细同一规则出现两次",
                                   "a batch asks for the same line and rule twice"),
                              record=f"{duplicate.visit_id}/{duplicate.line_id}", field="rule_id",
                              value=duplicate.rule_id)
        try:
            with self.transaction() as tx:
                return self._post(tx, requests)
        except LedgerError as error:  # a backend's refusal names the ledger: name the visits too
            if error.record != self.url:
                raise
            raise error.located(record=", ".join(dict.fromkeys(r.visit_id for r in requests))) from None

    def _post(self, tx: Transaction, requests: Sequence[PostingRequest]) -> list[Posting]:
        seq, prev = tx.head()
        self._fix_pseudonymisation(tx, requests)
        lines = _Lines(tx.visit_rows({request.visit_id for request in requests}))
        used = tx.used({r.cap_key for r in requests if r.year_cap_fen is not None})
        now = utc_now()
        rows: list[Posting] = []
        new: list[Posting] = []
        for request in requests:
            found = lines.earlier(request)
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
                rule_id=request.rule_id, payer=request.payer, category=request.category,
                fingerprint=request.fingerprint, patient_key=request.patient_key, item=request.item,
                business_date=request.business_date,
                amount_fen=request.amount_fen, requested_fen=request.requested_fen, granted_fen=granted,
                year_cap_fen=request.year_cap_fen,
                reverses=None, reason=None, posted_at=now, prev_hash=prev))
            lines.add(posting)
            prev = posting.hash
            rows.append(posting)
            new.append(posting)
        tx.insert(new)
        return rows

    def _fix_pseudonymisation(self, tx: Transaction, requests: Sequence[PostingRequest]) -> None:
        """A ledger keys patients one way for good (fixed by its first grant): two ways in one
        ledger would count one person as two and split their yearly caps."""
        asked = {request.pseudonym for request in requests}
        fixed = tx.setting(PSEUDONYMISATION)
        if fixed is None and len(asked) == 1:
            tx.fix_setting(PSEUDONYMISATION, asked.pop())
            return
        other = next((a for a in sorted(asked) if a != fixed), None)
        if other is not None:
            raise LedgerError(Text(f"账本 {self.url} 的患者标识方式固定为 {fixed or '（未定）'}，本次为 {other}："
                                   "同一患者会被算作两人、年度封顶失效；请用同一方式（同一 --pseudonymise 密钥）记账",
                                   f"ledger {self.url} keys patients as {fixed or '(not fixed)'}, this posting as "
                                   f"{other}: one patient would count as two and escape the yearly caps; post "
                                   "the same way (the same --pseudonymise key) every time"),
                              record=requests[0].visit_id, field="pseudonymise", value=other)

    def reverse(self, seq: int, reason: str) -> Posting:
        """Cancel grant ``seq`` with a reversal row; the grant itself stays as it was."""
        if type(seq) is not int:
            raise LedgerError(Text(f"记账序号必须是整数，收到 {seq!r}",
                                   f"posting number must be an integer, got {seq!r}"),
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
                rule_id=grant.rule_id, payer=grant.payer, category=grant.category, fingerprint=grant.fingerprint,
                patient_key=grant.patient_key, item=grant.item, business_date=grant.business_date,
                amount_fen=grant.amount_fen, requested_fen=grant.requested_fen, granted_fen=grant.granted_fen,
                year_cap_fen=grant.year_cap_fen,
                reverses=seq, reason=reason.strip(), posted_at=utc_now(), prev_hash=prev))
            tx.insert([reversal])
        return reversal


class _Lines:
    """What a batch needs to know of the rows already posted for its visits: the grant under
    each key, and the live (not reversed) grants of each line, which every later grant on the
    line must agree with."""

    def __init__(self, rows: Sequence[Posting]) -> None:
        self.grants: dict[GrantKey, Posting] = {}
        self.live: dict[tuple[str, str], list[Posting]] = {}
        self.reversed = {row.reverses: row.seq for row in rows if row.kind == "reversal"}
        for row in rows:
            if row.kind == "grant":
                self.add(row, live=row.seq not in self.reversed)

    def add(self, grant: Posting, *, live: bool = True) -> None:
        self.grants[grant.grant_key] = grant
        if live:
            self.live.setdefault((grant.visit_id, grant.line_id), []).append(grant)

    def earlier(self, request: PostingRequest) -> Posting | None:
        """The grant this request repeats, or None for a new one; a request that contradicts
        what is posted (another patient, payer, amount, item, reduction or date under the same key;
        another item or amount on the same line; another policy's live grant on the line; more
        than the line's amount in all) is refused."""
        where = f"{request.visit_id}/{request.line_id}"
        found = self.grants.get(request.grant_key)
        live = self.live.get((request.visit_id, request.line_id), [])
        line = live[0] if live else None
        for name in CONTENT_FIELDS:
            before = found or (line if name in _LINE_FIELDS else None)
            if before is not None and getattr(before, name) != getattr(request, name):
                raise LedgerError(Text(
                    f"就诊 {request.visit_id} 已于第 {before.seq} 条记账，{name} 为 {getattr(before, name)}，"
                    f"本次为 {getattr(request, name)}：就诊号重复而内容不同，拒绝记账，不返回旧结果（请用新的就诊号）",
                    f"visit {request.visit_id} was posted as row {before.seq} with {name} "
                    f"{getattr(before, name)}, now {getattr(request, name)}: a visit id re-used with other "
                    "content is refused, not answered with the earlier grant (use a new visit id)"),
                    record=where, field=name, value=getattr(request, name))
        if found is not None and found.seq in self.reversed:
            raise LedgerError(Text(f"明细 {where} 的这笔减免（第 {found.seq} 条）"
                                   f"已被第 {self.reversed[found.seq]} 条冲正，不能按原样再记；请以新的就诊号记账",
                                   f"this grant on line {where} (row {found.seq}) was reversed by row "
                                   f"{self.reversed[found.seq]} and cannot be posted again as it was; post the "
                                   "visit under a new visit id"),
                              record=where, field="visit_id", value=request.visit_id)
        if found is not None:
            return found
        other = next((grant for grant in live if grant.fingerprint != request.fingerprint), None)
        if other is not None:
            raise LedgerError(Text(
                f"明细 {where} 已按政策 {other.fingerprint} 减免（第 {other.seq} 条），不能再按政策 "
                f"{request.fingerprint} 减免；如需按新政策重算，请先冲正第 {other.seq} 条",
                f"line {where} is already granted under policy {other.fingerprint} (row {other.seq}), "
                f"so it cannot be granted again under {request.fingerprint}; to grant it under the new "
                f"policy, reverse row {other.seq} first"),
                record=where, field="fingerprint", value=request.fingerprint)
        total = sum(grant.granted_fen for grant in live) + request.requested_fen
        if total > request.amount_fen:
            raise LedgerError(Text(f"明细 {where} 的减免合计 {total} 分将超过其金额 {request.amount_fen} 分",
                                   f"line {where}'s grants would total {total} fen, more than its amount "
                                   f"{request.amount_fen} fen"),
                              record=where, field="requested_fen", value=request.requested_fen)
        return None


_LINE_FIELDS = ("item", "amount_fen")  #: what every live grant on one line shares


def first_head(last: Posting | None) -> tuple[int, str]:
    """(seq, hash) of the chain's last row, or the genesis values for an empty ledger."""
    return (0, GENESIS) if last is None else (last.seq, last.hash)
