"""The columnar batch path gives byte for byte what the row engine writes, errors included."""

from __future__ import annotations

import codecs
import copy
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from hypothesis import example, given, settings
from hypothesis import strategies as st

from shuangyong import plugins
from shuangyong.batch import BatchEngine, read_chunks
from shuangyong.batch.run import write_decisions
from shuangyong.batch.sources.csv import FLAT_COLUMNS
from shuangyong.batch.sources.writers import records_table, write_table
from shuangyong.batch.vector import VectorPolicy
from shuangyong.cli import main
from shuangyong.engine import Engine
from shuangyong.generate import visits as generated_visits
from shuangyong.model import Registry
from shuangyong.policy import merge, parse_pack
from shuangyong.testing import strategies as sy

from .batch_support import HOSTILE, PATHS, batch_output, jsonl, mutated, record_of, row_output

REGISTRY = Registry.builtin()  #: what the random packs and visits draw from, and the engines use

SEED = Engine.from_packs()


def good(visit_id: str = "V1", **changes: Any) -> dict[str, Any]:
    record = {
        "visit_id": visit_id, "date": "2025-03-01", "kind": "inpatient", "region": "450100",
        "patient": {"id": "P1", "categories": ["disabled_veteran"], "disability_level": 5,
                    "credentials": [{"kind": "key_care_medical_card", "number": "桂001",
                                     "valid_from": "2024-01-01", "valid_to": "2025-03-01"}]},
        "lines": [{"line_id": "1", "item": "registration", "amount": "12.00"},
                  {"line_id": "2", "item": "bed", "amount": "80.25"},
                  {"line_id": "3", "item": "drug", "amount": "37.85"}],
    }
    record.update(changes)
    return record


@settings(max_examples=120, deadline=None)
@given(sy.pack_sets(registry=REGISTRY), st.lists(sy.visits(registry=REGISTRY), min_size=1, max_size=6))
def test_random_packs_and_visits_byte_identical(policy, drawn) -> None:  # type: ignore[no-untyped-def]
    """Random packs (groups, caps per line and per visit, dates, tags) on random visits."""
    engine = Engine(policy, REGISTRY)
    data = jsonl([record_of(v) for v in drawn])
    assert batch_output(engine, data) == row_output(engine, data)
    # and the columns did the work: only visits without lines went to the row engine
    rows = BatchEngine(engine).evaluate_chunk(next(read_chunks_of(data))).rows
    assert all(not drawn[n].lines for n in rows)


@settings(max_examples=60, deadline=None)
@given(st.lists(sy.visits(registry=REGISTRY), min_size=1, max_size=8))
def test_seed_packs_through_parquet_and_csv(tmp_path_factory, drawn) -> None:  # type: ignore[no-untyped-def]
    """Parquet and CSV hold the same visits; their output equals the JSON Lines output."""
    folder = tmp_path_factory.mktemp("formats")
    engine = BatchEngine(SEED)
    for fmt in ("parquet", "csv"):
        # a CSV row is a charge line: a visit without lines has no row to stand on, and rows of
        # one visit_id in a row are one visit
        records = [dict(record_of(v), visit_id=f"V{n}") for n, v in enumerate(drawn) if v.lines or fmt == "parquet"]
        if not records:
            continue
        path = folder / f"visits.{fmt}"
        write_table(records_table(records), path, fmt)
        out = io.BytesIO()
        write_decisions(engine, path, out)
        assert out.getvalue() == row_output(SEED, jsonl(records)), fmt


def test_generated_year_is_identical_and_mostly_columnar() -> None:
    records = list(generated_visits(3000, seed=11))
    data = jsonl(records)
    engine = BatchEngine(SEED)
    assert batch_output(engine, data, 256 << 10) == row_output(SEED, data)
    chunk = next(read_chunks_of(data))
    assert len(engine.evaluate_chunk(chunk).rows) == 0  # nothing needed the row engine


def read_chunks_of(data: bytes):  # type: ignore[no-untyped-def]
    from shuangyong.batch.sources.jsonl import json_line_chunks

    return json_line_chunks(io.BytesIO(data))


BAD_RECORDS = {
    "float amount": '{"visit_id":"B1","date":"2025-03-01","kind":"outpatient","region":"450100",'
                    '"patient":{"id":"P"},"lines":[{"line_id":"1","item":"drug","amount":12.5}]}',
    "not json": '{"visit_id": "B2", ',
    "unknown field": json.dumps(good("B3", extra=1)),
}


