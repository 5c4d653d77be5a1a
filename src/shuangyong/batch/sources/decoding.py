"""The text formats' encodings: JSON Lines and CSV are text in one of ``limits.ENCODINGS``
(UTF-8 by default, with or without a BOM); :class:`Decoded` hands the readers UTF-8, and a line
that is not text in the file's encoding is that record's error, naming its line and byte offset.
"""

from __future__ import annotations

import codecs
import io
from typing import IO, Any

import numpy as np
import pyarrow as pa
from typing_extensions import override

from shuangyong.errors import InputError
from shuangyong.interchange import framing
from shuangyong.interchange.framing import too_long, undecodable
from shuangyong.limits import ENCODINGS
from shuangyong.text import Text

CHUNK_BYTES = 4 << 20  #: bytes decoded, and JSON Lines read, per chunk (about 6,000 visits)


class Decoded(io.RawIOBase):
    """A text file's bytes as UTF-8, whole lines at a time: a leading byte order mark dropped (a
    UTF-8 one means UTF-8, whatever ``encoding`` says), GB 18030 transcoded.

    A line that is not text in ``encoding`` is read with replacement characters, and a line with
    no end within ``limits.MAX_RECORD_BYTES`` as ``{}`` (never held whole), its error kept in
    ``problems`` (by line number) for the reader to refuse that record alone, as ``shuangyong
    evaluate`` does; with ``refuse``, it is raised instead, once the lines before it have been
    read (CSV, whose rows need not be lines). Neither encoding has a ``\\n`` byte inside
    a character, so a block cut after one never splits a character.
    """

    def __init__(self, raw: IO[bytes], encoding: str, *, refuse: bool = False, block: int = CHUNK_BYTES) -> None:
        super().__init__()
        if encoding not in ENCODINGS:
            raise InputError(Text(f"不支持的编码 {encoding!r}（可用：{', '.join(ENCODINGS)}）",
                                  f"unsupported encoding {encoding!r} (available: {', '.join(ENCODINGS)})"),
                             field="encoding", value=encoding)
        self._raw, self._encoding, self._refuse, self._block = raw, encoding, refuse, block
        self._pending = b""  #: bytes read but not decoded yet: the start of an unfinished line
        self._out, self._at = b"", 0  #: decoded UTF-8, and how much of it is handed out
        self._offset, self._line = 0, 1  #: where in the file the next byte to decode lies
        self.problems: dict[int, InputError] = {}

    @override
    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        """The next decoded bytes (at most ``size``): a whole block without copying it, if asked."""
        while self._at == len(self._out):
            if self._refuse and self.problems:
                raise next(iter(self.problems.values()))
            if not self._decode_block():
                return b""
        start = self._at
        self._at = len(self._out) if size < 0 else min(len(self._out), start + size)
        return self._out if not start and self._at == len(self._out) else self._out[start:self._at]

    @override
    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def _decode_block(self) -> bool:
        """Decode the next block of whole lines (the rest, at the end); ``False`` at the end."""
        while True:
            block = self._raw.read(self._block)
            data = self._pending + block
            cut = data.rfind(b"\n") + 1 if block else len(data)
            if cut or not block:
                break
            if len(data) > framing.MAX_RECORD_BYTES:
                return self._skip_long_line(len(data))
            self._pending = data  # a line longer than a block: read on
        data, self._pending = data[:cut], data[cut:]
        if not data:
            return False
        first, offset = not self._offset, self._offset
        if first and data.startswith(codecs.BOM_UTF8):
            data, self._encoding = data[len(codecs.BOM_UTF8):], "utf-8"
            offset += len(codecs.BOM_UTF8)
        if self._encoding == "utf-8" and _utf8(data):  # valid as it is: handed on, not copied
            self._out = data
        else:
            try:
                text = data.decode(self._encoding)
            except UnicodeDecodeError:
                text = self._line_by_line(data, offset)
            self._out = (text.removeprefix("\ufeff") if first else text).encode("utf-8")
        self._at = 0
        self._line += data.count(b"\n")
        self._offset = offset + len(data)
        return True

    def _skip_long_line(self, held: int) -> bool:
        """A line longer than ``limits.MAX_RECORD_BYTES`` (``held`` bytes of it read): the rest
        skipped a block at a time, never held, and in its place a line ``{}`` whose error is the
        one ``shuangyong evaluate`` gives it, so the records after it are still read."""
        skipped, self._pending = held, b""
        while block := self._raw.read(self._block):
            end = block.find(b"\n")
            if end >= 0:
                skipped, self._pending = skipped + end + 1, block[end + 1:]
                break
            skipped += len(block)
        self.problems[self._line] = too_long(self._line)
        self._out, self._at = b"{}\n", 0
        self._line += 1
        self._offset += skipped
        return True

    def _line_by_line(self, data: bytes, offset: int) -> str:
        """A block with a bad byte, a line at a time: each bad line noted in ``problems`` (and
        read with replacement characters), or, with ``refuse``, the lines before the first."""
        decoded = []
        for number, line in enumerate(_lines_of(data), start=self._line):
            try:
                decoded.append(line.decode(self._encoding))
            except UnicodeDecodeError as error:
                self.problems[number] = undecodable(number, offset + error.start, self._encoding)
                if self._refuse:
                    break
                decoded.append(line.decode(self._encoding, "replace"))
            offset += len(line)
        return "".join(decoded)


def _utf8(data: bytes) -> bool:
    """Whether ``data`` is valid UTF-8, checked by Arrow (20 times faster than decoding CJK)."""
    if data.isascii():
        return True
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int32))
    try:
        pa.Array.from_buffers(pa.binary(), 1, [None, offsets, pa.py_buffer(data)]).cast(pa.string())
    except pa.ArrowInvalid:
        return False
    return True


def _lines_of(data: bytes) -> list[bytes]:
    """``data`` cut after each ``\\n`` only (``splitlines`` also cuts at a lone ``\\r``)."""
    lines = [line + b"\n" for line in data.split(b"\n")]
    lines[-1] = lines[-1][:-1]
    return [line for line in lines if line]
