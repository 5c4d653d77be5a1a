"""What the engine works out once per plan (issue 18): the rules that can win a group, the winner
where no line is needed, and the plan of a visit known from its signature. Each must decide as
trying every rule on every line does."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, ClassVar

import attrs
import pytest

from shuangyong.engine import Engine
from shuangyong.engine.compiler import line_groups
from shuangyong.errors import UnknownCategoryError
from shuangyong.interchange import visit_from_dict
from shuangyong.model import Registry
from shuangyong.policy.layers import PolicySet

from .builders import visit, write_pack

RULE = "    - id: {id}\n      title: {{zh: 规则, en: rule}}\n      clause: 条款\n      source: test\n"


def rule(rule_id: str, extra: str) -> str:
    return RULE.format(id=rule_id) + "".join(f"      {line}\n" for line in extra.strip().splitlines())


def pack(tmp_path: Path, rules: str, registry: Registry | None = None) -> Engine:
    registry = registry or Registry.builtin()
    path = write_pack(tmp_path, "p", f"pack: p\ntitle: {{zh: 包, en: pack}}\nrules:\n{rules}")
    return Engine(PolicySet.load([str(path)], registry), registry)


def amounts(fen: range) -> list[str]:
    return [f"{n // 100}.{n % 100:02d}" for n in fen]


def groups_of(engine: Engine, item: str, day: str = "2025-03-01") -> Any:
    """The fast loop's groups for ``item`` on a plain visit."""
    return engine._visit_plan(visit([("1", item, "1.00")], day=day))[0].lines[item]


