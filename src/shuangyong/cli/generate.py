"""``shuangyong generate``: synthetic visits in the JSON contract for benchmarks and demonstrations."""

from __future__ import annotations

import click

from shuangyong.cli.base import main, say, writing_to
from shuangyong.generate import visits, write_json_lines
from shuangyong.text import Text


@main.command()
@click.option("--visits", "count", type=click.IntRange(min=1), required=True, metavar="N",
              help="How many visits to write.")
@click.option("--seed", type=int, default=2026, show_default=True,
              help="The same seed gives the same file, byte for byte.")
@click.option("--year", type=click.IntRange(1901, 9998), default=2025, show_default=True,
              help="Visits fall on days spread over this year.")
@click.option("--output", "-o", metavar="FILE", help="Write here instead of standard output.")
def generate(count: int, seed: int, year: int, output: str | None) -> None:
    """Write N synthetic visits as JSON Lines (illustrative mix of categories, cards, items, dates)."""
    with writing_to(output) as out:
        written = write_json_lines(visits(count, seed, year), out)
    if output:
        say(Text(f"已写入 {written} 条就诊记录到 {output}", f"wrote {written} visits to {output}"), err=True)
