"""Hypothesis strategies that turn a valid seed into a hostile one.

Two levels: the value level (a JSON or YAML document parsed, one node swapped for another type,
a huge number, a long or odd string, a duplicate key, a deeper nesting, a deleted key, then
written back) and the byte level (flips, inserts of tokens that break parsers, deletions,
splices of two seeds, truncation, another encoding). Every mutant is at most
:data:`MAX_INPUT_BYTES`, so a slow input is a finding, not the fuzzer's own blow-up.
"""

from __future__ import annotations

import copy
import csv
import datetime
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from hypothesis import strategies as st

#: The largest mutant, in bytes: hostile enough (deep nesting, 5,000-digit numbers) and small
#: enough that every input runs in well under a second when the code holds its bounds.
MAX_INPUT_BYTES = 256 * 1024


@dataclass(frozen=True)
class Seed:
    """One starting input: ``fmt`` says how it may be parsed for value-level mutation (json,
    jsonl, yaml, csv, hl7, bytes); ``hostile`` seeds are only mutated byte-wise."""

    name: str
    data: bytes
    fmt: str
    hostile: bool = False
    #: the corpus folder it came from (``visits``, ``dossiers``…): a target fed from two kinds
    #: sends each input where its kind belongs (the server: visits to /v1/evaluate, dossiers to the report)
    kind: str = ""


class Raw(str):
    """JSON text written as it is: a number no Python int or float would print (5,000 digits,
    ``1e3``, ``-0.00``)."""


class Pairs(list):  # type: ignore[type-arg]
    """An object written with these ``(key, value)`` pairs, so a key may repeat."""


def dump_json(value: Any, *, ascii_only: bool = False) -> str:
    """JSON (also flow YAML) for a mutated tree, with :class:`Raw` and :class:`Pairs`; a lone
    surrogate is always written escaped, as a hostile sender would."""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return json.dumps(value) if isinstance(value, float) or abs(value) < 10**4000 else "1" + "0" * 4000
    if isinstance(value, (datetime.date, datetime.datetime)):
        return json.dumps(value.isoformat())
    if isinstance(value, str):
        surrogate = any("\ud800" <= c <= "\udfff" for c in value)
        return json.dumps(value, ensure_ascii=ascii_only or surrogate)
    if isinstance(value, bytes):
        return json.dumps(value.decode("latin-1"))
    if isinstance(value, Pairs):
        items = value
    elif isinstance(value, dict):
        items = list(value.items())
    else:
        return "[" + ", ".join(dump_json(v, ascii_only=ascii_only) for v in value) + "]"
    return "{" + ", ".join(f"{dump_json(str(k), ascii_only=ascii_only)}: {dump_json(v, ascii_only=ascii_only)}"
                           for k, v in items) + "}"


#: Strings the contract must refuse or carry through: odd amounts, surrogates, control and
#: escape characters, markup, wide and combining characters, lengths past the bounds.
STRINGS = ("", " ", "1e3", " 12.00", "+12.00", ".5", "12.", "12.001", "-0.00", "NaN", "Infinity", "0x10",
           "１２.００", "١٢", "99999999999999999999999999999.99", "9999999999.99", "10000000000.00",
           "\ud800", "\udfff", "\x00", "\x1b[31mred\x1b[0m", "\x07\x08\x0b\x0c", "a\r\nb", "<script>x</script>",
           "<b>粗</b> | * _", "😀", "𠀀𠀁", "e\u0301", "\u202eevil", "\ufeff", "\u2028", "null", "true", "5_0%",
           "50%", "150%", "-5%", "2025-02-30", "2025-13-01", "0000-01-01", "9999-12-31", "2025-3-1",
           "a" * 201, "1" * 4301, "汉" * 300, "x" * 70000, "../../etc/passwd", "${HOME}", "%s%n", "\\")
#: Numbers written raw: past 28 significant digits, past float range, exponents, negative zero.
NUMBERS = tuple(Raw(n) for n in ("0", "-1", "1e3", "1E400", "-0", "0.1", "12.5", "5.0", "1" * 30, "9" * 5000,
                                 "1e-400", "12.345", "-12.00", "2147483648", "9223372036854775808", "10000000000"))
SCALARS: tuple[Any, ...] = (None, True, False, 0, 1, -1, 5, 11, 1.5, [], {}, [None], {"": None}, *NUMBERS, *STRINGS)


def _scalar(draw: st.DrawFn) -> Any:
    """A drawn :data:`SCALARS` value, copied: ``[]`` and ``{}`` are shared, and a later mutation
    growing them in place would change what every later example draws (hypothesis's
    FlakyStrategyDefinition, found that way)."""
    return copy.deepcopy(draw(st.sampled_from(SCALARS)))


