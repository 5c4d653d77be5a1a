"""Spreading a visit's insurance figures over its charge lines, exactly, in integer fen.

Some HIS know only the totals 医保 settled for a visit (what each fund paid, the self-pay parts),
not the figures per line. The engine decides line by line, so the totals are spread first: part
by part (the funds in ``model.insurance.fund_order``, then preliminary, in_scope, full, over_limit), each in
proportion to what every line still has unassigned, by largest remainder with ties going to the
earlier line in canonical order (``model.visit.line_order``). A part never takes more than a line
has left, and once the earlier parts are placed the last one takes exactly what is left, so every
line's parts add up to its amount and every part's lines add up to the visit's figure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shuangyong.model.insurance import SELF_PAY_PARTS, Insurance, ordered_funds
from shuangyong.model.visit import line_order
from shuangyong.money import from_fen, to_fen

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from decimal import Decimal


def largest_remainder(total: int, weights: Sequence[int]) -> list[int]:
    """``total`` split in proportion to ``weights`` (all ≥ 0, ``total`` ≤ their sum): each share is
    the floor of its exact part, and the fen left over go one each to the largest remainders, the
    earlier index first on a tie. No share exceeds its weight."""
    whole = sum(weights)
    if not total:
        return [0] * len(weights)
    if not 0 < total <= whole:
        raise ValueError(f"cannot share {total} in proportion to weights summing to {whole}")
    shares, remainders = [], []
    for index, weight in enumerate(weights):
        share, remainder = divmod(total * weight, whole)
        shares.append(share)
        remainders.append((-remainder, index))
    for _, index in sorted(remainders)[:total - sum(shares)]:
        shares[index] += 1
    return shares


def spread(insurance: Insurance, amounts: Iterable[tuple[str, Decimal]]) -> dict[str, Insurance]:
    """A visit's ``insurance`` over its lines, given as ``(line_id, amount)`` in any order; each
    line's share by line_id. The figures must add up to the lines' amounts (the contract checks
    that before, naming the record)."""
    lines = sorted(amounts, key=lambda line: line_order(line[0]))
    left = [to_fen(amount) for _, amount in lines]
    funds = ordered_funds(insurance.funds)
    parts = [to_fen(amount) for _, amount in funds] + [to_fen(getattr(insurance, p)) for p in SELF_PAY_PARTS]
    if sum(parts) != sum(left):
        raise ValueError(f"insurance parts add up to {sum(parts)} fen, the lines to {sum(left)} fen")
    columns = []
    for part in parts:
        shares = largest_remainder(part, left)
        left = [have - share for have, share in zip(left, shares, strict=True)]
        columns.append(shares)
    spread_lines = {}
    for index, (line_id, _) in enumerate(lines):
        fen = [column[index] for column in columns]
        self_pay = dict(zip(SELF_PAY_PARTS, map(from_fen, fen[len(funds):]), strict=True))
        spread_lines[line_id] = Insurance(
            tuple((fund, from_fen(share)) for (fund, _), share in zip(funds, fen[:len(funds)], strict=True)),
            **self_pay)
    return spread_lines
