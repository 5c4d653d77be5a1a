"""The office's dossier store: every version kept, retiring is a version, writes checked as the
dossier loader checks a file (and a refused one writes nothing), export → import is the identity.

What is about storage runs on each database the dossiers can live in: a SQLite file, and
PostgreSQL and MariaDB through ``shuangyong-sql`` (a scratch schema or database per test, dropped
afterwards: ``shuangyong_sql.testing.scratch_url``; a server that is not there skips the test, and
fails it in CI)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from serving import cli

from shuangyong.compliance.dossier import DossierError, dossier_to_dict, load_dossier, parse_dossier
from shuangyong.compliance.records import RECORD_CLASSES
from shuangyong.dates import DateWindow
from shuangyong.testing import import_or_missing
from shuangyong_server.errors import StoreError
from shuangyong_server.office.dialects import MAX_ID
from shuangyong_server.office.dossiers import Change, DossierStore, NotFound
from shuangyong_server.office.forms import HOLDING, record_from_form
from shuangyong_server.store import ServerStore
from shuangyong_server.tokens import Actor

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from serving import Server

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "dossier.yaml"
UNIT, YEAR = "H-450300-001", 2026
MEETING = {"id": "lg-q3", "kind": "meeting", "type": "leading_group", "date": "2026-09-18", "attendees": 9}


class Clock:
    """A clock that moves a minute each time it is read, so that versions have distinct times."""

    def __init__(self) -> None:
        self.now = dt.datetime(2026, 11, 1, 1, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(minutes=1)
        return self.now


@pytest.fixture(params=("sqlite", "postgresql", "mariadb"))
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Where the dossiers live: a SQLite file, or a scratch namespace on each database server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'office.db'}"
        return
    testing = import_or_missing("shuangyong_sql.testing")
    with testing.scratch_url(request.param, tmp_path) as scratch:
        yield scratch


@pytest.fixture
def opened(url: str) -> Iterator[Callable[..., DossierStore]]:
    """``DossierStore.open`` on the test's database; every store opened is closed afterwards."""
    made: list[DossierStore] = []

    def open_store(**options: Any) -> DossierStore:
        made.append(DossierStore.open(url, **options))
        return made[-1]

    yield open_store
    for each in made:
        each.close()


@pytest.fixture
def store(opened: Callable[..., DossierStore]) -> DossierStore:
    """A store holding the example dossier, imported by "seed"."""
    made = opened(clock=Clock())
    made.import_text(EXAMPLE.read_text(encoding="utf-8"), "dossier.yaml", "seed")
    return made


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False)


@contextmanager
def database(url: str) -> Iterator[tuple[Any, type[Exception]]]:
    """A DB-API connection to the test's database, behind the store's back, and its driver's errors."""
    if url.startswith("sqlite:"):
        connection: Any = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        error: type[Exception] = sqlite3.DatabaseError
        dispose: Callable[[], None] = lambda: None  # noqa: E731 - nothing to let go
    else:
        reach = import_or_missing("shuangyong_server.office.sql").connector(url, 10.0)
        connection, error, dispose = reach.connect(), reach.errors[-1], reach.dispose
    try:
        yield connection, error
    finally:
        connection.close()
        dispose()


def rows(url: str) -> dict[str, int]:
    """How many rows each of the office's tables holds: what a refused write must leave as it was."""
    counts = {}
    with database(url) as (connection, _):
        cursor = connection.cursor()
        for table in ("office_dossier_versions", "office_record_versions"):
            cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608 - fixed names
            counts[table] = cursor.fetchall()[0][0]
        connection.rollback()
    return counts


