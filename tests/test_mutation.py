"""Mutation testing (``shuangyong test --mutate``, shuangyong.testing.mutation): the mutants made,
a hospital's own pack killed and survived, every bad input, and tests/cases against the
built-in packs."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from shuangyong.cli import main
from shuangyong.model import Registry
from shuangyong.policy import load_reference, parse_pack
from shuangyong.testing.cases import load_cases
from shuangyong.testing.mutation import MutationRun, mutants

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "tests" / "cases"

#: A hospital's own pack: one rule with a list condition, an age bound, a fixed sum, a per-visit
#: cap and both dates of effect, i.e. 14 mutants.
HOSPITAL = """
    pack: my-hospital
    title: {zh: 本院优待, en: Our hospital's concessions}
    rules:
      - id: hosp.elder-registration
        title: {zh: 老年优待对象挂号费减 5 元, en: 5.00 off registration for elderly recipients}
        clause: 测试用条款，非真实政策
        source: test
        effective: {from: 2025-01-01, to: 2025-12-31}
        when: {category: [veteran, military_family], age: {min: 60}}
        items: [registration]
        benefit: {fixed: "5.00"}
        caps: {per_visit: "8.00"}
"""

#: Cases worked out by hand that kill each of the 14; the last one alone kills "to + 1 day".
HOSPITAL_CASES = """
    packs: [hospital.yaml]
    defaults: {region: "450100"}
    cases:
      - name: a veteran who turns 60 on the first day in force gets 5.00 off
        visit: {date: 2025-01-01, categories: [veteran], birth_date: 1965-01-01, lines: ["registration 12.00"]}
        expect: {lines: {1: {reduction: 5.00, rule: hosp.elder-registration}}}
      - name: a serviceman's family member a day short of 60 gets nothing
        visit: {date: 2025-03-01, categories: [military_family], birth_date: 1965-03-02, lines: ["registration 12.00"]}
        expect: {lines: {1: {reduction: 0.00}}}
      - name: on the last day in force, two registrations take at most 8.00 off the visit
        visit: {date: 2025-12-31, categories: [military_family], birth_date: 1950-06-01,
                lines: ["registration 12.00", "registration 12.00"]}
        expect: {lines: {1: {reduction: 5.00}, 2: {reduction: 3.00}}, totals: {reduction: 8.00}}
      - name: not yet in force the day before
        visit: {date: 2024-12-31, categories: [veteran], birth_date: 1950-06-01, lines: ["registration 12.00"]}
        expect: {lines: {1: {reduction: 0.00}}}
      - name: no longer in force the day after
        visit: {date: 2026-01-01, categories: [veteran], birth_date: 1950-06-01, lines: ["registration 12.00"]}
        expect: {lines: {1: {reduction: 0.00}}}
"""
LAST_CASE = HOSPITAL_CASES[HOSPITAL_CASES.index("      - name: no longer in force"):]


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def mutate(*args: str, lang: str = "en") -> Any:
    return CliRunner().invoke(main, ["--lang", lang, "test", "--mutate", *args])


def rows(output: str, status: str = "SURVIVED") -> list[tuple[str, ...]]:
    """(rule, field, change, where) of each row of the mutant table with that status."""
    return [tuple(re.split(r" {2,}", line)[1:5]) for line in output.splitlines() if line.startswith(status + " ")]


def descriptions(pack: Any) -> list[str]:
    return [f"{m.rule} {m.field}: {m.change.en}" for m in mutants(pack)]


def test_mutants_of_the_builtin_packs() -> None:
    """Each rule dropped, its condition dropped or loosened, each rate a point either way (a
    waiver made 99 %), each date a day either way: 36 mutants of seed-example, 41 of cn-national."""
    seed, national = descriptions(load_reference("seed-example")), descriptions(load_reference("cn-national"))
    assert (36, 41) == (len(seed), len(national))
    assert {"four-priorities rule: rule dropped", "two-waivers.injection benefit.waive: waive → reduce 99%",
            "three-halves.bed benefit.reduce: 50% → 49%", "three-halves.bed benefit.reduce: 50% → 51%",
            "three-halves.bed when: condition dropped", "military-ward when.visit_kind: without emergency"} <= set(seed)
    assert {"nat.regulation-44.concession effective.from: 2024-10-01 → 2024-09-30",
            "nat.regulation-44.concession effective.from: 2024-10-01 → 2024-10-02",
            "nat.regulation-44.recipients when.category: without martyr_family",
            "nat.veterans-law-52.combat-and-disabled when.any[1].all[0]: condition dropped"} <= set(national)


def test_each_change_stays_a_pack_the_loader_accepts() -> None:
    """Rates stay within 0–100 %, sums and caps at or above 0.00 (per_year is the ledger's, not
    mutated), bounds where a visit can reach them, ranges and windows the right way round;
    one-item lists and single branches are left to "condition dropped"."""
    pack = parse_pack(textwrap.dedent("""
        pack: p
        title: {zh: p, en: p}
        rules:
          - {id: full, title: {zh: t, en: t}, clause: c, source: s, items: [drug], benefit: {reduce: "100%"}}
          - {id: none, title: {zh: t, en: t}, clause: c, source: s, items: [drug], benefit: {reduce: "0%"}}
          - {id: free, title: {zh: t, en: t}, clause: c, source: s, items: [drug], benefit: {fixed: "0.00"},
             caps: {per_line: "0.00", per_year: "9.00"}}
          - {id: deposit, title: {zh: t, en: t}, clause: c, source: s, items: [blood_deposit],
             benefit: {waive_deposit: true}}
          - {id: day, title: {zh: t, en: t}, clause: c, source: s, services: [green_channel],
             effective: {from: 2025-01-01, to: 2025-01-01}}
          - id: levels
            title: {zh: t, en: t}
            clause: c
            source: s
            services: [green_channel]
            when:
              all:
                - {disability_level: {min: 1, max: 10}, category: disabled_veteran, age: {min: 60, max: 60}}
                - not: {age: {max: 0}, region: ["45", "11"]}
    """).lstrip("\n"), "p.yaml")
    assert ["full rule: rule dropped", "full benefit.reduce: 100% → 99%",
            "none rule: rule dropped", "none benefit.reduce: 0% → 1%",
            "free rule: rule dropped", "free benefit.fixed: 0.00 → 0.01", "free caps.per_line: 0.00 → 0.01",
            "deposit rule: rule dropped",
            "day rule: rule dropped", "day effective.from: 2025-01-01 → 2024-12-31",
            "day effective.to: 2025-01-01 → 2025-01-02",
            "levels rule: rule dropped", "levels when: condition dropped",
            "levels when.all[0]: condition dropped", "levels when.all[0].disability_level.min: 1 → 2",
            "levels when.all[0].disability_level.max: 10 → 9", "levels when.all[0].age.min: 60 → 59",
            "levels when.all[0].age.max: 60 → 61", "levels when.all[1]: condition dropped",
            "levels when.all[1].not.region: without 45", "levels when.all[1].not.region: without 11",
            "levels when.all[1].not.age.max: 0 → 1"] == descriptions(pack)
    where = {f"{m.rule} {m.field}": m.where for m in mutants(pack)}
    assert {"full rule": "p.yaml:4", "day effective.to": "p.yaml:11", "levels when": "p.yaml:17",
            "levels when.all[0].disability_level.max": "p.yaml:19", "levels when.all[1].not.region": "p.yaml:20"} \
        == {key: where[key] for key in ("full rule", "day effective.to", "levels when",
                                        "levels when.all[0].disability_level.max", "levels when.all[1].not.region")}


def test_settlement_benefit_shapes_and_base() -> None:
    """A most-the-patient-pays a fen either way; each tier's rate a point and its bound a fen
    either way, unless the bands would leave their order; a base the pack writes swapped between
    the gross amount and the patient's share (``without_insurance`` back to its default)."""
    pack = parse_pack(textwrap.dedent("""
        pack: p
        title: {zh: p, en: p}
        rules:
          - {id: most, title: {zh: t, en: t}, clause: c, source: s, items: [drug],
             benefit: {patient_pays_at_most: "5.00"}, base: patient_share, without_insurance: skip}
          - {id: bands, title: {zh: t, en: t}, clause: c, source: s, items: [drug],
             benefit: {tiers: [{up_to: "100.00", reduce: "0%"}, {up_to: "100.01", reduce: "50%"}, {reduce: "100%"}]}}
    """).lstrip("\n"), "p.yaml")
    assert ["most rule: rule dropped", "most benefit.patient_pays_at_most: 5.00 → 4.99",
            "most benefit.patient_pays_at_most: 5.00 → 5.01", "most base: patient_share → gross",
            "bands rule: rule dropped", "bands benefit.tiers[0].reduce: 0% → 1%",
            "bands benefit.tiers[0].up_to: 100.00 → 99.99", "bands benefit.tiers[1].reduce: 50% → 49%",
            "bands benefit.tiers[1].reduce: 50% → 51%", "bands benefit.tiers[1].up_to: 100.01 → 100.02",
            "bands benefit.tiers[2].reduce: 100% → 99%"] == descriptions(pack)
    swapped = next(m for m in mutants(pack) if m.field == "base")
    assert ("gross", "error") == (swapped.loaded.spec.rules[0].base, swapped.loaded.spec.rules[0].without_insurance)


def test_mutants_come_in_the_same_order_every_run() -> None:
    first, again = list(mutants(load_reference("cn-national"))), list(mutants(load_reference("cn-national")))
    assert [(m.rule, m.field, m.change) for m in first] == [(m.rule, m.field, m.change) for m in again]
    assert mutate(str(CASES), "-v").stdout == mutate(str(CASES), "-v").stdout


def test_project_cases_kill_every_mutant_of_the_builtin_packs() -> None:
    """The figure docs/testing.md reports: every mutant of seed-example and cn-national is killed."""
    result = mutate(str(CASES))
    assert 0 == result.exit_code, result.output
    assert [] == rows(result.stdout)
    assert ("mutation testing: 77 mutant(s) of cn-national, seed-example: 77 killed, 0 survived; "
            "mutation score 100.0%\n") == result.stdout.splitlines(keepends=True)[-1]


def test_charge_code_cases_alone_let_mutants_survive() -> None:
    """With only the charge-code cases cn-national's mutants survive, named with file:line, but
    for its 6 conditions dropped (the case lists its exact ``rules:``); --pack limits the run."""
    only = str(CASES / "test_charge_codes.case.yaml")
    result = mutate(only, "-v")
    assert 1 == result.exit_code
    assert ("nat.status-law-51.servicemen", "rule", "rule dropped", "builtin:cn-national:14") in rows(result.stdout)
    assert {"when"} == {field for _, field, _, where in rows(result.stdout, "killed") if "cn-national" in where}
    assert "77 mutant(s) of cn-national, seed-example: 18 killed, 59 survived; mutation score 23.4%" in result.stderr
    chosen = mutate(only, "--pack", "seed-example")
    assert 1 == chosen.exit_code and "36 mutant(s) of seed-example: 12 killed" in chosen.stderr
    assert {"builtin:seed-example"} == {where.rsplit(":", 1)[0] for *_, where in rows(chosen.stdout)}


def test_own_pack_cases_kill_every_mutant(tmp_path: Path) -> None:
    write(tmp_path, "hospital.yaml", HOSPITAL)
    cases = write(tmp_path, "hospital.case.yaml", HOSPITAL_CASES)
    result = mutate(str(cases), "-v")
    assert 0 == result.exit_code, result.output
    killed = rows(result.stdout, "killed")
    assert 14 == len(killed) and [] == rows(result.stdout)
    assert ("hosp.elder-registration", "caps.per_visit", "8.00 → 7.99", f"{tmp_path / 'hospital.yaml'}:12") in killed
    assert "5 case(s): 5 passed, 0 failed" in result.stdout
    assert "14 mutant(s) of my-hospital: 14 killed, 0 survived; mutation score 100.0%" in result.stdout


def test_a_missing_case_leaves_a_named_survivor(tmp_path: Path) -> None:
    """Without the case on the day after the window, moving ``to`` a day later goes unnoticed."""
    write(tmp_path, "hospital.yaml", HOSPITAL)
    cases = write(tmp_path, "hospital.case.yaml", HOSPITAL_CASES.replace(LAST_CASE, ""))
    result = mutate(str(cases))
    assert 1 == result.exit_code
    assert [("hosp.elder-registration", "effective.to", "2025-12-31 → 2026-01-01",
             f"{tmp_path / 'hospital.yaml'}:8")] == rows(result.stdout)
    assert "14 mutant(s) of my-hospital: 13 killed, 1 survived; mutation score 92.9%" in result.stderr
    chinese = mutate(str(cases), lang="zh")
    assert "存活  hosp.elder-registration  effective.to  2025-12-31 → 2026-01-01" in chinese.stdout
    assert "变异测试：my-hospital 共 14 个变异体，杀死 13，存活 1；变异得分 92.9%" in chinese.stderr


def test_own_pack_file_that_extends_a_builtin_pack(tmp_path: Path) -> None:
    """Issue 15 §7: ``scripts/mutate_packs.py --pack FILE.yaml`` ended in a traceback
    (FileNotFoundError: …/policy/packs/FILE.yaml.yaml): it looked every pack up by name. Now a
    pack named by its file, with what it extends, is mutated where the cases load it."""
    write(tmp_path, "hospital.yaml", HOSPITAL.replace("    rules:", "    extends: seed-example\n    rules:"))
    cases = write(tmp_path, "hospital.case.yaml", HOSPITAL_CASES)
    every = mutate(str(cases))
    assert 1 == every.exit_code and "91 mutant(s) of cn-national, seed-example, my-hospital" in every.stderr
    for chosen in (str(tmp_path / "hospital.yaml"), "my-hospital"):
        result = mutate(str(cases), "--pack", chosen)
        assert 0 == result.exit_code, result.output
        assert "14 mutant(s) of my-hospital: 14 killed" in result.stdout


def test_a_pack_a_plugin_registers_by_name(tmp_path: Path) -> None:
    """A case naming a plugin's pack (``registry.packs``) gets that file's rules mutated."""
    registry = Registry.builtin()
    registry.packs["my-hospital"] = write(tmp_path, "hospital.yaml", HOSPITAL)
    cases = load_cases(write(tmp_path, "hospital.case.yaml", HOSPITAL_CASES.replace("hospital.yaml", "my-hospital")))
    run = MutationRun(cases, registry)
    assert all(outcome.passed for outcome in run.unmutated())
    report = run.run(run.choose(["my-hospital"]))
    assert (("my-hospital",), 14, ()) == (report.packs, len(report.results), report.survivors)


def test_a_mutant_that_breaks_a_pack_above_it_is_killed(tmp_path: Path) -> None:
    """examples/reform-bed-waiver.yaml overrides three-halves.bed: without seed-example's rule the
    reform no longer loads, and its cases fail with the loader's message."""
    cases = write(tmp_path, "reform.case.yaml", f"""
        packs: [{ROOT / 'examples' / 'reform-bed-waiver.yaml'}]
        cases:
          - name: the bed fee waived in full
            visit: {{date: 2025-03-01, region: "450100", kind: inpatient, cards: [key_care_medical_card],
                    lines: ["bed 12.35"]}}
            expect: {{lines: {{1: {{reduction: 12.35, rule: three-halves.bed}}}}}}
    """)
    run = MutationRun(load_cases(cases), Registry.builtin())
    report = run.run(run.choose(["seed-example"]))
    dropped = next(r for r in report.results if (r.mutant.rule, r.mutant.field) == ("three-halves.bed", "rule"))
    assert dropped.killed_by is not None and dropped.killed_by.error is not None
    assert "override: true, but no lower layer defines this rule" in dropped.killed_by.error.render("en")


@pytest.mark.parametrize(("packs", "pack_text", "message"), [
    ("no-such-pack", None, "field packs: the case's packs cannot be loaded: record no-such-pack: "
                           "no policy pack named 'no-such-pack'"),
    ("absent.yaml", None, "cannot read the policy pack: No such file or directory"),
    ("hospital.yaml", HOSPITAL.replace('{fixed: "5.00"}', '{fixed: "5.001"}'),
     "hospital.yaml:11, field rules[0].benefit.fixed: rule hosp.elder-registration: invalid value: amount 5.001"),
    ("hospital.yaml", HOSPITAL + "        override: true\n",
     "hospital.yaml:13, field rules[0].override: rule hosp.elder-registration: override: true, but no lower layer"),
])
def test_a_pack_that_cannot_be_loaded_exits_2_before_any_mutant(tmp_path: Path, packs: str, pack_text: str | None,
                                                                message: str) -> None:
    if pack_text is not None:
        write(tmp_path, "hospital.yaml", pack_text)
    cases = write(tmp_path, "hospital.case.yaml", HOSPITAL_CASES.replace("[hospital.yaml]", f"[{packs}]"))
    result = mutate(str(cases))
    assert (2, "") == (result.exit_code, result.stdout), result.output
    assert result.stderr.startswith(f"error: record {cases}:4, ") and message in result.stderr, result.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["--mutate", "--pack", "cn-national"], "error: field --pack: the cases do not evaluate against the pack "
                                            "'cn-national' (they use: my-hospital)"),
    (["--mutate", "--pack", "other.yaml"], "error: record other.yaml: cannot read the policy pack: No such file or "
                                           "directory"),
    (["--pack", "my-hospital"], "error: field --pack: --pack is only for --mutate"),
])
def test_bad_options_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "hospital.yaml", HOSPITAL)
    write(tmp_path, "hospital.case.yaml", HOSPITAL_CASES)
    result = CliRunner().invoke(main, ["--lang", "en", "test", "hospital.case.yaml", *args])
    assert (2, "", message) == (result.exit_code, result.stdout, result.stderr.rstrip("\n"))


