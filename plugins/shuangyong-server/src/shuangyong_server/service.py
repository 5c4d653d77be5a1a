"""What the server does, without HTTP: the engine compiled once, the server's store, the ledger,
and each operation an endpoint calls. Kept apart from FastAPI so that it reads as the command
line's twin, and so that the office pages call the same operations.

Byte for byte the command line's answers: a request's body is read by ``read_records`` (as
``evaluate``'s SOURCE is), each record handled by ``for_each_record`` and written by
``results_text`` or ``explanation_json``, the very functions ``shuangyong evaluate`` and
``explain`` run; posting is ``deciding_and_posting``, as ``evaluate --post`` does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import mimetypes
import tempfile
import threading
from itertools import chain, islice
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import attrs

from shuangyong import (
    ChargeCodeMap,
    Engine,
    LedgerError,
    ShuangyongError,
    Text,
    evaluate_compliance,
    plugins,
    report_to_dict,
)
from shuangyong.cli.base import exporter_named, for_each_record
from shuangyong.compliance.dossier import DossierError, parse_dossier
from shuangyong.compliance.standards import STANDARDS, StandardsSet
from shuangyong.documents import decode_utf8
from shuangyong.interchange.framing import Tally, read_records
from shuangyong.interchange.output import explanation_json, layout_for, results_text
from shuangyong.interchange.posting import deciding_and_posting, pseudonym_key
from shuangyong.interchange.reports import policy_to_dict, verification, verification_to_dict
from shuangyong.plugins import ReportExporter
from shuangyong.policy import PolicySet, builtin_pack_names, load_reference
from shuangyong_server import idempotency
from shuangyong_server.errors import JSON, JSON_LINES, RequestError, Unreadable, status_of
from shuangyong_server.idempotency import Answer
from shuangyong_server.office.dossiers import DossierStore, NotFound
from shuangyong_server.store import ServerStore

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from shuangyong import Decision, Visit
    from shuangyong.compliance.records import Dossier
    from shuangyong.interchange.framing import Input
    from shuangyong.interchange.output import Layout
    from shuangyong.plugins import Ledger, Posting
    from shuangyong.text import Lang
    from shuangyong_server.settings import ServerSettings
    from shuangyong_server.tokens import Caller

#: the standards a compliance report is checked against when the request names none (as the CLI)
DEFAULT_STANDARDS = ("seed-standards",)
_DOSSIER = Text("档案", "dossier")


class _ThreadLedger:
    """A worker thread's ledger, kept in that thread's local storage. When the thread ends, CPython
    releases its local storage in the thread itself, and this holder closes the ledger there: a
    SQLite connection may only be closed by the thread that opened it, and, left open, one is only
    freed by a full garbage collection (its statement cache refers back to it)."""

    __slots__ = ("ledger",)

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def __del__(self) -> None:
        try:
            self.ledger.close()
        except Exception:  # released from another thread (the pool itself dropped): it goes with the process
            pass


class LedgerPool:
    """One open ledger per worker thread: a SQLite connection may only be used by the thread that
    opened it, and opening one per request would cost a migration check each time.

    Worker threads come and go (anyio stops one idle for 10 s and starts another for the next
    burst): a thread's ledger is closed as the thread ends (:class:`_ThreadLedger`), and the pool
    forgets it when another thread opens one. Otherwise the server held a connection, a file
    descriptor and its page cache for every worker thread it ever had (found by the fuzzer)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._local = threading.local()
        self._opened: dict[threading.Thread, Ledger] = {}
        self._lock = threading.Lock()
        plugins.open_ledger(url, create=True).close()  # a bad URL stops the server at start-up, not at a posting

    def get(self) -> Ledger:
        """This thread's ledger, opened on first use."""
        held: _ThreadLedger | None = getattr(self._local, "held", None)
        if held is None:
            held = self._local.held = _ThreadLedger(plugins.open_ledger(self.url, create=True))
            with self._lock:
                self._opened = {thread: kept for thread, kept in self._opened.items() if thread.is_alive()}
                self._opened[threading.current_thread()] = held.ledger
        return held.ledger

    def close(self) -> None:
        """Close what can be closed from here; a connection another thread holds goes with the process."""
        with self._lock:
            opened, self._opened = list(self._opened.values()), {}
        for ledger in opened:
            try:
                ledger.close()
            except Exception:  # a SQLite connection of another thread refuses to close from this one; exiting anyway
                pass


