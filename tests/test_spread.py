"""Spreading a visit's insurance over its lines (model.spread): exact, never negative, and the
same whatever order the lines come in."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shuangyong.model.insurance import SELF_PAY_PARTS, Insurance, fund_order
from shuangyong.model.registry import BUILTIN_FUNDS
from shuangyong.model.spread import largest_remainder, spread
from shuangyong.money import from_fen

FUNDS = (*BUILTIN_FUNDS, "plugin_fund")


@st.composite
def visits(draw: st.DrawFn) -> tuple[Insurance, list[tuple[str, Decimal]]]:
    """Lines (distinct ids, amounts in fen, zeros included) and visit figures cut from their total."""
    ids = draw(st.lists(st.from_regex(r"[0-9]{1,3}|[a-z][0-9]?", fullmatch=True), min_size=1, max_size=8,
                        unique=True))
    amounts = draw(st.lists(st.integers(0, 10**7), min_size=len(ids), max_size=len(ids)))
    funds = draw(st.lists(st.sampled_from(FUNDS), unique=True, max_size=4))
    cuts = sorted(draw(st.lists(st.integers(0, sum(amounts)), min_size=len(funds) + 3,
                                max_size=len(funds) + 3)))
    parts = [high - low for low, high in zip([0, *cuts], [*cuts, sum(amounts)], strict=True)]
    insurance = Insurance(tuple((fund, from_fen(part)) for fund, part in zip(funds, parts, strict=False)),
                          **dict(zip(SELF_PAY_PARTS, map(from_fen, parts[len(funds):]), strict=True)))
    return insurance, [(line_id, from_fen(fen)) for line_id, fen in zip(ids, amounts, strict=True)]


def columns(insurance: Insurance) -> dict[str, Decimal]:
    return {**dict(insurance.funds), **{part: getattr(insurance, part) for part in SELF_PAY_PARTS}}


@settings(max_examples=300, deadline=None)
@given(visits(), st.randoms(use_true_random=False))
def test_spread_is_exact_never_negative_and_order_free(visit: tuple[Insurance, list[tuple[str, Decimal]]],
                                                      shuffler: random.Random) -> None:
    """Every line's parts add up to its amount; every part's lines add up to the visit's figure;
    no share is negative; shuffling the lines (and the funds) changes nothing."""
    insurance, lines = visit
    shares = spread(insurance, lines)
    shuffled_lines, shuffled_funds = list(lines), list(insurance.funds)
    shuffler.shuffle(shuffled_lines)
    shuffler.shuffle(shuffled_funds)
    again = spread(Insurance(tuple(shuffled_funds), insurance.preliminary, insurance.in_scope, insurance.full,
                             insurance.over_limit), shuffled_lines)
    assert shares == again
    assert {line_id: amount for line_id, amount in lines} == {line_id: share.total for line_id, share in shares.items()}
    figures = columns(insurance)
    sums = {name: sum((columns(share)[name] for share in shares.values()), Decimal("0.00")) for name in figures}
    assert figures == sums
    assert all(value >= 0 for share in shares.values() for value in columns(share).values())


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 10**9), min_size=1, max_size=10), st.data())
def test_largest_remainder_shares_exactly_within_weights(weights: list[int], data: st.DataObject) -> None:
    total = data.draw(st.integers(0, sum(weights)))
    shares = largest_remainder(total, weights)
    pairs = list(zip(shares, weights, strict=True))
    assert (total, True) == (sum(shares), all(0 <= share <= weight for share, weight in pairs))
    # each share is within one fen of its exact proportional part
    assert all(abs(share * sum(weights) - total * weight) < sum(weights) or not sum(weights)
               for share, weight in pairs)


def test_a_worked_example() -> None:
    """100.00 over 33.33 + 33.33 + 33.34: 60.01 from basic_pool, then 10.00 from critical_illness…
    Ties on the remainder go to the earlier line in canonical order ("2" before "10")."""
    insurance = Insurance((("critical_illness", Decimal("10.00")), ("basic_pool", Decimal("60.01"))),
                          Decimal("5.00"), Decimal("14.99"), Decimal("10.00"))
    shares = spread(insurance, [("10", Decimal("33.33")), ("2", Decimal("33.33")), ("1", Decimal("33.34"))])
    assert {"1": ("20.01", "3.34", "1.66", "5.00", "3.33"),
            "2": ("20.00", "3.33", "1.67", "5.00", "3.33"),
            "10": ("20.00", "3.33", "1.67", "4.99", "3.34")} == {
        line_id: (*(str(amount) for _, amount in share.funds), str(share.preliminary), str(share.in_scope),
                  str(share.full)) for line_id, share in shares.items()}
    assert ("basic_pool", "critical_illness") == tuple(fund for fund, _ in shares["1"].funds)


def test_fund_order_builtins_first_then_by_id() -> None:
    assert ["basic_pool", "other_fund", "a_plugin_fund", "z_plugin_fund"] == sorted(
        ["z_plugin_fund", "other_fund", "a_plugin_fund", "basic_pool"], key=fund_order)


@pytest.mark.parametrize(("total", "weights"), [(5, [1, 2]), (1, [0, 0])])
def test_more_than_the_weights_is_refused(total: int, weights: list[int]) -> None:
    with pytest.raises(ValueError, match=f"cannot share {total}"):
        largest_remainder(total, weights)


def test_figures_that_do_not_add_up_are_refused() -> None:
    """The contract checks this first, naming the record; the function refuses it too."""
    with pytest.raises(ValueError, match="add up to 1000 fen, the lines to 999 fen"):
        spread(Insurance(full=Decimal("10.00")), [("1", Decimal("9.99"))])
