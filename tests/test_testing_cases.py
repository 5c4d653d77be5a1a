"""YAML test cases: the runner, `shuangyong test`, every bad case file, and the coverage of the
built-in packs by tests/cases."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from shuangyong.cli import main
from shuangyong.errors import CaseError
from shuangyong.model import Registry
from shuangyong.policy import PolicySet
from shuangyong.testing.cases import CaseRunner, case_files, compact_visit, load_cases

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "tests" / "cases"

PASSING = """
    packs: [seed-example]
    defaults: {date: 2025-03-01, region: "450100"}
    cases:
      - name: registration waived
        visit:
          cards: [key_care_medical_card]
          lines: ["registration 12.00", "bed 12.35"]
        expect:
          lines:
            1: {reduction: 12.00, payable: 0.00, rule: two-waivers.registration}
            2: {reduction: 0.00, rule: null}
          rules: [four-priorities, two-waivers.registration]
"""


def write(tmp_path: Path, text: str, name: str = "my.case.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def run(*args: str, lang: str = "en") -> Any:
    return CliRunner().invoke(main, ["--lang", lang, "test", *args])


def test_passing_file_exits_0(tmp_path: Path) -> None:
    result = run("-v", str(write(tmp_path, PASSING)))
    assert 0 == result.exit_code, result.output
    assert f"ok   {tmp_path / 'my.case.yaml'}:4  registration waived" in result.stdout
    assert "1 case(s): 1 passed, 0 failed" in result.output


def test_failing_case_shows_diff_and_explanation(tmp_path: Path) -> None:
    """A wrong expectation: exit 1, expected and got side by side, and why from explain."""
    path = write(tmp_path, PASSING.replace("2: {reduction: 0.00, rule: null}",
                                           "2: {reduction: 6.18, rule: three-halves.bed}"))
    result = run(str(path))
    assert 1 == result.exit_code
    assert f"FAIL {path}:4  registration waived\n  line 2 (bed 12.35)\n" in result.stdout
    assert "    reduction  expected 6.18  got 0.00\n" in result.stdout
    assert "    rule       expected three-halves.bed  got —\n" in result.stdout
    assert "      three-halves.bed  not eligible: visit kind outpatient is not inpatient" in result.stdout
    assert "1 case(s): 0 passed, 1 failed" in result.stderr


def test_failure_in_chinese(tmp_path: Path) -> None:
    path = write(tmp_path, PASSING.replace("rules: [four-priorities, two-waivers.registration]",
                                           "rules: [two-waivers.registration]"))
    result = run(str(path), lang="zh")
    assert 1 == result.exit_code
    assert f"失败 {path}:4  registration waived\n  适用的规则\n" in result.stdout
    assert "    rules  期望 two-waivers.registration  实际 four-priorities, two-waivers.registration" in result.stdout
    assert "      four-priorities  授予: 持有 2025-03-01 有效的重点优抚对象医疗证（case-1）" in result.stdout
    assert "共 1 个用例：通过 0，失败 1" in result.stderr


def test_services_mismatch_explains_only_the_rules_granting_them(tmp_path: Path) -> None:
    path = write(tmp_path, PASSING.replace("          rules:", "          services: [green_channel]\n          rules:"))
    result = run(str(path))
    assert "  services\n    services  expected green_channel  got —\n" in result.stdout
    assert "      green-channel  not eligible: patient category (none) is not serviceman" in result.stdout
    assert "military-ward" not in result.stdout


def test_totals_and_applied_shares(tmp_path: Path) -> None:
    path = write(tmp_path, PASSING.replace("          rules:", "          totals: {payable: 1.00}\n          rules:")
                 .replace("rule: two-waivers.registration}", "rule: two-waivers.registration, "
                                                             "applied: {two-waivers.registration: 11.00}}"))
    result = run(str(path))
    assert "  totals\n    payable  expected 1.00  got 12.35\n" in result.stdout
    assert "    applied  expected two-waivers.registration 11.00  got two-waivers.registration 12.00" in result.stdout


EXAMPLE_CASES = ROOT / "examples" / "insured-visit.case.yaml"


def test_settlement_case_file_passes() -> None:
    """examples/insured-visit.case.yaml: payers and insurance per line and in the totals."""
    result = run(str(EXAMPLE_CASES))
    assert 0 == result.exit_code, result.output
    assert "2 case(s): 2 passed, 0 failed" in result.output


def test_payers_and_insurance_mismatches(tmp_path: Path) -> None:
    """A payer breakdown that differs in one part, and an insurance figure, are each reported
    with both sides; a line's breakdown must name every payer the decision names."""
    text = EXAMPLE_CASES.read_text(encoding="utf-8").replace("youfu_medical_subsidy: 3.20, patient: 0.80",
                                                             "youfu_medical_subsidy: 3.00, patient: 1.00")
    text = text.replace("insurance: 97.21", "insurance: 97.20").replace(
        "3: {payers: {basic_pool: 9.00, hospital: 6.00, patient: 0.00}}", "3: {payers: {hospital: 6.00}}")
    (tmp_path / "youfu-subsidy.yaml").write_bytes((ROOT / "examples" / "youfu-subsidy.yaml").read_bytes())
    result = run(str(write(tmp_path, text)))
    assert 1 == result.exit_code
    assert ("    payers  expected patient 1.00, youfu_medical_subsidy 3.00, basic_pool 6.00  got basic_pool 6.00, "
            "patient 0.80, youfu_medical_subsidy 3.20") not in result.stdout  # sorted by payer id, not by amount
    assert ("    payers  expected basic_pool 6.00, patient 1.00, youfu_medical_subsidy 3.00  got basic_pool 6.00, "
            "patient 0.80, youfu_medical_subsidy 3.20\n") in result.stdout
    assert "    payers  expected hospital 6.00  got basic_pool 9.00, hospital 6.00, patient 0.00\n" in result.stdout
    assert "  totals\n    insurance  expected 97.20  got 97.21\n" in result.stdout