def test_every_version_is_kept_with_who_and_when(store: DossierStore) -> None:
    first = store.add(UNIT, YEAR, MEETING, "王芳")
    second = store.edit(UNIT, YEAR, {**MEETING, "attendees": 12}, "李红", expect=1)
    retired = store.retire(UNIT, YEAR, "lg-q3", "王芳", expect=2)
    history = store.history(UNIT, YEAR, "lg-q3")
    assert [(1, False, "王芳", 9), (2, False, "李红", 12), (3, True, "王芳", 12)] == \
        [(v.version, v.retired, v.author, v.record["attendees"]) for v in history]
    assert [first, second, retired] == history
    assert history[0].at < history[1].at < history[2].at
    assert ["lg-q3", "lg-q3", "lg-q3"] == [v.record_id for v in store.changes(UNIT, YEAR, limit=3)]


def test_a_retired_record_leaves_the_dossier_and_stays_in_history(store: DossierStore) -> None:
    store.add(UNIT, YEAR, MEETING, "王芳")
    assert "lg-q3" in {r.id for r in store.dossier(UNIT, YEAR).records}
    store.retire(UNIT, YEAR, "lg-q3", "王芳")
    assert "lg-q3" not in {r.id for r in store.dossier(UNIT, YEAR).records}
    assert "lg-q3" not in {v.record_id for v in store.records(UNIT, YEAR)}
    assert "lg-q3" in {v.record_id for v in store.records(UNIT, YEAR, retired=True)}
    assert "lg-q3" not in {r["id"] for r in store.export(UNIT, YEAR)["records"]}
    with pytest.raises(DossierError, match="record 'lg-q3' is retired and cannot be changed") as edited:
        store.edit(UNIT, YEAR, MEETING, "王芳")
    assert "id" == edited.value.field
    with pytest.raises(DossierError, match="record id 'lg-q3' was retired; ids are not reused") as added:
        store.add(UNIT, YEAR, MEETING, "王芳")
    assert "已停用" in added.value.message.zh
    assert 2 == len(store.history(UNIT, YEAR, "lg-q3"))


def test_export_then_import_is_the_same_dossier_and_writes_nothing(store: DossierStore, url: str,
                                                                   tmp_path: Path) -> None:
    store.add(UNIT, YEAR, MEETING, "王芳")
    exported = store.export(UNIT, YEAR)
    assert dossier_to_dict(store.dossier(UNIT, YEAR)) == exported
    before = rows(url)
    again = store.import_text(_json(exported), "exported.json", "王芳")
    assert (len(exported["records"]), (), (), ()) == (len(again.unchanged), again.added, again.changed, again.retired)
    assert before == rows(url)
    elsewhere = DossierStore.sqlite(tmp_path / "other.db")  # from one database to another
    summary = elsewhere.import_dossier(store.dossier(UNIT, YEAR), "李红")
    assert len(exported["records"]) == len(summary.added)
    assert exported == elsewhere.export(UNIT, YEAR)
    assert load_dossier(EXAMPLE).records == tuple(r for r in store.dossier(UNIT, YEAR).records if r.id != "lg-q3")


def test_import_adds_changes_restores_and_retires(store: DossierStore) -> None:
    store.add(UNIT, YEAR, MEETING, "王芳")
    store.retire(UNIT, YEAR, "lg-q3", "王芳")
    data = store.export(UNIT, YEAR)
    records = [r for r in data["records"] if r["id"] != "board-1"]  # board-1 left out: retired
    records = [{**r, "attendees": 99} if r["id"] == "lg-q1" else r for r in records]  # lg-q1 changed
    records += [MEETING, {"id": "board-2", "kind": "activity", "type": "publicity_board", "date": "2026-10-20"}]
    summary = store.import_dossier(parse_dossier(_json({**data, "records": records}), "edited.json"), "李红")
    assert (("board-2",), ("lg-q1", "lg-q3"), ("board-1",)) == (summary.added, tuple(sorted(summary.changed)),
                                                                 summary.retired)
    assert [False, True, False] == [v.retired for v in store.history(UNIT, YEAR, "lg-q3")]
    assert [99] == [v.record["attendees"] for v in store.records(UNIT, YEAR) if v.record_id == "lg-q1"]
    assert store.history(UNIT, YEAR, "board-1")[-1].retired


