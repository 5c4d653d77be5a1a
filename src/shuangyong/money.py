"""Money: ``Decimal`` yuan, exact to the fen. Exactly one rounding function lives here.

Floats are refused everywhere: by the time a float reaches us the cents are already lost
(``0.1 + 0.2``), so accepting one would make "correct to the cent" a coincidence.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from shuangyong.errors import MoneyError
from shuangyong.text import Text

FEN = Decimal("0.01")
_PLAIN_FEN = re.compile(r"[0-9]+\.[0-9][0-9]")
#: what ``Decimal`` reads, minus what it reads too generously: "1_000", full-width "１２"
_DECIMAL_TEXT = re.compile(r"\s*[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?\s*", re.ASCII)
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)


def round_yuan(value: Decimal) -> Decimal:
    """Quantize to 0.01 yuan, half up. The only place in the library that rounds money."""
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def parse_amount(value: object, *, record: str | None = None, field: str = "amount") -> Decimal:
    """Read an amount from input: a string (``"12.35"``), int, or Decimal; never a float.

    The amount must be non-negative and have at most two decimal places: an HIS that sends
    ``"1.005"`` has a bug we should not hide by rounding it away. The result is quantized to the
    fen, which is what lets the rest of the library format amounts without rounding again.
    """
    kind = type(value)
    if kind is str and _PLAIN_FEN.fullmatch(value):  # type: ignore[arg-type]  # "12.35": the usual case
        return Decimal(value)  # type: ignore[arg-type]
    if kind is str or kind is int or kind is Decimal:
        try:
            if kind is str and not _DECIMAL_TEXT.fullmatch(value):  # type: ignore[arg-type]
                raise InvalidOperation
            amount = value if kind is Decimal else Decimal(value)  # type: ignore[arg-type]
            exact = amount.quantize(FEN)
            if not exact.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            raise MoneyError(Text(f"金额 {value!r} 不是数字", f"amount {value!r} is not a number"),
                             record=record, field=field, value=value) from None
        if exact != amount:
            raise MoneyError(
                Text(f"金额 {value} 超过两位小数（分）", f"amount {value} has more than two decimals (fen)"),
                record=record, field=field, value=value)
        if exact.is_signed():
            if not exact:  # "-0.00" is zero; keep the sign out of every output
                return ZERO
            raise MoneyError(Text(f"金额不能为负数（{value}）", f"amount must not be negative ({value})"),
                             record=record, field=field, value=value)
        return exact
    if isinstance(value, float):
        raise MoneyError(
            Text(f"金额不能是浮点数（收到 {value!r}），请以字符串传入，如 \"12.35\"",
                 f"amount must not be a float (got {value!r}); send it as a string such as \"12.35\""),
            record=record, field=field, value=value)
    raise MoneyError(
        Text(f"金额必须是字符串，收到 {type(value).__name__}",
             f"amount must be a string, got {type(value).__name__}"),
        record=record, field=field, value=value)


def parse_rate(text: str) -> Decimal:
    """Turn ``"50%"`` into ``Decimal("0.5")``; checked to lie within 0–100 %."""
    if not isinstance(text, str) or not text.endswith("%"):
        raise ValueError(f"a percentage is written like \"50%\", got {text!r}")
    try:
        rate = Decimal(text[:-1].strip()) / HUNDRED
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a percentage") from None
    if not rate.is_finite() or not (0 <= rate <= 1):
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
