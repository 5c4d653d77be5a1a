"""A whole file through the batch path, written as JSON Lines: what ``shuangyong batch`` runs."""

from __future__ import annotations

from itertools import islice
from pathlib import Path
from typing import IO, TYPE_CHECKING

import pyarrow as pa

from shuangyong.batch.output import chunk_bytes
from shuangyong.batch.progress import progress
from shuangyong.batch.sources import detect_format, read_chunks, total_size
from shuangyong.batch.sources.table import Chunk
from shuangyong.interchange.framing import read_records
from shuangyong.limits import ENCODINGS

if TYPE_CHECKING:
    from collections.abc import Iterator

    from shuangyong.batch.evaluate import BatchEngine, ChunkResult

DOCUMENT_CHUNK = 4096  #: records of a JSON document (or array) per chunk


def chunks(path: str | Path, fmt: str | None = None, encoding: str = ENCODINGS[0], *,
           show_progress: bool = False, empty: bool = False) -> Iterator[Chunk]:
    """The file's chunks, with a progress bar if asked.

    A JSON Lines file is first sniffed as ``shuangyong evaluate`` sniffs its input (the same
    reader: an empty input is refused alike, unless ``empty``, for one partition of a dataset);
    a JSON document or array is read whole by it and handed on as chunks of records for the row
    engine.
    """
    fmt = fmt or detect_format(path)
    if fmt == "jsonl":
        with open(path, "rb") as raw:
            found = read_records(raw, encoding, empty=empty)
            if found.shape != "lines":
                while records := tuple(islice(found.records, DOCUMENT_CHUNK)):
                    yield Chunk(None, len(records), records.__getitem__)
                return
    pool = pa.default_memory_pool()
    with progress(show_progress, total_size(path, fmt), Path(path).name) as advance:
        for chunk in read_chunks(path, fmt, encoding, empty=empty):
            yield chunk
            advance(chunk.size)
            # Arrow's allocator keeps freed chunks' memory; handing it back keeps the peak flat
            pool.release_unused()


def results(engine: BatchEngine, path: str | Path, fmt: str | None = None, encoding: str = ENCODINGS[0], *,
            show_progress: bool = False, empty: bool = False) -> Iterator[ChunkResult]:
    """Every chunk's answers, in order."""
    for chunk in chunks(path, fmt, encoding, show_progress=show_progress, empty=empty):
        yield engine.evaluate_chunk(chunk)


def write_decisions(engine: BatchEngine, path: str | Path, out: IO[bytes], fmt: str | None = None,
                    encoding: str = ENCODINGS[0], *, show_progress: bool = False, empty: bool = False) -> int:
    """Write every visit's decision (or error) as JSON Lines in input order; returns the errors.
    ``empty``: a JSON Lines file without a record writes nothing, instead of being refused."""
    failures = 0
    fingerprint = engine.engine.fingerprint
    for result in results(engine, path, fmt, encoding, show_progress=show_progress, empty=empty):
        failures += result.failures
        for piece in chunk_bytes(result, engine.policy, fingerprint):
            out.write(piece)
    return failures
