"""Issue 18's side-by-side table, in one run: CPU seconds for a million charge lines in 20-line visits.

    python benchmarks/side_by_side.py [--lines 1000000] [--repeats 3]

Each row is a command run in a child process, start-up included, and timed by the CPU time the
child used (user + system, ``RUSAGE_CHILDREN``), best of ``--repeats``; wall time is printed
beside it. The ratio is against the first row, the hand-written script with the standard
library's ``json`` and ``Decimal`` (``baseline_script.py``, which writes less than the contract),
measured in the same run; the next two are the same script reading and writing with orjson and
with msgspec (``baseline_fast.py``). Every shuangyong row's output is checked byte for byte against
``shuangyong evaluate``'s before the table is printed; the hand-written script's totals against
evaluate's (``run.py``'s end_to_end check), and so are the fast-library scripts'.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import synthetic  # noqa: E402

from shuangyong.batch.sources import records_in_tables, write_records_in_chunks  # noqa: E402

LINES_PER_VISIT = 20


#: the children run as an installed package does, with its bytecode cached: without this a machine
#: that sets PYTHONDONTWRITEBYTECODE (this one does) compiles the editable install at every start
#: (benchmarks/RESULTS.md, "Start-up again"); the first of the repeats writes the cache
CHILD_ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


def child_seconds(command: list[str]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one run of ``command``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=CHILD_ENV)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def best(command: list[str], repeats: int) -> tuple[float, float]:
    runs = [child_seconds(command) for _ in range(repeats)]
    return min(cpu for cpu, _ in runs), min(wall for _, wall in runs)


def write_data(lines: int, folder: Path) -> tuple[Path, Path]:
    """The benchmark's 20-line visits as JSON Lines, and the same as Parquet."""
    records = synthetic.visits(lines // LINES_PER_VISIT, LINES_PER_VISIT)
    source = folder / "visits.jsonl"
    with source.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    parquet = folder / "visits.parquet"
    write_records_in_chunks(records_in_tables(iter(records)), parquet, "parquet")
    return source, parquet


def totals_agree(ours: Path, theirs: Path) -> None:
    with ours.open(encoding="utf-8") as mine, theirs.open(encoding="utf-8") as other:
        for a, b in zip(mine, other, strict=True):
            assert json.loads(a)["totals"] == json.loads(b)["totals"], json.loads(a)["visit_id"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    shuangyong = [sys.executable, "-m", "shuangyong"]
    with tempfile.TemporaryDirectory(prefix="shuangyong-side-") as name:
        folder = Path(name)
        source, parquet = write_data(args.lines, folder)
        out = {key: folder / f"{key}.jsonl"
               for key in ("script", "orjson", "msgspec", "evaluate", "batch-jsonl", "batch-parquet")}
        rows = {
            "hand-written, stdlib json + Decimal": [sys.executable, str(HERE / "baseline_script.py"), str(source),
                                                    str(out["script"])],
            **{f"hand-written, {library} + Decimal": [sys.executable, str(HERE / "baseline_fast.py"), library,
                                                      str(source), str(out[library])]
               for library in ("orjson", "msgspec")},
            "shuangyong evaluate": [*shuangyong, "evaluate", str(source), "-o", str(out["evaluate"])],
            "shuangyong batch (JSON Lines)": [*shuangyong, "batch", str(source), "-o", str(out["batch-jsonl"]),
                                              "--no-progress"],
            "shuangyong batch (Parquet)": [*shuangyong, "batch", str(parquet), "-o", str(out["batch-parquet"]),
                                           "--no-progress"],
        }
        figures = {label: best(command, args.repeats) for label, command in rows.items()}
        for key in ("script", "orjson", "msgspec"):
            totals_agree(out["evaluate"], out[key])
        for key in ("batch-jsonl", "batch-parquet"):
            assert filecmp.cmp(out["evaluate"], out[key], shallow=False), f"{key} differs from evaluate"
    base = figures["hand-written, stdlib json + Decimal"][0]
    print(f"python {sys.version.split()[0]}; {args.lines:,} lines in {LINES_PER_VISIT}-line visits; "
          f"best of {args.repeats}; CPU s (user + system), wall s, CPU ratio to the hand-written script")
    for label, (cpu, wall) in figures.items():
        print(f"  {label:38s} {cpu:7.2f} {wall:7.2f}   {cpu / base:5.2f}")
    evaluate = figures["shuangyong evaluate"][0]
    from_jsonl, from_parquet = (evaluate / figures[f"shuangyong batch ({kind})"][0]
                                for kind in ("JSON Lines", "Parquet"))
    print(f"  batch throughput over evaluate's (CPU): JSON Lines {from_jsonl:.2f}x (target >= 3), "
          f"Parquet {from_parquet:.2f}x (target >= 4)")


if __name__ == "__main__":
    main()
