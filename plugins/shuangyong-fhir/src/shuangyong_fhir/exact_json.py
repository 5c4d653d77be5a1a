"""JSON text with every ``Decimal`` written as it is (``12.00``), never through a float.

``fhir.resources`` validates resources but serialises FHIR decimals through ``float``, which is
exact only up to 15 significant digits and drops the trailing zero of ``12.00``. The writer
therefore validates the resources it builds with ``fhir.resources`` and writes the very same
data with this encoder.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any


def dumps(value: Any, indent: int = 2, level: int = 0) -> str:
    """``value`` as indented JSON, each ``Decimal`` as written; a float is refused."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float):
        raise TypeError(f"refusing to write the float {value!r}: amounts must be Decimal")
    inner, outer = "\n" + " " * (indent * (level + 1)), "\n" + " " * (indent * level)
    if isinstance(value, Mapping):
        members = [f"{json.dumps(str(k), ensure_ascii=False)}: {dumps(v, indent, level + 1)}" for k, v in value.items()]
        return "{" + inner + ("," + inner).join(members) + outer + "}" if members else "{}"
    if isinstance(value, (list, tuple)):
        items = [dumps(v, indent, level + 1) for v in value]
        return "[" + inner + ("," + inner).join(items) + outer + "]" if items else "[]"
    return json.dumps(value, ensure_ascii=False)
