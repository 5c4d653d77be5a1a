"""A plugin implementing every hook, loaded by tests/test_plugins.py as an entry point would be."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any, ClassVar

import attrs
import click

from shuangyong import Beneficiary, ChargeLine, Registry, Term, Text, hookimpl
from shuangyong.plugins import (
    Context,
    Ledger,
    MemoryLedger,
    Options,
    Posting,
    PostingRequest,
    Requirement,
    Selector,
    VisitContext,
)

HERE = Path(__file__).parent
AUDIT: list[tuple[str, int]] = []  #: (ledger url, postings written) seen by the ledger_append wrapper


@attrs.frozen(slots=True)
class Weekday:
    """``custom: {weekday: [0, 1, 2, 3, 4]}``: the visit falls on one of these weekdays (Monday 0)."""

    days: frozenset[int]
    LINE_LEVEL: ClassVar[bool] = False

    def __call__(self, ctx: VisitContext, line: ChargeLine | None) -> bool:
        return ctx.visit.date.weekday() in self.days

    def explain(self, ctx: VisitContext, line: ChargeLine | None, registry: Registry) -> tuple[bool, Text]:
        day = ctx.visit.date.weekday()
        return self(ctx, line), Text(f"星期序号 {day}", f"weekday {day}")


@attrs.frozen(slots=True)
class TsvExporter:
    subjects: frozenset[str] = frozenset({"ledger"})
    suffix: str = ".tsv"

    def write(self, subject: str, data: Iterable[Posting], target: IO[bytes]) -> None:
        for posting in data:
            target.write(f"{posting.seq}\t{posting.visit_id}\t{posting.granted_fen}\n".encode())


class SampleHis:
    """Reads 'visit_id|patient|amount' lines into JSON-contract visits."""

    def read(self, source: Iterable[str]) -> Iterator[dict[str, Any]]:
        for text in source:
            visit_id, patient, amount = text.strip().split("|")
            yield {"visit_id": visit_id, "date": "2026-03-02", "kind": "outpatient", "region": "450100",
                   "patient": {"id": patient, "categories": ["sample_elder"]},
                   "lines": [{"line_id": "1", "item": "registration", "amount": amount}]}


class SampleLedger(MemoryLedger):
    """``sample:`` — a memory ledger under another scheme, to prove storage is pluggable."""


@hookimpl
def register_categories() -> Iterable[Term]:
    return [Term("sample_elder", Text("示例三老", "sample elder"), ("key_care",))]


@hookimpl
def register_predicates() -> Mapping[str, Any]:
    return {"weekday": lambda days: Weekday(frozenset(days))}


@hookimpl
def register_policy_packs() -> Mapping[str, Path]:
    return {"sample-pack": HERE / "plugin_data" / "sample-pack.yaml"}


@hookimpl
def register_standards() -> Mapping[str, Path]:
    return {"sample-standards": HERE / "plugin_data" / "sample-standards.yaml"}


class WeekendOptions(Options):
    records: Selector
    weekdays: tuple[int, ...]


class WeekdayCount:
    """``sample_weekday_count``: at least one of the records falls on one of ``weekdays``."""

    name: ClassVar[str] = "sample_weekday_count"
    title: ClassVar[Text] = Text("周末活动", "activity on given weekdays")
    options: ClassVar[type[Options]] = WeekendOptions

    def requirements(self, options: WeekendOptions, context: Context) -> list[Requirement]:
        window = context.whole_year
        chosen = {r.id for r in context.dossier.records if r.start.weekday() in options.weekdays}
        found = tuple(i for i in context.select(options.records, window) if i in chosen)
        assert window.end is not None
        return [Requirement(Text("全年", "the year"), options.records.subject(), window, window.end, found)]

    def needs(self, options: WeekendOptions) -> Iterable[tuple[str, str]]:
        return [(options.records.kind, name) for name in options.records.type]


@hookimpl
def register_check_kinds() -> Iterable[Any]:
    return [WeekdayCount()]


@hookimpl
def register_his_adapters() -> Mapping[str, Any]:
    return {"sample-his": SampleHis()}


@hookimpl
def register_storage() -> Mapping[str, Any]:
    return {"sample": SampleLedger}


@hookimpl
def register_exporters() -> Mapping[str, Any]:
    return {"tsv": TsvExporter()}


@hookimpl
def register_commands(cli: click.Group) -> None:
    @cli.command()
    def hello() -> None:
        """Say hello (from the sample plugin)."""
        click.echo("你好 from the sample plugin")


@hookimpl
def resolve_beneficiary(patient_id: str, date: dt.date) -> Beneficiary | None:
    return Beneficiary(patient_id, frozenset({"sample_elder"})) if patient_id.startswith("E") else None


@hookimpl(wrapper=True)
def ledger_append(ledger: Ledger, requests: list[PostingRequest]) -> Any:
    postings = yield
    AUDIT.append((ledger.url, len(postings)))
    return postings
