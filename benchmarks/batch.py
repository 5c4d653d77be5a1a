"""The batch path against the row engine, side by side in one run, and its memory at scale.

    python benchmarks/batch.py [--lines 1000000] [--rss-lines 1000000 10000000] [--repeats 2]

Data: ``shuangyong generate`` visits (about 8.7 charge lines each) up to ``--lines`` lines, as
JSON Lines and as Parquet. Timed as commands, start-up included, best of ``--repeats``:

- ``shuangyong evaluate FILE.jsonl``: the row engine, the yardstick;
- ``shuangyong batch FILE.jsonl`` and ``shuangyong batch FILE.parquet``.

Every output is checked to be byte-identical to the row engine's before any figure is printed.
Then, in-process and without reading or writing: ``Engine.evaluate`` over ``Visit`` objects
against ``BatchEngine`` deciding over columns built beforehand (the rules' share of the work).
Peak RSS of ``shuangyong batch FILE`` (Parquet, then JSON Lines) at each ``--rss-lines``: flat if
the path streams.
"""

from __future__ import annotations

import argparse
import filecmp
import itertools
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from shuangyong.batch import BatchEngine, read_chunks
from shuangyong.batch.columns import Columns
from shuangyong.batch.sources import records_in_tables, write_records_in_chunks
from shuangyong.engine import Engine
from shuangyong.generate import visits, write_json_lines

#: runs a command and prints its peak resident set in KiB (ru_maxrss of the child alone)
PEAK = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def up_to(lines: int, seed: int = 2026) -> Iterator[dict[str, Any]]:
    """Generated visits until ``lines`` charge lines (the last visit cut short to fit)."""
    left = lines
    for record in visits(lines // 6, seed):  # visits average 8.7 lines: enough; stop at the count
        record["lines"] = record["lines"][:left]
        if record["lines"]:
            yield record
            left -= len(record["lines"])
        if left <= 0:
            return


def write_data(lines: int, folder: Path) -> tuple[Path, Path]:
    source = folder / f"visits-{lines}.jsonl"
    with source.open("w", encoding="utf-8") as handle:
        write_json_lines(up_to(lines), handle)
    parquet = source.with_suffix(".parquet")
    write_records_in_chunks(records_in_tables(up_to(lines)), parquet, "parquet")
    return source, parquet


def timed(command: list[str], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, check=True)
        best = min(best, time.perf_counter() - start)
    return best


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "shuangyong", *args]


def side_by_side(lines: int, folder: Path, repeats: int) -> None:
    source, parquet = write_data(lines, folder)
    row_out, jsonl_out, parquet_out = folder / "row.jsonl", folder / "batch-jsonl.jsonl", folder / "batch-pq.jsonl"
    row = timed(cli("evaluate", str(source), "-o", str(row_out)), repeats)
    from_jsonl = timed(cli("batch", str(source), "-o", str(jsonl_out), "--no-progress"), repeats)
    from_parquet = timed(cli("batch", str(parquet), "-o", str(parquet_out), "--no-progress"), repeats)
    assert filecmp.cmp(row_out, jsonl_out, shallow=False), "batch (JSON Lines) differs from evaluate"
    assert filecmp.cmp(row_out, parquet_out, shallow=False), "batch (Parquet) differs from evaluate"
    size = row_out.stat().st_size / 1e6
    print(f"{lines} charge lines, {source.stat().st_size / 1e6:.0f} MB JSON Lines, "
          f"{parquet.stat().st_size / 1e6:.0f} MB Parquet in; {size:.0f} MB JSON Lines out (identical)")
    print(f"  shuangyong evaluate  (JSON Lines)  {row:6.2f} s  {lines / row:9.0f} lines/s")
    print(f"  shuangyong batch     (JSON Lines)  {from_jsonl:6.2f} s  {lines / from_jsonl:9.0f} lines/s"
          f"   ratio {row / from_jsonl:5.2f}×  (target ≥ 10)")
    print(f"  shuangyong batch     (Parquet)     {from_parquet:6.2f} s  {lines / from_parquet:9.0f} lines/s"
          f"   ratio {row / from_parquet:5.2f}×  (target ≥ 10)")
    core(parquet, lines)


def core(parquet: Path, lines: int) -> None:
    """The rules alone: decisions from parsed visits, no reading, no writing."""
    engine = Engine.from_packs()
    batch = BatchEngine(engine, resolves=False)
    chunks = list(itertools.islice(read_chunks(parquet), 40))
    visit_objects = [chunk.record(n).visit() for chunk in chunks for n in range(chunk.count)]
    columns = [Columns.of(chunk.table, engine.registry) for chunk in chunks]
    counted = sum(len(c.amount) for c in columns)
    start = time.perf_counter()
    for visit in visit_objects:
        engine.evaluate(visit)
    row = time.perf_counter() - start
    start = time.perf_counter()
    for c in columns:
        batch._decide(c)
    ours = time.perf_counter() - start
    print(f"  the rules alone over {counted} lines (parsed input, no output):")
    print(f"    Engine.evaluate      {counted / row:11.0f} lines/s")
    print(f"    BatchEngine columns  {counted / ours:11.0f} lines/s   ratio {row / ours:6.1f}×")


def peak_rss(lines: int, folder: Path) -> None:
    """Peak RSS of ``shuangyong batch`` on ``lines`` lines, from Parquet and from JSON Lines."""
    for source in write_data(lines, folder)[::-1]:
        command = [sys.executable, "-c", PEAK, *cli("batch", str(source), "--no-progress")]
        start = time.perf_counter()
        kib = int(subprocess.run(command, check=True, capture_output=True, text=True).stdout.split()[-1])
        seconds = time.perf_counter() - start
        print(f"  {source.suffix[1:]:8s} {lines:>10} lines  {seconds:7.1f} s  {lines / seconds:9.0f} lines/s  "
              f"peak RSS {kib / 1024:7.1f} MB  (target ≤ 200 MB at 10,000,000)")
    for path in folder.glob(f"visits-{lines}.*"):
        path.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--rss-lines", type=int, nargs="*", default=[1_000_000, 10_000_000])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="shuangyong-batch-") as folder:
        side_by_side(args.lines, Path(folder), args.repeats)
        if args.rss_lines:
            print("shuangyong batch FILE > /dev/null, peak RSS by size (streams: should stay flat)")
        for lines in args.rss_lines:
            peak_rss(lines, Path(folder))


if __name__ == "__main__":
    main()
