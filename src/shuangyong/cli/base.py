"""The ``shuangyong`` command. Thin: parsing options and writing output; logic lives elsewhere.

Exit status: 0 when every record got a decision, 2 for bad input or a bad policy (after writing
a decision or an error object for every record, in input order), 1 only for a bug.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, NoReturn

import click

from shuangyong import plugins
from shuangyong.engine import Engine
from shuangyong.errors import InputError, LedgerError, ShuangyongError
from shuangyong.interchange import (
    Input,
    RawRecord,
    read_records,
)
from shuangyong.ledger import Ledger
from shuangyong.model.charge_codes import ChargeCodeMap
from shuangyong.model.visit import Visit
from shuangyong.text import Lang, Text

BAD_INPUT = 2


def default_lang() -> str:
    chosen = os.environ.get("SHUANGYONG_LANG") or os.environ.get("LANG", "")
    return "zh" if chosen.lower().startswith("zh") else "en"


def lang() -> Lang:
    return click.get_current_context().find_root().params.get("lang") or "en"  # type: ignore[return-value]


def say(text: Text, *, err: bool = False) -> None:
    click.echo(text.in_(lang()), err=err)


def fail(error: ShuangyongError) -> NoReturn:
    click.echo(("错误：" if lang() == "zh" else "error: ") + error.render(lang()), err=True)
    sys.exit(BAD_INPUT)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def writing_to(path: str | None, *, binary: bool = False) -> Iterator[IO[Any]]:
    """Standard output, or a file that appears only once it is completely written.

    ``binary`` for exporters that write bytes (CSV with a BOM, spreadsheets, PDF).
    """
    if path is None or path == "-":
        yield sys.stdout.buffer if binary else sys.stdout
        if binary:
            sys.stdout.buffer.flush()
        return
    target = Path(path)
    handle = tempfile.NamedTemporaryFile("wb" if binary else "w", encoding=None if binary else "utf-8",
                                         dir=target.parent or ".", prefix=f".{target.name}.", delete=False)
    try:
        with handle:
            yield handle
        os.chmod(handle.name, 0o666 & ~_umask())  # as open() would have made it, not tempfile's 0600
        os.replace(handle.name, target)
    except BaseException:
        os.unlink(handle.name)
        raise


def check_output_target(path: str | None) -> None:
    """Exit 2 now if ``-o PATH`` cannot be written (a directory, a missing or read-only folder),
    before work that cannot be taken back — posting to the ledger — is done."""
    if path is None or path == "-":
        return
    target = Path(path)
    try:
        if target.is_dir():
            raise IsADirectoryError(21, os.strerror(21))
        tempfile.TemporaryFile(dir=target.parent).close()
    except OSError as error:
        fail(InputError(Text(f"无法写入输出文件 {path!r}：{error.strerror}；未做任何处理",
                             f"cannot write the output {path!r}: {error.strerror}; nothing was done"),
                        field="--output", value=path))


#: What ``--format`` names, per exporter subject, in error messages.
FORMAT_NOUNS = {"decisions": Text("输出格式", "output format"), "ledger": Text("账本导出格式", "ledger exporter"),
                "compliance": Text("报告格式", "report format")}


def exporter_for(subject: str, fmt: str, *, own: tuple[str, ...] = ()) -> Any:
    """The exporter named ``fmt`` for ``subject``; an unknown name exits 2 before any work,
    listing ``own`` (formats the command writes itself) and every exporter of the subject."""
    with exit_on_error():
        exporters = plugins.exporters(subject)
    if fmt not in exporters:
        known = ", ".join([*own, *sorted(exporters)])
        noun = FORMAT_NOUNS[subject]
        fail(InputError(Text(f"没有名为 {fmt!r} 的{noun.zh}（可用：{known}）",
                             f"no {noun.en} named {fmt!r} (available: {known})"), field="--format", value=fmt))
    return exporters[fmt]


@contextmanager
def exit_on_error() -> Iterator[None]:
    """A bad policy, table or input file ends the command with status 2 and a clear message."""
    try:
        yield
    except ShuangyongError as error:
        fail(error)


def open_input(source: IO[str], policies: tuple[str, ...], strict: bool,
          codes: str | None, his: str | None = None) -> tuple[Engine, ChargeCodeMap | None, Input]:
    """Compile the packs, load the charge-code table and sniff the input, or exit 2."""
    with exit_on_error():
        engine = Engine.from_packs(*policies, strict=strict, registry=plugins.registry())
        code_map = ChargeCodeMap.load(Path(codes), engine.registry.items) if codes else None
        return engine, code_map, read_records(source) if his is None else his_records(source, his)


def his_records(source: IO[str], name: str) -> Input:
    """The visits a plugin's HIS adapter reads from SOURCE's bytes (a FHIR bundle, HL7 messages).

    Read whole before any decision is written, so that a message the adapter refuses (its error
    names the resource or segment) stops the run with nothing written.
    """
    adapters = plugins.collect("register_his_adapters")
    if name not in adapters:
        known = ", ".join(sorted(adapters)) or "—"
        raise InputError(Text(f"没有名为 {name!r} 的 HIS 适配器（可用：{known}）",
                              f"no HIS adapter named {name!r} (available: {known})"), field="his", value=name)
    visits = list(adapters[name].read(getattr(source, "buffer", source)))
    return Input("array", iter([RawRecord(n, value=visit) for n, visit in enumerate(visits, 1)]))


def for_each_record(records: Iterator[RawRecord], codes: ChargeCodeMap | None,
                     handle: Callable[[Visit], Any]) -> Iterator[tuple[bool, Any, RawRecord]]:
    """Parse and handle every record; a bad record yields its error instead of stopping the run."""
    for record in records:
        try:
            yield True, handle(plugins.resolve_beneficiary(record.visit(codes))), record
        except ShuangyongError as error:
            yield False, error, record


policy_option = click.option(
    "--policy", "-p", "policies", multiple=True, metavar="NAME_OR_PATH",
    help="Policy pack by built-in name or YAML path; repeat to layer. Default: seed-example.")
strict_option = click.option("--strict", is_flag=True,
                             help="Treat item kinds no registry knows as errors.")
ledger_option = click.option(
    "--ledger", "ledger_url", envvar="SHUANGYONG_LEDGER", metavar="URL",
    help="Ledger URL: sqlite:///FILE, memory:, or a SQL server through shuangyong-sql "
         "(postgresql+psycopg://…, mysql+pymysql://…). Default: $SHUANGYONG_LEDGER.")


@contextmanager
def opened_ledger(url: str | None, *, create: bool = False) -> Iterator[Ledger]:
    """The ledger at URL, closed afterwards; no URL, one no backend takes, or (unless ``create``)
    one that does not exist yet, exits 2."""
    if not url:
        fail(LedgerError(Text("需要账本地址：--ledger URL 或环境变量 SHUANGYONG_LEDGER",
                              "a ledger is needed: --ledger URL or $SHUANGYONG_LEDGER"), field="ledger"))
    with exit_on_error():
        ledger = plugins.open_ledger(url, create=create)
    with ledger, exit_on_error():
        yield ledger
his_option = click.option("--his", metavar="NAME",
                          help="Read SOURCE with a HIS adapter a plugin adds (fhir, hl7) instead of as JSON.")
codes_option = click.option("--codes", type=click.Path(exists=True, dir_okay=False), metavar="FILE",
                            help="Charge-code → item-kind table (CSV or YAML) for lines that send a code.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--lang", type=click.Choice(["zh", "en"]), default=default_lang, show_default="from $LANG",
              help="Language of messages, titles and tables.")
@click.version_option(package_name="shuangyong", prog_name="shuangyong")
def main(lang: str) -> None:
    """双拥医疗优待：按收费明细判断优惠并说明依据。

    Military-support medical concessions, line by line, with the rule behind each answer.
    """
