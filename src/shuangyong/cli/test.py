"""``shuangyong test PATH...``: run YAML test cases against policy packs (like ``openfisca test``);
with ``--mutate``, also measure them: which small mistakes in the packs would they let through?

Exit status: 0 when every case passes (and, with ``--mutate``, every mutant is killed), 1 when a
case fails (its diff and the engine's explanation are printed) or a mutant survives, 2 when a
case file or pack cannot be read (file:line and field are named).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from shuangyong import plugins
from shuangyong.cli.base import exit_on_error, fail, lang, say
from shuangyong.errors import InputError
from shuangyong.testing.cases import Case, CaseRunner, Outcome, case_files, load_cases
from shuangyong.testing.mutation import MutationRun
from shuangyong.text import Text

if TYPE_CHECKING:
    from collections.abc import Iterable

CASE_FAILED = MUTANT_SURVIVED = 1


@click.command("test")
@click.argument("paths", nargs=-1, required=True, type=click.Path(), metavar="PATH...")
@click.option("--verbose", "-v", is_flag=True, help="Also list the cases that pass (with --mutate: the mutants killed, "
                                                    "and by which case).")
@click.option("--mutate", is_flag=True,
              help="Mutation testing: run the cases against each small mistake in the packs' rules (a rule or "
                   "condition dropped, a rate, sum, cap or date moved) and list the mistakes no case catches.")
@click.option("--pack", "packs", multiple=True, metavar="NAME|FILE.yaml",
              help="With --mutate: mutate this pack (its id or its file) only; repeat. Default: every pack the "
                   "cases evaluate against.")
def run_cases(paths: tuple[str, ...], verbose: bool, mutate: bool, packs: tuple[str, ...]) -> None:
    """Run YAML test cases: files, or folders searched for *.case.yaml.

    Each failing case shows what was expected, what the engine answered, and why (the
    engine's explanation of the line). Exit 1 if a case fails or, with --mutate, a mutant
    survives; 2 if a file is invalid.
    """
    if packs and not mutate:
        fail(InputError(Text("--pack 只与 --mutate 一起使用", "--pack is only for --mutate"), field="--pack"))
    with exit_on_error():  # every file is read before any case runs: a typo stops nothing half-way
        cases = [case for path in case_files(paths) for case in load_cases(path)]
    if mutate:
        _mutation_test(cases, packs, verbose)
        return
    with exit_on_error():
        runner = CaseRunner(plugins.registry())
    failed = _report_failures(map(runner.run, cases), verbose)
    if failed:
        sys.exit(CASE_FAILED)


def _report_failures(outcomes: Iterable[Outcome], verbose: bool) -> int:
    """Print each failing case's report (and, if ``verbose``, each passing case), then the
    count; return how many failed."""
    total = failed = 0
    for outcome in outcomes:
        total += 1
        if not outcome.passed:
            failed += 1
            click.echo(outcome.report(lang()) + "\n")
        elif verbose:
            click.echo(f"{'通过' if lang() == 'zh' else 'ok'}   {outcome.case.where}  {outcome.case.name}")
    say(Text(f"共 {total} 个用例：通过 {total - failed}，失败 {failed}",
             f"{total} case(s): {total - failed} passed, {failed} failed"), err=bool(failed))
    return failed


def _mutation_test(cases: list[Case], packs: tuple[str, ...], verbose: bool) -> None:
    """The cases must pass on the packs as written; then every mutant of the chosen packs."""
    with exit_on_error():  # a pack that cannot be loaded or merged, or --pack naming one no case uses
        run = MutationRun(cases, plugins.registry())
        chosen = run.choose(packs)
    if _report_failures(run.unmutated(), verbose=False):
        say(Text("用例在未变异的政策包上已失败：先修正它们，再做变异测试",
                 "the cases already fail on the packs as written: fix them before mutation testing"), err=True)
        sys.exit(CASE_FAILED)
    report = run.run(chosen)
    for row in report.table(lang(), killed=verbose):
        click.echo(row)
    say(report.summary(), err=bool(report.survivors))
    if report.survivors:
        sys.exit(MUTANT_SURVIVED)
