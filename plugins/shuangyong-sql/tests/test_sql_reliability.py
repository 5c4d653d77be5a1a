"""Eight writer processes against yearly caps of two payers, one of them killed with SIGKILL
mid-transaction while the seven others are seen queued behind its lock, then the whole workload
posted again; and writers of two payers racing on the same patients and rule: on PostgreSQL,
MariaDB and SQLite.

Afterwards nothing acknowledged is lost, nothing is posted twice, no payer's cap is exceeded,
nothing of the killed transaction is left, ``verify`` is clean, and the database refuses UPDATE
and DELETE.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
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
#: how long the others must be seen queued behind the victim before it is killed: longer than a
#: lock timeout of a second, so a waiter that gives up early fails the test instead of going unseen
QUEUED_FOR = 2.0


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


def _blocked_by_victim(connection: sa.Connection, dialect: str) -> int:
    """How many sessions wait on the lock of the one session that has inserted rows into this
    ledger and not committed them (the victim), directly or queued behind another waiter."""
    if dialect == "postgresql":
        holders = connection.exec_driver_sql(
            "SELECT pid FROM pg_locks WHERE relation = 'shuangyong_postings'::regclass "
            "AND mode = 'RowExclusiveLock' AND granted").scalars().all()
        edges = connection.exec_driver_sql(
            "SELECT pid, unnest(pg_blocking_pids(pid)) FROM pg_stat_activity WHERE wait_event_type = 'Lock'").all()
    else:
        holders = connection.exec_driver_sql(
            "SELECT t.trx_id FROM information_schema.innodb_trx t JOIN information_schema.processlist p "
            "ON p.id = t.trx_mysql_thread_id WHERE p.db = DATABASE() AND t.trx_rows_modified > 0").scalars().all()
        edges = connection.exec_driver_sql(
            "SELECT requesting_trx_id, blocking_trx_id FROM information_schema.innodb_lock_waits").all()
    assert len(holders) <= 1, f"more than one session holds uncommitted rows: {holders}"
    queued = set(holders)
    while grown := {waiter for waiter, blocker in edges if blocker in queued} - queued:
        queued |= grown
    return len(queued - set(holders))


@contextmanager
def _queued_counter(url: str, acks: Sequence[Path], ready: Sequence[Path]) -> Iterator[Callable[[], int]]:
    """A function counting the writers queued behind the victim. On the servers the server's own
    lock tables say so; SQLite has none, so there a writer counts once it has said it is about to
    ask for the lock and, the victim still holding it, has acknowledged nothing."""
    dialect = sa.make_url(url).get_backend_name()
    if dialect == "sqlite":
        def about_to_wait() -> int:
            assert not any(path.exists() for path in acks), "a writer got past the victim's lock"
            return sum(path.exists() for path in ready)
        yield about_to_wait
        return
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            yield lambda: _blocked_by_victim(connection, dialect)
    finally:
        engine.dispose()


def _wait_until_queued(count: Callable[[], int], others: Sequence[subprocess.Popen[bytes]],
                       seconds: float = 120) -> None:
    """Return once every other writer has been seen queued for ``QUEUED_FOR`` seconds on end."""
    deadline = time.monotonic() + seconds
    since: float | None = None
    while True:
        ended = [process for process in others if process.poll() is not None]
        if ended:
            raise AssertionError(f"a writer ended while the victim held the lock: {ended[0].stderr.read().decode()}")
        now = time.monotonic()
        queued = count()
        since = (since or now) if queued == len(others) else None
        if since is not None and now - since >= QUEUED_FOR:
            return
        if now > deadline:
            raise AssertionError(f"only {queued} of {len(others)} writers were seen queued within {seconds} s")
        time.sleep(0.1)


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
        acks = [tmp_path / f"acks-{seed}.jsonl" for seed in range(1, WRITERS)]
        ready = [tmp_path / f"ready-{seed}" for seed in range(1, WRITERS)]
        others = [_start(url, seed, ack, "--ready", str(flag))
                  for seed, ack, flag in zip(range(1, WRITERS), acks, ready, strict=True)]
        with _queued_counter(url, acks, ready) as count:
            _wait_until_queued(count, others)
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
            capped[row.patient_key, row.payer] += row.signed_fen

    assert {seq: stored.get(seq) for seq in acked} == acked, "an acknowledged row was lost or changed"
    assert not held & set(stored.values()), "a row of the killed transaction was committed"
    assert len(requests) == len(after) == len({row.grant_key for row in after}), "a grant is missing or doubled"
    assert {(f"P{n}", payer): ledger_writer.CAP_FEN
            for n in range(ledger_writer.PATIENTS) for payer in ledger_writer.PAYERS} == dict(capped)
    checked = verify(after)
    assert (True, len(requests)) == (checked.ok, checked.rows), checked.problems
    _assert_rows_cannot_change(url, after[0].seq, after[0].granted_fen)


def test_two_payers_caps_under_concurrent_writers(url: str, tmp_path: Path) -> None:
    """Four writers at once, two posting the hospital's shares and two the subsidy's, of one
    rule for the same four patients: each (patient, payer) ends exactly at the cap, so neither
    payer's grants ate into the other's cap, every grant is there once, and verify is clean with
    each payer's net at four caps."""
    writers = [_start(url, seed, tmp_path / f"acks-{seed}.jsonl", "--payer", payer)
               for seed, payer in enumerate(ledger_writer.PAYERS * 2)]
    try:
        for process in writers:
            assert 0 == process.wait(timeout=600), process.stderr.read().decode()
    finally:
        for process in writers:
            if process.poll() is None:
                process.kill()
            process.stderr.close()
    with open_ledger(url) as ledger:
        rows = list(ledger.postings())
    capped = Counter()
    for row in rows:
        capped[row.patient_key, row.payer] += row.signed_fen
    requests = [request for payer in ledger_writer.PAYERS for batch in ledger_writer.payer_workload(payer)
                for request in batch]
    assert {(f"P{n}", payer): ledger_writer.CAP_FEN for n in range(4) for payer in ledger_writer.PAYERS} == dict(capped)
    assert len(requests) == len(rows) == len({row.grant_key for row in rows}), "a grant is missing or doubled"
    checked = verify(rows)
    assert (True, [(payer, 4 * ledger_writer.CAP_FEN) for payer in ledger_writer.PAYERS]) == (
        checked.ok, [(total.payer, total.net_fen) for total in checked.payers]), checked.problems


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