@attrs.frozen(slots=True)
class Run:
    """A request's records on their way out: the input's shape, the output's layout, the pieces
    of text (made as they are read: JSON Lines stream) and the tally of refused records."""

    shape: str
    layout: Layout
    pieces: Iterator[str]
    tally: Tally

    @property
    def media_type(self) -> str:
        """JSON Lines for a JSON Lines layout, JSON otherwise."""
        return JSON_LINES if self.layout == "lines" else JSON


class Service:
    """The server's state and operations. Built by :meth:`start` from the settings; every
    operation is synchronous and thread-safe (the app runs them in worker threads)."""

    def __init__(self, settings: ServerSettings, engine: Engine, codes: ChargeCodeMap | None, store: ServerStore,
                 ledgers: LedgerPool | None, key: bytes | None, dossiers: DossierStore | None = None) -> None:
        self.settings, self.engine, self.codes, self.store = settings, engine, codes, store
        self.ledgers, self.key = ledgers, key
        #: the office's dossiers (``--dossiers``; by default in the server's own file)
        self.dossiers = dossiers if dossiers is not None else DossierStore.beside(store)
        self._standards: dict[tuple[str, ...], StandardsSet] = {}

    @classmethod
    def start(cls, settings: ServerSettings) -> Service:
        """Compile the packs, load the code table, open (and migrate) the store and the dossiers,
        check the ledger; any problem is a ``ShuangyongError`` before the server listens."""
        engine = Engine.from_packs(*settings.policies, strict=settings.strict, registry=plugins.registry())
        codes = ChargeCodeMap.load(Path(settings.codes), engine.registry.items) if settings.codes else None
        key = pseudonym_key(settings.pseudonymise)
        store = ServerStore(settings.store)
        dossiers = DossierStore.open(settings.dossiers or settings.store, audit_to=store)
        ledgers = LedgerPool(settings.ledger) if settings.ledger else None
        return cls(settings, engine, codes, store, ledgers, key, dossiers)

    def close(self) -> None:
        """Release the ledgers' and the dossiers' connections."""
        if self.ledgers is not None:
            self.ledgers.close()
        self.dossiers.close()

    # -- deciding ---------------------------------------------------------------------------

    def _records(self, body: bytes, encoding: str) -> Input:
        """The body sniffed as ``evaluate`` sniffs its SOURCE; unreadable as a whole is 400."""
        try:
            return read_records(io.BytesIO(body), encoding)
        except ShuangyongError as error:
            raise Unreadable(error) from None

    def evaluate(self, body: bytes, fmt: str = "auto", encoding: str = "utf-8",
                 decide: Callable[[Visit], Decision] | None = None) -> Run:
        """Each visit's decision (or error object), as ``shuangyong evaluate --format FMT``
        writes it for the same input."""
        records = self._records(body, encoding)
        decide = decide or self.engine.evaluate
        tally = Tally()
        outcomes = tally(for_each_record(records.records, self.codes, lambda v: (v, decide(v)), self.engine))
        layout = layout_for(fmt, records.shape)
        return Run(records.shape, layout, results_text(outcomes, layout), tally)

    def explain(self, body: bytes, encoding: str = "utf-8") -> Run:
        """Each visit's explanation (or error object), one a line, as ``shuangyong explain
        --format json`` writes it for the same input."""
        records = self._records(body, encoding)
        tally = Tally()
        outcomes = tally(for_each_record(records.records, self.codes, lambda v: (v, self.engine.explain(v)),
                                         self.engine))
        return Run(records.shape, "lines", (explanation_json(outcome) + "\n" for outcome in outcomes), tally)

    def answer(self, run: Run, written: Iterable[str] = ()) -> Answer:
        """A run written whole (after the pieces already WRITTEN). One visit sent alone (an object,
        a one-element array or one line) and refused is answered with the refusal's status (422;
        409 when the ledger refuses it, 503 when the ledger cannot be reached); several visits
        are answered 200, each bad one with its error object in its place, as the command line
        writes them."""
        body = "".join(chain(written, run.pieces)).encode("utf-8")
        error = run.tally.first
        status = 200
        if run.tally.seen == 1 and error is not None:
            status = 503 if isinstance(error, LedgerError) and error.record == self.settings.ledger \
                else status_of(error)
        return Answer(status, run.media_type, body)

    def first_pieces(self, run: Run, count: int = 2) -> list[str]:
        """Up to COUNT pieces of a JSON Lines run (one per visit), so that the app can tell one visit
        (answered whole, with its status) from several (streamed) before it answers."""
        return list(islice(run.pieces, count))

    def post(self, body: bytes, fmt: str, encoding: str, caller: Caller, request_id: str,
             client: str | None = None, key: str | None = None) -> Answer:
        """Decide each visit and post its grants; the answer is ``evaluate --post``'s output for
        the same input (decisions as granted). With an idempotency ``key`` a retry is answered
        with the first answer (:mod:`shuangyong_server.idempotency`). Each request that posted
        or found rows is audited, with the rows of each visit, in the transaction that keeps its
        answer."""
        ledgers = self.require_ledger()
        rows: list[dict[str, Any]] = []

        def posted(visit: Visit, postings: list[Posting]) -> None:
            rows.append({"visit_id": visit.visit_id, "rows": [posting.seq for posting in postings]})

        # the body is sniffed first: one that cannot be read (400) reserves no key
        run = self.evaluate(body, fmt, encoding, deciding_and_posting(self.engine, ledgers.get(), self.key, posted))
        if key is not None:
            digest = hashlib.sha256(f"{fmt}\0{encoding}\0".encode() + body).hexdigest()
            kept = idempotency.reserve(self.store, caller.token_id, key, digest)
            if kept is not None:
                return attrs.evolve(kept, replayed=True)
        answer = self.answer(run)
        with self.store.transaction() as connection:
            if rows:
                self.store.audit(connection, actor=caller.name, role=caller.role, action="ledger.post",
                                 target=", ".join(dict.fromkeys(row["visit_id"] for row in rows)),
                                 request_id=request_id, client=client,
                                 detail={"visits": rows, "refused": run.tally.refused, "idempotency_key": key,
                                         "policy": self.engine.policy.fingerprint})
            if key is not None and rows:
                answer = idempotency.complete(connection, caller.token_id, key, answer)
            elif key is not None:  # every visit refused: nothing was written, so the key is free again
                idempotency.release(connection, caller.token_id, key)
        return answer

    # -- the ledger -------------------------------------------------------------------------

    def require_ledger(self) -> LedgerPool:
        """The ledger, or 404 when the server was started without one."""
        if self.ledgers is None:
            raise RequestError(Text("本服务未配置账本（启动时用 --ledger URL）",
                                    "this server has no ledger (start it with --ledger URL)"), status=404,
                               field="ledger")
        return self.ledgers

    def verify(self, expect_head: tuple[int, str] | None = None) -> dict[str, Any]:
        """``ledger verify --format json``'s object."""
        return verification_to_dict(verification(self.require_ledger().get().postings(), expect_head))

    def head(self) -> dict[str, Any]:
        """``ledger head --format json``'s object."""
        seq, last = self.require_ledger().get().head()
        return {"seq": seq, "hash": last, "head": f"{seq}:{last}"}

    def export(self, fmt: str) -> tuple[str, IO[bytes]]:
        """The ledger as ``ledger export --format FMT`` writes it: its media type, and the bytes in
        a temporary file (in memory up to 8 MiB), read from the start."""
        exporter = exporter_named("ledger", fmt, field="format")
        out = tempfile.SpooledTemporaryFile(max_size=8 << 20)  # handed to the response, which closes it
        exporter.write("ledger", self.require_ledger().get().postings(), out)
        out.seek(0)
        return media_type(exporter.suffix), out

    # -- policy -----------------------------------------------------------------------------

    def pack_names(self) -> list[str]:
        """Every policy pack a request may name: built in, or from a plugin; never a path."""
        return sorted({*builtin_pack_names(), *plugins.registry().packs})

    def policies(self) -> list[dict[str, Any]]:
        """``policy list``: each pack with what it extends, its rule count and its title."""
        named = plugins.registry().packs
        listed = []
        for name in self.pack_names():
            spec = load_reference(name, named=named).spec
            listed.append({"pack": name, "extends": list(spec.extends), "rules": len(spec.rules),
                           "title": {"zh": spec.title.zh, "en": spec.title.en}})
        return listed

    def policy(self, name: str | None = None) -> dict[str, Any]:
        """``policy show --format json`` of the server's own rule set, or of the named pack (404 if
        no pack has that name: a request never names a file)."""
        if name is None:
            return policy_to_dict(self.engine.policy)
        if name not in self.pack_names():
            raise RequestError(Text(f"没有名为 {name!r} 的政策包", f"no policy pack is named {name!r}"),
                               status=404, field="name", value=name)
        return policy_to_dict(PolicySet.load([name], plugins.registry()))

    def fingerprint(self) -> dict[str, Any]:
        """The packs the server decides with and their fingerprint (every decision carries it)."""
        return {"packs": list(self.engine.policy.packs), "fingerprint": self.engine.policy.fingerprint}

    # -- compliance -------------------------------------------------------------------------

    def standards(self, names: tuple[str, ...]) -> StandardsSet:
        """The merged standards packs named (built in or from a plugin; never a path), kept once merged."""
        names = names or DEFAULT_STANDARDS
        if names not in self._standards:
            named = plugins.collect("register_standards")
            for name in names:
                if name not in {*builtin_pack_names(STANDARDS), *named}:
                    raise RequestError(Text(f"没有名为 {name!r} 的标准包", f"no standards pack is named {name!r}"),
                                       status=422, field="standards", value=name)
            self._standards[names] = StandardsSet.load(names, named=named, kinds=plugins.check_kinds())
        return self._standards[names]

    def compliance(self, dossier: bytes, standards: tuple[str, ...] = (), as_of: dt.date | None = None,
                   fmt: str = "json", lang: Lang = "zh") -> Answer:
        """``compliance report`` of a dossier sent as YAML or JSON (UTF-8): the report in FMT (json,
        md, html, or a plugin's), the built-in formats in LANG. A bad dossier is 422, naming the
        record and field as the command line does."""
        exporter = exporter_named("compliance", fmt, field="format")
        chosen = self.standards(standards)
        return self._report(parse_dossier(decode_utf8(dossier, "<request>", _DOSSIER, DossierError), "<request>"),
                            chosen, as_of, exporter, lang)

    def stored_compliance(self, unit_id: str, year: int, standards: tuple[str, ...] = (),
                          as_of: dt.date | None = None, fmt: str = "json", lang: Lang = "zh") -> Answer:
        """:meth:`compliance` of the dossier the office pages keep for ``unit_id`` and ``year``, as it
        stands now (its current records; retired ones left out); 404 if there is none."""
        exporter = exporter_named("compliance", fmt, field="format")
        chosen = self.standards(standards)
        try:
            records = self.dossiers.dossier(unit_id, year)
        except NotFound as missing:
            raise RequestError(missing.message, status=404, record=missing.record, field=missing.field,
                               value=missing.value) from None
        return self._report(records, chosen, as_of, exporter, lang)

    def _report(self, records: Dossier, standards: StandardsSet, as_of: dt.date | None, exporter: Any,
                lang: Lang) -> Answer:
        """The report of ``records`` as of ``as_of`` (default today, or the year's last day for a past
        year), written by ``exporter`` (the built-in ones in ``lang``)."""
        day = as_of or min(dt.date.today(), dt.date(records.year, 12, 31))
        data = report_to_dict(evaluate_compliance(records, standards, day))
        out = io.BytesIO()
        if isinstance(exporter, ReportExporter):  # the built-in ones speak the chosen language
            exporter.write("compliance", data, out, lang=lang)
        else:
            exporter.write("compliance", data, out)
        return Answer(200, media_type(exporter.suffix), out.getvalue())

    # -- readiness --------------------------------------------------------------------------

    def ready(self) -> dict[str, Any]:
        """What readiness checks: the store answers (its schema version) and the ledger opens
        (its head); a failure is 503 naming what is down."""
        try:
            state: dict[str, Any] = {"ready": True, **self.fingerprint(), "store": {"version": self.store.version()}}
            state["ledger"] = None if self.ledgers is None else self.head()
        except ShuangyongError as error:
            raise RequestError(Text(f"未就绪：{error.message.zh}", f"not ready: {error.message.en}"), status=503,
                               record=error.record, field=error.field) from None
        return state


def media_type(suffix: str) -> str:
    """The media type of an exporter's files by their suffix (UTF-8 for text)."""
    known = {".jsonl": JSON_LINES, ".json": JSON, ".md": "text/markdown; charset=utf-8",
             ".csv": "text/csv; charset=utf-8", ".html": "text/html; charset=utf-8"}
    return known.get(suffix) or mimetypes.guess_type(f"export{suffix}")[0] or "application/octet-stream"