@pytest.mark.parametrize("mutate", [
    lambda r: r.update(date="2025-02-30"),
    lambda r: r.update(date="2025/03/01"),
    lambda r: r.update(kind="day_surgery"),
    lambda r: r.update(region="4501"),
    lambda r: r["patient"].update(categories=["astronaut"]),
    lambda r: r["patient"].update(categories=None),
    lambda r: r["patient"].update(disability_level=11),
    lambda r: r["patient"].update(disability_cause="bad luck"),
    lambda r: r["patient"].update(birth_date="1990-13-01"),
    lambda r: r["patient"].pop("id"),
    lambda r: r["patient"]["credentials"][0].update(kind="library_card"),
    lambda r: r["patient"]["credentials"][0].update(valid_to="2023-01-01"),
    lambda r: r["patient"]["credentials"][0].update(valid_from=""),
    lambda r: r["lines"][0].update(amount="12.345"),
    lambda r: r["lines"][0].update(amount="-1.00"),
    lambda r: r["lines"][0].update(amount=" 12.00"),
    lambda r: r["lines"][0].update(amount="12"),
    lambda r: r["lines"][0].update(line_id="2"),
    lambda r: r["lines"][0].update(line_id="a10"),
    lambda r: r["lines"][0].update(tags=None),
    lambda r: r["lines"][0].pop("item"),
    lambda r: r.update(lines=[]),
    lambda r: r.pop("patient"),
], ids=lambda f: "")
def test_a_visit_the_columns_cannot_take_gets_the_row_engines_answer(mutate) -> None:  # type: ignore[no-untyped-def]
    """Bad or unusual values anywhere in a visit: the same decision or error as the row engine,
    in its place between good visits."""
    odd = copy.deepcopy(good("X"))
    mutate(odd)
    data = jsonl([good("A"), odd, good("C")])
    ours = batch_output(SEED, data)
    assert ours == row_output(SEED, data)
    assert [json.loads(line).get("visit_id") for line in ours.splitlines()] == ["A", "X", "C"]


@pytest.mark.parametrize("name", sorted(BAD_RECORDS))
def test_records_arrow_refuses_go_to_the_row_engine_whole(name: str) -> None:
    data = jsonl([good("A"), BAD_RECORDS[name], good("C")])
    ours = batch_output(SEED, data)
    assert ours == row_output(SEED, data)
    assert b'"error"' in ours.splitlines()[1] and ours.count(b"\n") == 3


def test_only_the_lines_arrow_refuses_go_to_the_row_engine() -> None:
    """One refused line does not send its whole block (thousands of visits) to the row engine;
    past ``REFUSED_LINES`` refused lines the block goes whole, with the same answers."""
    from shuangyong.batch.sources import jsonl as jsonl_reader

    records: list[Any] = [good(f"V{n}") for n in range(40)]
    records[3], records[17] = BAD_RECORDS["float amount"], BAD_RECORDS["not json"]
    data = jsonl(records)
    engine = BatchEngine(SEED)
    result = engine.evaluate_chunk(next(read_chunks_of(data)))
    assert sorted(result.rows) == [3, 17] and len(result.vector) == 38
    assert batch_output(engine, data) == row_output(SEED, data)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(jsonl_reader, "REFUSED_LINES", 1)
        assert len(engine.evaluate_chunk(next(read_chunks_of(data))).rows) == 40


def test_strict_mode_refuses_unknown_items_like_the_row_engine() -> None:
    strict = Engine.from_packs(strict=True)
    data = jsonl([good("A", lines=[{"line_id": "1", "item": "acupuncture", "amount": "5.00"}]), good("B")])
    ours = batch_output(strict, data)
    assert ours == row_output(strict, data) and b"UnknownItemError" in ours


