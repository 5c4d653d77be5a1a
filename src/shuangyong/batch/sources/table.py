"""The visit table every format is read into (the JSON contract as an Arrow schema), and a
chunk of it, which keeps a way back to each visit as a record the row engine reads."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
import pyarrow as pa

from shuangyong.interchange.framing import RawRecord

if TYPE_CHECKING:
    from collections.abc import Callable

    from shuangyong.errors import InputError

CREDENTIAL = pa.struct([("kind", pa.string()), ("number", pa.string()), ("valid_from", pa.string()),
                        ("valid_to", pa.string())])
LINE = pa.struct([("line_id", pa.string()), ("item", pa.string()), ("code", pa.string()),
                  ("amount", pa.string()), ("tags", pa.list_(pa.string())), ("description", pa.string())])
PATIENT = pa.struct([("id", pa.string()), ("name", pa.string()), ("birth_date", pa.string()),
                     ("categories", pa.list_(pa.string())), ("disability_level", pa.int64()),
                     ("disability_cause", pa.string()), ("credentials", pa.list_(CREDENTIAL))])
#: The JSON contract's visit as an Arrow schema: what every reader produces.
VISITS = pa.schema([("visit_id", pa.string()), ("date", pa.string()), ("kind", pa.string()),
                    ("region", pa.string()), ("patient", PATIENT), ("lines", pa.list_(LINE))])
#: the member that carries settlement figures (contract 1.1), on a visit and on a line: it has no
#: column form, so a visit with it anywhere goes to the row engine
INSURANCE = "insurance"


@attrs.frozen(slots=True)
class Chunk:
    """Some visits as columns (``table`` is ``None`` if they could not be read as columns), the
    visits that must go to the row engine whatever happens, and each visit as a raw record."""

    table: pa.Table | None
    count: int
    record: Callable[[int], RawRecord]
    forced: frozenset[int] = frozenset()
    size: int = 0  #: bytes (JSON Lines) or rows (Parquet) consumed, for progress
    #: records refused while reading (a line not in the file's encoding), by position
    problems: dict[int, InputError] = attrs.field(factory=dict)


def _without_nulls(value: Any) -> Any:
    """A row of the table as a contract record: absent members are left out, not ``null``."""
    if isinstance(value, dict):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value


def table_chunk(table: pa.Table, first: int, size: int, raw: pa.Table | None = None,
                forced: frozenset[int] = frozenset()) -> Chunk:
    """A chunk of an already columnar source; records are numbered ``#n`` from 1 in the file.
    ``raw``: the rows as read, with members ``table`` has no column for (settlement figures),
    which the row engine then reads the ``forced`` visits from."""
    rows = table if raw is None else raw

    def record(index: int) -> RawRecord:
        return RawRecord(first + index + 1, value=_without_nulls(rows.slice(index, 1).to_pylist()[0]))

    return Chunk(table, table.num_rows, record, forced, size=size)
