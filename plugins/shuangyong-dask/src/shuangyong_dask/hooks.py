"""What the plugin registers: the ``shuangyong dask-evaluate`` command."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shuangyong import hookimpl

if TYPE_CHECKING:
    import click


@hookimpl
def register_commands(cli: click.Group) -> None:
    """Add ``shuangyong dask-evaluate``."""
    from shuangyong_dask.cli import dask_evaluate  # here: it imports shuangyong.cli, which only the command line needs

    cli.add_command(dask_evaluate)
