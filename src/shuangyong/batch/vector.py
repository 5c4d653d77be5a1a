"""The engine's compiled rules, applied to whole columns at once.

Each rule of :class:`~shuangyong.engine.compiler.CompiledPolicy` keeps its meaning: the same
effective window, region prefix, condition (the predicate objects themselves are read, not the
YAML again), reducer and caps. Amounts are integer fen, so a percentage is exact integer
arithmetic: half-up rounding of ``fen × p / q`` is ``(2·fen·p + q) // (2·q)``.

What has no column form (a plugin's custom condition, a percentage with more than
:data:`MAX_RATE_DIGITS` significant digits) makes its rule *row-only*: every visit on which the
rule is in force and in region goes to the row engine instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shuangyong.batch.columns import NO_DAY_LOW, Columns
from shuangyong.engine.predicates import (
    AllOf,
    AnyOf,
    CategoryIn,
    CredentialValid,
    IdIn,
    NotOf,
    NumberIn,
    Predicate,
    RegionIn,
    TagsAny,
)
from shuangyong.model.visit import VISIT_KINDS
from shuangyong.money import to_fen

if TYPE_CHECKING:
    import datetime as dt
    from decimal import Decimal

    from shuangyong.engine.compiler import CompiledPolicy, CompiledRule
    from shuangyong.model.registry import Registry

MAX_RATE_DIGITS = 9  #: keeps fen × rate within Decimal's 28 digits, as the row engine computes it
_EPOCH = np.datetime64("1970-01-01", "D")


def vectorisable(predicate: Predicate | None) -> bool:
    """Whether every part of a condition has a column form (custom conditions have none)."""
    if predicate is None:
        return True
    if isinstance(predicate, AllOf | AnyOf):
        return all(vectorisable(part) for part in predicate.parts)
    if isinstance(predicate, NotOf):
        return vectorisable(predicate.part)
    return isinstance(predicate, CategoryIn | CredentialValid | IdIn | NumberIn | RegionIn | TagsAny)


def _days(day: dt.date | None, missing: int) -> int:
    return missing if day is None else int((np.datetime64(day, "D") - _EPOCH).astype(np.int64))


@attrs.frozen(slots=True)
class VectorRule:
    """One compiled rule with its amounts in fen."""

    rule: CompiledRule
    index: int  #: position in ``VectorPolicy.rules``
    first_day: int
    last_day: int
    items: np.ndarray  #: item codes the benefit applies to
    fixed: int | None  #: fen (already limited by the per-line cap)
    rate: tuple[int, int] | None  #: numerator, denominator; None with no ``fixed``: all of it
    per_line: int | None
    per_visit: int | None
    row_only: bool

    @classmethod
    def of(cls, rule: CompiledRule, index: int, registry: Registry) -> VectorRule:
        """``rule``'s window as days, its items as codes, its amounts and caps in fen."""
        spec = rule.rule.spec
        item_ids = [t.id for t in registry.items]
        caps, benefit = spec.caps, spec.benefit
        per_line = to_fen(caps.per_line) if caps and caps.per_line is not None else None
        per_visit = to_fen(caps.per_visit) if caps and caps.per_visit is not None else None
        fixed = rate = None
        row_only = not (vectorisable(rule.visit_test) and vectorisable(rule.line_test))
        if benefit is not None:
            if benefit.fixed is not None:
                fixed = to_fen(benefit.fixed) if per_line is None else min(to_fen(benefit.fixed), per_line)
            elif benefit.rate is not None and benefit.rate != 1:
                value: Decimal = benefit.rate
                row_only |= len(value.normalize().as_tuple().digits) > MAX_RATE_DIGITS
                rate = value.as_integer_ratio()
        return cls(rule, index, _days(rule.effective.start, NO_DAY_LOW),
                   _days(rule.effective.end, np.iinfo(np.int32).max),
                   np.array([item_ids.index(i) for i in spec.items], dtype=np.int32),
                   fixed, rate, per_line, per_visit, row_only)

    def reduce(self, remaining: np.ndarray) -> np.ndarray:
        """What the benefit takes off what is left of each line, before the per-visit cap."""
        if self.fixed is not None:
            return np.minimum(remaining, self.fixed)
        if self.rate is None:
            reduction = remaining
        else:
            numerator, denominator = self.rate
            top = int(remaining.max(initial=0))
            if 2 * top * numerator + denominator < 2**62:
                reduction = (2 * remaining * numerator + denominator) // (2 * denominator)
            else:  # amounts too large for int64 arithmetic: the same formula on Python integers
                reduction = np.array([(2 * r * numerator + denominator) // (2 * denominator)
                                      for r in remaining.tolist()], dtype=object).astype(np.int64)
        return reduction if self.per_line is None else np.minimum(reduction, self.per_line)


