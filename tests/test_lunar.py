"""春节 from the astronomical rule, checked against an independent table and published dates."""

from __future__ import annotations

import datetime as dt

import pytest
from lunardate import LunarDate

from shuangyong.compliance.lunar import FIRST_YEAR, LAST_YEAR, spring_festival

#: Dates published by the State Council's holiday notices (春节 is the first day of 正月).
PUBLISHED = {
    2000: dt.date(2000, 2, 5), 2008: dt.date(2008, 2, 7), 2012: dt.date(2012, 1, 23),
    2020: dt.date(2020, 1, 25), 2021: dt.date(2021, 2, 12), 2022: dt.date(2022, 2, 1),
    2023: dt.date(2023, 1, 22), 2024: dt.date(2024, 2, 10), 2025: dt.date(2025, 1, 29),
    2026: dt.date(2026, 2, 17),
}


@pytest.mark.parametrize("year", range(2000, 2051))
def test_matches_the_lunardate_table(year: int) -> None:
    """2000–2050: the computed date equals the ``lunardate`` package's table."""
    assert LunarDate(year, 1, 1).to_solar_date() == spring_festival(year)


def test_matches_the_table_over_the_whole_range() -> None:
    """And over every supported year, 1929–2099 (the list of disagreements is empty)."""
    assert [] == [year for year in range(FIRST_YEAR, LAST_YEAR + 1)
                  if LunarDate(year, 1, 1).to_solar_date() != spring_festival(year)]


@pytest.mark.parametrize("year", sorted(PUBLISHED))
def test_published_dates(year: int) -> None:
    assert PUBLISHED[year] == spring_festival(year)


def test_a_leap_eleventh_month_pushes_spring_festival_a_month_later() -> None:
    """2033 has a leap 11th month (the "2033 problem"): 春节 2034 is the third new moon after the
    solstice, 19 February, not 20 January."""
    assert dt.date(2034, 2, 19) == spring_festival(2034)


def test_january_and_february_both_occur() -> None:
    months = {spring_festival(year).month for year in range(2000, 2051)}
    assert {1, 2} == months


@pytest.mark.parametrize("year", [FIRST_YEAR - 1, LAST_YEAR + 1])
def test_outside_the_supported_range_is_refused(year: int) -> None:
    with pytest.raises(ValueError, match=f"1929–2099, not {year}"):
        spring_festival(year)
