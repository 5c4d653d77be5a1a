"""Mutation check of the YAML test cases: would they notice if a policy pack were wrong?

Makes mutants of policy packs, each one small mistake a pack author could make, and runs the
case files against every mutant with the pack's name pointing at the mutated copy:

- drop each rule;
- change each rate: ``reduce: "50%"`` → ``"49%"`` and ``"51%"`` (staying within 0–100 %),
  ``waive`` → ``"99%"``, ``fixed: "5.00"`` → ``"4.99"`` and ``"5.01"`` (``waive_deposit`` has no
  rate to change);
- shift each effective date (``from`` and ``to``) one day earlier and one day later.

A mutant is *killed* when at least one case fails against it; a surviving mutant is a mistake
the cases would let through. The unmutated packs must pass every case first.

    python scripts/mutate_packs.py                         # built-in packs, tests/cases
    python scripts/mutate_packs.py --pack seed-example my/cases --require 100

Packs are named as cases name them: built-in names, or names plugins register. Exit status 0
when the kill rate reaches ``--require`` (percent, default 0), 1 when it does not, 2 when the
unmutated packs already fail a case or a file is invalid. See docs/testing.md.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import sys
import tempfile
from collections.abc import Iterator
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import attrs
import yaml

from shuangyong import plugins
from shuangyong.errors import ShuangyongError
from shuangyong.model import Registry
from shuangyong.policy import builtin_pack_names, load_reference
from shuangyong.documents import read_yaml
from shuangyong.testing.cases import CaseRunner, case_files, load_cases

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CASES = ROOT / "tests" / "cases"


@attrs.frozen(slots=True)
class Mutant:
    pack: str
    description: str
    document: dict[str, Any]


@attrs.frozen(slots=True)
class Result:
    mutant: Mutant
    killed_by: str | None  #: file:line and name of the first case that failed, or None


def _rate_mutations(benefit: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """One point up and one down (within 0–100 %), a waiver made 99 %, a fixed sum ± one fen."""
    if "reduce" in benefit:
        percent = Decimal(str(benefit["reduce"]).rstrip("%"))
        for changed in (percent - 1, percent + 1):
            if 0 <= changed <= 100:
                yield f"reduce {benefit['reduce']} → {changed}%", {"reduce": f"{changed}%"}
    elif benefit.get("waive") is True:
        yield "waive → reduce 99%", {"reduce": "99%"}
    elif "fixed" in benefit:
        fixed = Decimal(str(benefit["fixed"]))
        for changed in (fixed - Decimal("0.01"), fixed + Decimal("0.01")):
            if changed >= 0:
                yield f"fixed {benefit['fixed']} → {changed}", {"fixed": str(changed)}


def mutants(pack: str, document: dict[str, Any]) -> Iterator[Mutant]:
    """Every mutant of one pack's YAML data, in rule order."""
    rules = document.get("rules") or []
    for index, rule in enumerate(rules):
        dropped = copy.deepcopy(document)
        del dropped["rules"][index]
        yield Mutant(pack, f"drop {rule['id']}", dropped)
    for index, rule in enumerate(rules):
        for description, benefit in _rate_mutations(rule.get("benefit") or {}):
            changed = copy.deepcopy(document)
            changed["rules"][index]["benefit"] = benefit
            yield Mutant(pack, f"{rule['id']}: {description}", changed)
    for index, rule in enumerate(rules):
        for end in ("from", "to"):
            day = (rule.get("effective") or {}).get(end)
            if day is None:
                continue
            for days in (-1, 1):
                moved = dt.date.fromisoformat(str(day)) + dt.timedelta(days=days)
                shifted = copy.deepcopy(document)
                shifted["rules"][index]["effective"][end] = moved.isoformat()
                yield Mutant(pack, f"{rule['id']}: effective {end} {day} → {moved}", shifted)


def pack_document(name: str, registry: Registry) -> dict[str, Any]:
    """A pack's YAML data as written (dates stay text), found as cases find it: by name, a
    plugin's pack first, then a built-in one."""
    origin = load_reference(name, named=registry.packs).origin  # an unknown name fails here, clearly
    path = registry.packs.get(name)
    text = (path.read_text(encoding="utf-8") if path is not None else
            (resources.files("shuangyong.policy") / "packs" / f"{name}.yaml").read_text(encoding="utf-8"))
    data, _ = read_yaml(text, origin)
    return data  # type: ignore[no-any-return]


def failing_unmutated(cases: list[Path]) -> str | None:
    """The report of the first case the packs as shipped already fail, or None."""
    failed = next((o for o in CaseRunner(plugins.registry()).run_files(cases) if not o.passed), None)
    return None if failed is None else failed.report("en")


def run(packs: list[str], cases: list[Path], folder: Path) -> list[Result]:
    """Each mutant of each pack against every case, the mutant written into ``folder``."""
    all_cases = [case for path in case_files(cases) for case in load_cases(path)]
    results = []
    for pack in packs:
        for mutant in mutants(pack, pack_document(pack, plugins.registry())):
            path = folder / f"{pack}.yaml"
            path.write_text(yaml.safe_dump(mutant.document, allow_unicode=True, sort_keys=False), encoding="utf-8")
            registry = plugins.registry()
            registry.packs[pack] = path
            runner = CaseRunner(registry)
            killer = next((o for o in map(runner.run, all_cases) if not o.passed), None)
            results.append(Result(mutant, None if killer is None else f"{killer.case.where}  {killer.case.name}"))
    return results


def kill_rate(results: list[Result]) -> Decimal:
    killed = sum(1 for r in results if r.killed_by)
    return Decimal(100 * killed) / len(results) if results else Decimal(100)


def report(results: list[Result]) -> str:
    lines = []
    for result in results:
        status = "killed " if result.killed_by else "SURVIVED"
        lines.append(f"{status}  {result.mutant.pack}: {result.mutant.description}")
        if result.killed_by:
            lines.append(f"          by {result.killed_by}")
    killed = sum(1 for r in results if r.killed_by)
    lines.append(f"\n{killed} of {len(results)} mutants killed: {kill_rate(results).quantize(Decimal('0.1'))}%")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cases", nargs="*", type=Path, default=[DEFAULT_CASES],
                        help="case files or folders (default: tests/cases)")
    parser.add_argument("--pack", action="append", dest="packs", metavar="NAME",
                        help="pack to mutate, by name; repeat (default: every built-in pack)")
    parser.add_argument("--require", type=Decimal, default=Decimal(0), metavar="PERCENT",
                        help="exit 1 if fewer than this share of mutants are killed")
    options = parser.parse_args(argv)
    try:
        failed = failing_unmutated(options.cases)
        if failed is not None:
            print(f"error: the packs as shipped already fail a case:\n\n{failed}", file=sys.stderr)
            return 2
        with tempfile.TemporaryDirectory() as folder:
            results = run(options.packs or builtin_pack_names(), options.cases, Path(folder))
    except ShuangyongError as error:
        print(f"error: {error.render('en')}", file=sys.stderr)
        return 2
    print(report(results))
    return 0 if kill_rate(results) >= options.require else 1


if __name__ == "__main__":
    sys.exit(main())
