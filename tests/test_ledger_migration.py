"""A ledger written before payers existed (schema 2), or before categories were recorded
(schema 3), keeps working: opened by today's code it is migrated (a ``payer`` column, every
existing row the hospital's; a ``category`` column, every existing row's not recorded), its rows
still verify with the hashes they were written with, and posting goes on, on SQLite and through
the SQL plugin on SQLite, PostgreSQL and MariaDB.

The SQLite ledgers are ``ledger_data/schema-2.sql`` and ``schema-3.sql``, dumped from files the
code of main wrote before each change; on the servers the schema is built by the plugin's
migrations up to 2 or 3 (the statements main ran) and the same rows are inserted as stored there.
The rows are the known-answer vector of ``test_ledger_tamper`` (and a subsidy's grant after it),
hashed outside the library.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from shuangyong.ledger import Posting, PostingRequest, verify
from shuangyong.ledger.report import month_report
from shuangyong.ledger.sqlite import MIGRATIONS
from shuangyong.plugins import open_ledger
from shuangyong.testing.prerequisites import import_or_missing

from .test_cli import run
from .test_ledger_tamper import HASH_1, HASH_2, HEAD, ROW_1, ROW_2, ROW_3

DATA = Path(__file__).with_name("ledger_data")
BACKENDS = ["sqlite", "sql:sqlite", "sql:postgresql", "sql:mariadb"]
SUBSIDY = "youfu_medical_subsidy"
#: row 4 of the schema-3 ledger: the vector's first grant again, on line 3, borne by the subsidy
#: (so hashed with its payer), written by the code of main before categories
ROW_4 = ('{"amount_fen":1000,"business_date":"2026-03-02","fingerprint":"sha256:0123456789abcdef",'
         '"granted_fen":300,"item":"bed","kind":"grant","line_id":"3","patient_key":"P1",'
         '"payer":"youfu_medical_subsidy","posted_at":"2026-03-02T08:30:00.123456Z","prev_hash":"' + HEAD + '",'
         '"reason":null,"requested_fen":500,"reverses":null,"rule_id":"r1","seq":4,"visit_id":"V1","year_cap_fen":300}')
HASH_4 = "f33d0d8c2490277b430eb43fa0487e7d1356f87a9b051f2cced5f273a08de267"
#: schema version → the rows a ledger written at it holds, with their hashes
OLD_ROWS = {2: ((ROW_1, HASH_1), (ROW_2, HASH_2), (ROW_3, HEAD)),
            3: ((ROW_1, HASH_1), (ROW_2, HASH_2), (ROW_3, HEAD), (ROW_4, HASH_4))}


def _stored_rows(version: int) -> list[dict[str, Any]]:
    """The rows of a ledger at ``version`` as a server stores them (native date and time); from
    schema 3 on, a row hashed without a payer is stored as the hospital's."""
    rows = []
    for text, hash_ in OLD_ROWS[version]:
        row = json.loads(text)
        if version >= 3:
            row.setdefault("payer", "hospital")
        row["business_date"] = dt.date.fromisoformat(row["business_date"])
        row["posted_at"] = dt.datetime.fromisoformat(row["posted_at"].removesuffix("Z"))
        rows.append({**row, "hash": hash_, "year": row["business_date"].year})
    return rows


def _build_old_schema_on_a_server(url: str, version: int) -> None:
    """The plugin's migrations up to ``version``, as main ran them, then that version's rows."""
    schema = import_or_missing("shuangyong_sql.schema")
    dialect = sa.make_url(url).get_backend_name()
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(f"CREATE TABLE {schema.VERSION_TABLE} (version INTEGER NOT NULL)")
            for applied, statements in schema.MIGRATIONS[dialect]:
                if applied <= version:
                    for statement in statements:
                        connection.exec_driver_sql(statement)
                    connection.exec_driver_sql(f"INSERT INTO {schema.VERSION_TABLE} (version) VALUES ({applied})")
            connection.execute(sa.insert(schema.postings_table(dialect)), _stored_rows(version))
    finally:
        engine.dispose()


def _old_file(folder: Path, version: int) -> Path:
    """A SQLite file from the dump of a ledger main wrote at ``version``."""
    path = folder / "old.db"
    connection = sqlite3.connect(path)
    try:
        connection.executescript((DATA / f"schema-{version}.sql").read_text(encoding="utf-8"))
    finally:
        connection.close()
    return path