@attrs.frozen(slots=True)
class VectorPolicy:
    """A compiled policy's rules in column form: benefit rules by stacking group, grant rules."""

    compiled: CompiledPolicy
    registry: Registry
    rules: tuple[VectorRule, ...]
    groups: tuple[tuple[VectorRule, ...], ...]  #: benefit rules, groups in order, rules in order
    grants: tuple[VectorRule, ...]  #: rules granting priorities or services

    @classmethod
    def of(cls, compiled: CompiledPolicy, registry: Registry) -> VectorPolicy:
        """Every rule of ``compiled`` in column form, benefit rules grouped as they stack."""
        rules = tuple(VectorRule.of(rule, n, registry) for n, rule in enumerate(compiled.rules))
        benefit = [r for r in rules if r.rule.reduce is not None]
        ranks = sorted({r.rule.group for r in benefit})
        groups = tuple(tuple(r for r in benefit if r.rule.group == g) for g in ranks)
        grants = tuple(r for r in rules if r.rule.rule.spec.priorities or r.rule.rule.spec.services)
        return cls(compiled, registry, rules, groups, grants)

    @property
    def row_only_rules(self) -> tuple[VectorRule, ...]:
        """Rules the columns cannot decide; a visit in their scope goes to the row engine."""
        return tuple(r for r in self.rules if r.row_only)


