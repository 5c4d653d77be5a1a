"""The columnar batch path (``pip install shuangyong[batch]``): the engine's compiled rules over
Arrow columns of integer fen, for files of millions of charge lines. See ``docs/batch.md``.

Internal: ``BatchEngine`` and ``write_decisions`` are public from :mod:`shuangyong`
(docs/api.md); import them from there.
"""

from shuangyong.errors import MissingExtraError
from shuangyong.text import Text

try:  # the batch extra, checked here once: a missing part is named with the command that installs it
    import numpy  # noqa: F401
    import pyarrow  # noqa: F401
    import rich  # noqa: F401
except ImportError as missing:
    raise MissingExtraError(Text(f"批处理需要 {missing.name}：请安装 pip install 'shuangyong[batch]'",
                                 f"the batch path needs {missing.name}: pip install 'shuangyong[batch]'"),
                            record="shuangyong.batch", field=missing.name) from None


from shuangyong.batch.evaluate import BatchEngine, ChunkResult, LineResults
from shuangyong.batch.output import chunk_bytes
from shuangyong.batch.sources import FORMATS, Chunk, detect_format, read_chunks

__all__ = ["FORMATS", "BatchEngine", "Chunk", "ChunkResult", "LineResults", "chunk_bytes", "detect_format",
           "read_chunks"]