def test_missing_line(tmp_path: Path) -> None:
    path = write(tmp_path, PASSING.replace("2: {reduction: 0.00, rule: null}", "9: {reduction: 0.00}"))
    assert "  line 9\n    line  expected 9  got no such line" in run(str(path)).stdout


@pytest.mark.parametrize(("expect", "shown"), [
    ("{type: MoneyError}", "    type  expected MoneyError  got UnknownCategoryError"),
    ("{field: 'lines[0].amount'}", "    field  expected lines[0].amount  got patient.categories"),
    ("{message: floats}", "    message  expected …floats…  got unknown category 'astronaut'"),
])
def test_expected_error_mismatch(tmp_path: Path, expect: str, shown: str) -> None:
    path = write(tmp_path, PASSING.replace("cards: [key_care_medical_card]", "categories: [astronaut]")
                 .split("        expect:")[0] + f"        expect:\n          error: {expect}\n")
    result = run(str(path))
    assert 1 == result.exit_code and shown in result.stdout


def test_expected_error_that_does_not_come(tmp_path: Path) -> None:
    path = write(tmp_path, PASSING.split("        expect:")[0]
                 + "        expect:\n          error: {type: MoneyError}\n")
    result = run(str(path))
    assert 1 == result.exit_code and "  error\n    error  expected MoneyError  got —" in result.stdout


def test_unexpected_input_error_is_a_failure(tmp_path: Path) -> None:
    path = write(tmp_path, PASSING.replace('"registration 12.00"', '"registration 12.001"'))
    result = run(str(path))
    assert 1 == result.exit_code
    assert f"FAIL {path}:4  registration waived\n  record my.case#1, field lines[0].amount: amount 12.001 has " \
           "more than two decimals (fen)" in result.stdout


def test_unknown_pack_fails_its_cases(tmp_path: Path) -> None:
    result = run(str(write(tmp_path, PASSING.replace("packs: [seed-example]", "packs: [no-such-pack]"))))
    assert 1 == result.exit_code and "no policy pack named 'no-such-pack'" in result.stdout


@pytest.mark.parametrize(("replace", "by", "line", "field", "message"), [
    ("        expect:", "        expct:", 8, "cases[0].expct", "unknown key 'expct'"),
    ("      - name: registration waived\n", "      -\n", 5, "cases[0].name", "missing required key 'name'"),
    ("reduction: 12.00,", "reduction: 12.001,", 10, "cases[0].expect.lines.1.reduction", "more than two decimals"),
    ("reduction: 12.00,", "reduction: 1.0, reduction: 2.0,", 10, "cases[0].expect.lines.1.reduction",
     "key 'reduction' appears twice"),
    ('"bed 12.35"', '"bed"', 5, "cases[0].visit.lines[1]", 'a line is "ITEM AMOUNT [TAG …]" or a mapping'),
    ("[key_care_medical_card]", "[{number: 1}]", 5, "cases[0].visit.cards[0]", "a card is a kind, or a mapping"),
    ("          cards:", "          card:", 5, "cases[0].visit.card", "unknown key 'card' in a compact visit"),
])
def test_bad_case_file_exits_2(tmp_path: Path, replace: str, by: str, line: int, field: str, message: str) -> None:
    """Every malformed case file stops the run before any case, naming file:line and field."""
    assert replace in PASSING
    path = write(tmp_path, PASSING.replace(replace, by))
    result = run(str(path))
    assert 2 == result.exit_code, result.output
    assert result.stderr.startswith(f"error: record {path}:{line}, field {field}: "), result.stderr
    assert message in result.stderr and "" == result.stdout


