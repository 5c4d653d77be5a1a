"""The columnar batch path (``pip install shuangyong[batch]``): the engine's compiled rules over
Arrow columns of integer fen, for files of millions of charge lines. See ``docs/batch.md``."""

from shuangyong.batch.evaluate import BatchEngine, ChunkResult, LineResults
from shuangyong.batch.output import chunk_bytes
from shuangyong.batch.sources import FORMATS, Chunk, detect_format, read_chunks

__all__ = ["FORMATS", "BatchEngine", "Chunk", "ChunkResult", "LineResults", "chunk_bytes", "detect_format",
           "read_chunks"]
