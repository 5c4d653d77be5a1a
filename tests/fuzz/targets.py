"""The entry points the fuzzer drives, in process, and the oracle every input is judged by.

Each :class:`Target` writes a mutant where its command reads it, runs the command through
click's :class:`~click.testing.CliRunner` (or the HL7 service and MLLP listener directly, or
shuangyong-server's app and the office's dossier store) and returns the :class:`Problem` s it saw:
an exception other than ``SystemExit(0|2)`` (``test`` may also exit 1: a case failed), a timeout,
a temporary file left beside an ``-o`` target, a reply that is not an HL7 ACK, evaluate and batch
disagreeing on the same JSON Lines, a 5xx answer or one that is not evaluate's, or a refused
dossier import that wrote.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import json
import shutil
import signal
import sqlite3
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from click.testing import CliRunner, Result

from tests.fuzz.mutate import MAX_INPUT_BYTES

if TYPE_CHECKING:
    import httpx

    from shuangyong_server.office.dossiers import DossierStore

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
#: Seconds one command may run on one input before it counts as a hang (``make fuzz``; the
#: small run of ``make test`` gives each input less).
TIMEOUT = 20.0
#: A dossier's reports are read as of this day, so that a run does not depend on today's date.
AS_OF = "2026-12-31"


class Timeout(BaseException):
    """Raised by the alarm in the middle of a command that ran past :data:`TIMEOUT`; a
    BaseException so that no ``except Exception`` of the code under test swallows it."""


@dataclass(frozen=True)
class Problem:
    """One broken promise: ``kind`` (an exception's type, or what else went wrong) and
    ``where`` (the innermost frame in the repository's code) make its signature."""

    target: str
    kind: str
    where: str
    detail: str
    args: tuple[str, ...]

    @property
    def signature(self) -> str:
        return f"{self.kind} @ {self.where}"


def innermost_frame(tb: TracebackType | None) -> str:
    """``file:line function`` of the deepest frame in src/ or plugins/ (else the deepest)."""
    frames = traceback.extract_tb(tb)
    ours = [f for f in frames if f.filename.startswith((str(REPO / "src"), str(REPO / "plugins")))]
    frame = (ours or frames or [None])[-1]
    if frame is None:
        return "?"
    path = Path(frame.filename)
    shown = path.relative_to(REPO) if frame.filename.startswith(str(REPO)) else path.name
    return f"{shown}:{frame.lineno} {frame.name}"


def release(tb: TracebackType | None, error: BaseException | None = None) -> None:
    """Free what a failed command's frames hold (an alias bomb's expansion) now, not at the next
    garbage collection: under the worker's memory limit the next input would pay for it. A full
    collection (a third of a second) only after running out of memory or time."""
    if tb is not None:
        traceback.clear_frames(tb)
    if isinstance(error, (MemoryError, Timeout)):
        gc.collect()


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`Timeout` in this (main) thread after ``seconds``."""
    def alarm(signum: int, frame: Any) -> None:
        raise Timeout(f"no answer after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class Workspace:
    """A worker's folder for inputs and outputs, its CliRunner, and the compiled pieces that
    stay the same from input to input (the HL7 engine, the MLLP listener)."""

    def __init__(self, root: Path, timeout: float = TIMEOUT) -> None:
        from shuangyong.cli import main

        self.root, self.main, self.timeout = root, main, timeout
        self.out_dir = root / "out"
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.runner = CliRunner()
        #: the corpus folder of the seed the input in flight came from (set by the driver)
        self.kind = ""
        self._hl7_engine: Any = None
        self._listener: tuple[Any, asyncio.AbstractEventLoop, list[str]] | None = None
        self._api: Api | None = None
        self._office: OfficeStores | None = None

    def write(self, data: bytes, suffix: str) -> Path:
        path = self.root / f"input{suffix}"
        path.write_bytes(data)
        return path

    def invoke(self, target: str, args: list[str], allowed: tuple[int, ...] = (0, 2),
               timeout: float | None = None) -> tuple[Result | None, list[Problem]]:
        """Run ``shuangyong ARGS`` and judge how it ended (within ``timeout``, by default the
        workspace's)."""
        for stale in self.out_dir.iterdir():
            stale.unlink()
        try:
            with time_limit(self.timeout if timeout is None else timeout):
                result = self.runner.invoke(self.main, args, catch_exceptions=True)
        except Timeout as timeout:
            problem = Problem(target, "Timeout", innermost_frame(timeout.__traceback__), str(timeout), tuple(args))
            release(timeout.__traceback__, timeout)
            return None, [problem]
        problems = []
        error = result.exception
        if error is not None and not (isinstance(error, SystemExit) and result.exit_code in allowed):
            kind = type(error).__name__ if not isinstance(error, SystemExit) else f"SystemExit({result.exit_code})"
            tb = result.exc_info[2] if result.exc_info else None
            detail = "".join(traceback.format_exception_only(type(error), error)).strip()[:500]
            problems.append(Problem(target, kind, innermost_frame(tb), detail, tuple(args)))
            release(tb, error)
        leftovers = sorted(p.name for p in self.out_dir.iterdir() if p.name != "out")
        if leftovers:
            problems.append(Problem(target, "partial output left", f"-o of {target}", ", ".join(leftovers)[:200],
                                    tuple(args)))
        return result, problems

    def output(self, choice: int) -> list[str]:
        """``-o out`` for half the choices (so that the atomic writer is fuzzed too)."""
        return ["-o", str(self.out_dir / "out")] if choice & 1 else []

    def written(self, result: Result, args: list[str]) -> bytes:
        """What the command wrote: its ``-o`` file if it made one, else standard output."""
        if "-o" in args:
            out = Path(args[args.index("-o") + 1])
            return out.read_bytes() if out.exists() else b""
        return result.stdout_bytes

    # -- the HL7 service and the MLLP listener ------------------------------------------------

    def hl7_service(self) -> Any:
        from shuangyong import plugins
        from shuangyong.engine import Engine
        from shuangyong_hl7 import Hl7Service

        if self._hl7_engine is None:
            self._hl7_engine = Engine.from_packs("seed-example", registry=plugins.registry())
        return Hl7Service(self._hl7_engine, region="450100")

    def listener(self) -> tuple[Any, asyncio.AbstractEventLoop, list[str]]:
        """A listener on a free port, served by an event loop in a daemon thread; the list
        collects what the loop's exception handler saw (a connection that died raising)."""
        if self._listener is None:
            from shuangyong_hl7 import MllpListener

            loop = asyncio.new_event_loop()
            errors: list[str] = []
            loop.set_exception_handler(lambda _, context: errors.append(
                f"{context.get('message')}: {context.get('exception')!r}"))
            listener = MllpListener(self.hl7_service(), port=0)
            threading.Thread(target=loop.run_forever, daemon=True).start()
            asyncio.run_coroutine_threadsafe(listener.start(), loop).result(10)
            self._listener = listener, loop, errors
        return self._listener

    # -- shuangyong-server: the HTTP API and the office's dossier store -------------------------

    def api(self) -> Api:
        """The server's app over a store and a SQLite ledger of this worker's own, built once."""
        if self._api is None:
            self._api = Api(self.root / "server")
        return self._api

    def office(self) -> OfficeStores:
        """The office's dossier stores of this worker (templates copied before each input)."""
        if self._office is None:
            self._office = OfficeStores(self.root / "office")
        return self._office


class Api:
    """``shuangyong serve``'s app in process: :func:`~shuangyong_server.app.create_app` over a server
    store and a SQLite ledger in ``folder``, a ``his`` and an ``office`` token, and an httpx client
    on the ASGI transport, run by an event loop in a daemon thread (so that the main thread, waiting
    for the answer, still gets the alarm of :func:`time_limit`). The transport re-raises an
    exception the app let through, after the app's handler answered it 500, so that a crash is
    reported with its own frames, not only as a status."""

    def __init__(self, folder: Path) -> None:
        import httpx

        from shuangyong_server.app import create_app
        from shuangyong_server.service import Service
        from shuangyong_server.settings import ServerSettings
        from shuangyong_server.tokens import Actor, add_token

        folder.mkdir(parents=True, exist_ok=True)
        # no $SHUANGYONG_SERVER_* read: every setting named; the server's own timeout past the fuzzer's
        settings = ServerSettings(ledger=f"sqlite:///{folder / 'ledger.db'}", store=f"sqlite:///{folder / 'server.db'}",
                                  dossiers=None, timeout=10 * TIMEOUT)
        service = Service.start(settings)
        setup = Actor("fuzz", "admin", "fuzz-setup")
        self.tokens = {role: add_token(service.store, f"fuzz-{role}", role, setup)[1] for role in ("his", "office")}
        self.app = create_app(service=service)
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True, name="fuzz-api").start()
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://fuzz")
        self.keys = itertools.count(1)

    def post(self, path: str, body: bytes, role: str, params: dict[str, str],
             headers: dict[str, str] | None = None) -> httpx.Response:
        """POST ``body`` to ``path`` as ``role``: the httpx response (its body read whole); the app's
        own exception, or :class:`Timeout` (the request cancelled) when it outlives the alarm."""
        sent = {"Authorization": f"Bearer {self.tokens[role]}", **(headers or {})}
        future = asyncio.run_coroutine_threadsafe(self.client.post(path, content=body, params=params, headers=sent),
                                                  self.loop)
        try:
            return future.result()
        except Timeout:
            future.cancel()
            raise

    def idempotency_key(self) -> str:
        """A key no earlier request of this worker used."""
        return f"fuzz-{next(self.keys)}"


class OfficeStores:
    """The office's :class:`~shuangyong_server.office.dossiers.DossierStore` as ``shuangyong serve``
    keeps it by default: in the server's own SQLite file, each change audited in the same
    transaction (:meth:`DossierStore.beside`). Before each input the file is a copy of a template,
    empty or holding ``examples/dossier.yaml`` (so that an import both creates dossiers and changes,
    retires and restores records of one); read back raw, it tells whether a refused import wrote."""

    #: what a write may touch: the versions and the audit log (queried in a fixed order)
    TABLES = ("SELECT * FROM office_dossier_versions ORDER BY unit_id, year, version",
              "SELECT * FROM office_record_versions ORDER BY unit_id, year, record_id, version",
              "SELECT * FROM audit_log ORDER BY seq")

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.empty, self.example, self.path = folder / "empty.db", folder / "example.db", folder / "store.db"
        self._open(self.empty)
        self._open(self.example).import_text((EXAMPLES / "dossier.yaml").read_text(encoding="utf-8"),
                                             "dossier.yaml", "fuzz")
        self.store = self._open(self.path)

    @staticmethod
    def _open(path: Path) -> DossierStore:
        from shuangyong_server.office.dossiers import DossierStore
        from shuangyong_server.store import ServerStore

        return DossierStore.beside(ServerStore(f"sqlite:///{path}"))

    def reset(self, with_example: bool) -> None:
        """The working file as one of the templates. Both stores open a connection per operation
        and close it after, so no connection is open here and SQLite has folded its write-ahead
        log into the file (a stale one left beside the copy is removed all the same)."""
        for stale in (self.path, self.path.with_name(self.path.name + "-wal"),
                      self.path.with_name(self.path.name + "-shm")):
            stale.unlink(missing_ok=True)
        shutil.copyfile(self.example if with_example else self.empty, self.path)

    def rows(self) -> list[tuple[Any, ...]]:
        """Every stored version (dossier heads and records) and audit entry, as SQLite holds them."""
        with closing(sqlite3.connect(self.path)) as connection:
            return [row for query in self.TABLES for row in connection.execute(query)]


Runner = Callable[[Workspace, bytes, int, str], list[Problem]]


HL7_MAX_BYTES = 64 * 1024


@dataclass(frozen=True)
class Target:
    """An entry point: the corpus folders its seeds come from, and how one input is run."""

    name: str
    corpus: tuple[str, ...]
    run: Runner
    #: Share of the large budget (the socket runs are few: each opens connections).
    weight: float = 1.0
    #: Longest mutant run through it. HL7 is parsed by hl7apy at several milliseconds a message:
    #: a 256 KiB file of a thousand messages is slow but right, not a hang, so HL7 mutants are cut
    #: to 64 KiB (the listener's large-message test covers size on its own).
    max_bytes: int = MAX_INPUT_BYTES


def _lang(choice: int) -> list[str]:
    return ["--lang", "zh" if choice & 2 else "en"]


def _suffix(fmt: str) -> str:
    return {"yaml": ".yaml", "csv": ".csv", "hl7": ".hl7", "jsonl": ".jsonl", "bytes": ".bin"}.get(fmt, ".json")


def run_evaluate(ws: Workspace, data: bytes, choice: int, fmt: str) -> list[Problem]:
    source = ws.write(data, _suffix(fmt))
    out_format = ("auto", "json", "jsonl", "table", "xlsx", "html")[(choice >> 2) % 6]
    strict = ["--strict"] if choice & 64 else []
    args = [*_lang(choice), "evaluate", str(source), "--format", out_format, *strict, *ws.output(choice)]
    return ws.invoke("evaluate", args)[1]


def run_explain(ws: Workspace, data: bytes, choice: int, fmt: str) -> list[Problem]:
    source = ws.write(data, _suffix(fmt))
    return ws.invoke("explain", [*_lang(choice), "explain", str(source), "--format",
                                 "json" if choice & 4 else "text"])[1]


def run_batch(ws: Workspace, data: bytes, choice: int, fmt: str) -> list[Problem]:
    """batch on JSON Lines, and evaluate --format jsonl on the same file: same bytes, same exit."""
    source = ws.write(data, ".jsonl")
    lang = _lang(choice)
    batch_args = [*lang, "batch", str(source), "--input-format", "jsonl", "--no-progress", *ws.output(choice)]
    batch, problems = ws.invoke("batch", batch_args)
    if problems or batch is None:
        return problems
    batch_bytes = ws.written(batch, batch_args)
    evaluate, problems = ws.invoke("batch", [*lang, "evaluate", str(source), "--format", "jsonl"])
    if problems or evaluate is None:
        return problems
    if (batch.exit_code, batch_bytes) != (evaluate.exit_code, evaluate.stdout_bytes):
        first = next((i for i, (a, b) in enumerate(zip(batch_bytes, evaluate.stdout_bytes, strict=False)) if a != b),
                     min(len(batch_bytes), len(evaluate.stdout_bytes)))
        same = "same output" if batch_bytes == evaluate.stdout_bytes else f"output differs at byte {first}"
        kind = f"batch≠evaluate (exit {batch.exit_code} vs {evaluate.exit_code}, {same.split(' at ')[0]})"
        around = slice(first, first + 120)
        detail = f"{same}: batch {batch_bytes[around]!r} evaluate {evaluate.stdout_bytes[around]!r}"
        return [Problem("batch", kind, "batch vs evaluate", detail, tuple(batch_args))]
    return []


def _columnar(data: bytes, path: Path) -> None:
    """The mutant as a Parquet file: through the contract's schema when the records fit it,
    else with the types pyarrow infers (float amounts, int ids), else the bytes themselves."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from shuangyong.batch.sources.writers import records_table, write_table

    try:
        records = [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]
        if not all(isinstance(r, dict) for r in records) or not records:
            raise ValueError("not records")
    except (ValueError, RecursionError):
        path.write_bytes(data)
        return
    try:
        write_table(records_table(records), path, "parquet")
        return
    except (pa.ArrowException, ValueError, TypeError, OverflowError, RecursionError):
        pass
    try:
        pq.write_table(pa.Table.from_pylist(records), path)
    except (pa.ArrowException, ValueError, TypeError, OverflowError, RecursionError):
        path.write_bytes(data)


def run_batch_parquet(ws: Workspace, data: bytes, choice: int, fmt: str) -> list[Problem]:
    source = ws.root / "input.parquet"
    if fmt == "bytes":
        source.write_bytes(data)
    else:
        _columnar(data, source)
    return ws.invoke("batch-parquet", [*_lang(choice), "batch", str(source), "--input-format", "parquet",
                                       "--no-progress", *ws.output(choice)])[1]


def run_batch_csv(ws: Workspace, data: bytes, choice: int, fmt: str) -> list[Problem]:
    source = ws.write(data, ".csv")
    return ws.invoke("batch-csv", [*_lang(choice), "batch", str(source), "--input-format", "csv", "--no-progress",
                                   *ws.output(choice)])[1]


def run_whatif(ws: Workspace, data: bytes, choice: int, fmt: str) -> list[Problem]:
    source = ws.write(data, ".csv" if fmt == "csv" else ".jsonl")
    return ws.invoke("whatif", [*_lang(choice), "whatif", str(source), "--base", "seed-example", "--reform",
                                str(EXAMPLES / "reform-bed-waiver.yaml"), "--format",
                                ("table", "json", "html")[(choice >> 2) % 3], "--no-progress", *ws.output(choice)])[1]


def run_policy(ws: Workspace, data: bytes, choice: int, fmt: str) -> list[Problem]:
    """policy check on the pack, then (when it passes) evaluate the example visits under it."""
    pack = ws.write(data, ".yaml")
    checked, problems = ws.invoke("policy", [*_lang(choice), "policy", "check", str(pack)])
    if problems or checked is None or checked.exit_code:
        return problems
    return ws.invoke("policy", [*_lang(choice), "evaluate", str(EXAMPLES / "visits.jsonl"), "-p", str(pack)])[1]


def run_compliance(ws: Workspace, data: bytes, choice: int, fmt: str) -> list[Problem]:
    dossier = ws.write(data, ".json" if fmt == "json" else ".yaml")
    return ws.invoke("compliance", [*_lang(choice), "compliance", "report", str(dossier), "--as-of", AS_OF,
                                    "--format", ("md", "json", "html")[(choice >> 2) % 3], *ws.output(choice)])[1]


def run_standards(ws: Workspace, data: bytes, choice: int, fmt: str) -> list[Problem]:
    pack = ws.write(data, ".yaml")
    return ws.invoke("standards", [*_lang(choice), "compliance", "report", str(EXAMPLES / "dossier.yaml"),
                                   "-s", str(pack), "--as-of", AS_OF, "--format", "json"])[1]


def run_test(ws: Workspace, data: bytes, choice: int, fmt: str) -> list[Problem]:
    cases = ws.write(data, ".case.yaml")
    return ws.invoke("test", [*_lang(choice), "test", str(cases)], allowed=(0, 1, 2))[1]  # 1: a case failed


def run_codes(ws: Workspace, data: bytes, choice: int, fmt: str) -> list[Problem]:
    table = ws.write(data, ".yaml" if fmt == "yaml" else ".csv")
    return ws.invoke("codes", [*_lang(choice), "evaluate", str(EXAMPLES / "visits.jsonl"), "--codes", str(table)])[1]


def run_his(name: str) -> Runner:
    def run(ws: Workspace, data: bytes, choice: int, fmt: str) -> list[Problem]:
        source = ws.write(data, ".json" if name == "fhir" else ".hl7")
        command = "explain" if choice & 4 else "evaluate"
        out_format = [] if command == "explain" else ["--format", ("auto", "json", "jsonl", name)[(choice >> 3) % 4]]
        return ws.invoke(f"his-{name}", [*_lang(choice), command, str(source), "--his", name, *out_format])[1]

    return run


def _messages(data: bytes) -> list[bytes]:
    from shuangyong_hl7.codec import split_batch

    try:
        return split_batch(data) or [data]
    except Exception:  # the splitter is fuzzed through --his hl7; here the service is
        return [data]


def _reply_problem(target: str, reply: Any) -> Problem | None:
    """A reply the sender cannot read as an ACK (no MSH, no MSA) is a broken promise."""
    if isinstance(reply, bytes) and reply.startswith(b"MSH") and b"\rMSA|" in reply:
        return None
    return Problem(target, "not an ACK", "shuangyong_hl7.service", repr(reply)[:200], ())


def run_hl7_service(ws: Workspace, data: bytes, choice: int, fmt: str) -> list[Problem]:
    """Every message of the mutant through one service (A04 registrations then charges)."""
    service = ws.hl7_service()
    for message in _messages(data):
        try:
            with time_limit(ws.timeout):
                reply = service.handle(message)
        except (Exception, Timeout) as error:  # the service promises never to raise
            problem = Problem("hl7-service", type(error).__name__, innermost_frame(error.__traceback__),
                              str(error)[:300], ())
            release(error.__traceback__, error)
            return [problem]
        problem = _reply_problem("hl7-service", reply)
        if problem:
            return [problem]
    return []


def run_mllp(ws: Workspace, data: bytes, choice: int, fmt: str) -> list[Problem]:
    """The mutant's bytes over a real socket (framed, or raw when ``choice`` says), then a good
    message on a fresh connection: every frame answered, and the listener still answers."""
    from shuangyong_hl7 import send
    from shuangyong_hl7.codec import END, START, frame

    listener, loop, errors = ws.listener()
    port = listener.port
    good = (REPO / "tests/fuzz/corpus/hl7/seed-a04.hl7").read_bytes()

    async def exchange() -> list[bytes]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 24)
        try:
            payload = b"".join(frame(m) for m in _messages(data)) if choice & 4 else data + END
            writer.write(payload)
            await writer.drain()
            expected = payload.count(END)
            replies = [await reader.readuntil(END) for _ in range(expected)]
        finally:
            writer.close()
        return replies

    problems = []
    try:
        replies = asyncio.run_coroutine_threadsafe(exchange(), loop).result(ws.timeout)
        problems += [p for r in replies if (p := _reply_problem("mllp", r.strip(START + END)))]
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        pass  # the listener may close a connection that sent an oversized frame
    except TimeoutError:
        problems.append(Problem("mllp", "Timeout", "shuangyong_hl7.listener", "a frame was not answered", ()))
    try:
        answer = asyncio.run_coroutine_threadsafe(send("127.0.0.1", port, [good]), loop).result(ws.timeout)
        problems += [p for r in answer if (p := _reply_problem("mllp", r))]
    except (TimeoutError, ConnectionError, asyncio.IncompleteReadError) as error:
        problems.append(Problem("mllp", "listener stopped answering", "shuangyong_hl7.listener", repr(error), ()))
    problems += [Problem("mllp", "exception in listener", "shuangyong_hl7.listener", e[:300], ()) for e in errors]
    errors.clear()
    return problems


def _failed(target: str, error: BaseException, where: str | None, args: tuple[str, ...]) -> Problem:
    """A problem for an exception the code under test let through (or the alarm), its frames freed."""
    detail = "".join(traceback.format_exception_only(type(error), error)).strip()[:500]
    problem = Problem(target, type(error).__name__, where or innermost_frame(error.__traceback__), detail, args)
    release(error.__traceback__, error)
    return problem


def _first_difference(a: bytes, b: bytes) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


def _left(deadline: float) -> float:
    """Seconds until ``deadline`` (a moment, never none: the alarm needs one)."""
    return max(deadline - time.monotonic(), 0.001)


def _served(ws: Workspace, path: str, body: bytes, role: str, params: dict[str, str], source: Path,
            deadline: float, headers: dict[str, str] | None = None) -> tuple[httpx.Response | None, list[Problem]]:
    """POST the body and judge the answer, by the input's ``deadline``: any status but 5xx, and no
    exception out of the app. A 5xx's signature names the error type its body gives (a
    StoreError's 503, a bug's 500)."""
    query = "&".join(f"{name}={value}" for name, value in params.items())
    args = ("serve", "# then", f"POST {path}?{query}", *(f"-H {k}: {v}" for k, v in (headers or {}).items()),
            "--data-binary", f"@{source}")
    try:
        with time_limit(_left(deadline)):
            answer = ws.api().post(path, body, role, params, headers)
    except Timeout as timeout:
        return None, [_failed("server", timeout, f"POST {path}", args)]
    except Exception as error:  # the app's own exception, re-raised by the ASGI transport
        return None, [_failed("server", error, None, args)]
    if answer.status_code < 500:
        return answer, []
    try:
        kind = str(answer.json()["error"]["type"])
    except (ValueError, LookupError, TypeError):
        kind = "no error object"
    return answer, [Problem("server", f"HTTP {answer.status_code}", f"POST {path} {kind}", answer.text[:500], args)]


def _same_as_cli(ws: Workspace, answer: httpx.Response, source: Path, out_format: str, encoding: str,
                 deadline: float) -> list[Problem]:
    """``/v1/evaluate``'s answer against ``shuangyong evaluate SOURCE`` with the same format and
    encoding: an answer carrying the run's output (2xx, or a lone refused visit's 422) is the bytes
    the command writes; a body the server cannot read at all (400) the command refuses too (exit
    2, nothing written)."""
    args = ["evaluate", str(source), "--format", out_format, "--encoding", encoding]
    result, problems = ws.invoke("server", args, timeout=_left(deadline))
    if result is None or problems:
        return problems
    status, written = answer.status_code, result.stdout_bytes
    if status == 400:
        if result.exit_code == 2 and not written:
            return []
        return [Problem("server", f"server≠evaluate (HTTP 400, exit {result.exit_code})",
                        "POST /v1/evaluate vs evaluate", f"the server could not read what evaluate wrote "
                        f"{written[:200]!r} from: {answer.text[:300]}", tuple(args))]
    if not (200 <= status < 300 or status == 422) or written == answer.content:
        return []
    at = _first_difference(answer.content, written)
    return [Problem("server", f"server≠evaluate (HTTP {status}, exit {result.exit_code})",
                    "POST /v1/evaluate vs evaluate", f"output differs at byte {at}: server "
                    f"{answer.content[at:at + 120]!r} evaluate {written[at:at + 120]!r}", tuple(args))]


def run_server(ws: Workspace, data: bytes, choice: int, fmt: str) -> list[Problem]:
    """shuangyong-server's API in process. A visits mutant to ``/v1/evaluate`` (its answer held to
    ``shuangyong evaluate``'s output: :func:`_same_as_cli`), ``/v1/explain`` and
    ``/v1/evaluate-and-post`` (a fresh Idempotency-Key each); a dossiers mutant to
    ``/v1/compliance/report``. Never a 5xx, never an exception out of the app.

    One time limit for the whole input, not one per request: a broken app (a worker thread that
    could not start) then costs one limit, never the watchdog's three, which would stop the worker
    and hide what went wrong behind "hang (watchdog)"."""
    api = ws.api()
    deadline = time.monotonic() + ws.timeout
    if ws.kind == "dossiers":
        source = ws.write(data, ".json" if fmt == "json" else ".yaml")
        # the built-in formats and the export plugin's xlsx (a writer of its own); not its pdf,
        # which takes most of a second for the example dossier alone
        params = {"as_of": AS_OF, "format": ("json", "md", "html", "xlsx")[(choice >> 2) % 4],
                  "lang": "zh" if choice & 2 else "en"}
        return _served(ws, "/v1/compliance/report", data, "office", params, source, deadline)[1]
    source = ws.write(data, _suffix(fmt))
    out_format = ("auto", "json", "jsonl")[(choice >> 2) % 3]
    # GB 18030 for one input in eight, and never for the small choices hypothesis favours: a
    # UTF-8 body read as GB 18030 is mostly refused whole, which tries little of the rest
    encoding = "gb18030" if (choice >> 5) % 8 == 7 else "utf-8"
    params = {"format": out_format, "encoding": encoding}
    answer, problems = _served(ws, "/v1/evaluate", data, "his", params, source, deadline)
    if answer is not None and not problems:
        problems += _same_as_cli(ws, answer, source, out_format, encoding, deadline)
    problems += _served(ws, "/v1/explain", data, "his", {"encoding": encoding}, source, deadline)[1]
    problems += _served(ws, "/v1/evaluate-and-post", data, "his", params, source, deadline,
                        {"Idempotency-Key": api.idempotency_key()})[1]
    return problems


def _exported(data: dict[str, Any], as_json: bool) -> str:
    """A dossier as the office pages' export writes it (JSON or YAML)."""
    import yaml

    if as_json:
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def run_office_import(ws: Workspace, data: bytes, choice: int, fmt: str) -> list[Problem]:
    """``DossierStore.import_text`` of the mutant (read as UTF-8 as the office pages read an upload,
    else as Latin-1 so that the bytes still reach the parser) on an empty store or one holding the
    example dossier. Only the library's own errors may escape, and a refused import writes nothing
    (every stored row the same after as before). An accepted one must read back: its dossier's
    export, imported again, changes nothing."""
    from shuangyong import ShuangyongError

    office = ws.office()
    office.reset(with_example=bool(choice & 1))
    source = ws.write(data, ".json" if fmt == "json" else ".yaml")
    args = ("# office: DossierStore.import_text of", str(source))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    before = office.rows()
    deadline = time.monotonic() + ws.timeout  # the import and the round trip together
    try:
        with time_limit(_left(deadline)):
            summary = office.store.import_text(text, source.name, "fuzz")
    except ShuangyongError as refused:
        release(refused.__traceback__)
        if office.rows() != before:
            return [Problem("office-import", "refused import wrote", "DossierStore.import_text",
                            f"{type(refused).__name__}: {refused}"[:500], args)]
        return []
    except (Exception, Timeout) as error:
        return [_failed("office-import", error, None, args)]
    try:
        with time_limit(_left(deadline)):
            exported = _exported(office.store.export(summary.unit_id, summary.year), as_json=bool(choice & 2))
            again = office.store.import_text(exported, "export", "fuzz")
    except (Exception, Timeout) as error:
        problem = _failed("office-import", error, None, args)
        return [replace(problem, kind=f"re-import of the export: {problem.kind}")]
    if again.added or again.changed or again.retired or again.unit_changed:
        return [Problem("office-import", "export → import changed the dossier", "DossierStore.export",
                        f"added {again.added} changed {again.changed} retired {again.retired} "
                        f"unit changed {again.unit_changed}"[:500], args)]
    return []


TARGETS = (
    Target("evaluate", ("visits",), run_evaluate, 2),
    Target("explain", ("visits",), run_explain),
    Target("batch", ("visits",), run_batch, 2),
    Target("batch-parquet", ("visits", "parquet"), run_batch_parquet),
    Target("batch-csv", ("csv",), run_batch_csv),
    Target("whatif", ("visits", "csv"), run_whatif),
    Target("policy", ("packs",), run_policy),
    Target("compliance", ("dossiers",), run_compliance),
    Target("standards", ("standards",), run_standards),
    Target("test", ("cases",), run_test),
    Target("codes", ("codes",), run_codes),
    Target("his-fhir", ("fhir",), run_his("fhir")),
    Target("his-hl7", ("hl7",), run_his("hl7"), max_bytes=HL7_MAX_BYTES),
    Target("hl7-service", ("hl7",), run_hl7_service, 2, max_bytes=HL7_MAX_BYTES),
    Target("mllp", ("hl7",), run_mllp, 0.05, max_bytes=HL7_MAX_BYTES),
    Target("server", ("visits", "dossiers"), run_server),
    Target("office-import", ("dossiers",), run_office_import),
)
BY_NAME = {target.name: target for target in TARGETS}
