"""What-if: two pack sets over the same visits, and where their reductions differ.

Both sets run on the batch path (:mod:`shuangyong.batch`), chunk by chunk over one reading of
the visits, so a year of a city's visits is compared in one pass and in flat memory. Amounts are
summed in integer fen inside; the :class:`Comparison` that :func:`compare` returns speaks
``Decimal`` yuan. A record either set cannot evaluate is counted and left out of both.

Categories are keyed by the patient's whole set of categories (``disabled_veteran``, or
``martyr_family+veteran``), so every visit counts once and the rows add up to the total.

Internal module: ``compare`` and ``Comparison`` are public from :mod:`shuangyong` (docs/api.md).
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import pyarrow.compute as pc

from shuangyong.batch.run import chunks
from shuangyong.interchange.framing import Refused
from shuangyong.limits import ENCODINGS
from shuangyong.money import format_amount, from_fen, to_fen

if TYPE_CHECKING:
    from collections.abc import Mapping
    from decimal import Decimal
    from pathlib import Path

    from shuangyong.batch import BatchEngine, ChunkResult
    from shuangyong.model.registry import Registry

NO_CATEGORY = "-"
_Pair = list[int]  #: [base fen, reform fen], while summing


@attrs.frozen(slots=True)
class Reductions:
    """The reductions of one breakdown row (a rule, a category, an item kind, a month), in yuan."""

    base: Decimal
    reform: Decimal

    @property
    def difference(self) -> Decimal:
        """Reform less base."""
        return self.reform - self.base


@attrs.frozen(slots=True)
class Change:
    """One visit whose reduction differs between the two sets, in yuan."""

    visit_id: str
    patient: str
    month: str  #: "2025-06"
    base: Decimal
    reform: Decimal

    @property
    def difference(self) -> Decimal:
        """Reform less base."""
        return self.reform - self.base


@attrs.frozen(slots=True)
class Comparison:
    """What :func:`compare` found, in ``Decimal`` yuan like the rest of the API.

    ``amount`` is what the visits both sets evaluated billed, ``base`` and ``reform`` the
    reductions under each set. Each breakdown maps a key to its :class:`Reductions`, rows where
    both sides are zero left out, sorted by key.
    """

    visits: int
    errors: int  #: records either set could not evaluate, left out of both sides
    amount: Decimal
    base: Decimal
    reform: Decimal
    by_rule: Mapping[str, Reductions]
    by_category: Mapping[str, Reductions]  #: keyed by the patient's categories, ``a+b`` (``-``: none)
    by_item: Mapping[str, Reductions]
    by_month: Mapping[str, Reductions]
    visits_affected: int
    beneficiaries: frozenset[str]  #: the patients of the visits affected
    largest_changes: tuple[Change, ...]  #: the largest first; on equal changes, by visit id

    @property
    def difference(self) -> Decimal:
        """Reform less base."""
        return self.reform - self.base

    def as_dict(self) -> dict[str, Any]:
        """The JSON form: amounts as yuan strings, rows sorted by key, largest changes first."""
        def rows(table: Mapping[str, Reductions]) -> list[dict[str, str]]:
            return [{"key": key, "base": format_amount(row.base), "reform": format_amount(row.reform),
                     "difference": format_amount(row.difference)} for key, row in table.items()]

        return {
            "visits": self.visits, "errors": self.errors, "amount": format_amount(self.amount),
            "base": {"reduction": format_amount(self.base), "payable": format_amount(self.amount - self.base)},
            "reform": {"reduction": format_amount(self.reform),
                       "payable": format_amount(self.amount - self.reform)},
            "difference": format_amount(self.difference),
            "visits_affected": self.visits_affected, "beneficiaries_affected": len(self.beneficiaries),
            "by_rule": rows(self.by_rule), "by_category": rows(self.by_category),
            "by_item": rows(self.by_item), "by_month": rows(self.by_month),
            "largest_changes": [{"visit_id": c.visit_id, "patient": c.patient, "month": c.month,
                                 "base": format_amount(c.base), "reform": format_amount(c.reform),
                                 "difference": format_amount(c.difference)} for c in self.largest_changes],
        }


@attrs.frozen(slots=True)
class _Change:
    """A changed visit while summing, in fen."""

    visit_id: str
    patient: str
    month: str
    base: int
    reform: int


def _breakdown() -> dict[str, _Pair]:
    return defaultdict(lambda: [0, 0])


@attrs.define(slots=True)
class _Tally:
    """The sums in integer fen, chunk by chunk; :meth:`result` turns them into yuan once."""

    top: int
    visits: int = 0
    errors: int = 0
    amount: int = 0
    base: int = 0
    reform: int = 0
    by_rule: dict[str, _Pair] = attrs.field(factory=_breakdown)
    by_category: dict[str, _Pair] = attrs.field(factory=_breakdown)
    by_item: dict[str, _Pair] = attrs.field(factory=_breakdown)
    by_month: dict[str, _Pair] = attrs.field(factory=_breakdown)
    visits_affected: int = 0
    beneficiaries: set[str] = attrs.field(factory=set)
    #: a heap of (|Δ|, id ordered backwards, arrival, change): the ``top`` largest changes
    largest: list[tuple[int, str, int, _Change]] = attrs.field(factory=list)
    _arrivals: int = 0

    def note_change(self, change: _Change) -> None:
        self._arrivals += 1
        entry = (abs(change.reform - change.base), _Desc(change.visit_id), -self._arrivals, change)
        if len(self.largest) < self.top:
            heapq.heappush(self.largest, entry)
        elif entry[:3] > self.largest[0][:3]:
            heapq.heapreplace(self.largest, entry)

    def result(self) -> Comparison:
        def rows(table: dict[str, _Pair]) -> dict[str, Reductions]:
            return {key: Reductions(from_fen(b), from_fen(r)) for key, (b, r) in sorted(table.items()) if b or r}

        ordered = sorted(self.largest, key=lambda e: (-e[0], e[-1].visit_id, e[2]))
        return Comparison(
            self.visits, self.errors, from_fen(self.amount), from_fen(self.base), from_fen(self.reform),
            rows(self.by_rule), rows(self.by_category), rows(self.by_item), rows(self.by_month),
            self.visits_affected, frozenset(self.beneficiaries),
            tuple(Change(c.visit_id, c.patient, c.month, from_fen(c.base), from_fen(c.reform))
                  for *_, c in ordered))


class _Desc(str):
    """A visit id ordered backwards, so that on equal changes the heap keeps the smaller id."""

    def __lt__(self, other: str) -> bool:
        return str.__gt__(self, other)

    def __gt__(self, other: str) -> bool:
        return str.__lt__(self, other)


@attrs.frozen(slots=True)
class _Visits:
    """One engine's answers for a chunk, per position: ok, amount and reduction in fen, and the
    visit's id, patient, month and category key."""

    ok: np.ndarray
    amount: np.ndarray
    reduction: np.ndarray
    visit_id: np.ndarray
    patient: np.ndarray
    month: np.ndarray  #: "2025-06"
    category: np.ndarray


