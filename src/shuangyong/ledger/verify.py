"""Recompute a ledger from its rows alone: the chain, the totals, the caps, the reversals.

It trusts nothing the backend says beyond the rows themselves, so it finds a row edited behind
the library's back, a gap in the numbering, a grant posted twice, a line granted more than its
amount, a payer's yearly cap exceeded, or a payer left bearing more of a visit than was asked of
it. What the rows alone cannot show — rows removed from the end, or every row rewritten and
re-hashed — an anchor kept outside the ledger shows: ``expect`` is a head
(seq, hash) read earlier with :meth:`~shuangyong.ledger.Ledger.head`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from shuangyong.ledger.category import UNRECORDED
from shuangyong.ledger.posting import DEFAULT_PAYER, GENESIS, CapKey, GrantKey, Posting, row_hash
from shuangyong.text import Text

if TYPE_CHECKING:
    from collections.abc import Iterable


@attrs.frozen(slots=True)
class PayerTotal:
    """What one payer bears across the ledger, in fen."""

    payer: str
    granted_fen: int
    reversed_fen: int

    @property
    def net_fen(self) -> int:
        """Granted less reversed."""
        return self.granted_fen - self.reversed_fen


@attrs.frozen(slots=True)
class Verification:
    """What ``verify`` found: the rows, the sums, and each problem."""

    rows: int
    granted_fen: int  #: sum of grants
    reversed_fen: int  #: sum of reversals
    problems: tuple[Text, ...]
    #: per payer: the hospital first, then the others in the order they were first posted
    payers: tuple[PayerTotal, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether no problem was found."""
        return not self.problems

    @property
    def net_fen(self) -> int:
        """Grants less reversals, in fen."""
        return self.granted_fen - self.reversed_fen


