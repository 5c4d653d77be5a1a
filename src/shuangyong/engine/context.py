"""What the engine knows about a visit before it looks at any line, computed once per visit."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    import datetime as dt

    from shuangyong.model.beneficiary import Beneficiary
    from shuangyong.model.registry import Registry
    from shuangyong.model.visit import Visit


def category_token(category: str) -> str:
    """The index token of a beneficiary category."""
    return "category:" + category


def credential_token(kind: str) -> str:
    """The index token of a credential kind."""
    return "credential:" + kind


@attrs.frozen(slots=True)
class VisitContext:
    """The visit's facts in the form predicates test: category closure, valid credentials, age.

    ``tokens`` are the keys of the eligibility index: only rules filed under one of them (or
    under no key) are looked at for this visit.
    """

    visit: Visit
    categories: frozenset[str]
    valid_credentials: frozenset[str]
    age: int | None
    tokens: frozenset[str]

    @property
    def date(self) -> dt.date:
        """The visit's date."""
        return self.visit.date

    @classmethod
    def of(cls, visit: Visit, registry: Registry) -> VisitContext:
        """Build the context; unknown categories or credential kinds are errors naming them."""
        patient = visit.patient
        categories: frozenset[str] = frozenset()
        for category in sorted(patient.categories):
            if category not in registry.categories:
                raise registry.categories.unknown(category, record=visit.visit_id,
                                                  field="patient.categories")
            categories |= registry.categories.with_ancestors(category)
        valid = set()
        for index, credential in enumerate(patient.credentials):
            if credential.kind not in registry.credentials:
                raise registry.credentials.unknown(credential.kind, record=visit.visit_id,
                                                   field=f"patient.credentials[{index}].kind")
            if credential.valid_on(visit.date):
                valid.add(credential.kind)
        tokens = frozenset(map(category_token, categories)) | frozenset(map(credential_token, valid))
        return cls(visit, categories, frozenset(valid), visit_age(patient, visit.date), tokens)


def visit_age(patient: Beneficiary, day: dt.date) -> int | None:
    """The patient's age on the visit's day; born after it (a typing error): no age, so no age
    condition holds, as in batch."""
    return patient.age_on(day) if patient.birth_date is None or patient.birth_date <= day else None
