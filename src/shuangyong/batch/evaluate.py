"""``BatchEngine``: the row engine's decisions for a chunk of visits, computed over columns.

Stacking is the row engine's (DESIGN §5): per line, groups apply in order, each on what the
previous left; within a group the rule taking off most wins, the earlier rule on a tie, and a
reduction of nothing never wins. Lines are independent of each other except through per-visit
caps; when a rule with one could apply, lines are taken a position at a time (every visit's first
line, then every visit's second…), so a cap is used up in canonical line order as in the row
engine, still over all visits at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
import numpy as np
import pyarrow as pa

from shuangyong import plugins
from shuangyong.batch.columns import Columns, row_only
from shuangyong.batch.sources import read_chunks
from shuangyong.batch.vector import Facts, VectorPolicy, VectorRule
from shuangyong.engine.compiler import VisitPlan
from shuangyong.engine.evaluate import CachedPlan
from shuangyong.errors import ShuangyongError
from shuangyong.interchange.framing import Handled, Outcome, RawRecord, Refused
from shuangyong.interchange.insurance import strict_payers
from shuangyong.model.charge_codes import ChargeCodeMap

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from shuangyong.batch.sources.table import Chunk
    from shuangyong.engine import Engine
    from shuangyong.engine.decision import Decision
    from shuangyong.model.charge_codes import ChargeCodeMap
    from shuangyong.model.visit import Visit

    #: what the row engine answered for one record: its visit and decision, or the error refusing it
    RowResult = Outcome[tuple[Visit, Decision]]


@attrs.frozen(slots=True)
class LineResults:
    """Decisions of the visits evaluated over columns.

    ``winners[g]`` is the rule (index in ``VectorPolicy.rules``) that won stacking group ``g`` on
    each line, or -1; ``taken[g]`` what it took off, in fen. ``grant_sets[grant_key[v]]`` are the
    rules granting priorities or services to visit ``v``.
    """

    columns: Columns
    reduction: np.ndarray
    winners: np.ndarray
    taken: np.ndarray
    first: np.ndarray
    grant_key: np.ndarray
    grant_sets: tuple[CachedPlan, ...]

    @property
    def visit_amount(self) -> np.ndarray:
        """Each visit's total amount, in fen."""
        return np.add.reduceat(self.columns.amount, self.columns.starts[:-1])

    @property
    def visit_reduction(self) -> np.ndarray:
        """Each visit's total reduction, in fen."""
        return np.add.reduceat(self.reduction, self.columns.starts[:-1])


@attrs.frozen(slots=True)
class ChunkResult:
    """A chunk's answers: ``vector`` are the chunk positions (ascending) of the visits answered
    over columns, in ``lines``; ``rows`` the row engine's answers for every other position."""

    chunk: Chunk
    vector: np.ndarray
    lines: LineResults | None
    rows: dict[int, RowResult]

    @property
    def failures(self) -> int:
        """How many records the row engine refused."""
        return sum(isinstance(row, Refused) for row in self.rows.values())


