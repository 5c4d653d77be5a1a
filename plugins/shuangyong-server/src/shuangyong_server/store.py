"""The server's own state in one SQLite file (standard library only): API tokens, the audit log
and idempotency records (the office's dossiers and their history have tables of their own in the
same file: :mod:`shuangyong_server.office.dossiers`).

The schema is a list of numbered migrations (:data:`MIGRATIONS`), each applied once, in order, in
one transaction, the version kept in the file: a feature that needs a table (the office pages'
dossiers, with their history) appends a migration and never edits one already released. Every
write goes through :meth:`ServerStore.transaction` (``BEGIN IMMEDIATE``: one writer at a time, the
others wait up to ``timeout``), so that a change and its audit entry are committed together or
not at all. Triggers keep the audit log append-only even for someone with a SQL prompt.

SQLite only: the server keeps little state and one file beside it is what a hospital can back
up; the ledger, which holds the money, can be on PostgreSQL or MariaDB (``shuangyong-sql``).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from shuangyong import Text
from shuangyong_server.errors import StoreError

if TYPE_CHECKING:
    from collections.abc import Iterator

#: (version, statements): applied in order, each once. Append; never edit a released one.
MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (1, (
        # a token is only ever revoked: its other columns never change, and no row is deleted
        """CREATE TABLE tokens (
            id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, secret_sha256 TEXT NOT NULL,
            created_at TEXT NOT NULL, created_by TEXT NOT NULL, revoked_at TEXT, revoked_by TEXT)""",
        "CREATE UNIQUE INDEX tokens_live_name ON tokens (name) WHERE revoked_at IS NULL",
        "CREATE TRIGGER tokens_no_delete BEFORE DELETE ON tokens "
        "BEGIN SELECT RAISE(ABORT, 'shuangyong server tokens are revoked, never deleted'); END",
        "CREATE TRIGGER tokens_revoke_only BEFORE UPDATE ON tokens WHEN OLD.revoked_at IS NOT NULL "
        "OR NEW.id IS NOT OLD.id OR NEW.name IS NOT OLD.name OR NEW.role IS NOT OLD.role "
        "OR NEW.secret_sha256 IS NOT OLD.secret_sha256 OR NEW.created_at IS NOT OLD.created_at "
        "OR NEW.created_by IS NOT OLD.created_by "
        "BEGIN SELECT RAISE(ABORT, 'a shuangyong server token is only ever revoked'); END",
        """CREATE TABLE audit_log (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor TEXT NOT NULL, role TEXT,
            action TEXT NOT NULL, target TEXT, request_id TEXT NOT NULL, client TEXT,
            detail TEXT NOT NULL DEFAULT '{}')""",
        "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'the shuangyong server audit log is append-only'); END",
        "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'the shuangyong server audit log is append-only'); END",
        # one row per (token, key): reserved before the work, completed with the answer after it
        """CREATE TABLE idempotency (
            token_id TEXT NOT NULL REFERENCES tokens (id), key TEXT NOT NULL, request_sha256 TEXT NOT NULL,
            reserved_at TEXT NOT NULL, status INTEGER, media_type TEXT, body BLOB, completed_at TEXT,
            PRIMARY KEY (token_id, key))""",
    )),
    (2, (
        # keys the server makes once and keeps, so that a restart or a second worker on the same
        # file signs and reads what the first did (the office pages' session cookies)
        "CREATE TABLE secrets (name TEXT PRIMARY KEY, value BLOB NOT NULL, created_at TEXT NOT NULL)",
    )),
    (3, (
        # an office token may be kept to one unit's dossiers (NULL: every unit, a health bureau's
        # office); no other role has a unit. A trigger cannot be altered: the one that keeps tokens
        # revoke-only is dropped and made again with the unit among the columns that never change
        "ALTER TABLE tokens ADD COLUMN unit TEXT CHECK (unit IS NULL OR (role = 'office' AND unit <> ''))",
        "DROP TRIGGER tokens_revoke_only",
        "CREATE TRIGGER tokens_revoke_only BEFORE UPDATE ON tokens WHEN OLD.revoked_at IS NOT NULL "
        "OR NEW.id IS NOT OLD.id OR NEW.name IS NOT OLD.name OR NEW.role IS NOT OLD.role "
        "OR NEW.secret_sha256 IS NOT OLD.secret_sha256 OR NEW.created_at IS NOT OLD.created_at "
        "OR NEW.created_by IS NOT OLD.created_by OR NEW.unit IS NOT OLD.unit "
        "BEGIN SELECT RAISE(ABORT, 'a shuangyong server token is only ever revoked'); END",
    )),
)
LATEST = MIGRATIONS[-1][0]
_SCHEMA_TABLE = "server_schema"


def utc_now() -> str:
    """Now, in UTC, as ISO 8601 with microseconds and ``Z``: sorts as it reads."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def store_path(url: str) -> Path:
    """``sqlite:///server.db`` → ``server.db``; ``sqlite:////var/lib/x.db`` → ``/var/lib/x.db``. Not
    ``:memory:``: every transaction opens its own connection, which would be a database of its own."""
    if not url.startswith("sqlite:///") or url == "sqlite:///" or url.endswith("/:memory:"):
        raise StoreError(Text(f"服务数据库地址应为 sqlite:///文件路径（不能是 :memory:），收到 {url!r}",
                              f"the server's database URL is sqlite:///PATH (a file, not :memory:), got {url!r}"),
                         record=url, field="store")
    return Path(url.removeprefix("sqlite:///"))


