"""Which beneficiary category (优抚对象类别) a posting records, for the monthly 台帐 by category.

A 双拥 office counts each concession once, under one category, so that the categories of a month
add up to its total. A posting is one rule's share of one line, so it records **the category the
rule's grant is for**, chosen deterministically from the beneficiary's categories:

1. those the rule's condition names (a category it names, or one below it: a rule for ``key_care``
   is for a ``disabled_veteran``); all of them when the rule names none of the beneficiary's (a
   rule by credential, or by a category only under ``not``);
2. of those, the most specific: a category with another of them below it is dropped (a patient
   listed as ``key_care`` and ``disabled_veteran`` is counted as ``disabled_veteran``);
3. of those, the first in the registry's order (the canonical order of outputs); ids the
   registry does not know come after, by id.

Categories carry no validity dates in the model (the dates are on credentials, which the rule's
condition checks), so every category the visit's beneficiary lists counts. A beneficiary with no
category records :data:`NO_CATEGORY`; a row posted before categories were recorded, or from a
request that names none, has :data:`UNRECORDED`. Neither is a guess.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from shuangyong.model.registry import Registry
from shuangyong.text import Text

if TYPE_CHECKING:
    from collections.abc import Iterable

    from shuangyong.model.vocabulary import Vocabulary
    from shuangyong.policy.schema import When

#: what rows posted before categories were recorded hold (the column's default; left out of the hash)
UNRECORDED = ""
#: what a posting records when the visit's beneficiary has no category
NO_CATEGORY = "none"
#: how the two values that are no category id are shown
CATEGORY_LABELS: dict[str, Text] = {
    UNRECORDED: Text("（未记录类别）", "(category not recorded)"),
    NO_CATEGORY: Text("无优抚类别", "No beneficiary category"),
}


@cache
def builtin_categories() -> Vocabulary:
    """The built-in categories, for callers that give no registry (built once: never changed here)."""
    return Registry.builtin().categories


def named_categories(when: When | None) -> frozenset[str]:
    """The category ids a condition asks for: under ``category``, ``all`` and ``any``, not under
    ``not`` (a rule for everyone but servicemen is not for servicemen)."""
    if when is None:
        return frozenset()
    found = set(when.category or ())
    for child in (*(when.all or ()), *(when.any or ())):
        found |= named_categories(child)
    return frozenset(found)


def posting_category(categories: Iterable[str], named: frozenset[str], vocabulary: Vocabulary) -> str:
    """The one category a posting records (module docstring), independent of the order the
    beneficiary's categories come in."""
    listed = frozenset(categories)
    if not listed:
        return NO_CATEGORY

    def lineage(category: str) -> frozenset[str]:
        return vocabulary.with_ancestors(category) if category in vocabulary else frozenset({category})

    chosen = frozenset(c for c in listed if not named.isdisjoint(lineage(c))) or listed
    specific = [c for c in chosen if not any(c != other and c in lineage(other) for other in chosen)]
    known = [c for c in specific if c in vocabulary]
    return vocabulary.order(known)[0] if known else min(specific)
