"""The built-in packs cite their sources: seed-example quotes the seed files, cn-national the law."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shuangyong.policy import load_reference
from shuangyong.policy.schema import RuleSpec
from shuangyong.testing.prerequisites import missing

#: ``../shared/seeds`` beside the repository: present in the team's checkout, absent on a user's clone.
SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"

SEED_PACK = load_reference("seed-example").spec
NATIONAL_PACK = load_reference("cn-national").spec


def _no_space(text: str) -> str:
    """The text with every white-space character removed (the seeds carry PDF line breaks)."""
    return re.sub(r"\s+", "", text)


@pytest.fixture
def seeds() -> Path:
    """The seeds folder; a skip where it is not beside the repository, a failure in CI."""
    if not SEEDS.is_dir():
        missing(f"{SEEDS} is absent (a user's clone has no ../shared/seeds)")
    return SEEDS


@pytest.mark.parametrize("rule", SEED_PACK.rules, ids=lambda rule: rule.id)
def test_seed_rule_source_is_a_seed_file(seeds: Path, rule: RuleSpec) -> None:
    """Each seed-example rule names, as its source, a file of the seeds folder."""
    assert True is (seeds / rule.source).is_file()


@pytest.mark.parametrize("rule", SEED_PACK.rules, ids=lambda rule: rule.id)
def test_seed_rule_clause_is_verbatim(seeds: Path, rule: RuleSpec) -> None:
    """Each seed-example clause appears word for word in its seed file (white space aside)."""
    seed = _no_space((seeds / rule.source).read_text(encoding="utf-8"))
    assert True is (_no_space(rule.clause) in seed)


def test_seed_pack_has_rules() -> None:
    """The seed pack is not empty, so the checks above check something."""
    assert True is bool(SEED_PACK.rules)


def test_seed_pack_extends_national() -> None:
    """seed-example is layered on cn-national."""
    assert ("cn-national",) == SEED_PACK.extends


@pytest.mark.parametrize("rule", NATIONAL_PACK.rules, ids=lambda rule: rule.id)
def test_national_rule_cites_something(rule: RuleSpec) -> None:
    """Each cn-national rule has a non-blank source and a non-blank clause."""
    assert (True, True) == (bool(rule.source.strip()), bool(rule.clause.strip()))


@pytest.mark.parametrize("rule", NATIONAL_PACK.rules, ids=lambda rule: rule.id)
def test_national_rule_cites_law_not_seeds(rule: RuleSpec) -> None:
    """cn-national cites national law (a title in 《》), never a seed file."""
    assert (True, False) == ("《" in rule.source, rule.source.endswith(".txt"))
