"""The ledger in a SQLite file (standard library only): ``sqlite:///ledger.db``.

``BEGIN IMMEDIATE`` takes SQLite's write lock at the start of every transaction, which is the
exclusive hold on the chain's head that :class:`~shuangyong.ledger.base.Ledger` needs; other
processes wait (up to ``timeout``) instead of failing. Triggers refuse UPDATE and DELETE, so
the rows stay append-only even for someone with a SQL prompt.

Every ``sqlite3`` error — a corrupt, truncated, read-only or foreign file, a full disk — becomes a
:class:`~shuangyong.errors.LedgerError` naming the file; a file that is not already a ledger is
never turned into one behind the caller's back.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from typing_extensions import override

from shuangyong.errors import LedgerError
from shuangyong.ledger.base import Ledger, first_head
from shuangyong.ledger.category import UNRECORDED
from shuangyong.ledger.posting import DEFAULT_PAYER, POSTING_COLUMNS, CapKey, Posting
from shuangyong.text import Text

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

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
    (2, (  # settings fixed once (how patients are keyed); the visit index finds a visit's rows
        "CREATE TABLE ledger_settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "CREATE TRIGGER ledger_settings_no_update BEFORE UPDATE ON ledger_settings "
        "BEGIN SELECT RAISE(ABORT, 'shuangyong ledger settings are fixed'); END",
        "CREATE TRIGGER ledger_settings_no_delete BEFORE DELETE ON ledger_settings "
        "BEGIN SELECT RAISE(ABORT, 'shuangyong ledger settings are fixed'); END",
        "CREATE INDEX postings_visit ON postings (visit_id)",
    )),
    (3, (  # who bears each share; every row posted before is the hospital's (docs/ledger.md, payers)
        f"ALTER TABLE postings ADD COLUMN payer TEXT NOT NULL DEFAULT '{DEFAULT_PAYER}' CHECK (payer <> '')",
    )),
    (4, (  # the beneficiary category a grant is for; rows posted before have none recorded
        f"ALTER TABLE postings ADD COLUMN category TEXT NOT NULL DEFAULT '{UNRECORDED}'",
    )),
)
LATEST = MIGRATIONS[-1][0]
INT64 = 2**63 - 1  #: the largest integer SQLite stores
_FEN_COLUMNS = ("amount_fen", "requested_fen", "granted_fen", "year_cap_fen")
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

    def visit_rows(self, visit_ids: Iterable[str]) -> list[Posting]:
        rows = [row for visit_id in set(visit_ids) for row in self._rows(f"{_SELECT} WHERE visit_id = ?", (visit_id,))]
        return sorted(rows, key=lambda row: row.seq)

    def used(self, keys: Iterable[CapKey]) -> dict[CapKey, int]:
        totals: dict[CapKey, int] = {}
        for key in set(keys):
            (total,) = self.connection.execute(
                "SELECT COALESCE(SUM(CASE kind WHEN 'grant' THEN granted_fen ELSE -granted_fen END), 0) "
                "FROM postings WHERE patient_key = ? AND rule_id = ? AND payer = ? AND year = ?", key).fetchone()
            totals[key] = total
        return totals

    def posting(self, seq: int) -> Posting | None:
        rows = self._rows(f"{_SELECT} WHERE seq = ?", (seq,))
        return rows[0] if rows else None

    def reversal_of(self, seq: int) -> Posting | None:
        rows = self._rows(f"{_SELECT} WHERE reverses = ?", (seq,))
        return rows[0] if rows else None

    def setting(self, name: str) -> str | None:
        row = self.connection.execute("SELECT value FROM ledger_settings WHERE name = ?", (name,)).fetchone()
        return None if row is None else row[0]

    def fix_setting(self, name: str, value: str) -> None:
        self.connection.execute("INSERT INTO ledger_settings (name, value) VALUES (?, ?)", (name, value))

    def insert(self, postings: Sequence[Posting]) -> None:
        for posting in postings:
            for name in _FEN_COLUMNS:
                if (getattr(posting, name) or 0) > INT64:
                    raise LedgerError(Text(f"{name} 超出 SQLite 能存的整数范围",
                                           f"{name} is beyond what SQLite stores"),
                                      record=f"{posting.visit_id}/{posting.line_id}", field=name,
                                      value=getattr(posting, name))
        self.connection.executemany(_INSERT, [dict(p.as_dict(), year=p.business_date.year) for p in postings])


class SQLiteLedger(Ledger):
    """A ledger file any number of processes can post to. ``create`` makes and migrates a new
    file; without it (verify, export, reverse, head) a missing file is refused, not created."""

    def __init__(self, url: str, *, timeout: float = 60.0, create: bool = True) -> None:
        self.url = url
        self.path = sqlite_path(url)
        if not create and not self.path.is_file():
            raise LedgerError(Text(f"账本文件 {self.path} 不存在（只有 evaluate --post 会新建账本）",
                                   f"there is no ledger file {self.path} (only evaluate --post creates a ledger)"),
                              record=url, field="ledger")
        opening = Text("无法打开账本", "cannot open the ledger")
        with self._mapped(opening):
            self.connection = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
        self.connection.row_factory = sqlite3.Row
        try:
            with self._mapped(opening):
                self._migrate(create)
        except LedgerError:
            self.connection.close()
            raise

    @contextmanager
    def _mapped(self, doing: Text) -> Iterator[None]:
        """Any ``sqlite3`` error as a :class:`LedgerError` naming the file, with SQLite's reason."""
        try:
            yield
        except sqlite3.Error as error:
            raise LedgerError(Text(f"{doing.zh}：{error}（账本文件 {self.path}）",
                                   f"{doing.en}: {error} (ledger file {self.path})"),
                              record=self.url, field="ledger") from None

    def _migrate(self, create: bool) -> None:
        """Bring the file to the latest schema; a file holding other tables is not a ledger, and an
        empty one becomes a ledger only when ``create`` is set."""
        tables = {name for (name,) in self.connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "shuangyong_schema" not in tables:
            if tables:
                names = ", ".join(sorted(tables))
                raise LedgerError(Text(f"文件 {self.path} 是别的 SQLite 数据库（有表 {names}），不是账本",
                                       f"{self.path} is another SQLite database (tables {names}), "
                                       "not a shuangyong ledger"), record=self.url, field="ledger")
            if not create:
                raise LedgerError(Text(f"文件 {self.path} 是空的，不是账本", f"{self.path} is empty, not a ledger"),
                                  record=self.url, field="ledger")
        elif self._version() >= LATEST:
            return  # nothing to write: a read-only copy of a current ledger opens too
        with self._immediate() as connection:
            connection.execute("CREATE TABLE IF NOT EXISTS shuangyong_schema (version INTEGER NOT NULL)")
            current = self._version()
            for version, statements in MIGRATIONS:
                if version > current:
                    for statement in statements:
                        connection.execute(statement)
                    connection.execute("INSERT INTO shuangyong_schema (version) VALUES (?)", (version,))

    def _version(self) -> int:
        return self.connection.execute("SELECT MAX(version) FROM shuangyong_schema").fetchone()[0] or 0

    @contextmanager
    def _immediate(self) -> Iterator[sqlite3.Connection]:
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            yield self.connection
            self.connection.execute("COMMIT")
        except BaseException:
            if self.connection.in_transaction:  # SQLite may have rolled back already (disk full)
                self.connection.execute("ROLLBACK")
            raise

    @override
    @contextmanager
    def transaction(self) -> Iterator[_SQLiteTransaction]:
        with self._mapped(Text("账本拒绝了这次写入，未写入任何记录",
                                       "the ledger refused the write; nothing was written")), \
                self._immediate() as connection:
            yield _SQLiteTransaction(connection)

    def head(self) -> tuple[int, str]:
        """The last row by the primary key, without the write lock (a read-only file has a head)."""
        with self._mapped(Text("无法读取账本", "cannot read the ledger")):
            last = self.connection.execute(f"{_SELECT} ORDER BY seq DESC LIMIT 1").fetchone()
        return first_head(None if last is None else Posting.from_row(last))

    @override
    def postings(self) -> Iterator[Posting]:
        with self._mapped(Text("无法读取账本", "cannot read the ledger")):
            for row in self.connection.execute(f"{_SELECT} ORDER BY seq"):
                yield Posting.from_row(row)

    @override
    def close(self) -> None:
        self.connection.close()
