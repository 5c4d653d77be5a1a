"""Bilingual text: every label, title and message a user reads carries zh and en.

Internal module: ``Text`` is public from :mod:`shuangyong` (docs/api.md).
"""

from __future__ import annotations

from typing import Literal

import attrs

Lang = Literal["zh", "en"]


@attrs.frozen(slots=True)
class Text:
    """A pair of Chinese and English strings; ``in_(lang)`` picks one."""

    zh: str
    en: str

    def in_(self, lang: Lang) -> str:
        return self.zh if lang == "zh" else self.en

    def as_dict(self) -> dict[str, str]:
        return {"zh": self.zh, "en": self.en}

    def __str__(self) -> str:
        return f"{self.zh} / {self.en}"
