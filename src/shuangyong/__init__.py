"""shuangyong 双拥: military-support medical concessions, line by line, with the rule behind each.

The public surface, for embedding in a hospital information system::

    from shuangyong import Engine, visit_from_json
    decision = Engine.from_packs("seed-example").evaluate(visit_from_json(text))
"""

from __future__ import annotations

from typing import Any

from shuangyong.engine import Decision, Engine, Explanation, LineDecision
from shuangyong.errors import (
    DateError,
    InputError,
    LedgerError,
    MoneyError,
    PluginError,
    PolicyError,
    ShuangyongError,
    UnknownCategoryError,
    UnknownItemError,
)
from shuangyong.hookspecs import hookimpl
from shuangyong.interchange import (
    decision_to_dict,
    decision_to_json,
    visit_from_dict,
    visit_from_json,
)
from shuangyong.model import Beneficiary, ChargeCodeMap, ChargeLine, Credential, Registry, Visit
from shuangyong.policy import PolicySet

__all__ = [
    "Beneficiary",
    "ChargeCodeMap",
    "ChargeLine",
    "Credential",
    "DateError",
    "Decision",
    "Engine",
    "Explanation",
    "InputError",
    "LedgerError",
    "LineDecision",
    "MoneyError",
    "PluginError",
    "PolicyError",
    "PolicySet",
    "Registry",
    "ShuangyongError",
    "UnknownCategoryError",
    "UnknownItemError",
    "Visit",
    "decision_to_dict",
    "decision_to_json",
    "hookimpl",
    "visit_from_dict",
    "visit_from_json",
]


def __getattr__(name: str) -> Any:
    """``__version__`` comes from the installed metadata, read only when asked for."""
    if name == "__version__":
        from importlib.metadata import version

        return version("shuangyong")
    raise AttributeError(f"module 'shuangyong' has no attribute {name!r}")