class BatchEngine:
    """A row engine's compiled rules in column form. Build once, evaluate many chunks."""

    def __init__(self, engine: Engine, codes: ChargeCodeMap | None = None, *,
                 resolves: bool | None = None) -> None:
        self.engine = engine
        self.policy = VectorPolicy.of(engine.compiled, engine.registry)
        self.codes = codes
        #: a plugin that looks patients up by id makes those visits row-only
        self.resolves = (bool(plugins.plugin_manager().hook.resolve_beneficiary.get_hookimpls())
                         if resolves is None else resolves)
        self._plans: dict[tuple[int, ...], CachedPlan] = {}

    def evaluate_path(self, path: str | Path, fmt: str | None = None) -> Iterator[ChunkResult]:
        """Evaluate a file (JSON Lines, Parquet or CSV) chunk by chunk."""
        for chunk in read_chunks(path, fmt):
            yield self.evaluate_chunk(chunk)

    def evaluate_chunk(self, chunk: Chunk) -> ChunkResult:
        """Decide one chunk: over columns where the vector rules can, by the row engine elsewhere."""
        keep = np.zeros(0, dtype=np.int64)
        lines = None
        if chunk.table is not None:
            bad = row_only(chunk.table, self.engine.registry, strict=self.engine.strict, resolves=self.resolves)
            bad[list(chunk.forced)] = True
            if self.engine.compiled.settles:  # every visit's payers: the settlement path has no column form
                bad[:] = True
            keep = np.flatnonzero(~bad)
            columns = Columns.of(_rows(chunk.table, keep), self.engine.registry) if len(keep) else None
            if columns is not None:
                again = columns.duplicates | self._row_only_rules_apply(columns)
                if again.any():
                    keep = keep[~again]
                    columns = Columns.of(_rows(chunk.table, keep), self.engine.registry) if len(keep) else None
            if columns is not None:
                lines = self._decide(columns)
        kept = set(keep.tolist())
        rows = {n: Refused(chunk.record(n), chunk.problems[n]) if n in chunk.problems else self.row(chunk.record(n))
                for n in range(chunk.count) if n not in kept}
        return ChunkResult(chunk, keep, lines, rows)

    def row(self, record: RawRecord) -> RowResult:
        """One record through the row engine, as ``shuangyong evaluate`` handles it."""
        try:
            payers = strict_payers(self.engine.registry, strict=self.engine.strict)
            visit = plugins.resolve_beneficiary(record.visit(self.codes, payers))
            return Handled(record, (visit, self.engine.evaluate(visit)))
        except ShuangyongError as error:
            return Refused(record, error)

    def _row_only_rules_apply(self, columns: Columns) -> np.ndarray:
        hit = np.zeros(columns.visits, dtype=bool)
        if self.policy.row_only_rules:
            facts = Facts(columns, self.engine.registry)
            for rule in self.policy.row_only_rules:
                hit |= facts.in_scope(rule)
        return hit

    def _decide(self, columns: Columns) -> LineResults:
        facts = Facts(columns, self.engine.registry)
        visit = columns.line_visit
        applicable: dict[int, np.ndarray] = {}
        for group in self.policy.groups:
            for rule in group:
                eligible = facts.eligible(rule)
                if not eligible.any():
                    continue
                mask = eligible[visit] & np.isin(columns.item, rule.items)
                if rule.rule.line_test is not None:
                    mask &= facts.line(rule.rule.line_test)
                if mask.any():
                    applicable[rule.index] = mask
        remaining = columns.amount.copy()
        count = len(remaining)
        winners = np.full((len(self.policy.groups), count), -1, dtype=np.int32)
        taken = np.zeros((len(self.policy.groups), count), dtype=np.int64)
        capped = [r for g in self.policy.groups for r in g if r.per_visit is not None and r.index in applicable]
        cap_left = {r.index: np.full(columns.visits, r.per_visit, dtype=np.int64) for r in capped}
        for step in _steps(columns, bool(capped)):
            for g, group in enumerate(self.policy.groups):
                left = remaining[step]
                best = np.full(len(left), -1, dtype=np.int32)
                best_reduction = np.zeros(len(left), dtype=np.int64)
                for rule in group:
                    mask = applicable.get(rule.index)
                    if mask is None or not (mask := mask[step]).any():
                        continue
                    reduction = rule.reduce(left)
                    if rule.per_visit is not None:
                        reduction = np.minimum(reduction, cap_left[rule.index][visit[step]])
                    better = mask & (reduction > best_reduction)
                    best[better] = rule.index
                    best_reduction[better] = reduction[better]
                remaining[step] = left - best_reduction
                winners[g, step] = best
                taken[g, step] = best_reduction
                for rule in group:
                    if rule.index in cap_left:
                        won = best == rule.index
                        cap_left[rule.index][visit[step][won]] -= best_reduction[won]
        first = np.full(count, -1, dtype=np.int32)
        for g in range(len(self.policy.groups)):
            first = np.where(first == -1, winners[g], first)
        key, sets = self._grants(facts, columns.visits)
        return LineResults(columns, columns.amount - remaining, winners, taken, first, key, sets)

    def _grants(self, facts: Facts, visits: int) -> tuple[np.ndarray, tuple[CachedPlan, ...]]:
        """Which grant rules hold for each visit, as an index into the distinct sets."""
        grants = self.policy.grants
        if not grants:
            return np.zeros(visits, dtype=np.int64), (self._plan(()),)
        matrix = np.stack([facts.eligible(rule) for rule in grants], axis=1)
        if len(grants) <= 62:  # a bit per grant rule: sorting integers beats sorting rows
            bits = matrix.astype(np.int64) @ (np.int64(1) << np.arange(len(grants), dtype=np.int64))
            _, first, key = np.unique(bits, return_index=True, return_inverse=True)
            distinct = matrix[first]
        else:
            distinct, key = np.unique(matrix, axis=0, return_inverse=True)
        sets = tuple(self._plan(tuple(rule for rule, on in zip(grants, row, strict=True) if on))
                     for row in distinct)
        return key.reshape(-1), sets

    def _plan(self, rules: tuple[VectorRule, ...]) -> CachedPlan:
        key = tuple(r.index for r in rules)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = CachedPlan.of(VisitPlan.of(tuple(r.rule for r in rules)),
                                                    self.engine.registry)
        return plan


def _rows(table: pa.Table, keep: np.ndarray) -> pa.Table:
    return table if len(keep) == table.num_rows else table.take(pa.array(keep))


def _steps(columns: Columns, capped: bool) -> list[slice | np.ndarray]:
    """All lines at once, or (with per-visit caps) the lines at each position within their visit."""
    if not capped:
        return [slice(None)]
    position = np.arange(len(columns.amount)) - columns.starts[columns.line_visit]
    order = np.argsort(position, kind="stable")
    cuts = np.flatnonzero(np.diff(position[order])) + 1
    return list(np.split(order, cuts))

