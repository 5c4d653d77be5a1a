"""Eight writer processes against one yearly cap, one of them killed with SIGKILL mid-transaction,
then the whole workload posted again: on PostgreSQL, MariaDB and SQLite.

Afterwards nothing acknowledged is lost, nothing is posted twice, no cap is exceeded, nothing of
the killed transaction is left, ``verify`` is clean, and the database refuses UPDATE and DELETE.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from shuangyong.ledger import verify
from shuangyong.plugins import open_ledger
from shuangyong_sql import SQLLedger
from shuangyong_sql.testing import KINDS, scratch_url

sys.path.insert(0, str(Path(__file__).parent))
import ledger_writer  # noqa: E402

WRITERS = 8
WRITER = Path(__file__).with_name("ledger_writer.py")


@pytest.fixture(params=KINDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with scratch_url(request.param, tmp_path) as scratch:
        yield scratch


def _start(url: str, seed: int, acks: Path, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, str(WRITER), url, str(seed), str(acks), *extra],
                            stderr=subprocess.PIPE)


def _wait_for(path: Path, process: subprocess.Popen[bytes], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if process.poll() is not None:
            raise AssertionError(f"writer ended before holding its transaction: {process.stderr.read().decode()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{path.name} did not appear within {seconds} s")
        time.sleep(0.05)


def _acknowledged(directory: Path) -> dict[int, str]:
    acked: dict[int, str] = {}
    for acks in directory.glob("acks-*.jsonl"):
        for line in acks.read_text().splitlines():
            for seq, hash_ in json.loads(line):
                assert acked.setdefault(seq, hash_) == hash_, f"two writers were told different rows for {seq}"
    return acked


def test_eight_writers_one_killed_then_reposted(url: str, tmp_path: Path) -> None:
    victim_marker = tmp_path / "held.json"
    victim = _start(url, 0, tmp_path / "acks-0.jsonl", "--hold", str(victim_marker), "--hold-at", "2")
    others: list[subprocess.Popen[bytes]] = []
    try:
        _wait_for(victim_marker, victim)
        # The victim now holds the head lock with uncommitted rows; the others queue behind it.
        others = [_start(url, seed, tmp_path / f"acks-{seed}.jsonl") for seed in range(1, WRITERS)]
        time.sleep(1.0)
        victim.send_signal(signal.SIGKILL)
        assert -signal.SIGKILL == victim.wait(timeout=30)
        for process in others:
            assert 0 == process.wait(timeout=600), process.stderr.read().decode()
    finally:
        for process in [victim, *others]:
            if process.poll() is None:
                process.kill()
            process.stderr.close()

    with open_ledger(url) as ledger:
        before = list(ledger.postings())
        # The same workload again, as a retry after a crash would send it: nothing new is written.
        for batch in ledger_writer.workload():
            ledger.post(batch)
        after = list(ledger.postings())
    assert before == after

    held = set(json.loads(victim_marker.read_text()))
    stored = {row.seq: row.hash for row in after}
    acked = _acknowledged(tmp_path)
    requests = [request for batch in ledger_writer.workload() for request in batch]
    capped = Counter()
    for row in after:
        if row.rule_id == "capped":
            capped[row.patient_key] += row.signed_fen

    assert {seq: stored.get(seq) for seq in acked} == acked, "an acknowledged row was lost or changed"
    assert not held & set(stored.values()), "a row of the killed transaction was committed"
    assert len(requests) == len(after) == len({row.grant_key for row in after}), "a grant is missing or doubled"
    assert {f"P{n}": ledger_writer.CAP_FEN for n in range(ledger_writer.PATIENTS)} == dict(capped)
    checked = verify(after)
    assert (True, len(requests)) == (checked.ok, checked.rows), checked.problems
    _assert_rows_cannot_change(url, after[0].seq, after[0].granted_fen)


def _assert_rows_cannot_change(url: str, seq: int, granted: int) -> None:
    with SQLLedger(url) as ledger:
        table = ledger.table.name
        for statement in (f"UPDATE {table} SET granted_fen = granted_fen + 1 WHERE seq = {seq}",
                          f"DELETE FROM {table} WHERE seq = {seq}"):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"), ledger.engine.begin() as connection:
                connection.exec_driver_sql(statement)
        with ledger.engine.connect() as connection:
            assert granted == connection.exec_driver_sql(
                f"SELECT granted_fen FROM {table} WHERE seq = {seq}").scalar_one()
