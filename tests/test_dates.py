"""Business dates: strict ISO parsing, and validity windows inclusive on both ends."""

from __future__ import annotations

import datetime as dt

import pytest

from shuangyong.dates import DateWindow, parse_date
from shuangyong.errors import DateError


class TestParseDate:
    def test_iso_date(self) -> None:
        """``YYYY-MM-DD`` becomes a date."""
        assert dt.date(2025, 3, 1) == parse_date("2025-03-01")

    def test_leap_day(self) -> None:
        """29 February exists in a leap year."""
        assert dt.date(2024, 2, 29) == parse_date("2024-02-29")

    def test_date_object_passes_through(self) -> None:
        """A ``date`` is already a business date."""
        assert dt.date(2025, 3, 1) == parse_date(dt.date(2025, 3, 1))

    @pytest.mark.parametrize(("value", "en"), [
        ("2025-02-30", "date 2025-02-30 is impossible (no such day)"),
        ("2025-02-29", "date 2025-02-29 is impossible (no such day)"),
        ("2025-13-01", "date 2025-13-01 is impossible (no such day)"),
    ])
    def test_impossible_day(self, value: str, en: str) -> None:
        """A well-formed date that does not exist is refused as impossible."""
        with pytest.raises(DateError) as caught:
            parse_date(value)
        assert en == caught.value.message.en

    @pytest.mark.parametrize("value", [
        "2025-2-3", "2025/03/01", "20250301", "2025-03-01T00:00", " 2025-03-01", "",
        dt.datetime(2025, 3, 1, 8, 30), 20250301, None, ["2025-03-01"],
    ], ids=repr)
    def test_wrong_shape_refused(self, value: object) -> None:
        """Other formats, datetimes and non-strings are refused: they must be YYYY-MM-DD."""
        with pytest.raises(DateError) as caught:
            parse_date(value)
        assert f"date {value!r} must be YYYY-MM-DD" == caught.value.message.en

    def test_full_width_digits_are_a_format_error(self) -> None:
        """Full-width digits (a Chinese IME) are not YYYY-MM-DD; the message should say so."""
        with pytest.raises(DateError) as caught:
            parse_date("２０２５-０３-０１")
        assert "date '２０２５-０３-０１' must be YYYY-MM-DD" == caught.value.message.en

    def test_error_names_record_and_field(self) -> None:
        """The error carries the record and field it was given."""
        with pytest.raises(DateError) as caught:
            parse_date("2025-02-30", record="V1", field="patient.birth_date")
        assert ("V1", "patient.birth_date") == (caught.value.record, caught.value.field)


class TestDateWindow:
    WINDOW = DateWindow(dt.date(2025, 1, 1), dt.date(2025, 3, 1))

    @pytest.mark.parametrize(("day", "inside"), [
        (dt.date(2024, 12, 31), False),
        (dt.date(2025, 1, 1), True),
        (dt.date(2025, 2, 1), True),
        (dt.date(2025, 3, 1), True),
        (dt.date(2025, 3, 2), False),
    ])
    def test_inclusive_on_both_ends(self, day: dt.date, inside: bool) -> None:
        """The first and last day are inside; the day before and the day after are not."""
        assert inside == self.WINDOW.contains(day)

    def test_one_day_window(self) -> None:
        """A window that starts and ends on the same day holds that day only."""
        window = DateWindow(dt.date(2025, 3, 1), dt.date(2025, 3, 1))
        assert (False, True, False) == (window.contains(dt.date(2025, 2, 28)),
                                        window.contains(dt.date(2025, 3, 1)),
                                        window.contains(dt.date(2025, 3, 2)))

    @pytest.mark.parametrize(("window", "day", "inside"), [
        (DateWindow(None, dt.date(2025, 3, 1)), dt.date(1900, 1, 1), True),
        (DateWindow(None, dt.date(2025, 3, 1)), dt.date(2025, 3, 2), False),
        (DateWindow(dt.date(2025, 1, 1), None), dt.date(2999, 12, 31), True),
        (DateWindow(dt.date(2025, 1, 1), None), dt.date(2024, 12, 31), False),
        (DateWindow(), dt.date(2025, 3, 1), True),
    ])
    def test_open_ends(self, window: DateWindow, day: dt.date, inside: bool) -> None:
        """``None`` leaves that side open; a window with neither end holds every day."""
        assert inside == window.contains(day)

    def test_end_before_start_raises(self) -> None:
        """An end before the start is a DateError naming valid_to."""
        with pytest.raises(DateError) as caught:
            DateWindow(dt.date(2025, 3, 2), dt.date(2025, 3, 1))
        assert ("valid_to", "end date 2025-03-01 is before start date 2025-03-02") == (
            caught.value.field, caught.value.message.en)

    def test_printed_form(self) -> None:
        """A window prints as ``start – end`` with ``…`` for an open end."""
        assert ("2024-01-01 – 2025-03-01", "2024-01-01 – …") == (
            str(DateWindow(dt.date(2024, 1, 1), dt.date(2025, 3, 1))), str(DateWindow(dt.date(2024, 1, 1))))
