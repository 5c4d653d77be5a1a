"""Money: ``Decimal`` yuan, exact to the fen. Exactly one rounding function lives here.

Floats are refused everywhere: by the time a float reaches us the cents are already lost
(``0.1 + 0.2``), so accepting one would make "correct to the cent" a coincidence.

Internal module: ``parse_amount`` and ``format_amount`` are public from
:mod:`shuangyong.plugins` (docs/api.md), for adapters that read or write amounts.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from shuangyong.errors import MoneyError
from shuangyong.limits import MAX_AMOUNT
from shuangyong.text import Text

FEN = Decimal("0.01")
_PLAIN_FEN = re.compile(r"[0-9]{1,10}\.[0-9][0-9]", re.ASCII)  # "12.35", at most MAX_AMOUNT: the usual case
_PLAIN_FEN_LENGTH = 13  #: the longest text _PLAIN_FEN matches
#: the contract's written form of an amount: digits, then a point with one or two decimals, or none
#: (``"12"``, ``"12.3"``, ``"12.35"``). A minus sign and more decimals are read only to say which
#: rule they break; spaces, ``+``, exponents, ``".5"`` and ``"12."`` are not amounts.
_AMOUNT_TEXT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?", re.ASCII)
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)
#: how much of a refused value a message quotes: an amount of a million digits is named, not copied
_SHOWN = 40


def round_yuan(value: Decimal) -> Decimal:
    """Quantize to 0.01 yuan, half up. The only place in the library that rounds money."""
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def shown(value: object) -> str:
    """A refused value as messages quote it: ``repr``, cut to a readable length."""
    return _cut(repr(value))


def _cut(text: str) -> str:
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "…"


@lru_cache(maxsize=8192)
def _plain_fen(text: str) -> Decimal | None:
    """The amount ``text`` writes in the usual form (``"12.35"``), else ``None``. Remembered: a
    bill repeats a few prices many times over (a ``Decimal`` is immutable, so it is shared)."""
    return Decimal(text) if _PLAIN_FEN.fullmatch(text) else None


def parse_amount(value: object, *, record: str | None = None, field: str = "amount") -> Decimal:
    """Read an amount from input: a string (``"12.35"``), int, or Decimal; never a float.

    A string is digits with at most two decimals and nothing else (DESIGN §7). The amount must be
    non-negative, at most ``limits.MAX_AMOUNT`` (so that every sum fits int64 fen in the ledger,
    the batch path and spreadsheets) and have at most two decimal places: an HIS that sends
    ``"1.005"`` has a bug we should not hide by rounding it away. The result is quantized to the
    fen, which is what lets the rest of the library format amounts without rounding again.
    """
    if type(value) is str:  # exact types: a bool is an int, and a str subclass is no amount
        exact = _plain_fen(value) if len(value) <= _PLAIN_FEN_LENGTH else None  # a long text is never kept
        if exact is not None:
            return exact
        if not _AMOUNT_TEXT.fullmatch(value):
            raise MoneyError(Text(f"金额 {shown(value)} 不是数字（应为数字，最多两位小数，如 \"12.35\"）",
                                  f"amount {shown(value)} is not a number written as digits with at most "
                                  f"two decimals, such as \"12.35\""),
                             record=record, field=field, value=value)
        return _checked(Decimal(value), value, record, field)
    if type(value) is int:
        return _checked(Decimal(value), value, record, field)
    if type(value) is Decimal:
        if not value.is_finite():
            raise MoneyError(Text(f"金额 {shown(value)} 不是数字", f"amount {shown(value)} is not a number"),
                             record=record, field=field, value=value)
        return _checked(value, value, record, field)
    if isinstance(value, float):
        raise MoneyError(
            Text(f"金额不能是浮点数（收到 {shown(value)}），请以字符串传入，如 \"12.35\"",
                 f"amount must not be a float (got {shown(value)}); send it as a string such as \"12.35\""),
            record=record, field=field, value=value)
    raise MoneyError(
        Text(f"金额必须是字符串，收到 {type(value).__name__}",
             f"amount must be a string, got {type(value).__name__}"),
        record=record, field=field, value=value)


def _checked(amount: Decimal, value: object, record: str | None, field: str) -> Decimal:
    """A finite amount held to the contract's bounds: not negative, not above the maximum, whole fen."""
    number = _cut(str(value))
    if amount.is_signed():
        if not amount:  # "-0.00" is zero; keep the sign out of every output
            return ZERO
        raise MoneyError(Text(f"金额不能为负数（{number}）", f"amount must not be negative ({number})"),
                         record=record, field=field, value=value)
    if amount > MAX_AMOUNT:  # compared before quantizing: past 28 digits quantize itself fails
        raise MoneyError(Text(f"金额 {number} 超过上限 {MAX_AMOUNT} 元",
                              f"amount {number} is above the maximum of {MAX_AMOUNT} yuan"),
                         record=record, field=field, value=value)
    exact = amount.quantize(FEN)
    if exact != amount or (type(value) is str and len(value.partition(".")[2]) > 2):
        raise MoneyError(Text(f"金额 {number} 超过两位小数（分）",
                              f"amount {number} has more than two decimals (fen)"),
                         record=record, field=field, value=value)
    return exact


def parse_rate(text: str) -> Decimal:
    """Turn ``"50%"`` into ``Decimal("0.5")``; checked to lie within 0–100 %."""
    if not isinstance(text, str) or not text.endswith("%"):
        raise ValueError(f"a percentage is written like \"50%\", got {text!r}")
    if not _AMOUNT_TEXT.fullmatch(text[:-1].strip()):  # what Decimal also reads: "5_0", "1e2", "NaN"
        raise ValueError(f"{text!r} is not a percentage")
    rate = Decimal(text[:-1].strip()) / HUNDRED
    if not (0 <= rate <= 1):
        raise ValueError(f"a percentage must lie between 0% and 100%, got {text!r}")
    return rate


def format_amount(value: Decimal) -> str:
    """The JSON contract's string form: always two decimals.

    Every amount the library holds is already quantized to the fen (``parse_amount`` and
    ``round_yuan`` see to it, and sums and differences of such amounts stay so), so this is a
    plain ``str``; ``tests/test_properties.py`` checks the invariant on every output.
    """
    return str(value)


def to_fen(value: Decimal) -> int:
    """Whole fen of an amount already exact to the fen (the ledger and batch paths count in fen)."""
    fen = value * 100
    if fen != fen.to_integral_value():
        raise MoneyError(Text(f"金额 {value} 不是整分", f"amount {value} is not whole fen"), value=value)
    return int(fen)


def from_fen(fen: int) -> Decimal:
    """``1235`` → ``Decimal("12.35")``: exact, no rounding."""
    return Decimal(fen).scaleb(-2)
