"""春节 (the first day of the Chinese lunisolar year), computed from the sky, not from a table.

The rule is the one of GB/T 33661-2017 《农历的编算和颁行》: a month starts on the Beijing-time
day of a new moon; the month holding the winter solstice is month 11; when twelve whole months
lie between two months 11, the first of them without a major solar term (中气) is the leap month.
春节 is the start of the second month after month 11, or the third if month 11 or 12 is leap
(as in 2033–34).

New moons follow Meeus, *Astronomical Algorithms* (2nd ed.) ch. 49 and the Sun's longitude
ch. 25; both are good to well under a minute in this range, so only a new moon within a minute
of Beijing midnight could land on the wrong day. ``tests/test_lunar.py`` checks 2000–2050 against
an independent table (the ``lunardate`` package) and against published dates.
"""

from __future__ import annotations

import datetime as dt
import functools
import math

#: China has reckoned the calendar in UTC+8 since 1929; the ΔT approximation holds to 2099.
FIRST_YEAR, LAST_YEAR = 1929, 2099
_SYNODIC_MONTH = 29.530588861
_BEIJING = dt.timedelta(hours=8)
_J2000 = 2451545.0
_UNIX_EPOCH_JD = 2440587.5

#: (coefficient, multiple of E, M, M', F, Ω) of the new-moon correction, Meeus table 49.A.
_NEW_MOON_TERMS = (
    (-0.40720, 0, 0, 1, 0, 0), (0.17241, 1, 1, 0, 0, 0), (0.01608, 0, 0, 2, 0, 0),
    (0.01039, 0, 0, 0, 2, 0), (0.00739, 1, -1, 1, 0, 0), (-0.00514, 1, 1, 1, 0, 0),
    (0.00208, 2, 2, 0, 0, 0), (-0.00111, 0, 0, 1, -2, 0), (-0.00057, 0, 0, 1, 2, 0),
    (0.00056, 1, 1, 2, 0, 0), (-0.00042, 0, 0, 3, 0, 0), (0.00042, 1, 1, 0, 2, 0),
    (0.00038, 1, 1, 0, -2, 0), (-0.00024, 1, -1, 2, 0, 0), (-0.00017, 0, 0, 0, 0, 1),
    (-0.00007, 0, 2, 1, 0, 0), (0.00004, 0, 0, 2, -2, 0), (0.00004, 0, 3, 0, 0, 0),
    (0.00003, 0, 1, 1, -2, 0), (0.00003, 0, 0, 2, 2, 0), (-0.00003, 0, 1, 1, 2, 0),
    (0.00003, 0, -1, 1, 2, 0), (-0.00002, 0, -1, 1, -2, 0), (-0.00002, 0, 1, 3, 0, 0),
    (0.00002, 0, 0, 4, 0, 0),
)
#: (coefficient, constant, rate per lunation) of the planetary arguments A1–A14.
_PLANETARY_TERMS = (
    (0.000325, 299.77, 0.107408), (0.000165, 251.88, 0.016321), (0.000164, 251.83, 26.651886),
    (0.000126, 349.42, 36.412478), (0.000110, 84.66, 18.206239), (0.000062, 141.74, 53.303771),
    (0.000060, 207.14, 2.453732), (0.000056, 154.84, 7.306860), (0.000047, 34.52, 27.261239),
    (0.000042, 207.19, 0.121824), (0.000040, 291.34, 1.844379), (0.000037, 161.72, 24.198154),
    (0.000035, 239.56, 25.513099), (0.000023, 331.55, 3.592518),
)


def _sin(degrees: float) -> float:
    return math.sin(math.radians(degrees))


def _new_moon_jde(k: int) -> float:
    """Dynamical time (JDE) of new moon number ``k`` (0 = 2000-01-06)."""
    t = k / 1236.85
    jde = (2451550.09766 + _SYNODIC_MONTH * k + 0.00015437 * t**2 - 0.000000150 * t**3
           + 0.00000000073 * t**4)
    e = 1 - 0.002516 * t - 0.0000074 * t**2
    m = 2.5534 + 29.10535670 * k - 0.0000014 * t**2 - 0.00000011 * t**3
    mp = 201.5643 + 385.81693528 * k + 0.0107582 * t**2 + 0.00001238 * t**3 - 0.000000058 * t**4
    f = 160.7108 + 390.67050284 * k - 0.0016118 * t**2 - 0.00000227 * t**3 + 0.000000011 * t**4
    omega = 124.7746 - 1.56375588 * k + 0.0020672 * t**2 + 0.00000215 * t**3
    for coefficient, e_power, a, b, c, d in _NEW_MOON_TERMS:
        jde += coefficient * e**e_power * _sin(a * m + b * mp + c * f + d * omega)
    planetary = [(coefficient, base + rate * k) for coefficient, base, rate in _PLANETARY_TERMS]
    planetary[0] = (planetary[0][0], planetary[0][1] - 0.009173 * t**2)
    return jde + sum(coefficient * _sin(angle) for coefficient, angle in planetary)


