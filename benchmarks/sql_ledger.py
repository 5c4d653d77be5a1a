"""Postings per second of the SQL ledger, 1 and 8 writer processes, on PostgreSQL and MariaDB,
each as a ratio to plain INSERTs of the same rows in the same run.

    python benchmarks/sql_ledger.py [--visits 400] [--writers 1 8]

Each writer posts its own visits (six shares each: three lines, a capped and an uncapped rule),
one transaction per visit, as a hospital counter would. The baseline inserts the very rows the
ledger wrote, six per transaction, into a table with the same columns and no key, lock, lookup
or trigger: what the ledger's guarantees cost is the ratio between the two. Each server gets a
scratch namespace (shuangyong_sql.testing.scratch_url), dropped afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import attrs
import pytest
import sqlalchemy as sa

from shuangyong.ledger import MemoryLedger, PostingRequest
from shuangyong.plugins import open_ledger
from shuangyong_sql.testing import scratch_url

FINGERPRINT = "sha256:00000000000000bb"


def batches(writer: int, visits: int) -> list[list[PostingRequest]]:
    """Visit ``n`` of writer ``w``: patient among 50, three lines, a capped and an uncapped share."""
    out = []
    for number in range(visits):
        day = dt.date(2026, 1, 1) + dt.timedelta(days=number % 365)
        out.append([PostingRequest(f"W{writer}-V{number}", str(line), rule, FINGERPRINT, f"P{number % 50}", "bed",
                                   day, 1000, 300 + line * 50, cap)
                    for line in (1, 2, 3) for rule, cap in (("capped", 2_000_000), ("uncapped", None))])
    return out


def plain_rows(writer: int, visits: int) -> list[list[dict[str, Any]]]:
    """The rows the ledger writes for the same batches (sealed by an in-memory ledger)."""
    memory = MemoryLedger()
    return [[attrs.asdict(row) for row in memory.post(batch)] for batch in batches(writer, visits)]


PLAIN_TABLE = """CREATE TABLE bench_plain (
    seq BIGINT, kind VARCHAR(8), visit_id VARCHAR(200), line_id VARCHAR(200), rule_id VARCHAR(200),
    fingerprint VARCHAR(23), patient_key VARCHAR(200), item VARCHAR(200), business_date DATE,
    amount_fen BIGINT, requested_fen BIGINT, granted_fen BIGINT, year_cap_fen BIGINT, reverses BIGINT,
    reason TEXT, posted_at {timestamp}, prev_hash CHAR(64), hash CHAR(64))"""


def ledger_writer(url: str, writer: int, visits: int, start: Any, times: Any) -> None:
    work = batches(writer, visits)
    with open_ledger(url) as ledger:
        start.wait()
        began = time.monotonic()
        for batch in work:
            ledger.post(batch)
        times.put((began, time.monotonic()))


def plain_writer(url: str, writer: int, visits: int, start: Any, times: Any) -> None:
    work = plain_rows(writer, visits)
    engine = sa.create_engine(url)
    table = sa.Table("bench_plain", sa.MetaData(), autoload_with=engine)
    start.wait()
    began = time.monotonic()
    for rows in work:
        with engine.begin() as connection:
            connection.execute(sa.insert(table), rows)
    times.put((began, time.monotonic()))
    engine.dispose()


def run(target: Any, url: str, writers: int, visits: int) -> float:
    """Postings per second from the first writer's start to the last one's end."""
    context = multiprocessing.get_context("spawn")
    start, times = context.Barrier(writers), context.Queue()
    processes = [context.Process(target=target, args=(url, writer, visits, start, times)) for writer in range(writers)]
    for process in processes:
        process.start()
    spans = [times.get(timeout=3600) for _ in processes]
    for process in processes:
        process.join()
        if process.exitcode:
            raise SystemExit(f"a writer failed with exit code {process.exitcode}")
    elapsed = max(end for _, end in spans) - min(began for began, _ in spans)
    return writers * visits * 6 / elapsed


def measure(kind: str, writers: int, visits: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as scratch_dir, scratch_url(kind, Path(scratch_dir)) as url:
        open_ledger(url).close()  # create the schema before the clock starts
        engine = sa.create_engine(url)
        with engine.begin() as connection:
            connection.exec_driver_sql(PLAIN_TABLE.format(timestamp="TIMESTAMP(6)" if kind == "postgresql"
                                                          else "DATETIME(6)"))
        engine.dispose()
        plain = run(plain_writer, url, writers, visits)
        ledger = run(ledger_writer, url, writers, visits)
    return ledger, plain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=400, help="visits per writer (six postings each)")
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 8])
    args = parser.parse_args()
    os.environ.setdefault("SHUANGYONG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    os.environ.setdefault("SHUANGYONG_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
    print(f"{os.cpu_count()} cores; {args.visits} visits per writer, 6 postings per visit, one transaction per visit")
    for kind in ("postgresql", "mariadb"):
        for writers in args.writers:
            try:
                ledger, plain = measure(kind, writers, args.visits)
            except pytest.skip.Exception as skipped:
                print(f"{kind:10} skipped: {skipped}")
                break
            print(f"{kind:10} {writers} writer{'s' if writers > 1 else ' '}  ledger {ledger:8.0f} postings/s"
                  f"   plain INSERT {plain:8.0f} rows/s   ratio {plain / ledger:5.2f}× the time")


if __name__ == "__main__":
    main()
