"""Registries of stable ids with zh/en labels: categories, credential kinds, item kinds, …

Categories have parents, so a rule written for ``key_care`` also covers ``disabled_veteran``.
Plugins add entries through the same ``register`` method the built-ins use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from shuangyong.errors import InputError, UnknownCategoryError
from shuangyong.text import Text

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator


@attrs.frozen(slots=True)
class Term:
    """One id in a vocabulary. ``parents`` are ids of the same vocabulary."""

    id: str
    label: Text
    parents: tuple[str, ...] = ()
    deposit: bool = False  #: item kinds only: the line is a deposit, not a fee
    item: str | None = None  #: fee categories only: the item kind every line of the category is, if one is
    kind: str | None = None  #: payers only: ``fund`` (an insurance fund) or ``subsidy`` (bears concessions)


@attrs.define(slots=True)
class Vocabulary:
    """An ordered set of ``Term``\\ s; its order is the canonical output order."""

    name: Text
    _terms: dict[str, Term] = attrs.field(factory=dict)
    _closure: dict[str, frozenset[str]] = attrs.field(factory=dict, init=False)
    _rank: dict[str, int] = attrs.field(factory=dict, init=False)

    def register(self, term: Term) -> None:
        """Add ``term``; its parents must be registered already, and an id registered twice is a ``ValueError``."""
        if term.id in self._terms:
            raise ValueError(f"{self.name.en} {term.id!r} is registered twice")
        for parent in term.parents:
            if parent not in self._terms:
                raise ValueError(f"{self.name.en} {term.id!r}: parent {parent!r} is not registered")
        self._terms[term.id] = term
        self._rank[term.id] = len(self._rank)
        self._closure.clear()

    def __contains__(self, term_id: object) -> bool:
        return term_id in self._terms

    def __iter__(self) -> Iterator[Term]:
        return iter(self._terms.values())

    def __len__(self) -> int:
        return len(self._terms)

    def get(self, term_id: str) -> Term:
        """The term with this id; an unknown id raises ``unknown``'s error."""
        try:
            return self._terms[term_id]
        except KeyError:
            raise self.unknown(term_id) from None

    def unknown(self, term_id: str, *, record: str | None = None,
                field: str | None = None) -> UnknownCategoryError:
        """The error for an id this vocabulary does not have, listing those it has."""
        known = ", ".join(self._terms)
        return UnknownCategoryError(
            Text(f"未知的{self.name.zh} {term_id!r}（可用：{known}）",
                 f"unknown {self.name.en} {term_id!r} (known: {known})"),
            record=record, field=field, value=term_id)

    def with_ancestors(self, term_id: str) -> frozenset[str]:
        """The id itself and every ancestor, memoised (terms are only ever added)."""
        found = self._closure.get(term_id)
        if found is None:
            ids = {term_id}
            for parent in self.get(term_id).parents:
                ids |= self.with_ancestors(parent)
            found = self._closure[term_id] = frozenset(ids)
        return found

    def descendants(self, term_id: str) -> frozenset[str]:
        """The ids of ``term_id`` and of every term below it."""
        return frozenset(t.id for t in self if term_id in self.with_ancestors(t.id))

    def order(self, ids: Iterable[str]) -> tuple[str, ...]:
        """Sort ids in registration order (the canonical order of outputs)."""
        return tuple(sorted(set(ids), key=self._rank.__getitem__))


def one_of(value: str, field: str, name: Text, allowed: tuple[str, ...]) -> str:
    """``value`` if it is one of ``allowed``, else an :class:`InputError` naming ``field``: the body of
    the attrs converters of fixed-vocabulary fields (visit kind, disability cause)."""
    if value not in allowed:
        raise InputError(Text(f"{name.zh}应为 {'/'.join(allowed)}，收到 {value!r}",
                              f"{name.en} must be one of {', '.join(allowed)}, got {value!r}"),
                         field=field, value=value)
    return value
