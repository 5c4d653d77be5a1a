"""The ``shuangyong`` command: one module per command group, all hung on :data:`main`.

Exit status: 0 when every record got a decision, 2 for bad input or a bad policy (after writing
a decision or an error object for every record, in input order), 1 only for a bug.
The installed plugins' subcommands are added when ``main`` first runs
(``Command.add_plugin_commands``).
"""

from shuangyong.cli import batch, compliance, evaluate, generate, ledger, plugins, policy, test, whatif  # noqa: F401  (importing registers the commands)
from shuangyong.cli.base import main

__all__ = ["main"]
