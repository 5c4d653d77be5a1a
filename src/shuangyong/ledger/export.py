"""The ledger as JSON Lines or CSV: amounts back in yuan strings, one posting per row.

CSV is written with a byte-order mark (``utf-8-sig``) so that Excel opens the Chinese correctly.
"""

from __future__ import annotations

import csv
import io
import json
from typing import IO, TYPE_CHECKING, Any

from shuangyong.ledger.posting import POSTING_COLUMNS, Posting
from shuangyong.money import format_amount, from_fen

if TYPE_CHECKING:
    from collections.abc import Iterable

#: fen columns exported as yuan under the same name without ``_fen``
_MONEY = ("amount_fen", "requested_fen", "granted_fen", "year_cap_fen")
EXPORT_COLUMNS = tuple(name.removesuffix("_fen") if name in _MONEY else name for name in POSTING_COLUMNS)


def export_row(posting: Posting) -> dict[str, Any]:
    """A posting as exported: amounts in yuan (``12.00``), columns in ``EXPORT_COLUMNS`` order."""
    row = posting.as_dict()
    for name in _MONEY:
        value = row.pop(name)
        row[name.removesuffix("_fen")] = None if value is None else format_amount(from_fen(value))
    return {name: row[name] for name in EXPORT_COLUMNS}


def write_jsonl(postings: Iterable[Posting], target: IO[bytes]) -> None:
    """One JSON object a posting, a line each."""
    for posting in postings:
        target.write((json.dumps(export_row(posting), ensure_ascii=False) + "\n").encode())


def write_csv(postings: Iterable[Posting], target: IO[bytes]) -> None:
    """CSV with a header, UTF-8 with a BOM so that Excel reads the Chinese."""
    text = io.TextIOWrapper(target, encoding="utf-8-sig", newline="", write_through=True)
    writer = csv.DictWriter(text, fieldnames=EXPORT_COLUMNS)
    writer.writeheader()
    for posting in postings:
        writer.writerow(export_row(posting))
    text.detach()  # leave the caller's stream open
