"""The ten built-in check kinds, each an options model and ``requirements()`` (see
``docs/standards-packs.md`` for what each one asks)."""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, Field, model_validator

from shuangyong.compliance.checks.base import (
    CheckKind,
    Context,
    MonthDay,
    Options,
    Requirement,
    Selector,
    Window,
    on,
)
from shuangyong.compliance.lunar import spring_festival
from shuangyong.compliance.records import LOCATIONS, RECORD_TYPES, Coverage, Facility, Pairing, Record
from shuangyong.dates import DateWindow
from shuangyong.policy.schema import Whole, percentage
from shuangyong.text import Text

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence


class _SelectsRecords:
    """For kinds whose options carry a ``records`` selector: they need what it selects."""

    def needs(self, options: Any) -> Iterable[tuple[str, str]]:
        return [(options.records.kind, name) for name in options.records.type]


_YEAR = Text("全年", "the year")


def _window_label(window: DateWindow) -> Text:
    return Text(f"{window.start}至{window.end}", f"{window.start} to {window.end}")


class CountOptions(Options):
    """``count_in_window`` and ``led_by_head``: which records, how many, in which part of the year."""

    records: Selector
    at_least: Whole = Field(default=1, ge=1)
    window: Window | None = None


class CountInWindow(_SelectsRecords):
    """At least N records in a window of the year (≥ 2 publicity boards a year)."""

    name: ClassVar[str] = "count_in_window"
    title: ClassVar[Text] = Text("时段内不少于 N 项", "at least N in a window")
    options: ClassVar[type[Options]] = CountOptions

    def requirements(self, options: CountOptions, context: Context) -> list[Requirement]:
        window = options.window.dates(context.year) if options.window else context.whole_year
        label = _window_label(window) if options.window else _YEAR
        return [_requirement(label, options.records, window, context, options.at_least)]


def _requirement(label: Text, selector: Selector, window: DateWindow, context: Context,
                 needed: int = 1) -> Requirement:
    assert window.end is not None
    subject = selector.subject()
    if selector.led_by_head:  # the gap says whose lead is missing, not just which record
        head = context.dossier.unit.head or "?"
        subject = Text(f"由一把手（{head}）带领的{subject.zh}", f"{subject.en} led by the head ({head})")
    return Requirement(label, subject, window, window.end, context.select(selector, window), needed)


class LedByHead(CountInWindow):
    """Records led by the unit's head (一把手), e.g. the holiday visits of seed 000."""

    name: ClassVar[str] = "led_by_head"
    title: ClassVar[Text] = Text("由一把手带领", "led by the unit head")

    def requirements(self, options: CountOptions, context: Context) -> list[Requirement]:
        led = options.model_copy(update={"records": options.records.model_copy(update={"led_by_head": True})})
        return super().requirements(led, context)


_QUARTERS = ("一", "二", "三", "四")


class PeriodOptions(Options):
    """``every_period``: which records, one in every quarter, half-year or month."""

    records: Selector
    period: Literal["quarter", "half", "month"]
    at_least: Whole = Field(default=1, ge=1)


class EveryPeriod(_SelectsRecords):
    """At least one record in every quarter, half-year or month (a leading-group meeting a quarter)."""

    name: ClassVar[str] = "every_period"
    title: ClassVar[Text] = Text("每个周期至少一次", "once in every period")
    options: ClassVar[type[Options]] = PeriodOptions

    def requirements(self, options: PeriodOptions, context: Context) -> list[Requirement]:
        return [_requirement(label, options.records, window, context, options.at_least)
                for label, window in _periods(context.year, options.period)]


def _periods(year: int, period: str) -> Iterable[tuple[Text, DateWindow]]:
    months = {"quarter": 3, "half": 6, "month": 1}[period]
    for index, first in enumerate(range(1, 13, months)):
        last = first + months - 1
        window = DateWindow(dt.date(year, first, 1), dt.date(year, last, calendar.monthrange(year, last)[1]))
        if period == "quarter":
            label = Text(f"第{_QUARTERS[index]}季度", f"Q{index + 1}")
        elif period == "half":
            label = Text(("上半年", "下半年")[index], ("H1", "H2")[index])
        else:
            label = Text(f"{first}月", calendar.month_name[first])
        yield label, window


