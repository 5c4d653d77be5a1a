"""The ``shuangyong`` command: one module per command group, all hung on :data:`main`.

Exit status: 0 when every record got a decision, 2 for bad input or a bad policy (after writing
a decision or an error object for every record, in input order), 1 only for a bug.
"""

from typing import Any

from shuangyong import plugins as _plugin_system
from shuangyong.cli import batch, compliance, evaluate, generate, ledger, plugins, policy, test, whatif  # noqa: F401  (importing registers the commands)
from shuangyong.cli.base import fail, main
from shuangyong.errors import ShuangyongError


def add_plugin_commands() -> None:
    """Hang the plugins' subcommands on :data:`main`. A plugin that cannot be loaded makes every
    command exit 2 naming it: raised here, at import, it would be a bare traceback."""
    try:
        _plugin_system.add_commands(main)
    except ShuangyongError as error:
        failure, options = error, main.callback
        assert options is not None

        def refuse(**params: Any) -> None:
            options(**params)
            fail(failure)

        main.callback = refuse


add_plugin_commands()

__all__ = ["main"]
