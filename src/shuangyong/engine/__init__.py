"""The concession engine: compile a policy set once, then evaluate and explain visits.

Internal: ``Engine``, ``Decision``, ``LineDecision`` and ``Explanation`` are public from
:mod:`shuangyong` (docs/api.md); import them from there.
"""

from shuangyong.engine.decision import (
    Applied,
    Decision,
    Entitlement,
    Explanation,
    LineDecision,
    LineTrace,
    RuleTrace,
    Totals,
)
from shuangyong.engine.evaluate import DEFAULT_PACKS, Engine

__all__ = ["DEFAULT_PACKS", "Applied", "Decision", "Engine", "Entitlement", "Explanation",
           "LineDecision", "LineTrace", "RuleTrace", "Totals"]