@pytest.mark.parametrize(("record", "field", "message"), [
    ({**MEETING, "date": "2026-09-31"}, "date", "date 2026-09-31 is impossible (no such day)"),
    ({**MEETING, "date": "18/09/2026"}, "date", "date '18/09/2026' must be YYYY-MM-DD"),
    ({**MEETING, "attendees": "nine"}, "attendees", "must be a whole number, got 'nine'"),
    ({**MEETING, "type": "picnic"}, "type", "unknown meeting type 'picnic'"),
    ({**MEETING, "mood": "good"}, "mood", "unknown key 'mood'"),
    ({"id": "s", "kind": "facility", "type": "priority_sign", "since": "2026-02-03", "until": "2026-01-01"},
     "until", "until 2026-01-01 is before since 2026-02-03"),
    ({"id": "c", "kind": "coverage", "type": "cadres", "date": "2026-05-01", "reached": 5, "total": 3},
     "reached", "reached 5 is more than total 3"),
    ({"id": "p", "kind": "pairing", "since": "2026-01-01"}, "partner", "missing required key 'partner'"),
    ({**MEETING, "id": "lg-q1"}, "id", "record id 'lg-q1' exists already"),
])
def test_an_invalid_record_is_refused_at_its_field_and_nothing_is_written(
        store: DossierStore, url: str, record: dict[str, Any], field: str, message: str) -> None:
    before = rows(url)
    exported = store.export(UNIT, YEAR)
    with pytest.raises(DossierError) as refused:
        store.add(UNIT, YEAR, record, "王芳")
    assert field == refused.value.field
    assert message in refused.value.message.en
    assert before == rows(url)
    assert exported == store.export(UNIT, YEAR)


def test_the_loader_refuses_what_the_store_refuses(tmp_path: Path) -> None:
    """The store's check is the loader's: the same record in a file is refused with the same message."""
    text = EXAMPLE.read_text(encoding="utf-8") + \
        '  - {id: lg-q3, kind: meeting, type: leading_group, date: "2026-09-31"}\n'
    with pytest.raises(DossierError) as from_file:
        parse_dossier(text, "dossier.yaml")
    store = DossierStore.sqlite(tmp_path / "office.db")
    store.import_text(EXAMPLE.read_text(encoding="utf-8"), "dossier.yaml", "seed")
    with pytest.raises(DossierError) as from_store:
        store.add(UNIT, YEAR, {**MEETING, "date": "2026-09-31"}, "王芳")
    assert from_file.value.message == from_store.value.message
    assert from_file.value.field is not None and from_file.value.field.endswith(".date")


def test_an_invalid_edit_or_import_writes_nothing(store: DossierStore, url: str) -> None:
    store.add(UNIT, YEAR, MEETING, "王芳")
    before = rows(url)
    with pytest.raises(DossierError, match="field attendees: invalid value: must be a whole number"):
        store.edit(UNIT, YEAR, {**MEETING, "attendees": "many"}, "李红")
    broken = EXAMPLE.read_text(encoding="utf-8").replace("date: 2026-03-12", "date: 2026-03-32")
    with pytest.raises(DossierError, match="date 2026-03-32 is impossible") as imported:
        store.import_text(broken, "dossier.yaml", "李红")
    assert "dossier.yaml: lg-q1" == imported.value.record
    with pytest.raises(DossierError, match=f"at most {MAX_ID} characters") as long_id:  # what a key column holds
        store.add(UNIT, YEAR, {**MEETING, "id": "x" * (MAX_ID + 1)}, "李红")
    assert "id" == long_id.value.field
    assert before == rows(url)
    assert [1] == [v.version for v in store.history(UNIT, YEAR, "lg-q3")]


