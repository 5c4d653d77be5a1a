"""The monthly 台帐: what the concession ledger granted in one calendar month, summed by rule,
by beneficiary category, by item kind and by payer, with the visits and persons behind each sum.

Pure: postings in, a :class:`MonthReport` out, so that a command, a web page or a test builds
the same figures. Money stays integer fen until it is shown.

**Which date counts.** A posting's ``business_date`` — the visit's local business date, which a
reversal row copies from the grant it cancels — decides its month, both days of the month
included. ``posted_at`` is a UTC timestamp: its month is not the hospital's (a visit posted at
07:00 on the 1st in Beijing is the last day of the month before in UTC), so it decides nothing
here. A reversal therefore counts in the month of the visit it cancels, even when it is posted
later: the report of a past month changes after a late reversal, and says up to which posting
it was made (``through_seq``).

**What is counted.** *granted* sums the grant rows' ``granted_fen``, *reversed* the reversal
rows', *net* is the difference. *visits* and *persons* are the distinct visit ids and patient
keys of the grant rows that granted something (a grant a yearly cap cut to 0.00 gave nothing);
a reversal does not take a visit back off the count. The sums of every month together are
``ledger verify``'s totals, payer by payer.

**By category.** Each posting records the one beneficiary category its grant is for
(:mod:`shuangyong.ledger.category`), so the categories of a month add up to its total like the
other groupings. Rows posted before categories were recorded are counted under
:data:`~shuangyong.ledger.category.UNRECORDED`, grants to a patient without a category under
:data:`~shuangyong.ledger.category.NO_CATEGORY`: shown as such, never spread over categories.
"""

from __future__ import annotations

import datetime as dt
import re
from calendar import monthrange
from typing import TYPE_CHECKING, Any

import attrs

from shuangyong.errors import DateError
from shuangyong.ledger.category import CATEGORY_LABELS
from shuangyong.ledger.posting import DEFAULT_PAYER
from shuangyong.money import format_amount, from_fen
from shuangyong.render import table
from shuangyong.text import Text

if TYPE_CHECKING:
    from collections.abc import Iterable

    from shuangyong.ledger.posting import Posting
    from shuangyong.model.registry import Registry
    from shuangyong.text import Lang

#: the ``report`` member of the JSON form: bumped when a key changes meaning
SCHEMA = "shuangyong.ledger-month/1"
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")


def parse_month(value: object, *, field: str = "month") -> tuple[int, int]:
    """``"2026-03"`` → ``(2026, 3)``; anything else (``2026-13``, ``2026-3``, ``0000-01``) is a
    :class:`DateError` naming ``field`` and the value."""
    found = _MONTH.fullmatch(value) if isinstance(value, str) else None
    if found is None or not (1 <= int(found[1]) and 1 <= int(found[2]) <= 12):
        raise DateError(Text(f"月份应为 YYYY-MM（如 2026-03），收到 {value!r}",
                             f"a month is YYYY-MM (such as 2026-03), got {value!r}"), field=field, value=value)
    return int(found[1]), int(found[2])


def month_days(year: int, month: int) -> tuple[dt.date, dt.date]:
    """The first and the last day of the month, both of which it includes."""
    return dt.date(year, month, 1), dt.date(year, month, monthrange(year, month)[1])


@attrs.frozen(slots=True)
class Tally:
    """One group's figures: ``key`` is the rule, category, item kind or payer id (``""`` for the total)."""

    key: str
    visits: int
    persons: int
    granted_fen: int
    reversed_fen: int

    @property
    def net_fen(self) -> int:
        """Granted less reversed."""
        return self.granted_fen - self.reversed_fen

    def as_dict(self) -> dict[str, Any]:
        """Counts as numbers, amounts as yuan strings (``"12.00"``), as the JSON contract writes money."""
        return {"visits": self.visits, "persons": self.persons,
                **{name: format_amount(from_fen(fen)) for name, fen in
                   (("granted", self.granted_fen), ("reversed", self.reversed_fen), ("net", self.net_fen))}}


@attrs.define(slots=True)
class _Sums:
    """A tally being summed: the visits and persons as sets until the end."""

    visits: set[str] = attrs.field(factory=set)
    persons: set[str] = attrs.field(factory=set)
    granted: int = 0
    reversed: int = 0

    def add(self, row: Posting) -> None:
        if row.kind == "reversal":
            self.reversed += row.granted_fen
            return
        self.granted += row.granted_fen
        if row.granted_fen:
            self.visits.add(row.visit_id)
            self.persons.add(row.patient_key)

    def tally(self, key: str) -> Tally:
        return Tally(key, len(self.visits), len(self.persons), self.granted, self.reversed)


