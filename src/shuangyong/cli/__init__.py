"""The ``shuangyong`` command: one module per command group, all hung on :data:`main`.

Exit status: 0 when every record got a decision, 2 for bad input or a bad policy (after writing
a decision or an error object for every record, in input order), 1 only for a bug.
"""

from shuangyong.cli import evaluate, policy  # noqa: F401  (importing a module registers its commands)
from shuangyong.cli.base import main

__all__ = ["main"]