def verify(postings: Iterable[Posting], expect: tuple[int, str] | None = None) -> Verification:
    """Every problem the rows show; with ``expect``, also whether row ``expect[0]`` still has the
    hash ``expect[1]`` (``(0, GENESIS)``: the empty ledger every ledger starts from)."""
    problems: list[Text] = []
    found_anchor = expect is None or expect[0] == 0
    lines: dict[tuple[str, str], int] = {}
    grants: dict[int, Posting] = {}
    keys: dict[GrantKey, int] = {}
    reversed_: set[int] = set()
    used: dict[CapKey, int] = {}
    borne: dict[tuple[str, str], int] = {}  #: net fen per (visit, payer)
    payers: dict[str, list[int]] = {}  #: payer → [granted, reversed], in order of first posting
    prev, count, granted, reversed_fen = GENESIS, 0, 0, 0
    for row in postings:
        count += 1
        if row.seq != count:
            problems.append(Text(f"第 {count} 条的序号是 {row.seq}（序号应连续）",
                                 f"row {count} has seq {row.seq} (numbering must have no gaps)"))
        if row.prev_hash != prev:
            problems.append(Text(f"第 {row.seq} 条的 prev_hash 与上一条不符",
                                 f"row {row.seq}: prev_hash breaks the chain"))
        if row_hash(row.as_dict()) != row.hash:
            problems.append(Text(f"第 {row.seq} 条的内容与其哈希不符（被改动过）",
                                 f"row {row.seq}: content does not match its hash (altered)"))
        prev = row.hash
        if expect is not None and row.seq == expect[0]:
            found_anchor = True
            if row.hash != expect[1]:
                problems.append(Text(f"第 {row.seq} 条的哈希与审计保存的链头 {expect[1]} 不符（账本被改写过）",
                                     f"row {row.seq}'s hash differs from the kept head {expect[1]} "
                                     "(the ledger was rewritten)"))
        if not 0 <= row.granted_fen <= row.requested_fen <= row.amount_fen:
            problems.append(Text(f"第 {row.seq} 条金额不合理（应 0 ≤ 实减 ≤ 申请 ≤ 金额）",
                                 f"row {row.seq}: amounts out of order (0 ≤ granted ≤ requested ≤ amount)"))
        borne[row.visit_id, row.payer] = borne.get((row.visit_id, row.payer), 0) + row.signed_fen
        sums = payers.setdefault(row.payer, [0, 0])
        if row.kind == "grant":
            granted += row.granted_fen
            sums[0] += row.granted_fen
            grants[row.seq] = row
            if row.grant_key in keys:
                problems.append(Text(f"第 {row.seq} 条与第 {keys[row.grant_key]} 条重复记账",
                                     f"row {row.seq} posts the same grant as row {keys[row.grant_key]}"))
            keys.setdefault(row.grant_key, row.seq)
            line = (row.visit_id, row.line_id)
            lines[line] = lines.get(line, 0) + row.granted_fen
            if lines[line] > row.amount_fen:
                problems.append(Text(f"第 {row.seq} 条使明细 {row.visit_id}/{row.line_id} 的减免合计 {lines[line]} 分"
                                     f"超过其金额 {row.amount_fen} 分",
                                     f"row {row.seq} brings line {row.visit_id}/{row.line_id}'s grants to "
                                     f"{lines[line]} fen, more than its amount {row.amount_fen} fen"))
            total = used.get(row.cap_key, 0) + row.granted_fen
            if row.year_cap_fen is not None and total > row.year_cap_fen:
                problems.append(Text(f"第 {row.seq} 条使 {row.payer} 负担的年度累计 {total} 分超过上限 "
                                     f"{row.year_cap_fen} 分",
                                     f"row {row.seq} brings the year's total borne by {row.payer} to {total} fen, "
                                     f"over the cap of {row.year_cap_fen} fen"))
            used[row.cap_key] = total
        else:
            reversed_fen += row.granted_fen
            sums[1] += row.granted_fen
            original = grants.get(row.reverses) if row.reverses is not None else None
            if original is None or row.reverses in reversed_:
                problems.append(Text(f"第 {row.seq} 条冲正的第 {row.reverses} 条不存在或已冲正",
                                     f"row {row.seq} reverses {row.reverses}, which is missing or already reversed"))
            # the category must be the grant's when recorded: a version before categories (still
            # running beside a newer one) reverses without one, and that is no tampering
            elif (original.grant_key, original.payer, original.granted_fen) != (
                    row.grant_key, row.payer, row.granted_fen) or row.category not in (UNRECORDED, original.category):
                problems.append(Text(f"第 {row.seq} 条冲正的内容与第 {row.reverses} 条不符",
                                     f"row {row.seq} does not match the grant {row.reverses} it reverses"))
            if row.reverses is not None:
                reversed_.add(row.reverses)
            used[row.cap_key] = used.get(row.cap_key, 0) - row.granted_fen
            line = (row.visit_id, row.line_id)
            lines[line] = lines.get(line, 0) - row.granted_fen
    problems.extend(_over_asked(borne, grants, reversed_))
    if expect is not None and not found_anchor:
        problems.append(Text(f"审计保存的链头是第 {expect[0]} 条，账本中没有这一条（共 {count} 条：记账被删除了）",
                             f"the kept head is row {expect[0]}, which the ledger no longer has ({count} rows: "
                             "rows were removed)"))
    elif expect is not None and expect[0] == 0 and expect[1] != GENESIS:
        problems.append(Text(f"链头 0 的哈希只能是 {GENESIS}", f"head 0 can only have the hash {GENESIS}"))
    hospital_first = sorted(payers, key=lambda payer: payer != DEFAULT_PAYER)  # stable: the rest keep their order
    return Verification(count, granted, reversed_fen, tuple(problems),
                        tuple(PayerTotal(payer, *payers[payer]) for payer in hospital_first))


def _over_asked(borne: dict[tuple[str, str], int], grants: dict[int, Posting], reversed_: set[int]) -> list[Text]:
    """Each (visit, payer) whose net grants exceed what its standing (not reversed) grants asked
    for. Rows that keep granted ≤ requested and reversals that match their grants never do; a
    reversal credited to another payer than its grant's does, and this names the payer left
    bearing what was cancelled."""
    asked: dict[tuple[str, str], int] = {}
    for seq, grant in grants.items():
        if seq not in reversed_:
            asked[grant.visit_id, grant.payer] = asked.get((grant.visit_id, grant.payer), 0) + grant.requested_fen
    return [Text(f"就诊 {visit} 由 {payer} 负担的净减免 {net} 分超过申请的 {asked.get((visit, payer), 0)} 分",
                 f"visit {visit}: net grants borne by {payer} total {net} fen, more than the "
                 f"{asked.get((visit, payer), 0)} fen requested")
            for (visit, payer), net in borne.items() if net > asked.get((visit, payer), 0)]
