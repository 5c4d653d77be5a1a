"""What the plugin registers: the ``shuangyong dask-evaluate`` command."""

from __future__ import annotations

import click

from shuangyong import hookimpl
from shuangyong_dask.cli import dask_evaluate


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(dask_evaluate)
