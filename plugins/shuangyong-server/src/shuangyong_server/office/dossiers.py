"""Dossiers kept in a database, with every version of every record.

A 双拥 office corrects its records through the year, and an inspection asks who recorded what,
and when. So nothing is updated or deleted: adding a record, editing it and retiring it each
append a version (who, when, the record as the dossier file writes it). The current dossier is
the latest version of every record that is not retired; the older ones stay readable
(:meth:`DossierStore.history`).

Every write is checked exactly as ``shuangyong compliance`` reads a dossier file: the candidate
dossier (the current records with this one added or replaced) goes through
:func:`~shuangyong.compliance.dossier.dossier_from_dict`, and its :class:`DossierError` comes
back with ``field`` relative to the record (``date``, ``evidence[1]``), for a form to show next
to its input. A refused write leaves nothing written. Import and export use the dossier file
format itself, so the command line and the pages work on the same data.

Storage is SQL through any DB-API connection factory: SQLite (``sqlite3``), or PostgreSQL and
MariaDB through the ``shuangyong-sql`` plugin's engine (:meth:`DossierStore.open`); the few
statements that differ between them are a :class:`~shuangyong_server.office.dialects.Dialect`
(the tables, the locks, the parameter style), the store itself is written once. Its tables are
created by :meth:`DossierStore.migrate` (their own ``office_schema`` version, so they can live in
the server's database file beside its tables: :meth:`DossierStore.beside`, or in a database
shared with the ledger), and triggers refuse UPDATE and DELETE, as the ledger's do.

An ``audit`` hook sees every change inside the transaction that writes it, so that the server's
audit log and the dossier are committed together or not at all: that needs both in one database
(:meth:`DossierStore.beside`). When the dossiers are elsewhere, an ``audited`` hook is called with
each change right after its commit instead (the change is never audited unless it was made; a
failure between the two is logged with the whole change, and the change stands). A change's
author is a name, or an :class:`~shuangyong_server.tokens.Actor` (name, role, request id, client
address: what the office pages know of who asks), which the audit hooks are given whole.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sqlite3
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from shuangyong import Text
from shuangyong.compliance.dossier import (
    SCHEMA_VERSION,
    DossierError,
    dossier_from_dict,
    dossier_to_dict,
    parse_dossier,
)
from shuangyong_server.errors import StoreError
from shuangyong_server.office.dialects import SQLITE, Dialect, Mode
from shuangyong_server.tokens import Actor

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from shuangyong.compliance.records import Dossier
    from shuangyong_server.store import ServerStore


class Cursor(Protocol):
    """The part of a DB-API cursor the store uses."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Any:
        """Run one statement."""

    def fetchall(self) -> list[Any]:
        """Every row of the last query."""


class Connection(Protocol):
    """The part of a DB-API connection the store uses."""

    def cursor(self) -> Any:
        """A new cursor."""

    def commit(self) -> None:
        """End the transaction, keeping its writes."""

    def rollback(self) -> None:
        """End the transaction, dropping its writes."""

    def close(self) -> None:
        """Give the connection back."""


_log = logging.getLogger(__name__)
#: the URL schemes ``--dossiers`` takes for a database server (through ``shuangyong-sql``)
SERVER_SCHEMES = ("postgresql+psycopg", "mysql+pymysql", "mariadb+pymysql")
_SQLITE_SCHEMES = ("sqlite", "sqlite+pysqlite")


class NotFound(DossierError, LookupError):
    """No dossier for that unit and year, or no record of that id in it."""


@attrs.frozen(slots=True)
class Version:
    """One stored version of a record: the record as the dossier file writes it, and who wrote it when."""

    record_id: str
    version: int
    record: dict[str, Any]
    retired: bool
    author: str
    at: dt.datetime


