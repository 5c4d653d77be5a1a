"""A progress bar on standard error when it is a terminal; nothing at all when it is piped."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator


def wanted(choice: bool | None) -> bool:
    """``--progress``/``--no-progress`` if given, else: is standard error a terminal?"""
    return sys.stderr.isatty() if choice is None else choice


@contextmanager
def progress(enabled: bool, total: int | None, label: str) -> Iterator[Callable[[int], None]]:
    """Yields ``advance(n)``; ``total`` in the same unit (bytes, rows), or ``None`` if unknown."""
    if not enabled:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)
