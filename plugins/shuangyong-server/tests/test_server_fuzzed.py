"""What the fuzzer found in the server (``tests/fuzz``: the ``server`` and ``office-import`` entry
points, docs/testing.md), each kept as the smallest test that shows it."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from shuangyong_server.service import LedgerPool


def held_open(path: Path) -> int:
    """How many file descriptors of this process are open on ``path`` (one per SQLite connection)."""
    held = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            held += os.readlink(f"/proc/self/fd/{fd}") == str(path)
        except OSError:  # closed since the listing
            pass
    return held


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts descriptors in /proc")
def test_the_ledger_of_a_finished_worker_thread_is_let_go(tmp_path: Path) -> None:
    """Each worker thread opens a ledger of its own, and the pool kept every one: a server whose
    worker threads come and go (anyio stops one idle for 10 s, and starts another for the next
    burst) held one more SQLite connection, a file descriptor and its page cache, for each thread
    it ever had. The fuzzer's worker, whose every request had a new thread, ran out of memory after
    some 11,000 postings (a MemoryError starting a thread, then requests that never answered)."""
    path = tmp_path / "ledger.db"
    pool = LedgerPool(f"sqlite:///{path}")
    for _ in range(30):
        worker = threading.Thread(target=pool.get)
        worker.start()
        worker.join()
    pool.get()
    assert held_open(path) == 1  # this thread's; the 30 finished threads' are closed
    pool.close()
