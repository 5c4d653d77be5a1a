"""A ledger written before payers existed (schema 2) keeps working: opened by today's code it is
migrated (a ``payer`` column, every existing row the hospital's), its rows still verify with the
hashes they were written with, and posting goes on, on SQLite and through the SQL plugin on
SQLite, PostgreSQL and MariaDB.

The SQLite ledger is ``ledger_data/schema-2.sql``, dumped from a file the code of main wrote
before this change; on the servers the schema is built by the plugin's migrations 1 and 2 (the
statements main ran) and the same rows are inserted as stored there. The rows are the
known-answer vector of ``test_ledger_tamper``, hashed outside the library.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from shuangyong.ledger import PostingRequest, verify
from shuangyong.ledger.sqlite import MIGRATIONS
from shuangyong.plugins import open_ledger
from shuangyong.testing.prerequisites import import_or_missing

from .test_cli import run
from .test_ledger_tamper import HASH_1, HASH_2, HEAD, ROW_1, ROW_2, ROW_3

SCHEMA_2 = Path(__file__).with_name("ledger_data") / "schema-2.sql"
BACKENDS = ["sqlite", "sql:sqlite", "sql:postgresql", "sql:mariadb"]
SUBSIDY = "youfu_medical_subsidy"


def _vector_rows() -> list[dict[str, Any]]:
    """The three rows of the known-answer vector as a server stores them (native date and time)."""
    rows = []
    for text, hash_ in ((ROW_1, HASH_1), (ROW_2, HASH_2), (ROW_3, HEAD)):
        row = json.loads(text)
        row["business_date"] = dt.date.fromisoformat(row["business_date"])
        row["posted_at"] = dt.datetime.fromisoformat(row["posted_at"].removesuffix("Z"))
        rows.append({**row, "hash": hash_, "year": row["business_date"].year})
    return rows


def _build_schema_2_on_a_server(url: str) -> None:
    """The plugin's migrations 1 and 2, as main ran them, then the vector's rows, without a payer."""
    schema = import_or_missing("shuangyong_sql.schema")
    dialect = sa.make_url(url).get_backend_name()
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(f"CREATE TABLE {schema.VERSION_TABLE} (version INTEGER NOT NULL)")
            for version, statements in schema.MIGRATIONS[dialect]:
                if version <= 2:
                    for statement in statements:
                        connection.exec_driver_sql(statement)
                    connection.exec_driver_sql(f"INSERT INTO {schema.VERSION_TABLE} (version) VALUES ({version})")
            connection.execute(sa.insert(schema.postings_table(dialect)), _vector_rows())
    finally:
        engine.dispose()


def _schema_2_file(folder: Path) -> Path:
    path = folder / "old.db"
    connection = sqlite3.connect(path)
    try:
        connection.executescript(SCHEMA_2.read_text(encoding="utf-8"))
    finally:
        connection.close()
    return path


def _engine(url: str) -> sa.Engine:
    """SQLAlchemy's engine for a ledger URL (the built-in ``sqlite:///`` is SQLAlchemy's pysqlite)."""
    return sa.create_engine(url.replace("sqlite:///", "sqlite+pysqlite:///", 1) if url.startswith("sqlite:") else url)


@pytest.fixture(params=BACKENDS)
def old_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a ledger at schema 2 holding the vector's three rows (grant, grant, reversal)."""
    if request.param in ("sqlite", "sql:sqlite"):
        if request.param == "sql:sqlite":
            import_or_missing("shuangyong_sql")
        path = _schema_2_file(tmp_path)
        yield f"{'sqlite' if request.param == 'sqlite' else 'sqlite+pysqlite'}:///{path}"
        return
    sql_testing = import_or_missing("shuangyong_sql.testing")
    with sql_testing.scratch_url(request.param.removeprefix("sql:"), tmp_path) as url:
        _build_schema_2_on_a_server(url)
        yield url


def _versions(url: str) -> list[int]:
    engine = _engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.exec_driver_sql("SELECT version FROM shuangyong_schema ORDER BY version").scalars())
    finally:
        engine.dispose()


def ask(visit_id: str, line: str, **changes: Any) -> PostingRequest:
    fields = dict(visit_id=visit_id, line_id=line, rule_id="r1", fingerprint="sha256:0123456789abcdef",
                  patient_key="P1", item="bed", business_date=dt.date(2026, 3, 2), amount_fen=1000,
                  requested_fen=500, year_cap_fen=300)
    return PostingRequest(**{**fields, **changes})


def test_schema_2_is_what_main_wrote(old_url: str) -> None:
    """The fixture really is the old schema: two migrations, and no payer column yet."""
    assert [1, 2] == _versions(old_url)
    engine = _engine(old_url)
    try:
        table = next(name for name in sa.inspect(engine).get_table_names() if name.endswith("postings"))
        assert "payer" not in {column["name"] for column in sa.inspect(engine).get_columns(table)}
    finally:
        engine.dispose()


