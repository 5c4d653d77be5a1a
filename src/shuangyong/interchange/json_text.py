"""JSON text held to the contract's limits before it is trusted: how deeply it nests, whether an
object writes a key twice, and how an error may quote a string from it.

The lowest layer of ``shuangyong.interchange``: the visit parser and the stream reader both read
JSON through these.
"""

from __future__ import annotations

import json
import re
from functools import partial
from itertools import accumulate
from typing import Any

from shuangyong.errors import InputError, field_path
from shuangyong.limits import MAX_DEPTH, MAX_ID_LENGTH
from shuangyong.text import Text


def printable(text: str) -> str:
    """A string from input as an error may quote it (a key, an id): cut to the id bound, and
    escaped when no output could encode it (a lone surrogate)."""
    if not (len(text) <= MAX_ID_LENGTH and (text.isascii() or encodable(text))):
        text = ascii(text[:MAX_ID_LENGTH])
    return text


def encodable(text: str) -> bool:
    """Whether every output can write the text (it holds no lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def too_deep(record: str) -> InputError:
    """The refusal of a record (or document) nested deeper than ``limits.MAX_DEPTH``."""
    return InputError(Text(f"嵌套超过 {MAX_DEPTH} 层", f"nested deeper than {MAX_DEPTH} levels"), record=record)


#: a JSON string, whole: outside strings the only quote is an opening one, so scanning string by
#: string never starts inside one
JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def json_depth(text: str | bytes) -> int:
    """How deeply a JSON text nests arrays and objects, found without recursion (brackets inside
    strings do not count), so that a text too deep for ``json.loads`` can be refused by name."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    brackets = _NOT_BRACKET.sub("", JSON_STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


class _Duplicated:
    """Stands, in decoded JSON, for an object that has a key twice; ``key`` is the first such key."""

    __slots__ = ("key",)

    def __init__(self, key: str) -> None:
        self.key = key


def object_pairs(seen: list[bool], pairs: list[tuple[str, Any]]) -> object:
    """``object_pairs_hook``: a dict, or a ``_Duplicated`` marker for an object with a key twice."""
    value = dict(pairs)
    if len(value) == len(pairs):
        return value
    seen.append(True)
    keys: set[str] = set()
    for key, _ in pairs:
        if key in keys:
            break
        keys.add(key)
    return _Duplicated(key)


def duplicate_in(value: object, record: str) -> InputError | None:
    """The error for the first object of ``value`` that has a key twice, naming key and path."""
    stack: list[tuple[tuple[str | int, ...], object]] = [((), value)]
    while stack:
        loc, node = stack.pop()
        if isinstance(node, _Duplicated):
            key = printable(node.key)
            return InputError(Text(f"键 {key} 在同一对象中出现了两次", f"key {key} appears twice in one object"),
                              record=record, field=field_path([*loc, key]), value=key)
        if isinstance(node, dict):
            stack.extend(((*loc, printable(k)), v) for k, v in reversed(node.items()))
        elif isinstance(node, list):
            stack.extend(((*loc, n), v) for n, v in reversed(list(enumerate(node))))
    return None


def json_text(text: str | bytes) -> str:
    """``text`` as ``json.loads`` reads it: bytes in UTF-8, -16 or -32 (a UnicodeDecodeError, a
    ``ValueError``, when they are none of these). Count depth on this, never on the bytes: a
    string's escape in UTF-16 bytes misleads :func:`json_depth`'s string skipping."""
    return text if isinstance(text, str) else text.decode(json.detect_encoding(text), "surrogatepass")


def decoded(text: str | bytes, record: str) -> object:
    """A JSON text read by Python's ``json``: on error paths, to name what pydantic-core refused.

    Raises the record's ``InputError`` when the text nests too deeply or writes a key twice, and
    ``ValueError`` when it is not JSON.
    """
    text = json_text(text)
    if json_depth(text) > MAX_DEPTH:
        raise too_deep(record)
    seen: list[bool] = []
    value = json.loads(text, object_pairs_hook=partial(object_pairs, seen))
    duplicate = duplicate_in(value, record) if seen else None
    if duplicate is not None:
        raise duplicate
    return value
