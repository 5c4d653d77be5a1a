"""The batch path sends visits with settlement figures (contract 1.1) to the row engine, from JSON
Lines and from Parquet, so its bytes stay ``shuangyong evaluate``'s; the others stay columnar."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from shuangyong.batch import BatchEngine, read_chunks
from shuangyong.batch.run import write_decisions
from shuangyong.batch.sources import json_line_chunks
from shuangyong.cli import main
from shuangyong.engine import Engine

from .batch_support import batch_output, jsonl, row_output
from .test_batch import good

SEED = Engine.from_packs()


def with_line_insurance(visit_id: str, *, short: bool = False) -> dict[str, Any]:
    """``good`` with 医保's figures on every line; ``short``: the bed line's parts miss a fen."""
    record = good(visit_id)
    for line in record["lines"]:
        line["insurance"] = {"self_pay": {"full": line["amount"]}}
    record["lines"][1]["insurance"] = {"funds": {"basic_pool": "60.00" if not short else "59.99"},
                                       "self_pay": {"in_scope": "20.25"}}
    return record


def with_visit_insurance(visit_id: str) -> dict[str, Any]:
    return good(visit_id, insurance={"funds": {"basic_pool": "100.00"}, "self_pay": {"full": "30.10"}})


def test_insured_json_lines_go_to_the_row_engine_and_the_rest_stay_columnar() -> None:
    records = [good("A"), with_line_insurance("B"), good("C"), with_visit_insurance("D"),
               with_line_insurance("E", short=True), good("F")]
    data = jsonl(records)
    result = BatchEngine(SEED).evaluate_chunk(next(json_line_chunks(io.BytesIO(data))))
    assert ([1, 3, 4], 3) == (sorted(result.rows), len(result.vector))
    ours = batch_output(SEED, data)
    assert ours == row_output(SEED, data)
    answers = [json.loads(line) for line in ours.splitlines()]
    assert ("lines[1].insurance", True) == (answers[4]["error"]["field"], all("lines" in answers[n] for n in (0, 1, 3)))


def test_a_key_merely_spelled_insurance_inside_a_text_is_harmless() -> None:
    """The scan is conservative: a description holding ``"insurance":`` sends that visit to the
    row engine too, with the same answer."""
    record = good("A")
    record["lines"][0]["description"] = 'copied: "insurance": none'
    data = jsonl([record, good("B")])
    assert batch_output(SEED, data) == row_output(SEED, data)


def test_strict_batch_refuses_an_unknown_fund_like_evaluate(tmp_path: Path) -> None:
    record = with_line_insurance("B")
    record["lines"][1]["insurance"]["funds"] = {"city_top_up": "60.00"}
    source = tmp_path / "visits.jsonl"
    source.write_bytes(jsonl([good("A"), record]))
    runner = CliRunner()
    ours = runner.invoke(main, ["batch", "--strict", str(source), "-o", str(tmp_path / "b.jsonl")])
    theirs = runner.invoke(main, ["evaluate", "--strict", str(source), "-o", str(tmp_path / "e.jsonl")])
    assert (2, 2, True) == (ours.exit_code, theirs.exit_code,
                            (tmp_path / "b.jsonl").read_bytes() == (tmp_path / "e.jsonl").read_bytes())
    assert b"lines[1].insurance.funds.city_top_up" in (tmp_path / "b.jsonl").read_bytes()


@pytest.mark.parametrize("insured", [with_line_insurance, with_visit_insurance])
def test_parquet_figures_are_not_dropped(tmp_path: Path, insured: Any) -> None:
    """Parquet's insurance (a visit column, or a field of the lines) reaches the row engine whole:
    a line whose parts do not add up is that record's error, as the contract says; the figures
    are never silently left out by the columns."""
    bad = copy.deepcopy(insured("B"))
    target = bad["lines"][1]["insurance"] if "insurance" in bad["lines"][1] else bad["insurance"]
    target["self_pay"] = {part: "0.01" for part in target["self_pay"]}
    records = [good("A"), insured("OK"), bad]
    path = tmp_path / "visits.parquet"
    pq.write_table(pa.Table.from_struct_array(pa.array(records)), path)  # every key of every record
    engine = BatchEngine(SEED)
    chunk = next(read_chunks(path))
    assert [1, 2] == sorted(engine.evaluate_chunk(chunk).rows)
    out = io.BytesIO()
    assert 1 == write_decisions(engine, path, out)
    assert row_output(SEED, jsonl(records)) == out.getvalue()
    assert b'"field":"' + (b"lines[1]." if insured is with_line_insurance else b"") + b'insurance"' in out.getvalue()