def test_an_edit_on_a_stale_version_is_refused_naming_who_changed_it(store: DossierStore) -> None:
    store.add(UNIT, YEAR, MEETING, "王芳")
    store.edit(UNIT, YEAR, {**MEETING, "attendees": 10}, "李红", expect=1)
    with pytest.raises(DossierError, match="changed meanwhile by 李红") as stale:
        store.edit(UNIT, YEAR, {**MEETING, "attendees": 11}, "王芳", expect=1)
    assert "version" == stale.value.field
    assert [9, 10] == [v.record["attendees"] for v in store.history(UNIT, YEAR, "lg-q3")]


def test_saving_a_record_unchanged_writes_no_version(store: DossierStore) -> None:
    store.add(UNIT, YEAR, MEETING, "王芳")
    assert 1 == store.edit(UNIT, YEAR, dict(MEETING), "李红").version
    assert 1 == len(store.history(UNIT, YEAR, "lg-q3"))


def test_a_dossier_is_created_once_and_its_unit_checked(opened: Callable[..., DossierStore]) -> None:
    store = opened()
    unit = {"id": "U1", "name": {"zh": "甲医院", "en": "Hospital A"}, "kind": "hospital"}
    with pytest.raises(DossierError, match="unknown kind 'clinic'") as bad_kind:
        store.create({**unit, "kind": "clinic"}, 2026, "王芳")
    assert "unit.kind" == bad_kind.value.field
    with pytest.raises(DossierError) as bad_year:
        store.create(unit, 1800, "王芳")
    assert "year" == bad_year.value.field
    assert [] == store.dossiers()
    head = store.create(unit, 2026, "王芳")
    assert (1, "王芳", "甲医院") == (head.version, head.author, head.name.zh)
    with pytest.raises(DossierError, match="unit 'U1' already has a dossier for 2026"):
        store.create(unit, 2026, "李红")
    assert 2 == store.update_unit("U1", 2026, {**unit, "head": "赵院长"}, "李红").version
    assert "赵院长" == store.dossier("U1", 2026).unit.head
    with pytest.raises(DossierError, match="the unit's id cannot change"):
        store.update_unit("U1", 2026, {**unit, "id": "U2"}, "李红")
    with pytest.raises(NotFound, match="no dossier of unit 'U9' for 2026"):
        store.add("U9", 2026, MEETING, "王芳")
    with pytest.raises(DossierError, match="every change must name who made it"):
        store.add("U1", 2026, MEETING, " ")


def test_versions_cannot_be_updated_or_deleted_behind_the_store(store: DossierStore, url: str) -> None:
    before = rows(url)
    statements = ["UPDATE office_record_versions SET author = 'x'", "UPDATE office_dossier_versions SET year = 1",
                  "DELETE FROM office_record_versions", "DELETE FROM office_dossier_versions"]
    if url.startswith("postgresql"):
        statements += ["TRUNCATE office_record_versions", "TRUNCATE office_dossier_versions"]
    with database(url) as (connection, error):
        cursor = connection.cursor()
        for statement in statements:
            with pytest.raises(error, match="append-only"):
                cursor.execute(statement)
            connection.rollback()
    assert before == rows(url)
    assert 1 == store.add(UNIT, YEAR, MEETING, "王芳").version  # and the store still writes


def test_migrate_twice_changes_nothing(url: str, opened: Callable[..., DossierStore]) -> None:
    if url.startswith("sqlite:"):
        store = DossierStore(lambda: sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None))
    else:
        reach = import_or_missing("shuangyong_server.office.sql").connector(url, 10.0)
        store = DossierStore(reach.connect, dialect=reach.dialect, dispose=reach.dispose)
    try:
        assert 0 == store.schema_version()
        store.migrate()
        store.migrate()
        assert 1 == store.schema_version()
        opened().import_text(EXAMPLE.read_text(encoding="utf-8"), "dossier.yaml", "seed")
        before = rows(url)
        again = opened()  # opening again migrates nothing, and finds what is there
        assert (1, before) == (again.schema_version(), rows(url))
        with database(url) as (connection, _):
            cursor = connection.cursor()
            cursor.execute("SELECT version FROM office_schema")
            assert [(1,)] == [tuple(row) for row in cursor.fetchall()]
            connection.rollback()
    finally:
        store.close()


