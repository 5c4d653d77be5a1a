"""Bilingual text: every label, title and message a user reads carries zh and en.

Internal module: ``Text`` is public from :mod:`shuangyong` (docs/api.md).
"""

from __future__ import annotations

import os
from typing import Literal

import attrs

Lang = Literal["zh", "en"]


def default_lang() -> Lang:
    """$SHUANGYONG_LANG, then $LANG: the language of a user who chose none (the command line's
    ``--lang`` default, and the pytest plugin's)."""
    chosen = os.environ.get("SHUANGYONG_LANG") or os.environ.get("LANG", "")
    return "zh" if chosen.lower().startswith("zh") else "en"


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
