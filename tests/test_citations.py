"""Every built-in rule quotes its source verbatim: seed sentences and national articles."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shuangyong.policy import load_reference
from shuangyong.testing.prerequisites import missing

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT.parent / "shared" / "seeds"  # beside the repository here and in CI, not on a user's clone


def _squeeze(text: str) -> str:
    """Compare without white space: the seeds were extracted from PDFs with stray line breaks."""
    return re.sub(r"\s+", "", text)


def _national_text() -> str:
    return _squeeze((ROOT / "docs" / "national-sources.md").read_text(encoding="utf-8").replace("> ", ""))


SEED_RULES = load_reference("seed-example").spec.rules
NATIONAL_RULES = load_reference("cn-national").spec.rules


@pytest.mark.parametrize("rule", SEED_RULES, ids=lambda rule: rule.id)
def test_seed_rule_quotes_its_seed(rule) -> None:  # type: ignore[no-untyped-def]
    """The seed file named exists and contains the rule's clause, word for word."""
    if not SEEDS.is_dir():
        missing(f"{SEEDS} is absent (a user's clone has no ../shared/seeds)")
    seed = SEEDS / rule.source
    assert seed.is_file(), f"{rule.id}: no seed file {rule.source}"
    assert _squeeze(rule.clause) in _squeeze(seed.read_text(encoding="utf-8")), rule.id


@pytest.mark.parametrize("rule", NATIONAL_RULES, ids=lambda rule: rule.id)
def test_national_rule_quotes_the_law(rule) -> None:  # type: ignore[no-untyped-def]
    """Each cn-national clause is found verbatim in the recorded article texts, and the source
    names a law and an article."""
    assert _squeeze(rule.clause) in _national_text(), rule.id
    assert "《" in rule.source and "第" in rule.source and "条" in rule.source


def test_seed_pack_extends_national() -> None:
    """Without --policy, seed-example applies on top of cn-national."""
    assert ("cn-national",) == load_reference("seed-example").spec.extends


def test_no_national_fee_reduction() -> None:
    """The national texts give no amounts, so cn-national reduces no fee (cite or leave out)."""
    assert [] == [rule.id for rule in NATIONAL_RULES if rule.benefit is not None]
