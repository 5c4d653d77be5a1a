"""``shuangyong whatif``: every figure checked against the row engine, visit by visit."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from shuangyong.batch import BatchEngine
from shuangyong.batch.sources.csv import FLAT_COLUMNS
from shuangyong.cli import main
from shuangyong.engine import Engine
from shuangyong.generate import visits, write_json_lines
from shuangyong.interchange import visit_from_json
from shuangyong.testing.prerequisites import missing
from shuangyong.whatif import Reductions, compare

ROOT = Path(__file__).resolve().parents[1]
REFORM = str(ROOT / "examples" / "reform-bed-waiver.yaml")


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("whatif") / "year.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        write_json_lines(visits(1500, seed=8), handle)
    return path


def by_hand(path: Path, base: Engine, reform: Engine) -> dict[str, object]:
    """The same comparison from the row engine, one visit at a time, in Decimal yuan."""
    totals: Counter[str] = Counter()
    rules, items, months, categories = (defaultdict(lambda: [Decimal("0.00")] * 2) for _ in range(4))
    changes, patients = [], set()
    for text in path.read_text(encoding="utf-8").splitlines():
        visit = visit_from_json(text)
        sides = [engine.evaluate(visit) for engine in (base, reform)]
        reduction = [d.totals.reduction for d in sides]
        totals["amount"] += sides[0].totals.amount
        for side, decision in enumerate(sides):
            for line in decision.lines:
                items[line.item][side] += line.reduction
                for applied in line.applied:
                    rules[applied.rule][side] += applied.reduction
            months[str(visit.date)[:7]][side] += reduction[side]
            key = "+".join(base.registry.categories.order(visit.patient.categories)) or "-"
            categories[key][side] += reduction[side]
        totals["base"] += reduction[0]
        totals["reform"] += reduction[1]
        if reduction[0] != reduction[1]:
            changes.append((-abs(reduction[1] - reduction[0]), visit.visit_id))
            patients.add(visit.patient.id)

    def clean(table):  # type: ignore[no-untyped-def]
        return {k: Reductions(*v) for k, v in sorted(table.items()) if v[0] or v[1]}

    return {"totals": dict(totals), "rules": clean(rules), "items": clean(items), "months": clean(months),
            "categories": clean(categories), "changes": sorted(changes)[:10], "patients": patients}


def test_every_figure_agrees_with_the_row_engine(year: Path) -> None:
    base, reform = Engine.from_packs("seed-example"), Engine.from_packs(REFORM)
    ours = compare(BatchEngine(base), BatchEngine(reform), year)
    theirs = by_hand(year, base, reform)
    assert (ours.amount, ours.base, ours.reform) == (theirs["totals"]["amount"], theirs["totals"]["base"],
                                                      theirs["totals"]["reform"])
    assert (list(ours.by_rule.items()), list(ours.by_item.items())) == (list(theirs["rules"].items()),
                                                                        list(theirs["items"].items()))
    assert (list(ours.by_month.items()), list(ours.by_category.items())) == (list(theirs["months"].items()),
                                                                             list(theirs["categories"].items()))
    assert ours.beneficiaries == theirs["patients"] and ours.visits_affected >= len(theirs["patients"]) > 0
    assert [(-abs(c.difference), c.visit_id) for c in ours.largest_changes] == theirs["changes"]
    # the reform only touches the bed fee: every other rule and item is unchanged
    assert {k for k, row in ours.by_rule.items() if row.difference} == {"three-halves.bed"}
    assert {k for k, row in ours.by_item.items() if row.difference} == {"bed"}
    assert ours.by_item["bed"].reform > ours.by_item["bed"].base > 0


def test_the_result_speaks_decimal_yuan_and_its_json_strings(year: Path) -> None:
    """Issue 15 §8: every amount of the result is Decimal yuan to the fen, as the rest of the API
    answers; the JSON form writes each as a string, as the contract does."""
    ours = compare(BatchEngine(Engine.from_packs("seed-example")), BatchEngine(Engine.from_packs(REFORM)), year,
                   top=3)
    amounts = [ours.amount, ours.base, ours.reform, ours.difference,
               *(value for table in (ours.by_rule, ours.by_category, ours.by_item, ours.by_month)
                 for row in table.values() for value in (row.base, row.reform, row.difference)),
               *(value for c in ours.largest_changes for value in (c.base, c.reform, c.difference))]
    assert {type(value) for value in amounts} == {Decimal}
    assert all(value.as_tuple().exponent == -2 for value in amounts)
    assert ours.difference == ours.by_item["bed"].difference > 0
    payload = ours.as_dict()
    assert payload["difference"] == str(ours.difference) and payload["base"]["payable"] == str(ours.amount - ours.base)
    assert payload["largest_changes"][0]["difference"] == str(ours.largest_changes[0].difference)
    strings = [payload["amount"], payload["difference"], *payload["base"].values(), *payload["reform"].values(),
               *(row[name] for key in ("by_rule", "by_category", "by_item", "by_month", "largest_changes")
                 for row in payload[key] for name in ("base", "reform", "difference"))]
    assert all(isinstance(text, str) and re.fullmatch(r"-?[0-9]+\.[0-9]{2}", text) for text in strings)


def test_the_same_set_on_both_sides_changes_nothing(year: Path) -> None:
    engine = Engine.from_packs()
    ours = compare(BatchEngine(engine), BatchEngine(engine), year)
    assert ours.base == ours.reform > 0 and ours.difference == Decimal("0.00")
    assert (ours.visits_affected, ours.beneficiaries, ours.largest_changes) == (0, frozenset(), ())
    assert all(row.difference == 0 for row in ours.by_rule.values())


def run(*args: str) -> object:
    return CliRunner().invoke(main, ["--lang", "en", "whatif", *args])


def test_cli_json_and_table(year: Path) -> None:
    result = run("--base", "seed-example", "--reform", REFORM, str(year), "--format", "json", "--top", "3")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["packs"] == {"base": ["seed-example"], "reform": [REFORM]} and len(payload["largest_changes"]) == 3
    assert payload["difference"] == [r for r in payload["by_item"] if r["key"] == "bed"][0]["difference"]
    money = [payload["amount"], payload["difference"], *payload["base"].values(), *payload["reform"].values(),
             *(row["difference"] for row in payload["by_rule"] + payload["largest_changes"])]
    assert all(isinstance(text, str) and re.fullmatch(r"-?[0-9]+\.[0-9]{2}", text) for text in money)
    table = run("--base", "seed-example", "--reform", REFORM, str(year))
    for heading in ("by rule", "by category", "by item kind", "by month", "largest changes"):
        assert f"\n{heading}\n" in table.stdout
    assert "Bed fee" in table.stdout and "visits and" in table.stdout


def test_cli_html_is_self_contained_and_escapes_input(tmp_path: Path) -> None:
    source = tmp_path / "visits.jsonl"
    record = json.loads(next(iter(
        line for line in (ROOT / "examples" / "visits.jsonl").read_text(encoding="utf-8").splitlines()
        if '"ZY20250410-0088"' in line)))
    record["visit_id"] = "<script>alert('x')</script>"
    source.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    target = tmp_path / "whatif.html"
    result = run("--base", "seed-example", "--reform", REFORM, str(source), "--format", "html", "-o", str(target))
    assert result.exit_code == 0, result.output
    page = target.read_text(encoding="utf-8")
    assert page.count("<svg") == 2 and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "<script" not in page
    assert not re.search(r"(src|href)=|url\(|@import", page)  # nothing fetched from anywhere


def test_cli_counts_bad_records_leaves_them_out_and_exits_2(tmp_path: Path) -> None:
    source = tmp_path / "visits.jsonl"
    good = (ROOT / "examples" / "visits.jsonl").read_text(encoding="utf-8").splitlines()[0]
    source.write_text(good + "\n" + '{"visit_id": "bad"}\n', encoding="utf-8")
    result = run("--base", "seed-example", "--reform", REFORM, str(source), "--format", "json")
    assert result.exit_code == 2
    assert "1 record(s) had errors and were left out" in result.stderr
    payload = json.loads(result.stdout)
    assert (payload["visits"], payload["errors"]) == (1, 1)


def test_cli_bad_reform_pack_exits_2_and_writes_nothing(tmp_path: Path, year: Path) -> None:
    target = tmp_path / "out.json"
    result = run("--base", "seed-example", "--reform", "no-such-pack", str(year), "-o", str(target))
    assert result.exit_code == 2 and "no-such-pack" in result.stderr
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_the_reform_pack_is_marked_hypothetical_and_quotes_the_base_rule() -> None:
    base, reform = Engine.from_packs("seed-example"), Engine.from_packs(REFORM)
    old, new = base.policy.rule("three-halves.bed").spec, reform.policy.rule("three-halves.bed").spec
    assert (new.clause, new.source, new.when) == (old.clause, old.source, old.when)
    assert "假设" in new.title.zh and "Hypothetical" in new.title.en
    text = Path(REFORM).read_text(encoding="utf-8")
    assert "HYPOTHETICAL" in text and "not policy in force" in text


def test_the_reform_quotes_its_seed_sentence_verbatim() -> None:
    from .test_seed_citations import SEEDS, _no_space

    if not SEEDS.is_dir():
        missing(f"{SEEDS} is absent (a user's clone has no ../shared/seeds)")
    spec = Engine.from_packs(REFORM).policy.rule("three-halves.bed").spec
    assert _no_space(spec.clause) in _no_space((SEEDS / spec.source).read_text(encoding="utf-8"))


@pytest.mark.parametrize("name,text", [("visits.jsonl", ""), ("visits.jsonl", "\n\n"),
                                       ("visits.csv", ",".join(FLAT_COLUMNS) + "\n")],
                         ids=["empty", "blank", "header-only csv"])
def test_cli_an_empty_input_exits_2_and_writes_nothing(tmp_path: Path, name: str, text: str) -> None:
    """Issue 14: no visits is not a comparison of nothing (exit 0): it is refused like evaluate's."""
    source = tmp_path / name
    source.write_text(text, encoding="utf-8")
    target = tmp_path / "out.json"
    result = run("--base", "seed-example", "--reform", REFORM, str(source), "-o", str(target))
    assert result.exit_code == 2 and "empty input: no visit records" in result.stderr
    assert "Traceback" not in result.output and not target.exists()