@attrs.frozen(slots=True)
class AuditEntry:
    """One row of the audit log: who did what, when (UTC), in which request."""

    seq: int
    at: str
    actor: str
    role: str | None
    action: str
    target: str | None
    request_id: str
    client: str | None
    detail: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """The entry as the audit endpoint answers it."""
        return attrs.asdict(self)


class ServerStore:
    """The server's database. ``create`` makes and migrates a missing file (``serve``,
    ``token add``); without it a missing file is refused (``token list``), never created. A file
    that holds other tables (a ledger given by mistake) is refused, never changed.

    Cheap to share between threads: each transaction opens its own connection (SQLite's
    connections belong to the thread that opened them).
    """

    def __init__(self, url: str, *, create: bool = True, timeout: float = 30.0) -> None:
        self.url = url
        self.path = store_path(url)
        self.timeout = timeout
        if not create and not self.path.is_file():
            raise StoreError(Text(f"服务数据库 {self.path} 不存在（shuangyong serve 或 server token add 会新建）",
                                  f"there is no server database {self.path} (shuangyong serve or "
                                  "server token add creates it)"), record=url, field="store")
        self._migrate()

    def _connect(self) -> sqlite3.Connection:
        with self._mapped(Text("无法打开服务数据库", "cannot open the server's database")):
            connection = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        connection.row_factory = sqlite3.Row
        return connection

    @contextmanager
    def _mapped(self, doing: Text) -> Iterator[None]:
        """Any ``sqlite3`` error as a :class:`StoreError` naming the file, with SQLite's reason."""
        try:
            yield
        except sqlite3.Error as error:
            raise StoreError(Text(f"{doing.zh}：{error}（服务数据库 {self.path}）",
                                  f"{doing.en}: {error} (server database {self.path})"),
                             record=self.url, field="store") from None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A connection inside ``BEGIN IMMEDIATE``: committed when the block ends, rolled back if it
        raises. The one way to write: a change and its audit entry go in together."""
        connection = self._connect()
        try:
            with self._mapped(Text("写入服务数据库失败", "cannot write the server's database")):
                connection.execute("BEGIN IMMEDIATE")
                try:
                    yield connection
                    connection.execute("COMMIT")
                except BaseException:
                    if connection.in_transaction:
                        connection.execute("ROLLBACK")
                    raise
        finally:
            connection.close()

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """A connection for reads (a consistent snapshot within one statement)."""
        connection = self._connect()
        try:
            with self._mapped(Text("读取服务数据库失败", "cannot read the server's database")):
                yield connection
        finally:
            connection.close()

    def _migrate(self) -> None:
        with self.reading() as connection:
            tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if tables and _SCHEMA_TABLE not in tables:
            names = ", ".join(sorted(tables))
            raise StoreError(Text(f"文件 {self.path} 是别的 SQLite 数据库（有表 {names}），不是服务数据库",
                                  f"{self.path} is another SQLite database (tables {names}), not a shuangyong "
                                  "server database"), record=self.url, field="store")
        if tables and self.version() >= LATEST:
            return
        if not tables:  # readers then never wait for a writer (a token check beside a posting); kept in the file
            with self.reading() as connection:
                connection.execute("PRAGMA journal_mode = WAL")
        with self.transaction() as connection:
            connection.execute(f"CREATE TABLE IF NOT EXISTS {_SCHEMA_TABLE} (version INTEGER NOT NULL, "
                               "applied_at TEXT NOT NULL)")
            current = _version(connection)
            for version, statements in MIGRATIONS:
                if version > current:
                    for statement in statements:
                        connection.execute(statement)
                    connection.execute(f"INSERT INTO {_SCHEMA_TABLE} (version, applied_at) VALUES (?, ?)",
                                       (version, utc_now()))

    def version(self) -> int:
        """The schema version the file is at (readiness reports it)."""
        with self.reading() as connection:
            return _version(connection)

    def secret(self, name: str) -> bytes:
        """The 32 random bytes kept under ``name``, made the first time they are asked for: every
        process that opens this file gets the same ones (whoever makes them first wins)."""
        with self.transaction() as connection:
            connection.execute("INSERT OR IGNORE INTO secrets (name, value, created_at) VALUES (?, ?, ?)",
                               (name, secrets.token_bytes(32), utc_now()))
            return bytes(connection.execute("SELECT value FROM secrets WHERE name = ?", (name,)).fetchone()[0])

    def audit(self, connection: sqlite3.Connection, *, actor: str, role: str | None, action: str,
              target: str | None, request_id: str, client: str | None = None,
              detail: dict[str, Any] | None = None) -> int:
        """Append an entry inside the caller's transaction (that of the change it records); its seq."""
        cursor = connection.execute(
            "INSERT INTO audit_log (at, actor, role, action, target, request_id, client, detail) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (utc_now(), actor, role, action, target, request_id, client,
             json.dumps(detail or {}, ensure_ascii=False, sort_keys=True)))
        return int(cursor.lastrowid or 0)

    def audit_log(self, *, after: int = 0, limit: int = 1000) -> list[AuditEntry]:
        """The entries after seq ``after``, oldest first, at most ``limit``."""
        with self.reading() as connection:
            rows = connection.execute("SELECT * FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit))
            return [AuditEntry(**{**dict(row), "detail": json.loads(row["detail"])}) for row in rows]


def _version(connection: sqlite3.Connection) -> int:
    row = connection.execute(f"SELECT MAX(version) FROM {_SCHEMA_TABLE}").fetchone()
    return int(row[0] or 0)