def _delta_t_days(year: float) -> float:
    """TT − UT (Espenak and Meeus' polynomial for 2005–2050, their long-term parabola elsewhere)."""
    if 2005 <= year <= 2050:
        t = year - 2000
        seconds = 62.92 + 0.32217 * t + 0.005589 * t**2
    else:
        u = (year - 1820) / 100
        seconds = -20 + 32 * u**2 - (0.5628 * (2150 - year) if 2050 < year < 2150 else 0)
    return seconds / 86400


def _beijing_date(jde: float) -> dt.date:
    year = 2000 + (jde - _J2000) / 365.25
    unix_days = jde - _delta_t_days(year) - _UNIX_EPOCH_JD
    instant = dt.datetime(1970, 1, 1) + dt.timedelta(days=unix_days) + _BEIJING
    return instant.date()


def _sun_longitude(jd: float) -> float:
    """Apparent geocentric longitude of the Sun in degrees (Meeus ch. 25, low accuracy)."""
    t = (jd - _J2000) / 36525
    mean_longitude = 280.46646 + 36000.76983 * t + 0.0003032 * t**2
    anomaly = 357.52911 + 35999.05029 * t - 0.0001537 * t**2
    centre = ((1.914602 - 0.004817 * t - 0.000014 * t**2) * _sin(anomaly)
              + (0.019993 - 0.000101 * t) * _sin(2 * anomaly) + 0.000289 * _sin(3 * anomaly))
    omega = 125.04 - 1934.136 * t
    return (mean_longitude + centre - 0.00569 - 0.00478 * _sin(omega)) % 360


def _beijing_midnight_jd(day: dt.date) -> float:
    midnight_utc = dt.datetime(day.year, day.month, day.day) - _BEIJING
    unix_days = (midnight_utc - dt.datetime(1970, 1, 1)) / dt.timedelta(days=1)
    return unix_days + _UNIX_EPOCH_JD + _delta_t_days(day.year)


def _major_term(day: dt.date) -> int:
    """Index (0–11) of the last major solar term (a multiple of 30°) passed by Beijing midnight."""
    return int(_sun_longitude(_beijing_midnight_jd(day)) // 30)


def _winter_solstice(year: int) -> dt.date:
    """Beijing date of the December solstice: the first day whose next midnight is past 270°."""
    day = dt.date(year, 12, 19)
    while _major_term(day + dt.timedelta(days=1)) != 9:  # 270° / 30
        day += dt.timedelta(days=1)
    return day


def _lunation_on_or_before(day: dt.date) -> int:
    k = math.floor((day - dt.date(2000, 1, 6)).days / _SYNODIC_MONTH) + 1
    while _beijing_date(_new_moon_jde(k)) > day:
        k -= 1
    return k


@functools.lru_cache(maxsize=256)
def spring_festival(year: int) -> dt.date:
    """The Gregorian date of 春节 (正月初一) in ``year``; ``ValueError`` outside 1929–2099."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"春节 is computed for {FIRST_YEAR}–{LAST_YEAR}, not {year}")
    month_11 = _lunation_on_or_before(_winter_solstice(year - 1))
    next_month_11 = _lunation_on_or_before(_winter_solstice(year))
    starts = [_beijing_date(_new_moon_jde(k)) for k in range(month_11, next_month_11 + 1)]
    months_after = 2
    if len(starts) == 14:  # thirteen months in this 岁: one of them is leap
        without_major_term = [_major_term(starts[i]) == _major_term(starts[i + 1]) for i in (1, 2)]
        if any(without_major_term):  # a leap month 11 or 12 pushes 正月 one month later
            months_after = 3
    return starts[months_after]
