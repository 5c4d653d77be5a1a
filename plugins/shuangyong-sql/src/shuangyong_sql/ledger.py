"""The ledger on a SQL database through SQLAlchemy 2 Core: storage only, the rules stay in
:class:`shuangyong.ledger.Ledger`.

The base class needs the chain's head held exclusively from ``head()`` to commit. On PostgreSQL
and MariaDB a writer locks the one row of ``shuangyong_head`` (``SELECT … FOR UPDATE``) and runs
at READ COMMITTED, so everything it reads after the lock includes every earlier writer's commit;
on SQLite ``BEGIN IMMEDIATE`` takes the file's write lock. A writer that dies (even by SIGKILL)
loses its connection, the server rolls its transaction back and releases the lock.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import sqlalchemy as sa
from typing_extensions import override

from shuangyong import LedgerError, Text
from shuangyong.plugins import Ledger, Posting, first_head
from shuangyong_sql.engine import engine, reason
from shuangyong_sql.schema import MAX_TEXT, MIGRATIONS, VERSION_TABLE, postings_table, settings_table

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from sqlalchemy.engine import Connection

    from shuangyong.ledger.posting import CapKey

_KEY_BATCH = 500  #: keys per ``IN (…)`` list, well under every server's parameter limit
_TEXT_FIELDS = ("visit_id", "line_id", "rule_id", "payer", "category", "patient_key", "item")
_MIGRATION_LOCK = "shuangyong_ledger_migrate"
_COLUMNS = tuple(field.name for field in attrs.fields(Posting))


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), _KEY_BATCH):
        yield values[start:start + _KEY_BATCH]


class _SQLTransaction:
    def __init__(self, connection: Connection, table: sa.Table, dialect: str) -> None:
        self.connection = connection
        self.table = table
        self.dialect = dialect
        self.settings = settings_table(dialect)

    def _rows(self, *where: Any, limit: int | None = None, newest_first: bool = False) -> list[Posting]:
        order = self.table.c.seq.desc() if newest_first else self.table.c.seq
        query = sa.select(*(self.table.c[name] for name in _COLUMNS)).where(*where).order_by(order).limit(limit)
        return [Posting.from_row(row) for row in self.connection.execute(query).mappings()]

    def head(self) -> tuple[int, str]:
        if self.dialect != "sqlite":  # SQLite's BEGIN IMMEDIATE already holds the file
            self.connection.execute(sa.text("SELECT id FROM shuangyong_head WHERE id = 1 FOR UPDATE"))
        last = self._rows(limit=1, newest_first=True)
        return first_head(last[0] if last else None)

    def visit_rows(self, visit_ids: Iterable[str]) -> list[Posting]:
        rows = [row for chunk in _chunks(sorted(set(visit_ids)))
                for row in self._rows(self.table.c.visit_id.in_(chunk))]
        return sorted(rows, key=lambda row: row.seq)

    def used(self, keys: Iterable[CapKey]) -> dict[CapKey, int]:
        c = self.table.c
        signed = sa.case((c.kind == "grant", c.granted_fen), else_=-c.granted_fen)
        totals: dict[CapKey, int] = {}
        for chunk in _chunks(sorted(set(keys))):
            query = (sa.select(c.patient_key, c.rule_id, c.payer, c.year, sa.func.sum(signed))
                     .where(sa.tuple_(c.patient_key, c.rule_id, c.payer, c.year).in_(chunk))
                     .group_by(c.patient_key, c.rule_id, c.payer, c.year))
            for patient, rule, payer, year, total in self.connection.execute(query):
                totals[(patient, rule, payer, year)] = int(total)
        return totals

    def posting(self, seq: int) -> Posting | None:
        rows = self._rows(self.table.c.seq == seq)
        return rows[0] if rows else None

    def reversal_of(self, seq: int) -> Posting | None:
        rows = self._rows(self.table.c.reverses == seq)
        return rows[0] if rows else None

    def setting(self, name: str) -> str | None:
        query = sa.select(self.settings.c.value).where(self.settings.c.name == name)
        return self.connection.execute(query).scalar_one_or_none()

    def fix_setting(self, name: str, value: str) -> None:
        self.connection.execute(sa.insert(self.settings), {"name": name, "value": value})

    def insert(self, postings: Sequence[Posting]) -> None:
        if not postings:
            return
        for posting in postings:
            for name in _TEXT_FIELDS:
                if len(getattr(posting, name)) > MAX_TEXT:
                    raise LedgerError(Text(f"{name} 超过 {MAX_TEXT} 个字符，SQL 账本存不下",
                                           f"{name} is longer than {MAX_TEXT} characters, "
                                           "more than the SQL ledger holds"),
                                      record=f"{posting.visit_id[:40]}/{posting.line_id[:40]}", field=name)
        self.connection.execute(sa.insert(self.table), [_values(p, self.dialect) for p in postings])

def _values(posting: Posting, dialect: str) -> dict[str, Any]:
    """Native dates for the servers; the built-in file's ISO text on SQLite, so the files agree."""
    row = posting.as_dict() if dialect == "sqlite" else attrs.asdict(posting)
    row["year"] = posting.business_date.year
    return row