def _category_keys(codes: np.ndarray, owners: np.ndarray, visits: int, registry: Registry) -> np.ndarray:
    """Each visit's categories, in registry order, joined by ``+`` (a bit per category first)."""
    ids = [t.id for t in registry.categories]
    bits = np.zeros(visits, dtype=object)
    np.add.at(bits, owners[codes >= 0], np.array([1 << int(c) for c in codes[codes >= 0]], dtype=object))
    names: dict[int, str] = {}
    out = np.empty(visits, dtype=object)
    for n, key in enumerate(bits.tolist()):
        name = names.get(key)
        if name is None:
            name = names[key] = "+".join(i for b, i in enumerate(ids) if key >> b & 1) or NO_CATEGORY
        out[n] = name
    return out


def _visits(result: ChunkResult, rule_ids: list[str], registry: Registry,
            sums: dict[str, Counter[str]]) -> _Visits:
    """Per-position answers of one engine, adding its rule and item sums to ``sums``."""
    n = result.chunk.count
    ok = np.zeros(n, dtype=bool)
    amount, reduction = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    visit_id, patient, month, category = (np.empty(n, dtype=object) for _ in range(4))
    lines = result.lines
    if lines is not None:
        c, at = lines.columns, result.vector
        table = c.table
        ok[at] = True
        amount[at], reduction[at] = lines.visit_amount, lines.visit_reduction
        visit_id[at] = table.column("visit_id").to_numpy()
        patient[at] = pc.struct_field(table.column("patient").combine_chunks(), "id").to_numpy(zero_copy_only=False)
        month[at] = pc.utf8_slice_codeunits(table.column("date"), 0, 7).to_numpy()
        category[at] = _category_keys(c.category, c.category_visit, c.visits, registry)
        items = [t.id for t in registry.items]
        by_item = np.zeros(len(items), dtype=np.int64)
        known = c.item >= 0
        np.add.at(by_item, c.item[known], lines.reduction[known])
        for index in np.flatnonzero(by_item):
            sums["item"][items[index]] += int(by_item[index])
        for g in range(lines.winners.shape[0]):
            won = lines.winners[g] >= 0
            by_rule = np.zeros(len(rule_ids), dtype=np.int64)
            np.add.at(by_rule, lines.winners[g][won], lines.taken[g][won])
            for index in np.flatnonzero(by_rule):
                sums["rule"][rule_ids[index]] += int(by_rule[index])
    for position, row in result.rows.items():
        if isinstance(row, Refused):
            continue
        visit, decision = row.value
        ok[position] = True
        amount[position], reduction[position] = to_fen(decision.totals.amount), to_fen(decision.totals.reduction)
        visit_id[position], patient[position] = visit.visit_id, visit.patient.id
        month[position] = str(visit.date)[:7]
        category[position] = "+".join(registry.categories.order(visit.patient.categories)) or NO_CATEGORY
        for line in decision.lines:
            sums["item"][line.item] += to_fen(line.reduction)
            for applied in line.applied:
                sums["rule"][applied.rule] += to_fen(applied.reduction)
    return _Visits(ok, amount, reduction, visit_id, patient, month, category)