def test_servers_starting_together_create_the_tables_once(url: str) -> None:
    """Four stores opening an empty database at once: one migrates, the others find it done."""
    results: list[int | BaseException] = []

    def start() -> None:
        try:
            store = DossierStore.open(url)
            results.append(store.schema_version())
            store.close()
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            results.append(error)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert [1, 1, 1, 1] == results


def test_two_edits_of_one_version_at_once_one_wins(store: DossierStore, opened: Callable[..., DossierStore]) -> None:
    """王芳's save is held inside its transaction while 李红 saves the same version: 李红 waits for
    the lock, then sees 王芳's version and is refused by name, instead of both writing version 2."""
    store.add(UNIT, YEAR, MEETING, "seed")
    inside, release = threading.Event(), threading.Event()

    def hold(connection: Any, change: Change) -> None:
        inside.set()
        assert release.wait(60)

    first, second = opened(audit=hold), opened()
    outcomes: dict[str, Any] = {}

    def save(name: str, on: DossierStore, attendees: int) -> None:
        try:
            outcomes[name] = on.edit(UNIT, YEAR, {**MEETING, "attendees": attendees}, name, expect=1)
        except Exception as error:  # noqa: BLE001 - the outcome is what is checked
            outcomes[name] = error

    wang = threading.Thread(target=save, args=("王芳", first, 10))
    wang.start()
    assert inside.wait(60)
    li = threading.Thread(target=save, args=("李红", second, 11))
    li.start()
    li.join(1.0)
    assert li.is_alive(), outcomes  # waiting for 王芳's transaction, not reading around it
    release.set()
    wang.join(60)
    li.join(60)
    assert 2 == outcomes["王芳"].version
    refused = outcomes["李红"]
    assert isinstance(refused, DossierError), refused
    assert ("version", True) == (refused.field, "changed meanwhile by 王芳" in refused.message.en)
    assert [9, 10] == [v.record["attendees"] for v in store.history(UNIT, YEAR, "lg-q3")]


def test_ids_are_kept_exactly_and_chinese_text_round_trips(store: DossierStore) -> None:
    """Ids that differ only by case are two records (MariaDB's default collations would fold them)."""
    store.add(UNIT, YEAR, {**MEETING, "title": "第三季度双拥工作领导小组会议"}, "王芳")
    store.add(UNIT, YEAR, {**MEETING, "id": "LG-Q3"}, "王芳")
    assert "第三季度双拥工作领导小组会议" == store.history(UNIT, YEAR, "lg-q3")[0].record["title"]
    assert {"lg-q3", "LG-Q3"} <= {v.record_id for v in store.records(UNIT, YEAR)}


def test_the_audit_hook_sees_each_change_in_its_transaction(opened: Callable[..., DossierStore]) -> None:
    seen: list[Change] = []

    def audit(connection: Any, change: Change) -> None:
        seen.append(change)
        if change.action == "office.record.retire":
            raise RuntimeError("the audit log is full")

    store = opened(audit=audit)
    store.import_text(EXAMPLE.read_text(encoding="utf-8"), "dossier.yaml", "seed")
    store.add(UNIT, YEAR, MEETING, "王芳")
    with pytest.raises(RuntimeError, match="full"):
        store.retire(UNIT, YEAR, "lg-q3", "王芳")
    assert ["office.dossier.import", "office.record.add", "office.record.retire"] == [c.action for c in seen]
    assert f"{UNIT} {YEAR}: lg-q3" == seen[1].target
    assert not store.history(UNIT, YEAR, "lg-q3")[-1].retired  # the audit failed: the retirement was rolled back