@attrs.frozen(slots=True)
class DossierHead:
    """A dossier's unit (as the file writes it) and year, at one of its versions."""

    unit: dict[str, Any]
    year: int
    version: int
    author: str
    at: dt.datetime

    @property
    def unit_id(self) -> str:
        """The unit's id: with the year, what names the dossier."""
        return str(self.unit["id"])

    @property
    def name(self) -> Text:
        """The unit's name, in zh and en."""
        return Text(self.unit["name"]["zh"], self.unit["name"]["en"])


@attrs.frozen(slots=True)
class ImportSummary:
    """What an import changed in the dossier of ``unit_id`` and ``year``: record ids added, changed
    (or restored), retired, and left as they were."""

    unit_id: str
    year: int
    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    retired: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    unit_changed: bool = False


@attrs.frozen(slots=True)
class Change:
    """A write, as the audit hook sees it: who (name, role, request id, client), what
    (``office.record.add``, ``.edit``, ``.retire``, ``office.dossier.create``, ``.unit``,
    ``.import``), on which dossier or record, and details."""

    by: Actor
    action: str
    target: str
    detail: dict[str, Any]

    @property
    def actor(self) -> str:
        """Who made the change: the name its versions record as their author."""
        return self.by.name


#: who wrote a change: a name (a script, an import), or the caller of a page with its request
Author = str | Actor


@attrs.frozen(slots=True)
class _Tx:
    """A transaction's cursor in its database's dialect, the audit hook bound to its connection,
    and the changes it made (for the hook that runs after the commit)."""

    cursor: Cursor
    connection: Connection
    dialect: Dialect
    hook: Callable[[Connection, Change], None] | None
    changes: list[Change] = attrs.field(factory=list)

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> None:
        """Run one statement (written with ``?``). Without parameters none are passed: the
        ``format`` drivers would read a ``%`` in it as one."""
        if parameters:
            self.cursor.execute(self.dialect.sql(sql), parameters)
        else:
            self.cursor.execute(sql)

    def fetchall(self) -> list[Any]:
        """Every row of the last query."""
        return list(self.cursor.fetchall())

    def audit(self, by: Actor, action: str, target: str, **detail: Any) -> None:
        """Record a change with the audit hook, in this transaction."""
        change = Change(by, action, target, detail)
        if self.hook is not None:
            self.hook(self.connection, change)
        self.changes.append(change)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


_SUBFIELD = re.compile(r"^records\[(\d+)\]\.?(.*)$")
#: fields a record-level message may begin with ("until … is before since …", "reached … is more than total …")
_NAMED_IN_MESSAGE = ("type", "location", "until", "since", "reached", "total", "date", "kind")


def _named(error: DossierError) -> str | None:
    """For a check on a whole object (its pydantic model validator), the field its message names first."""
    return next((word for word in re.findall(r"[a-z_]+", error.message.en) if word in _NAMED_IN_MESSAGE), None)


def record_field(error: DossierError, index: int) -> str | None:
    """The field of the record at ``records[index]`` an error is about, relative to the record
    (``date``, ``evidence[1]``); for a check on the whole record, the field its message names
    first; None when the error is about something else."""
    match = _SUBFIELD.match(error.field or "")
    if match is None or int(match.group(1)) != index:
        return None
    return match.group(2) or _named(error)


def _relocated(error: DossierError, field: str | None, cls: type[DossierError] = DossierError) -> DossierError:
    return cls(error.message, record=error.record, field=field, value=error.value)


def _writes_audit_log(server: ServerStore) -> Callable[[Connection, Change], None]:
    """A change into the server's audit log, as an API change is: its author's role, request id
    and address, inside the transaction of ``connection`` (one of the server's file)."""
    def audit(connection: Connection, change: Change) -> None:
        by = change.by
        server.audit(connection, actor=by.name, role=by.role, action=change.action,  # type: ignore[arg-type]
                     target=change.target, request_id=by.request_id, client=by.client, detail=change.detail)
    return audit


def _audits_after(server: ServerStore) -> Callable[[Change], None]:
    """A change into the server's audit log in a transaction of its own (the dossiers are elsewhere)."""
    write = _writes_audit_log(server)

    def audited(change: Change) -> None:
        with server.transaction() as connection:
            write(connection, change)
    return audited


