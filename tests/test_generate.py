"""``shuangyong generate``: valid contract records, deterministic for a seed, a realistic spread."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections import Counter
from pathlib import Path

from click.testing import CliRunner

from shuangyong.cli import main
from shuangyong.engine import Engine
from shuangyong.generate import CATEGORY_MIX, visits, write_json_lines
from shuangyong.interchange import visit_from_json
from shuangyong.model import Registry


def generated(count: int, seed: int = 5) -> list[str]:
    out = io.StringIO()
    write_json_lines(visits(count, seed), out)
    return out.getvalue().splitlines()


def test_every_record_is_a_valid_visit_the_engine_decides() -> None:
    engine = Engine.from_packs()
    reductions = 0
    for text in generated(400):
        decision = engine.evaluate(visit_from_json(text))
        reductions += decision.totals.reduction > 0
    assert 0 < reductions < 400  # some beneficiaries get something, ordinary patients nothing


def test_same_seed_same_bytes_other_seed_other_bytes() -> None:
    assert generated(50, seed=1) == generated(50, seed=1)
    assert generated(50, seed=1) != generated(50, seed=2)
    assert [json.loads(t)["visit_id"] for t in generated(3)] == ["V00000000", "V00000001", "V00000002"]


def test_the_mix_covers_categories_cards_items_kinds_and_months() -> None:
    records = [json.loads(text) for text in generated(3000)]
    registry = Registry.builtin()
    categories = Counter(c for r in records for c in r["patient"]["categories"])
    assert set(categories) == {row[0] for row in CATEGORY_MIX if row[0]}
    assert {line["item"] for r in records for line in r["lines"]} == {t.id for t in registry.items}
    assert Counter(r["kind"] for r in records).keys() == {"outpatient", "emergency", "inpatient"}
    assert {r["date"][:7] for r in records} == {f"2025-{m:02d}" for m in range(1, 13)}
    states = Counter()
    for r in records:
        day = dt.date.fromisoformat(r["date"])
        for card in r["patient"]["credentials"]:
            valid = card["valid_from"] <= r["date"] <= card["valid_to"]
            states["valid" if valid else "expired" if card["valid_to"] < r["date"] else "not yet"] += 1
            assert dt.date.fromisoformat(card["valid_from"]) <= dt.date.fromisoformat(card["valid_to"])
        assert day.year == 2025
    assert states["valid"] > states["expired"] > 0 and states["not yet"] > 0
    patients = Counter(r["patient"]["id"] for r in records)
    assert max(patients.values()) > 1  # patients come back
    first_seen: dict[str, object] = {}
    for r in records:  # a returning patient is the same person every time
        assert first_seen.setdefault(r["patient"]["id"], r["patient"]) == r["patient"]


def test_cli_writes_the_file_and_reports(tmp_path: Path) -> None:
    target = tmp_path / "visits.jsonl"
    result = CliRunner().invoke(main, ["--lang", "en", "generate", "--visits", "7", "--seed", "5",
                                       "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_text(encoding="utf-8").splitlines() == generated(7)
    assert "wrote 7 visits" in result.stderr


def test_cli_refuses_a_bad_count_and_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "visits.jsonl"
    result = CliRunner().invoke(main, ["generate", "--visits", "0", "-o", str(target)])
    assert result.exit_code == 2
    assert "--visits" in result.output and "0" in result.output
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_cli_writes_parquet_and_csv_holding_the_same_visits(tmp_path: Path) -> None:
    from shuangyong.batch import read_chunks

    expected = [json.loads(text) for text in generated(30)]
    for fmt in ("parquet", "csv"):
        target = tmp_path / f"visits.{fmt}"
        result = CliRunner().invoke(main, ["generate", "--visits", "30", "--seed", "5", "--format", fmt,
                                           "-o", str(target)])
        assert result.exit_code == 0, result.output
        chunks = list(read_chunks(target))
        assert sum(chunk.count for chunk in chunks) == 30
        assert [chunk.record(n).visit() for chunk in chunks for n in range(chunk.count)] == \
            [visit_from_json(json.dumps(r)) for r in expected]


def test_cli_columnar_formats_need_a_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--lang", "zh", "generate", "--visits", "3", "--format", "parquet"])
    assert result.exit_code == 2 and "需要 --output" in result.stderr
    assert result.stdout == ""
