"""The pytest plugin (entry point pytest11): YAML case files as tests, the cases marker, and the
fixtures, each run in a pytest of its own (pytester)."""

from __future__ import annotations

import textwrap

import pytest

PASSING = """
    packs: [seed-example]
    defaults: {date: 2025-03-01, region: "450100"}
    cases:
      - name: registration waived
        visit: {cards: [key_care_medical_card], lines: ["registration 12.00"]}
        expect:
          lines: {1: {reduction: 12.00, rule: two-waivers.registration}}
      - name: bed halved for an inpatient
        visit: {kind: inpatient, cards: [key_care_medical_card], lines: ["bed 12.35"]}
        expect:
          lines: {1: {reduction: 6.18, payable: 6.17}}
"""


def case_file(pytester: pytest.Pytester, name: str, text: str) -> None:
    (pytester.path / name).write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


def test_case_files_are_collected_one_test_per_case(pytester: pytest.Pytester) -> None:
    case_file(pytester, "test_seed.case.yaml", PASSING)
    case_file(pytester, "other.case.yaml", PASSING)  # not test_*: left to `shuangyong test`
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["test_seed.case.yaml::registration waived PASSED*",
                                 "test_seed.case.yaml::bed halved for an inpatient PASSED*"])


def test_failing_case_reports_the_diff(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHUANGYONG_LANG", "en")
    case_file(pytester, "test_seed.case.yaml", PASSING.replace("reduction: 6.18", "reduction: 6.17"))
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*case: bed halved for an inpatient*", "FAIL *test_seed.case.yaml:8  bed halved*",
                                 "  line 1 (bed 12.35)", "    reduction  expected 6.17  got 6.18",
                                 "      three-halves.bed  applied: *"])
    assert "Traceback" not in result.stdout.str()


def test_invalid_case_file_is_a_collection_error(pytester: pytest.Pytester,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHUANGYONG_LANG", "zh")
    case_file(pytester, "test_bad.case.yaml", PASSING.replace("expect:", "expct:", 1))
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*记录 *test_bad.case.yaml:6, 字段 cases[[]0[]].expct: 未知的键 'expct'*"])


def test_cases_marker_runs_a_file_through_a_test(pytester: pytest.Pytester) -> None:
    case_file(pytester, "seed.case.yaml", PASSING)
    pytester.makepyfile(test_marker="""
        import pytest

        @pytest.mark.shuangyong_cases("seed.case.yaml")
        def test_seed(shuangyong_case, shuangyong_check):
            outcome = shuangyong_check(shuangyong_case)
            assert outcome.applied
    """)
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*test_seed?registration waived? PASSED*"])


def test_cases_marker_needs_the_case_argument(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHUANGYONG_LANG", "zh")
    case_file(pytester, "seed.case.yaml", PASSING)
    pytester.makepyfile(test_marker="""
        import pytest

        @pytest.mark.shuangyong_cases("seed.case.yaml")
        def test_seed():
            pass
    """)
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*test_seed: @pytest.mark.shuangyong_cases 需要测试函数带 shuangyong_case 参数*"])


def test_cases_marker_with_a_missing_file(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHUANGYONG_LANG", "en")
    pytester.makepyfile(test_marker="""
        import pytest

        @pytest.mark.shuangyong_cases("absent.case.yaml")
        def test_seed(shuangyong_case):
            pass
    """)
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*absent.case.yaml: cannot read the case file*"])
    assert "Traceback" not in result.stdout.str() and "pytest_plugin.py" not in result.stdout.str()


def test_check_fixture_raises_the_report(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHUANGYONG_LANG", "en")
    case_file(pytester, "seed.case.yaml", PASSING.replace("reduction: 12.00", "reduction: 1.00"))
    pytester.makepyfile(test_marker="""
        import pytest

        @pytest.mark.shuangyong_cases("seed.case.yaml")
        def test_seed(shuangyong_case, shuangyong_check):
            shuangyong_check(shuangyong_case)
    """)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*CaseFailed: FAIL *seed.case.yaml:4  registration waived*"])


def test_fixtures(pytester: pytest.Pytester) -> None:
    """Engine by marker, ini option or default; an empty ledger; sample patients; compact visits."""
    pytester.makeini("[pytest]\nshuangyong_packs = cn-national\n")
    pytester.makepyfile(test_fixtures="""
        import pytest
        from shuangyong.ledger import requests_for

        def test_ini_packs(shuangyong_engine):
            assert ("cn-national",) == shuangyong_engine.policy.packs

        @pytest.mark.shuangyong_packs("seed-example")
        def test_marker_packs(shuangyong_engine, shuangyong_beneficiaries, shuangyong_visit, shuangyong_ledger):
            assert ("cn-national", "seed-example") == shuangyong_engine.policy.packs
            visit = shuangyong_visit(date="2025-03-01", region="450100", cards=["key_care_medical_card"],
                                     lines=["registration 12.00"])
            disabled = shuangyong_beneficiaries["disabled_veteran"]
            decision = shuangyong_engine.evaluate(visit.__class__(
                visit.visit_id, visit.date, "inpatient", visit.region, disabled, visit.lines))
            assert ("registration", "consultation", "pharmacy", "admission") == decision.priorities
            assert [] == list(shuangyong_ledger.postings())
            postings = shuangyong_ledger.post(requests_for(visit, decision, shuangyong_engine.policy))
            assert [1200] == [p.granted_fen for p in postings]
            nobody = shuangyong_beneficiaries["ordinary"]
            assert (frozenset(), ()) == (nobody.categories, nobody.credentials)

        def test_fresh_ledger(shuangyong_ledger):
            assert [] == list(shuangyong_ledger.postings())
    """)
    pytester.runpytest().assert_outcomes(passed=3)


def test_default_packs_without_ini(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_default="""
        def test_default(shuangyong_engine):
            assert ("cn-national", "seed-example") == shuangyong_engine.policy.packs
    """)
    pytester.runpytest().assert_outcomes(passed=1)