def test_rules_without_a_column_form_send_their_visits_to_the_row_engine(tmp_path: Path) -> None:
    """A rate of many digits has no exact int64 form here: the rule is row-only, answers agree."""
    pack = parse_pack("""
pack: odd
title: {zh: 测试, en: test}
rules:
  - id: third
    title: {zh: 三分之一, en: a third}
    clause: 测试
    source: test
    region: "4501"
    items: [drug]
    benefit: {reduce: "33.3333333333%"}
""", "odd.yaml")
    engine = Engine(merge([pack], REGISTRY), REGISTRY)
    batch = BatchEngine(engine)
    assert [r.rule.rule_id for r in VectorPolicy.of(engine.compiled, REGISTRY).row_only_rules] == ["third"]
    data = jsonl([good("A"), good("B", region="370100")])
    chunk = next(read_chunks_of(data))
    assert sorted(batch.evaluate_chunk(chunk).rows) == [0]  # only the visit in the rule's region
    assert batch_output(batch, data) == row_output(engine, data)


def test_custom_conditions_from_plugins_are_row_only(monkeypatch: pytest.MonkeyPatch,
                                                     write_pack) -> None:  # type: ignore[no-untyped-def]
    from .test_plugins import manager

    built = manager()
    monkeypatch.setattr(plugins, "plugin_manager", lambda: built)
    path = write_pack("""
        pack: weekdays
        title: {zh: 工作日, en: weekdays}
        rules:
          - id: weekday-drugs
            title: {zh: 工作日药费, en: weekday drugs}
            clause: 测试
            source: test
            when: {custom: {weekday: [0, 1, 2, 3, 4]}}
            items: [drug]
            benefit: {reduce: "10%"}
    """)
    engine = Engine.from_packs("seed-example", str(path), registry=plugins.registry())
    data = jsonl([good("A"), good("B", date="2025-03-02"), good("C", date="2025-03-03")])
    ours = batch_output(engine, data)
    assert ours == row_output(engine, data) and b"weekday-drugs" in ours


def test_cli_batch_matches_evaluate_and_exits_2_on_errors(tmp_path: Path) -> None:
    source = tmp_path / "visits.jsonl"
    source.write_bytes(jsonl([good("A"), BAD_RECORDS["float amount"], good("C")]))
    runner = CliRunner()
    ours = runner.invoke(main, ["--lang", "en", "batch", str(source), "-o", str(tmp_path / "b.jsonl")])
    theirs = runner.invoke(main, ["--lang", "en", "evaluate", str(source), "-o", str(tmp_path / "e.jsonl")])
    assert (ours.exit_code, theirs.exit_code) == (2, 2)
    assert "1 record(s) had errors" in ours.stderr
    assert (tmp_path / "b.jsonl").read_bytes() == (tmp_path / "e.jsonl").read_bytes()


def test_cli_batch_takes_a_json_array_through_the_row_engine(tmp_path: Path) -> None:
    source = tmp_path / "visits.json"
    source.write_text(json.dumps([good("A"), good("B")], indent=2), encoding="utf-8")
    result = CliRunner().invoke(main, ["batch", str(source)])
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["visit_id"] for line in result.stdout.splitlines()] == ["A", "B"]


def test_cli_batch_bad_pack_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    source = tmp_path / "visits.jsonl"
    source.write_bytes(jsonl([good("A")]))
    target = tmp_path / "out.jsonl"
    result = CliRunner().invoke(main, ["--lang", "en", "batch", str(source), "-p", "no-such-pack", "-o", str(target)])
    assert result.exit_code == 2 and "no-such-pack" in result.stderr
    assert not target.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["visits.jsonl"]


def test_cli_batch_unreadable_parquet_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    source = tmp_path / "visits.parquet"
    source.write_bytes(b"PAR1 this is not parquet")
    target = tmp_path / "out.jsonl"
    result = CliRunner().invoke(main, ["--lang", "zh", "batch", str(source), "-o", str(target)])
    assert result.exit_code == 2 and "无法读取" in result.stderr
    assert not target.exists()


def test_parquet_without_the_contract_columns_is_refused(tmp_path: Path) -> None:
    import pyarrow as pa

    path = tmp_path / "other.parquet"
    pq.write_table(pa.table({"visit_id": ["A"]}), path)
    with pytest.raises(Exception, match="lacks the columns .*date"):
        list(read_chunks(path))


@pytest.mark.parametrize("name,extra", [("visits.jsonl", ["--codes", "charge_codes.csv"]),
                                        ("bad_visits.jsonl", [])])