@contextmanager
def _old_ledger(kind: str, folder: Path, version: int) -> Iterator[str]:
    """The URL of a ledger of ``kind`` (a ``BACKENDS`` entry) at schema ``version`` with its rows."""
    if kind in ("sqlite", "sql:sqlite"):
        if kind == "sql:sqlite":
            import_or_missing("shuangyong_sql")
        yield f"{'sqlite' if kind == 'sqlite' else 'sqlite+pysqlite'}:///{_old_file(folder, version)}"
        return
    sql_testing = import_or_missing("shuangyong_sql.testing")
    with sql_testing.scratch_url(kind.removeprefix("sql:"), folder) as url:
        _build_old_schema_on_a_server(url, version)
        yield url


def _engine(url: str) -> sa.Engine:
    """SQLAlchemy's engine for a ledger URL (the built-in ``sqlite:///`` is SQLAlchemy's pysqlite)."""
    return sa.create_engine(url.replace("sqlite:///", "sqlite+pysqlite:///", 1) if url.startswith("sqlite:") else url)


@pytest.fixture(params=BACKENDS)
def old_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a ledger at schema 2 holding the vector's three rows (grant, grant, reversal)."""
    with _old_ledger(request.param, tmp_path, 2) as url:
        yield url


@pytest.fixture(params=BACKENDS)
def schema_3_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a ledger at schema 3: the vector's rows, then a grant borne by the subsidy."""
    with _old_ledger(request.param, tmp_path, 3) as url:
        yield url


def _columns(url: str) -> set[str]:
    engine = _engine(url)
    try:
        table = next(name for name in sa.inspect(engine).get_table_names() if name.endswith("postings"))
        return {column["name"] for column in sa.inspect(engine).get_columns(table)}
    finally:
        engine.dispose()


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
    """The fixture really is the old schema: two migrations, and no payer or category column yet."""
    assert ([1, 2], set()) == (_versions(old_url), {"payer", "category"} & _columns(old_url))


def test_opened_it_is_migrated_and_its_rows_verify_as_written(old_url: str) -> None:
    """Opening migrates once (to the latest schema); every old row is the hospital's and keeps
    the hash it was written with, so the chain verifies against the head kept before."""
    with open_ledger(old_url, create=False) as ledger:
        rows = list(ledger.postings())
        checked = verify(rows, expect=(3, HEAD))
        assert (3, HEAD) == ledger.head()
    assert [version for version, _ in MIGRATIONS] == _versions(old_url)
    assert [("hospital", "", HASH_1), ("hospital", "", HASH_2), ("hospital", "", HEAD)] == [
        (r.payer, r.category, r.hash) for r in rows]
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


