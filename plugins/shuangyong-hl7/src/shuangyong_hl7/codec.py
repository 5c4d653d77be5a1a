"""Bytes on the wire: MLLP framing, and the character set a message names in MSH-18.

MLLP wraps each message in a start byte (0x0B) and an end pair (0x1C 0x0D). Chinese hospital
systems send UTF-8, GB 18030 or GBK; the message says which in MSH-18, which is ASCII and sits in
the first segment, so it can be read from the bytes before the message is decoded. An empty
MSH-18 means UTF-8 here (HL7's default, ASCII, is a subset of it).

A reply is written in the character set of the request, whatever it holds: a character that set
cannot carry (Chinese in an ASCII or ISO 8859-1 reply) is written as HL7 hexadecimal data,
``\\Xe9bb84\\`` (its UTF-8 bytes), so that encoding never fails and a sender always hears back.
"""

from __future__ import annotations

import codecs
import re

from shuangyong import Text

START, END = b"\x0b", b"\x1c\x0d"
#: MSH-18 values (HL7 table 0211, and the spellings Chinese HIS send) → Python codecs.
CHARSETS = {"": "utf-8", "UNICODE UTF-8": "utf-8", "UTF-8": "utf-8", "ASCII": "ascii", "8859/1": "latin-1",
            "GB 18030-2000": "gb18030", "GB18030": "gb18030", "GB 18030": "gb18030", "GBK": "gbk"}
#: Segments that open and close a batch or a file of batches (not messages themselves).
BATCH_SEGMENTS = (b"FHS", b"BHS", b"BTS", b"FTS")


def _hl7_hex(error: UnicodeError) -> tuple[str, int]:
    """Codec error handler: the characters a charset cannot carry as HL7 hexadecimal data."""
    assert isinstance(error, UnicodeEncodeError)
    chunk = error.object[error.start:error.end]
    return f"\\X{chunk.encode('utf-8').hex().upper()}\\", error.end


codecs.register_error("hl7hex", _hl7_hex)
MSH_18 = 17  #: index of MSH-18 in the first segment split on the field separator ("MSH" is 0, MSH-2 is 1)


class CharsetError(ValueError):
    """MSH-18 names a character set this listener does not speak, or the bytes do not decode."""

    def __init__(self, charset: str, detail: Text) -> None:
        super().__init__(detail.en)
        self.charset, self.detail = charset, detail


def charset_of(raw: bytes) -> str:
    """The MSH-18 value of a message, read from its first segment's bytes."""
    first = re.split(rb"[\r\n]", raw.lstrip(), maxsplit=1)[0]
    if not first.startswith(b"MSH") or len(first) < 4:
        return ""
    fields = first.split(first[3:4])
    return fields[MSH_18].decode("ascii", "replace").strip() if len(fields) > MSH_18 else ""


def decode(raw: bytes) -> tuple[str, str]:
    """(text, MSH-18) of a message; segments end with CR whatever line ends it came with."""
    charset = charset_of(raw)
    codec = codec_of(charset)
    if codec is None:
        known = ", ".join(repr(c) for c in CHARSETS if c)
        raise CharsetError(charset, Text(f"不支持的字符集 {charset!r}（MSH-18），可用：{known}",
                                         f"unsupported character set {charset!r} (MSH-18); use one of {known}"))
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError as error:
        raise CharsetError(charset, Text(
            f"消息不是有效的 {codec}：第 {error.start} 字节（{error.reason}）",
            f"the message is not valid {codec}: {error.reason} at byte {error.start}")) from None
    return re.sub(r"\r\n|\n|\r", "\r", text.strip("\r\n")), charset


def codec_of(charset: str) -> str | None:
    """The Python codec of an MSH-18 value, or None for one this listener does not speak."""
    return CHARSETS.get(" ".join(charset.upper().split()))


def encode(text: str, charset: str) -> bytes:
    """``text`` in the character set MSH-18 names (UTF-8 when it names none we know); what that
    set cannot carry is written as HL7 hexadecimal data, never an error."""
    return text.encode(codec_of(charset) or "utf-8", "hl7hex")


def frame(message: bytes) -> bytes:
    """``message`` in an MLLP frame."""
    return START + message + END


def split_batch(raw: bytes) -> list[bytes]:
    """Messages of a file: MLLP frames if it has them, else each block starting with ``MSH``; the
    messages of a batch (FHS/BHS … BTS/FTS) are messages like any other."""
    if START in raw:
        frames = [part.split(START, 1)[1] for part in raw.split(END) if START in part]
        return [message for frame in frames for message in unbatch(frame)]
    return unbatch(raw)


def is_batch(raw: bytes) -> bool:
    """Whether these bytes are a batch or a file of batches rather than one message."""
    return raw.lstrip()[:3] in (b"FHS", b"BHS")


def batch_headers(raw: bytes) -> dict[str, str]:
    """The FHS and BHS segments of a batch, by name (their first occurrence; ASCII, as headers are)."""
    heads: dict[str, str] = {}
    for segment in re.split(rb"[\r\n]+", raw.strip()):
        if segment[:3] in (b"FHS", b"BHS"):
            heads.setdefault(segment[:3].decode(), segment.decode("ascii", "replace"))
    return heads


def unbatch(raw: bytes) -> list[bytes]:
    """The messages of RAW: its blocks starting with ``MSH``, without the batch segments around them."""
    segments = [s for s in re.split(rb"[\r\n]+", raw.strip(b"\r\n")) if s.strip() and s[:3] not in BATCH_SEGMENTS]
    text = b"\r".join(segments)
    return [m.strip(b"\r") for m in re.split(rb"(?:^|\r)(?=MSH)", text) if m.strip(b"\r")]