def _sqlite_connect(path: str | Path, timeout: float) -> Callable[[], sqlite3.Connection]:
    """Connections to a SQLite file in autocommit mode: :meth:`DossierStore._transaction` begins
    each transaction itself, a write taking the write lock first."""
    return lambda: sqlite3.connect(str(path), timeout=timeout, isolation_level=None)


def _audit_committed(audited: Callable[[Change], None], changes: list[Change]) -> None:
    """Each committed change to the ``audited`` hook. One it cannot take goes to the server's log,
    whole, for an administrator to enter by hand: the change is made, a 500 would say otherwise."""
    for change in changes:
        try:
            audited(change)
        except Exception:
            _log.exception("office change committed, its audit entry not written: %s", json.dumps(
                {"actor": change.actor, "role": change.by.role, "request_id": change.by.request_id,
                 "client": change.by.client, "action": change.action, "target": change.target,
                 "detail": change.detail}, ensure_ascii=False, sort_keys=True))


def _shown(url: str) -> str:
    """A URL for a message: its password as ``***``."""
    return re.sub(r"(://[^/@:]*:)[^/@]*@", r"\1***@", url)


def _refused(url: str, why: Text) -> StoreError:
    """``--dossiers`` refused: the URL as the record (its password hidden), the option as the field."""
    shown = _shown(url)
    return StoreError(why, record=shown, field="--dossiers", value=shown)


_DOSSIERS_URLS = Text("应为 sqlite:///文件、postgresql+psycopg://… 或 mysql+pymysql://…",
                      "expected sqlite:///FILE, postgresql+psycopg://… or mysql+pymysql://…")


