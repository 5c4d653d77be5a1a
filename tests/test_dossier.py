"""Reading dossiers: bad ones are refused whole, with the record and the field named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from shuangyong.compliance.dossier import DossierError, dossier_to_dict, load_dossier, parse_dossier

ROOT = Path(__file__).resolve().parent.parent
GOOD = {"unit": {"id": "U1", "name": {"zh": "医院", "en": "Hospital"}, "kind": "hospital"}, "year": 2026,
        "records": [{"id": "a", "kind": "activity", "type": "exhibit", "date": "2026-07-28"}]}


def refused(data: object) -> DossierError:
    with pytest.raises(DossierError) as caught:
        parse_dossier(json.dumps(data, ensure_ascii=False), "d.json")
    return caught.value


def with_record(**record: object) -> dict:
    return GOOD | {"records": [GOOD["records"][0], record]}


def test_the_sample_dossier_reads_and_round_trips() -> None:
    sample = load_dossier(ROOT / "examples" / "dossier.yaml")
    again = parse_dossier(yaml.safe_dump(dossier_to_dict(sample), allow_unicode=True), "again")
    assert (28, sample) == (len(sample.records), again)


def test_record_order_does_not_matter() -> None:
    records = [{"id": f"r{i}", "kind": "activity", "type": "exhibit", "date": f"2026-07-{i:02d}"}
               for i in range(1, 6)]
    forward = parse_dossier(json.dumps(GOOD | {"records": records}))
    backward = parse_dossier(json.dumps(GOOD | {"records": records[::-1]}))
    assert forward == backward


@pytest.mark.parametrize(("data", "record", "field", "english"), [
    (with_record(id="x", kind="parade", type="exhibit", date="2026-01-01"), "d.json: x", "records[1].kind",
     "unknown record kind 'parade' (known: activity, document"),
    (with_record(id="x", kind="activity", type="exhibit", date="2026-13-01"), "d.json: x", "records[1].date",
     "invalid value: date 2026-13-01 is impossible"),
    (with_record(id="x", kind="activity", type="exhibit", date="1/7/2026"), "d.json: x", "records[1].date",
     "invalid value: date '1/7/2026' must be YYYY-MM-DD"),
    (with_record(id="a", kind="activity", type="exhibit", date="2026-01-01"), "d.json: a", "records[1].id",
     "record id 'a' appears twice (also records[0])"),
    (with_record(id="x", kind="coverage", type="others", date="2026-06-01", reached=11, total=10), "d.json: x",
     "records[1]", "invalid value: reached 11 is more than total 10"),
    (with_record(id="x", kind="activity", type="parade", date="2026-01-01"), "d.json: x", "records[1]",
     "invalid value: unknown activity type 'parade'"),
    (with_record(id="x", kind="activity", type="exhibit", date="2026-01-01", colour="red"), "d.json: x",
     "records[1].colour", "unknown key 'colour'"),
    (with_record(kind="activity", type="exhibit", date="2026-01-01"), "d.json: records[1]", "records[1].id",
     "missing required key 'id'"),
    (with_record(id="x", kind="facility", type="priority_sign", since="2026-05-01", until="2026-04-01"),
     "d.json: x", "records[1]", "invalid value: until 2026-04-01 is before since 2026-05-01"),
    (GOOD | {"unit": GOOD["unit"] | {"kind": "army"}}, "d.json", "unit", "invalid value: unknown kind 'army'"),
    (GOOD | {"year": 2200}, "d.json", "year", "invalid value:"),
    ([1, 2], "d.json", None, "a dossier must be an object"),
])
def test_bad_dossiers_name_record_and_field(data: object, record: str, field: str | None, english: str) -> None:
    error = refused(data)
    assert (record, field, True) == (error.record, error.field, error.message.en.startswith(english)), \
        error.message.en
    assert error.message.zh


def test_a_dossier_file_that_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(DossierError) as caught:
        load_dossier(tmp_path / "absent.yaml")
    assert ("cannot read dossier: No such file or directory", str(tmp_path / "absent.yaml")) == (
        caught.value.message.en, caught.value.record)


def test_invalid_yaml_is_a_dossier_error() -> None:
    with pytest.raises(DossierError, match="invalid YAML"):
        parse_dossier("records: [", "d.yaml")
