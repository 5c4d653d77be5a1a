"""A chunk of visits as numpy columns, and which visits only the row engine may answer.

:func:`row_only` checks, column by column, everything the row engine's reader checks (required
members, dates, regions, visit kinds, known categories and credential kinds, disability levels,
amounts with at most two decimals, line ids once per visit…). A visit failing any check is not
evaluated here: the row engine reads it again and gives its decision or its error, so the batch
output never differs from ``shuangyong evaluate``'s, and the checks here may be conservative:
they take only what the contract surely accepts (amounts written ``yuan.fen`` up to
``limits.MAX_AMOUNT``, non-empty ids of at most ``limits.MAX_ID_LENGTH`` characters), and leave
every other spelling, accepted or refused, to the row engine's own reading.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shuangyong.limits import MAX_AMOUNT, MAX_ID_LENGTH
from shuangyong.model.visit import VISIT_KINDS, line_order

if TYPE_CHECKING:
    from collections.abc import Iterable

    from shuangyong.model.registry import Registry

_ISO_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
#: amounts the columns take as they are: ``yuan.fen`` exactly, no sign, no more whole digits than
#: ``MAX_AMOUNT`` has (so none exceeds it, and sums of fen stay far inside int64)
_WHOLE_DIGITS = len(str(int(MAX_AMOUNT)))
_AMOUNT = rf"^[0-9]{{1,{_WHOLE_DIGITS}}}\.[0-9]{{2}}$"
_DIGITS = r"^[0-9]{1,18}$"
NO_DAY_LOW, NO_DAY_HIGH = np.iinfo(np.int32).min, np.iinfo(np.int32).max


def _np(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return array.to_numpy(zero_copy_only=False)


def _truth(mask: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A boolean column with nulls read as true (a null in a check means: not sure, so fail)."""
    return _np(pc.fill_null(mask, True)).astype(bool)