def test_case_that_checks_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, PASSING.split("        expect:")[0] + "        expect: {}\n")
    result = run(str(path))
    assert 2 == result.exit_code
    assert f"record {path}:8, field cases[0].expect: invalid value: expect names nothing" \
           " to check" in result.stderr


def test_file_without_cases(tmp_path: Path) -> None:
    path = write(tmp_path, "packs: [seed-example]\ncases: []\n")
    result = run(str(path))
    assert 2 == result.exit_code and f"record {path}:2, field cases: invalid value: " in result.stderr
    assert "at least 1 item" in result.stderr


@pytest.mark.parametrize(("text", "message"), [
    ("- a\n- b\n", "a case file must be a YAML mapping"),
    ("cases: [\n", "invalid YAML"),
])
def test_not_a_case_file(tmp_path: Path, text: str, message: str) -> None:
    result = run(str(write(tmp_path, text)))
    assert 2 == result.exit_code and message in result.stderr


def test_missing_path_and_unreadable_visit_file(tmp_path: Path) -> None:
    result = run(str(tmp_path / "nowhere.case.yaml"))
    assert 2 == result.exit_code and "no such case file or folder" in result.stderr
    path = write(tmp_path, PASSING.replace("        visit:\n          cards: [key_care_medical_card]\n"
                                           '          lines: ["registration 12.00", "bed 12.35"]\n',
                                           "        visit: missing.json\n"))
    result = run(str(path))
    assert 2 == result.exit_code and f"record {path}:5, field cases[0].visit: cannot read the visit file " \
                                      "missing.json" in result.stderr


def test_zh_message_for_a_bad_file(tmp_path: Path) -> None:
    result = run(str(write(tmp_path, PASSING.replace("        expect:", "        expct:"))), lang="zh")
    assert "错误：记录" in result.stderr and "未知的键 'expct'" in result.stderr


def test_folders_are_searched_for_case_files(tmp_path: Path) -> None:
    write(tmp_path, PASSING, "a.case.yaml")
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub", PASSING, "b.case.yaml")
    write(tmp_path, "not: a case", "pack.yaml")
    assert [tmp_path / "a.case.yaml", tmp_path / "sub" / "b.case.yaml"] == case_files([tmp_path])


def test_pack_paths_are_relative_to_the_case_file(tmp_path: Path) -> None:
    """A pack named by path is found beside the case file, wherever the command runs."""
    (tmp_path / "packs").mkdir()
    (tmp_path / "packs" / "hospital.yaml").write_text(textwrap.dedent("""
        pack: hospital
        title: {zh: 医院, en: hospital}
        extends: seed-example
        rules:
          - id: drugs-tenth-off
            title: {zh: 药品九折, en: drugs 10% off}
            clause: 测试条款
            source: test
            when: {credential: key_care_medical_card}
            items: [drug]
            benefit: {reduce: "10%"}
    """), encoding="utf-8")
    (tmp_path / "cases").mkdir()
    path = write(tmp_path / "cases", PASSING.replace("packs: [seed-example]", "packs: [../packs/hospital.yaml]")
                 .replace('"bed 12.35"', '"drug 12.35"').replace("2: {reduction: 0.00, rule: null}",
                                                                "2: {reduction: 1.24, rule: drugs-tenth-off}")
                 .replace("rules: [four-priorities, two-waivers.registration]",
                          "rules: [four-priorities, two-waivers.registration, drugs-tenth-off]"))
    assert (str(tmp_path / "cases" / "../packs/hospital.yaml"),) == load_cases(path)[0].packs
    result = run(str(path))
    assert 0 == result.exit_code, result.output


def test_compact_visit_to_contract() -> None:
    record = compact_visit({"date": "2025-03-01", "region": "450100", "categories": ["serviceman"],
                            "cards": ["military_id", {"kind": "key_care_medical_card", "from": "2024-01-01"}],
                            "lines": ["bed 12.35 surgical", {"code": "110200001", "amount": "9.00"}]})
    assert {"visit_id": "V1", "date": "2025-03-01", "kind": "outpatient", "region": "450100",
            "patient": {"id": "P1", "categories": ["serviceman"],
                        "credentials": [{"kind": "military_id", "number": "case-1"},
                                        {"kind": "key_care_medical_card", "number": "case-2",
                                         "valid_from": "2024-01-01", "valid_to": None}]},
            "lines": [{"line_id": "1", "item": "bed", "amount": "12.35", "tags": ["surgical"]},
                      {"line_id": "2", "code": "110200001", "amount": "9.00"}]} == record