class DocumentOptions(Options):
    """``document_by``: the document type, dated from ``from`` to ``by``."""

    type: str
    start: MonthDay = Field(default="01-01", alias="from")
    by: MonthDay

    @model_validator(mode="after")
    def _known(self) -> DocumentOptions:
        Selector(kind="document", type=(self.type,))
        if self.by < self.start:
            raise ValueError(f"by {self.by} is before from {self.start}")
        return self


class DocumentBy:
    """A document of a type dated between ``from`` and ``by`` (the plan by the end of Q1)."""

    name: ClassVar[str] = "document_by"
    title: ClassVar[Text] = Text("按期形成文件", "document by a date")
    options: ClassVar[type[Options]] = DocumentOptions

    def requirements(self, options: DocumentOptions, context: Context) -> list[Requirement]:
        window = DateWindow(on(context.year, options.start), on(context.year, options.by))
        return [_requirement(_window_label(window), Selector(kind="document", type=(options.type,)), window,
                             context)]

    def needs(self, options: DocumentOptions) -> Iterable[tuple[str, str]]:
        return [("document", options.type)]


def army_day(year: int) -> dt.date:
    """建军节, 1 August."""
    return dt.date(year, 8, 1)


HOLIDAYS: dict[str, tuple[Text, Any]] = {
    "new_year": (Text("元旦", "New Year's Day"), lambda year: dt.date(year, 1, 1)),
    "spring_festival": (Text("春节", "Spring Festival"), spring_festival),
    "army_day": (Text("八一建军节", "Army Day (1 August)"), army_day),
}


class HolidayOptions(Options):
    """``holiday_visits``: which holidays, and the days before and after each that count."""

    records: Selector = Selector(kind="activity", type=("holiday_visit",))
    holidays: tuple[Literal["new_year", "spring_festival", "army_day"], ...] = Field(min_length=1)
    days_before: Whole = Field(ge=0, le=60)
    days_after: Whole = Field(ge=0, le=60)


class HolidayVisits(_SelectsRecords):
    """A record in a window around each holiday of the dossier's year; 春节 from the lunar calendar."""

    name: ClassVar[str] = "holiday_visits"
    title: ClassVar[Text] = Text("节日期间走访慰问", "visits around holidays")
    options: ClassVar[type[Options]] = HolidayOptions

    def requirements(self, options: HolidayOptions, context: Context) -> list[Requirement]:
        requirements = []
        for holiday in options.holidays:
            label, date_of = HOLIDAYS[holiday]
            day = date_of(context.year)
            window = DateWindow(day - dt.timedelta(days=options.days_before),
                                day + dt.timedelta(days=options.days_after))
            requirements.append(_requirement(label, options.records, window, context))
        return requirements


class SeasonsOptions(Options):
    """``twice_yearly``: which records, and the spring and autumn windows."""

    records: Selector
    spring: Window
    autumn: Window


class TwiceYearly(_SelectsRecords):
    """One record in spring and one in autumn (checkups of the paired unit, seed 000)."""

    name: ClassVar[str] = "twice_yearly"
    title: ClassVar[Text] = Text("春秋各一次", "once in spring and once in autumn")
    options: ClassVar[type[Options]] = SeasonsOptions

    def requirements(self, options: SeasonsOptions, context: Context) -> list[Requirement]:
        return [_requirement(label, options.records, season.dates(context.year), context)
                for label, season in ((Text("春季", "spring"), options.spring),
                                      (Text("秋季", "autumn"), options.autumn))]


class FacilityOptions(Options):
    """``facility_present``: the facility type and the locations it must be at."""

    type: str
    locations: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _known(self) -> FacilityOptions:
        Selector(kind="facility", type=(self.type,))
        for location in self.locations:
            if location not in LOCATIONS:
                raise ValueError(f"unknown location {location!r} (known: {', '.join(LOCATIONS)})")
        return self


def _standing(context: Context, label: Text, subject: Text, records: Sequence[Record]) -> Requirement:
    """A fact that must hold from the start of the year: due on 1 January, checked on as-of."""
    day = context.standing_day
    window = context.whole_year
    assert window.start is not None
    found = tuple(record.id for record in records if record.window.contains(day))
    return Requirement(label, subject, window, window.start, found, standing=True)


