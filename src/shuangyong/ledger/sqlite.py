"""The ledger in a SQLite file (standard library only): ``sqlite:///ledger.db``.

``BEGIN IMMEDIATE`` takes SQLite's write lock at the start of every transaction, which is the
exclusive hold on the chain's head that :class:`~shuangyong.ledger.base.Ledger` needs; other
processes wait (up to ``timeout``) instead of failing. Triggers refuse UPDATE and DELETE, so
the rows stay append-only even for someone with a SQL prompt.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from shuangyong.errors import LedgerError
from shuangyong.ledger.base import Ledger, first_head
from shuangyong.ledger.posting import POSTING_COLUMNS, CapKey, GrantKey, Posting
from shuangyong.text import Text

#: (version, statements): applied in order, each once; the version is kept in the database
MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (1, (
        """CREATE TABLE postings (
            seq INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('grant', 'reversal')),
            visit_id TEXT NOT NULL, line_id TEXT NOT NULL, rule_id TEXT NOT NULL,
            fingerprint TEXT NOT NULL, patient_key TEXT NOT NULL, item TEXT NOT NULL,
            business_date TEXT NOT NULL, year INTEGER NOT NULL,
            amount_fen INTEGER NOT NULL CHECK (amount_fen >= 0),
            requested_fen INTEGER NOT NULL CHECK (requested_fen >= 0),
            granted_fen INTEGER NOT NULL CHECK (granted_fen >= 0),
            year_cap_fen INTEGER CHECK (year_cap_fen >= 0),
            reverses INTEGER UNIQUE REFERENCES postings (seq),
            reason TEXT, posted_at TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)""",
        "CREATE UNIQUE INDEX postings_grant_once ON postings (visit_id, line_id, rule_id, fingerprint) "
        "WHERE kind = 'grant'",
        "CREATE INDEX postings_cap ON postings (patient_key, rule_id, year)",
        "CREATE TRIGGER postings_no_update BEFORE UPDATE ON postings "
        "BEGIN SELECT RAISE(ABORT, 'shuangyong ledger rows are append-only'); END",
        "CREATE TRIGGER postings_no_delete BEFORE DELETE ON postings "
        "BEGIN SELECT RAISE(ABORT, 'shuangyong ledger rows are append-only'); END",
    )),
)
_SELECT = f"SELECT {', '.join(POSTING_COLUMNS)} FROM postings"
_INSERT = (f"INSERT INTO postings ({', '.join(POSTING_COLUMNS)}, year) "
           f"VALUES ({', '.join(':' + name for name in POSTING_COLUMNS)}, :year)")


def sqlite_path(url: str) -> Path:
    """``sqlite:///ledger.db`` → ``ledger.db``; ``sqlite:////var/x.db`` → ``/var/x.db``."""
    if not url.startswith("sqlite:///") or url == "sqlite:///":
        raise LedgerError(Text(f"SQLite 账本地址应为 sqlite:///文件路径，收到 {url!r}",
                               f"a SQLite ledger URL is sqlite:///PATH, got {url!r}"), record=url, field="ledger")
    return Path(url.removeprefix("sqlite:///"))


class _SQLiteTransaction:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def _rows(self, sql: str, parameters: Sequence[object] = ()) -> list[Posting]:
        return [Posting.from_row(row) for row in self.connection.execute(sql, parameters)]

    def head(self) -> tuple[int, str]:
        last = self._rows(f"{_SELECT} ORDER BY seq DESC LIMIT 1")
        return first_head(last[0] if last else None)

    def grants(self, keys: Iterable[GrantKey]) -> dict[GrantKey, Posting]:
        found: dict[GrantKey, Posting] = {}
        for key in set(keys):
            for row in self._rows(f"{_SELECT} WHERE kind = 'grant' AND visit_id = ? AND line_id = ? "
                                  "AND rule_id = ? AND fingerprint = ?", key):
                found[key] = row
        return found

    def used(self, keys: Iterable[CapKey]) -> dict[CapKey, int]:
        totals: dict[CapKey, int] = {}
        for key in set(keys):
            (total,) = self.connection.execute(
                "SELECT COALESCE(SUM(CASE kind WHEN 'grant' THEN granted_fen ELSE -granted_fen END), 0) "
                "FROM postings WHERE patient_key = ? AND rule_id = ? AND year = ?", key).fetchone()
            totals[key] = total
        return totals

    def posting(self, seq: int) -> Posting | None:
        rows = self._rows(f"{_SELECT} WHERE seq = ?", (seq,))
        return rows[0] if rows else None

    def reversal_of(self, seq: int) -> Posting | None:
        rows = self._rows(f"{_SELECT} WHERE reverses = ?", (seq,))
        return rows[0] if rows else None

    def insert(self, postings: Sequence[Posting]) -> None:
        self.connection.executemany(_INSERT, [dict(p.as_dict(), year=p.business_date.year) for p in postings])


class SQLiteLedger(Ledger):
    """A ledger file any number of processes can post to; created and migrated on first open."""

    def __init__(self, url: str, *, timeout: float = 60.0) -> None:
        self.url = url
        path = sqlite_path(url)
        try:
            self.connection = sqlite3.connect(path, timeout=timeout, isolation_level=None)
        except sqlite3.Error as error:
            raise LedgerError(Text(f"无法打开账本：{error}", f"cannot open the ledger: {error}"),
                              record=url, field="ledger") from None
        self.connection.row_factory = sqlite3.Row
        self._migrate()

    def _migrate(self) -> None:
        with self._immediate() as connection:
            connection.execute("CREATE TABLE IF NOT EXISTS shuangyong_schema (version INTEGER NOT NULL)")
            current = connection.execute("SELECT MAX(version) FROM shuangyong_schema").fetchone()[0] or 0
            for version, statements in MIGRATIONS:
                if version > current:
                    for statement in statements:
                        connection.execute(statement)
                    connection.execute("INSERT INTO shuangyong_schema (version) VALUES (?)", (version,))

    @contextmanager
    def _immediate(self) -> Iterator[sqlite3.Connection]:
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            yield self.connection
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        self.connection.execute("COMMIT")

    @contextmanager
    def transaction(self) -> Iterator[_SQLiteTransaction]:
        with self._immediate() as connection:
            yield _SQLiteTransaction(connection)

    def postings(self) -> Iterator[Posting]:
        for row in self.connection.execute(f"{_SELECT} ORDER BY seq"):
            yield Posting.from_row(row)

    def close(self) -> None:
        self.connection.close()