def test_beside_the_server_store_changes_go_to_its_audit_log(tmp_path: Path) -> None:
    server = ServerStore(f"sqlite:///{tmp_path / 'server.db'}")
    store = DossierStore.beside(server)
    store.import_text(EXAMPLE.read_text(encoding="utf-8"), "dossier.yaml", "seed")
    store.add(UNIT, YEAR, MEETING, "王芳")
    entries = [(e.actor, e.action, e.target) for e in server.audit_log()]
    assert [("seed", "office.dossier.import", f"{UNIT} {YEAR}"),
            ("王芳", "office.record.add", f"{UNIT} {YEAR}: lg-q3")] == entries
    assert ServerStore(f"sqlite:///{tmp_path / 'server.db'}", create=False).version() >= 1  # still the server's file


def test_elsewhere_changes_go_to_the_audit_log_after_their_commit(
        opened: Callable[..., DossierStore], tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Dossiers in another database than the server's file: each change is audited in the
    server's file right after it commits; an audit entry that cannot be written is logged whole,
    and the change stands."""
    server = ServerStore(f"sqlite:///{tmp_path / 'server.db'}")
    store = opened(audit_to=server)
    store.import_text(EXAMPLE.read_text(encoding="utf-8"), "dossier.yaml", "seed")
    with pytest.raises(DossierError):
        store.add(UNIT, YEAR, {**MEETING, "date": "2026-09-31"}, "王芳")  # refused: not audited
    store.add(UNIT, YEAR, MEETING, Actor("王芳", "office", "req-1", "10.0.0.7"))
    entries = [(e.actor, e.role, e.action, e.target, e.request_id, e.client) for e in server.audit_log()]
    assert ("seed", None, "office.dossier.import", f"{UNIT} {YEAR}") == entries[0][:4]
    assert [("王芳", "office", "office.record.add", f"{UNIT} {YEAR}: lg-q3", "req-1", "10.0.0.7")] == entries[1:]
    with sqlite3.connect(tmp_path / "server.db") as connection:  # the dossiers themselves are not in the file
        assert [] == connection.execute("SELECT name FROM sqlite_master WHERE name LIKE 'office_%'").fetchall()

    def full(change: Change) -> None:
        raise RuntimeError("the audit log is full")

    unaudited = opened(audited=full)
    with caplog.at_level(logging.ERROR, logger="shuangyong_server.office.dossiers"):
        retired = unaudited.retire(UNIT, YEAR, "lg-q3", Actor("李红", "office", "req-2"))
    assert (2, True) == (retired.version, store.history(UNIT, YEAR, "lg-q3")[-1].retired)
    logged = caplog.records[-1]
    assert "audit entry not written" in logged.getMessage() and '"request_id": "req-2"' in logged.getMessage()
    assert "office.record.retire" in logged.getMessage() and logged.exc_info is not None
    assert 2 == len(server.audit_log())


@pytest.mark.parametrize(("given", "says"), [
    ("oracle://u@db/x", "expected sqlite:///FILE, postgresql+psycopg://… or mysql+pymysql://…"),
    ("sqlite:///:memory:", "expected sqlite:///FILE"),
    ("postgresql+psycopg://his:s3cret@127.0.0.1:1/office", "cannot open the dossiers' database"),
])
def test_a_dossiers_url_that_cannot_be_used_is_refused_naming_the_option(given: str, says: str) -> None:
    with pytest.raises(StoreError) as refused:
        DossierStore.open(given)
    assert ("--dossiers", True) == (refused.value.field, says in refused.value.message.en)
    assert refused.value.render("zh").startswith(f"记录 {refused.value.record}, 字段 --dossiers: ")
    assert "s3cret" not in refused.value.render("en") and "s3cret" not in refused.value.render("zh")


def test_without_the_sql_plugin_a_server_url_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "shuangyong_server.office.sql", raising=False)
    monkeypatch.setitem(sys.modules, "shuangyong_sql.engine", None)  # import fails, as if not installed
    with pytest.raises(StoreError) as refused:
        DossierStore.open("mysql+pymysql://root@127.0.0.1:3306/office")
    assert "--dossiers" == refused.value.field
    assert "need the shuangyong-sql plugin (pip install -e plugins/shuangyong-sql" in refused.value.message.en
    assert "需要 shuangyong-sql 插件" in refused.value.message.zh


def test_serve_refuses_a_dossiers_url_it_cannot_use_before_listening(tmp_path: Path) -> None:
    done = cli("serve", "--port", "0", "--store", f"sqlite:///{tmp_path / 'server.db'}", "--dossiers", "oracle://x")
    assert 2 == done.returncode
    assert "error: record oracle://x, field --dossiers: expected sqlite:///FILE" in done.stderr.decode()
    zh = cli("--lang", "zh", "serve", "--port", "0", "--store", f"sqlite:///{tmp_path / 'server.db'}",
             "--dossiers", "sqlite:///:memory:")
    assert (2, True) == (zh.returncode, "字段 --dossiers: 应为 sqlite:///文件" in zh.stderr.decode())


def test_serve_keeps_the_office_pages_dossiers_in_postgresql(start_api_server: Callable[..., Server],
                                                           tmp_path: Path) -> None:
    """``shuangyong serve --dossiers postgresql+psycopg://…``: a dossier started and a record added
    on the office pages, over HTTP, are rows in PostgreSQL, audited in the server's own file."""
    testing = import_or_missing("shuangyong_sql.testing")
    with testing.scratch_url("postgresql", tmp_path) as pg:
        server = start_api_server("--dossiers", pg, ledger=False)
        try:
            office = server.headers("office")
            start = {"id": "U-PG", "name.zh": "甲医院", "name.en": "Hospital A", "kind": "hospital", "year": "2026"}
            started = server.client.post("/office/dossiers", data=start, headers=office)
            assert 303 == started.status_code, started.text
            added = server.client.post("/office/record/new", data={**MEETING, "attendees": "9", "unit": "U-PG",
                                                                   "year": "2026"}, headers=office)
            assert 303 == added.status_code, added.text
            audited = [(e["action"], e["request_id"]) for e in server.audit() if e["action"].startswith("office.")]
            assert ("office.record.add", added.headers["x-request-id"]) == audited[-1]
        finally:
            server.stop()
        with database(pg) as (connection, _):
            cursor = connection.cursor()
            cursor.execute("SELECT record_id, version, author FROM office_record_versions WHERE unit_id = 'U-PG'")
            assert [("lg-q3", 1, "tests-office")] == [tuple(row) for row in cursor.fetchall()]
            connection.rollback()
        with sqlite3.connect(server.folder / "server.sqlite3") as connection:
            assert [] == connection.execute("SELECT name FROM sqlite_master WHERE name LIKE 'office_%'").fetchall()


def test_holding_kinds_are_those_the_file_writes_with_since() -> None:
    """The forms' date inputs follow ``dossier_to_dict``: since/until for these kinds, date for the others."""
    from shuangyong.compliance.records import Dossier, Unit
    from shuangyong.text import Text

    records = [cls(id=kind, type="x", window=DateWindow(dt.date(2026, 1, 1), None)) for kind, cls in
               RECORD_CLASSES.items()]
    written = dossier_to_dict(Dossier(Unit("U", Text("甲", "A"), "hospital"), 2026, records))["records"]
    assert HOLDING == {r["kind"] for r in written if "since" in r}


def test_a_form_keeps_what_was_typed_for_the_loader_to_judge() -> None:
    form = {"id": " lg-q3 ", "type": "leading_group", "date": "2026-09-18", "attendees": "12a", "title": "",
            "evidence": "纪要.pdf\n\n 照片.jpg "}
    assert {"kind": "meeting", "id": "lg-q3", "type": "leading_group", "date": "2026-09-18", "attendees": "12a",
            "evidence": ["纪要.pdf", "照片.jpg"]} == record_from_form("meeting", form)
    assert 12 == record_from_form("meeting", {**form, "attendees": "12"})["attendees"]
    published = record_from_form("ledger_publication", {"id": "l", "type": "concession_ledger", "date": "2026-06-30",
                                                        "complete": "on"})
    assert (True, False) == (published["complete"], published["published"])
