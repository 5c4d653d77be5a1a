"""``shuangyong batch``: a large file of visits decided over columns (needs ``shuangyong[batch]``)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from shuangyong import plugins
from shuangyong.cli.base import (
    BAD_INPUT,
    codes_option,
    encoding_option,
    exit_on_error,
    policy_option,
    say,
    strict_option,
    writing_to,
)
from shuangyong.engine import Engine
from shuangyong.model.charge_codes import ChargeCodeMap
from shuangyong.text import Text

if TYPE_CHECKING:
    from shuangyong.batch import BatchEngine

FORMATS = ("jsonl", "parquet", "csv")  # shuangyong.batch.FORMATS, without importing pyarrow for --help


def batch_engine(policies: tuple[str, ...], strict: bool, codes: str | None) -> BatchEngine:
    """The compiled packs in column form, or exit 2 (a bad pack, or the batch extra not installed)."""
    with exit_on_error():
        from shuangyong.batch import BatchEngine  # here, not at the top: it imports pyarrow
        engine = Engine.from_packs(*policies, strict=strict, registry=plugins.registry())
        code_map = ChargeCodeMap.load(codes, engine.registry.items) if codes else None
        return BatchEngine(engine, code_map)


progress_option = click.option("--progress/--no-progress", "show", default=None,
                               help="Progress bar on standard error. Default: only on a terminal.")
input_format_option = click.option(
    "--input-format", "input_fmt", type=click.Choice(["auto", *FORMATS]), default="auto",
    help="auto: by suffix (.parquet, .csv; anything else JSON Lines).")


@click.command()
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@policy_option
@input_format_option
@encoding_option
@strict_option
@codes_option
@click.option("--output", "-o", metavar="FILE", help="Write here instead of standard output.")
@progress_option
def batch(source: str, policies: tuple[str, ...], input_fmt: str, encoding: str, strict: bool, codes: str | None,
          output: str | None, show: bool | None) -> None:
    """Decide every visit in SOURCE over columns; JSON Lines out, as `evaluate` writes them.

    SOURCE is JSON Lines, Parquet (the contract's nested schema) or CSV (a row per charge line);
    see docs/batch.md. Visits the columns cannot take exactly go through the row engine.
    """
    engine = batch_engine(policies, strict, codes)
    from shuangyong.batch.progress import wanted  # the batch extra is known to be there only now
    from shuangyong.batch.run import write_decisions

    with exit_on_error(), writing_to(output, binary=True) as out:
        failures = write_decisions(engine, source, out, None if input_fmt == "auto" else input_fmt,
                                   encoding, show_progress=wanted(show))
    if failures:
        say(Text(f"{failures} 条记录有误，已逐条输出错误",
                 f"{failures} record(s) had errors; each is reported in the output"), err=True)
        sys.exit(BAD_INPUT)
