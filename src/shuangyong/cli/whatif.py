"""``shuangyong whatif``: two pack sets over the same visits, and what the change would cost."""

from __future__ import annotations

import json
import sys

import click

from shuangyong.cli.base import BAD_INPUT, encoding_option, exit_on_error, lang, say, writing_to
from shuangyong.cli.batch import batch_engine, input_format_option, progress_option
from shuangyong.text import Text


@click.command()
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.option("--base", "base", multiple=True, required=True, metavar="NAME_OR_PATH",
              help="The pack set as it is (repeat to layer), e.g. seed-example.")
@click.option("--reform", "reform", multiple=True, required=True, metavar="NAME_OR_PATH",
              help="The pack set as proposed (repeat to layer), e.g. a pack overriding one rule.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "html"]), default="table")
@click.option("--top", type=click.IntRange(min=0), default=10, show_default=True,
              help="How many of the largest individual changes to list.")
@input_format_option
@encoding_option
@click.option("--output", "-o", metavar="FILE", help="Write here instead of standard output.")
@progress_option
def whatif(source: str, base: tuple[str, ...], reform: tuple[str, ...], fmt: str, top: int,
           input_fmt: str, encoding: str, output: str | None, show: bool | None) -> None:
    """Compare two pack sets over the visits in SOURCE (JSON Lines, Parquet or CSV).

    Totals under each, the difference by rule, category, item kind and month, the visits and
    beneficiaries affected, and the largest individual changes. Records either set cannot
    evaluate are counted and left out; then the exit status is 2.
    """
    base_engine, reform_engine = batch_engine(base, False, None), batch_engine(reform, False, None)
    from shuangyong.batch.progress import wanted  # the batch extra is known to be there only now
    from shuangyong.whatif import compare
    from shuangyong.whatif_render import as_html, as_table

    with exit_on_error():
        comparison = compare(base_engine, reform_engine, source,
                             None if input_fmt == "auto" else input_fmt, encoding, top=top,
                             show_progress=wanted(show))
    registry = base_engine.engine.registry
    with writing_to(output) as out:
        if fmt == "json":
            payload = {"packs": {"base": list(base), "reform": list(reform)}, **comparison.as_dict()}
            out.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
        elif fmt == "html":
            out.write(as_html(comparison, base, reform, registry, lang()))
        else:
            out.write(as_table(comparison, base, reform, registry, lang()))
    if comparison.errors:
        say(Text(f"{comparison.errors} 条记录有误，未计入比较（用 shuangyong evaluate 查看错误）",
                 f"{comparison.errors} record(s) had errors and were left out (shuangyong evaluate shows them)"),
            err=True)
        sys.exit(BAD_INPUT)



