"""Business dates and inclusive date windows.

Internal module: ``DateWindow`` is public from :mod:`shuangyong` (docs/api.md).
"""

from __future__ import annotations

import datetime as dt
import re

import attrs

from shuangyong.errors import DateError
from shuangyong.text import Text

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_date(value: object, *, record: str | None = None, field: str = "date") -> dt.date:
    """Read an ISO date (``YYYY-MM-DD``); refuse datetimes, other formats and impossible days."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise DateError(Text(f"日期 {value!r} 格式应为 YYYY-MM-DD", f"date {value!r} must be YYYY-MM-DD"),
                        record=record, field=field, value=value)
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise DateError(Text(f"日期 {value} 不存在", f"date {value} is impossible (no such day)"),
                        record=record, field=field, value=value) from None


@attrs.frozen(slots=True)
class DateWindow:
    """From ``start`` to ``end``, both days included; ``None`` leaves that side open."""

    start: dt.date | None = None
    end: dt.date | None = None

    def __attrs_post_init__(self) -> None:
        if self.start is not None and self.end is not None and self.end < self.start:
            raise DateError(Text(f"结束日期 {self.end} 早于开始日期 {self.start}",
                                 f"end date {self.end} is before start date {self.start}"),
                            field="valid_to", value=self.end)

    def __str__(self) -> str:
        """``2024-01-01 – 2025-03-01``; an open end shows as ``…``."""
        return f"{self.start or '…'} – {self.end or '…'}"

    def contains(self, day: dt.date) -> bool:
        """Whether ``day`` lies in the window, both ends included."""
        return (self.start is None or self.start <= day) and (self.end is None or day <= self.end)
