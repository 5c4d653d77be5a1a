"""A fault after rows were really inserted, inside the transaction, leaves the ledger as it was:
same rows, same head hash, verify clean, and the next post carries on from the old head.

The fault is injected into the backend's own transaction (its ``insert`` writes the rows, then
the failure comes), on every backend, so a backend that commits what it had written so far —
SQLite's ROLLBACK turned into COMMIT, a memory ledger that keeps its pending rows in a
``finally`` — is caught.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager

import pytest

from shuangyong.errors import LedgerError
from shuangyong.ledger import Ledger, MemoryLedger, Transaction, verify
from shuangyong.ledger.posting import Posting

from .test_ledger import request

Insert = Callable[[Sequence[Posting]], None]


class StorageFailed(Exception):
    """The fault injected after the insert."""


def _snapshot(ledger: Ledger) -> tuple[list[Posting], str | None]:
    rows = list(ledger.postings())
    return rows, rows[-1].hash if rows else None


def _assert_unchanged(ledger: Ledger, before: tuple[list[Posting], str | None]) -> None:
    after = _snapshot(ledger)
    checked = verify(after[0])
    assert (before, True, len(before[0])) == (after, checked.ok, checked.rows), checked.problems


def _failing_after(ledger: Ledger, monkeypatch: pytest.MonkeyPatch,
                   fault: Callable[[Transaction, Insert, Sequence[Posting]], None]) -> list[Posting]:
    """Make the ledger's transactions insert their rows for real, then call ``fault`` (with the
    backend's own insert), which raises. Returns the rows inserted before the fault."""
    opened: Callable[[], AbstractContextManager[Transaction]] = ledger.transaction
    inserted: list[Posting] = []

    @contextmanager
    def faulty() -> Iterator[Transaction]:
        with opened() as tx:
            insert = tx.insert

            def insert_then_fail(rows: Sequence[Posting]) -> None:
                insert(rows)
                inserted.extend(rows)
                fault(tx, insert, rows)

            tx.insert = insert_then_fail  # type: ignore[method-assign]
            yield tx

    monkeypatch.setattr(ledger, "transaction", faulty)
    return inserted


def _raise(tx: Transaction, insert: Insert, rows: Sequence[Posting]) -> None:
    raise StorageFailed("the disk went away after the insert")


def _insert_again(tx: Transaction, insert: Insert, rows: Sequence[Posting]) -> None:
    """The database itself refuses: the last row again breaks the primary key."""
    insert(rows[-1:])


@pytest.mark.parametrize("first", [1, 3], ids=["onto-one-row", "onto-three-rows"])
def test_post_rolled_back_after_a_real_insert(ledger: Ledger, monkeypatch: pytest.MonkeyPatch, first: int) -> None:
    ledger.post([request(str(n)) for n in range(first)])
    before = _snapshot(ledger)
    seen: list[bool] = []

    def fault(tx: Transaction, insert: Insert, rows: Sequence[Posting]) -> None:
        seen.append(tx.posting(rows[-1].seq) == rows[-1])  # the database sees its own insert
        _raise(tx, insert, rows)

    inserted = _failing_after(ledger, monkeypatch, fault)
    with pytest.raises(StorageFailed):
        ledger.post([request(f"new-{n}", requested=100 + n) for n in range(4)])
    assert [first + 1, first + 2, first + 3, first + 4] == [row.seq for row in inserted]
    # a database sees its own insert; the memory ledger keeps rows pending until the commit
    assert [not isinstance(ledger, MemoryLedger)] == seen, "the rows were not really inserted"
    _assert_unchanged(ledger, before)
    monkeypatch.undo()
    again = ledger.post([request(f"new-{n}", requested=100 + n) for n in range(4)])
    assert ([row.seq for row in inserted], before[1], True) == (
        [row.seq for row in again], again[0].prev_hash, verify(ledger.postings()).ok)


def test_reversal_rolled_back_after_a_real_insert(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    ledger.post([request("1"), request("2")])
    before = _snapshot(ledger)
    inserted = _failing_after(ledger, monkeypatch, _raise)
    with pytest.raises(StorageFailed):
        ledger.reverse(1, "wrong patient")
    assert [(3, "reversal", 1)] == [(row.seq, row.kind, row.reverses) for row in inserted]
    _assert_unchanged(ledger, before)
    monkeypatch.undo()
    assert (3, before[1]) == (ledger.reverse(1, "wrong patient").seq, list(ledger.postings())[-1].prev_hash)


@pytest.mark.parametrize("ledger", ["sqlite", "sql:sqlite", "sql:postgresql", "sql:mariadb"], indirect=True)
def test_database_refusing_the_second_statement_rolls_back_the_first(
        ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    """The rows of the first INSERT are undone when the database refuses the next one."""
    ledger.post([request("1")])
    before = _snapshot(ledger)
    inserted = _failing_after(ledger, monkeypatch, _insert_again)
    with pytest.raises((LedgerError, sqlite3.DatabaseError)):
        ledger.post([request("2"), request("3")])
    assert [2, 3] == [row.seq for row in inserted]
    _assert_unchanged(ledger, before)