def test_opened_it_is_migrated_and_its_rows_verify_as_written(old_url: str) -> None:
    """Opening migrates once (to the latest schema); every old row is the hospital's and keeps
    the hash it was written with, so the chain verifies against the head kept before."""
    with open_ledger(old_url, create=False) as ledger:
        rows = list(ledger.postings())
        checked = verify(rows, expect=(3, HEAD))
        assert (3, HEAD) == ledger.head()
    assert [version for version, _ in MIGRATIONS] == _versions(old_url)
    assert [("hospital", HASH_1), ("hospital", HASH_2), ("hospital", HEAD)] == [(r.payer, r.hash) for r in rows]
    assert (True, [("hospital", 1300, 300)]) == (
        checked.ok, [(t.payer, t.granted_fen, t.reversed_fen) for t in checked.payers])


def test_posting_goes_on_after_the_migration(old_url: str) -> None:
    """An old grant posted again is the same grant (the old rows are the hospital's); the old
    rows count against the hospital's yearly cap and not the subsidy's; new rows chain onto the
    old head; the whole ledger verifies, also against the head kept before the migration."""
    with open_ledger(old_url) as ledger:
        again = ledger.post([ask("V1", "2", rule_id="r2", item="换药", amount_fen=2000, requested_fen=1000,
                                     year_cap_fen=None)])
        posted = ledger.post([ask("V2", "1"), ask("V2", "2", payer=SUBSIDY), ask("V2", "3"),
                              ask("V2", "4", payer=SUBSIDY),
                              ask("V2", "5", rule_id="r2", year_cap_fen=1200),
                              ask("V2", "6", rule_id="r2", year_cap_fen=1200, payer=SUBSIDY)])
        rows = list(ledger.postings())
    assert ([2], HASH_2) == ([row.seq for row in again], again[0].hash)
    # r1: the old grant (300) was reversed, so the hospital's cap is whole again; the subsidy's is
    # its own. r2: the old grant of 1000 stands and leaves the hospital 200 of a 1200 cap.
    assert [(4, "hospital", 300), (5, SUBSIDY, 300), (6, "hospital", 0), (7, SUBSIDY, 0),
            (8, "hospital", 200), (9, SUBSIDY, 500)] == [(row.seq, row.payer, row.granted_fen) for row in posted]
    assert HEAD == posted[0].prev_hash
    checked = verify(rows, expect=(3, HEAD))
    assert (True, [("hospital", 1800, 300), (SUBSIDY, 800, 0)]) == (
        checked.ok, [(t.payer, t.granted_fen, t.reversed_fen) for t in checked.payers])


def test_cli_on_a_migrated_ledger(old_url: str) -> None:
    """``ledger verify`` and ``ledger export`` read an old ledger (migrating it) and show the
    hospital as the old rows' payer."""
    verified = run("ledger", "verify", "--ledger", old_url, "--expect-head", f"3:{HEAD}")
    assert (0, ["3 postings; granted 13.00, reversed 3.00, net 10.00 yuan",
                "  borne by hospital: granted 13.00, reversed 3.00, net 10.00 yuan"]) == (
        verified.exit_code, verified.stdout.splitlines()[:2])
    exported = [json.loads(line) for line in run("ledger", "export", "--ledger", old_url).stdout.splitlines()]
    assert [(1, "hospital"), (2, "hospital"), (3, "hospital")] == [(row["seq"], row["payer"]) for row in exported]


def test_old_code_writing_after_the_migration_still_verifies(tmp_path: Path) -> None:
    """A process still running the old code inserts rows without a payer: the column's default
    makes them the hospital's, which is how their hash (without a payer) reads."""
    path = _schema_2_file(tmp_path)
    open_ledger(f"sqlite:///{path}").close()  # migrated by today's code
    assert [version for version, _ in MIGRATIONS] == _versions(f"sqlite:///{path}")
    old = {**json.loads(ROW_2), "seq": 4, "line_id": "9", "prev_hash": HEAD}
    hash_ = hashlib.sha256(json.dumps(old, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode())
    connection = sqlite3.connect(path)
    try:  # the old code's INSERT: every column but payer
        with connection:
            connection.execute(f"INSERT INTO postings ({', '.join(old)}, year, hash) "
                               f"VALUES ({', '.join('?' * len(old))}, 2026, ?)", [*old.values(), hash_.hexdigest()])
    finally:
        connection.close()
    with open_ledger(f"sqlite:///{path}", create=False) as ledger:
        rows = list(ledger.postings())
    assert ("hospital", True) == (rows[-1].payer, verify(rows, expect=(3, HEAD)).ok)
