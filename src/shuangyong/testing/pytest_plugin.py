"""The shuangyong pytest plugin, loaded through the ``pytest11`` entry point when the library is
installed: fixtures for testing code that embeds the engine, and YAML case files as tests.

- Files named ``test_*.case.yaml`` are collected: one test per case, failing with the case
  runner's diff and explanation (``shuangyong test`` prints the same).
- ``@pytest.mark.shuangyong_cases("path.case.yaml", …)`` runs the cases of any case file
  through a test function taking ``shuangyong_case`` and ``shuangyong_check``.
- Fixtures: ``shuangyong_engine`` (packs from ``@pytest.mark.shuangyong_packs(…)``, else the ini
  option ``shuangyong_packs``, else seed-example), ``shuangyong_ledger`` (an empty in-memory
  ledger), ``shuangyong_beneficiaries`` (sample patients by name), ``shuangyong_visit`` (a visit
  from the compact case form).

Nothing here imports hypothesis, so the plugin loads wherever the library is installed.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import pytest
from typing_extensions import override

from shuangyong.dates import DateWindow
from shuangyong.engine import DEFAULT_PACKS, Engine
from shuangyong.errors import CaseError
from shuangyong.interchange.visits import visit_from_dict
from shuangyong.ledger import MemoryLedger
from shuangyong.model import Beneficiary, Credential, Visit
from shuangyong.testing.cases.loader import CASE_SUFFIX, compact_visit, load_cases
from shuangyong.testing.cases.runner import CaseRunner
from shuangyong.text import Text, default_lang

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from shuangyong.testing.cases.report import Outcome
    from shuangyong.testing.cases.schema import Case

_RUNNER = pytest.StashKey[CaseRunner]()


class CaseFailed(AssertionError):
    """A YAML case whose expectations were not met; ``str()`` is the runner's report."""

    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome
        super().__init__(outcome.report(default_lang()))


def pytest_addoption(parser: pytest.Parser) -> None:
    """The ``shuangyong_packs`` ini option."""
    parser.addini("shuangyong_packs", type="args", default=[],
                  help="policy packs (built-in names or paths) the shuangyong_engine fixture compiles")


def pytest_configure(config: pytest.Config) -> None:
    """Declare the plugin's markers."""
    config.addinivalue_line("markers", "shuangyong_packs(*packs): the policy packs shuangyong_engine compiles")
    config.addinivalue_line("markers", "shuangyong_cases(*paths): run each case of these YAML case files "
                                       "through the test's shuangyong_case argument")


def _runner(config: pytest.Config) -> CaseRunner:
    """One runner a session, so that each pack set compiles once however many cases use it."""
    if _RUNNER not in config.stash:
        config.stash[_RUNNER] = CaseRunner()
    return config.stash[_RUNNER]


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """Collect ``test_*.case.yaml`` files as tests."""
    if file_path.name.startswith("test_") and file_path.name.endswith(CASE_SUFFIX):
        return CaseFile.from_parent(parent, path=file_path)
    return None


class CaseFile(pytest.File):
    """A ``test_*.case.yaml`` file; a file that is not a valid case file is a collection error
    naming file:line and field."""

    @override
    def collect(self) -> Iterator[pytest.Item]:
        try:
            cases = load_cases(self.path)
        except CaseError as error:
            raise self.CollectError(error.render(default_lang())) from None
        for case in cases:
            yield CaseItem.from_parent(self, name=case.name, case=case)


