"""What every check kind builds on: its options' base and parts (a window of the year, a
record selector), the requirement it lists, the context it reads, and the protocol it meets."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from typing import TYPE_CHECKING, Annotated, Any, Protocol

import attrs
from pydantic import BeforeValidator, Field, model_validator

from shuangyong.compliance.records import RECORD_TYPES, Dossier, Pairing, Record
from shuangyong.dates import DateWindow
from shuangyong.policy.schema import Flag, LocalText, StrictModel
from shuangyong.text import Text

if TYPE_CHECKING:
    from collections.abc import Iterable

_MONTH_DAY = re.compile(r"(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])")


def _month_day(value: Any) -> str:
    if not isinstance(value, str) or not _MONTH_DAY.fullmatch(value):
        raise ValueError(f"{value!r} must be MM-DD (a day of the dossier's year)")
    month, day = map(int, value.split("-"))
    if day > calendar.monthrange(2024, month)[1]:  # 2024: a leap year allows 02-29
        raise ValueError(f"{value!r} is not a day of any year")
    return value


MonthDay = Annotated[str, BeforeValidator(_month_day)]


def on(year: int, month_day: str) -> dt.date:
    """``MM-DD`` in ``year``; ``02-29`` is the last day of February in a common year."""
    month, day = map(int, month_day.split("-"))
    return dt.date(year, month, min(day, calendar.monthrange(year, month)[1]))


class Options(StrictModel):
    """Base of every check kind's options: unknown keys are refused."""


class Window(Options):
    """Part of the dossier's year, both days included."""

    start: MonthDay = Field(alias="from")
    end: MonthDay = Field(alias="to")

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.end < self.start:
            raise ValueError(f"to {self.end} is before from {self.start}")
        return self

    def dates(self, year: int) -> DateWindow:
        """The window in ``year`` (``02-29`` is 28 February in a common year)."""
        return DateWindow(on(year, self.start), on(year, self.end))


def _as_tuple(value: Any) -> Any:
    return (value,) if isinstance(value, str) else value


class Selector(Options):
    """Which records count: a kind and its types; ``paired`` keeps those for a paired unit,
    ``led_by_head`` those its head led; ``label`` names them in gap sentences."""

    kind: str
    type: Annotated[tuple[str, ...], BeforeValidator(_as_tuple)]
    paired: Flag = False
    led_by_head: Flag = False
    label: LocalText | None = None

    @model_validator(mode="after")
    def _known(self) -> Selector:
        if self.kind not in RECORD_TYPES:
            raise ValueError(f"unknown record kind {self.kind!r} (known: {', '.join(RECORD_TYPES)})")
        for name in self.type:
            if name not in RECORD_TYPES[self.kind]:
                raise ValueError(f"unknown {self.kind} type {name!r} (known: {', '.join(RECORD_TYPES[self.kind])})")
        return self

    def subject(self) -> Text:
        """What the selected records are called in gap sentences: ``label``, else their types' names."""
        if self.label is not None:
            return Text(self.label.zh, self.label.en)
        labels = [RECORD_TYPES[self.kind][name] for name in self.type]
        return Text("或".join(t.zh for t in labels), " or ".join(t.en for t in labels))


@attrs.frozen(slots=True)
class Requirement:
    """Something the standard needs: ``needed`` records in ``window``, by ``due``."""

    label: Text  #: which part of the year: 第三季度 / Q3, 春节 / Spring Festival, 全年 / the year
    subject: Text  #: what is needed: 双拥领导小组会议 / leading-group meeting
    window: DateWindow
    due: dt.date
    found: tuple[str, ...]  #: ids of the records that count, in date order
    needed: int = 1
    standing: bool = False  #: a fact that must hold (a sign in place), not an event to happen

    @property
    def satisfied(self) -> bool:
        """Whether enough records were found."""
        return len(self.found) >= self.needed

    def gap(self) -> Text:
        """What is missing, and by when: 第三季度尚无双拥领导小组会议记录（应于 2026-09-30 前）."""
        found, needed, due = len(self.found), self.needed, self.due.isoformat()
        if self.standing:
            return Text(f"{self.label.zh}未见{self.subject.zh}（应自 {due} 起具备）",
                        f"{self.label.en}: no {self.subject.en} in place (required from {due})")
        if found == 0:
            return Text(f"{self.label.zh}尚无{self.subject.zh}记录（应于 {due} 前完成）",
                        f"{self.label.en}: no {self.subject.en} recorded (due {due})")
        return Text(f"{self.label.zh}{self.subject.zh}仅 {found} 项，需 {needed} 项（应于 {due} 前完成）",
                    f"{self.label.en}: only {found} of {needed} {self.subject.en} recorded (due {due})")


@attrs.frozen(slots=True)
class Context:
    """What a check reads: the records known on ``as_of`` and the dossier's year."""

    dossier: Dossier
    as_of: dt.date

    @property
    def year(self) -> int:
        """The dossier's year."""
        return self.dossier.year

    @property
    def whole_year(self) -> DateWindow:
        """1 January to 31 December of the dossier's year."""
        return DateWindow(dt.date(self.year, 1, 1), dt.date(self.year, 12, 31))

    @property
    def standing_day(self) -> dt.date:
        """The day on which standing facts (a sign, a pairing) must hold: as-of, within the year."""
        year = self.whole_year
        assert year.start is not None and year.end is not None
        return min(max(self.as_of, year.start), year.end)

    def select(self, selector: Selector, window: DateWindow) -> tuple[str, ...]:
        """The ids of the records the selector takes whose date falls in ``window``."""
        head = self.dossier.unit.head
        return tuple(record.id for record in self.dossier.records
                     if record.kind == selector.kind and record.type in selector.type
                     and window.contains(record.start)
                     and (not selector.paired or self._paired_on(record))
                     and (not selector.led_by_head or (head is not None and record.led_by == head)))

    def _paired_on(self, record: Record) -> bool:
        """Whether the record was for a unit the dossier's unit was paired with on the record's
        own date: a checkup for a former (or future) partner does not count (seed 000: 对已经结对的…)."""
        partner = getattr(record, "partner", None)
        return partner is not None and any(
            pairing.partner == partner and pairing.window.contains(record.start)
            for pairing in self.dossier.records if isinstance(pairing, Pairing))


class CheckKind(Protocol):
    """What the standards engine needs of a check kind (built-in or from a plugin). ``name``,
    ``title`` and ``options`` are read only: class constants on the built-in kinds."""

    @property
    def name(self) -> str:
        """The id a standard's ``check: {kind: ...}`` names."""

    @property
    def title(self) -> Text:
        """What the kind checks, in zh and en."""

    @property
    def options(self) -> type[Options]:
        """The model a standard's other ``check`` keys are validated against."""

    def requirements(self, options: Any, context: Context) -> list[Requirement]:
        """What the standard needs under ``options`` in this context, each with what was found."""

    def needs(self, options: Any) -> Iterable[tuple[str, str]]:
        """The (record kind, type) pairs the check reads: what ``compliance template`` lists."""
        ...
