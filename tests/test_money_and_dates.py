"""Money (one rounding function, floats refused) and dates (ISO, inclusive windows)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from shuangyong.dates import DateWindow, parse_date
from shuangyong.errors import DateError, MoneyError
from shuangyong.money import format_amount, parse_amount, parse_rate, round_yuan


class TestRounding:
    @pytest.mark.parametrize(("value", "expected"), [
        ("6.175", "6.18"), ("0.005", "0.01"), ("2.675", "2.68"), ("6.174", "6.17"), ("0.004", "0.00"),
    ])
    def test_half_up_to_the_fen(self, value: str, expected: str) -> None:
        """round_yuan rounds half up, unlike Python's banker's rounding."""
        assert Decimal(expected) == round_yuan(Decimal(value))


class TestParseAmount:
    @pytest.mark.parametrize(("value", "expected"), [
        ("12.35", "12.35"), ("12", "12.00"), (12, "12.00"), (Decimal("3.1"), "3.10"),
        ("0", "0.00"), ("-0.00", "0.00"), ("7.5", "7.50"),
    ])
    def test_accepts_exact_amounts(self, value: object, expected: str) -> None:
        """Strings, ints and Decimals become Decimal yuan with exactly two places."""
        amount = parse_amount(value)
        assert (Decimal(expected), expected) == (amount, str(amount))

    @pytest.mark.parametrize(("value", "fragment"), [
        (12.5, "must not be a float"), (0.1, "must not be a float"), (True, "must be a string"),
        (None, "must be a string"), ([1], "must be a string"), ("-3.00", "must not be negative"),
        ("1.005", "more than two decimals"), ("1e-3", "is not a number"), ("abc", "is not a number"),
        ("NaN", "is not a number"), ("Infinity", "is not a number"), ("", "is not a number"),
        ("1_000", "is not a number"), ("１２.００", "is not a number"), ("12.00元", "is not a number"),
    ])
    def test_refuses(self, value: object, fragment: str) -> None:
        """Anything that is not exact, non-negative yuan and fen is refused with a clear message."""
        with pytest.raises(MoneyError) as caught:
            parse_amount(value, record="V1", field="lines[0].amount")
        assert fragment in caught.value.message.en
        assert caught.value.message.zh
        assert ("V1", "lines[0].amount") == (caught.value.record, caught.value.field)

    def test_float_refusal_is_a_value_error(self) -> None:
        """Callers' existing `except ValueError` keeps working."""
        with pytest.raises(ValueError, match="float"):
            parse_amount(1.5)


class TestRates:
    @pytest.mark.parametrize(("text", "rate"), [("50%", "0.5"), ("100%", "1"), ("0%", "0"), ("12.5%", "0.125")])
    def test_percentages(self, text: str, rate: str) -> None:
        """A percentage string becomes a fraction."""
        assert Decimal(rate) == parse_rate(text)

    @pytest.mark.parametrize("text", ["150%", "-1%", "50", "abc%", "%"])
    def test_bad_percentages(self, text: str) -> None:
        """Out-of-range or malformed percentages are refused."""
        with pytest.raises(ValueError):
            parse_rate(text)


def test_format_amount_keeps_two_decimals() -> None:
    """Amounts are written with two decimals, as the contract requires."""
    assert ["0.00", "12.30", "1000.00"] == [format_amount(parse_amount(v)) for v in ("0", "12.3", "1000")]


class TestDates:
    def test_iso_date(self) -> None:
        """YYYY-MM-DD is read, leap days included."""
        assert dt.date(2024, 2, 29) == parse_date("2024-02-29")

    @pytest.mark.parametrize(("value", "fragment"), [
        ("2025-02-30", "impossible"), ("2023-02-29", "impossible"), ("2025-2-3", "YYYY-MM-DD"),
        ("2025/03/01", "YYYY-MM-DD"), (20250301, "YYYY-MM-DD"), (dt.datetime(2025, 3, 1), "YYYY-MM-DD"),
    ])
    def test_bad_dates(self, value: object, fragment: str) -> None:
        """Malformed and impossible dates are refused, naming the field."""
        with pytest.raises(DateError) as caught:
            parse_date(value, record="V1", field="date")
        assert fragment in caught.value.message.en
        assert "date" == caught.value.field

    def test_window_is_inclusive(self) -> None:
        """Both ends belong to the window; the days outside do not."""
        window = DateWindow(dt.date(2025, 1, 1), dt.date(2025, 3, 1))
        days = [dt.date(2024, 12, 31), dt.date(2025, 1, 1), dt.date(2025, 3, 1), dt.date(2025, 3, 2)]
        assert [False, True, True, False] == [window.contains(day) for day in days]

    def test_open_ends(self) -> None:
        """A missing start or end leaves that side open."""
        assert DateWindow(None, dt.date(2025, 1, 1)).contains(dt.date(1900, 1, 1))
        assert DateWindow(dt.date(2025, 1, 1), None).contains(dt.date(2999, 1, 1))

    def test_end_before_start(self) -> None:
        """A window ending before it starts is an error on valid_to."""
        with pytest.raises(DateError, match="before start date") as caught:
            DateWindow(dt.date(2025, 3, 2), dt.date(2025, 3, 1))
        assert "valid_to" == caught.value.field