class CaseItem(pytest.Item):
    """One case of a case file, run as a test."""

    def __init__(self, *, case: Case, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case

    @override
    def runtest(self) -> None:
        outcome = _runner(self.config).run(self.case)
        if not outcome.passed:
            raise CaseFailed(outcome)

    @override
    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str | Any:
        if isinstance(excinfo.value, CaseFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    @override
    def reportinfo(self) -> tuple[Path, int | None, str]:
        line = int(self.case.where.rsplit(":", 1)[1]) - 1
        return self.path, line, f"case: {self.case.name}"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize a test marked ``shuangyong_cases`` over the cases of its files."""
    marker = metafunc.definition.get_closest_marker("shuangyong_cases")
    if marker is None:
        return
    if "shuangyong_case" not in metafunc.fixturenames:
        needs = Text("@pytest.mark.shuangyong_cases 需要测试函数带 shuangyong_case 参数",
                     "@pytest.mark.shuangyong_cases needs a shuangyong_case argument")
        pytest.fail(f"{metafunc.definition.nodeid}: {needs.in_(default_lang())}", pytrace=False)
    here = metafunc.definition.path.parent
    try:
        cases = [case for name in marker.args for case in load_cases(here / name)]
    except CaseError as error:
        pytest.fail(error.render(default_lang()), pytrace=False)
    metafunc.parametrize("shuangyong_case", cases, ids=[case.name for case in cases])


@pytest.fixture
def shuangyong_check(request: pytest.FixtureRequest) -> Callable[[Case], Outcome]:
    """``check(case)`` runs one case and raises :class:`CaseFailed` with its report if it fails."""
    runner = _runner(request.config)

    def check(case: Case) -> Outcome:
        outcome = runner.run(case)
        if not outcome.passed:
            raise CaseFailed(outcome)
        return outcome

    return check


@pytest.fixture
def shuangyong_engine(request: pytest.FixtureRequest) -> Engine:
    """An engine over the packs the test's ``shuangyong_packs`` marker names, else the
    ``shuangyong_packs`` ini option, else the default (seed-example); compiled once a session."""
    marker = request.node.get_closest_marker("shuangyong_packs")
    packs = tuple(marker.args) if marker is not None else tuple(request.config.getini("shuangyong_packs"))
    return _runner(request.config).engine(packs or DEFAULT_PACKS)


@pytest.fixture
def shuangyong_ledger() -> Iterator[MemoryLedger]:
    """An empty in-memory ledger (``memory:``), closed after the test."""
    ledger = MemoryLedger()
    yield ledger
    ledger.close()


@pytest.fixture
def shuangyong_beneficiaries() -> dict[str, Beneficiary]:
    """Sample patients by name, one per kind of entitlement the built-in packs know, with
    credentials valid whatever the visit date: ``serviceman``, ``military_family``,
    ``disabled_veteran`` (level 5, war, with the key care medical card), ``martyr_family``,
    ``war_test_veteran``, ``veteran`` and ``ordinary`` (no category, no card)."""
    always = DateWindow()
    return {
        "serviceman": Beneficiary("P-serviceman", frozenset({"serviceman"}),
                                  (Credential("military_id", "军001", always),)),
        "military_family": Beneficiary("P-family", frozenset({"military_family"})),
        "disabled_veteran": Beneficiary("P-disabled", frozenset({"disabled_veteran"}),
                                        (Credential("key_care_medical_card", "桂优医001", always),
                                         Credential("disability_card", "桂残军001", always)),
                                        5, "war", dt.date(1951, 8, 12)),
        "martyr_family": Beneficiary("P-martyr", frozenset({"martyr_family"}),
                                     (Credential("key_care_medical_card", "桂优医002", always),)),
        "war_test_veteran": Beneficiary("P-war-test", frozenset({"war_test_veteran"})),
        "veteran": Beneficiary("P-veteran", frozenset({"veteran"}),
                               (Credential("preferential_card", "优待001", always),)),
        "ordinary": Beneficiary("P-ordinary"),
    }


@pytest.fixture
def shuangyong_visit() -> Callable[..., Visit]:
    """``shuangyong_visit(date=…, region=…, lines=[…], cards=[…], categories=[…], …)``: a visit
    from the compact form of the YAML cases (``date`` and ``region`` are required), checked like
    any JSON-contract record."""

    def build(**compact: Any) -> Visit:
        return visit_from_dict(compact_visit(compact))

    return build
