"""Check kinds: how a standard's ``check:`` turns a dossier into dated requirements.

A check kind never decides met or missing itself. It lists :class:`Requirement`\\ s (a window
in which something must happen, a due date, how many are needed, which records were found), and
:mod:`shuangyong.compliance.report` turns them into a status and a score the same way for every
kind. That keeps the rules of scoring in one place and makes a new kind small: a name, an
options model (pydantic, so a pack's typo is an error at its line) and ``requirements()``.
Plugins add kinds through the ``register_check_kinds`` hook.

``base`` holds what every kind builds on (options, selectors, requirements, the context a check
reads); ``kinds`` the ten built-in kinds. The names below are the ones a plugin's kind needs.
"""

from shuangyong.compliance.checks.base import (
    CheckKind,
    Context,
    MonthDay,
    Options,
    Requirement,
    Selector,
    Window,
    on,
)
from shuangyong.compliance.checks.kinds import BUILTIN_CHECK_KINDS

__all__ = ["BUILTIN_CHECK_KINDS", "CheckKind", "Context", "MonthDay", "Options", "Requirement", "Selector",
           "Window", "on"]
