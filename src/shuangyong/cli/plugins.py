"""``shuangyong plugins``: what loaded, its version and the hooks it implements."""

from __future__ import annotations

import json

import attrs
import click

from shuangyong import plugins as plugin_system
from shuangyong.cli.base import exit_on_error
from shuangyong.render import table


@click.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def plugins(fmt: str) -> None:
    """List the plugins that loaded (built-in ones first) with versions and hooks."""
    with exit_on_error():
        infos = plugin_system.plugin_infos()
    if fmt == "json":
        click.echo(json.dumps([attrs.asdict(info) for info in infos], ensure_ascii=False, indent=2))
        return
    rows = [["plugin", "version", "hooks"]]
    rows += [[info.name, info.version or "—", ", ".join(info.hooks)] for info in infos]
    click.echo("\n".join(table(rows, right=set())))
