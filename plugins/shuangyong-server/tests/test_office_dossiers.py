"""The office's dossier store: every version kept, retiring is a version, writes checked as the
dossier loader checks a file (and a refused one writes nothing), export → import is the identity."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from shuangyong.compliance.dossier import DossierError, dossier_to_dict, load_dossier, parse_dossier
from shuangyong.compliance.records import RECORD_CLASSES
from shuangyong.dates import DateWindow
from shuangyong_server.office.dossiers import Change, DossierStore, NotFound
from shuangyong_server.office.forms import HOLDING, record_from_form

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


@pytest.fixture
def store(tmp_path: Path) -> DossierStore:
    """A store holding the example dossier, imported by "seed"."""
    made = DossierStore.sqlite(tmp_path / "office.db", clock=Clock())
    made.import_text(EXAMPLE.read_text(encoding="utf-8"), "dossier.yaml", "seed")
    return made


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False)


def rows(path: Path) -> dict[str, int]:
    """How many rows each of the office's tables holds: what a refused write must leave as it was."""
    with sqlite3.connect(path) as connection:
        return {table: connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                for table in ("office_dossier_versions", "office_record_versions")}


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


def test_export_then_import_is_the_same_dossier_and_writes_nothing(store: DossierStore, tmp_path: Path) -> None:
    store.add(UNIT, YEAR, MEETING, "王芳")
    exported = store.export(UNIT, YEAR)
    assert dossier_to_dict(store.dossier(UNIT, YEAR)) == exported
    before = rows(tmp_path / "office.db")
    again = store.import_text(_json(exported), "exported.json", "王芳")
    assert (len(exported["records"]), (), (), ()) == (len(again.unchanged), again.added, again.changed, again.retired)
    assert before == rows(tmp_path / "office.db")
    elsewhere = DossierStore.sqlite(tmp_path / "other.db")
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
        store: DossierStore, tmp_path: Path, record: dict[str, Any], field: str, message: str) -> None:
    before = rows(tmp_path / "office.db")
    exported = store.export(UNIT, YEAR)
    with pytest.raises(DossierError) as refused:
        store.add(UNIT, YEAR, record, "王芳")
    assert field == refused.value.field
    assert message in refused.value.message.en
    assert before == rows(tmp_path / "office.db")
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


def test_an_invalid_edit_or_import_writes_nothing(store: DossierStore, tmp_path: Path) -> None:
    store.add(UNIT, YEAR, MEETING, "王芳")
    before = rows(tmp_path / "office.db")
    with pytest.raises(DossierError, match="field attendees: invalid value: must be a whole number"):
        store.edit(UNIT, YEAR, {**MEETING, "attendees": "many"}, "李红")
    broken = EXAMPLE.read_text(encoding="utf-8").replace("date: 2026-03-12", "date: 2026-03-32")
    with pytest.raises(DossierError, match="date 2026-03-32 is impossible") as imported:
        store.import_text(broken, "dossier.yaml", "李红")
    assert "dossier.yaml: lg-q1" == imported.value.record
    assert before == rows(tmp_path / "office.db")
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


def test_a_dossier_is_created_once_and_its_unit_checked(tmp_path: Path) -> None:
    store = DossierStore.sqlite(tmp_path / "office.db")
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


def test_versions_cannot_be_updated_or_deleted_behind_the_store(store: DossierStore, tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "office.db") as connection:
        for statement in ("UPDATE office_record_versions SET author = 'x'", "DELETE FROM office_record_versions",
                          "DELETE FROM office_dossier_versions"):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                connection.execute(statement)


def test_migrate_twice_changes_nothing(tmp_path: Path) -> None:
    store = DossierStore(lambda: sqlite3.connect(tmp_path / "office.db", isolation_level=None))
    assert 0 == store.schema_version()
    store.migrate()
    store.migrate()
    assert 1 == store.schema_version()


def test_the_audit_hook_sees_each_change_in_its_transaction(tmp_path: Path) -> None:
    seen: list[Change] = []

    def audit(connection: Any, change: Change) -> None:
        seen.append(change)
        if change.action == "office.record.retire":
            raise RuntimeError("the audit log is full")

    store = DossierStore.sqlite(tmp_path / "office.db", audit=audit)
    store.import_text(EXAMPLE.read_text(encoding="utf-8"), "dossier.yaml", "seed")
    store.add(UNIT, YEAR, MEETING, "王芳")
    with pytest.raises(RuntimeError, match="full"):
        store.retire(UNIT, YEAR, "lg-q3", "王芳")
    assert ["office.dossier.import", "office.record.add", "office.record.retire"] == [c.action for c in seen]
    assert f"{UNIT} {YEAR}: lg-q3" == seen[1].target
    assert not store.history(UNIT, YEAR, "lg-q3")[-1].retired  # the audit failed: the retirement was rolled back


def test_beside_the_server_store_changes_go_to_its_audit_log(tmp_path: Path) -> None:
    from shuangyong_server.store import ServerStore

    server = ServerStore(f"sqlite:///{tmp_path / 'server.db'}")
    store = DossierStore.beside(server)
    store.import_text(EXAMPLE.read_text(encoding="utf-8"), "dossier.yaml", "seed")
    store.add(UNIT, YEAR, MEETING, "王芳")
    entries = [(e.actor, e.action, e.target) for e in server.audit_log()]
    assert [("seed", "office.dossier.import", f"{UNIT} {YEAR}"),
            ("王芳", "office.record.add", f"{UNIT} {YEAR}: lg-q3")] == entries
    assert ServerStore(f"sqlite:///{tmp_path / 'server.db'}", create=False).version() >= 1  # still the server's file


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
