"""The example region plugin: its category, its pack's scope, and the seed sentences it quotes."""

from __future__ import annotations

import re
from decimal import Decimal
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from shuangyong import hookimpl, plugins
from shuangyong.cli import main
from shuangyong.engine import Engine
from shuangyong.errors import PluginError, UnknownCategoryError
from shuangyong.interchange import visit_from_dict
from shuangyong.model.vocabulary import Term
from shuangyong.policy import load_reference
from shuangyong.testing.prerequisites import missing
from shuangyong_guangxi import MERITORIOUS_ELDER, PACK

GUANGXI = EntryPoint("guangxi", "shuangyong_guangxi.hooks", "shuangyong")
#: ``../shared/seeds`` beside the repository (as tests/test_seed_citations.py finds it).
SEEDS = Path(__file__).resolve().parents[4] / "shared" / "seeds"


def engine(*entry_points: EntryPoint) -> Engine:
    manager = plugins.build_plugin_manager({}, entry_points or (GUANGXI,))
    return Engine.from_packs("guangxi", registry=plugins.registry(manager))


def elder_visit(region: str = "450103", categories: tuple[str, ...] = ("meritorious_elder",)) -> dict[str, Any]:
    return {"visit_id": "GX1", "date": "2026-02-10", "kind": "outpatient", "region": region,
            "patient": {"id": "P450001", "name": "覃兆珍", "categories": list(categories)},
            "lines": [{"line_id": "1", "item": "registration", "amount": "12.00"},
                      {"line_id": "2", "item": "drug", "amount": "86.40"}]}


def test_category_registered_without_a_parent() -> None:
    """The plugin adds “三老”功臣 as a category of its own: the seeds place it in no group."""
    registry = plugins.registry(plugins.build_plugin_manager({}, [GUANGXI]))
    assert (frozenset({"meritorious_elder"}), "“三老”功臣") == (
        registry.categories.with_ancestors("meritorious_elder"), registry.categories.get(MERITORIOUS_ELDER.id).label.zh)


def test_category_unknown_without_the_plugin() -> None:
    """Without the plugin the category is refused, naming the field."""
    engine = Engine.from_packs("seed-example")
    with pytest.raises(UnknownCategoryError) as caught:
        engine.evaluate(visit_from_dict(elder_visit()))
    assert ("patient.categories", "meritorious_elder") == (caught.value.field, caught.value.value)


def test_elder_in_guangxi_gets_services_and_no_invented_reduction() -> None:
    """In 南宁 (450103) both seed rules grant their service; no line is reduced (no seed amount)."""
    decision = engine().evaluate(visit_from_dict(elder_visit()))
    granted = {e.rule: e.services for e in decision.entitlements}
    assert {"gx.sanlao.preferential-service": ("preferential_service",),
            "gx.sanlao.concession": ("medical_concession",)} == granted
    assert (Decimal("98.40"), Decimal("0.00")) == (decision.totals.payable, decision.totals.reduction)


def test_elder_outside_guangxi_gets_nothing_from_the_pack() -> None:
    """The pack is scoped to prefix 45: in 广州 (440100) its rules are outside their region."""
    explanation = engine().explain(visit_from_dict(elder_visit(region="440100")))
    outcomes = {t.rule: t.outcome for t in explanation.visit if t.rule.startswith("gx.")}
    assert {"gx.sanlao.preferential-service": "outside_region", "gx.sanlao.concession": "outside_region"} == outcomes
    assert () == explanation.decision.services


def test_other_categories_in_guangxi_untouched() -> None:
    """A serviceman in 广西 gets the seed-example rules the pack extends, and no “三老” rule."""
    decision = engine().evaluate(visit_from_dict(elder_visit(categories=("serviceman",))))
    rules = {e.rule for e in decision.entitlements}
    assert ("military-window" in rules, {r for r in rules if r.startswith("gx.")}) == (True, set())


class Rival:
    """Another plugin that claims the same category id."""

    @hookimpl
    def register_categories(self) -> list[Term]:
        return [MERITORIOUS_ELDER]


def test_registering_the_category_twice_names_the_plugin() -> None:
    """A second plugin adding the same category: a PluginError naming it and the id."""
    manager = plugins.build_plugin_manager({}, [GUANGXI])
    manager.register(Rival(), name="rival")
    with pytest.raises(PluginError) as caught:
        plugins.registry(manager)
    assert ("rival", "register_categories", "meritorious_elder") == (
        caught.value.record, caught.value.field, caught.value.value)


def test_pack_scope_and_lineage() -> None:
    """The pack file is the one registered; it covers 450000 and builds on seed-example."""
    spec = load_reference(str(PACK[1])).spec
    assert ("guangxi", "450000", ("seed-example",)) == (spec.pack, spec.region, spec.extends)


@pytest.mark.parametrize("rule", load_reference(str(PACK[1])).spec.rules, ids=lambda rule: rule.id)
def test_clause_is_verbatim_in_its_seed(rule: Any) -> None:
    """Each clause appears word for word (white space aside) in the seed file it names."""
    if not SEEDS.is_dir():
        missing(f"{SEEDS} is absent (a user's clone has no ../shared/seeds)")
    seed = re.sub(r"\s+", "", (SEEDS / rule.source).read_text(encoding="utf-8"))
    assert True is (re.sub(r"\s+", "", rule.clause) in seed)


def test_cli_lists_the_pack_and_plugin() -> None:
    """Installed, the plugin shows in `shuangyong plugins` and its pack in `policy list`."""
    runner = CliRunner()
    listed = runner.invoke(main, ["plugins"]).output
    packs = runner.invoke(main, ["policy", "list"]).output
    assert (True, True) == ("guangxi" in listed and "register_categories" in listed, "guangxi" in packs)
