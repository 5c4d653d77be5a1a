"""``shuangyong generate``: synthetic visits in the JSON contract for benchmarks and demonstrations."""

from __future__ import annotations

import click

from shuangyong.cli.base import fail, say, writing_to
from shuangyong.errors import InputError
from shuangyong.generate import visits, write_json_lines
from shuangyong.text import Text


@click.command()
@click.option("--visits", "count", type=click.IntRange(min=1), required=True, metavar="N",
              help="How many visits to write.")
@click.option("--seed", type=int, default=2026, show_default=True,
              help="The same seed gives the same file, byte for byte.")
@click.option("--year", type=click.IntRange(1901, 9998), default=2025, show_default=True,
              help="Visits fall on days spread over this year.")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "parquet", "csv"]), default="jsonl",
              help="parquet and csv (the batch path's formats, docs/batch.md) need shuangyong[batch] "
                   "and --output.")
@click.option("--output", "-o", metavar="FILE", help="Write here instead of standard output.")
def generate(count: int, seed: int, year: int, fmt: str, output: str | None) -> None:
    """Write N synthetic visits (illustrative mix of categories, cards, items, dates)."""
    records = visits(count, seed, year)
    if fmt == "jsonl":
        with writing_to(output) as out:
            written = write_json_lines(records, out)
    else:
        if not output or output == "-":
            fail(InputError(Text(f"{fmt} 格式需要 --output 文件", f"--format {fmt} needs --output FILE"),
                            field="output"))
        from shuangyong.batch.sources.writers import (  # needs pyarrow (batch extra)
            records_in_tables,
            write_records_in_chunks,
        )

        with writing_to(output, binary=True) as out:
            written = write_records_in_chunks(records_in_tables(records), out.name, fmt)
    if output:
        say(Text(f"已写入 {written} 条就诊记录到 {output}", f"wrote {written} visits to {output}"), err=True)
