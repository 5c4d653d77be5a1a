"""Tests that need something outside the repository: skipped on a developer's machine that lacks
it, failed in CI, where a skip would hide a broken set-up behind a green run.

CI is any non-empty ``CI`` other than ``0``, ``false``, ``no`` or ``off`` (any case): services
set it to ``true``, ``1``, ``yes`` and more, and every one of them means "this is CI". Every test
package imports :func:`missing` and :func:`import_or_missing` from here, so the rule is written once.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, NoReturn

import pytest

if TYPE_CHECKING:
    from collections.abc import Mapping
    from types import ModuleType

#: values of ``CI`` that mean "not CI" (compared stripped and lower-cased); unset means the same
NOT_CI = frozenset({"", "0", "false", "no", "off"})


def in_ci(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the tests run in CI, from the ``CI`` environment variable."""
    value = (os.environ if environ is None else environ).get("CI", "")
    return value.strip().lower() not in NOT_CI


def missing(message: str) -> NoReturn:
    """A prerequisite of this test is absent: fail in CI, skip elsewhere."""
    if in_ci():
        pytest.fail(f"{message} (CI={os.environ['CI']!r}: this prerequisite must be present in CI)",
                    pytrace=False)
    pytest.skip(message)


def import_or_missing(name: str) -> ModuleType:
    """``pytest.importorskip`` that fails in CI."""
    try:
        return importlib.import_module(name)
    except ImportError as error:
        missing(f"{name} cannot be imported: {error}")