class Facts:
    """Predicates evaluated over one chunk's columns, each once (rules share conditions)."""

    def __init__(self, columns: Columns, registry: Registry) -> None:
        self.columns = columns
        self.registry = registry
        self._visit: dict[object, np.ndarray] = {}
        self._line: dict[object, np.ndarray] = {}
        self._age: np.ndarray | None = None

    def in_scope(self, rule: VectorRule) -> np.ndarray:
        """Per visit: the rule is in force on the visit date and the visit lies in its region."""
        key = ("scope", rule.index)
        found = self._visit.get(key)
        if found is None:
            c = self.columns
            found = (c.date >= rule.first_day) & (c.date <= rule.last_day)
            if rule.rule.rule.region:
                found &= self._starts_with((rule.rule.rule.region,))
            self._visit[key] = found
        return found

    def eligible(self, rule: VectorRule) -> np.ndarray:
        """Per visit, as ``CompiledPolicy.eligible``: in scope and the visit-level test holds."""
        found = self.in_scope(rule)
        return found if rule.rule.visit_test is None else found & self.visit(rule.rule.visit_test)

    def _starts_with(self, prefixes: tuple[str, ...]) -> np.ndarray:
        hit = np.zeros(self.columns.visits, dtype=bool)
        for prefix in prefixes:
            hit |= pc.starts_with(self.columns.region, prefix).to_numpy(zero_copy_only=False).astype(bool)
        return hit

    def _hits(self, parents: np.ndarray, mask: np.ndarray, size: int) -> np.ndarray:
        hit = np.zeros(size, dtype=bool)
        hit[parents[mask]] = True
        return hit

    def age(self) -> np.ndarray:
        """Whole years on the visit date (a birthday counts from the day itself); -1 if unknown."""
        if self._age is None:
            c = self.columns
            known = c.birth != NO_DAY_LOW
            day = c.date.astype("datetime64[D]")
            born = np.where(known, c.birth, 0).astype("datetime64[D]")
            years = day.astype("datetime64[Y]").astype(np.int64) - born.astype("datetime64[Y]").astype(np.int64)
            # compare (month, day) pairs, not days of the year, which leap years shift
            month = day.astype("datetime64[M]").astype(np.int64) % 12
            born_month = born.astype("datetime64[M]").astype(np.int64) % 12
            mday = (day - day.astype("datetime64[M]")).astype(np.int64)
            born_mday = (born - born.astype("datetime64[M]")).astype(np.int64)
            before = (month < born_month) | ((month == born_month) & (mday < born_mday))
            self._age = np.where(known, years - before, -1)
        return self._age

    def visit(self, predicate: Predicate) -> np.ndarray:
        """A visit-level predicate, one boolean per visit."""
        found = self._visit.get(predicate)
        if found is None:
            found = self._visit[predicate] = self._visit_level(predicate)
        return found

    def _visit_level(self, predicate: Predicate) -> np.ndarray:
        c, registry = self.columns, self.registry
        if isinstance(predicate, CategoryIn):
            hits = [n for n, term in enumerate(registry.categories)
                    if not predicate.ids.isdisjoint(registry.categories.with_ancestors(term.id))]
            return self._hits(c.category_visit, np.isin(c.category, hits), c.visits)
        if isinstance(predicate, CredentialValid):
            kinds = [n for n, term in enumerate(registry.credentials) if term.id in predicate.kinds]
            day = c.date[c.card_visit]
            valid = np.isin(c.card_kind, kinds) & (c.card_from <= day) & (day <= c.card_to)
            return self._hits(c.card_visit, valid, c.visits)
        if isinstance(predicate, IdIn):
            if predicate.fact == "visit_kind":
                return np.isin(c.kind, [n for n, kind in enumerate(VISIT_KINDS) if kind in predicate.ids])
            causes = [n for n, term in enumerate(registry.disability_causes) if term.id in predicate.ids]
            return np.isin(c.cause, causes)
        if isinstance(predicate, NumberIn):
            value = c.level if predicate.fact == "disability_level" else self.age()
            hit = value >= 0
            if predicate.low is not None:
                hit &= value >= predicate.low
            if predicate.high is not None:
                hit &= value <= predicate.high
            return hit
        if isinstance(predicate, RegionIn):
            return self._starts_with(predicate.prefixes)
        if isinstance(predicate, AllOf):
            return np.logical_and.reduce([self.visit(p) for p in predicate.parts])
        if isinstance(predicate, AnyOf):
            return np.logical_or.reduce([self.visit(p) for p in predicate.parts])
        if isinstance(predicate, NotOf):
            return ~self.visit(predicate.part)
        raise TypeError(f"no column form for {predicate!r}")  # excluded by VectorRule.row_only

    def line(self, predicate: Predicate) -> np.ndarray:
        """A predicate per charge line (visit-level parts repeat on each line of the visit)."""
        found = self._line.get(predicate)
        if found is None:
            found = self._line[predicate] = self._line_level(predicate)
        return found

    def _line_level(self, predicate: Predicate) -> np.ndarray:
        c = self.columns
        if isinstance(predicate, TagsAny):
            wanted = pc.is_in(c.tag, pa.array(sorted(predicate.tags), pa.string()))
            return self._hits(c.tag_line, wanted.to_numpy(zero_copy_only=False).astype(bool), len(c.amount))
        if isinstance(predicate, AllOf):
            return np.logical_and.reduce([self.line(p) for p in predicate.parts])
        if isinstance(predicate, AnyOf):
            return np.logical_or.reduce([self.line(p) for p in predicate.parts])
        if isinstance(predicate, NotOf):
            return ~self.line(predicate.part)
        return self.visit(predicate)[c.line_visit]