def compare(base: BatchEngine, reform: BatchEngine, path: str | Path, fmt: str | None = None,
            encoding: str = ENCODINGS[0], *, top: int = 10, show_progress: bool = False) -> Comparison:
    """Evaluate every visit under both sets and total the differences, in yuan (an unreadable or
    empty input raises ``InputError``, as ``shuangyong evaluate`` refuses it). ``top``: how many
    of the largest individual changes to keep."""
    out = _Tally(top)
    registry = base.engine.registry
    for chunk in chunks(path, fmt, encoding, show_progress=show_progress):
        sides = []
        for engine in (base, reform):
            sums: dict[str, Counter[str]] = {"rule": Counter(), "item": Counter()}
            rule_ids = [r.rule.rule_id for r in engine.policy.rules]
            sides.append((_visits(engine.evaluate_chunk(chunk), rule_ids, registry, sums), sums))
        _add(out, sides)
    return out.result()


def _add(out: _Tally, sides: list[tuple[_Visits, dict[str, Counter[str]]]]) -> None:
    (b, b_sums), (r, r_sums) = sides
    ok = b.ok & r.ok
    out.errors += int((~ok).sum())
    out.visits += int(ok.sum())
    out.amount += int(b.amount[ok].sum())
    out.base += int(b.reduction[ok].sum())
    out.reform += int(r.reduction[ok].sum())
    for side, sums in ((0, b_sums), (1, r_sums)):
        for rule, fen in sums["rule"].items():
            out.by_rule[rule][side] += fen
        for item, fen in sums["item"].items():
            out.by_item[item][side] += fen
    for table, keys in ((out.by_category, b.category), (out.by_month, b.month)):
        distinct, where = np.unique(keys[ok].astype(str), return_inverse=True)
        for side, reductions in ((0, b.reduction[ok]), (1, r.reduction[ok])):
            totals = np.zeros(len(distinct), dtype=np.int64)
            np.add.at(totals, where, reductions)
            for key, fen in zip(distinct.tolist(), totals.tolist(), strict=True):
                table[key][side] += fen
    changed = np.flatnonzero(ok & (b.reduction != r.reduction))
    out.visits_affected += len(changed)
    for n in changed.tolist():
        out.beneficiaries.add(b.patient[n])
        out.note_change(_Change(b.visit_id[n], b.patient[n], b.month[n], int(b.reduction[n]), int(r.reduction[n])))
