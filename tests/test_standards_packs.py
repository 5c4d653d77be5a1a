"""Standards packs: seed-standards quotes the seeds; bad packs fail at their line and field."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from shuangyong.compliance.checks.kinds import BUILTIN_CHECK_KINDS
from shuangyong.compliance.report import evaluate
from shuangyong.compliance.standards import StandardsSet
from shuangyong.errors import PolicyError
from shuangyong.testing.prerequisites import missing

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
SEED = StandardsSet.load(["seed-standards"])
HEADLINE = """schema_version: 1
pack: {name}
title: {{zh: 测试, en: test}}
{extra}"""
STANDARD = """  - id: {id}
    title: {{zh: 标准, en: standard}}
    headline: organisation
    clause: c
    source: s
    check: {check}
"""


def _no_space(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize("entry", [*SEED.standards, *SEED.headlines], ids=lambda entry: entry.id)
def test_every_clause_is_verbatim_in_its_seed(entry: object) -> None:
    if not SEEDS.is_dir():
        missing(f"{SEEDS} is absent (a user's clone has no ../shared/seeds)")
    seed = _no_space((SEEDS / entry.source).read_text(encoding="utf-8"))  # type: ignore[attr-defined]
    assert True is (_no_space(entry.clause) in seed)  # type: ignore[attr-defined]


def test_seed_standards_cover_six_headlines_and_every_builtin_kind() -> None:
    assert (6, {kind.name for kind in BUILTIN_CHECK_KINDS} - {"count_in_window"}) == (
        len(SEED.headlines), {s.kind.name for s in SEED.standards} - {"count_in_window"})


def write(tmp_path: Path, name: str, extra: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(HEADLINE.format(name=name, extra=extra), encoding="utf-8")
    return path


def refused(path: Path) -> PolicyError:
    with pytest.raises(PolicyError) as caught:
        StandardsSet.load([str(path)])
    return caught.value


def layer(tmp_path: Path, standard: str, *, more: str = "") -> Path:
    return write(tmp_path, "local", f"extends: [seed-standards]\n{more}standards:\n{standard}")


@pytest.mark.parametrize(("check", "line", "field", "english"), [
    ("{kind: every_week}", 11, "standards[0].check.kind", "standard x: unknown check kind 'every_week'"),
    ("{kind: every_period, period: fortnight, records: {kind: meeting, type: forum}}", 11,
     "standards[0].check.period", "standard x: invalid options for check every_period: invalid value: Input should be"),
    ("{kind: count_in_window, records: {kind: meeting, type: parade}}", 11, "standards[0].check.records",
     "standard x: invalid options for check count_in_window: invalid value: unknown meeting type 'parade'"),
    ("{kind: document_by, type: annual_plan, by: '13-01'}", 11, "standards[0].check.by",
     "standard x: invalid options for check document_by: invalid value: '13-01' must be MM-DD"),
    ("{kind: ratio_at_least, at_least: {others: 0.8}}", 11, "standards[0].check.at_least.others",
     "standard x: invalid options for check ratio_at_least: invalid value: a percentage is written like \"50%\""),
    ("{kind: pairing_present, colour: red}", 11, "standards[0].check.colour",
     "standard x: invalid options for check pairing_present: unknown key 'colour'"),
])
def test_bad_check_options_point_at_the_line(tmp_path: Path, check: str, line: int, field: str,
                                             english: str) -> None:
    error = refused(layer(tmp_path, STANDARD.format(id="x", check=check)))
    assert (f"{tmp_path / 'local.yaml'}:{line}", field, True) == (
        error.record, error.field, error.message.en.startswith(english)), error.message.en


def test_replacing_a_standard_needs_override(tmp_path: Path) -> None:
    error = refused(layer(tmp_path, STANDARD.format(id="org.annual_plan", check="{kind: pairing_present}")))
    assert error.message.en.startswith("standard 'org.annual_plan' is already defined in seed-standards")


def test_override_and_disable_change_the_merged_set(tmp_path: Path) -> None:
    standard = STANDARD.format(id="org.annual_plan", check="{kind: document_by, type: annual_plan, by: '01-31'}")
    path = layer(tmp_path, standard.replace("    source: s\n", "    source: s\n    override: true\n"),
                 more="disable: [pub.columns]\n")
    merged = StandardsSet.load([str(path)])
    ids = [s.id for s in merged.standards]
    plan = next(s for s in merged.standards if s.id == "org.annual_plan")
    assert ("pub.columns" not in ids, "01-31", "local") == ("pub.columns" not in ids, plan.options.by, plan.pack)


def test_unknown_headline_and_bad_weight(tmp_path: Path) -> None:
    unknown = refused(layer(tmp_path, STANDARD.format(id="x", check="{kind: pairing_present}")
                            .replace("headline: organisation", "headline: morale")))
    float_weight = refused(layer(tmp_path, STANDARD.format(id="y", check="{kind: pairing_present}")
                                 .replace("    clause: c\n", "    clause: c\n    weight: 1.5\n")))
    assert ("standard x: unknown headline 'morale'", True) == (
        unknown.message.en, "must be an integer or a quoted decimal" in float_weight.message.en)


def test_unknown_pack_name_lists_the_standards_packs() -> None:
    with pytest.raises(PolicyError, match=r"no standards pack named 'nope' \(available: seed-standards\)"):
        StandardsSet.load(["nope"])


def _visit(id_: str, day: str, led_by: str) -> dict:
    return {"id": id_, "kind": "activity", "type": "holiday_visit", "date": day, "led_by": led_by}


def test_the_head_must_lead_within_each_holiday_period() -> None:
    """Issue 15 §12, seed 000: 元旦、春节和八一建军节期间，医院一把手亲自带领拥军慰问组 — a head-led
    visit in May is not one of them; each period needs its own."""
    from tests.dossiers import HEAD, dossier

    def status(*records: dict) -> str:
        report = evaluate(dossier(*records), SEED, dt.date(2026, 12, 31))
        return next(r.status.value for h in report.headlines for r in h.results
                    if r.standard.id == "org.head_leads_visits")

    in_may = _visit("may", "2026-05-12", HEAD)
    each = [_visit("ny", "2026-01-02", HEAD), _visit("sf", "2026-02-17", HEAD), _visit("bayi", "2026-08-01", HEAD)]
    assert ("missing", "partial", "met") == (status(in_may), status(in_may, *each[:2]), status(*each))
    assert "partial" == status(*each[:2], _visit("bayi", "2026-08-01", "李红"))


def _line(path: Path, fragment: str) -> int:
    return 1 + path.read_text(encoding="utf-8").split(fragment)[0].count("\n")


def test_a_standard_id_twice_in_one_pack_names_both_lines(tmp_path: Path) -> None:
    """The second used to replace the first silently when it said ``override: true``."""
    first = STANDARD.format(id="x", check="{kind: pairing_present}")
    second = first.replace("    check:", "    override: true\n    check:").replace("id: x", "id: x  # again")
    path = layer(tmp_path, first + second)
    error = refused(path)
    assert (f"{path}:{_line(path, 'id: x  # again')}", "standards[1].id",
            f"standard id 'x' appears twice in this pack (also {path}:{_line(path, 'id: x')})") == (
        error.record, error.field, error.message.en)


def test_a_headline_id_twice_in_one_pack(tmp_path: Path) -> None:
    headline = "  - {id: h, title: {zh: 总, en: h}, clause: c, source: s}\n"
    path = write(tmp_path, "local", "headlines:\n" + headline + headline)
    error = refused(path)
    assert (f"{path}:6", "headlines[1].id") == (error.record, error.field)


@pytest.mark.parametrize(("insert", "field", "fragment"), [
    ("    weight: \"1_0\"\n", "standards[0].weight", "must be an integer or a quoted decimal"),
    ("    weight: \" 1\"\n", "standards[0].weight", "must be an integer or a quoted decimal"),
    ("    weight: true\n", "standards[0].weight", "must be an integer or a quoted decimal"),
    ("    weight: " + "9" * 5000 + "\n", "standards[0].weight", "(5000 digits) is too large"),
    ("    override: yes\n", "standards[0].override", "must be true or false, got 'yes'"),
])
def test_strict_standard_values(tmp_path: Path, insert: str, field: str, fragment: str) -> None:
    error = refused(layer(tmp_path, STANDARD.format(id="y", check="{kind: pairing_present}")
                          .replace("    clause: c\n", "    clause: c\n" + insert)))
    assert (field, True) == (error.field, fragment in error.message.en), error.message.en


@pytest.mark.parametrize(("check", "field", "fragment"), [
    ("{kind: count_in_window, at_least: true, records: {kind: activity, type: training}}",
     "standards[0].check.at_least", "must be a whole number, got true"),
    ("{kind: count_in_window, at_least: 0x10, records: {kind: activity, type: training}}",
     "standards[0].check.at_least", "must be a whole number, got '0x10'"),
    ("{kind: count_in_window, records: {kind: activity, type: training, paired: 1}}",
     "standards[0].check.records.paired", "must be true or false, got 1"),
    ("{kind: ratio_at_least, at_least: {cadres: \"5_0%\"}}", "standards[0].check.at_least.cadres",
     "a percentage is written like \"50%\", got '5_0%'"),
])
def test_strict_check_options(tmp_path: Path, check: str, field: str, fragment: str) -> None:
    error = refused(layer(tmp_path, STANDARD.format(id="y", check=check)))
    assert (field, True) == (error.field, fragment in error.message.en), error.message.en
