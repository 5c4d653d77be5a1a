"""Bilingual text: every label, title and message a user reads carries zh and en."""

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
        """The text in ``lang``."""
        return self.zh if lang == "zh" else self.en

    def as_dict(self) -> dict[str, str]:
        """``{"zh": …, "en": …}``."""
        return {"zh": self.zh, "en": self.en}

    def __str__(self) -> str:
        return f"{self.zh} / {self.en}"
