"""scripts/mutate_packs.py: the mutants it makes, and that tests/cases kills every one."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from shuangyong import plugins

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
try:
    import mutate_packs
finally:
    sys.path.pop(0)


def test_mutants_of_the_builtin_packs() -> None:
    """Drop each rule, move each rate a point either way (a waiver to 99 %), shift each date."""
    registry = plugins.registry()
    seed = [m.description for m in mutate_packs.mutants("seed-example", mutate_packs.pack_document("seed-example", registry))]
    national = [m.description for m in mutate_packs.mutants("cn-national", mutate_packs.pack_document("cn-national", registry))]
    assert (11 + 2 + 3 * 2, 6 + 6 * 2) == (len(seed), len(national))
    assert {"drop four-priorities", "two-waivers.injection: waive → reduce 99%",
            "three-halves.bed: reduce 50% → 49%", "three-halves.bed: reduce 50% → 51%"} <= set(seed)
    assert {"nat.regulation-44.concession: effective from 2024-10-01 → 2024-09-30",
            "nat.regulation-44.concession: effective from 2024-10-01 → 2024-10-02"} <= set(national)


def test_rates_stay_within_bounds_and_fixed_sums_move_a_fen() -> None:
    rules = [{"id": "full", "benefit": {"reduce": "100%"}}, {"id": "none", "benefit": {"reduce": "0%"}},
             {"id": "five", "benefit": {"fixed": "5.00"}}, {"id": "free", "benefit": {"fixed": "0.00"}},
             {"id": "deposit", "benefit": {"waive_deposit": True}},
             {"id": "until", "effective": {"to": "2025-12-31"}, "services": ["green_channel"]}]
    found = [m.description for m in mutate_packs.mutants("p", {"rules": rules}) if not m.description.startswith("drop")]
    assert ["full: reduce 100% → 99%", "none: reduce 0% → 1%", "five: fixed 5.00 → 4.99", "five: fixed 5.00 → 5.01",
            "free: fixed 0.00 → 0.01", "until: effective to 2025-12-31 → 2025-12-30",
            "until: effective to 2025-12-31 → 2026-01-01"] == found


def test_project_cases_kill_every_mutant(capsys: pytest.CaptureFixture[str]) -> None:
    """The kill rate docs/testing.md reports: every mutant of the built-in packs is caught."""
    assert 0 == mutate_packs.main(["--require", "100"])
    out = capsys.readouterr().out
    assert "SURVIVED" not in out and out.rstrip().endswith("37 of 37 mutants killed: 100.0%")


def test_survivors_are_listed_and_fail_the_requirement(capsys: pytest.CaptureFixture[str]) -> None:
    """With only the charge-code cases, cn-national's mutants survive: exit 1 below --require."""
    assert 1 == mutate_packs.main([str(ROOT / "tests" / "cases" / "test_charge_codes.case.yaml"), "--require", "100"])
    out = capsys.readouterr().out
    assert "SURVIVED  cn-national: drop nat.status-law-51.servicemen" in out
    assert "killed   seed-example: drop two-waivers.registration\n          by " in out
    assert 0 == mutate_packs.main([str(ROOT / "tests" / "cases" / "test_charge_codes.case.yaml"), "--pack", "seed-example"])


def test_packs_that_already_fail_a_case(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = tmp_path / "wrong.case.yaml"
    case.write_text(textwrap.dedent("""
        cases:
          - name: wrong on purpose
            visit: {date: 2025-03-01, region: "450100", lines: ["drug 1.00"]}
            expect: {lines: {1: {reduction: 1.00}}}
    """), encoding="utf-8")
    assert 2 == mutate_packs.main([str(case)])
    assert "error: the packs as shipped already fail a case:\n\nFAIL " in capsys.readouterr().err


def test_unknown_pack(capsys: pytest.CaptureFixture[str]) -> None:
    assert 2 == mutate_packs.main(["--pack", "no-such-pack"])
    assert "no policy pack named 'no-such-pack'" in capsys.readouterr().err
