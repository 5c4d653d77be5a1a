"""What the plugin registers: the ``shuangyong dask-evaluate`` command."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shuangyong import hookimpl
from shuangyong_dask.cli import dask_evaluate

if TYPE_CHECKING:
    import click


@hookimpl
def register_commands(cli: click.Group) -> None:
    """Add ``shuangyong dask-evaluate``."""
    cli.add_command(dask_evaluate)
