"""shuangyong 双拥: military-support medical concessions, line by line, with the rule behind each.

The public surface, for embedding in a hospital information system::

    from shuangyong import Engine, visit_from_json
    decision = Engine.from_packs("seed-example").evaluate(visit_from_json(text))

The names in ``__all__`` here, in :mod:`shuangyong.testing` and in :mod:`shuangyong.plugins` are
the public API (``docs/api.md``); every other module is internal and may change. Every name is
imported when first used: ``shuangyong --version`` and a plugin's hooks module, which needs only
``hookimpl``, do not pay for the engine; the batch names need the ``batch`` extra, and an
embedding HIS that only evaluates visits does not pay for what-if or compliance.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shuangyong.batch import BatchEngine
    from shuangyong.batch.run import write_decisions
    from shuangyong.compliance.dossier import load_dossier
    from shuangyong.compliance.report import evaluate as evaluate_compliance
    from shuangyong.compliance.report import report_to_dict
    from shuangyong.compliance.standards import StandardsSet
    from shuangyong.dates import DateWindow
    from shuangyong.engine import Decision, Engine, Explanation, LineDecision
    from shuangyong.errors import (
        CaseError,
        DateError,
        InputError,
        LedgerError,
        MissingExtraError,
        MoneyError,
        PluginError,
        PolicyError,
        ShuangyongError,
        UnknownCategoryError,
        UnknownItemError,
    )
    from shuangyong.hookspecs import hookimpl
    from shuangyong.interchange import decision_to_dict, decision_to_json, visit_from_dict, visit_from_json
    from shuangyong.ledger import requests_for
    from shuangyong.ledger.posting import as_granted
    from shuangyong.model import Beneficiary, ChargeCodeMap, ChargeLine, Credential, Registry, Term, Visit
    from shuangyong.policy import PolicySet
    from shuangyong.text import Text
    from shuangyong.whatif import Comparison, compare

#: public name → (module, name there), imported on first use
_LAZY = {
    "BatchEngine": ("shuangyong.batch", "BatchEngine"),
    "Comparison": ("shuangyong.whatif", "Comparison"),
    "DateWindow": ("shuangyong.dates", "DateWindow"),
    "StandardsSet": ("shuangyong.compliance.standards", "StandardsSet"),
    "as_granted": ("shuangyong.ledger.posting", "as_granted"),
    "compare": ("shuangyong.whatif", "compare"),
    "evaluate_compliance": ("shuangyong.compliance.report", "evaluate"),
    "hookimpl": ("shuangyong.hookspecs", "hookimpl"),
    "load_dossier": ("shuangyong.compliance.dossier", "load_dossier"),
    "report_to_dict": ("shuangyong.compliance.report", "report_to_dict"),
    "requests_for": ("shuangyong.ledger", "requests_for"),
    "write_decisions": ("shuangyong.batch.run", "write_decisions"),
    **{name: ("shuangyong.engine", name) for name in ("Decision", "Engine", "Explanation", "LineDecision")},
    **{name: ("shuangyong.errors", name) for name in (
        "CaseError", "DateError", "InputError", "LedgerError", "MissingExtraError", "MoneyError", "PluginError",
        "PolicyError", "ShuangyongError", "UnknownCategoryError", "UnknownItemError")},
    **{name: ("shuangyong.interchange", name) for name in (
        "decision_to_dict", "decision_to_json", "visit_from_dict", "visit_from_json")},
    **{name: ("shuangyong.model", name) for name in (
        "Beneficiary", "ChargeCodeMap", "ChargeLine", "Credential", "Registry", "Term", "Visit")},
    "PolicySet": ("shuangyong.policy", "PolicySet"),
    "Text": ("shuangyong.text", "Text"),
}

__all__ = [
    "BatchEngine",
    "Beneficiary",
    "CaseError",
    "ChargeCodeMap",
    "ChargeLine",
    "Comparison",
    "Credential",
    "DateError",
    "DateWindow",
    "Decision",
    "Engine",
    "Explanation",
    "InputError",
    "LedgerError",
    "LineDecision",
    "MissingExtraError",
    "MoneyError",
    "PluginError",
    "PolicyError",
    "PolicySet",
    "Registry",
    "ShuangyongError",
    "StandardsSet",
    "Term",
    "Text",
    "UnknownCategoryError",
    "UnknownItemError",
    "Visit",
    "as_granted",
    "compare",
    "decision_to_dict",
    "decision_to_json",
    "evaluate_compliance",
    "hookimpl",
    "load_dossier",
    "report_to_dict",
    "requests_for",
    "visit_from_dict",
    "visit_from_json",
    "write_decisions",
]


def __getattr__(name: str) -> Any:
    """The lazy names, imported on first use (a missing ``batch`` extra is a
    :class:`MissingExtraError` naming it); ``__version__`` from the installed metadata."""
    if name in _LAZY:
        module, attribute = _LAZY[name]
        value = getattr(importlib.import_module(module), attribute)
        globals()[name] = value
        return value
    if name == "__version__":
        from importlib.metadata import version

        return version("shuangyong")
    raise AttributeError(f"module 'shuangyong' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