class DossierStore:
    """Dossiers by (unit id, year), each record kept in every version; see the module's docstring.

    ``connect`` returns a new DB-API connection each call, to a database ``dialect`` speaks for
    (SQLite by default); the store closes it after each operation (a pool's goes back to its
    pool). ``clock`` says when a version was written. ``audit`` is called with the connection and
    the :class:`Change` inside each write's transaction, ``audited`` with the change after its
    commit. ``dispose`` lets the connections go, at :meth:`close`.
    """

    def __init__(self, connect: Callable[[], Connection], *, dialect: Dialect = SQLITE,
                 clock: Callable[[], dt.datetime] = _utc_now, audit: Callable[[Connection, Change], None] | None = None,
                 audited: Callable[[Change], None] | None = None, dispose: Callable[[], None] | None = None) -> None:
        self._connect = connect
        self._dialect = dialect
        self._clock = clock
        self._audit = audit
        self._audited = audited
        self._dispose = dispose

    @classmethod
    def sqlite(cls, path: str | Path, **options: Any) -> DossierStore:
        """A store in the SQLite file at ``path``, its tables created or brought up to date."""
        store = cls(_sqlite_connect(path, 30), **options)
        store.migrate()
        return store

    @classmethod
    def beside(cls, server: ServerStore, **options: Any) -> DossierStore:
        """A store in the server's own database file, each change written to its audit log in the
        same transaction, with its author's role, request id and address (as an API change is)."""
        store = cls(_sqlite_connect(server.path, server.timeout), audit=_writes_audit_log(server), **options)
        store.migrate()
        return store

    @classmethod
    def open(cls, url: str, *, audit_to: ServerStore | None = None, audited: Callable[[Change], None] | None = None,
             timeout: float = 30.0, **options: Any) -> DossierStore:
        """The store ``shuangyong serve --dossiers`` names: ``sqlite:///FILE``, or a database server
        through ``shuangyong-sql`` (``postgresql+psycopg://…``, ``mysql+pymysql://…``), its tables
        created or brought up to date. With ``audit_to``, every change goes to that server store's
        audit log: in the same transaction when the URL is the server's own file (:meth:`beside`),
        right after the commit otherwise (or to ``audited``, without ``audit_to``). A URL of no such
        database, the SQL plugin missing, or a database that cannot be opened is a
        :class:`StoreError` naming ``--dossiers``."""
        scheme = url.partition("://")[0]
        if audit_to is not None:
            audited = _audits_after(audit_to)
        reason: Callable[[BaseException], str] = str
        errors: tuple[type[BaseException], ...] = (sqlite3.Error,)
        if scheme in _SQLITE_SCHEMES:
            path = url.partition(":///")[2]
            if not path or path == ":memory:":  # each transaction's connection would be a database of its own
                raise _refused(url, _DOSSIERS_URLS)
            if audit_to is not None and Path(path).resolve() == audit_to.path.resolve():
                store = cls(_sqlite_connect(path, audit_to.timeout), audit=_writes_audit_log(audit_to), **options)
            else:
                store = cls(_sqlite_connect(path, timeout), audited=audited, **options)
        elif scheme in SERVER_SCHEMES:
            try:
                from shuangyong_server.office.sql import connector  # SQLAlchemy: only for a server

                reach = connector(url, timeout)
            except ImportError as missing:
                raise _refused(url, Text(f"PostgreSQL 与 MariaDB 上的档案需要 shuangyong-sql 插件"
                                         f"（pip install -e plugins/shuangyong-sql；{missing}）",
                                         f"dossiers on PostgreSQL or MariaDB need the shuangyong-sql plugin "
                                         f"(pip install -e plugins/shuangyong-sql; {missing})")) from None
            except ValueError:
                raise _refused(url, _DOSSIERS_URLS) from None
            store = cls(reach.connect, dialect=reach.dialect, audited=audited, dispose=reach.dispose, **options)
            errors, reason = reach.errors, reach.reason
        else:
            raise _refused(url, _DOSSIERS_URLS)
        try:
            store.migrate()
        except errors as error:
            store.close()
            raise _refused(url, Text(f"无法打开档案数据库：{reason(error)}",
                                     f"cannot open the dossiers' database: {reason(error)}")) from None
        return store

    def close(self) -> None:
        """Let the connections go (a server's pool); the store is not used after."""
        if self._dispose is not None:
            self._dispose()

    # -- the database ----------------------------------------------------------------------------

    @contextmanager
    def _transaction(self, mode: Mode = "read") -> Iterator[_Tx]:
        """One transaction on a fresh connection, begun as the dialect begins ``mode`` (a write
        locks first, so that what it reads to validate is what it lands on; a read sees one
        moment): committed if the block ends normally, else rolled back. Once committed, the
        ``audited`` hook sees each change it made; a failure there is logged, the change stands."""
        connection = self._connect()
        try:
            tx = _Tx(connection.cursor(), connection, self._dialect, self._audit)
            try:
                for statement in self._dialect.begin[mode]:
                    tx.execute(statement)
                yield tx
                connection.commit()
            except BaseException:
                connection.rollback()
                raise
            finally:
                if mode == "migrate" and self._dialect.unlock is not None:
                    tx.execute(self._dialect.unlock)
        finally:
            connection.close()
        if self._audited is not None:
            _audit_committed(self._audited, tx.changes)

    def migrate(self) -> None:
        """Create the office's tables, or bring them up to the dialect's latest migration, one
        process at a time; at the latest already, it writes nothing and takes no lock."""
        if self.schema_version() >= self._dialect.latest:
            return
        with self._transaction("migrate") as cursor:
            cursor.execute(self._dialect.schema_table)
            cursor.execute("SELECT version FROM office_schema")
            rows = cursor.fetchall()
            current = rows[0][0] if rows else 0
            for version, statements in self._dialect.migrations:
                if version > current:
                    for statement in statements:
                        cursor.execute(statement)
            if not rows:
                cursor.execute("INSERT INTO office_schema (version) VALUES (?)", (self._dialect.latest,))
            elif current < self._dialect.latest:
                cursor.execute("UPDATE office_schema SET version = ?", (self._dialect.latest,))

    def schema_version(self) -> int:
        """The migration the tables are at (0 before :meth:`migrate`)."""
        with self._transaction() as cursor:
            cursor.execute(self._dialect.has_schema)
            if not cursor.fetchall():
                return 0
            cursor.execute("SELECT version FROM office_schema")
            rows = cursor.fetchall()
            return int(rows[0][0]) if rows else 0

    # -- reading ---------------------------------------------------------------------------------

    @staticmethod
    def _head_row(row: Sequence[Any]) -> DossierHead:
        return DossierHead(json.loads(row[0]), int(row[1]), int(row[2]), row[3], dt.datetime.fromisoformat(row[4]))

    @staticmethod
    def _version_row(row: Sequence[Any]) -> Version:
        return Version(row[0], int(row[1]), json.loads(row[2]), bool(row[3]), row[4], dt.datetime.fromisoformat(row[5]))

    def _head(self, cursor: _Tx, unit_id: str, year: int) -> DossierHead:
        cursor.execute("SELECT unit, year, version, author, at FROM office_dossier_versions "
                       "WHERE unit_id = ? AND year = ? ORDER BY version DESC LIMIT 1", (unit_id, year))
        rows = cursor.fetchall()
        if not rows:
            raise NotFound(Text(f"没有单位 {unit_id!r} {year} 年的档案", f"no dossier of unit {unit_id!r} for {year}"),
                           record=f"{unit_id} {year}", field="unit.id", value=unit_id)
        return self._head_row(rows[0])

    def _current(self, cursor: _Tx, unit_id: str, year: int) -> dict[str, Version]:
        """The latest version of every record ever added, retired ones included, by id."""
        cursor.execute(
            "SELECT r.record_id, r.version, r.record, r.retired, r.author, r.at FROM office_record_versions r "
            "WHERE r.unit_id = ? AND r.year = ? AND r.version = (SELECT MAX(o.version) FROM office_record_versions o "
            "WHERE o.unit_id = r.unit_id AND o.year = r.year AND o.record_id = r.record_id) ORDER BY r.record_id",
            (unit_id, year))
        return {row[0]: self._version_row(row) for row in cursor.fetchall()}

    def dossiers(self, unit_id: str | None = None) -> list[DossierHead]:
        """Every dossier (of ``unit_id`` alone, if given: what a token kept to it lists), at its
        latest version, by unit id then year."""
        with self._transaction() as cursor:
            # the condition only when there is a unit: PostgreSQL cannot type a NULL parameter in "? IS NULL"
            only, parameters = ("AND d.unit_id = ? ", (unit_id,)) if unit_id is not None else ("", ())
            cursor.execute(
                "SELECT d.unit, d.year, d.version, d.author, d.at FROM office_dossier_versions d "
                "WHERE d.version = (SELECT MAX(o.version) FROM office_dossier_versions o "
                f"WHERE o.unit_id = d.unit_id AND o.year = d.year) {only}ORDER BY d.unit_id, d.year", parameters)
            return [self._head_row(row) for row in cursor.fetchall()]

    def head(self, unit_id: str, year: int) -> DossierHead:
        """The dossier's unit and year at its latest version; :class:`NotFound` if there is none."""
        with self._transaction() as cursor:
            return self._head(cursor, unit_id, year)

    def records(self, unit_id: str, year: int, *, retired: bool = False) -> list[Version]:
        """The current version of each record (with ``retired``, of the retired ones too), by id."""
        with self._transaction() as cursor:
            self._head(cursor, unit_id, year)
            return [v for v in self._current(cursor, unit_id, year).values() if retired or not v.retired]

    def history(self, unit_id: str, year: int, record_id: str) -> list[Version]:
        """Every version of one record, oldest first; :class:`NotFound` if it was never added."""
        with self._transaction() as cursor:
            cursor.execute("SELECT record_id, version, record, retired, author, at FROM office_record_versions "
                           "WHERE unit_id = ? AND year = ? AND record_id = ? ORDER BY version",
                           (unit_id, year, record_id))
            found = [self._version_row(row) for row in cursor.fetchall()]
        if not found:
            raise self._no_record(unit_id, year, record_id)
        return found

    def changes(self, unit_id: str, year: int, limit: int = 20) -> list[Version]:
        """The latest versions written in the dossier, newest first: who changed what, when."""
        with self._transaction() as cursor:
            cursor.execute("SELECT record_id, version, record, retired, author, at FROM office_record_versions "
                           "WHERE unit_id = ? AND year = ? ORDER BY at DESC, record_id, version DESC LIMIT ?",
                           (unit_id, year, limit))
            return [self._version_row(row) for row in cursor.fetchall()]

    def dossier(self, unit_id: str, year: int) -> Dossier:
        """The current dossier, as ``shuangyong compliance`` would read its exported file."""
        return dossier_from_dict(self.export(unit_id, year), self._origin(unit_id, year))

    def export(self, unit_id: str, year: int) -> dict[str, Any]:
        """The current dossier in the file format (``dossier_to_dict``'s form; dump it as JSON or YAML)."""
        with self._transaction() as cursor:
            head = self._head(cursor, unit_id, year)
            live = [v.record for v in self._current(cursor, unit_id, year).values() if not v.retired]
        return dossier_to_dict(self._checked(head.unit, year, live, self._origin(unit_id, year)))

    # -- writing ---------------------------------------------------------------------------------

    @staticmethod
    def _origin(unit_id: str, year: int) -> str:
        return f"{unit_id} {year}"

    @staticmethod
    def _no_record(unit_id: str, year: int, record_id: str) -> NotFound:
        return NotFound(Text(f"档案中没有编号为 {record_id!r} 的记录", f"the dossier has no record {record_id!r}"),
                        record=f"{unit_id} {year}", field="id", value=record_id)

    @staticmethod
    def _checked(unit: dict[str, Any], year: int, records: list[dict[str, Any]], origin: str) -> Dossier:
        """The loader's own validation of the candidate dossier."""
        return dossier_from_dict({"schema_version": SCHEMA_VERSION, "unit": unit, "year": year,
                                  "records": records}, origin)

    def _author(self, author: Author) -> tuple[Actor, str]:
        """Who writes (a bare name gets a request id of its own, for the audit hook) and when."""
        name = author.name if isinstance(author, Actor) else author
        if not isinstance(name, str) or not name.strip():
            raise DossierError(Text("每次修改都要记下修改人", "every change must name who made it"),
                               field="author", value=name)
        who = author if isinstance(author, Actor) else Actor(name, None, f"office-{uuid.uuid4().hex}")
        return who, self._clock().isoformat()

    def create(self, unit: dict[str, Any], year: Any, author: Author) -> DossierHead:
        """Start a dossier with no records; refused if the unit already has one for the year.

        ``unit`` is as the dossier file writes it (id, name {zh, en}, kind, head, region); an error
        names the field (``unit.kind``, ``year``).
        """
        by, at = self._author(author)
        try:
            checked = self._checked(unit, year, [], "<new dossier>")
        except DossierError as error:
            if error.field != "unit":
                raise
            named = _named(error)
            raise _relocated(error, f"unit.{named}" if named else "unit") from None
        head = dossier_to_dict(checked)
        unit_id, year = checked.unit.id, checked.year
        with self._transaction("write") as cursor:
            cursor.execute("SELECT 1 FROM office_dossier_versions WHERE unit_id = ? AND year = ?", (unit_id, year))
            if cursor.fetchall():
                raise DossierError(Text(f"单位 {unit_id!r} 已有 {year} 年的档案",
                                        f"unit {unit_id!r} already has a dossier for {year}"),
                                   record=self._origin(unit_id, year), field="unit.id", value=unit_id)
            self._insert_head(cursor, head["unit"], year, 1, by.name, at)
            cursor.audit(by, "office.dossier.create", self._origin(unit_id, year))
        return DossierHead(head["unit"], year, 1, by.name, dt.datetime.fromisoformat(at))

    def update_unit(self, unit_id: str, year: int, unit: dict[str, Any], author: Author) -> DossierHead:
        """A new version of the dossier's unit (its head, name, region); its id cannot change."""
        by, at = self._author(author)
        with self._transaction("write") as cursor:
            head = self._head(cursor, unit_id, year)
            if unit.get("id") != unit_id:
                raise DossierError(Text("单位编号不能修改（它与年份一起标识档案）",
                                        "the unit's id cannot change (with the year, it names the dossier)"),
                                   record=self._origin(unit_id, year), field="unit.id", value=unit.get("id"))
            live = [v.record for v in self._current(cursor, unit_id, year).values() if not v.retired]
            new = dossier_to_dict(self._checked(unit, year, live, self._origin(unit_id, year)))["unit"]
            if new == head.unit:
                return head
            self._insert_head(cursor, new, year, head.version + 1, by.name, at)
            cursor.audit(by, "office.dossier.unit", self._origin(unit_id, year), version=head.version + 1)
        return DossierHead(new, year, head.version + 1, by.name, dt.datetime.fromisoformat(at))

    def add(self, unit_id: str, year: int, record: dict[str, Any], author: Author) -> Version:
        """Add a record (version 1); an id in use, or once used by a retired record, is refused."""
        return self._write(unit_id, year, record, author, adding=True, expect=None)

    def edit(self, unit_id: str, year: int, record: dict[str, Any], author: Author, *,
             expect: int | None = None) -> Version:
        """A new version of the record with ``record["id"]``; with ``expect``, refused unless that is
        still its latest version (someone else saved in between). Saving it unchanged writes nothing."""
        return self._write(unit_id, year, record, author, adding=False, expect=expect)

    def retire(self, unit_id: str, year: int, record_id: str, author: Author, *, expect: int | None = None) -> Version:
        """Take a record out of the dossier: a new version marked retired; the record stays in its history."""
        by, at = self._author(author)
        with self._transaction("write") as cursor:
            self._head(cursor, unit_id, year)
            existing = self._current(cursor, unit_id, year).get(record_id)
            self._check_editable(existing, unit_id, year, record_id, expect)
            assert existing is not None
            version = attrs.evolve(existing, version=existing.version + 1, retired=True, author=by.name,
                                   at=dt.datetime.fromisoformat(at))
            self._insert_version(cursor, unit_id, year, version)
            cursor.audit(by, "office.record.retire", f"{self._origin(unit_id, year)}: {record_id}",
                         version=version.version)
        return version

    def _check_editable(self, existing: Version | None, unit_id: str, year: int, record_id: str,
                        expect: int | None) -> None:
        origin = self._origin(unit_id, year)
        if existing is None:
            raise self._no_record(unit_id, year, record_id)
        if existing.retired:
            raise DossierError(Text(f"记录 {record_id!r} 已停用，不能再修改（历史仍保留）",
                                    f"record {record_id!r} is retired and cannot be changed (its history is kept)"),
                               record=f"{origin}: {record_id}", field="id", value=record_id)
        if expect is not None and existing.version != expect:
            raise DossierError(
                Text(f"记录 {record_id!r} 已被 {existing.author} 于 {existing.at:%Y-%m-%d %H:%M} 改为第 "
                     f"{existing.version} 版，请重新打开后再改",
                     f"record {record_id!r} was changed meanwhile by {existing.author} at "
                     f"{existing.at:%Y-%m-%d %H:%M} (now version {existing.version}): open it again and redo "
                     "the change"),
                record=f"{origin}: {record_id}", field="version", value=expect)

    def _write(self, unit_id: str, year: int, record: dict[str, Any], author: Author, *, adding: bool,
               expect: int | None) -> Version:
        by, at = self._author(author)
        origin = self._origin(unit_id, year)
        record_id = record.get("id")
        with self._transaction("write") as cursor:
            head = self._head(cursor, unit_id, year)
            current = self._current(cursor, unit_id, year)
            existing = current.get(record_id) if isinstance(record_id, str) else None
            if adding and existing is not None:
                why = Text("已停用，编号不再使用（见历史）", "was retired; ids are not reused (see its history)") \
                    if existing.retired else Text("已存在", "exists already")
                raise DossierError(Text(f"记录编号 {record_id!r} {why.zh}", f"record id {record_id!r} {why.en}"),
                                   record=f"{origin}: {record_id}", field="id", value=record_id)
            if not adding:
                self._check_editable(existing, unit_id, year, str(record_id), expect)
            others = [v.record for key, v in current.items() if not v.retired and key != record_id]
            try:
                checked = self._checked(head.unit, year, [*others, record], origin)
            except DossierError as error:
                field = record_field(error, len(others))
                raise _relocated(error, field) from None
            written = next(item for item in dossier_to_dict(checked)["records"] if item["id"] == record_id)
            if existing is not None and written == existing.record:
                return existing
            version = Version(written["id"], existing.version + 1 if existing else 1, written, False, by.name,
                              dt.datetime.fromisoformat(at))
            self._insert_version(cursor, unit_id, year, version)
            cursor.audit(by, "office.record.add" if adding else "office.record.edit",
                         f"{origin}: {version.record_id}", version=version.version)
        return version

    def import_text(self, text: str, origin: str, author: Author) -> ImportSummary:
        """Import a dossier file's text (YAML or JSON), read as ``shuangyong compliance`` reads it."""
        return self.import_dossier(parse_dossier(text, origin), author)

    def import_dossier(self, dossier: Dossier, author: Author) -> ImportSummary:
        """Make the stored dossier what ``dossier`` says, in one transaction: records new to it are
        added, changed ones get a version, retired ones present in it come back, and records it
        lacks are retired. Importing what was exported changes nothing."""
        by, at = self._author(author)
        when = dt.datetime.fromisoformat(at)
        data = dossier_to_dict(dossier)
        unit_id, year = dossier.unit.id, dossier.year
        added: list[str] = []
        changed: list[str] = []
        unchanged: list[str] = []
        with self._transaction("write") as cursor:
            try:
                head: DossierHead | None = self._head(cursor, unit_id, year)
            except NotFound:
                head = None
            unit_changed = head is None or head.unit != data["unit"]
            if unit_changed:
                self._insert_head(cursor, data["unit"], year, head.version + 1 if head else 1, by.name, at)
            current = self._current(cursor, unit_id, year)
            for record in data["records"]:
                existing = current.pop(record["id"], None)
                if existing is not None and not existing.retired and existing.record == record:
                    unchanged.append(record["id"])
                    continue
                (changed if existing else added).append(record["id"])
                self._insert_version(cursor, unit_id, year, Version(
                    record["id"], existing.version + 1 if existing else 1, record, False, by.name, when))
            retired = [key for key, v in current.items() if not v.retired]
            for key in retired:
                self._insert_version(cursor, unit_id, year, attrs.evolve(
                    current[key], version=current[key].version + 1, retired=True, author=by.name, at=when))
            cursor.audit(by, "office.dossier.import", self._origin(unit_id, year), added=added, changed=changed,
                         retired=retired, unit_changed=unit_changed)
        return ImportSummary(unit_id, year, tuple(added), tuple(changed), tuple(retired), tuple(unchanged),
                             unit_changed and head is not None)

    @staticmethod
    def _insert_head(cursor: _Tx, unit: dict[str, Any], year: int, version: int, author: str, at: str) -> None:
        cursor.execute("INSERT INTO office_dossier_versions (unit_id, year, version, unit, author, at) "
                       "VALUES (?, ?, ?, ?, ?, ?)",
                       (unit["id"], year, version, json.dumps(unit, ensure_ascii=False, sort_keys=True), author, at))

    @staticmethod
    def _insert_version(cursor: _Tx, unit_id: str, year: int, version: Version) -> None:
        cursor.execute("INSERT INTO office_record_versions (unit_id, year, record_id, version, record, retired, "
                       "author, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (unit_id, year, version.record_id, version.version,
                        json.dumps(version.record, ensure_ascii=False, sort_keys=True), int(version.retired),
                        version.author, version.at.isoformat()))