def test_cli_a_record_evaluate_refuses_is_left_out_not_answered(tmp_path: Path) -> None:
    """A line whose item is empty: evaluate refuses it, so whatif counts it as an error (exit 2)
    instead of totalling it as a line no rule applies to."""
    lines = (ROOT / "examples" / "visits.jsonl").read_text(encoding="utf-8").splitlines()
    odd = json.loads(lines[1])
    odd["lines"][0]["item"] = ""
    source = tmp_path / "visits.jsonl"
    source.write_text("\n".join([lines[0], json.dumps(odd, ensure_ascii=False), lines[2]]) + "\n", encoding="utf-8")
    result = run("--base", "seed-example", "--reform", REFORM, str(source), "--format", "json")
    assert result.exit_code == 2 and "1 record(s) had errors and were left out" in result.stderr
    payload = json.loads(result.stdout)
    assert (payload["visits"], payload["errors"]) == (2, 1)
    evaluated = CliRunner().invoke(main, ["evaluate", str(source)])
    assert evaluated.exit_code == 2 and evaluated.stdout.count('"error"') == 1


def test_cli_gb18030_needs_its_encoding_and_then_gives_the_utf8_figures(tmp_path: Path) -> None:
    text = (ROOT / "examples" / "visits.jsonl").read_text(encoding="utf-8")  # names in Chinese characters
    utf8, gb = tmp_path / "utf8.jsonl", tmp_path / "gb.jsonl"
    utf8.write_text(text, encoding="utf-8")
    gb.write_bytes(text.encode("gb18030"))
    expected = run("--base", "seed-example", "--reform", REFORM, str(utf8), "--format", "json")
    assert expected.exit_code == 0, expected.output
    read = run("--base", "seed-example", "--reform", REFORM, str(gb), "--format", "json", "--encoding", "gb18030")
    assert (read.exit_code, read.stdout) == (0, expected.stdout)
    misread = run("--base", "seed-example", "--reform", REFORM, str(gb), "--format", "json")
    assert misread.exit_code == 2 and "record(s) had errors and were left out" in misread.stderr
    assert json.loads(misread.stdout)["visits"] < json.loads(expected.stdout)["visits"]


