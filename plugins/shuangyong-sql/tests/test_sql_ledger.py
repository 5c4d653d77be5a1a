"""What the SQL plugin adds beyond the ledger's shared rules (those run on every backend in the
main suite's tests/test_ledger.py): registration, migrations, the database's own refusals, exact
ids, errors that name the ledger and write nothing, and the file format shared with ``sqlite:``."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
import sqlalchemy as sa

from shuangyong.errors import LedgerError
from shuangyong.ledger import PostingRequest, SQLiteLedger, verify
from shuangyong.ledger.posting import seal
from shuangyong.plugins import open_ledger, plugin_infos
from shuangyong_sql import SQLLedger
from shuangyong_sql.hooks import SCHEMES
from shuangyong_sql.ledger import _values as stored_values
from shuangyong_sql.schema import MAX_TEXT, MIGRATIONS
from shuangyong_sql.testing import KINDS, scratch_url


@pytest.fixture(params=KINDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with scratch_url(request.param, tmp_path) as scratch:
        yield scratch


@pytest.fixture
def ledger(url: str) -> Iterator[SQLLedger]:
    with SQLLedger(url) as opened:
        yield opened


def request(line: str = "1", *, visit_id: str = "V1", **changes: Any) -> PostingRequest:
    fields = dict(visit_id=visit_id, line_id=line, rule_id="r1", fingerprint="sha256:0123456789abcdef",
                  patient_key="P1", item="bed", business_date=dt.date(2026, 3, 2), amount_fen=1000,
                  requested_fen=500, year_cap_fen=None)
    fields.update(changes)
    return PostingRequest(**fields)


def count(ledger: SQLLedger) -> int:
    return sum(1 for _ in ledger.postings())


def test_registered_for_each_scheme(url: str) -> None:
    """``open_ledger`` finds the plugin by URL scheme; ``shuangyong plugins`` lists it."""
    with open_ledger(url) as opened:
        assert isinstance(opened, SQLLedger)
    info = next(info for info in plugin_infos() if info.name == "sql")
    assert ["register_storage"] == list(info.hooks)
    listed = subprocess.run([sys.executable, "-m", "shuangyong", "plugins", "--format", "json"],
                            capture_output=True, text=True, check=True)
    assert "register_storage" in next(p for p in json.loads(listed.stdout) if p["name"] == "sql")["hooks"]
    assert {"postgresql+psycopg", "mysql+pymysql", "mariadb+pymysql", "sqlite+pysqlite"} == set(SCHEMES)


def test_migrations_applied_once(url: str) -> None:
    """A second open finds the schema at the latest version and keeps the rows."""
    with SQLLedger(url) as first:
        first.post([request()])
    with SQLLedger(url) as second:
        latest = MIGRATIONS[second.dialect][-1][0]
        assert (latest, 1) == (second.schema_version, count(second))
        with second.engine.connect() as connection:
            versions = connection.exec_driver_sql("SELECT version FROM shuangyong_schema").scalars().all()
        assert [version for version, _ in MIGRATIONS[second.dialect]] == versions


def test_ids_are_exact(ledger: SQLLedger) -> None:
    """Case and trailing spaces make different visits (MariaDB's default collations would merge them)."""
    posted = ledger.post([request(visit_id="V1"), request(visit_id="v1"), request(visit_id="V1 ")])
    assert ([1, 2, 3], 3) == ([row.seq for row in posted], count(ledger))
    assert ["V1", "v1", "V1 "] == [row.visit_id for row in ledger.postings()]


def test_chinese_reason_round_trips(ledger: SQLLedger) -> None:
    ledger.post([request()])
    reversal = ledger.reverse(1, "挂错号，患者非优抚对象")
    assert ("挂错号，患者非优抚对象", True) == (list(ledger.postings())[-1].reason, verify(ledger.postings()).ok)
    assert reversal == list(ledger.postings())[-1]


@pytest.mark.parametrize("field", ["visit_id", "payer", "category"])
def test_too_long_id_writes_nothing(ledger: SQLLedger, field: str) -> None:
    """A batch with one id longer than the column holds is refused whole, naming the field."""
    ledger.post([request("1")])
    with pytest.raises(LedgerError) as caught:
        ledger.post([request("2"), request("3", **{field: "V" * (MAX_TEXT + 1)})])
    assert (field, f"{field} is longer than {MAX_TEXT} characters") == (
        caught.value.field, caught.value.message.en.split(",")[0])
    assert 1 == count(ledger)


def test_payer_column_refuses_an_empty_payer_and_defaults_to_the_hospital(ledger: SQLLedger) -> None:
    """The database itself refuses a row whose payer is empty; a row inserted without one (as
    code from before payers inserts it) is the hospital's."""
    (posted,) = ledger.post([request("1")])
    values = {**stored_values(posted, ledger.dialect), "seq": 2, "line_id": "2"}
    with pytest.raises(sa.exc.DBAPIError, match="payer|CONSTRAINT|constraint"), ledger.engine.begin() as connection:
        connection.execute(sa.insert(ledger.table), {**values, "payer": ""})
    without_payer = {name: value for name, value in values.items() if name != "payer"}
    with ledger.engine.begin() as connection:
        connection.execute(sa.insert(ledger.table), without_payer)
    assert ["hospital", "hospital"] == [posting.payer for posting in ledger.postings()]


def test_a_row_inserted_without_a_category_has_none_recorded_and_verifies(ledger: SQLLedger) -> None:
    """Code from before categories inserts rows without one: the column's default (not recorded)
    is what their hash, made without a category, reads, so they verify after a categorised row."""
    (posted,) = ledger.post([request("1", category="disabled_veteran")])
    older = seal({**attrs.asdict(posted), "seq": 2, "line_id": "2", "category": "", "prev_hash": posted.hash})
    values = {name: value for name, value in stored_values(older, ledger.dialect).items() if name != "category"}
    with ledger.engine.begin() as connection:
        connection.execute(sa.insert(ledger.table), values)
    rows = list(ledger.postings())
    assert (["disabled_veteran", ""], older.hash, True) == (
        [row.category for row in rows], rows[1].hash, verify(rows).ok)


def test_database_refusal_becomes_a_ledger_error_and_writes_nothing(ledger: SQLLedger) -> None:
    """If the database itself refuses a row (here a rule added behind the library's back), the
    whole batch is rolled back and the error says so."""
    ledger.post([request("1")])
    table = ledger.table.name
    refuse = (f"CREATE TRIGGER refuse_v3 BEFORE INSERT ON {table} FOR EACH ROW WHEN (NEW.visit_id = 'V3') "
              "BEGIN SELECT RAISE(ABORT, 'no V3 here'); END" if ledger.dialect == "sqlite"
              else f"ALTER TABLE {table} ADD CONSTRAINT refuse_v3 CHECK (visit_id <> 'V3')")
    with ledger.engine.begin() as connection:
        connection.exec_driver_sql(refuse)
    with pytest.raises(LedgerError) as caught:
        ledger.post([request("2"), request("3", visit_id="V3")])
    assert caught.value.message.en.startswith("the ledger database refused the write; nothing was written")
    assert ("ledger", 1) == (caught.value.field, count(ledger))


@pytest.mark.parametrize(("url", "message"), [
    ("postgresql+psycopg://nobody@127.0.0.1:1/test", "cannot open the ledger: "),
    ("mysql+pymysql://nobody:secret@127.0.0.1:1/test", "cannot open the ledger: "),
    ("mssql+pyodbc://host/db", "the SQL ledger does not support mssql"),
    ("postgresql+psycopg:/no-host", "ledger URL 'postgresql+psycopg:/no-host' is not a database URL"),
])
def test_unusable_urls(url: str, message: str) -> None:
    with pytest.raises(LedgerError) as caught:
        SQLLedger(url, timeout=5)
    assert (True, "ledger") == (caught.value.message.en.startswith(message), caught.value.field)
    assert "secret" not in str(caught.value)


def test_postgresql_refuses_truncate(tmp_path: Path) -> None:
    with scratch_url("postgresql", tmp_path) as url, SQLLedger(url) as ledger:
        ledger.post([request()])
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), ledger.engine.begin() as connection:
            connection.exec_driver_sql("TRUNCATE shuangyong_postings CASCADE")
        assert 1 == count(ledger)


def test_sqlite_file_shared_with_the_builtin_backend(tmp_path: Path) -> None:
    """``sqlite+pysqlite:///`` writes the built-in ``sqlite:///`` format: each reads the other's rows."""
    path = tmp_path / "shared.db"
    with SQLLedger(f"sqlite+pysqlite:///{path}") as plugin:
        plugin.post([request("1")])
    with SQLiteLedger(f"sqlite:///{path}") as builtin:
        builtin.post([request("2", payer="youfu_medical_subsidy", category="martyr_family")])
        from_builtin = list(builtin.postings())
    with SQLLedger(f"sqlite+pysqlite:///{path}") as plugin:
        assert from_builtin == list(plugin.postings())
        assert (True, "youfu_medical_subsidy", "martyr_family") == (
            verify(plugin.postings()).ok, from_builtin[-1].payer, from_builtin[-1].category)
