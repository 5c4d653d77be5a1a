"""What the templates show, worked out in Python so that the templates only lay it out: bars of a
chart, a record's one-line summary, times in the hospital's clock, the ledger's rows with labels.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

from shuangyong import Text
from shuangyong.compliance.records import LOCATIONS, RECORD_TYPES
from shuangyong.ledger.category import CATEGORY_LABELS
from shuangyong.ledger.report import GROUPINGS
from shuangyong.money import format_amount, from_fen
from shuangyong_server.office.forms import FIELD_LABELS

if TYPE_CHECKING:
    from collections.abc import Mapping

    from shuangyong import PolicySet, Registry
    from shuangyong.ledger.report import MonthReport, Tally
    from shuangyong.text import Lang

#: China keeps one clock, UTC+8, with no summer time: versions are stored in UTC and shown in it
CHINA = dt.timezone(dt.timedelta(hours=8), "CST")


def local_time(moment: dt.datetime) -> str:
    """``2026-03-12 14:05``, in China's time."""
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


@attrs.frozen(slots=True)
class Bar:
    """One bar of a chart: its label, its length as a share of the longest (0 to 1), the figure
    written beside it, and a class that colours it."""

    label: str
    share: float
    shown: str
    css: str = ""


def score_bars(report: Mapping[str, Any], lang: Lang) -> list[Bar]:
    """The overall score and each headline's, from the report's JSON form (scores are percent
    strings, None before anything is due)."""
    def bar(label: str, score: str | None, css: str) -> Bar:
        return Bar(label, float(Decimal(score) / 100) if score else 0.0, f"{score}%" if score else "—", css)
    overall = bar(Text("总得分", "overall").in_(lang), report["score"], "overall")
    return [overall, *(bar(h["title"][lang], h["score"], "headline") for h in report["headlines"])]


def _shown(key: str, value: Any, lang: Lang) -> str:
    if isinstance(value, bool):
        return Text("是", "yes").in_(lang) if value else Text("否", "no").in_(lang)
    if isinstance(value, list):
        return "、".join(map(str, value)) if lang == "zh" else ", ".join(map(str, value))
    if key == "location" and value in LOCATIONS:
        return LOCATIONS[value].in_(lang)
    return str(value)


def record_when(record: Mapping[str, Any], lang: Lang) -> str:
    """When a record happened, or the days it holds (``2020-03-01 起`` / ``from 2020-03-01``)."""
    if "date" in record:
        return str(record["date"])
    if "until" in record:
        return f"{record['since']} – {record['until']}"
    return Text(f"{record['since']} 起", f"from {record['since']}").in_(lang)


#: what the summary leaves out: shown in their own columns
_OWN_COLUMNS = frozenset({"id", "kind", "type", "date", "since", "until", "title"})


def record_summary(record: Mapping[str, Any], lang: Lang) -> str:
    """The record's other fields in one line: ``出席人数 11；带队或主持人 王建国``."""
    parts = [f"{FIELD_LABELS.get(key, Text(key, key)).in_(lang)} {_shown(key, value, lang)}"
             for key, value in record.items() if key not in _OWN_COLUMNS]
    return ("；" if lang == "zh" else "; ").join(parts)


def type_label(record: Mapping[str, Any], lang: Lang) -> str:
    """The label of a record's type."""
    known = RECORD_TYPES.get(record["kind"], {})
    return known[record["type"]].in_(lang) if record["type"] in known else record["type"]


def changed_fields(before: Mapping[str, Any] | None, after: Mapping[str, Any], lang: Lang) -> str:
    """The labels of the fields a version changed from the one before it."""
    if before is None:
        return ""
    keys = [key for key in dict.fromkeys([*before, *after]) if before.get(key) != after.get(key)]
    return "、".join(FIELD_LABELS.get(key, Text(key, key)).in_(lang) for key in keys)


@attrs.frozen(slots=True)
class LedgerRow:
    """One line of a month table: its key with a label, the figures as yuan, and a bar."""

    key: str
    label: str
    visits: int
    persons: int
    granted: str
    reversed: str
    net: str
    share: float


def _label(grouping: str, key: str, policy: PolicySet, registry: Registry, lang: Lang) -> str:
    if grouping == "by_rule":
        try:
            title = policy.rule(key).spec.title
        except KeyError:  # a rule of an earlier policy, posted then
            return ""
        return Text(title.zh, title.en).in_(lang)
    if grouping == "by_category" and key in CATEGORY_LABELS:  # none, not recorded
        return CATEGORY_LABELS[key].in_(lang)
    terms = {"by_category": registry.categories, "by_item": registry.items}.get(grouping, registry.payers)
    return terms.get(key).label.in_(lang) if key in terms else ""


def ledger_tables(report: MonthReport, policy: PolicySet, registry: Registry,
                  lang: Lang) -> list[tuple[Text, list[LedgerRow]]]:
    """Each grouping of the month (by rule, beneficiary category, item kind, payer) as labelled rows,
    largest net first."""
    def row(grouping: str, tally: Tally, top: int) -> LedgerRow:
        yuan = {name: format_amount(from_fen(fen)) for name, fen in
                (("granted", tally.granted_fen), ("reversed", tally.reversed_fen), ("net", tally.net_fen))}
        return LedgerRow(tally.key, _label(grouping, tally.key, policy, registry, lang), tally.visits,
                         tally.persons, share=max(tally.net_fen, 0) / top if top else 0.0, **yuan)
    tables = []
    for grouping, (_, heading) in GROUPINGS.items():
        tallies = sorted(getattr(report, grouping), key=lambda t: (-t.net_fen, t.key))
        top = max((t.net_fen for t in tallies), default=0)
        tables.append((heading, [row(grouping, t, top) for t in tallies]))
    return tables


def yuan(fen: int) -> str:
    """Fen as yuan, ``1234`` → ``12.34``."""
    return format_amount(from_fen(fen))
