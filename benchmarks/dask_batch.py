"""shuangyong-dask: a partitioned dataset, serial against a local cluster of 2 worker processes.

    python benchmarks/dask_batch.py [--lines 10000000] [--partitions 20] [--workers 2]

The dataset is ``shuangyong generate`` visits as Parquet partitions. The serial run is the same
per-partition function in this process, one partition after another; the cluster run is
``evaluate_dataset`` on a ``LocalCluster`` (processes, one thread each), timed once the cluster
is up (its start-up is printed apart). Both outputs are hashed and must be equal.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

from distributed import Client, LocalCluster

from shuangyong.batch.sources import records_in_tables, write_records_in_chunks
from shuangyong.generate import visit
from shuangyong_dask.evaluate import evaluate_dataset, evaluate_partition

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
        print(f"{lines} charge lines in {len(files)} Parquet partitions "
              f"({sum(f.stat().st_size for f in files) / 1e6:.0f} MB), generated in {time.perf_counter() - start:.0f} s")

        serial_hash, size = hashlib.sha256(), 0
        start = time.perf_counter()
        for path in files:
            text, _ = evaluate_partition(str(path), PACKS)
            serial_hash.update(text)
            size += len(text)
        serial = time.perf_counter() - start

        start = time.perf_counter()
        with LocalCluster(n_workers=args.workers, threads_per_worker=1, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            up = time.perf_counter() - start
            cluster_hash = hashlib.sha256()
            start = time.perf_counter()
            for text, _ in evaluate_dataset(client, files, PACKS):
                cluster_hash.update(text)
            parallel = time.perf_counter() - start
        assert serial_hash.digest() == cluster_hash.digest(), "the cluster's output differs from the serial run"
        print(f"output {size / 1e6:.0f} MB of JSON Lines, identical (sha256 {serial_hash.hexdigest()[:16]})")
        print(f"  serial, one process     {serial:7.1f} s  {lines / serial:9.0f} lines/s")
        print(f"  {args.workers} Dask workers          {parallel:7.1f} s  {lines / parallel:9.0f} lines/s"
              f"   ratio {serial / parallel:4.2f}×   (cluster start-up {up:.1f} s more)")


if __name__ == "__main__":
    main()
