"""``shuangyong compliance DOSSIER`` and ``shuangyong compliance template``."""

from __future__ import annotations

import datetime as dt
from typing import Any

import click
from typing_extensions import override

from shuangyong import plugins
from shuangyong.cli.base import exit_on_error, exporter_for, fail, lang, writing_to
from shuangyong.compliance.dossier import load_dossier
from shuangyong.compliance.report import evaluate, report_to_dict
from shuangyong.compliance.standards import StandardsSet
from shuangyong.compliance.template import dossier_template
from shuangyong.dates import parse_date
from shuangyong.errors import ShuangyongError
from shuangyong.exporters import ReportExporter

DEFAULT_STANDARDS = ("seed-standards",)


class DefaultCommandGroup(click.Group):
    """A group whose first argument, when it is not a subcommand, goes to ``report``:
    ``compliance DOSSIER`` reads as ``compliance report DOSSIER``."""

    @override
    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["report", *args]
        return super().parse_args(ctx, args)


def load_standards(references: tuple[str, ...]) -> StandardsSet:
    """The merged standards packs, or exit 2 naming what is wrong."""
    with exit_on_error():
        return StandardsSet.load(references or DEFAULT_STANDARDS, named=plugins.collect("register_standards"),
                                 kinds=plugins.check_kinds())


def _day(value: str | None) -> dt.date | None:
    if value is None:
        return None
    with exit_on_error():
        return parse_date(value, field="--as-of")


standards_option = click.option(
    "--standards", "-s", "standards", multiple=True, metavar="NAME_OR_PATH",
    help="Standards pack by built-in name or YAML path; repeat to layer. Default: seed-standards.")


@click.group(cls=DefaultCommandGroup)
def compliance() -> None:
    """双拥创建标准自查：哪些已达标、缺什么、何时到期。

    Check a unit's year of 双拥 records against creation standards: what is met, what is
    missing, what is due next. `shuangyong compliance DOSSIER` is short for `compliance report`.
    """


@compliance.command("report")
@click.argument("dossier", type=click.Path(dir_okay=False))
@standards_option
@click.option("--as-of", "as_of", metavar="DATE",
              help="Report as of this day (YYYY-MM-DD). Default: today, or the year's last day "
                   "for a past year.")
@click.option("--format", "fmt", default="md", show_default=True, metavar="FORMAT",
              help="json, md or html, or any compliance exporter a plugin adds.")
@click.option("--output", "-o", metavar="FILE", help="Write here (atomically) instead of standard output.")
def compliance_report(dossier: str, standards: tuple[str, ...], as_of: str | None, fmt: str,
                      output: str | None) -> None:
    """Report on DOSSIER (JSON or YAML) against the standards."""
    exporter = exporter_for("compliance", fmt)
    chosen = load_standards(standards)
    with exit_on_error():
        records = load_dossier(dossier)
    day = _day(as_of) or min(dt.date.today(), dt.date(records.year, 12, 31))
    data: dict[str, Any] = report_to_dict(evaluate(records, chosen, day))
    try:
        with writing_to(output, binary=True) as target:
            if isinstance(exporter, ReportExporter):  # the built-in ones speak the chosen language
                exporter.write("compliance", data, target, lang=lang())
            else:
                exporter.write("compliance", data, target)
    except ShuangyongError as error:
        fail(error)


@compliance.command("template")
@click.option("--year", type=click.IntRange(1929, 2099), required=True, help="The dossier's year.")
@standards_option
@click.option("--output", "-o", metavar="FILE", help="Write here (atomically) instead of standard output.")
def compliance_template(year: int, standards: tuple[str, ...], output: str | None) -> None:
    """An empty dossier for YEAR, with an example of every record the standards read."""
    text = dossier_template(load_standards(standards), year, lang())
    with writing_to(output) as target:
        target.write(text)
