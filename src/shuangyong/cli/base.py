"""What the commands share: options, atomic output, errors to exit status 2. Thin: parsing
options and writing output; logic lives elsewhere.

Exit status: 0 when every record got a decision, 2 for bad input or a bad policy (after writing
a decision or an error object for every record, in input order), 1 only for a bug.
"""

from __future__ import annotations

import errno
import inspect
import os
import sys
import tempfile
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn, TypeVar

import attrs
import click
from typing_extensions import override

from shuangyong import plugins
from shuangyong.engine import Engine
from shuangyong.errors import InputError, LedgerError, OutputError, ShuangyongError
from shuangyong.interchange.framing import Handled, Input, RawRecord, Refused, read_records
from shuangyong.interchange.insurance import strict_payers
from shuangyong.ledger import Ledger
from shuangyong.limits import ENCODINGS
from shuangyong.model.charge_codes import ChargeCodeMap
from shuangyong.model.visit import Visit
from shuangyong.render import visible
from shuangyong.text import Lang, Text

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    from shuangyong.interchange.framing import Outcome
    from shuangyong.ledger import Ledger
    from shuangyong.model.visit import Visit
    from shuangyong.model.vocabulary import Vocabulary

BAD_INPUT = 2


def lang() -> Lang:
    """The language of messages: ``--lang``, else English."""
    return click.get_current_context().find_root().params.get("lang") or "en"


def say(text: Text, *, err: bool = False) -> None:
    """Print ``text`` in the chosen language."""
    click.echo(text.in_(lang()), err=err)


def fail(error: ShuangyongError) -> NoReturn:
    """Print the error (its control characters shown, not obeyed) and exit 2."""
    message = "\n".join(visible(line) for line in error.render(lang()).split("\n"))  # an id's ESC does not act
    click.echo(("错误：" if lang() == "zh" else "error: ") + message, err=True)
    sys.exit(BAD_INPUT)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: Why an output cannot be written, in Chinese, by errno (the English is the system's own text).
_WHY_ZH = {errno.ENOSPC: "磁盘已满", errno.EDQUOT: "超出磁盘配额", errno.EFBIG: "文件过大",
           errno.EACCES: "没有写入权限", errno.EPERM: "没有写入权限", errno.EROFS: "只读文件系统",
           errno.ENOENT: "目录不存在", errno.ENOTDIR: "路径中有一段不是目录", errno.EISDIR: "是一个目录"}


def _cannot_write(path: str, why: Text) -> OutputError:
    return OutputError(Text(f"无法写入 {path!r}：{why.zh}", f"cannot write {path!r}: {why.en}"),
                       field="--output", value=path)


def _os_failure(path: str, error: OSError) -> OutputError:
    """An OSError while writing PATH as an error naming it and the reason, in zh and en."""
    reason = error.strerror or str(error)
    return _cannot_write(path, Text(_WHY_ZH.get(error.errno or 0, reason), reason))


def check_output_target(path: str | None) -> Path | None:
    """The file ``-o PATH`` will write (a symlink's final target), or exit 2 naming PATH and why.

    None for standard output. Called before any work is done (``evaluate --post`` calls it before
    posting) so that an output that cannot be written costs nothing: an empty path, a directory, a
    FIFO, device or socket (replacing it would lose it), a missing directory, or one this process
    cannot create a file in (probed by creating and removing one: permissions, a read-only mount).
    """
    if path is None or path == "-":
        return None
    if not path:
        fail(_cannot_write(path, Text("路径为空", "the path is empty")))
    target = Path(os.path.realpath(path))
    try:
        if target.is_dir():
            fail(_cannot_write(path, Text("这是一个目录", "it is a directory")))
        if target.exists() and not target.is_file():
            fail(_cannot_write(path, Text("不是普通文件（管道、设备或套接字）；请改用标准输出",
                                          "it is not a regular file (a FIFO, device or socket); use standard output")))
        if not target.parent.is_dir():
            fail(_cannot_write(path, Text(f"目录 {str(target.parent)!r} 不存在",
                                          f"the directory {str(target.parent)!r} does not exist")))
        handle, probe = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        fail(_os_failure(path, error))
    return target


class _Output:
    """The temporary file being written, whose write failures (a full disk) name the target."""

    def __init__(self, handle: IO[Any], path: str) -> None:
        self._handle, self._path = handle, path

    def write(self, data: Any) -> int:
        try:
            return self._handle.write(data)
        except OSError as error:
            raise _os_failure(self._path, error) from None

    def close(self) -> None:
        try:
            self._handle.close()
        except OSError as error:
            raise _os_failure(self._path, error) from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)


