"""The testing toolkit shipped with the library, for anyone who checks a policy.

- :mod:`shuangyong.testing.strategies`: hypothesis strategies (needs the ``testing`` extra).
- the engine's invariants as reusable checks (``check_visit``, ``check_monotone`` …).
- YAML test cases and their runner (``CaseRunner``, ``load_cases``: ``shuangyong test``).
- ``missing`` and ``import_or_missing``: a test's outside prerequisite, skipped on a developer's
  machine and failed in CI.

The pytest plugin (fixtures and YAML case collection) is loaded by pytest through its entry point.
``__all__`` is the public part (``docs/api.md``); the submodules are internal. Every name is
imported when first used, so that the pytest plugin and the case runner work where hypothesis
(or pytest) is not installed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # `import X as X`: re-exported for type checkers; __getattr__ imports at runtime
    from shuangyong.testing import strategies as strategies
    from shuangyong.testing.cases import (
        Case as Case,
    )
    from shuangyong.testing.cases import (
        CaseRunner as CaseRunner,
    )
    from shuangyong.testing.cases import (
        Outcome as Outcome,
    )
    from shuangyong.testing.cases import (
        case_files as case_files,
    )
    from shuangyong.testing.cases import (
        load_cases as load_cases,
    )
    from shuangyong.testing.prerequisites import import_or_missing as import_or_missing
    from shuangyong.testing.prerequisites import missing as missing
    from shuangyong.testing.properties import (
        PropertyFailure as PropertyFailure,
    )
    from shuangyong.testing.properties import (
        check_bounds as check_bounds,
    )
    from shuangyong.testing.properties import (
        check_caps as check_caps,
    )
    from shuangyong.testing.properties import (
        check_deterministic as check_deterministic,
    )
    from shuangyong.testing.properties import (
        check_in_force as check_in_force,
    )
    from shuangyong.testing.properties import (
        check_monotone as check_monotone,
    )
    from shuangyong.testing.properties import (
        check_order_independent as check_order_independent,
    )
    from shuangyong.testing.properties import (
        check_sums as check_sums,
    )
    from shuangyong.testing.properties import (
        check_visit as check_visit,
    )
    from shuangyong.testing.properties import (
        more_eligible as more_eligible,
    )

#: public name → the module it comes from ("strategies" is the module itself)
_HOMES = {
    "Case": "shuangyong.testing.cases",
    "CaseRunner": "shuangyong.testing.cases",
    "Outcome": "shuangyong.testing.cases",
    "PropertyFailure": "shuangyong.testing.properties",
    "case_files": "shuangyong.testing.cases",
    "check_bounds": "shuangyong.testing.properties",
    "check_caps": "shuangyong.testing.properties",
    "check_deterministic": "shuangyong.testing.properties",
    "check_in_force": "shuangyong.testing.properties",
    "check_monotone": "shuangyong.testing.properties",
    "check_order_independent": "shuangyong.testing.properties",
    "check_sums": "shuangyong.testing.properties",
    "check_visit": "shuangyong.testing.properties",
    "import_or_missing": "shuangyong.testing.prerequisites",
    "load_cases": "shuangyong.testing.cases",
    "missing": "shuangyong.testing.prerequisites",
    "more_eligible": "shuangyong.testing.properties",
    "strategies": "shuangyong.testing.strategies",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    """Import a public name on first use (``strategies`` needs hypothesis, ``missing`` pytest)."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'shuangyong.testing' has no attribute {name!r}")
    module = importlib.import_module(home)
    value = module if name == "strategies" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})