def test_the_examples_match_evaluate(tmp_path: Path, name: str, extra: list[str]) -> None:
    """The sample visits (charge codes to map, every kind of bad record) through both commands."""
    examples = Path(__file__).resolve().parents[1] / "examples"
    options = [str(examples / e) if e.endswith(".csv") else e for e in extra]
    runner = CliRunner()
    ours = runner.invoke(main, ["batch", str(examples / name), *options, "-o", str(tmp_path / "b.jsonl")])
    theirs = runner.invoke(main, ["evaluate", str(examples / name), *options, "-o", str(tmp_path / "e.jsonl")])
    assert ours.exit_code == theirs.exit_code
    assert (tmp_path / "b.jsonl").read_bytes() == (tmp_path / "e.jsonl").read_bytes()


def test_a_bad_csv_row_is_named_by_its_visit_position(tmp_path: Path) -> None:
    path = tmp_path / "visits.csv"
    write_table(records_table([good("A"), good("B"), good("C")]), path, "csv")
    text = path.read_text(encoding="utf-8").replace('"80.25"', '"80.255"', 1)
    path.write_text(text, encoding="utf-8")
    out = io.BytesIO()
    assert write_decisions(BatchEngine(SEED), path, out) == 1
    answers = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [a["visit_id"] for a in answers] == ["A", "B", "C"]
    error = answers[0]["error"]
    assert (error["type"], error["record"], error["field"]) == ("MoneyError", "A", "lines[1].amount")
    assert "more than two decimals" in error["message"]["en"] and "两位小数" in error["message"]["zh"]
    assert "error" not in answers[1] and "error" not in answers[2]