class FacilityPresent:
    """A facility in place on the as-of date, at each location named (军人优先 signs at 4 windows)."""

    name: ClassVar[str] = "facility_present"
    title: ClassVar[Text] = Text("设施到位", "facility in place")
    options: ClassVar[type[Options]] = FacilityOptions

    def requirements(self, options: FacilityOptions, context: Context) -> list[Requirement]:
        facilities = [r for r in context.dossier.records if isinstance(r, Facility) and r.type == options.type]
        subject = RECORD_TYPES["facility"][options.type]
        if not options.locations:
            return [_standing(context, _YEAR, subject, facilities)]
        return [_standing(context, Text(f"{LOCATIONS[place].zh}窗口", f"{LOCATIONS[place].en} window"), subject,
                          [f for f in facilities if f.location == place])
                for place in options.locations]

    def needs(self, options: FacilityOptions) -> Iterable[tuple[str, str]]:
        return [("facility", options.type)]


class RatioOptions(Options):
    """``ratio_at_least``: the least coverage of each group, as a percentage, by a day."""

    at_least: dict[str, Annotated[Decimal, BeforeValidator(percentage)]] = Field(min_length=1)
    by: MonthDay = "12-31"

    @model_validator(mode="after")
    def _known(self) -> RatioOptions:
        Selector(kind="coverage", type=tuple(self.at_least))
        return self


class RatioAtLeast:
    """Coverage of each group at least a percentage (education: cadres "100%", others "80%")."""

    name: ClassVar[str] = "ratio_at_least"
    title: ClassVar[Text] = Text("覆盖面不低于", "coverage at least")
    options: ClassVar[type[Options]] = RatioOptions

    def requirements(self, options: RatioOptions, context: Context) -> list[Requirement]:
        window = DateWindow(dt.date(context.year, 1, 1), on(context.year, options.by))
        requirements = []
        for group, threshold in options.at_least.items():
            wanted = Fraction(threshold)
            found = tuple(r.id for r in context.dossier.records
                          if isinstance(r, Coverage) and r.type == group and window.contains(r.start)
                          and Fraction(r.reached, r.total) >= wanted)
            label = RECORD_TYPES["coverage"][group]
            percent = f"{threshold * 100:f}".rstrip("0").rstrip(".")
            subject = Text(f"受教育面达到 {percent}% 的记录", f"education coverage of at least {percent}%")
            assert window.end is not None
            requirements.append(Requirement(label, subject, window, window.end, found))
        return requirements

    def needs(self, options: RatioOptions) -> Iterable[tuple[str, str]]:
        return [("coverage", group) for group in options.at_least]


class NoOptions(Options):
    """For kinds that take no options."""

    pass


class PairingPresent:
    """A pairing (结对共建) with a military unit in force on the as-of date."""

    name: ClassVar[str] = "pairing_present"
    title: ClassVar[Text] = Text("结对共建", "pairing in force")
    options: ClassVar[type[Options]] = NoOptions

    def requirements(self, options: NoOptions, context: Context) -> list[Requirement]:
        pairings = [r for r in context.dossier.records if isinstance(r, Pairing)]
        return [_standing(context, _YEAR, RECORD_TYPES["pairing"]["joint_building"], pairings)]

    def needs(self, options: NoOptions) -> Iterable[tuple[str, str]]:
        return [("pairing", "joint_building")]


class LedgerOptions(Options):
    """``ledger_published``: the days between which the ledger must be published."""

    start: MonthDay = Field(default="01-01", alias="from")
    by: MonthDay = "12-31"


class LedgerPublished:
    """The concession ledger checked complete and its notice posted (台帐健全、公示醒目)."""

    name: ClassVar[str] = "ledger_published"
    title: ClassVar[Text] = Text("台帐健全、公示醒目", "ledger complete and published")
    options: ClassVar[type[Options]] = LedgerOptions

    def requirements(self, options: LedgerOptions, context: Context) -> list[Requirement]:
        window = DateWindow(on(context.year, options.start), on(context.year, options.by))
        found = tuple(r.id for r in context.dossier.records
                      if r.kind == "ledger_publication" and window.contains(r.start)
                      and getattr(r, "complete", False) and getattr(r, "published", False))
        subject = Text("台帐健全且已公示的记录", "record of a complete, published ledger")
        assert window.end is not None
        return [Requirement(_window_label(window), subject, window, window.end, found)]

    def needs(self, options: LedgerOptions) -> Iterable[tuple[str, str]]:
        return [("ledger_publication", "concession_ledger")]


BUILTIN_CHECK_KINDS: tuple[CheckKind, ...] = (
    CountInWindow(), LedByHead(), EveryPeriod(), DocumentBy(), HolidayVisits(), TwiceYearly(),
    FacilityPresent(), RatioAtLeast(), PairingPresent(), LedgerPublished(),
)