class SQLLedger(Ledger):
    """A ledger in a SQL database, created and migrated on first open; any number of processes
    on any number of machines can post to it at once."""

    def __init__(self, url: str, *, timeout: float = 60.0, create: bool = True) -> None:
        try:
            parsed = sa.make_url(url)
        except sa.exc.ArgumentError:
            raise LedgerError(Text(f"账本地址 {url!r} 不是数据库地址", f"ledger URL {url!r} is not a database URL"),
                              record=url, field="ledger") from None
        self.url = parsed.render_as_string(hide_password=True)
        self.dialect = parsed.get_backend_name()
        if self.dialect not in MIGRATIONS:
            raise LedgerError(Text(f"SQL 账本不支持数据库 {self.dialect}（支持 PostgreSQL、MariaDB/MySQL、SQLite）",
                                   f"the SQL ledger does not support {self.dialect} "
                                   "(PostgreSQL, MariaDB/MySQL and SQLite are supported)"),
                              record=self.url, field="ledger")
        if not create and self.dialect == "sqlite" and not (parsed.database and Path(parsed.database).is_file()):
            raise self._missing(Text("文件不存在", "the file does not exist"))
        self.table = postings_table(self.dialect)
        self.engine = engine(parsed, timeout)
        try:
            with self._mapped(Text("无法打开账本", "cannot open the ledger")):
                self._migrate(create)
        except LedgerError:
            self.engine.dispose()
            raise

    def _missing(self, why: Text) -> LedgerError:
        return LedgerError(Text(f"{self.url} 中没有账本（{why.zh}；只有 evaluate --post 会新建账本）",
                                f"there is no ledger at {self.url} ({why.en}; only evaluate --post creates a ledger)"),
                           record=self.url, field="ledger")

    @contextmanager
    def _mapped(self, doing: Text) -> Iterator[None]:
        """Any database error as a :class:`LedgerError` naming the ledger, with the server's reason."""
        try:
            yield
        except sa.exc.DBAPIError as error:
            raise LedgerError(Text(f"{doing.zh}：{reason(error)}（账本 {self.url}）",
                                   f"{doing.en}: {reason(error)} (ledger {self.url})"),
                              record=self.url, field="ledger") from None

    @property
    def schema_version(self) -> int:
        """The newest migration applied to the database (0 before the first)."""
        with self.engine.connect() as connection:
            return connection.execute(sa.text(f"SELECT MAX(version) FROM {VERSION_TABLE}")).scalar_one() or 0

    def _migrate(self, create: bool) -> None:
        """Apply each migration once, one process at a time (MariaDB commits DDL as it goes, so a
        named lock, not the transaction, is what keeps two first openers apart). Without
        ``create``, a database without the ledger's tables is refused, not given them; on SQLite
        a file holding other tables is refused either way."""
        tables = set(sa.inspect(self.engine).get_table_names())
        if VERSION_TABLE not in tables or self.table.name not in tables:
            if self.dialect == "sqlite" and tables - {VERSION_TABLE}:
                raise LedgerError(Text(f"{self.url} 是别的 SQLite 数据库（有表 {', '.join(sorted(tables))}），不是账本",
                                       f"{self.url} is another SQLite database (tables {', '.join(sorted(tables))}), "
                                       "not a shuangyong ledger"), record=self.url, field="ledger")
            if not create:
                raise self._missing(Text(f"没有 {self.table.name} 表", f"no {self.table.name} table"))
        elif self.schema_version >= MIGRATIONS[self.dialect][-1][0]:
            return  # nothing to write: an account that may only read can verify and export
        with self.engine.connect() as connection, self._migration_lock(connection), connection.begin():
            connection.exec_driver_sql(f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version INTEGER NOT NULL)")
            current = connection.execute(sa.text(f"SELECT MAX(version) FROM {VERSION_TABLE}")).scalar_one() or 0
            for version, statements in MIGRATIONS[self.dialect]:
                if version > current:
                    for statement in statements:
                        connection.exec_driver_sql(statement)
                    connection.execute(sa.text(f"INSERT INTO {VERSION_TABLE} (version) VALUES (:version)"),
                                       {"version": version})

    @contextmanager
    def _migration_lock(self, connection: Connection) -> Iterator[None]:
        locks = {
            "postgresql": ("SELECT pg_advisory_lock(hashtext(:name))", "SELECT pg_advisory_unlock(hashtext(:name))"),
            "mysql": ("SELECT GET_LOCK(:name, 600)", "SELECT RELEASE_LOCK(:name)"),
            "mariadb": ("SELECT GET_LOCK(:name, 600)", "SELECT RELEASE_LOCK(:name)"),
        }
        if self.dialect not in locks:  # SQLite: BEGIN IMMEDIATE is the lock
            yield
            return
        lock, unlock = locks[self.dialect]
        with connection.begin():
            connection.execute(sa.text(lock), {"name": _MIGRATION_LOCK})
        try:
            yield
        finally:
            with connection.begin():
                connection.execute(sa.text(unlock), {"name": _MIGRATION_LOCK})

    @override
    @contextmanager
    def transaction(self) -> Iterator[_SQLTransaction]:
        with self._mapped(Text("账本数据库拒绝了这次写入，未写入任何记录",
                                       "the ledger database refused the write; nothing was written")), \
                self.engine.begin() as connection:
            yield _SQLTransaction(connection, self.table, self.dialect)

    def head(self) -> tuple[int, str]:
        """The last row by the primary key, without locking the head (an account that may only
        read has a head too)."""
        query = sa.select(*(self.table.c[name] for name in _COLUMNS)).order_by(self.table.c.seq.desc()).limit(1)
        with self._mapped(Text("无法读取账本", "cannot read the ledger")), self.engine.connect() as connection:
            last = connection.execute(query).mappings().first()
        return first_head(None if last is None else Posting.from_row(last))

    @override
    def postings(self) -> Iterator[Posting]:
        query = sa.select(*(self.table.c[name] for name in _COLUMNS)).order_by(self.table.c.seq)
        with self._mapped(Text("无法读取账本", "cannot read the ledger")), self.engine.connect() as connection:
            result = connection.execution_options(yield_per=1000).execute(query)
            try:  # a reader that stops early still closes the server-side cursor
                for row in result.mappings():
                    yield Posting.from_row(row)
            finally:
                result.close()

    @override
    def close(self) -> None:
        self.engine.dispose()