def test_csv_visits_straddling_blocks_are_carried_over(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Small CSV blocks cut visits in two; each visit is still read whole, in order."""
    from shuangyong.batch.sources import csv as csv_reader

    records = list(generated_visits(300, seed=4))
    path = tmp_path / "visits.csv"
    write_table(records_table(records), path, "csv")
    monkeypatch.setattr(csv_reader, "CSV_BLOCK", 4096)
    chunks = list(read_chunks(path))
    assert len(chunks) > 10 and sum(chunk.count for chunk in chunks) == 300
    out = io.BytesIO()
    write_decisions(BatchEngine(SEED), path, out)
    assert out.getvalue() == row_output(SEED, jsonl(records))


def test_progress_only_on_a_terminal_and_never_on_standard_output(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from shuangyong.batch.progress import wanted

    source = tmp_path / "visits.jsonl"
    source.write_bytes(jsonl([good("A"), good("B")]))
    expected = row_output(SEED, source.read_bytes())
    piped = CliRunner().invoke(main, ["batch", str(source)])
    assert (piped.exit_code, piped.stdout_bytes, piped.stderr) == (0, expected, "")
    forced = CliRunner().invoke(main, ["batch", str(source), "--progress"])
    assert (forced.exit_code, forced.stdout_bytes) == (0, expected)
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    assert (wanted(None), wanted(False)) == (True, False)
    monkeypatch.setattr("sys.stderr.isatty", lambda: False)
    assert (wanted(None), wanted(True)) == (False, True)


def test_a_csv_without_the_flat_columns_is_refused_naming_the_file(tmp_path: Path) -> None:
    source = tmp_path / "visits.csv"
    source.write_text("visit_id,date\nV1,2025-03-01\n", encoding="utf-8")
    target = tmp_path / "out.jsonl"
    result = CliRunner().invoke(main, ["--lang", "en", "batch", str(source), "-o", str(target)])
    assert result.exit_code == 2
    assert f"cannot read {source} as csv" in result.stderr and "kind" in result.stderr
    assert not target.exists()


MUTATIONS = st.lists(st.tuples(st.sampled_from(PATHS), st.sampled_from(HOSTILE), st.booleans()), min_size=1,
                     max_size=3)


@settings(max_examples=300, deadline=None)
@given(MUTATIONS, st.booleans())
@example([(("lines", 0, "item"), "", False)], False)
@example([(("lines", 1, "amount"), "12.", False)], False)
@example([(("lines", 2, "line_id"), "1", False)], True)
def test_mutated_records_get_the_row_engines_bytes(mutations, repeat_line) -> None:  # type: ignore[no-untyped-def]
    """Issue 14: a record mutated anywhere (bad amounts, missing fields, wrong types, empty and
    over-long ids, bad dates, a line id twice) between good ones: byte for byte what the row
    engine writes, in its place."""
    odd = mutated(good("X"), mutations)
    if repeat_line and isinstance(odd.get("lines"), list):
        odd["lines"].append(copy.deepcopy(good()["lines"][0]))
    data = jsonl([good("A"), odd, good("C")])
    ours = batch_output(SEED, data)
    assert ours == row_output(SEED, data)
    assert ours.count(b"\n") == 3


@pytest.mark.parametrize("ending", [b"\r\n", b"\n", b"\r\r\n"])
def test_a_broken_line_is_named_as_evaluate_names_it_whatever_its_ending(ending: bytes) -> None:
    """Found by the fuzzer: a string left open to the end of a CRLF line was "at line 2 column 0"
    in batch (its line text had the "\r" dropped and a "\n" added) and "at line 1 column N" in
    evaluate (which keeps the "\r"): the row engine now reads the line as evaluate does."""
    broken = jsonl([good("A")]).rstrip(b"\n")[:-40] + ending
    data = jsonl([good("A")]) + broken + jsonl([good("C")])
    ours = batch_output(SEED, data)
    assert ours == row_output(SEED, data)
    assert b"invalid JSON" in ours.splitlines()[1]


@settings(max_examples=25, deadline=None)
@given(MUTATIONS)
@example([(("lines", 0, "item"), "", False)])
def test_cli_batch_and_evaluate_agree_on_mutated_input(tmp_path_factory, mutations) -> None:  # type: ignore[no-untyped-def]
    """The commands themselves: the same bytes on standard output and the same exit status
    (0, or 2 with every other record decided), never a traceback."""
    source = tmp_path_factory.mktemp("mutated") / "visits.jsonl"
    source.write_bytes(jsonl([good("A"), mutated(good("X"), mutations), good("C")]))
    runner = CliRunner()
    ours = runner.invoke(main, ["--lang", "en", "batch", str(source)])
    theirs = runner.invoke(main, ["--lang", "en", "evaluate", str(source)])
    assert ours.exit_code in (0, 2) and ours.exception is None or isinstance(ours.exception, SystemExit)
    assert (ours.exit_code, ours.stdout_bytes) == (theirs.exit_code, theirs.stdout_bytes)


@pytest.mark.parametrize("text", ["", "\n  \n"], ids=["empty", "blank lines"])
def test_an_empty_input_exits_2_like_evaluate_and_writes_nothing(tmp_path: Path, text: str) -> None:
    source = tmp_path / "visits.jsonl"
    source.write_text(text, encoding="utf-8")
    runner = CliRunner()
    ours = runner.invoke(main, ["--lang", "en", "batch", str(source), "-o", str(tmp_path / "b.jsonl")])
    theirs = runner.invoke(main, ["--lang", "en", "evaluate", str(source)])
    assert (ours.exit_code, theirs.exit_code) == (2, 2)
    assert "empty input: no visit records" in ours.stderr and "Traceback" not in ours.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["visits.jsonl"]


def _empty_csv(path: Path) -> None:
    path.write_text(",".join(FLAT_COLUMNS) + "\n", encoding="utf-8")


def _empty_parquet(path: Path) -> None:
    pq.write_table(records_table([good("A")]).slice(0, 0), path)


@pytest.mark.parametrize("name,write", [("visits.csv", _empty_csv), ("visits.parquet", _empty_parquet)])
def test_a_header_only_csv_or_empty_parquet_exits_2(tmp_path: Path, name: str, write) -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / name
    write(source)
    target = tmp_path / "out.jsonl"
    result = CliRunner().invoke(main, ["--lang", "en", "batch", str(source), "-o", str(target)])
    assert result.exit_code == 2, result.output
    assert f"record {source}: empty input: no visit records" in result.stderr
    assert not target.exists()


def _gb18030(tmp_path: Path, records: list[Any], *, bom: bool = False) -> tuple[Path, Path]:
    """The same visits as UTF-8 (with a BOM if asked) and as GB 18030."""
    utf8, gb = tmp_path / "utf8.jsonl", tmp_path / "gb.jsonl"
    text = jsonl(records).decode("utf-8")
    utf8.write_bytes(("\ufeff" if bom else "").encode("utf-8") + text.encode("utf-8"))
    gb.write_bytes(text.encode("gb18030"))
    return utf8, gb


def test_gb18030_with_encoding_and_a_bom_give_the_utf8_answers(tmp_path: Path) -> None:
    records = [good("甲"), good("乙", patient={"id": "桂P1", "name": "韦建国", "categories": ["veteran"]})]
    plain = row_output(SEED, jsonl(records))
    with_bom, gb = _gb18030(tmp_path, records, bom=True)
    runner = CliRunner()
    for source, options in ((with_bom, []), (gb, ["--encoding", "gb18030"])):
        result = runner.invoke(main, ["batch", str(source), *options])
        assert (result.exit_code, result.stdout_bytes) == (0, plain), options


def test_lines_not_in_the_encoding_are_refused_one_by_one(tmp_path: Path) -> None:
    """A GB 18030 line in a UTF-8 file: that record is an error naming its line and the offset
    of its first bad byte; the records around it are decided."""
    source = tmp_path / "visits.jsonl"
    first = jsonl([good("A")])
    bad = jsonl([good("乙")]).decode("utf-8").encode("gb18030")
    source.write_bytes(first + bad + jsonl([good("C")]))
    result = CliRunner().invoke(main, ["--lang", "en", "batch", str(source)])
    assert result.exit_code == 2 and "1 record(s) had errors" in result.stderr
    answers = [json.loads(line) for line in result.stdout_bytes.splitlines()]
    assert [a.get("visit_id") for a in answers] == ["A", None, "C"]
    error = answers[1]["error"]
    offset = len(first) + bad.index("乙".encode("gb18030"))
    assert error["record"] == "line 2" and f"offset {offset}" in error["message"]["en"]
    assert "--encoding gb18030" in error["message"]["en"] and "第 2 行" in error["message"]["zh"]
    assert answers[0] == json.loads(row_output(SEED, jsonl([good("A")])))


def test_a_csv_not_in_its_encoding_exits_2_naming_line_and_offset(tmp_path: Path) -> None:
    utf8 = tmp_path / "utf8.csv"
    write_table(records_table([good("A"), good("乙")]), utf8, "csv")
    gb = tmp_path / "gb.csv"
    text = utf8.read_text(encoding="utf-8")
    gb.write_bytes(text.encode("gb18030"))
    runner = CliRunner()
    target = tmp_path / "out.jsonl"
    refused = runner.invoke(main, ["--lang", "en", "batch", str(gb), "-o", str(target)])
    before = text[:min(n for n, char in enumerate(text) if not char.isascii())]
    where = f"line {before.count(chr(10)) + 1} is not valid utf-8 (first bad byte at offset {len(before)} of the file)"
    assert refused.exit_code == 2 and where in refused.stderr
    assert not target.exists()
    read = runner.invoke(main, ["batch", str(gb), "--encoding", "gb18030"])
    assert (read.exit_code, read.stdout_bytes) == (0, runner.invoke(main, ["batch", str(utf8)]).stdout_bytes)


def _parquet_with_amounts(path: Path, amounts: pa.Array) -> None:
    """``good("A")`` as Parquet, its amount column replaced by ``amounts`` (of any type)."""
    table = records_table([good("A")])
    lines = table.column("lines").combine_chunks()
    line = lines.values
    fields = [amounts if f.name == "amount" else line.field(f.name) for f in line.type]
    values = pa.StructArray.from_arrays(fields, names=[f.name for f in line.type])
    pq.write_table(table.set_column(5, "lines", pa.ListArray.from_arrays(lines.offsets, values)), path)


def test_parquet_float_amounts_are_refused_naming_column_and_file(tmp_path: Path) -> None:
    source = tmp_path / "visits.parquet"
    _parquet_with_amounts(source, pa.array([12.0, 80.25, 37.85], pa.float64()))
    target = tmp_path / "out.jsonl"
    result = CliRunner().invoke(main, ["--lang", "en", "batch", str(source), "-o", str(target)])
    assert result.exit_code == 2
    assert f"record {source}, field lines.amount: column lines.amount holds floating-point numbers" in result.stderr
    assert not target.exists()


def test_parquet_decimals_are_read_exactly_and_huge_ones_go_to_the_row_engine(tmp_path: Path) -> None:
    """decimal128 amounts: exact ones answered over columns; one past ``MAX_AMOUNT`` (which int64
    fen would still hold) is left to the row engine, never summed over columns."""
    from decimal import Decimal

    source = tmp_path / "visits.parquet"
    amounts = [Decimal("12.00"), Decimal("99999999999999999.99"), Decimal("37.85")]
    _parquet_with_amounts(source, pa.array(amounts, pa.decimal128(38, 2)))
    result = BatchEngine(SEED).evaluate_chunk(next(read_chunks(source)))
    assert sorted(result.rows) == [0] and result.lines is None
    out = io.BytesIO()
    write_decisions(BatchEngine(SEED), source, out)
    record = good("A")
    for line, amount in zip(record["lines"], amounts, strict=True):
        line["amount"] = str(amount)
    assert out.getvalue() == row_output(SEED, jsonl([record]))


@pytest.mark.parametrize("amount", [" 12.00", "+12.00", "1e3", ".5", "12.", "12.345", "10000000000.00"])
def test_csv_amounts_the_contract_refuses_are_left_to_the_row_engine(tmp_path: Path, amount: str) -> None:
    path = tmp_path / "visits.csv"
    write_table(records_table([good("A"), good("B"), good("C")]), path, "csv")
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('"80.25"', f'"{amount}"', 1), encoding="utf-8")
    engine = BatchEngine(SEED)
    assert sorted(engine.evaluate_chunk(next(read_chunks(path))).rows) == [0]
    out = io.BytesIO()
    write_decisions(engine, path, out)
    odd = good("A")
    odd["lines"][1]["amount"] = amount
    assert out.getvalue() == row_output(SEED, jsonl([odd, good("B"), good("C")]))


def test_the_columns_take_no_amount_above_the_maximum() -> None:
    """The columns' amount pattern bounds amounts by their digits: that bound must be MAX_AMOUNT."""
    import re

    from shuangyong.batch.columns import _AMOUNT
    from shuangyong.limits import MAX_AMOUNT

    largest = f"{int(MAX_AMOUNT)}.99"
    assert re.match(_AMOUNT, largest) and Decimal(largest) == MAX_AMOUNT
    assert not re.match(_AMOUNT, str(MAX_AMOUNT + Decimal("0.01")))


def test_a_record_nested_too_deeply_is_refused_and_the_rest_decided(tmp_path: Path) -> None:
    source = tmp_path / "visits.jsonl"
    deep = '{"visit_id": "D", "lines": ' + "[" * 100_000 + "]" * 100_000 + "}"
    source.write_bytes(jsonl([good("A"), deep, good("C")]))
    ours = CliRunner().invoke(main, ["--lang", "en", "batch", str(source)])
    if isinstance(ours.exception, RecursionError):
        raise ours.exception
    theirs = CliRunner().invoke(main, ["--lang", "en", "evaluate", str(source)])
    assert (ours.exit_code, ours.stdout_bytes) == (theirs.exit_code, theirs.stdout_bytes) == (2, ours.stdout_bytes)
    assert [json.loads(line).get("visit_id") for line in ours.stdout_bytes.splitlines()] == ["A", None, "C"]


@pytest.mark.parametrize("block", [5, 64, 1 << 20])
def test_decoded_reads_any_block_size_and_numbers_bad_lines_in_the_file(block: int) -> None:
    """Lines longer than a block, a BOM, GB 18030 and a bad line: the same UTF-8 and the same
    line numbers and offsets whatever the block size."""
    from shuangyong.batch.sources.decoding import Decoded

    lines = ["{\"a\": \"韦建国\"}\n", "plain\n", "再见\n", "end"]
    gb = "".join(lines).encode("gb18030")
    decoded = Decoded(io.BytesIO(b"\x84\x31\x95\x33" + gb), "gb18030", block=block)  # GB 18030's own BOM
    assert b"".join(iter(decoded.read, b"")) == "".join(lines).encode("utf-8") and not decoded.problems
    mixed = codecs.BOM_UTF8 + lines[0].encode("utf-8") + lines[1].encode() + lines[2].encode("gb18030") + b"end"
    decoded = Decoded(io.BytesIO(mixed), "gb18030", block=block)  # a UTF-8 BOM means UTF-8
    text = b"".join(iter(lambda: decoded.read(3), b""))
    assert text.startswith((lines[0] + lines[1]).encode("utf-8")) and text.endswith(b"\nend")
    offset = len(codecs.BOM_UTF8 + lines[0].encode("utf-8") + lines[1].encode())
    assert list(decoded.problems) == [3] and decoded.problems[3].value == offset


@pytest.mark.parametrize("last", [False, True])
def test_a_line_past_the_record_limit_is_its_records_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            last: bool) -> None:
    """A line longer than MAX_RECORD_BYTES (2,000 here) is refused as evaluate refuses it, naming
    it; the lines after it are still decided."""
    from shuangyong.interchange import framing

    monkeypatch.setattr(framing, "MAX_RECORD_BYTES", 2000)
    long_line = b'{"visit_id": "' + b"x" * 7000 + b'"}'
    source = tmp_path / "long.jsonl"
    source.write_bytes(jsonl([good("A")]) + long_line + (b"" if last else b"\n" + jsonl([good("C")])))
    ours = CliRunner().invoke(main, ["--lang", "en", "batch", str(source)])
    theirs = CliRunner().invoke(main, ["--lang", "en", "evaluate", str(source)])
    assert (ours.exit_code, ours.stdout_bytes) == (theirs.exit_code, theirs.stdout_bytes)
    records = [json.loads(line) for line in ours.stdout_bytes.splitlines()]
    assert ["A", None, *([] if last else ["C"])] == [r.get("visit_id") for r in records]
    assert ("line 2", "line 2 is longer than 2000 bytes") == (records[1]["error"]["record"],
                                                             records[1]["error"]["message"]["en"])


