"""The ``shuangyong`` command: one module per command or command group, each imported when it runs.

Exit status: 0 when every record got a decision, 2 for bad input or a bad policy (after writing
a decision or an error object for every record, in input order), 1 only for a bug.
The group (:mod:`shuangyong.cli.group`) imports no command until it is looked up, and adds the
installed plugins' subcommands when a command runs or the commands are listed
(``Command.add_plugin_commands``).
"""

from shuangyong.cli.group import main

__all__ = ["main"]
