"""shuangyong.testing.strategies: what each strategy draws, how it shrinks, and the missing extra."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import find, given
from hypothesis import strategies as st

from shuangyong import plugins
from shuangyong.engine import Engine
from shuangyong.model import Beneficiary, ChargeCodeMap, ChargeLine, Registry, Visit
from shuangyong.policy.layers import PolicySet
from shuangyong.testing import strategies
from shuangyong.testing.strategies import (
    EDGE_AMOUNTS,
    PLACEMENTS,
    beneficiaries,
    categories,
    charge_lines,
    credentials,
    money,
    pack_sets,
    policy_packs,
    validity_windows,
    visits,
)

from .test_plugins import SAMPLE

ROOT = Path(__file__).resolve().parents[1]
DAY = dt.date(2025, 6, 15)


@given(money(min_value="1.00", max_value="20.00"))
def test_money_two_places_within_bounds(amount: Any) -> None:
    assert -2 == amount.as_tuple().exponent and 1 <= amount <= 20


def test_money_draws_the_edges() -> None:
    """The largest edge amount comes up although it is far above the typical ones."""
    assert "99999999.99" == str(find(money(), lambda a: a > 10_000))
    assert "0.00" == str(find(money(), lambda a: True))  # shrinks to the simplest amount
    assert {"0.05", "12.35"} <= set(EDGE_AMOUNTS)


@pytest.mark.parametrize(("placement", "valid"), [
    ("covers", True), ("open", True), ("starts_on", True), ("ends_on", True), ("ended", False), ("not_yet", False)])
@given(data=st.data())
def test_windows_placed_around_the_day(placement: str, valid: bool, data: st.DataObject) -> None:
    """Each placement puts the day inside or outside the inclusive window as it says."""
    window = data.draw(validity_windows(DAY, placement))
    assert valid == window.contains(DAY)
    if placement == "starts_on":
        assert not window.contains(DAY - dt.timedelta(days=1))
    if placement == "ends_on":
        assert not window.contains(DAY + dt.timedelta(days=1))
    if placement == "ended":
        assert window.end is not None and window.end < DAY


def test_unknown_placement_is_refused() -> None:
    with pytest.raises(ValueError, match="placement must be one of covers, open, starts_on"):
        find(validity_windows(DAY, "yesterday"), lambda w: True)


def test_credentials_shrink_to_a_valid_card() -> None:
    card = find(credentials(DAY, kinds=["military_id"]), lambda c: True)
    assert ("military_id", True) == (card.kind, card.valid_on(DAY)) and card.number.startswith("桂")
    assert set(PLACEMENTS) == {"covers", "open", "starts_on", "ends_on", "ended", "not_yet"}


@given(beneficiaries(DAY))
def test_beneficiaries_have_a_level_only_when_disabled(patient: Beneficiary) -> None:
    disabled = "disabled_veteran" in patient.categories
    assert disabled == (patient.disability_level is not None) == (patient.disability_cause is not None)
    assert patient.birth_date is None or patient.birth_date <= DAY


def test_categories_include_plugin_categories() -> None:
    """A plugin's category (the sample plugin's sample_elder) is drawn from its registry."""
    registry = plugins.registry(plugins.build_plugin_manager({}, [SAMPLE]))
    assert "sample_elder" == find(categories(registry), lambda c: c == "sample_elder")
    assert "sample_elder" not in Registry.builtin().categories


def test_charge_lines_carry_mapped_codes() -> None:
    codes = ChargeCodeMap.load(ROOT / "examples" / "charge_codes.csv", Registry.builtin().items)
    line = find(charge_lines(codes=codes), lambda line: line.code is not None)
    assert isinstance(line, ChargeLine) and codes.item_for(line.code) == line.item  # type: ignore[arg-type]


@given(visits(day=DAY, max_lines=5))
def test_visits_have_distinct_line_ids(visit: Visit) -> None:
    assert DAY == visit.date and len(visit.lines) <= 5
    assert len({line.line_id for line in visit.lines}) == len(visit.lines)


def test_visits_shrink_to_a_readable_counterexample() -> None:
    """A failing visit shrinks to V1, patient P1, one line "1" of the first item kind, 0.01."""
    visit = find(visits(day=DAY), lambda v: any(line.amount > 0 for line in v.lines))
    assert ("V1", "P1", frozenset(), ()) == (visit.visit_id, visit.patient.id, visit.patient.categories,
                                             visit.patient.credentials)
    assert [("1", "registration", "0.01")] == [(line.line_id, line.item, str(line.amount)) for line in visit.lines]


@given(pack_sets())
def test_random_packs_load_and_compile(policy: PolicySet) -> None:
    """Every drawn pack passes validation and compiles (a tag test never sits on a visit grant)."""
    Engine(policy, strategies.default_registry())
    assert 1 <= len(policy.rules) <= 8


def _keys(value: object) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


@given(policy_packs(negation=False, per_visit_caps=False, effective_dates=False, regions=False))
def test_pack_options_leave_features_out(document: dict[str, Any]) -> None:
    assert not {k for rule in document["rules"] for k in _keys(rule)} & {"not", "per_visit"}
    assert not {k for rule in document["rules"] for k in rule} & {"effective", "region"}


def test_pack_shrinks_to_one_rule() -> None:
    document = find(policy_packs(), lambda d: True)
    assert ["r0"] == [rule["id"] for rule in document["rules"]]


def test_without_hypothesis_the_error_names_the_extra() -> None:
    """Importing the strategies without hypothesis raises MissingExtraError naming the extra;
    the rest of the toolkit still imports."""
    code = ("import sys; sys.modules['hypothesis'] = None\n"
            "import shuangyong.testing.properties, shuangyong.testing\n"
            "from shuangyong.errors import MissingExtraError\n"
            "try:\n    from shuangyong.testing import strategies\n"
            "except MissingExtraError as error:\n    print(error.message.en); print(error.message.zh)\n"
            "    print(isinstance(error, ImportError))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            env={"PYTHONIOENCODING": "utf-8", "PATH": ""})
    assert ["shuangyong.testing.strategies needs hypothesis: pip install 'shuangyong[testing]'",
            "shuangyong.testing.strategies 需要 hypothesis：请安装 pip install 'shuangyong[testing]'",
            "True"] == result.stdout.splitlines()


def test_settlement_packs_draw_fee_category_rules() -> None:
    """With ``settlement``, rules by fee category alone, and ``item_rules_first``, are drawn; each
    such pack loads, and lines carry fee categories that meet them."""
    document = find(policy_packs(settlement=True),
                    lambda d: any("fee_categories" in r and "items" not in r for r in d["rules"])
                    and d.get("settlement", {}).get("item_rules_first") is True)
    rule = next(r for r in document["rules"] if "fee_categories" in r)
    assert set(rule["fee_categories"]) <= {f"{n:02d}" for n in range(1, 15)}
    assert find(pack_sets(settlement=True), lambda p: p.item_rules_first).item_rules_first
    line = find(charge_lines(), lambda line: line.fee_category is not None)
    assert "01" == line.fee_category  # shrinks to the first national category