@pytest.mark.parametrize("block", [64, 3000])
def test_decoded_never_holds_a_line_past_the_record_limit(monkeypatch: pytest.MonkeyPatch, block: int) -> None:
    """A line with no end in sight past MAX_RECORD_BYTES is skipped a block at a time: in its
    place ``{}`` with its error, the line numbers and byte offsets after it as in the file."""
    from shuangyong.batch.sources.decoding import Decoded
    from shuangyong.interchange import framing

    monkeypatch.setattr(framing, "MAX_RECORD_BYTES", 2000)
    data = b"first\n" + b"x" * 7000 + b"\nthird \xff\nfourth"
    decoded = Decoded(io.BytesIO(data), "utf-8", block=block)
    assert b"first\n{}\nthird \xef\xbf\xbd\nfourth" == b"".join(iter(decoded.read, b""))
    assert ("line 2 is longer than 2000 bytes", 6 + 7001 + 6) == (decoded.problems[2].message.en,
                                                                  decoded.problems[3].value)


def test_cli_batch_and_evaluate_agree_on_encodings(tmp_path: Path) -> None:
    """GB 18030 with and without --encoding, a BOM, and GB 18030 lines inside a UTF-8 file."""
    records = [good("甲"), good("B", patient={"id": "桂P1", "name": "韦建国"})]
    with_bom, gb = _gb18030(tmp_path, records, bom=True)
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_bytes(jsonl([good("A")]) + gb.read_bytes() + jsonl([good("C")]))
    runner = CliRunner()
    for args in ([str(gb)], [str(gb), "--encoding", "gb18030"], [str(with_bom)], [str(mixed)]):
        ours = runner.invoke(main, ["--lang", "en", "batch", *args])
        theirs = runner.invoke(main, ["--lang", "en", "evaluate", *args])
        assert (ours.exit_code, ours.stdout_bytes) == (theirs.exit_code, theirs.stdout_bytes), args


@pytest.mark.parametrize("command", [["batch"], ["whatif", "--base", "seed-example", "--reform", "seed-example"]])
def test_without_the_batch_extra_the_command_names_it(command: list[str]) -> None:
    """Issue 15 §5: with the core alone installed (numpy hidden here), batch and whatif exit 2
    with the pip command, not 1 with a ModuleNotFoundError."""
    import subprocess
    import sys

    script = ("import sys; sys.modules['numpy'] = None\n"
              "from shuangyong.cli import main\n"
              f"main(['--lang', 'en', '{command[0]}', 'examples/visits.jsonl', *{command[1:]!r}])")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False,
                            cwd=Path(__file__).resolve().parents[1])
    assert (2, "error: record shuangyong.batch, field numpy: the batch path needs numpy: "
               "pip install 'shuangyong[batch]'\n") == (result.returncode, result.stderr)