def test_cli_a_json_array_is_read_as_evaluate_reads_it(tmp_path: Path) -> None:
    """A pretty-printed JSON array is three visits, not one bad record per line of text."""
    records = [json.loads(line) for line in (ROOT / "examples" / "visits.jsonl").read_text(encoding="utf-8")
               .splitlines()[:3]]
    lines, array = tmp_path / "visits.jsonl", tmp_path / "visits.json"
    lines.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    array.write_text(json.dumps(records, ensure_ascii=False, indent=2), encoding="utf-8")
    expected = run("--base", "seed-example", "--reform", REFORM, str(lines), "--format", "json")
    result = run("--base", "seed-example", "--reform", REFORM, str(array), "--format", "json")
    assert (result.exit_code, result.stdout) == (0, expected.stdout)
    assert json.loads(result.stdout)["visits"] == 3


def test_cli_table_orders_a_combination_of_categories_after_its_first_part() -> None:
    """The sample visits have a patient in two categories: the table sorted "a+b" against "b"
    by comparing a rank with a key and crashed (found by the fuzzer)."""
    root = Path(__file__).resolve().parents[1]
    result = run(str(root / "examples" / "visits.jsonl"), "--base", "seed-example",
                 "--reform", str(root / "examples" / "reform-bed-waiver.yaml"))
    table = result.stdout.split("by category\n")[1].split("\n\n")[0]
    rows = [line.split("  ")[1].strip() for line in table.splitlines()[1:]]
    assert (0, "Disabled serviceman or veteran + Veteran of combat or weapons tests") == (
        result.exit_code, rows[rows.index("Disabled serviceman or veteran") + 1])
