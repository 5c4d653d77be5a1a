"""The SQL that differs between the databases the dossiers can live in: their tables (numbered
migrations, each applied once), how a transaction begins, and the parameter style.

The store (:class:`~shuangyong_server.office.dossiers.DossierStore`) writes its queries once, in
``qmark`` style, in SQL every database reads alike; what a :class:`Dialect` holds is what cannot be
written once:

- **Append-only.** Triggers refuse UPDATE and DELETE on every version row: SQLite's
  ``RAISE(ABORT)``, a PL/pgSQL function on PostgreSQL (also refusing TRUNCATE), ``SIGNAL SQLSTATE
  '45000'`` on MariaDB (which has no trigger on TRUNCATE: withhold that privilege).
- **One writer at a time.** What a write checks (the version it edits is still the latest, the
  id is not in use, the whole dossier still loads) must be what it lands on. SQLite's ``BEGIN
  IMMEDIATE`` takes the file's write lock; on PostgreSQL and MariaDB a write first locks the one
  row of ``office_lock`` (``SELECT … FOR UPDATE``, as the ledger locks its head) and runs at READ
  COMMITTED, so everything it reads after the lock includes every earlier writer's commit. Office
  edits are few: writers taking turns costs nothing, and a dossier not yet created is covered too.
- **Reads see one moment.** A read of several statements (a dossier's unit, then its records) runs
  in one snapshot: SQLite's ``BEGIN``, REPEATABLE READ elsewhere.
- **Migrations once.** Two servers starting on an empty database create the tables once: SQLite's
  write lock, ``pg_advisory_xact_lock`` (held until the migration commits; PostgreSQL's DDL is
  transactional), MariaDB's ``GET_LOCK`` (a session's lock, released after; MariaDB commits each
  DDL statement as it goes).
"""

from __future__ import annotations

from typing import Literal

import attrs

from shuangyong.limits import MAX_ID_LENGTH

Migrations = tuple[tuple[int, tuple[str, ...]], ...]
#: what a trigger says when a version row would be changed or removed
APPEND_ONLY = "shuangyong office versions are append-only"
#: the longest unit or record id a server's key column holds: the loader refuses longer ones, on every database
MAX_ID = MAX_ID_LENGTH
VERSIONED = ("office_dossier_versions", "office_record_versions")
_MIGRATION_LOCK = "shuangyong_office_migrate"

SQLITE_MIGRATIONS: Migrations = (
    (1, (
        """CREATE TABLE office_dossier_versions (
            unit_id TEXT NOT NULL, year INTEGER NOT NULL, version INTEGER NOT NULL CHECK (version >= 1),
            unit TEXT NOT NULL, author TEXT NOT NULL CHECK (author <> ''), at TEXT NOT NULL,
            PRIMARY KEY (unit_id, year, version))""",
        """CREATE TABLE office_record_versions (
            unit_id TEXT NOT NULL, year INTEGER NOT NULL, record_id TEXT NOT NULL,
            version INTEGER NOT NULL CHECK (version >= 1), record TEXT NOT NULL,
            retired INTEGER NOT NULL CHECK (retired IN (0, 1)),
            author TEXT NOT NULL CHECK (author <> ''), at TEXT NOT NULL,
            PRIMARY KEY (unit_id, year, record_id, version))""",
        *(f"CREATE TRIGGER {table}_no_{verb} BEFORE {verb.upper()} ON {table} "
          f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
          for table in VERSIONED for verb in ("update", "delete")),
    )),
)


def _server_tables(document: str, options: str) -> tuple[str, ...]:
    """The version tables and the lock row on a server: the same columns as on SQLite, ids as
    ``VARCHAR`` (a key column must be bounded), a record or unit as ``document`` (the JSON the
    dossier file writes), times as the same ISO text, so that every database gives back the same."""
    return (
        f"""CREATE TABLE office_dossier_versions (
            unit_id VARCHAR({MAX_ID}) NOT NULL, year INTEGER NOT NULL, version INTEGER NOT NULL CHECK (version >= 1),
            unit {document} NOT NULL, author TEXT NOT NULL CHECK (author <> ''), at VARCHAR(40) NOT NULL,
            PRIMARY KEY (unit_id, year, version)){options}""",
        f"""CREATE TABLE office_record_versions (
            unit_id VARCHAR({MAX_ID}) NOT NULL, year INTEGER NOT NULL, record_id VARCHAR({MAX_ID}) NOT NULL,
            version INTEGER NOT NULL CHECK (version >= 1), record {document} NOT NULL,
            retired INTEGER NOT NULL CHECK (retired IN (0, 1)),
            author TEXT NOT NULL CHECK (author <> ''), at VARCHAR(40) NOT NULL,
            PRIMARY KEY (unit_id, year, record_id, version)){options}""",
        f"CREATE TABLE office_lock (id INTEGER PRIMARY KEY CHECK (id = 1)){options}",
        "INSERT INTO office_lock (id) VALUES (1)",
    )


