"""The end-to-end baseline with a fast JSON library: ``baseline_script.py`` with orjson or msgspec.

Usage: python baseline_fast.py orjson|msgspec IN.jsonl OUT.jsonl

The same hand-written seed-example rules (``baseline.decide``, Decimal); only the reading and the
writing change: what a careful developer who reaches for a faster JSON library would write. Like
``baseline_script.py`` it writes less than the contract (no applied shares, no entitlements).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import msgspec
import orjson
from baseline import decide


def codec(library: str) -> tuple[Callable[[bytes], Any], Callable[[Any], bytes]]:
    """Decode and encode functions; each encodes a ``Decimal`` as its string."""
    if library == "orjson":
        return orjson.loads, lambda value: orjson.dumps(value, default=str)
    encoder = msgspec.json.Encoder(decimal_format="string")
    return msgspec.json.Decoder().decode, encoder.encode


def main(library: str, source: str, target: str) -> None:
    decode, encode = codec(library)
    with open(source, "rb") as reader, open(target, "wb") as writer:
        for text in reader:
            writer.write(encode(decide(decode(text))) + b"\n")


if __name__ == "__main__":
    main(*sys.argv[1:4])