class TestGroupWinners:
    def test_rates_tie_to_the_earlier_rule_below_the_threshold(self, tmp_path: Path) -> None:
        """30 % then 50 %: on 0.02 both take 0.01 and the earlier wins; from 0.05 (0.01 / 20 %) 50 %
        takes a fen more on every amount, so it is the winner known at plan time; 20 % after them
        can never win. On every amount up to 3.00 the rule and reduction are those of the earliest
        largest reduction, worked out here by hand."""
        engine = pack(tmp_path, rule("thirty", 'items: [drug]\nbenefit: {reduce: "30%"}') +
                      rule("half", 'items: [drug]\nbenefit: {reduce: "50%"}') +
                      rule("twenty", 'items: [drug]\nbenefit: {reduce: "20%"}'))
        (group,) = groups_of(engine, "drug")
        assert (["thirty", "half"], "half", Decimal("0.05")) == (
            [r.rule_id for r in group.rules], group.winner.rule_id, group.threshold)
        rates = {"thirty": Decimal("0.3"), "half": Decimal("0.5"), "twenty": Decimal("0.2")}
        for amount in amounts(range(0, 301)):
            line = engine.evaluate(visit([("1", "drug", amount)])).lines[0]
            taken = {name: (Decimal(amount) * rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
                     for name, rate in rates.items()}
            most = max(taken.values())
            expected = next((name for name, value in taken.items() if value == most), None) if most else None
            assert (expected, most) == (line.rule, line.reduction), amount
        assert "thirty" == engine.evaluate(visit([("1", "drug", "0.02")])).lines[0].rule

    def test_a_waiver_outdoes_later_fixed_and_rates(self, tmp_path: Path) -> None:
        """A waiver with no cap takes all: a later fixed reduction or rate in its group never wins,
        and the waiver is the winner on every line; on 0.00 nothing applies."""
        engine = pack(tmp_path, rule("all", "items: [drug]\nbenefit: {waive: true}") +
                      rule("five", 'items: [drug]\nbenefit: {fixed: "5.00"}') +
                      rule("half", 'items: [drug]\nbenefit: {reduce: "50%"}'))
        (group,) = groups_of(engine, "drug")
        assert (("all",), "all", None) == (tuple(r.rule_id for r in group.rules), group.winner.rule_id,
                                          group.threshold)
        lines = engine.evaluate(visit([("1", "drug", "0.00"), ("2", "drug", "3.00")])).lines
        assert [(None, Decimal("0.00")), ("all", Decimal("3.00"))] == [(ln.rule, ln.reduction) for ln in lines]

    @pytest.mark.parametrize(("first", "second", "kept"), [
        ('{fixed: "5.00"}', '{fixed: "3.00"}', ["first"]),
        ('{fixed: "3.00"}', '{fixed: "5.00"}', ["first", "second"]),
        ('{reduce: "50%"}\ncaps: {per_line: "2.00"}', '{reduce: "30%"}', ["first", "second"]),
        ('{reduce: "50%"}', '{reduce: "30%"}\ncaps: {per_line: "2.00"}', ["first"]),
        ('{fixed: "5.00"}', '{reduce: "90%"}\ncaps: {per_line: "4.00"}', ["first"]),
        ('{reduce: "50%"}', '{fixed: "1.00"}', ["first", "second"]),
        ('{waive: true}\ncaps: {per_line: "4.00"}', '{fixed: "5.00"}', ["first", "second"]),
    ])
    def test_only_rules_outdone_on_every_amount_are_left_out(self, tmp_path: Path, first: str, second: str,
                                                             kept: list[str]) -> None:
        """A later rule is left out only when the earlier one takes at least as much off every
        amount; either way every amount up to 12.00 decides as trying both does."""
        engine = pack(tmp_path, rule("first", f"items: [drug]\nbenefit: {first}") +
                      rule("second", f"items: [drug]\nbenefit: {second}"))
        (group,) = groups_of(engine, "drug")
        assert kept == [r.rule_id for r in group.rules]
        both = [engine.compiled.rules[0].reduce, engine.compiled.rules[1].reduce]
        for amount in amounts(range(0, 1201, 7)):
            taken = [reduce(Decimal(amount)) for reduce in both]  # type: ignore[misc]
            best = max(taken)
            expected = ("first", "second")[taken.index(best)] if best else None
            assert expected == engine.evaluate(visit([("1", "drug", amount)])).lines[0].rule, amount

    def test_rules_needing_the_line_are_tried_on_it(self, tmp_path: Path) -> None:
        """A line condition or a per-visit cap keeps the group's rules tried line by line, and an
        earlier rule with either does not leave a later one out."""
        engine = pack(tmp_path, rule("tagged", 'items: [drug]\nwhen: {tags: [a]}\nbenefit: {reduce: "90%"}') +
                      rule("capped", 'items: [drug]\nbenefit: {reduce: "80%"}\ncaps: {per_visit: "5.00"}') +
                      rule("half", 'items: [drug]\nbenefit: {reduce: "50%"}'))
        (group,) = groups_of(engine, "drug")
        assert (["tagged", "capped", "half"], None) == ([r.rule_id for r in group.rules], group.winner)
        lines = engine.evaluate(visit([("1", "drug", "10.00", "a"), ("2", "drug", "10.00"),
                                       ("3", "drug", "10.00")])).lines
        assert [("tagged", "9.00"), ("capped", "5.00"), ("half", "5.00")] == [
            (ln.rule, str(ln.reduction)) for ln in lines]

    def test_line_groups_of_an_empty_plan(self) -> None:
        assert () == line_groups(())


@attrs.frozen(slots=True)
class Named:
    """A plugin's condition on something no built-in one reads: the patient's name."""

    name: str
    LINE_LEVEL: ClassVar[bool] = False

    def __call__(self, ctx: Any, line: Any) -> bool:
        return bool(ctx.visit.patient.name == self.name)

    def explain(self, ctx: Any, line: Any, registry: Any) -> Any:
        raise NotImplementedError


class TestVisitSignature:
    def test_visits_alike_share_a_plan(self, tmp_path: Path) -> None:
        """Two patients with the same facts get the plan found for the first, without trying rules."""
        engine = pack(tmp_path, rule("vets", 'items: [drug]\nwhen: {category: veteran}\nbenefit: {reduce: "50%"}'))
        first, second = (visit([("1", "drug", "10.00")], categories=("veteran",), patient_id=p, birth_date=b)
                         for p, b in (("P1", "1950-01-01"), ("P2", "1960-05-05")))
        assert (None, None) != engine._visit_plan(first)
        assert engine._visit_plan(second)[1] is None  # known from the signature: no context built
        assert engine.evaluate(first).lines == engine.evaluate(second).lines

    def test_age_is_part_of_the_signature_when_a_rule_reads_it(self, tmp_path: Path) -> None:
        """Under an age condition, patients differing in age only are decided apart."""
        engine = pack(tmp_path, rule("old", 'items: [drug]\nwhen: {age: {min: 60}}\nbenefit: {reduce: "50%"}'))
        old, young = (engine.evaluate(visit([("1", "drug", "10.00")], birth_date=born))
                      for born in ("1950-01-01", "1990-01-01"))
        assert ("old", None) == (old.lines[0].rule, young.lines[0].rule)

    def test_a_plugins_condition_turns_the_signature_off(self, tmp_path: Path) -> None:
        """A plugin's condition may read any part of the visit: each visit is then tried rule by rule."""
        registry = Registry.builtin()
        registry.predicates["named"] = Named
        engine = pack(tmp_path, rule("ann", 'items: [drug]\nwhen: {custom: {named: Ann}}\nbenefit: {waive: true}'),
                      registry)
        assert engine.compiled.facts is None
        ann, bob = (engine.evaluate(visit([("1", "drug", "10.00")], name=name)) for name in ("Ann", "Bob"))
        assert ("ann", None) == (ann.lines[0].rule, bob.lines[0].rule)

    def test_an_unknown_category_is_refused_every_time(self, tmp_path: Path) -> None:
        """A visit refused is not remembered: the same visit is refused again, naming the field."""
        engine = pack(tmp_path, rule("vets", 'items: [drug]\nwhen: {category: veteran}\nbenefit: {reduce: "50%"}'))
        bad = visit([("1", "drug", "10.00")], categories=("nonesuch",))
        for _ in range(2):
            with pytest.raises(UnknownCategoryError) as caught:
                engine.evaluate(bad)
            assert ("V1", "patient.categories") == (caught.value.record, caught.value.field)

    def test_explain_quotes_each_visits_own_credential(self) -> None:
        """Visits alike in their signature share the visit-level reasons only with the same
        credentials: each explanation quotes the number of the patient's own card."""
        engine = Engine.from_packs()
        reasons = []
        for number in ("A1", "B2", "A1"):
            explained = engine.explain(visit_from_dict({
                "visit_id": "V1", "date": "2025-03-01", "kind": "outpatient", "region": "450100",
                "patient": {"id": "P1", "categories": ["disabled_veteran"], "credentials": [
                    {"kind": "key_care_medical_card", "number": number, "valid_from": "2024-01-01"}]},
                "lines": [{"line_id": "1", "item": "registration", "amount": "12.00"}]}))
            reasons.append(next(t.reason.en for t in explained.lines[0].considered if t.outcome == "applied"))
        assert ["(A1)", "(B2)", "(A1)"] == [reason[reason.index("("):reason.index(")") + 1] for reason in reasons]
