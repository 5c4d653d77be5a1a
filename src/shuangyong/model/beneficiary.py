"""Beneficiaries, their categories and their credentials."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from shuangyong.dates import DateWindow
from shuangyong.errors import InputError
from shuangyong.model.registry import DISABILITY_CAUSES
from shuangyong.model.vocabulary import one_of
from shuangyong.text import Text

if TYPE_CHECKING:
    import datetime as dt

DISABILITY_LEVELS = range(1, 11)  #: 1 is the most severe (条例2024 §26)
_CAUSES = tuple(row[0] for row in DISABILITY_CAUSES)
_CAUSE = Text("致残原因", "disability cause")


def _cause(value: str | None) -> str | None:
    return None if value is None else one_of(value, "disability_cause", _CAUSE, _CAUSES)


@attrs.frozen(slots=True)
class Credential:
    """A card or certificate (e.g. 重点优抚对象医疗证) valid from and to a day, both included."""

    kind: str
    number: str
    validity: DateWindow = DateWindow()

    def valid_on(self, day: dt.date) -> bool:
        """Whether the credential is valid on ``day`` (both ends of its validity included)."""
        return self.validity.contains(day)


def _level(value: int | None) -> int | None:
    if value is not None and (type(value) is not int or value not in DISABILITY_LEVELS):
        raise InputError(Text(f"伤残等级应为 1–10 级，收到 {value!r}",
                              f"disability level must be 1 to 10, got {value!r}"),
                         field="disability_level", value=value)
    return value


@attrs.frozen(slots=True)
class Beneficiary:
    """A patient as the policy sees them: who they are, not what they were charged.

    ``categories`` are ids of the category vocabulary; the engine checks them against its
    registry, so that a plugin's categories are accepted once registered.
    """

    id: str
    categories: frozenset[str] = frozenset()
    credentials: tuple[Credential, ...] = ()
    disability_level: int | None = attrs.field(default=None, converter=_level)
    disability_cause: str | None = attrs.field(default=None, converter=_cause)
    birth_date: dt.date | None = None
    name: str | None = None

    def age_on(self, day: dt.date) -> int | None:
        """Whole years of age on ``day`` (a birthday counts from the day itself)."""
        if self.birth_date is None:
            return None
        before_birthday = (day.month, day.day) < (self.birth_date.month, self.birth_date.day)
        return day.year - self.birth_date.year - before_birthday
