"""``shuangyong test PATH...``: run YAML test cases against policy packs (like ``openfisca test``).

Exit status: 0 when every case passes, 1 when a case fails (its diff and the engine's
explanation are printed), 2 when a case file cannot be read (file:line and field are named).
"""

from __future__ import annotations

import sys

import click

from shuangyong import plugins
from shuangyong.cli.base import exit_on_error, lang, main, say
from shuangyong.testing.cases import CaseRunner, case_files, load_cases
from shuangyong.text import Text

CASE_FAILED = 1


@main.command("test")
@click.argument("paths", nargs=-1, required=True, type=click.Path(), metavar="PATH...")
@click.option("--verbose", "-v", is_flag=True, help="Also list the cases that pass.")
def run_cases(paths: tuple[str, ...], verbose: bool) -> None:
    """Run YAML test cases: files, or folders searched for *.case.yaml.

    Each failing case shows what was expected, what the engine answered, and why (the
    engine's explanation of the line). Exit 1 if a case fails, 2 if a file is invalid.
    """
    with exit_on_error():  # every file is read before any case runs: a typo stops nothing half-way
        cases = [case for path in case_files(paths) for case in load_cases(path)]
        runner = CaseRunner(plugins.registry())
    failed = 0
    for outcome in map(runner.run, cases):
        if not outcome.passed:
            failed += 1
            click.echo(outcome.report(lang()) + "\n")
        elif verbose:
            click.echo(f"{'通过' if lang() == 'zh' else 'ok'}   {outcome.case.where}  {outcome.case.name}")
    passed = len(cases) - failed
    say(Text(f"共 {len(cases)} 个用例：通过 {passed}，失败 {failed}",
             f"{len(cases)} case(s): {passed} passed, {failed} failed"), err=bool(failed))
    if failed:
        sys.exit(CASE_FAILED)
