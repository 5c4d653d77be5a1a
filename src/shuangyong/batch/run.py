"""A whole file through the batch path, written as JSON Lines: what ``shuangyong batch`` runs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pyarrow as pa

from shuangyong.batch.evaluate import BatchEngine, ChunkResult
from shuangyong.batch.output import chunk_bytes
from shuangyong.batch.progress import progress
from shuangyong.batch.sources import Chunk, detect_format, read_chunks, total_size
from shuangyong.interchange import read_records, result_json


def is_json_lines(path: str | Path) -> bool:
    """Whether the file reads as JSON Lines the way ``shuangyong evaluate`` sniffs it: its first
    non-blank line is one whole JSON object. (A JSON document or array goes to the row engine.)"""
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                try:
                    json.loads(line)
                except ValueError:
                    return False
                return line.lstrip().startswith("{")
    return True


def chunks(path: str | Path, fmt: str | None = None, *, show_progress: bool = False) -> Iterator[Chunk]:
    """The file's chunks, with a progress bar if asked."""
    fmt = fmt or detect_format(path)
    pool = pa.default_memory_pool()
    with progress(show_progress, total_size(path, fmt), Path(path).name) as advance:
        for chunk in read_chunks(path, fmt):
            yield chunk
            advance(chunk.size)
            # Arrow's allocator keeps freed chunks' memory; handing it back keeps the peak flat
            pool.release_unused()


def results(engine: BatchEngine, path: str | Path, fmt: str | None = None, *,
            show_progress: bool = False) -> Iterator[ChunkResult]:
    """Every chunk's answers, in order."""
    for chunk in chunks(path, fmt, show_progress=show_progress):
        yield engine.evaluate_chunk(chunk)


def write_decisions(engine: BatchEngine, path: str | Path, out: IO[bytes], fmt: str | None = None, *,
                    show_progress: bool = False) -> int:
    """Write every visit's decision (or error) as JSON Lines in input order; returns the errors."""
    fmt = fmt or detect_format(path)
    failures = 0
    if fmt == "jsonl" and not is_json_lines(path):
        with open(path, encoding="utf-8") as handle:
            for record in read_records(handle).records:
                ok, value, _ = engine.row(record)
                failures += not ok
                out.write((result_json(ok, value[1] if ok else value, record) + "\n").encode("utf-8"))
        return failures
    fingerprint = engine.engine.fingerprint
    for result in results(engine, path, fmt, show_progress=show_progress):
        failures += result.failures
        for piece in chunk_bytes(result, engine.policy, fingerprint):
            out.write(piece)
    return failures
