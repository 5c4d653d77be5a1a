"""One task per partition: each worker runs the batch path on its file and returns JSON Lines.

The client collects the answers in partition order and writes them as they arrive in order, so
the output is the serial run's, byte for byte: what ``shuangyong batch`` writes for each file,
one file after the other. Workers compile the packs once per process (they are named by
reference, so every worker must see the same pack files and plugins as the client).
"""

from __future__ import annotations

import functools
import io
from pathlib import Path
from typing import TYPE_CHECKING

from shuangyong import BatchEngine, Engine, plugins, write_decisions

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from distributed import Client


@functools.lru_cache(maxsize=8)
def engine_for(packs: tuple[str, ...], strict: bool) -> BatchEngine:
    """The packs compiled for the batch path, once per process (a worker keeps them)."""
    return BatchEngine(Engine.from_packs(*packs, strict=strict, registry=plugins.registry()))


def evaluate_partition(path: str, packs: tuple[str, ...], strict: bool = False,
                       fmt: str | None = None, target: str | None = None) -> tuple[bytes, int]:
    """A partition's decisions as JSON Lines, and how many of its records had errors. A JSON
    Lines partition without a record (an empty part file, as Spark and Dask write them) gives none.

    With ``target`` the worker writes the decisions to that file itself (it appears only once
    complete) and returns no text: nothing but a count crosses the network.
    """
    engine = engine_for(packs, strict)
    if target is None:
        out = io.BytesIO()
        failures = write_decisions(engine, path, out, fmt, empty=True)
        return out.getvalue(), failures
    partial = Path(target).with_name(f".{Path(target).name}.partial")
    with partial.open("wb") as handle:
        failures = write_decisions(engine, path, handle, fmt, empty=True)
    partial.replace(target)
    return b"", failures


def _task(path: str, target: str | None, *, packs: tuple[str, ...], strict: bool,
          fmt: str | None) -> tuple[bytes, int]:
    """``evaluate_partition`` with the target second, as ``Client.map`` pairs its iterables."""
    return evaluate_partition(path, packs, strict, fmt, target)


def part_names(count: int) -> list[str]:
    """Output file names of ``--output-dir``: in name order, their concatenation is the output."""
    return [f"part-{n:05d}.jsonl" for n in range(count)]


def evaluate_dataset(client: Client, files: list[Path], packs: tuple[str, ...], *, strict: bool = False,
                     fmt: str | None = None, output_dir: Path | None = None,
                     done: Callable[[int], None] = lambda n: None) -> Iterator[tuple[bytes, int]]:
    """Every partition's answer, in partition order, computed on the client's cluster.

    With ``output_dir`` the workers write ``part-NNNNN.jsonl`` files there and the text yielded
    is empty. ``done(1)`` is called as each partition finishes (in any order), for a progress bar.
    """
    from distributed import as_completed

    targets: list[str | None] = [None] * len(files)
    if output_dir is not None:
        output_dir.mkdir(parents=True, exist_ok=True)
        targets = [str(output_dir / name) for name in part_names(len(files))]
    futures = client.map(_task, [str(p) for p in files], targets,
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