@contextmanager
def writing_to(path: str | None, *, binary: bool = False) -> Iterator[IO[Any]]:
    """Standard output, or a file that appears only once it is completely written.

    ``binary`` for exporters that write bytes (CSV with a BOM, spreadsheets, PDF). The target is
    checked first (:func:`check_output_target`); a symlink is written through (the link stays,
    its target is replaced). A failure while writing (a full disk) exits 2 naming the file; then,
    as on any other error, Ctrl-C or SIGTERM, the temporary file is removed and an existing
    target is left as it was. Text is written as UTF-8; what UTF-8 cannot hold (a lone
    surrogate) is written as a backslash escape rather than stopping the run.
    """
    if path is None or path == "-":
        yield sys.stdout.buffer if binary else sys.stdout
        if binary:
            sys.stdout.buffer.flush()
        return
    target = check_output_target(path)
    assert target is not None
    try:
        handle = tempfile.NamedTemporaryFile("wb" if binary else "w", encoding=None if binary else "utf-8",
                                             errors=None if binary else "backslashreplace",
                                             dir=target.parent, prefix=f".{target.name}.", delete=False)
    except OSError as error:
        fail(_os_failure(path, error))
    out = _Output(handle, path)
    try:
        try:
            yield out  # type: ignore[misc]
            out.close()  # the last buffered bytes: a full disk often shows only here
        finally:
            with suppress(OSError):  # closed already, or the flush failing again: the error is on its way
                handle.close()
        try:
            os.chmod(handle.name, 0o666 & ~_umask())  # as open() would have made it, not tempfile's 0600
            os.replace(handle.name, target)
        except OSError as error:
            raise _os_failure(path, error) from None
    except BaseException as error:
        with suppress(FileNotFoundError):
            os.unlink(handle.name)
        if isinstance(error, OutputError):
            fail(error)
        raise


#: What ``--format`` names, per exporter subject, in error messages.
FORMAT_NOUNS = {"decisions": Text("输出格式", "output format"), "ledger": Text("账本导出格式", "ledger exporter"),
                "compliance": Text("报告格式", "report format"), "notice": Text("公示格式", "notice format"),
                "ledger_report": Text("台帐月报格式", "monthly ledger report format")}


def exporter_named(subject: str, fmt: str, *, own: tuple[str, ...] = (), field: str = "--format") -> Any:
    """The exporter named ``fmt`` for ``subject``; an unknown name is an ``InputError`` naming
    ``field`` and listing ``own`` (formats the caller writes itself) and every exporter of the
    subject: the words the command line exits with and the HTTP server answers 422 with."""
    exporters = plugins.exporters(subject)
    if fmt not in exporters:
        known = ", ".join([*own, *sorted(exporters)])
        noun = FORMAT_NOUNS[subject]
        raise InputError(Text(f"没有名为 {fmt!r} 的{noun.zh}（可用：{known}）",
                              f"no {noun.en} named {fmt!r} (available: {known})"), field=field, value=fmt)
    return exporters[fmt]


def exporter_for(subject: str, fmt: str, *, own: tuple[str, ...] = ()) -> Any:
    """:func:`exporter_named`, or exit 2 before any work."""
    with exit_on_error():
        return exporter_named(subject, fmt, own=own)


@contextmanager
def exit_on_error() -> Iterator[None]:
    """A bad policy, table or input file ends the command with status 2 and a clear message."""
    try:
        yield
    except ShuangyongError as error:
        fail(error)


def open_input(source: IO[bytes], policies: tuple[str, ...], strict: bool, codes: str | None,
               his: str | None = None, encoding: str = "utf-8",
               region: str | None = None) -> tuple[Engine, ChargeCodeMap | None, Input]:
    """Compile the packs, load the charge-code table and sniff the input, or exit 2."""
    with exit_on_error():
        if region is not None and his is None:
            raise InputError(Text("--region 只用于 --his（HIS 消息的默认地区）",
                                  "--region goes with --his (the region of HIS messages that name none)"),
                             field="--region", value=region)
        engine = Engine.from_packs(*policies, strict=strict, registry=plugins.registry())
        code_map = ChargeCodeMap.load(Path(codes), engine.registry.items) if codes else None
        if his is None:
            return engine, code_map, read_records(source, encoding)
        return engine, code_map, his_records(source, his, region, unmapped=None if strict else code_map or {})


