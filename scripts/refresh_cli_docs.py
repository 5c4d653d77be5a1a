"""Rewrite the --help blocks of docs/cli.md from the installed command (run after changing the CLI).

Each command has a section headed ``## `shuangyong NAME` `` whose first ``text`` block is its
``--help``; a command without a section gets one appended. ``tests/test_docs.py`` fails when a
block is stale or a command has no section, and names this script.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click

CLI_DOC = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def command_paths(group: click.Group | None = None, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command and subcommand of ``shuangyong`` itself, parents first."""
    if group is None:
        from shuangyong.cli import main

        group = main
        yield ()
    context = click.Context(group)
    for name in group.list_commands(context):  # the group loads its commands lazily: ask it, not .commands
        command = group.get_command(context, name)
        assert command is not None
        if not getattr(command.callback, "__module__", "").startswith("shuangyong.cli"):
            continue  # added by an installed plugin: documented with the plugin
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from command_paths(command, (*prefix, name))


def help_text(path: tuple[str, ...]) -> str:
    """The --help text at 80 columns in the C locale, as a reader's terminal shows it."""
    script = Path(sys.executable).parent / "shuangyong"
    env = {**os.environ, "COLUMNS": "80", "LANG": "C.UTF-8"}
    env.pop("SHUANGYONG_LANG", None)
    env["SHUANGYONG_LOAD_PLUGINS"] = ""  # the reference documents the library, not local plugins
    return subprocess.run([str(script), *path, "--help"], capture_output=True, text=True, check=True,
                          env=env).stdout.rstrip()


def heading(path: tuple[str, ...]) -> str:
    return "## `" + " ".join(("shuangyong", *path)) + "`"


def refresh(text: str) -> str:
    for path in command_paths():
        block = f"```text\n{help_text(path)}\n```"
        title = heading(path)
        start = text.find(title + "\n")
        if start < 0:
            text = text.rstrip() + f"\n\n{title}\n\n{block}\n"
            continue
        match = re.compile(r"```text\n.*?\n```", re.S).search(text, start)
        assert match is not None
        text = text[:match.start()] + block + text[match.end():]
    return text


if __name__ == "__main__":
    CLI_DOC.write_text(refresh(CLI_DOC.read_text(encoding="utf-8")), encoding="utf-8")