def _dates(column: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Days since 1970 (nulls where absent) and, per value, whether a present value is bad."""
    wellformed = pc.and_(pc.match_substring_regex(column, _ISO_DATE),
                         pc.invert(pc.starts_with(column, "0000")))
    text = pc.if_else(wellformed, column, pa.scalar(None, pa.string()))
    parsed = pc.cast(pc.strptime(text, format="%Y-%m-%d", unit="s", error_is_null=True), pa.date32())
    # strptime rolls 2025-02-30 over into March: a day that does not print back as given is bad
    parsed = pc.if_else(pc.equal(pc.cast(parsed, pa.string()), text), parsed, pa.scalar(None, pa.date32()))
    bad = pc.and_(pc.is_valid(column), pc.is_null(parsed))
    return parsed, bad


def _days(dates: pa.Array, missing: int) -> np.ndarray:
    return _np(pc.fill_null(pc.cast(dates, pa.int32()), missing)).astype(np.int32)


def _any_by(parents: np.ndarray, mask: np.ndarray, size: int) -> np.ndarray:
    hit = np.zeros(size, dtype=bool)
    hit[parents[mask]] = True
    return hit


def _codes(column: pa.Array, ids: Iterable[str]) -> np.ndarray:
    """Position of each value in ``ids`` (-1 if absent or null)."""
    return _np(pc.fill_null(pc.index_in(column, pa.array(list(ids), pa.string())), -1)).astype(np.int32)


def _odd_text(column: pa.Array | pa.ChunkedArray, *, required: bool) -> np.ndarray:
    """Per value: a text the columns leave to the row engine: empty, longer than an id may be
    (``MAX_ID_LENGTH``), or (``required``) absent."""
    length = pc.utf8_length(column)
    odd = pc.or_(pc.equal(length, 0), pc.greater(length, MAX_ID_LENGTH))
    return _truth(odd) if required else _np(pc.fill_null(odd, False)).astype(bool)


def row_only(table: pa.Table, registry: Registry, *, strict: bool, resolves: bool) -> np.ndarray:
    """Per visit: must it go to the row engine? ``resolves``: a plugin looks patients up by id."""
    n = table.num_rows
    bad = np.zeros(n, dtype=bool)
    for name in ("visit_id", "date", "kind", "region", "patient", "lines"):
        bad |= _truth(pc.is_null(table.column(name)))
    bad |= _odd_text(table.column("visit_id"), required=True)
    bad |= _truth(pc.is_null(_dates(table.column("date").combine_chunks())[0]))
    bad |= _truth(pc.invert(pc.is_in(table.column("kind"), pa.array(VISIT_KINDS))))
    bad |= _truth(pc.invert(pc.match_substring_regex(table.column("region"), r"^[0-9]{6}$")))
    patient = table.column("patient").combine_chunks()
    bad |= _odd_text(pc.struct_field(patient, "id"), required=True)
    bad |= _odd_text(pc.struct_field(patient, "name"), required=False)
    bad |= _np(_dates(pc.struct_field(patient, "birth_date"))[1]).astype(bool)
    level = pc.struct_field(patient, "disability_level")
    bad |= _np(pc.fill_null(pc.or_(pc.less(level, 1), pc.greater(level, 10)), False)).astype(bool)
    cause = pc.struct_field(patient, "disability_cause")
    known_causes = pa.array([t.id for t in registry.disability_causes])
    bad |= _np(pc.and_(pc.is_valid(cause), pc.invert(pc.is_in(cause, known_causes)))).astype(bool)

    categories = pc.struct_field(patient, "categories")
    values = pc.list_flatten(categories)
    unknown = pc.invert(pc.is_in(values, pa.array([t.id for t in registry.categories])))
    bad |= _any_by(_np(pc.list_parent_indices(categories)), _truth(unknown), n)

    cards = pc.struct_field(patient, "credentials")
    card = pc.list_flatten(cards)
    card_parents = _np(pc.list_parent_indices(cards))
    starts, start_bad = _dates(pc.struct_field(card, "valid_from"))
    ends, end_bad = _dates(pc.struct_field(card, "valid_to"))
    card_bad = (_truth(pc.invert(pc.is_in(pc.struct_field(card, "kind"),
                                          pa.array([t.id for t in registry.credentials]))))
                | _odd_text(pc.struct_field(card, "number"), required=True) | _truth(start_bad) | _truth(end_bad)
                | (_days(ends, NO_DAY_HIGH) < _days(starts, NO_DAY_LOW)))
    bad |= _any_by(card_parents, card_bad, n)
    if resolves:  # a patient named only by id is looked up by a plugin, one by one
        no_facts = pc.and_(pc.equal(pc.fill_null(pc.list_value_length(categories), 0), 0),
                           pc.equal(pc.fill_null(pc.list_value_length(cards), 0), 0))
        bad |= _truth(no_facts)

    lines = table.column("lines").combine_chunks()
    bad |= _truth(pc.equal(pc.list_value_length(lines), 0))
    line = pc.list_flatten(lines)
    line_parents = _np(pc.list_parent_indices(lines))
    item = pc.struct_field(line, "item")
    line_bad = (_odd_text(pc.struct_field(line, "line_id"), required=True) | _odd_text(item, required=True)
                | _odd_text(pc.struct_field(line, "code"), required=False)
                | _odd_text(pc.struct_field(line, "description"), required=False)
                | _truth(pc.invert(pc.match_substring_regex(pc.struct_field(line, "amount"), _AMOUNT))))
    if strict:
        line_bad |= _truth(pc.invert(pc.is_in(item, pa.array([t.id for t in registry.items]))))
    tags = pc.struct_field(line, "tags")
    line_bad |= _any_by(_np(pc.list_parent_indices(tags)), _odd_text(pc.list_flatten(tags), required=True), len(line))
    bad |= _any_by(line_parents, line_bad, n)
    return bad


def fen(amounts: pa.Array) -> np.ndarray:
    """``"12.35"`` → 1235, exactly (amounts already checked against ``_AMOUNT``)."""
    dotted = pc.if_else(pc.match_substring(amounts, "."), amounts,
                        pc.binary_join_element_wise(amounts, ".", ""))
    parts = pc.split_pattern(dotted, ".")
    whole = _np(pc.cast(pc.list_element(parts, 0), pa.int64()))
    cents = _np(pc.cast(pc.utf8_rpad(pc.list_element(parts, 1), width=2, padding="0"), pa.int64()))
    return whole * 100 + cents


@attrs.frozen(slots=True)
class Columns:
    """Visits that passed :func:`row_only`, as arrays; lines in canonical order within each visit.

    Lines of visit ``v`` are ``starts[v]:starts[v + 1]``. Category, credential, item and
    disability-cause values are codes: positions in the registry's vocabularies.
    """

    table: pa.Table
    date: np.ndarray  #: days since 1970
    kind: np.ndarray  #: position in VISIT_KINDS
    region: pa.Array
    category: np.ndarray
    category_visit: np.ndarray
    level: np.ndarray  #: -1 when absent
    cause: np.ndarray  #: -1 when absent
    birth: np.ndarray  #: days since 1970; NO_DAY_LOW when absent
    card_kind: np.ndarray
    card_from: np.ndarray
    card_to: np.ndarray
    card_visit: np.ndarray
    starts: np.ndarray
    line_visit: np.ndarray
    line_id: pa.Array
    item: np.ndarray  #: -1 for an item kind the registry does not know
    item_name: pa.Array
    amount: np.ndarray  #: fen
    tag: pa.Array
    tag_line: np.ndarray
    duplicates: np.ndarray  #: per visit: a line id appears twice

    @property
    def visits(self) -> int:
        """How many visits the chunk has."""
        return self.table.num_rows

    @classmethod
    def of(cls, table: pa.Table, registry: Registry) -> Columns:
        """Flatten a chunk's nested visits into the arrays the vector rules read."""
        n = table.num_rows
        patient = table.column("patient").combine_chunks()
        categories = pc.struct_field(patient, "categories")
        cards = pc.struct_field(patient, "credentials")
        card = pc.list_flatten(cards)
        lines = table.column("lines").combine_chunks()
        line = pc.list_flatten(lines)
        line_visit = _np(pc.list_parent_indices(lines)).astype(np.int64)
        line_id = pc.struct_field(line, "line_id")
        order, duplicates = _canonical_order(line_id, line_visit, n)
        line = line.take(pa.array(order))
        line_id = pc.struct_field(line, "line_id")
        line_visit = line_visit[order]
        tags = pc.struct_field(line, "tags")
        starts = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(_np(pc.list_value_length(lines)), out=starts[1:])
        return cls(
            table, _days(_dates(table.column("date").combine_chunks())[0], 0),
            _codes(table.column("kind").combine_chunks(), VISIT_KINDS), table.column("region").combine_chunks(),
            _codes(pc.list_flatten(categories), (t.id for t in registry.categories)),
            _np(pc.list_parent_indices(categories)),
            _np(pc.fill_null(pc.struct_field(patient, "disability_level"), -1)),
            _codes(pc.struct_field(patient, "disability_cause"), (t.id for t in registry.disability_causes)),
            _days(_dates(pc.struct_field(patient, "birth_date"))[0], NO_DAY_LOW),
            _codes(pc.struct_field(card, "kind"), (t.id for t in registry.credentials)),
            _days(_dates(pc.struct_field(card, "valid_from"))[0], NO_DAY_LOW),
            _days(_dates(pc.struct_field(card, "valid_to"))[0], NO_DAY_HIGH),
            _np(pc.list_parent_indices(cards)),
            starts, line_visit, line_id,
            _codes(pc.struct_field(line, "item"), (t.id for t in registry.items)), pc.struct_field(line, "item"),
            fen(pc.struct_field(line, "amount")),
            pc.list_flatten(tags), _np(pc.list_parent_indices(tags)), duplicates)


def _canonical_order(line_id: pa.Array, visit: np.ndarray, visits: int) -> tuple[np.ndarray, np.ndarray]:
    """The permutation putting each visit's lines in ``line_order``, and the visits that repeat a
    line id. Digit-only ids sort as numbers in columns; other visits' lines are ranked in Python."""
    digits = _np(pc.match_substring_regex(line_id, _DIGITS)).astype(bool)
    number = _np(pc.cast(pc.if_else(pa.array(digits), line_id, "0"), pa.int64())).copy()
    odd = np.flatnonzero(np.isin(visit, visit[~digits]))  # lines come grouped by visit
    if len(odd):
        ids = line_id.take(pa.array(odd)).to_pylist()
        cuts = np.flatnonzero(np.diff(visit[odd])) + 1
        for positions, names in zip(np.split(odd, cuts), np.split(np.arange(len(odd)), cuts), strict=True):
            ranked = sorted(range(len(positions)), key=lambda k: line_order(ids[names[k]]))
            number[positions[ranked]] = np.arange(len(ranked))
    same_visit = visit[1:] == visit[:-1]
    if len(odd) == 0 and np.all(~same_visit | (number[1:] > number[:-1])):
        # already in canonical order (what an HIS usually sends): nothing to sort, no id repeated
        return np.arange(len(visit)), np.zeros(visits, dtype=bool)
    keys = pa.table({"visit": visit, "number": number, "id": line_id})
    order = _np(pc.sort_indices(keys, sort_keys=[("visit", "ascending"), ("number", "ascending"),
                                                 ("id", "ascending")]))
    same = pc.equal(line_id.take(pa.array(order[1:])), line_id.take(pa.array(order[:-1])))
    repeated = _truth(same) & (visit[order[1:]] == visit[order[:-1]])
    return order, _any_by(visit[order[1:]], repeated, visits)
