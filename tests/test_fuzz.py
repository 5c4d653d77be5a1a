"""The fuzzer at a small budget (issue 14): every hostile case of the corpus as it is, then a few
hundred hypothesis mutants (derandomized: the same inputs on every run), over every entry point.

Each entry point must end with exit 0 or 2 (``test`` also 1: a case failed), never a traceback,
a hang or a half-written ``-o`` file, and batch must write what evaluate writes; the server never
answers 5xx and its evaluate answers what evaluate writes, and a refused dossier import writes
nothing. A failure lists every distinct crash with its reproducer in .fuzz-crashes/; ``make fuzz``
runs the large budget.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import click
import pytest

from tests.fuzz.run import Summary, fuzz, seeds
from tests.fuzz.targets import EXAMPLES, TARGETS, Problem, Target, Workspace, run_office_import, run_server

#: Mutants across all entry points in ``make test``: with the corpus, well under a minute on two
#: cores once every entry point holds its bounds (500 since the server's two entry points joined,
#: so that each of the others still gets as many as before).
SMALL_BUDGET = 500
#: A hang in ``make test`` is any input that takes longer than this.
SMALL_TIMEOUT = 10.0


@pytest.fixture(scope="module")
def summary() -> Summary:
    return fuzz(SMALL_BUDGET, seed=14, workers=2, derandomize=True, timeout=SMALL_TIMEOUT)


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
def test_entry_point_survives_the_corpus_and_mutants(summary: Summary, target: Target) -> None:
    """Every seed of the target's corpus ran, and some mutants, and nothing broke a promise."""
    assert summary.tried.get(target.name, 0) > len(seeds(target.corpus))
    problems = summary.for_target(target.name)
    assert not problems, f"{len(problems)} distinct problem(s) in {target.name}:\n" + "\n".join(problems)


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path, timeout=0.5)


def only(ws: Workspace, body: Any) -> list[Problem]:
    """What the oracle says of a command whose body is ``body`` (in place of shuangyong's CLI)."""
    ws.main = click.command()(body)
    return ws.invoke("probe", [])[1]


class TestOracle:
    """The fuzzer can see what it claims: a traceback, a hang, a temporary file left behind."""

    def test_an_uncaught_exception_is_named_with_its_frame(self, workspace: Workspace) -> None:
        def body() -> None:
            int("1" * 5000)

        [problem] = only(workspace, body)
        assert (problem.kind, problem.where.split(":")[0]) == ("ValueError", "tests/test_fuzz.py")

    def test_exit_1_is_a_problem_and_exit_2_is_not(self, workspace: Workspace) -> None:
        assert [p.kind for p in only(workspace, lambda: click.get_current_context().exit(1))] == ["SystemExit(1)"]
        assert only(workspace, lambda: click.get_current_context().exit(2)) == []

    def test_a_hang_is_stopped_and_reported(self, workspace: Workspace) -> None:
        started = time.monotonic()
        [problem] = only(workspace, lambda: time.sleep(5))
        assert problem.kind == "Timeout" and time.monotonic() - started < 4

    def test_a_temporary_file_left_beside_the_output_is_reported(self, workspace: Workspace) -> None:
        [problem] = only(workspace, lambda: (workspace.out_dir / ".out.tmp").write_text("half"))
        assert (problem.kind, problem.detail) == ("partial output left", ".out.tmp")


class TestServerOracle:
    """The server's entry points see what they claim: an exception out of the app, a 5xx, an answer
    that is not evaluate's, a refused import that wrote. Each breaks the code under test on purpose."""

    VISIT = (EXAMPLES / "visit.json").read_bytes()

    @pytest.fixture
    def ws(self, tmp_path: Path) -> Workspace:
        workspace = Workspace(tmp_path)  # the full time limit: the first command loads the packs
        workspace.kind = "visits"
        return workspace

    def test_an_exception_out_of_the_app_is_named_with_its_frame(self, ws: Workspace,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
        from shuangyong_server.service import Service

        def broken(*args: Any, **kwargs: Any) -> None:
            raise KeyError("boom")

        monkeypatch.setattr(Service, "explain", broken)
        [problem] = run_server(ws, self.VISIT, 0, "json")
        # the innermost frame of the repository's code: the endpoint that called the broken operation
        assert (problem.kind, problem.where.split(":")[0]) == ("KeyError",
                                                               "plugins/shuangyong-server/src/shuangyong_server/api.py")

    def test_a_5xx_answer_is_named_with_its_error_type(self, ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
        from shuangyong import Text
        from shuangyong_server.errors import StoreError
        from shuangyong_server.service import Service

        def down(*args: Any, **kwargs: Any) -> None:
            raise StoreError(Text("坏了", "down"))

        monkeypatch.setattr(Service, "compliance", down)
        ws.kind = "dossiers"
        [problem] = run_server(ws, (EXAMPLES / "dossier.yaml").read_bytes(), 0, "yaml")
        assert (problem.kind, problem.where) == ("HTTP 503", "POST /v1/compliance/report StoreError")

    def test_an_answer_that_is_not_evaluates_is_reported(self, ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
        from shuangyong_server import service

        written = service.results_text
        monkeypatch.setattr(service, "results_text", lambda *args: (*written(*args), " "))
        [problem] = run_server(ws, self.VISIT, 0, "json")
        assert (problem.kind, problem.where) == ("server≠evaluate (HTTP 200, exit 0)", "POST /v1/evaluate vs evaluate")

    def test_a_refused_import_that_wrote_is_reported(self, ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
        from shuangyong import Text
        from shuangyong.compliance.dossier import DossierError
        from shuangyong_server.office.dossiers import DossierStore

        ws.office()  # its templates imported before the break
        imported = DossierStore.import_text

        def half(store: DossierStore, text: str, origin: str, author: str) -> None:
            imported(store, text, origin, author)
            raise DossierError(Text("写了才拒绝", "refused after the write"))

        monkeypatch.setattr(DossierStore, "import_text", half)
        dossier = (EXAMPLES / "dossier.yaml").read_bytes()
        assert run_office_import(ws, dossier, 0, "yaml")[0].kind == "refused import wrote"


def test_a_worker_killed_by_its_input_is_reported_and_replaced(tmp_path: Path) -> None:
    """An input that kills its process (here ``os._exit``; a C stack overflow in earnest) is a
    finding with a reproducer, and a new worker runs the remaining inputs."""
    def die_on_empty(ws: Workspace, data: bytes, choice: int, fmt: str) -> list[Problem]:
        if not data:
            os._exit(3)
        return []

    found = fuzz(0, workers=1, targets=[Target("die", ("codes",), die_on_empty)], crash_dir=tmp_path,
                 derandomize=True)
    [problem] = found.problems.values()
    assert problem.problem.kind == "worker died (exit 3)"
    assert problem.reproducer is not None and problem.reproducer.read_bytes() == b""
    # every other seed ran (empty.csv is not the last), and the three mutants did
    assert found.tried["die"] == len(seeds(("codes",))) - problem.count + 3