#: every table whose rows never change: the versions, and the lock row (without it, no write could lock)
_GUARDED = (*VERSIONED, "office_lock")

POSTGRESQL_MIGRATIONS: Migrations = (
    (1, (
        *_server_tables("TEXT", ""),
        f"""CREATE FUNCTION office_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$""",
        *(statement for table in _GUARDED for statement in (
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION office_refuse_change()",
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION office_refuse_change()")),
    )),
)

# utf8mb4_nopad_bin, as the ledger's tables: ids compare byte for byte ('lg-q1', 'LG-Q1' and
# 'lg-q1 ' are three records; the default collations fold them together)
MARIADB_MIGRATIONS: Migrations = (
    (1, (
        *_server_tables("LONGTEXT", " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin"),
        *(f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
          f"FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = '{APPEND_ONLY}'"
          for table in _GUARDED for verb in ("UPDATE", "DELETE")),
    )),
)

Mode = Literal["read", "write", "migrate"]


@attrs.frozen(slots=True)
class Dialect:
    """What the store says differently on one database; see the module's docstring."""

    name: str
    migrations: Migrations
    #: creates the table that keeps the migration reached, if it is not there
    schema_table: str
    #: a query with a row when ``office_schema`` exists
    has_schema: str
    #: the statements that begin a transaction of each kind (its locks, its isolation)
    begin: dict[Mode, tuple[str, ...]]
    #: run after a migration's transaction ends, on its connection (a lock held by the session)
    unlock: str | None = None
    #: ``qmark`` (``?``, sqlite3) or ``format`` (``%s``: psycopg and PyMySQL)
    paramstyle: Literal["qmark", "format"] = "qmark"

    @property
    def latest(self) -> int:
        """The version the last migration brings the tables to."""
        return self.migrations[-1][0]

    def sql(self, statement: str) -> str:
        """A statement written with ``?`` placeholders, in this database's parameter style (no
        statement of the store has a ``?`` or ``%`` of its own)."""
        return statement if self.paramstyle == "qmark" else statement.replace("?", "%s")


_SERVER_BEGIN: dict[Mode, tuple[str, ...]] = {
    "read": ("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY",),
    "write": ("SELECT id FROM office_lock WHERE id = 1 FOR UPDATE",),
}

SQLITE = Dialect(
    "sqlite", SQLITE_MIGRATIONS, "CREATE TABLE IF NOT EXISTS office_schema (version INTEGER NOT NULL)",
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'office_schema'",
    {"read": ("BEGIN",), "write": ("BEGIN IMMEDIATE",), "migrate": ("BEGIN IMMEDIATE",)})
POSTGRESQL = Dialect(
    "postgresql", POSTGRESQL_MIGRATIONS, "CREATE TABLE IF NOT EXISTS office_schema (version INTEGER NOT NULL)",
    "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'office_schema'",
    {**_SERVER_BEGIN, "migrate": (f"SELECT pg_advisory_xact_lock(hashtext('{_MIGRATION_LOCK}'))",)},
    paramstyle="format")
MARIADB = Dialect(
    "mariadb", MARIADB_MIGRATIONS,
    "CREATE TABLE IF NOT EXISTS office_schema (version INTEGER NOT NULL) ENGINE=InnoDB",
    "SELECT 1 FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'office_schema'",
    {**_SERVER_BEGIN, "migrate": (f"SELECT GET_LOCK('{_MIGRATION_LOCK}', 600)",)},
    unlock=f"SELECT RELEASE_LOCK('{_MIGRATION_LOCK}')", paramstyle="format")
#: the dialect of each SQLAlchemy backend the SQL plugin connects to
BY_BACKEND = {"postgresql": POSTGRESQL, "mysql": MARIADB, "mariadb": MARIADB}