@pytest.mark.parametrize("key, value", [("cards", True), ("lines", True), ("lines", "bed 12.00"), ("cards", {"a": 1})])
def test_compact_visit_refuses_cards_or_lines_that_are_not_a_list(key: str, value: object) -> None:
    """Found by the fuzzer: ``cards: true`` was a TypeError (enumerating a bool)."""
    with pytest.raises(CaseError) as raised:
        compact_visit({"date": "2025-03-01", key: value})
    assert f"visit.{key}" == raised.value.field and f"{key} in a compact visit is a list" in str(raised.value)


def test_load_cases_reads_amounts_as_written(tmp_path: Path) -> None:
    """12.30 stays the text "12.30" (not the float 12.3), dates stay text for the contract."""
    case = load_cases(write(tmp_path, PASSING.replace("12.00", "12.30")))[0]
    assert "12.30" == case.record["lines"][0]["amount"] and "2025-03-01" == case.record["date"]
    with pytest.raises(CaseError):
        load_cases(tmp_path / "absent.case.yaml")


def test_project_cases_pass_and_cover_every_builtin_rule() -> None:
    """tests/cases passes, and every rule of seed-example and cn-national is applied or granted
    in at least one passing case (a rule no case shows applying is a rule nothing tests)."""
    outcomes = CaseRunner(Registry.builtin()).run_files([CASES])
    failures = [outcome.report("en") for outcome in outcomes if not outcome.passed]
    assert [] == failures
    covered = set().union(*(outcome.applied for outcome in outcomes))
    every_rule = {rule.spec.id for rule in PolicySet.load(["seed-example"], Registry.builtin()).rules}
    assert 17 == len(every_rule)
    assert set() == every_rule - covered


VISIT_FILE_CASE = PASSING.replace("        visit:\n          cards: [key_care_medical_card]\n"
                                  '          lines: ["registration 12.00", "bed 12.35"]\n', "        visit: v.json\n")
VISIT = ('{"visit_id": "V1", "date": "2025-03-01", "kind": "outpatient", "region": "450100", "patient": '
         '{"id": "P1", "credentials": [{"kind": "key_care_medical_card", "number": "c1"}]}, "lines": []}')


@pytest.mark.parametrize(("visit", "message"), [
    (VISIT[:-1] + ', "visit_id": "V2"}', "cannot read the visit file v.json: key 'visit_id' appears twice"),
    (VISIT[:-1] + ', "x": ' + "[" * 100_000 + "]" * 100_000 + "}", "the visit file v.json is nested too deep"),
    (None, "a visit file v.json must be a regular file"),
])
def test_a_bad_visit_file_exits_2_and_runs_nothing(tmp_path: Path, visit: str | None, message: str) -> None:
    """Duplicate keys used to keep the last; 100,000 ``[`` used to end in a RecursionError."""
    path = write(tmp_path, VISIT_FILE_CASE)
    if visit is None:
        (tmp_path / "v.json").mkdir()
    else:
        (tmp_path / "v.json").write_text(visit, encoding="utf-8")
    result = run(str(path))
    assert (2, True, True, "") == (result.exit_code, f"record {path}:5, field cases[0].visit: " in result.stderr,
                                   message in result.stderr, result.stdout), result.output


@pytest.mark.parametrize(("text", "message"), [
    (PASSING.replace("packs: [seed-example]", "packs: " + "[" * 3000 + "]" * 3000), "nested more than 64 levels deep"),
    ("g: &g x\nall:\n" + "  - *g\n" * 1001, "more than 1000 aliases"),
    (PASSING.replace("    packs: [seed-example]", "    packs: [seed-example]\n    defaults: {}"),
     "key 'defaults' appears twice (also line 2)"),
])
def test_a_hostile_case_file_exits_2_at_its_line(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    result = run(str(path))
    assert (2, True, True) == (result.exit_code, f"record {path}:" in result.stderr, message in result.stderr), \
        result.output


def test_a_gb18030_case_file_is_refused_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "gb.case.yaml"
    path.write_bytes(textwrap.dedent(PASSING).lstrip("\n").replace("registration waived", "挂号费减免")
                     .encode("gb18030"))
    result = run(str(path))
    refusal = f"record {path}:4: a case file must be UTF-8"
    assert (2, True) == (result.exit_code, refusal in result.stderr), result.output
