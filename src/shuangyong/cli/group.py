"""The ``shuangyong`` group itself: cheap to import, so that ``shuangyong --version`` costs what
click costs, and each run imports only the command it runs.

Each subcommand lives in its own module, named in :data:`SUBCOMMANDS` and imported when the
command is looked up (click's lazily-loading group); the installed plugins are read, and their
commands added, only when a subcommand runs or the commands are listed (``--help``).
"""

from __future__ import annotations

import functools
import importlib
import os
import signal
import sys
import threading
from contextlib import suppress
from typing import TYPE_CHECKING, Any, NoReturn

import click
from typing_extensions import override

if TYPE_CHECKING:
    from shuangyong.errors import ShuangyongError
    from shuangyong.text import Lang

#: command name → "module:attribute" of the built-in commands, imported when looked up
SUBCOMMANDS = {
    "batch": "shuangyong.cli.batch:batch",
    "compliance": "shuangyong.cli.compliance:compliance",
    "evaluate": "shuangyong.cli.evaluate:evaluate",
    "explain": "shuangyong.cli.evaluate:explain",
    "generate": "shuangyong.cli.generate:generate",
    "ledger": "shuangyong.cli.ledger:ledger",
    "notice": "shuangyong.cli.notice:notice",
    "plugins": "shuangyong.cli.plugins:plugins",
    "policy": "shuangyong.cli.policy:policy",
    "test": "shuangyong.cli.test:run_cases",
    "whatif": "shuangyong.cli.whatif:whatif",
}

#: Exit statuses after a signal, as a shell reports a process the signal killed (128 + its number);
#: PIPE_CLOSED when the reader of standard output went away (``| head``), as after SIGPIPE.
INTERRUPTED, TERMINATED, PIPE_CLOSED = 128 + signal.SIGINT, 128 + signal.SIGTERM, 128 + 13  # SIGPIPE: not on Windows


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, like Ctrl-C's KeyboardInterrupt, so that the same
    clean-up runs (``writing_to`` removes its temporary file, a ledger transaction rolls back)."""


def _terminate(signum: int, frame: object) -> NoReturn:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the clean-up short
    raise Terminated


def _escaping_unencodable() -> None:
    """Standard output and error write what their encoding cannot hold (a lone surrogate, Chinese
    under PYTHONIOENCODING=ascii) as backslash escapes instead of raising UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")


class Command(click.Group):
    """The ``shuangyong`` group: Ctrl-C exits 130 and SIGTERM 143, each with one line on standard
    error instead of click's "Aborted!" and status 1, after the same clean-up as any error; a
    closed standard output (``| head``) exits 141 without a word, as a shell's own tools do."""

    def __init__(self, *args: Any, lazy_subcommands: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_subcommands = lazy_subcommands or {}
        self._plugins_added = False

    @override
    def list_commands(self, ctx: click.Context) -> list[str]:
        self.add_plugin_commands()
        return sorted({*self.commands, *self.lazy_subcommands})

    @override
    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_subcommands and cmd_name not in self.commands:
            module, attribute = self.lazy_subcommands[cmd_name].split(":")
            command = getattr(importlib.import_module(module), attribute)
            assert isinstance(command, click.Command), f"{module}:{attribute} is not a click command"
            return command
        if cmd_name not in self.commands:
            self.add_plugin_commands()
        return self.commands.get(cmd_name)

    @override
    def resolve_command(self, ctx: click.Context,
                        args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        """As click's, with every command loaded first when the name is none of them (a typo): the
        "did you mean" of click's error suggests from the commands loaded."""
        if args and self.get_command(ctx, args[0]) is None:
            for name in self.lazy_subcommands:
                command = self.get_command(ctx, name)
                assert command is not None
                self.commands.setdefault(name, command)
        return super().resolve_command(ctx, args)

    def add_plugin_commands(self) -> None:
        """Hang the installed plugins' subcommands on the group, once per run (a command added again
        is replaced) rather than when ``shuangyong.cli`` is imported: building the plugin manager
        imports the plugins, whose commands import ``shuangyong.cli``. A plugin that cannot be
        loaded makes every command exit 2 naming it: raised here, it would be a bare traceback."""
        if self._plugins_added:
            return
        self._plugins_added = True
        options = self.callback = getattr(self.callback, "__wrapped__", self.callback)  # not refusing
        from shuangyong import plugins  # here: reading the plugins is for a command that runs, not --version
        from shuangyong.errors import ShuangyongError

        try:
            plugins.add_commands(self)
        except ShuangyongError as error:
            failure = error
            assert options is not None

            @functools.wraps(options)
            def refuse(**params: Any) -> None:
                options(**params)
                _fail(failure)

            self.callback = refuse

    @override
    def main(self, *args: Any, **kwargs: Any) -> Any:
        self._plugins_added = False  # the plugins are read again at each run
        _escaping_unencodable()
        in_main_thread = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, _terminate) if in_main_thread else None
        try:
            return super().main(*args, **kwargs)
        finally:
            if in_main_thread:
                signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)

    @override
    def invoke(self, ctx: click.Context) -> Any:
        self.add_plugin_commands()
        try:
            result = super().invoke(ctx)
            sys.stdout.flush()  # a closed pipe shows here, not at exit where it could not be handled
            return result
        except BrokenPipeError:
            with suppress(OSError, ValueError):  # stdout gone: nothing more can be said there
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(PIPE_CLOSED)
        except KeyboardInterrupt as stop:
            from shuangyong.cli.base import say  # here: base imports the engine, which --version does without
            from shuangyong.text import Text

            terminated = isinstance(stop, Terminated)
            say(Text("已终止（SIGTERM）", "terminated (SIGTERM)") if terminated else Text("已中断", "interrupted"),
                err=True)
            sys.exit(TERMINATED if terminated else INTERRUPTED)


def _default_lang() -> Lang:
    """``--lang``'s default, computed only when a command runs (attrs, under ``Text``, is not
    needed for ``--version``)."""
    from shuangyong.text import default_lang  # here: see the docstring

    return default_lang()


def _fail(error: ShuangyongError) -> NoReturn:
    from shuangyong.cli.base import fail  # here: base imports the engine, which --version does without

    fail(error)


@click.group(cls=Command, lazy_subcommands=SUBCOMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--lang", type=click.Choice(["zh", "en"]), default=_default_lang, show_default="from $LANG",
              help="Language of messages, titles and tables.")
@click.version_option(package_name="shuangyong", prog_name="shuangyong")
def main(lang: str) -> None:
    """双拥医疗优待：按收费明细判断优惠并说明依据。

    Military-support medical concessions, line by line, with the rule behind each answer.
    """