def his_records(source: IO[bytes], name: str, region: str | None = None,
                unmapped: ChargeCodeMap | Mapping[str, str] | None = None) -> Input:
    """The visits a plugin's HIS adapter reads from SOURCE's bytes (a FHIR bundle, HL7 messages).

    Read whole before any decision is written. An adapter with ``read_each`` (HL7, FHIR) yields a
    message or visit it refuses as its error, in its place: that record is reported (exit 2) and
    the others are still decided. With ``read`` alone a refused input stops the run, nothing written.
    ``region`` (``--region``) is passed as the keyword ``region=`` only when given, so that an
    adapter written before the keyword existed keeps working without it. With ``unmapped`` (the
    charge-code table, outside strict mode) a hospital charge code the table does not map is
    decided as an item kind of its own, which no rule covers, rather than refusing the visit.
    """
    adapters = plugins.collect("register_his_adapters")
    if name not in adapters:
        known = ", ".join(sorted(adapters)) or "—"
        raise InputError(Text(f"没有名为 {name!r} 的 HIS 适配器（可用：{known}）",
                              f"no HIS adapter named {name!r} (available: {known})"), field="his", value=name)
    adapter = adapters[name]
    read = getattr(adapter, "read_each", adapter.read)
    options = {} if region is None else {"region": region}
    if region is not None and not _takes(read, "region"):
        raise InputError(Text(f"HIS 适配器 {name!r} 不接受 --region",
                              f"the HIS adapter {name!r} does not take --region"), field="--region", value=region)
    visits = list(read(getattr(source, "buffer", source), **options))
    if unmapped is not None:
        for visit in visits:
            if not isinstance(visit, ShuangyongError):
                unmapped_codes_as_items(visit, unmapped)
    return Input("array", iter([RefusedRecord(n, error=visit) if isinstance(visit, ShuangyongError)
                                else RawRecord(n, value=visit) for n, visit in enumerate(visits, 1)]))


def unmapped_codes_as_items(visit: Mapping[str, Any], codes: ChargeCodeMap | Mapping[str, str]) -> None:
    """Give each line that has only a hospital charge code CODES does not know the code as its
    item kind: decided with no concession, and ``explain`` says no rule covers it."""
    for line in visit.get("lines") or ():
        if isinstance(line, dict) and line.get("code") and not line.get("item") and "fee_category" not in line \
                and line["code"] not in codes:
            line["item"] = line["code"]


def _takes(function: Callable[..., Any], keyword: str) -> bool:
    """Whether FUNCTION accepts the keyword argument KEYWORD (by name, or through ``**kwargs``)."""
    parameters = inspect.signature(function).parameters.values()
    return any((p.name == keyword and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)) or p.kind == p.VAR_KEYWORD
               for p in parameters)


@attrs.frozen(slots=True)
class RefusedRecord(RawRecord):
    """A record the HIS adapter could not read: handling it raises the adapter's error, so that it
    is reported in its place like any bad record."""

    error: ShuangyongError | None = None

    @override
    def visit(self, codes: ChargeCodeMap | None = None, payers: Vocabulary | None = None) -> Visit:
        assert self.error is not None
        raise self.error

    @override
    def visit_id(self) -> str | None:
        return None


T = TypeVar("T")


def for_each_record(records: Iterator[RawRecord], codes: ChargeCodeMap | None,
                    handle: Callable[[Visit], T], engine: Engine) -> Iterator[Outcome[T]]:
    """Parse and handle every record; a bad record yields its error instead of stopping the run.
    In the engine's strict mode, an insurance fund its registry does not know is an error."""
    payers = strict_payers(engine.registry, strict=engine.strict)
    for record in records:
        try:
            yield Handled(record, handle(plugins.resolve_beneficiary(record.visit(codes, payers))))
        except ShuangyongError as error:
            yield Refused(record, error)


policy_option = click.option(
    "--policy", "-p", "policies", multiple=True, metavar="NAME_OR_PATH",
    help="Policy pack by built-in name or YAML path; repeat to layer. Default: seed-example.")
strict_option = click.option("--strict", is_flag=True,
                             help="Treat item kinds and insurance funds no registry knows as errors.")
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
region_option = click.option("--region", metavar="CODE",
                             help="With --his: the hospital's GB/T 2260 code, for messages that name no region.")
#: ``--encoding`` of a command that reads records (SOURCE opened as bytes, read with
#: ``shuangyong.interchange.decoded_lines`` or ``read_records``).
encoding_option = click.option(
    "--encoding", type=click.Choice(ENCODINGS), default="utf-8", show_default=True,
    help="Character encoding of SOURCE (GB 18030 for many HIS exports). A UTF-8 byte-order mark "
         "is accepted, and means UTF-8.")
codes_option = click.option("--codes", type=click.Path(exists=True, dir_okay=False), metavar="FILE",
                            help="Charge-code → item-kind table (CSV or YAML) for lines that send a code.")
