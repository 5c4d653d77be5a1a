"""Reading dossiers: bad ones are refused whole, with the record and the field named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from shuangyong.cli import main
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
    assert ("cannot read the dossier: No such file or directory", str(tmp_path / "absent.yaml")) == (
        caught.value.message.en, caught.value.record)


def test_invalid_yaml_is_a_dossier_error() -> None:
    with pytest.raises(DossierError, match="invalid YAML"):
        parse_dossier("records: [", "d.yaml")


@pytest.mark.parametrize(("data", "record", "field", "english"), [
    (with_record(id="c", kind="coverage", type="others", date="2026-06-01", reached=1, total=10**9 + 1),
     "d.json: c", "records[1].total", "invalid value: number 1000000001 is too large (at most 1000000000)"),
    (with_record(id="m", kind="meeting", type="forum", date="2026-06-01", attendees=True),
     "d.json: m", "records[1].attendees", "invalid value: must be a whole number, got true"),
    (with_record(id="p", kind="placement", type="retired_soldier", date="2026-06-01", count="3"),
     "d.json: p", "records[1].count", "invalid value: must be a whole number, got '3'"),
    (with_record(id="l", kind="ledger_publication", date="2026-06-01", complete=1, published=True),
     "d.json: l", "records[1].complete", "invalid value: must be true or false, got 1"),
    (GOOD | {"schema_version": True}, "d.json", "schema_version", "invalid value: must be a whole number, got true"),
    (GOOD | {"year": "2026"}, "d.json", "year", "invalid value: must be a whole number, got '2026'"),
    (with_record(id="x" * 201, kind="activity", type="exhibit", date="2026-01-01"), f"d.json: {'x' * 201}",
     "records[1].id", "invalid value:"),
])
def test_numbers_and_flags_are_read_strictly(data: object, record: str, field: str, english: str) -> None:
    error = refused(data)
    assert (record, field, True) == (error.record, error.field, error.message.en.startswith(english)), \
        error.message.en
    assert error.message.zh


def test_a_5000_digit_count_is_refused_naming_record_and_field() -> None:
    """It used to stop in Python's int-conversion limit (a traceback)."""
    text = json.dumps(with_record(id="c", kind="coverage", type="others", date="2026-06-01", reached=1, total=0))
    with pytest.raises(DossierError) as caught:
        parse_dossier(text.replace('"total": 0', '"total": ' + "9" * 5000), "d.json")
    assert ("d.json: c", "records[1].total", "invalid value: number 999999999999…(5000 digits) is too large "
            "(at most 1000000000)") == (caught.value.record, caught.value.field, caught.value.message.en)


def test_a_key_given_twice_is_refused_at_its_line() -> None:
    """``year:`` twice used to keep the last; packs already refused it."""
    text = "year: 2020\nunit: {id: U1, name: {zh: 医院, en: Hospital}, kind: hospital}\nyear: 2026\nrecords: []\n"
    with pytest.raises(DossierError) as caught:
        parse_dossier(text, "d.yaml")
    assert ("d.yaml:3", "year", "key 'year' appears twice (also line 1)") == (
        caught.value.record, caught.value.field, caught.value.message.en)


def test_a_json_key_given_twice_is_refused() -> None:
    text = json.dumps(GOOD)[:-1] + ', "year": 2020}'
    with pytest.raises(DossierError) as caught:
        parse_dossier(text, "d.json")
    assert ("d.json:1", "year") == (caught.value.record, caught.value.field)


@pytest.mark.parametrize("opening", ["[", "{\"a\": "])
def test_deep_nesting_is_refused_not_a_recursion_error(opening: str) -> None:
    closing = "]" if opening == "[" else "}"
    deep = opening * 5000 + "1" + closing * 5000
    text = json.dumps(GOOD)[:-1] + ',\n"records": [{"id": "a", "kind": "activity", "type": "exhibit", ' \
        '"date": "2026-07-28",\n "evidence": ' + deep + "}]}"
    with pytest.raises(DossierError) as caught:
        parse_dossier(text, "d.json")
    assert ("d.json:3", "nested more than 64 levels deep") == (caught.value.record, caught.value.message.en)


def test_gb18030_dossier_is_refused_and_a_bom_accepted(tmp_path: Path) -> None:
    gb, bom = tmp_path / "gb.json", tmp_path / "bom.json"
    text = json.dumps(GOOD | {"unit": GOOD["unit"] | {"name": {"zh": "单位", "en": "Unit"}}}, ensure_ascii=False,
                      indent=1)
    gb.write_bytes(text.encode("gb18030"))
    bom.write_bytes(b"\xef\xbb\xbf" + text.encode())
    with pytest.raises(DossierError) as caught:
        load_dossier(gb)
    line = 1 + text[:text.index("单位")].count("\n")
    assert (f"{gb}:{line}", True, 2026) == (caught.value.record, "must be UTF-8" in caught.value.message.en,
                                       load_dossier(bom).year), caught.value.message.en


@pytest.mark.parametrize("name", ["deep", "bomb", "dev", "dup"])
def test_compliance_cli_exits_2_and_writes_nothing(tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.yaml"
    if name == "deep":
        path.write_text(json.dumps(GOOD)[:-1] + ', "x": ' + "[" * 3000 + "]" * 3000 + "}")
    elif name == "bomb":
        path.write_text("".join(f"{n}: &{n} [{', '.join([f'*{p}'] * 9) if p else 'a, b, c, d, e, f, g, h, i'}]\n"
                                for p, n in zip([""] + list("abcdefgh"), "abcdefghi", strict=True)))
    elif name == "dup":
        path.write_text("year: 2026\nyear: 2025\n")
    out = tmp_path / "report.md"
    result = CliRunner().invoke(main, ["--lang", "en", "compliance", "/dev/zero" if name == "dev" else str(path),
                                       "-o", str(out)])
    named = "/dev/zero" if name == "dev" else f"{path}:"
    assert (2, True, False, False) == (result.exit_code, f"record {named}" in result.stderr, out.exists(),
                                       "Traceback" in result.output), result.output


def test_an_unknown_key_with_a_bracket_is_named_not_a_crash(tmp_path: Path) -> None:
    """A key such as ``rec[ords`` was dropped from the error's path with pydantic's own "[…]"
    tags, leaving nothing to name: an IndexError (found by the fuzzer)."""
    path = tmp_path / "d.yaml"
    path.write_text("schema_version: 1\nunit: {id: U, name: {zh: 单位, en: Unit}, kind: hospital}\nyear: 2026\n"
                    "rec[ords: []\n", encoding="utf-8")
    with pytest.raises(DossierError) as caught:
        load_dossier(path)
    assert (None, "unknown key 'rec[ords'") == (caught.value.field, caught.value.message.en)


@pytest.mark.parametrize("records", [5, True, 2.5])
def test_records_that_are_not_a_list_are_named_not_a_crash(records: object) -> None:
    """``records: 5`` was a TypeError while looking for unknown record kinds (found by the fuzzer)."""
    error = refused({"schema_version": 1, "unit": {"id": "U", "name": {"zh": "单位", "en": "Unit"}, "kind": "hospital"},
                     "year": 2026, "records": records})
    assert ("records", True) == (error.field, error.message.en.startswith("invalid value"))
