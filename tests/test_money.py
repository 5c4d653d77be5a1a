"""Money: one half-up rounding function, strict parsing of amounts and rates, two-decimal output."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shuangyong.errors import MoneyError
from shuangyong.limits import MAX_AMOUNT
from shuangyong.money import format_amount, parse_amount, parse_rate, round_yuan, to_fen


class TestRoundYuan:
    @pytest.mark.parametrize(("value", "expected"), [
        ("6.175", "6.18"),
        ("0.005", "0.01"),
        ("2.675", "2.68"),   # as a float 2.675 is 2.67499…; as a Decimal it is exactly half a fen
        ("6.174", "6.17"),
        ("6.1749999", "6.17"),
        ("12", "12.00"),
    ])
    def test_half_up_to_the_fen(self, value: str, expected: str) -> None:
        """Halves of a fen round up, everything else to the nearest fen, always two places."""
        assert Decimal(expected) == round_yuan(Decimal(value))
        assert expected == str(round_yuan(Decimal(value)))


class TestParseAmountRefuses:
    def test_float_names_float_in_both_languages(self) -> None:
        """A float is refused with a message that says float, in zh and en."""
        with pytest.raises(MoneyError) as caught:
            parse_amount(12.35)
        assert (True, True) == ("float" in caught.value.message.en, "浮点数" in caught.value.message.zh)

    @pytest.mark.parametrize("value", [
        True, False, "-1.00", "-0.01", "1.005", "0.001", "abc", "", "NaN", "Infinity", "-Infinity",
        None, [], ["12.00"], {"amount": "12.00"}, Decimal("2.675"), Decimal("NaN"), 12.0,
    ], ids=repr)
    def test_refused(self, value: object) -> None:
        """Bools, negatives, fractions of a fen, non-numbers and non-strings are MoneyErrors."""
        with pytest.raises(MoneyError):
            parse_amount(value)

    @pytest.mark.parametrize(("value", "en"), [
        (True, "amount must be a string, got bool"),
        (None, "amount must be a string, got NoneType"),
        ([], "amount must be a string, got list"),
        ("-1", "amount must not be negative (-1)"),
        ("1.005", "amount 1.005 has more than two decimals (fen)"),
        ("abc", "amount 'abc' is not a number written as digits with at most two decimals, such as \"12.35\""),
        ("NaN", "amount 'NaN' is not a number written as digits with at most two decimals, such as \"12.35\""),
        (Decimal("Infinity"), "amount Decimal('Infinity') is not a number"),
        ("10000000000.00", "amount 10000000000.00 is above the maximum of 9999999999.99 yuan"),
        ("12.000", "amount 12.000 has more than two decimals (fen)"),
    ], ids=repr)
    def test_message_says_why(self, value: object, en: str) -> None:
        """Each refusal says what is wrong with the value."""
        with pytest.raises(MoneyError) as caught:
            parse_amount(value)
        assert en == caught.value.message.en

    def test_error_names_record_and_field(self) -> None:
        """The record and field given by the caller travel with the error, and its value too."""
        with pytest.raises(MoneyError) as caught:
            parse_amount("1.005", record="V7", field="lines[2].amount")
        assert ("V7", "lines[2].amount", "1.005") == (
            caught.value.record, caught.value.field, caught.value.value)

    def test_default_field_is_amount(self) -> None:
        """Without a field the error names ``amount``, and no record."""
        with pytest.raises(MoneyError) as caught:
            parse_amount("abc")
        assert (None, "amount") == (caught.value.record, caught.value.field)

    def test_money_error_is_a_value_error(self) -> None:
        """Callers' existing ``except ValueError`` catches a MoneyError."""
        with pytest.raises(ValueError):
            parse_amount(1.5)


class TestParseAmountAccepts:
    @pytest.mark.parametrize(("value", "expected"), [
        ("12.35", "12.35"),
        ("12", "12.00"),
        (12, "12.00"),
        (0, "0.00"),
        ("12.3", "12.30"),
        ("007.50", "7.50"),
        ("9999999999.99", "9999999999.99"),
        (9999999999, "9999999999.00"),
        (Decimal("9999999999.99"), "9999999999.99"),
        ("0.10", "0.10"),
        (Decimal("3.5"), "3.50"),
        ("-0.00", "0.00"),
    ], ids=repr)
    def test_exact_yuan_quantized_to_the_fen(self, value: object, expected: str) -> None:
        """Strings, ints and Decimals with at most two decimals come back with exactly two."""
        assert expected == str(parse_amount(value))

    def test_negative_zero_loses_its_sign(self) -> None:
        """"-0.00" is zero, and no minus sign reaches any output."""
        assert (False, "0.00") == (parse_amount("-0.00").is_signed(), str(parse_amount("-0.00")))


