"""Decisions of a chunk as JSON Lines, byte for byte what ``shuangyong evaluate`` writes.

The text is built over columns too: each line's JSON object is a concatenation of columns
(quoted ids, amounts as ``yuan.fen``); the first line of a visit carries the visit's head and
the last its tail, so the chunk's output is the data buffer of one string column. Visits the
row engine answered are spliced in at their place, so the output keeps the input order.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shuangyong.interchange.output import grants_json, quote, result_json, rule_json

if TYPE_CHECKING:
    from collections.abc import Iterator

    from shuangyong.batch.evaluate import ChunkResult, LineResults
    from shuangyong.batch.vector import VectorPolicy

_NEEDS_ESCAPE = re.compile(rb'["\\\x00-\x1f]')  #: what ``json`` escapes when it keeps non-ASCII as is


def quoted(values: pa.Array) -> pa.Array:
    """JSON string literals of a string column, escaped as ``json`` escapes them."""
    data = values.buffers()[2]
    if data is not None and _NEEDS_ESCAPE.search(memoryview(data)):  # one scan of the whole column
        return pa.array([quote(v) for v in values.to_pylist()], pa.string())
    return pc.binary_join_element_wise('"', values, '"', "")


_TABLE_SIZE = 200_000  #: amounts below 2,000 yuan are looked up, not formatted
_table: list[pa.Array] = []


def yuan_text(fen: np.ndarray) -> pa.Array:
    """1235 → ``"12.35"`` (amounts are never negative)."""
    if fen.max(initial=0) < _TABLE_SIZE:
        if not _table:
            _table.append(_format(np.arange(_TABLE_SIZE, dtype=np.int64)))
        return _table[0].take(pa.array(fen))
    return _format(fen)


def _format(fen: np.ndarray) -> pa.Array:
    whole = pc.cast(pa.array(fen // 100), pa.string())
    cents = pc.utf8_lpad(pc.cast(pa.array(fen % 100), pa.string()), width=2, padding="0")
    return pc.binary_join_element_wise(whole, cents, ".")


def _join(*parts: object) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def lines_text(lines: LineResults, policy: VectorPolicy, fingerprint: str) -> pa.Array:
    """One string per charge line; concatenated in order they are the visits' JSON Lines (a
    visit's first line carries the visit's head, its last the visit's tail)."""
    c = lines.columns
    rules = policy.rules
    rule_part = pa.array([rule_json(None, None)] + [rule_json(r.rule.rule_id, r.rule.clause) for r in rules])
    applied_head = pa.array([f'{{"rule":{quote(r.rule.rule_id)},"reduction":"' for r in rules])
    entries: list[object] = [""]
    earlier = np.zeros(len(c.amount), dtype=bool)  # a group before this one applied: comma first
    for g in range(len(policy.groups)):
        won = lines.winners[g] >= 0
        entry = _join(pc.if_else(pa.array(earlier), ",", ""),
                      applied_head.take(pa.array(np.where(won, lines.winners[g], 0))),
                      yuan_text(lines.taken[g]), '"}')
        entries.append(pc.if_else(pa.array(won), entry, ""))
        earlier |= won
    applied = _join(*entries)
    index = np.arange(len(c.amount))
    first, last = index == c.starts[c.line_visit], index == c.starts[c.line_visit + 1] - 1
    head = _join('{"visit_id":', quoted(c.table.column("visit_id").combine_chunks()),
                 f',"policy":{quote(fingerprint)},"lines":[')
    amount, reduction = lines.visit_amount, lines.visit_reduction
    grants = pa.array([grants_json(p.priorities, p.services, p.entitlements) for p in lines.grant_sets])
    tail = _join('],', grants.take(pa.array(lines.grant_key)), ',"totals":{"amount":"', yuan_text(amount),
                 '","reduction":"', yuan_text(reduction), '","payable":"', yuan_text(amount - reduction),
                 '"}}\n')
    # a visit's head before its first line and its tail after its last; null (nothing) elsewhere
    visit = c.line_visit
    return pc.binary_join_element_wise(
        head.take(pa.array(visit, mask=~first)), pc.if_else(pa.array(first), "", ","),
        '{"line_id":', quoted(c.line_id), ',"item":', quoted(c.item_name), ',"amount":"', yuan_text(c.amount),
        '","reduction":"', yuan_text(lines.reduction), '","payable":"', yuan_text(c.amount - lines.reduction),
        '",', rule_part.take(pa.array(lines.first + 1)), ',"applied":[', applied, "]}",
        tail.take(pa.array(visit, mask=~last)), "", null_handling="replace", null_replacement="")


def chunk_bytes(result: ChunkResult, policy: VectorPolicy, fingerprint: str) -> Iterator[bytes | memoryview]:
    """The chunk's JSON Lines in input order: column text, with row-engine answers spliced in."""
    data = memoryview(b"")
    starts = np.zeros(0, dtype=np.int64)
    if result.lines is not None:
        text = lines_text(result.lines, policy, fingerprint)
        _, offset_buffer, data_buffer = text.buffers()
        offsets = np.frombuffer(offset_buffer, dtype=np.int32)[text.offset:text.offset + len(text) + 1]
        offsets = offsets.astype(np.int64)
        data = memoryview(data_buffer)[offsets[0]:offsets[-1]]
        columns = result.lines.columns
        starts = offsets[columns.starts[:-1]] - offsets[0]
    cursor = 0
    for position in sorted(result.rows):
        k = int(np.searchsorted(result.vector, position))
        cut = int(starts[k]) if k < len(starts) else len(data)
        if cut > cursor:
            yield data[cursor:cut]
            cursor = cut
        yield (result_json(result.rows[position]) + "\n").encode("utf-8")
    if cursor < len(data):
        yield data[cursor:]
