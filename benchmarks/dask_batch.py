"""shuangyong-dask: a partitioned dataset, serial against a local cluster of 2 worker processes.

    python benchmarks/dask_batch.py [--lines 10000000] [--partitions 20] [--workers 2]

The dataset is ``shuangyong generate`` visits as Parquet partitions. The serial run is the same
per-partition function in this process, one partition after another, each writing its part file;
the cluster runs are ``evaluate_dataset`` on a ``LocalCluster`` (processes, one thread each),
timed once the cluster is up and every worker has compiled the packs (printed apart): workers writing the part files
themselves (``--output-dir``), then workers sending the text to the client (``-o``). All three
outputs are hashed and must be equal. First, both ways with the text only counted, not kept:
the work itself, without the output's disk or network traffic.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import sys
import tempfile
import time
from pathlib import Path

from distributed import Client, LocalCluster

from shuangyong.batch.run import write_decisions
from shuangyong.batch.sources import records_in_tables, write_records_in_chunks
from shuangyong.generate import visit
from shuangyong_dask.evaluate import engine_for, evaluate_dataset, evaluate_partition, part_names

PACKS = ("seed-example",)


def write_dataset(lines: int, partitions: int, folder: Path, seed: int = 2026) -> tuple[list[Path], int]:
    """Partitions of about ``lines / partitions`` charge lines each; returns files and lines."""
    per_part, total, number = lines // partitions, 0, 0
    patients = max(lines // 35, 1)  # about four visits a patient at 8.7 lines a visit
    files = []
    for part in range(partitions):
        records, count = [], 0
        while count < per_part:
            record = visit(seed, number, patients)
            number += 1
            records.append(record)
            count += len(record["lines"])
        target = folder / f"part-{part:04d}.parquet"
        write_records_in_chunks(records_in_tables(iter(records)), target, "parquet")
        files.append(target)
        total += count
    return files, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000_000)
    parser.add_argument("--partitions", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="shuangyong-dask-") as folder:
        start = time.perf_counter()
        files, lines = write_dataset(args.lines, args.partitions, Path(folder))
        size_mb = sum(f.stat().st_size for f in files) / 1e6
        print(f"{lines} charge lines in {len(files)} Parquet partitions "
              f"({size_mb:.0f} MB), generated in {time.perf_counter() - start:.0f} s")

        serial_dir, cluster_dir = Path(folder) / "serial", Path(folder) / "cluster"
        serial_dir.mkdir()
        warm_up()
        start = time.perf_counter()
        decided = [decide_only(str(path)) for path in files]
        serial_decide = time.perf_counter() - start
        start = time.perf_counter()
        for path, name in zip(files, part_names(len(files)), strict=True):
            evaluate_partition(str(path), PACKS, target=str(serial_dir / name))
        serial = time.perf_counter() - start
        serial_hash = digest(serial_dir)

        start = time.perf_counter()
        with LocalCluster(n_workers=args.workers, threads_per_worker=1, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            client.run(warm_up)  # imports and packs compiled on every worker, as in a long-lived cluster
            up = time.perf_counter() - start
            start = time.perf_counter()
            assert client.gather(client.map(decide_only, [str(p) for p in files], pure=False)) == decided
            cluster_decide = time.perf_counter() - start
            start = time.perf_counter()
            for _ in evaluate_dataset(client, files, PACKS, output_dir=cluster_dir):
                pass
            to_files = time.perf_counter() - start
            gathered = hashlib.sha256()
            start = time.perf_counter()
            for text, _ in evaluate_dataset(client, files, PACKS):
                gathered.update(text)
            to_client = time.perf_counter() - start
        assert serial_hash == digest(cluster_dir) == gathered.hexdigest(), "the cluster's output differs"
        size = sum(p.stat().st_size for p in serial_dir.iterdir())
        print(f"output {size / 1e6:.0f} MB of JSON Lines, identical in every run (sha256 {serial_hash[:16]})")
        print(f"  serial, one process, text only counted {serial_decide:7.1f} s  {lines / serial_decide:9.0f} lines/s")
        print(f"  {args.workers} workers, text only counted       {cluster_decide:7.1f} s  "
              f"{lines / cluster_decide:9.0f} lines/s   ratio {serial_decide / cluster_decide:4.2f}×")
        print(f"  serial, one process, parts to files    {serial:7.1f} s  {lines / serial:9.0f} lines/s")
        print(f"  {args.workers} workers, parts to files (--output-dir) {to_files:7.1f} s  "
              f"{lines / to_files:9.0f} lines/s   ratio {serial / to_files:4.2f}×")
        print(f"  {args.workers} workers, text gathered by the client {to_client:7.1f} s  "
              f"{lines / to_client:9.0f} lines/s   ratio {serial / to_client:4.2f}×   "
              f"(cluster start-up and warm-up {up:.1f} s more)")


class _Count(io.RawIOBase):
    """A sink that only counts: the decisions and their text are made, nothing is kept."""

    def __init__(self) -> None:
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.size += len(data)
        return len(data)


def decide_only(path: str) -> int:
    """A partition through the batch path into a counting sink: the work without the output I/O."""
    sink = _Count()
    write_decisions(engine_for(PACKS, False), path, sink)  # type: ignore[arg-type]
    return sink.size


def warm_up() -> None:
    engine_for(PACKS, False)


def digest(folder: Path) -> str:
    """sha256 of the parts concatenated in name order (the output as one file)."""
    found = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        with path.open("rb") as handle:
            while block := handle.read(1 << 24):
                found.update(block)
    return found.hexdigest()


if __name__ == "__main__":
    main()