class TestContractForm:
    """Issue 14 (15): an amount is digits with at most two decimals, or an int; nothing else."""

    @pytest.mark.parametrize("value", [
        " 12.00", "12.00 ", "+12.00", "1e3", "1E+2", ".5", "12.", "1_000", "0x10", "12,00", "١٢", "",
    ], ids=repr)
    def test_loose_spellings_refused(self, value: str) -> None:
        """What ``Decimal`` also reads (spaces, signs, exponents, a bare point) is not an amount:
        "1e3" was read as 1000.00."""
        with pytest.raises(MoneyError) as caught:
            parse_amount(value, record="V1", field="lines[0].amount")
        assert ("is not a number written as digits" in caught.value.message.en, "不是数字" in caught.value.message.zh,
                "lines[0].amount") == (True, True, caught.value.field)


class TestMaximum:
    """Issue 14 (4): amounts past limits.MAX_AMOUNT are refused, whatever their spelling."""

    @pytest.mark.parametrize("value", [
        "10000000000", "9999999999.991", "1" + "0" * 28, "1" + "0" * 5000, 10**30, 10_000_000_000,
        Decimal("1E+28"), Decimal("1E+999999"), Decimal("10000000000.00"),
    ], ids=lambda v: repr(v)[:30])
    def test_above_the_maximum_refused(self, value: object) -> None:
        """Past 28 significant digits this was decimal.InvalidOperation or 1.000…E+28; now a
        MoneyError naming the field and the maximum, in zh and en."""
        with pytest.raises(MoneyError) as caught:
            parse_amount(value, field="lines[3].amount")
        message = caught.value.message
        assert ("lines[3].amount", True, True) == (
            caught.value.field, str(MAX_AMOUNT) in message.en and "maximum" in message.en,
            str(MAX_AMOUNT) in message.zh)

    def test_long_values_are_cut_in_messages(self) -> None:
        """A refused amount of thousands of digits is quoted, not copied, in the message."""
        with pytest.raises(MoneyError) as caught:
            parse_amount("9" * 10_000)
        assert len(caught.value.message.en) < 200

    def test_maximum_itself_is_accepted(self) -> None:
        """The bound is inclusive, and its total in fen fits int64 many times over."""
        assert (MAX_AMOUNT, 999_999_999_999) == (parse_amount(str(MAX_AMOUNT)), to_fen(parse_amount(str(MAX_AMOUNT))))


class TestParseRate:
    @pytest.mark.parametrize(("text", "expected"), [
        ("50%", Decimal("0.5")),
        ("100%", Decimal("1")),
        ("0%", Decimal("0")),
        ("12.5%", Decimal("0.125")),
    ])
    def test_percentages(self, text: str, expected: Decimal) -> None:
        """A percentage becomes a fraction of one."""
        assert expected == parse_rate(text)

    @pytest.mark.parametrize(("text", "en"), [
        ("150%", "a percentage must lie between 0% and 100%, got '150%'"),
        ("-1%", "a percentage must lie between 0% and 100%, got '-1%'"),
        ("50", "a percentage is written like \"50%\", got '50'"),
        ("abc%", "'abc%' is not a percentage"),
        ("5_0%", "'5_0%' is not a percentage"),
        ("1e1%", "'1e1%' is not a percentage"),
        ("NaN%", "'NaN%' is not a percentage"),
        (50, "a percentage is written like \"50%\", got 50"),
    ], ids=repr)
    def test_refused(self, text: object, en: str) -> None:
        """Out of range, no percent sign, or not a number: a ValueError saying which."""
        with pytest.raises(ValueError) as caught:
            parse_rate(text)  # type: ignore[arg-type]
        assert en == str(caught.value)


class TestFormatAmount:
    @pytest.mark.parametrize(("value", "expected"), [
        (parse_amount("12"), "12.00"),
        (parse_amount(0), "0.00"),
        (parse_amount("7.5"), "7.50"),
        (round_yuan(Decimal("12.35") * Decimal("0.5")), "6.18"),
        (parse_amount("12.35") - round_yuan(Decimal("12.35") * Decimal("0.5")), "6.17"),
        (parse_amount("0.10") + parse_amount("0.20"), "0.30"),
        (parse_amount("100.00") - parse_amount("100.00"), "0.00"),
    ])
    def test_two_decimals(self, value: Decimal, expected: str) -> None:
        """Amounts the library makes (parsed, rounded, summed, subtracted) print with two decimals."""
        assert expected == format_amount(value)