def test_a_bad_or_missing_case_file_exits_2(tmp_path: Path) -> None:
    write(tmp_path, "hospital.yaml", HOSPITAL)
    cases = write(tmp_path, "hospital.case.yaml", HOSPITAL_CASES.replace("expect: {lines: {1: {reduction: 0.00}}}",
                                                                         "expct: {lines: {1: {reduction: 0.00}}}", 1))
    result = mutate(str(cases))
    assert (2, "") == (result.exit_code, result.stdout)
    assert f"error: record {cases}:9, field cases[1].expct: unknown key 'expct'" == result.stderr.rstrip("\n")
    missing = mutate(str(tmp_path / "absent.case.yaml"))
    assert (2, f"error: record {tmp_path / 'absent.case.yaml'}: no such case file or folder") == \
        (missing.exit_code, missing.stderr.rstrip("\n"))


def test_cases_that_already_fail_are_reported_and_nothing_is_mutated(tmp_path: Path) -> None:
    write(tmp_path, "hospital.yaml", HOSPITAL)
    wrong = HOSPITAL_CASES.replace("reduction: 5.00, rule", "reduction: 4.00, rule")
    cases = write(tmp_path, "hospital.case.yaml", wrong)
    result = mutate(str(cases))
    assert 1 == result.exit_code
    assert f"FAIL {cases}:4  a veteran who turns 60 on the first day in force gets 5.00 off" in result.stdout
    assert [] == rows(result.stdout) and "mutant" not in result.output
    assert result.stderr.endswith("5 case(s): 4 passed, 1 failed\nthe cases already fail on the packs as written: "
                                  "fix them before mutation testing\n")
