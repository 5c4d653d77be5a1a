"""Reports: the JSON form, Markdown, HTML (escaped), the exporters and the command line."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from shuangyong.cli import main
from shuangyong.compliance.dossier import load_dossier, parse_dossier
from shuangyong.compliance.render import to_html, to_markdown
from shuangyong.compliance.report import evaluate, report_to_dict
from shuangyong.compliance.standards import StandardsSet

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "examples" / "dossier.yaml"
SEED = StandardsSet.load(["seed-standards"])


def sample_report(as_of: str = "2026-11-30") -> dict:
    return report_to_dict(evaluate(load_dossier(SAMPLE), SEED, dt.date.fromisoformat(as_of)))


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--lang", "en", *args])
    return result.exit_code, result.stdout, result.stderr


def test_sample_report_shows_the_planted_gaps() -> None:
    report = sample_report()
    gaps = {s["id"]: [g["en"] for g in s["gaps"]] for h in report["headlines"] for s in h["standards"]}
    statuses = {s["id"]: s["status"] for h in report["headlines"] for s in h["standards"]}
    assert {"org.quarterly_meeting": "partial", "svc.priority_signs": "partial", "pair.checkups": "partial",
            "org.head_leads_visits": "partial", "org.annual_summary": "not_yet_due", "pub.columns": "not_yet_due",
            "edu.coverage": "not_applicable"} == {key: value for key, value in statuses.items() if value != "met"}
    assert ["Q3: no 双拥 leading-group meeting recorded (due 2026-09-30)"] == gaps["org.quarterly_meeting"]
    assert ["Army Day (1 August): no holiday visit to the troops led by the head (王建国) recorded (due 2026-08-08)"
            ] == gaps["org.head_leads_visits"]


def test_json_shape_and_weighted_scores() -> None:
    report = sample_report()
    organisation = report["headlines"][0]
    scores = [s["score"] for s in organisation["standards"] if s["score"] is not None]
    expected = sum(float(s) for s in scores) / len(scores)  # every weight is 1
    assert ("shuangyong.compliance/1", ["seed-standards"], 22, f"{expected:.1f}") == (
        report["schema"], report["packs"], sum(report["counts"].values()), organisation["score"])
    assert ["org.annual_summary", "pub.columns"] == sorted(item["standard"] for item in report["next_due"])


def test_before_the_year_nothing_is_missing() -> None:
    report = sample_report("2025-12-31")
    assert (0, 0) == (report["counts"]["missing"], report["counts"]["partial"])


def test_markdown_lists_every_standard_in_the_language_asked() -> None:
    report = sample_report()
    zh, en = to_markdown(report, "zh"), to_markdown(report, "en")
    assert (22, 22, True, True) == (zh.count("\n| ") - 6, en.count("\n| ") - 6,
                                   "第三季度尚无双拥领导小组会议记录" in zh, "Q3: no 双拥 leading-group" in en)


def test_html_escapes_what_came_from_the_dossier() -> None:
    text = SAMPLE.read_text(encoding="utf-8").replace("name: {zh: 示例市人民医院", "name: {zh: '<script>x</script>'")
    text = text.replace("id: lg-q1,", "id: '<b>lg-q1</b>',")
    report = report_to_dict(evaluate(parse_dossier(text), SEED, dt.date(2026, 11, 30)))
    page = to_html(report, "zh")
    assert ("<script>" in page, "&lt;script&gt;x&lt;/script&gt;" in page, "&lt;b&gt;lg-q1&lt;/b&gt;" in page,
            '<html lang="zh-CN">' in page, "已达标" in page) == (False, True, True, True, True)


class TestCommandLine:
    def test_dossier_alone_means_report(self) -> None:
        code, out, _ = run("compliance", str(SAMPLE), "--as-of", "2026-11-30")
        assert (0, True) == (code, "Q3: no 双拥 leading-group meeting recorded" in out)

    def test_json_to_a_file(self, tmp_path: Path) -> None:
        target = tmp_path / "report.json"
        code, out, _ = run("compliance", "report", str(SAMPLE), "--as-of", "2026-11-30", "--format", "json",
                           "-o", str(target))
        assert (0, "", sample_report()) == (code, out, json.loads(target.read_text(encoding="utf-8")))

    def test_a_layered_standards_path(self, tmp_path: Path) -> None:
        local = tmp_path / "local.yaml"
        local.write_text("schema_version: 1\npack: local\ntitle: {zh: 本地, en: local}\n"
                         "extends: [seed-standards]\ndisable: [pair.checkups]\n", encoding="utf-8")
        code, out, _ = run("compliance", str(SAMPLE), "--standards", str(local), "--as-of", "2026-11-30",
                           "--format", "json")
        ids = [s["id"] for h in json.loads(out)["headlines"] for s in h["standards"]]
        assert (0, False, 21) == (code, "pair.checkups" in ids, len(ids))

    @pytest.mark.parametrize(("args", "message"), [
        (["--format", "docx"], "error: field --format: no report format named 'docx' (available: html, json, md"),
        (["--as-of", "30/11/2026"], "error: field --as-of: date '30/11/2026' must be YYYY-MM-DD"),
        (["--standards", "nope"], "error: record nope: no standards pack named 'nope'"),
    ])
    def test_bad_options_exit_2_and_write_nothing(self, tmp_path: Path, args: list[str], message: str) -> None:
        target = tmp_path / "out.md"
        code, out, err = run("compliance", str(SAMPLE), *args, "-o", str(target))
        assert (2, "", True, []) == (code, out, err.startswith(message), list(tmp_path.iterdir())), err

    def test_a_bad_dossier_exits_2_naming_the_record(self, tmp_path: Path) -> None:
        bad = tmp_path / "bad.yaml"
        bad.write_text(SAMPLE.read_text(encoding="utf-8").replace("date: 2026-03-12", "date: 2026-03-32"),
                       encoding="utf-8")
        code, _, err = run("compliance", str(bad))
        assert (2, f"error: record {bad}: lg-q1, field records[2].date: invalid value: date 2026-03-32 is "
                   "impossible (no such day)\n") == (code, err)

    def test_template_reads_back_and_names_every_needed_record(self, tmp_path: Path) -> None:
        target = tmp_path / "dossier.yaml"
        code, _, _ = run("compliance", "template", "--year", "2027", "-o", str(target))
        text = target.read_text(encoding="utf-8")
        empty = load_dossier(target)
        examples = [yaml.safe_load(line.split("  # ")[0].removeprefix("#   - ").replace("MM-DD", "06-01"))
                    for line in text.splitlines() if line.startswith("#   - ")]
        filled = parse_dossier(text.replace("records: []", "records: " + json.dumps(examples, ensure_ascii=False)))
        needed = {pair for s in SEED.standards for pair in s.kind.needs(s.options)}
        assert (0, 2027, 0, needed) == (code, empty.year, len(empty.records),
                                        {(r.kind, r.type) for r in filled.records})
