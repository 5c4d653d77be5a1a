"""Units (a hospital, a garrison unit) and the pairings (结对共建) between them."""

from __future__ import annotations

import attrs

from shuangyong.dates import DateWindow

UNIT_KINDS = ("hospital", "health_bureau", "military_unit")


@attrs.frozen(slots=True)
class Unit:
    """An organisation that keeps 双拥 records or is paired with one."""

    id: str
    name: str
    kind: str = attrs.field(validator=attrs.validators.in_(UNIT_KINDS))
    region: str | None = None


@attrs.frozen(slots=True)
class Pairing:
    """A 结对共建 agreement between a civilian unit and a military one, for a window of days."""

    civilian_unit: str
    military_unit: str
    validity: DateWindow = DateWindow()