def _written_by_old_code(path: Path, old: dict[str, Any]) -> list[Posting]:
    """Insert ``old`` into the migrated SQLite ledger at ``path`` as the code of its schema did
    (only the columns it knew, the hash of those), then read every row back with today's code."""
    hash_ = hashlib.sha256(json.dumps(old, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode())
    connection = sqlite3.connect(path)
    try:
        with connection:
            connection.execute(f"INSERT INTO postings ({', '.join(old)}, year, hash) "
                               f"VALUES ({', '.join('?' * len(old))}, 2026, ?)", [*old.values(), hash_.hexdigest()])
    finally:
        connection.close()
    with open_ledger(f"sqlite:///{path}", create=False) as ledger:
        return list(ledger.postings())


def test_old_code_writing_after_the_migration_still_verifies(tmp_path: Path) -> None:
    """A process still running the old code inserts rows without a payer: the column's default
    makes them the hospital's, which is how their hash (without a payer) reads."""
    path = _old_file(tmp_path, 2)
    open_ledger(f"sqlite:///{path}").close()  # migrated by today's code
    assert [version for version, _ in MIGRATIONS] == _versions(f"sqlite:///{path}")
    rows = _written_by_old_code(path, {**json.loads(ROW_2), "seq": 4, "line_id": "9", "prev_hash": HEAD})
    assert ("hospital", True) == (rows[-1].payer, verify(rows, expect=(3, HEAD)).ok)


def test_the_schema_3_row_is_what_it_says() -> None:
    """Row 4's literal hashes to HASH_4 (computed outside the library), and carries a payer but no
    category."""
    assert (HASH_4, True, False) == (hashlib.sha256(ROW_4.encode()).hexdigest(), '"payer"' in ROW_4,
                                     '"category"' in ROW_4)


def test_schema_3_is_what_main_wrote(schema_3_url: str) -> None:
    """The fixture really is schema 3: three migrations, a payer column and no category column."""
    assert ([1, 2, 3], {"payer"}) == (_versions(schema_3_url), {"payer", "category"} & _columns(schema_3_url))


def test_schema_3_migrated_keeps_its_hashes_and_new_rows_carry_the_category(schema_3_url: str) -> None:
    """Opened, the ledger is migrated to the latest schema; the old rows have no category recorded
    and keep the hashes they were written with (the subsidy's row too), so the head kept before
    still verifies. New grants record their category; an old grant posted again (with a category
    now) is the same row, unchanged; its reversal carries its (unrecorded) category. The month,
    by category, adds up to verify's totals."""
    with open_ledger(schema_3_url, create=False) as ledger:
        old = list(ledger.postings())
        assert (True, (4, HASH_4)) == (verify(old, expect=(4, HASH_4)).ok, ledger.head())
        posted = ledger.post([ask("V2", "1", category="disabled_veteran"),
                              ask("V2", "2", rule_id="r2", year_cap_fen=None, category="martyr_family"),
                              ask("V1", "3", payer=SUBSIDY, category="disabled_veteran")])
        reversal = ledger.reverse(4, "挂错号")
        rows = list(ledger.postings())
    assert [version for version, _ in MIGRATIONS] == _versions(schema_3_url)
    assert [("hospital", "", HASH_1), ("hospital", "", HASH_2), ("hospital", "", HEAD), (SUBSIDY, "", HASH_4)] == [
        (r.payer, r.category, r.hash) for r in old]
    # r1's hospital cap (300) is whole again after the old reversal; V1/3 is row 4 again, as it was
    assert [(5, "disabled_veteran", 300), (6, "martyr_family", 500), (4, "", 300)] == [
        (r.seq, r.category, r.granted_fen) for r in posted]
    assert (HASH_4, old[3]) == (posted[0].prev_hash, posted[2])
    assert (7, SUBSIDY, "", 300) == (reversal.seq, reversal.payer, reversal.category, reversal.granted_fen)
    checked = verify(rows, expect=(4, HASH_4))
    month = month_report(rows, 2026, 3)
    assert [("", 1, 1, 1600, 600), ("disabled_veteran", 1, 1, 300, 0), ("martyr_family", 1, 1, 500, 0)] == [
        (t.key, t.visits, t.persons, t.granted_fen, t.reversed_fen) for t in month.by_category]
    assert (True, 2400, 600) == (checked.ok, checked.granted_fen, checked.reversed_fen)
    assert (checked.granted_fen, checked.reversed_fen) == (sum(t.granted_fen for t in month.by_category),
                                                           sum(t.reversed_fen for t in month.by_category))


def test_cli_on_a_migrated_schema_3_ledger(schema_3_url: str) -> None:
    """``ledger verify`` against the head kept before, and ``ledger export`` with the category
    column: empty (not recorded) on every old row."""
    verified = run("ledger", "verify", "--ledger", schema_3_url, "--expect-head", f"4:{HASH_4}")
    exported = [json.loads(line) for line in run("ledger", "export", "--ledger", schema_3_url).stdout.splitlines()]
    assert (0, [(1, "hospital", ""), (2, "hospital", ""), (3, "hospital", ""), (4, SUBSIDY, "")]) == (
        verified.exit_code, [(row["seq"], row["payer"], row["category"]) for row in exported])


def test_schema_3_code_writing_after_the_migration_still_verifies(tmp_path: Path) -> None:
    """A process still running the code before categories inserts rows without one: the column's
    default leaves them not recorded, which is how their hash (without a category) reads."""
    path = _old_file(tmp_path, 3)
    open_ledger(f"sqlite:///{path}").close()  # migrated by today's code
    rows = _written_by_old_code(
        path, {**json.loads(ROW_4), "seq": 5, "line_id": "9", "rule_id": "r9", "prev_hash": HASH_4})
    assert ((SUBSIDY, ""), True) == ((rows[-1].payer, rows[-1].category), verify(rows, expect=(4, HASH_4)).ok)
