"""The ledger's tables on each database, as versioned migrations applied once each.

PostgreSQL and MariaDB get ``shuangyong_``-prefixed tables, so the ledger can share a database
with a hospital's own tables; SQLite gets the built-in backend's file format unchanged, so a file
written by ``sqlite:///`` opens with ``sqlite+pysqlite:///`` and back. On the servers, triggers
refuse UPDATE and DELETE on posted rows, and a one-row ``shuangyong_head`` table is what a writer
locks (``SELECT … FOR UPDATE``) to hold the chain's head for the length of its transaction.
"""

from __future__ import annotations

import sqlalchemy as sa

from shuangyong.ledger import sqlite as builtin_sqlite
from shuangyong.ledger.category import UNRECORDED
from shuangyong.ledger.posting import DEFAULT_PAYER

MAX_TEXT = 200  #: longest id, rule, item, category or patient key a server row holds (checked before writing)
APPEND_ONLY = "shuangyong ledger rows are append-only"

Migrations = tuple[tuple[int, tuple[str, ...]], ...]

# Columns both servers declare alike; each adds its timestamp type, keys and table options.
_COLUMNS = f"""seq BIGINT PRIMARY KEY,
    kind VARCHAR(8) NOT NULL CHECK (kind IN ('grant', 'reversal')),
    visit_id VARCHAR({MAX_TEXT}) NOT NULL, line_id VARCHAR({MAX_TEXT}) NOT NULL,
    rule_id VARCHAR({MAX_TEXT}) NOT NULL, fingerprint VARCHAR(23) NOT NULL,
    patient_key VARCHAR({MAX_TEXT}) NOT NULL, item VARCHAR({MAX_TEXT}) NOT NULL,
    business_date DATE NOT NULL, year INTEGER NOT NULL,
    amount_fen BIGINT NOT NULL CHECK (amount_fen >= 0),
    requested_fen BIGINT NOT NULL CHECK (requested_fen >= 0),
    granted_fen BIGINT NOT NULL CHECK (granted_fen >= 0),
    year_cap_fen BIGINT CHECK (year_cap_fen >= 0),
    reverses BIGINT UNIQUE, reason TEXT, prev_hash CHAR(64) NOT NULL, hash CHAR(64) NOT NULL,
    FOREIGN KEY (reverses) REFERENCES shuangyong_postings (seq)"""

# Migration 2, alike on both servers: settings fixed once (how the ledger keys patients) and the
# index that finds every row of a visit (the re-post and conflict checks read them).
_SETTINGS = "CREATE TABLE shuangyong_settings (name VARCHAR(64) PRIMARY KEY, value VARCHAR(200) NOT NULL)"
_VISIT_INDEX = "CREATE INDEX shuangyong_postings_visit ON shuangyong_postings (visit_id)"

# Migration 3, alike on both servers: who bears each share. Rows posted before are the
# hospital's; adding a column with a constant default rewrites no row and fires no row trigger.
_PAYER = (f"ALTER TABLE shuangyong_postings ADD COLUMN payer VARCHAR({MAX_TEXT}) NOT NULL "
          f"DEFAULT '{DEFAULT_PAYER}' CHECK (payer <> '')")

# Migration 4, alike on both servers: the beneficiary category a grant is for. Rows posted before
# have none recorded (the default, which leaves them out of the hash); again no row is rewritten.
_CATEGORY = f"ALTER TABLE shuangyong_postings ADD COLUMN category VARCHAR({MAX_TEXT}) NOT NULL DEFAULT '{UNRECORDED}'"

_POSTGRESQL: Migrations = (
    (1, (
        f"CREATE TABLE shuangyong_postings ({_COLUMNS}, posted_at TIMESTAMP(6) NOT NULL)",
        "CREATE UNIQUE INDEX shuangyong_postings_grant_once "
        "ON shuangyong_postings (visit_id, line_id, rule_id, fingerprint) WHERE kind = 'grant'",
        "CREATE INDEX shuangyong_postings_cap ON shuangyong_postings (patient_key, rule_id, year)",
        "CREATE TABLE shuangyong_head (id INTEGER PRIMARY KEY CHECK (id = 1))",
        "INSERT INTO shuangyong_head (id) VALUES (1)",
        f"""CREATE FUNCTION shuangyong_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$""",
        "CREATE TRIGGER shuangyong_postings_append_only BEFORE UPDATE OR DELETE ON shuangyong_postings "
        "FOR EACH ROW EXECUTE FUNCTION shuangyong_refuse_change()",
        "CREATE TRIGGER shuangyong_postings_no_truncate BEFORE TRUNCATE ON shuangyong_postings "
        "FOR EACH STATEMENT EXECUTE FUNCTION shuangyong_refuse_change()",
    )),
    (2, (
        _SETTINGS,
        "CREATE TRIGGER shuangyong_settings_fixed BEFORE UPDATE OR DELETE ON shuangyong_settings "
        "FOR EACH ROW EXECUTE FUNCTION shuangyong_refuse_change()",
        "CREATE TRIGGER shuangyong_settings_no_truncate BEFORE TRUNCATE ON shuangyong_settings "
        "FOR EACH STATEMENT EXECUTE FUNCTION shuangyong_refuse_change()",
        _VISIT_INDEX,
    )),
    (3, (_PAYER,)),
    (4, (_CATEGORY,)),
)