#: the groupings of a report, each with the posting field it groups by and its zh/en heading
GROUPINGS: dict[str, tuple[str, Text]] = {
    "by_rule": ("rule_id", Text("按规则（优待项目）", "By rule (concession)")),
    "by_category": ("category", Text("按优抚对象类别", "By beneficiary category")),
    "by_item": ("item", Text("按收费项目类别", "By item kind")),
    "by_payer": ("payer", Text("按负担方", "By payer")),
}


@attrs.frozen(slots=True)
class MonthReport:
    """The month's figures: the total, then by rule, by beneficiary category, by item kind and by
    payer. Each grouping's amounts add up to the total's; its visit and person counts need not
    (one visit can have lines under several rules, one person can be granted under several categories)."""

    year: int
    month: int
    first: dt.date
    last: dt.date
    postings: int  #: rows of the month, grants and reversals
    through_seq: int  #: the last posting of the ledger read: the report holds for postings 1 to this
    total: Tally
    by_rule: tuple[Tally, ...]
    by_category: tuple[Tally, ...]
    by_item: tuple[Tally, ...]
    #: the hospital first, then the other payers in the order they were first posted (as ``verify``)
    by_payer: tuple[Tally, ...]

    @property
    def label(self) -> str:
        """``2026-03``."""
        return f"{self.year:04d}-{self.month:02d}"

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (``--format json``, and what exporter plugins receive): stable keys,
        amounts as strings; ``by_rule``, ``by_category``, ``by_item`` and ``by_payer`` are lists
        in report order."""
        return {"report": SCHEMA, "month": self.label, "from": self.first.isoformat(), "to": self.last.isoformat(),
                "date": "business_date", "postings": self.postings, "through_seq": self.through_seq,
                "total": self.total.as_dict(),
                **{name: [{GROUPINGS[name][0].removesuffix("_id"): tally.key, **tally.as_dict()}
                          for tally in getattr(self, name)] for name in GROUPINGS}}


def month_report(postings: Iterable[Posting], year: int, month: int) -> MonthReport:
    """The report of ``month`` of ``year`` from every posting of a ledger (read once, in order)."""
    first, last = month_days(year, month)
    total = _Sums()
    groups: dict[str, dict[str, _Sums]] = {name: {} for name in GROUPINGS}
    count = through = 0
    for row in postings:
        through = row.seq
        if not first <= row.business_date <= last:
            continue
        count += 1
        total.add(row)
        for name, (field, _) in GROUPINGS.items():
            groups[name].setdefault(getattr(row, field), _Sums()).add(row)
    tallies = {name: tuple(sums.tally(key) for key, sums in found.items()) for name, found in groups.items()}
    by_payer = tuple(sorted(tallies["by_payer"], key=lambda tally: tally.key != DEFAULT_PAYER))  # stable
    return MonthReport(year, month, first, last, count, through, total.tally(""), tallies["by_rule"],
                       tallies["by_category"], tallies["by_item"], by_payer)


def _label(registry: Registry | None, vocabulary: str, key: str, lang: Lang) -> str:
    """A term's label beside its id, when the registry knows it; the id alone otherwise. A
    category that is no id (not recorded, none) is its label alone."""
    if vocabulary == "categories" and key in CATEGORY_LABELS:
        return f"{key} {CATEGORY_LABELS[key].in_(lang)}".lstrip()
    terms = getattr(registry, vocabulary) if registry is not None else None
    return f"{key} {terms.get(key).label.in_(lang)}" if terms is not None and key in terms else key


def report_table(report: MonthReport, lang: Lang, registry: Registry | None = None) -> str:
    """The report as plain-text tables for a terminal or a printer, in ``lang``; categories, item
    kinds and payers are labelled from ``registry`` when given."""
    zh = lang == "zh"
    head = (f"{report.year} 年 {report.month} 月优惠减免台帐（业务日期 {report.first} 至 {report.last}；"
            f"{report.postings} 条记账，账本截至第 {report.through_seq} 条）" if zh else
            f"Concession ledger for {report.label} (business dates {report.first} to {report.last}; "
            f"{report.postings} postings, ledger read through posting {report.through_seq})")
    columns = ["人次", "人数", "减免", "冲正", "净额"] if zh else ["visits", "persons", "granted", "reversed", "net"]
    vocabularies = {"by_rule": None, "by_category": "categories", "by_item": "items", "by_payer": "payers"}
    lines = [head]
    for name, (_, heading) in GROUPINGS.items():
        rows = [[heading.in_(lang), *columns]]
        for tally in getattr(report, name):
            vocabulary = vocabularies[name]
            key = tally.key if vocabulary is None else _label(registry, vocabulary, tally.key, lang)
            rows.append([key, *_cells(tally)])
        rows.append(["合计" if zh else "total", *_cells(report.total)])
        lines += ["", *table(rows, right={1, 2, 3, 4, 5})]
    return "\n".join(lines) + "\n"


def _cells(tally: Tally) -> list[str]:
    shown = tally.as_dict()
    return [str(shown["visits"]), str(shown["persons"]), shown["granted"], shown["reversed"], shown["net"]]
