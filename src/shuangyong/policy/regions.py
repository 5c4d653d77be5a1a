"""GB/T 2260 region codes as prefixes: ``450000`` (广西) covers ``450100`` (南宁)."""

from __future__ import annotations

import re

_CODE = re.compile(r"[0-9]{2}|[0-9]{4}|[0-9]{6}")
EVERYWHERE = "*"


def region_prefix(code: str) -> str:
    """The prefix a scope stands for: trailing ``00`` pairs dropped; ``"*"`` → ``""`` (everywhere).

    Raises ``ValueError`` for anything that is not 2, 4 or 6 digits or ``*``.
    """
    if code == EVERYWHERE:
        return ""
    if not _CODE.fullmatch(code):
        raise ValueError(f"a region is '*' or a GB/T 2260 code of 2, 4 or 6 digits, got {code!r}")
    while len(code) > 2 and code.endswith("00"):
        code = code[:-2]
    return code
