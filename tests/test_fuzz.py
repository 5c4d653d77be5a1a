"""The fuzzer at a small budget (issue 14): every hostile case of the corpus as it is, then a few
hundred hypothesis mutants (derandomized: the same inputs on every run), over every entry point.

Each entry point must end with exit 0 or 2 (``test`` also 1: a case failed), never a traceback,
a hang or a half-written ``-o`` file, and batch must write what evaluate writes. A failure lists
every distinct crash with its reproducer in .fuzz-crashes/; ``make fuzz`` runs the large budget.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import click
import pytest

from tests.fuzz.run import Summary, fuzz, seeds
from tests.fuzz.targets import TARGETS, Problem, Target, Workspace

#: Mutants across all entry points in ``make test``: with the corpus, well under a minute on two
#: cores once every entry point holds its bounds.
SMALL_BUDGET = 450
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