# utf8mb4_nopad_bin: ids compare byte for byte, so 'V1', 'v1' and 'V1 ' are three visits (the
# default collations fold case and ignore trailing spaces). A generated column that is NULL for
# reversals stands in for PostgreSQL's partial unique index.
_MARIADB: Migrations = (
    (1, (
        f"""CREATE TABLE shuangyong_postings ({_COLUMNS}, posted_at DATETIME(6) NOT NULL,
            grant_once TINYINT AS (IF(kind = 'grant', 1, NULL)) STORED,
            UNIQUE KEY shuangyong_postings_grant_once (visit_id, line_id, rule_id, fingerprint, grant_once),
            KEY shuangyong_postings_cap (patient_key, rule_id, year)
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin""",
        "CREATE TABLE shuangyong_head (id INTEGER PRIMARY KEY CHECK (id = 1)) ENGINE=InnoDB",
        "INSERT INTO shuangyong_head (id) VALUES (1)",
        *(f"CREATE TRIGGER shuangyong_postings_no_{event.lower()} BEFORE {event} ON shuangyong_postings "
          f"FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = '{APPEND_ONLY}'" for event in ("UPDATE", "DELETE")),
    )),
    (2, (
        f"{_SETTINGS} ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin",
        *(f"CREATE TRIGGER shuangyong_settings_no_{event.lower()} BEFORE {event} ON shuangyong_settings "
          f"FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'shuangyong ledger settings are fixed'"
          for event in ("UPDATE", "DELETE")),
        _VISIT_INDEX,
    )),
    (3, (_PAYER,)),
    (4, (_CATEGORY,)),
)

MIGRATIONS: dict[str, Migrations] = {
    "postgresql": _POSTGRESQL,
    "mysql": _MARIADB,
    "mariadb": _MARIADB,
    "sqlite": builtin_sqlite.MIGRATIONS,
}
POSTINGS_TABLE = {"postgresql": "shuangyong_postings", "mysql": "shuangyong_postings",
                  "mariadb": "shuangyong_postings", "sqlite": "postings"}
SETTINGS_TABLE = {"postgresql": "shuangyong_settings", "mysql": "shuangyong_settings",
                  "mariadb": "shuangyong_settings", "sqlite": "ledger_settings"}
VERSION_TABLE = "shuangyong_schema"  #: one row per applied migration, as in the built-in SQLite file


def settings_table(dialect: str) -> sa.Table:
    """Name → value, each written once (:meth:`shuangyong.ledger.Transaction.fix_setting`)."""
    return sa.Table(SETTINGS_TABLE[dialect], sa.MetaData(), sa.Column("name", sa.String(64), primary_key=True),
                    sa.Column("value", sa.String(200)))


def postings_table(dialect: str) -> sa.Table:
    """The columns the library reads and writes (``year`` is derived; generated columns are not
    listed). SQLite keeps dates as the built-in backend's ISO text."""
    as_text = dialect == "sqlite"
    return sa.Table(
        POSTINGS_TABLE[dialect], sa.MetaData(),
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(8)),
        *(sa.Column(name, sa.String(MAX_TEXT)) for name in
          ("visit_id", "line_id", "rule_id", "payer", "category", "fingerprint", "patient_key", "item")),
        sa.Column("business_date", sa.String(10) if as_text else sa.Date), sa.Column("year", sa.Integer),
        *(sa.Column(name, sa.BigInteger) for name in
          ("amount_fen", "requested_fen", "granted_fen", "year_cap_fen", "reverses")),
        sa.Column("reason", sa.Text), sa.Column("posted_at", sa.String(27) if as_text else sa.DateTime),
        sa.Column("prev_hash", sa.String(64)), sa.Column("hash", sa.String(64)),
    )
