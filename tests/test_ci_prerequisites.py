"""A missing prerequisite (database server, ../shared/seeds, an optional package) skips a test on a
developer's machine and fails it in CI, whatever truthy spelling the CI service uses for ``CI``."""

from __future__ import annotations

from pathlib import Path

import pytest

from shuangyong.testing.prerequisites import import_or_missing, in_ci, missing

OUTCOMES = (pytest.fail.Exception, pytest.skip.Exception)  #: caught both, so a skip cannot pass as a failure

TRUTHY = ["true", "1", "yes", "on", "TRUE", "True", " on ", "Yes"]
FALSY = ["", "0", "false", "no", "off", "FALSE", "No", " 0 "]


@pytest.mark.parametrize("value", TRUTHY)
def test_missing_fails_in_ci(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CI", value)
    with pytest.raises(OUTCOMES) as caught:
        missing("the seeds are absent")
    assert (pytest.fail.Exception, f"the seeds are absent (CI={value!r}: this prerequisite must be present in CI)") == (
        caught.type, str(caught.value))


@pytest.mark.parametrize("value", FALSY)
def test_missing_skips_outside_ci(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CI", value)
    with pytest.raises(OUTCOMES) as caught:
        missing("the seeds are absent")
    assert (pytest.skip.Exception, "the seeds are absent") == (caught.type, str(caught.value))


def test_unset_is_not_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    assert (False, True) == (in_ci(), in_ci({"CI": "1"}))


def test_import_or_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A module that imports is returned; one that does not is a failure in CI."""
    monkeypatch.setenv("CI", "1")
    assert "shuangyong.testing.prerequisites" == import_or_missing("shuangyong.testing.prerequisites").__name__
    with pytest.raises(OUTCOMES) as caught:
        import_or_missing("no_such_module_here")
    assert (pytest.fail.Exception, True) == (
        caught.type, str(caught.value).startswith("no_such_module_here cannot be imported: "))


def test_database_tests_fail_under_ci_1(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``CI=1`` with no server configured fails the database tests (it skipped 63 of them)."""
    scratch_url = import_or_missing("shuangyong_sql.testing").scratch_url
    monkeypatch.setenv("CI", "1")
    monkeypatch.delenv("SHUANGYONG_TEST_POSTGRES_URL", raising=False)
    with pytest.raises(OUTCOMES) as caught, scratch_url("postgresql", tmp_path):
        pass
    assert (pytest.fail.Exception, True) == (
        caught.type, str(caught.value).startswith("SHUANGYONG_TEST_POSTGRES_URL is not set"))


@pytest.mark.parametrize(("name", "ci", "outcomes"), [
    ("test_seed_citations.py", "1", {"errors"}),  # the seeds fixture fails: an error, not a skip
    ("test_citations.py", "true", {"failed"}),
    ("test_seed_citations.py", "0", {"skipped"}),
])
def test_seed_tests_fail_in_ci_without_the_seeds(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                                name: str, ci: str, outcomes: set[str]) -> None:
    """The seed-citation tests, copied where no ../shared/seeds is beside them, fail in CI."""
    pytester.makepyfile(**{name.removesuffix(".py"): (Path(__file__).parent / name).read_text(encoding="utf-8")})
    monkeypatch.setenv("CI", ci)
    result = pytester.runpytest_inprocess("-k", "seed_rule", "--maxfail=1", "-p", "no:cacheprovider")
    assert outcomes == set(result.parseoutcomes()) - {"deselected"}, result.stdout.str()
