"""Bytes on the wire: MLLP framing, and the character set a message names in MSH-18.

MLLP wraps each message in a start byte (0x0B) and an end pair (0x1C 0x0D). Chinese hospital
systems send either UTF-8 or GB 18030; the message says which in MSH-18, which is ASCII and sits
in the first segment, so it can be read from the bytes before the message is decoded. An empty
MSH-18 means UTF-8 here (HL7's default, ASCII, is a subset of it).
"""

from __future__ import annotations

import re

from shuangyong import Text

START, END = b"\x0b", b"\x1c\x0d"
#: MSH-18 values (HL7 table 0211) → Python codecs.
CHARSETS = {"": "utf-8", "UNICODE UTF-8": "utf-8", "ASCII": "ascii", "GB 18030-2000": "gb18030"}
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
    codec = CHARSETS.get(charset.upper())
    if codec is None:
        known = ", ".join(c for c in CHARSETS if c)
        raise CharsetError(charset, Text(f"不支持的字符集 {charset!r}（MSH-18），可用：{known}",
                                         f"unsupported character set {charset!r} (MSH-18); use one of {known}"))
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError as error:
        raise CharsetError(charset, Text(
            f"消息不是有效的 {codec}：第 {error.start} 字节（{error.reason}）",
            f"the message is not valid {codec}: {error.reason} at byte {error.start}")) from None
    return re.sub(r"\r\n|\n|\r", "\r", text.strip("\r\n")), charset


def encode(text: str, charset: str) -> bytes:
    """``text`` in the character set MSH-18 names (UTF-8 when it names none we know)."""
    return text.encode(CHARSETS.get(charset.upper(), "utf-8"))


def frame(message: bytes) -> bytes:
    """``message`` in an MLLP frame."""
    return START + message + END


def split_batch(raw: bytes) -> list[bytes]:
    """Messages of a file: MLLP frames if it has them, else each block starting with ``MSH``."""
    if START in raw:
        return [part.split(START, 1)[1] for part in raw.split(END) if START in part]
    return [m.strip(b"\r\n") for m in re.split(rb"(?:^|[\r\n]+)(?=MSH)", raw) if m.strip(b"\r\n")]
