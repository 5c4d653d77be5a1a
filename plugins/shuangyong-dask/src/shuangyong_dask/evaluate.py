"""One task per partition: each worker runs the batch path on its file and returns JSON Lines.

The client collects the answers in partition order and writes them as they arrive in order, so
the output is the serial run's, byte for byte: what ``shuangyong batch`` writes for each file,
one file after the other. Workers compile the packs once per process (they are named by
reference, so every worker must see the same pack files and plugins as the client).
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Iterator
from pathlib import Path

from shuangyong import plugins
from shuangyong.batch import BatchEngine
from shuangyong.batch.run import write_decisions
from shuangyong.engine import Engine


@functools.lru_cache(maxsize=8)
def _engine(packs: tuple[str, ...], strict: bool) -> BatchEngine:
    return BatchEngine(Engine.from_packs(*packs, strict=strict, registry=plugins.registry()))


def evaluate_partition(path: str, packs: tuple[str, ...], strict: bool = False,
                       fmt: str | None = None) -> tuple[bytes, int]:
    """A partition's decisions as JSON Lines, and how many of its records had errors."""
    out = io.BytesIO()
    failures = write_decisions(_engine(packs, strict), path, out, fmt)
    return out.getvalue(), failures


def evaluate_dataset(client: object, files: list[Path], packs: tuple[str, ...], *, strict: bool = False,
                     fmt: str | None = None, done: Callable[[int], None] = lambda n: None
                     ) -> Iterator[tuple[bytes, int]]:
    """Every partition's answer, in partition order, computed on the client's cluster.

    ``done(1)`` is called as each partition finishes (in any order), for a progress bar.
    """
    from distributed import as_completed

    futures = client.map(evaluate_partition, [str(p) for p in files],  # type: ignore[attr-defined]
                         packs=packs, strict=strict, fmt=fmt, pure=False)
    finished: dict[int, tuple[bytes, int]] = {}
    position = {future.key: n for n, future in enumerate(futures)}
    next_out = 0
    for future in as_completed(futures):
        finished[position[future.key]] = future.result()
        future.release()
        done(1)
        while next_out in finished:
            yield finished.pop(next_out)
            next_out += 1