def _nodes(tree: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The path of every node, the root first (iterative: a seed may be deep)."""
    found, stack = [], [(tree, path)]
    while stack and len(found) < 5000:
        node, where = stack.pop()
        found.append(where)
        if isinstance(node, Pairs):
            continue
        if isinstance(node, dict):
            stack.extend((v, (*where, k)) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, (*where, i)) for i, v in enumerate(node))
    return found


def _writable(tree: Any) -> bool:
    """Whether ``tree`` can be written back: at most :data:`MAX_WRITTEN_DEPTH` deep and about
    :data:`MAX_WRITTEN_SIZE` characters (iterative, and stopping early: "grow" repeats a node
    by reference, so a tree of a few nodes can stand for a document of gigabytes)."""
    size, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_WRITTEN_DEPTH:
            return False
        children = [v for _, v in node] if isinstance(node, Pairs) else (
            list(node.items()) if isinstance(node, dict) else node if isinstance(node, list) else ())
        size += len(node) if isinstance(node, (str, bytes)) else 8
        if size > MAX_WRITTEN_SIZE:
            return False
        for child in children:
            if isinstance(child, tuple):  # a dict's (key, value)
                size += len(str(child[0]))
                child = child[1]
            stack.append((child, depth + 1))
    return True


#: What is written back at most. The writers recurse, and building a document past the worker's
#: memory limit raises MemoryError: either would depend on state outside the drawn choices (the
#: stack depth hypothesis calls them at, which differs when it replays an example; the memory
#: the worker holds), which hypothesis reports as FlakyStrategyDefinition. Deeper and larger
#: inputs come from the byte-level "nest" and "repeat" and from the corpus.
MAX_WRITTEN_DEPTH = 120
MAX_WRITTEN_SIZE = 4 * MAX_INPUT_BYTES


def _get(tree: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        tree = tree[key]
    return tree


def _set(tree: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    parent = _get(tree, path[:-1])
    parent[path[-1]] = value
    return tree


@st.composite
def tree_mutation(draw: st.DrawFn, tree: Any) -> Any:
    """One value-level change at a drawn node of ``tree`` (which it may change in place)."""
    path = draw(st.sampled_from(_nodes(tree)))
    node = _get(tree, path)
    how = draw(st.sampled_from(("swap", "swap", "swap", "delete", "duplicate", "nest", "rekey", "long", "grow")))
    if how == "swap":
        return _set(tree, path, _scalar(draw) if draw(st.booleans()) else draw(
            st.one_of(st.integers(), st.floats(allow_nan=False), st.text(max_size=20), st.booleans(), st.none())))
    if how == "delete" and path:
        parent = _get(tree, path[:-1])
        del parent[path[-1]]
        return tree
    if how == "duplicate" and isinstance(node, dict) and node:
        key = draw(st.sampled_from(sorted(node, key=str)))
        pairs = Pairs(node.items())
        pairs.insert(draw(st.integers(0, len(pairs))), (key, _scalar(draw)))
        return _set(tree, path, pairs)
    if how == "duplicate" and isinstance(node, list) and node:
        node.append(node[draw(st.integers(0, len(node) - 1))])
        return tree
    if how == "nest":
        depth = draw(st.sampled_from((2, 63, 64, 65, 100, 300)))  # deeper: the byte-level "nest"
        for _ in range(depth):
            node = [node] if draw(st.booleans()) else {"not": node}
        return _set(tree, path, node)
    if how == "rekey" and isinstance(node, dict):
        node[draw(st.sampled_from(("extra", "", "\ud800", "visit_id", "line_id", "amount", "<<", "not", "1")))] = \
            _scalar(draw)
        return tree
    if how == "grow" and isinstance(node, list) and node:
        node.extend([node[-1]] * draw(st.sampled_from((10, 300, 3000))))
        return tree
    if how == "long" and isinstance(node, str) and node:
        return _set(tree, path, node * (draw(st.sampled_from((10, 100, 5000))) * 16 // (len(node) + 15)))
    return _set(tree, path, _scalar(draw))


#: Byte strings that break parsers when dropped anywhere.
TOKENS = (b'"', b"\\", b"\\ud800", b"\\u0000", b"\x00", b"\r", b"\n", b"\r\n", b",", b"{", b"}", b"[", b"]",
          b":", b"null", b"true", b"1e3", b"9" * 40, b"-", b"\xef\xbb\xbf", b"\xff", b"\xc3", b"\xed\xa0\x80",
          "汉".encode(), "汉".encode("gb18030"), b"&", b"^", b"~", b"|", b"\x0b", b"\x1c", b"\x1b[2J", b"*a",
          b"&a ", b"!!python/object:os.system ", b"<<: *a", b"%YAML 1.1\n", b"---\n", b"...\n", b"- ", b"? ",
          b"\t", b"#", b"'", b"MSH|^~\\&|", b"\rFT1|9|||20260302||CG|drug|||1|1e3&CNY", b"\rPID|1||",
          b"\x0b", b"\x1c\r", b"\r\nvisit_id,date\r\n", b";", b"key_care_medical_card|X|2024-01-01|")


@st.composite
def byte_mutation(draw: st.DrawFn, data: bytes, others: Sequence[Seed]) -> bytes:
    """One byte-level change of ``data``; ``others`` are the seeds a splice may take a tail from."""
    at = draw(st.integers(0, len(data)))
    how = draw(st.sampled_from(("flip", "insert", "insert", "delete", "splice", "truncate", "nest", "encode",
                                "repeat")))
    if how == "flip" and data:
        at = min(at, len(data) - 1)
        return data[:at] + bytes([data[at] ^ (1 << draw(st.integers(0, 7)))]) + data[at + 1:]
    if how == "insert":
        token = draw(st.sampled_from(TOKENS)) if draw(st.booleans()) else draw(st.binary(min_size=1, max_size=8))
        return data[:at] + token + data[at:]
    if how == "delete":
        return data[:at] + data[at + draw(st.integers(1, 64)):]
    if how == "splice" and others:
        other = draw(st.sampled_from(others)).data
        return data[:at] + other[draw(st.integers(0, len(other))):]
    if how == "truncate":
        return data[:at]
    if how == "nest":
        opener = draw(st.sampled_from((b"[", b'{"a":', b"- ", b"{not: ", b"[[")))
        return data[:at] + opener * draw(st.sampled_from((65, 1000, 100_000))) + data[at:]
    if how == "encode":
        text = data.decode("utf-8", "surrogateescape")
        codec = draw(st.sampled_from(("gb18030", "utf-8-sig", "utf-16", "big5", "shift_jis")))
        try:
            return text.encode(codec, "surrogatepass" if codec == "utf-16" else "surrogateescape")
        except UnicodeEncodeError:  # a character the codec has not: read as latin-1 and written as UTF-8
            return data.decode("latin-1").encode("utf-8")
    if how == "repeat" and data:
        end = draw(st.integers(at, min(len(data), at + 200)))
        return data[:end] + data[at:end] * draw(st.sampled_from((2, 50, 1000))) + data[end:]
    return data


def parse(seed: Seed) -> Any:
    """The seed's tree for value-level mutation, or ``None`` when it has none."""
    text = seed.data.decode("utf-8-sig")
    if seed.fmt == "json":
        return json.loads(text)
    if seed.fmt == "jsonl":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    if seed.fmt == "yaml":
        return yaml.safe_load(text)
    if seed.fmt == "csv":
        return list(csv.reader(io.StringIO(text)))
    if seed.fmt == "hl7":
        return [segment.split("|") for segment in text.replace("\n", "\r").split("\r")]
    return None


def serialise(tree: Any, fmt: str, block_yaml: bool, ascii_only: bool) -> bytes:
    """A mutated tree back in its seed's format (YAML as block style when PyYAML can write it)."""
    if fmt == "jsonl":
        lines = tree if isinstance(tree, list) else [tree]
        return "".join(dump_json(r, ascii_only=ascii_only) + "\n" for r in lines).encode("utf-8", "surrogatepass")
    if fmt == "yaml" and block_yaml:
        try:
            return yaml.safe_dump(tree, allow_unicode=not ascii_only, sort_keys=False).encode("utf-8")
        except (yaml.YAMLError, UnicodeEncodeError):
            pass
    if fmt in ("json", "yaml"):
        return dump_json(tree, ascii_only=ascii_only).encode("utf-8", "surrogatepass")
    if fmt == "csv":
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(
            [[c if isinstance(c, str) else dump_json(c) for c in row] if isinstance(row, list) else [dump_json(row)]
             for row in (tree if isinstance(tree, list) else [tree])])
        return out.getvalue().encode("utf-8", "surrogatepass")
    rows = tree if isinstance(tree, list) else [tree]  # hl7
    return "\r".join("|".join(c if isinstance(c, str) else dump_json(c) for c in (r if isinstance(r, list) else [r]))
                     for r in rows).encode("utf-8", "surrogatepass")


@st.composite
def mutant(draw: st.DrawFn, seeds: Sequence[Seed]) -> tuple[Seed, bytes]:
    """A drawn seed and a mutant of it: value-level changes, then byte-level ones, or neither."""
    seed = draw(st.sampled_from(seeds))
    data = seed.data
    tree_steps = 0 if seed.hostile or seed.fmt == "bytes" else draw(st.integers(0, 3))
    if tree_steps:
        try:
            tree = parse(seed)
        except (ValueError, yaml.YAMLError, RecursionError):
            tree = None
        if tree is not None:
            for _ in range(tree_steps):
                tree = draw(tree_mutation(tree))
            block_yaml, ascii_only = draw(st.booleans()), draw(st.booleans())
            if _writable(tree):
                data = serialise(tree, seed.fmt, block_yaml, ascii_only)[:MAX_INPUT_BYTES]
    for _ in range(draw(st.integers(0 if tree_steps else 1, 3))):
        data = draw(byte_mutation(data, seeds))[:MAX_INPUT_BYTES]
    return seed, data
