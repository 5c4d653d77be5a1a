"""One writer process of the reliability test: posts every visit of a shared workload, in its own
shuffled order, and after each acknowledged post appends the rows it got back to its ack file
(flushed and fsynced, so an ack survives the writer being killed).

``--hold MARKER`` makes the writer stop inside its ``--hold-at``-th transaction, after inserting
and before committing, write the pending rows' hashes to MARKER and wait to be killed.
``--ready FILE`` makes it create FILE just before it first asks for the ledger's lock (opening
the ledger takes it on SQLite), so a test knows it is about to queue. ``--payer PAYER`` posts
:func:`payer_workload` instead: one payer's shares only, while other writers post another's.

Run as ``python ledger_writer.py URL SEED ACKS [--hold MARKER --hold-at N] [--ready FILE] [--payer PAYER]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from shuangyong.ledger import PostingRequest
from shuangyong.ledger.posting import Posting
from shuangyong.plugins import open_ledger

PATIENTS = 10
VISITS = 120
LINES = 3
CAP_FEN = 5000  #: per patient, payer and year for rule "capped"; every patient asks each payer far more
FINGERPRINT = "sha256:00000000000000aa"
#: who bears the capped share: a patient's visits alternate between them, ten at a time, so each
#: payer's cap of each patient is reached (the uncapped share is always the hospital's)
PAYERS = ("hospital", "youfu_medical_subsidy")


def workload() -> list[list[PostingRequest]]:
    """The batches every writer posts: one per visit, a capped and an uncapped share per line."""
    batches = []
    for number in range(VISITS):
        patient = f"P{number % PATIENTS}"
        payer = PAYERS[number // PATIENTS % len(PAYERS)]
        day = dt.date(2026, 1, 1) + dt.timedelta(days=number % 365)
        batch = []
        for line in range(1, LINES + 1):
            requested = 200 + (number * 37 + line * 101) % 300  # two shares: at most 998 of 1000 fen
            for rule, cap, bearer in (("capped", CAP_FEN, payer), ("uncapped", None, PAYERS[0])):
                batch.append(PostingRequest(f"V{number:03d}", str(line), rule, FINGERPRINT, patient, "bed",
                                            day, 1000, requested, cap, payer=bearer))
        batches.append(batch)
    return batches


def payer_workload(payer: str) -> list[list[PostingRequest]]:
    """One payer's batches: 40 visits of 4 patients, three capped shares each, every share of the
    same rule whoever bears it, on visits of its own (``V007-hospital``)."""
    return [[PostingRequest(f"V{number:03d}-{payer}", str(line), "capped", FINGERPRINT, f"P{number % 4}", "bed",
                            dt.date(2026, 6, 1), 1000, 300 + (number * 53 + line * 29) % 400, CAP_FEN, payer=payer)
             for line in range(1, LINES + 1)]
            for number in range(40)]


def _ack(acks: Path, rows: Sequence[Posting]) -> None:
    with acks.open("a") as out:
        out.write(json.dumps([[row.seq, row.hash] for row in rows]) + "\n")
        out.flush()
        os.fsync(out.fileno())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("seed", type=int)
    parser.add_argument("acks", type=Path)
    parser.add_argument("--hold", type=Path)
    parser.add_argument("--hold-at", type=int, default=5)
    parser.add_argument("--ready", type=Path)
    parser.add_argument("--payer")
    args = parser.parse_args()
    batches = workload() if args.payer is None else payer_workload(args.payer)
    random.Random(args.seed).shuffle(batches)
    if args.ready is not None:
        args.ready.touch()
    ledger = open_ledger(args.url)
    if args.hold is not None:
        _hold_in_transaction(ledger, args.hold, args.hold_at)
    for batch in batches:
        _ack(args.acks, ledger.post(batch))
    ledger.close()


def _hold_in_transaction(ledger: object, marker: Path, at: int) -> None:
    """Wrap the ledger's transaction so the ``at``-th one that inserts rows stalls before commit."""
    opened = type(ledger).transaction
    count = 0

    @contextmanager
    def stalling(self: object) -> Iterator[object]:
        nonlocal count
        with opened(self) as tx:
            inserted: list[Posting] = []
            insert = tx.insert
            tx.insert = lambda rows: (inserted.extend(rows), insert(rows))[1]  # type: ignore[method-assign]
            yield tx
            count += 1 if inserted else 0
            if inserted and count == at:
                marker.write_text(json.dumps([row.hash for row in inserted]))
                time.sleep(600)  # killed here, holding the lock with rows written but not committed

    type(ledger).transaction = stalling  # type: ignore[method-assign]


if __name__ == "__main__":
    main()
