"""Policy packs: YAML validated with errors at file:line and field; layering; fingerprints; regions."""

from __future__ import annotations

import codecs
import os
import time
import tracemalloc
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from shuangyong import documents
from shuangyong.cli import main
from shuangyong.documents import read_yaml
from shuangyong.errors import PolicyError
from shuangyong.limits import MAX_DEPTH, MAX_YAML_ALIASES, MAX_YAML_NODES
from shuangyong.model import Registry
from shuangyong.policy import PolicySet, load_reference, resolve_layers
from shuangyong.policy.regions import region_prefix

from .conftest import line_of

WritePack = Callable[..., Path]
REGISTRY = Registry.builtin()

HEAD = """\
pack: test
title: {zh: 测试, en: test}
"""

#: One rule's required fields; a case appends what it grants.
R1 = """\
rules:
  - id: r1
    title: {zh: 规则, en: rule}
    clause: 条款
    source: test
"""


def _load(path: Path) -> PolicySet:
    return PolicySet.load([str(path)], REGISTRY)


def _policy_error(action: Callable[[], object]) -> PolicyError:
    with pytest.raises(PolicyError) as caught:
        action()
    return caught.value


class TestValidPack:
    def test_minimal_pack_loads(self, write_pack: WritePack) -> None:
        """A pack with one rule loads, with its id, rule and the rule's position."""
        path = write_pack(HEAD + R1 + "    items: [registration]\n    benefit: {waive: true}\n")
        policy = _load(path)
        assert (("test",), ["r1"], f"{path}:{line_of(path, '- id: r1')}") == (
            policy.packs, [rule.spec.id for rule in policy.rules], policy.rules[0].where)

    def test_pack_without_rules_loads(self, write_pack: WritePack) -> None:
        """``rules`` may be left out: a pack that only disables or groups is legal."""
        assert () == _load(write_pack(HEAD)).rules

    def test_single_value_stands_for_a_list(self, write_pack: WritePack) -> None:
        """``category: serviceman`` means ``category: [serviceman]``."""
        path = write_pack(HEAD + R1 + "    when: {category: serviceman}\n    items: bed\n"
                          "    benefit: {reduce: \"50%\"}\n")
        spec = _load(path).rules[0].spec
        assert (("serviceman",), ("bed",), Decimal("0.5")) == (
            spec.when.category, spec.items, spec.benefit.rate)  # type: ignore[union-attr]


# (case id, YAML after the rule's required fields, text on the offending line, field, English message)
SCHEMA_CASES = [
    ("unknown-key", "    items: [registration]\n    benfit: {waive: true}\n",
     "benfit:", "rules[0].benfit", "rule r1: unknown key 'benfit'"),
    ("percent-over-100", "    items: [registration]\n    benefit: {reduce: \"150%\"}\n",
     "reduce:", "rules[0].benefit.reduce",
     "rule r1: invalid value: a percentage must lie between 0% and 100%, got '150%'"),
    ("percent-not-a-number", "    items: [registration]\n    benefit: {reduce: abc}\n",
     "reduce:", "rules[0].benefit.reduce",
     "rule r1: invalid value: a percentage is written like \"50%\", got 'abc'"),
    ("benefit-two-kinds", "    items: [registration]\n    benefit: {reduce: \"50%\", fixed: \"5.00\"}\n",
     "benefit:", "rules[0].benefit",
     "rule r1: invalid value: a benefit is exactly one of reduce, fixed, waive: true, waive_deposit: true, "
     "patient_pays_at_most, tiers (got reduce, fixed)"),
    ("items-without-benefit", "    items: [registration]\n",
     "- id: r1", "rules[0]",
     "rule r1: invalid value: items and benefit go together: a benefit needs the items (or the fee_categories) "
     "it applies to, and items need a benefit"),
    ("empty-when", "    when: {}\n    items: [registration]\n    benefit: {waive: true}\n",
     "when:", "rules[0].when",
     "rule r1: invalid value: an empty condition; write at least one of category, credential, "
     "disability_level, disability_cause, visit_kind, region, age, tags, custom, all, any, not"),
    ("effective-backwards", "    effective: {from: 2025-01-01, to: 2024-12-31}\n"
     "    items: [registration]\n    benefit: {waive: true}\n",
     "effective:", "rules[0].effective",
     "rule r1: invalid value: 'to' 2024-12-31 is before 'from' 2025-01-01"),
    ("nested-unknown-key", "    when:\n      any:\n        - {category: serviceman}\n        - {categry: veteran}\n"
     "    items: [registration]\n    benefit: {waive: true}\n",
     "categry", "rules[0].when.any[1].categry", "rule r1: unknown key 'categry'"),
    ("age-range-backwards", "    when: {age: {min: 65, max: 60}}\n    items: [registration]\n"
     "    benefit: {waive: true}\n",
     "age:", "rules[0].when.age", "rule r1: invalid value: max 60 is below min 65"),
    ("impossible-date", "    effective: {from: 2024-02-30}\n    items: [registration]\n    benefit: {waive: true}\n",
     "effective:", "rules[0].effective.from",
     "rule r1: invalid value: date 2024-02-30 is impossible (no such day)"),
    ("date-not-iso", "    effective: {from: 2024/02/01}\n    items: [registration]\n    benefit: {waive: true}\n",
     "effective:", "rules[0].effective.from",
     "rule r1: invalid value: date '2024/02/01' must be YYYY-MM-DD"),
    ("caps-without-benefit", "    services: [green_channel]\n    caps: {per_visit: \"10.00\"}\n",
     "- id: r1", "rules[0]", "rule r1: invalid value: caps limit a benefit; this rule has none"),
]


class TestSchemaErrors:
    @pytest.mark.parametrize(("body", "needle", "field", "message"),
                             [case[1:] for case in SCHEMA_CASES], ids=[case[0] for case in SCHEMA_CASES])
    def test_error_at_file_line_and_field(self, write_pack: WritePack, body: str, needle: str, field: str,
                                          message: str) -> None:
        """A malformed rule is a PolicyError at the offending line, with its dotted field and why."""
        path = write_pack(HEAD + R1 + body)
        error = _policy_error(lambda: load_reference(str(path)))
        assert (f"{path}:{line_of(path, needle)}", field, message) == (error.record, error.field, error.message.en)

    def test_duplicate_key_at_second_occurrence(self, write_pack: WritePack) -> None:
        """YAML would keep the last of two equal keys; the loader refuses, at the second one."""
        path = write_pack(HEAD + R1 + "    items: [registration]\n    benefit: {waive: true}\n    items: [bed]\n")
        error = _policy_error(lambda: load_reference(str(path)))
        assert (f"{path}:{line_of(path, 'items: [bed]')}", "rules[0].items",
                f"key 'items' appears twice (also line {line_of(path, 'items: [registration]')})") == (
            error.record, error.field, error.message.en)

    def test_invalid_yaml(self, write_pack: WritePack) -> None:
        """A YAML syntax error names the line YAML reports and no field."""
        path = write_pack("pack: test\ntitle: zh: 测试\n")
        error = _policy_error(lambda: load_reference(str(path)))
        assert (f"{path}:2", None, True) == (
            error.record, error.field, error.message.en.startswith("invalid YAML: "))

    @pytest.mark.parametrize("text", ["- pack: test\n", "just a string\n", "", "# only a comment\n"])
    def test_not_a_mapping(self, write_pack: WritePack, text: str) -> None:
        """A document that is not a mapping (a list, a scalar, nothing) is refused, naming the file."""
        path = write_pack(text)
        error = _policy_error(lambda: load_reference(str(path)))
        assert (str(path), None, "a policy pack must be a YAML mapping (pack:, title:, rules: …)") == (
            error.record, error.field, error.message.en)

    def test_schema_version_2(self, write_pack: WritePack) -> None:
        """A schema_version this library does not read is refused at its line."""
        path = write_pack("schema_version: 2\n" + HEAD)
        error = _policy_error(lambda: load_reference(str(path)))
        assert (f"{path}:1", "schema_version", "invalid value: this library reads schema_version 1, not 2") == (
            error.record, error.field, error.message.en)

    def test_rule_id_with_spaces(self, write_pack: WritePack) -> None:
        """A rule id is lower-case letters, digits, ``.``, ``_`` and ``-``: no spaces."""
        path = write_pack(HEAD + "rules:\n  - id: bad id\n    title: {zh: 规则, en: rule}\n    clause: 条款\n"
                          "    source: test\n    items: [registration]\n    benefit: {waive: true}\n")
        error = _policy_error(lambda: load_reference(str(path)))
        assert (f"{path}:{line_of(path, 'id: bad id')}", "rules[0].id") == (error.record, error.field)

    def test_missing_clause(self, write_pack: WritePack) -> None:
        """A rule must cite its clause; a missing one is named."""
        path = write_pack(HEAD + "rules:\n  - id: r1\n    title: {zh: 规则, en: rule}\n    source: test\n"
                          "    items: [registration]\n    benefit: {waive: true}\n")
        error = _policy_error(lambda: load_reference(str(path)))
        assert (f"{path}:{line_of(path, '- id: r1')}", "rules[0].clause", "rule r1: missing required key 'clause'") == (
            error.record, error.field, error.message.en)

    def test_error_in_second_rule(self, write_pack: WritePack) -> None:
        """An error in the second rule names index 1 and that rule's line."""
        path = write_pack(HEAD + R1 + "    items: [registration]\n    benefit: {waive: true}\n"
                          "  - id: r2\n    title: {zh: 规则, en: rule}\n    clause: 条款\n    source: test\n"
                          "    items: [bed]\n    benefit: {reduce: \"50\"}\n")
        error = _policy_error(lambda: load_reference(str(path)))
        line = line_of(path, 'reduce: "50"')
        assert (f"{path}:{line}", "rules[1].benefit.reduce") == (error.record, error.field)

    def test_float_fixed_amount_refused(self, write_pack: WritePack) -> None:
        """``fixed: 5.5`` (a YAML float) is refused at its line: amounts are written as strings."""
        path = write_pack(HEAD + R1 + "    items: [registration]\n    benefit: {fixed: 5.5}\n")
        error = _policy_error(lambda: load_reference(str(path)))
        assert (f"{path}:{line_of(path, 'fixed:')}", "rules[0].benefit.fixed") == (error.record, error.field)

    def test_float_fixed_amount_message(self, write_pack: WritePack) -> None:
        """The message for a float amount is the money message, with no empty 'field :' in it."""
        path = write_pack(HEAD + R1 + "    items: [registration]\n    benefit: {fixed: 5.5}\n")
        error = _policy_error(lambda: load_reference(str(path)))
        assert ("rule r1: invalid value: amount must not be a float (got 5.5); "
                "send it as a string such as \"12.35\"") == error.message.en


    def test_own_validator_message_in_chinese(self, write_pack: WritePack) -> None:
        """Messages our validators write in both languages keep their Chinese in ``zh``."""
        path = write_pack(HEAD + R1 + "    effective: {from: 2024-02-30}\n    items: [registration]\n"
                          "    benefit: {waive: true}\n")
        error = _policy_error(lambda: load_reference(str(path)))
        assert "规则 r1：取值无效：日期 2024-02-30 不存在" == error.message.zh


class TestMergeErrors:
    def test_unknown_category(self, write_pack: WritePack) -> None:
        """A category no registry knows is refused when packs are merged, at its line."""
        path = write_pack(HEAD + R1 + "    when: {category: [serviceman, astronaut]}\n"
                          "    items: [registration]\n    benefit: {waive: true}\n")
        error = _policy_error(lambda: _load(path))
        known = ", ".join(term.id for term in REGISTRY.categories)
        assert (f"{path}:{line_of(path, 'astronaut')}", "rules[0].when.category",
                f"rule r1: unknown category 'astronaut' (known: {known})") == (
            error.record, error.field, error.message.en)

    def test_unknown_category_deep_in_any_line(self, write_pack: WritePack) -> None:
        """An unknown category inside ``any`` is found and reported at its own line."""
        path = write_pack(HEAD + R1 + "    when:\n      any:\n        - {category: serviceman}\n"
                          "        - {category: astronaut}\n    items: [registration]\n    benefit: {waive: true}\n")
        error = _policy_error(lambda: _load(path))
        assert f"{path}:{line_of(path, 'astronaut')}" == error.record

    def test_unknown_category_deep_in_any_field(self, write_pack: WritePack) -> None:
        """The field of an unknown category inside ``any`` writes the list index in brackets."""
        path = write_pack(HEAD + R1 + "    when:\n      any:\n        - {category: serviceman}\n"
                          "        - {category: astronaut}\n    items: [registration]\n    benefit: {waive: true}\n")
        error = _policy_error(lambda: _load(path))
        assert "rules[0].when.any[1].category" == error.field

    def test_unknown_item_kind(self, write_pack: WritePack) -> None:
        """An item kind no registry knows is refused at the items line."""
        path = write_pack(HEAD + R1 + "    items: [registration, teleport]\n    benefit: {waive: true}\n")
        error = _policy_error(lambda: _load(path))
        assert (f"{path}:{line_of(path, 'teleport')}", "rules[0].items") == (error.record, error.field)

    def test_waive_deposit_on_a_fee(self, write_pack: WritePack) -> None:
        """``waive_deposit`` applies to deposit items only."""
        path = write_pack(HEAD + R1 + "    items: [blood_deposit, bed]\n    benefit: {waive_deposit: true}\n")
        error = _policy_error(lambda: _load(path))
        assert (f"{path}:{line_of(path, 'benefit:')}", "rules[0].benefit",
                "rule r1: waive_deposit applies to deposit items only; bed is not one") == (
            error.record, error.field, error.message.en)

    def test_unknown_service(self, write_pack: WritePack) -> None:
        """A service no registry knows is refused."""
        path = write_pack(HEAD + R1 + "    services: [helipad]\n")
        error = _policy_error(lambda: _load(path))
        assert (f"{path}:{line_of(path, 'helipad')}", "rules[0].services") == (error.record, error.field)

    def test_rule_id_twice_in_one_pack(self, write_pack: WritePack) -> None:
        """One pack cannot define a rule id twice."""
        path = write_pack(HEAD + R1 + "    items: [registration]\n    benefit: {waive: true}\n"
                          "  - id: r1\n    title: {zh: 规则, en: rule}\n    clause: 条款\n    source: test\n"
                          "    items: [bed]\n    benefit: {waive: true}\n")
        error = _policy_error(lambda: _load(path))
        assert (f"{path}:10", "rules[1].id", f"rule r1: rule id appears twice in this pack (also {path}:4)") == (
            error.record, error.field, error.message.en)  # the second "- id: r1", and the first

    def test_clash_without_override(self, write_pack: WritePack) -> None:
        """Redefining a lower layer's rule without ``override: true`` is refused in the upper file."""
        write_pack(HEAD.replace("test", "base") + R1 + "    items: [bed]\n    benefit: {reduce: \"50%\"}\n",
                   "base.yaml")
        child = write_pack(HEAD.replace("test", "child") + "extends: base.yaml\n" + R1
                           + "    items: [bed]\n    benefit: {reduce: \"40%\"}\n", "child.yaml")
        error = _policy_error(lambda: _load(child))
        assert (f"{child}:{line_of(child, '- id: r1')}", "rules[0].id",
                "rule r1: already defined by base; write override: true to replace it") == (
            error.record, error.field, error.message.en)

    def test_override_with_nothing_to_override(self, write_pack: WritePack) -> None:
        """``override: true`` on a new id is a mistake, reported at the override line."""
        path = write_pack(HEAD + R1 + "    override: true\n    items: [bed]\n    benefit: {reduce: \"40%\"}\n")
        error = _policy_error(lambda: _load(path))
        assert (f"{path}:{line_of(path, 'override:')}", "rules[0].override",
                "rule r1: override: true, but no lower layer defines this rule") == (
            error.record, error.field, error.message.en)

    def test_disable_unknown_rule(self, write_pack: WritePack) -> None:
        """Disabling an id no lower layer defines is refused, naming the list entry."""
        write_pack(HEAD.replace("test", "base") + R1 + "    items: [bed]\n    benefit: {reduce: \"50%\"}\n",
                   "base.yaml")
        child = write_pack(HEAD.replace("test", "child") + "extends: base.yaml\ndisable:\n  - r1\n  - r7\n",
                           "child.yaml")
        error = _policy_error(lambda: _load(child))
        assert (f"{child}:{line_of(child, '- r7')}", "disable[1]",
                "disabled rule 'r7' is not defined by a lower layer") == (error.record, error.field, error.message.en)

    def test_extends_cycle(self, write_pack: WritePack) -> None:
        """a extends b, b extends a: refused, naming the cycle and the extends line."""
        a = write_pack("pack: a\ntitle: {zh: 甲, en: a}\nextends: b.yaml\n", "a.yaml")
        write_pack("pack: b\ntitle: {zh: 乙, en: b}\nextends: a.yaml\n", "b.yaml")
        error = _policy_error(lambda: _load(a))
        assert (f"{a}:3", "extends", "policy packs extend each other in a cycle: a → b → a") == (
            error.record, error.field, error.message.en)

    def test_self_extension_is_a_cycle(self, write_pack: WritePack) -> None:
        """A pack that extends itself is the shortest cycle."""
        a = write_pack("pack: a\ntitle: {zh: 甲, en: a}\nextends: a.yaml\n", "a.yaml")
        error = _policy_error(lambda: _load(a))
        assert "policy packs extend each other in a cycle: a → a" == error.message.en

    def test_two_files_same_pack_id(self, write_pack: WritePack) -> None:
        """Two different files may not carry the same pack id; the second is named at ``pack:``."""
        first = write_pack("pack: same\ntitle: {zh: 甲, en: a}\n", "one.yaml")
        second = write_pack("title: {zh: 乙, en: b}\npack: same\n", "two.yaml")
        error = _policy_error(lambda: PolicySet.load([str(first), str(second)], REGISTRY))
        assert (f"{second}:2", "pack", f"two policy packs share the id 'same' ({first}, {second})") == (
            error.record, error.field, error.message.en)

    def test_same_file_twice_is_loaded_once(self, write_pack: WritePack) -> None:
        """Naming the same file twice (directly and through extends) loads it once."""
        base = write_pack(HEAD.replace("test", "base"), "base.yaml")
        child = write_pack(HEAD.replace("test", "child") + "extends: base.yaml\n", "child.yaml")
        assert ("base", "child") == PolicySet.load([str(base), str(child)], REGISTRY).packs

    def test_same_file_by_another_path_is_loaded_once(self, write_pack: WritePack) -> None:
        """A pack reached by two spellings of its path (``sub/../base.yaml``) is still one file."""
        base = write_pack(HEAD.replace("test", "base"), "base.yaml")
        child = write_pack(HEAD.replace("test", "child") + "extends: ../base.yaml\n", "sub/child.yaml")
        assert ("base", "child") == PolicySet.load([str(base), str(child)], REGISTRY).packs

    def test_rule_region_outside_pack_region(self, write_pack: WritePack) -> None:
        """A rule cannot reach outside its pack's region (山东 inside a 广西 pack)."""
        path = write_pack(HEAD + "region: \"450000\"\n" + R1 + "    region: \"370100\"\n"
                          "    items: [registration]\n    benefit: {waive: true}\n")
        error = _policy_error(lambda: _load(path))
        assert (f"{path}:{line_of(path, '370100')}", "rules[0].region",
                "rule r1: rule region 370100 lies outside the pack's region 450000") == (
            error.record, error.field, error.message.en)

    def test_rule_region_everywhere_inside_regional_pack(self, write_pack: WritePack) -> None:
        """``region: "*"`` on a rule of a regional pack would widen it: refused."""
        path = write_pack(HEAD + "region: \"450000\"\n" + R1 + "    region: \"*\"\n"
                          "    items: [registration]\n    benefit: {waive: true}\n")
        error = _policy_error(lambda: _load(path))
        assert "rules[0].region" == error.field

    def test_bad_pack_region(self, write_pack: WritePack) -> None:
        """A pack region that is not ``*`` or 2/4/6 digits is refused at its line."""
        path = write_pack(HEAD + "region: \"4\"\n")
        error = _policy_error(lambda: _load(path))
        assert (f"{path}:3", "region") == (error.record, error.field)

    def test_bad_rule_region_field(self, write_pack: WritePack) -> None:
        """A malformed rule region is named with the same dotted path as every other rule field."""
        path = write_pack(HEAD + "region: \"450000\"\n" + R1 + "    region: \"4501x0\"\n"
                          "    items: [registration]\n    benefit: {waive: true}\n")
        error = _policy_error(lambda: _load(path))
        assert (f"{path}:{line_of(path, '4501x0')}", "rules[0].region") == (error.record, error.field)

    def test_unknown_builtin_pack_lists_available(self) -> None:
        """An unknown built-in name is refused, listing the built-in packs."""
        error = _policy_error(lambda: load_reference("no-such-pack"))
        assert ("no-such-pack", "no policy pack named 'no-such-pack' (available: cn-national, seed-example)") == (
            error.record, error.message.en)

    def test_missing_file(self, tmp_path: Path) -> None:
        """A pack path that does not exist is a PolicyError naming it, not an OSError."""
        path = tmp_path / "absent.yaml"
        error = _policy_error(lambda: load_reference(str(path)))
        assert str(path) == error.record


BASE = HEAD.replace("test", "base") + """\
groups: [fee]
rules:
  - id: r1
    title: {zh: 一, en: one}
    clause: 条款一
    source: test
    items: [registration]
    benefit: {waive: true}
    group: fee
  - id: r2
    title: {zh: 二, en: two}
    clause: 条款二
    source: test
    items: [bed]
    benefit: {reduce: "50%"}
    group: fee
  - id: r3
    title: {zh: 三, en: three}
    clause: 条款三
    source: test
    items: [dressing]
    benefit: {reduce: "50%"}
    group: fee
"""


class TestLayering:
    def test_extends_puts_parent_first(self, write_pack: WritePack) -> None:
        """Packs are layered parent first, and a parent's rules come before the child's."""
        write_pack(BASE, "base.yaml")
        child = write_pack(HEAD.replace("test", "child") + "extends: base.yaml\n" + R1.replace("r1", "r4")
                           + "    items: [drug]\n    benefit: {reduce: \"10%\"}\n", "child.yaml")
        policy = _load(child)
        assert (("base", "child"), ["r1", "r2", "r3", "r4"]) == (policy.packs, [r.spec.id for r in policy.rules])

    def test_three_layers(self, write_pack: WritePack) -> None:
        """national → city → hospital: each pack after everything it extends."""
        write_pack(BASE, "base.yaml")
        write_pack(HEAD.replace("test", "city") + "extends: base.yaml\n", "city.yaml")
        hospital = write_pack(HEAD.replace("test", "hospital") + "extends: city.yaml\n", "hospital.yaml")
        assert ["base", "city", "hospital"] == [pack.spec.pack for pack in resolve_layers([str(hospital)])]

    def test_seed_example_extends_national(self) -> None:
        """The default pack is layered on cn-national."""
        assert ("cn-national", "seed-example") == PolicySet.load(["seed-example"], REGISTRY).packs

    def test_override_replaces_in_place(self, write_pack: WritePack) -> None:
        """An override replaces the rule's content but keeps its place in the order."""
        write_pack(BASE, "base.yaml")
        child = write_pack(HEAD.replace("test", "child") + "extends: base.yaml\n" + R1.replace("r1", "r2")
                           + "    override: true\n    items: [bed]\n    benefit: {reduce: \"40%\"}\n"
                           "    group: fee\n", "child.yaml")
        policy = _load(child)
        assert (["r1", "r2", "r3"], Decimal("0.4"), "child") == (
            [r.spec.id for r in policy.rules], policy.rule("r2").spec.benefit.rate,  # type: ignore[union-attr]
            policy.rule("r2").pack)

    def test_disable_removes(self, write_pack: WritePack) -> None:
        """``disable`` removes a lower layer's rule."""
        write_pack(BASE, "base.yaml")
        child = write_pack(HEAD.replace("test", "child") + "extends: base.yaml\ndisable: [r2]\n", "child.yaml")
        assert ["r1", "r3"] == [r.spec.id for r in _load(child).rules]

    def test_disabled_id_can_be_defined_afresh(self, write_pack: WritePack) -> None:
        """After disabling an id, the same pack may define a new rule with it (no override needed)."""
        write_pack(BASE, "base.yaml")
        child = write_pack(HEAD.replace("test", "child") + "extends: base.yaml\ndisable: [r1]\n"
                           + R1 + "    items: [injection]\n    benefit: {waive: true}\n", "child.yaml")
        policy = _load(child)
        assert (["r2", "r3", "r1"], ("injection",)) == ([r.spec.id for r in policy.rules],
                                                         policy.rule("r1").spec.items)

    def test_pack_region_becomes_prefix(self, write_pack: WritePack) -> None:
        """A pack for 450000 (广西) files its rules under the prefix 45."""
        path = write_pack(HEAD + 'region: "450000"\n' + R1 + "    items: [registration]\n    benefit: {waive: true}\n")
        assert "45" == _load(path).rules[0].region

    def test_rule_region_narrows(self, write_pack: WritePack) -> None:
        """A rule may narrow its pack's region (南宁 450100 inside 广西)."""
        path = write_pack(HEAD + "region: \"450000\"\n" + R1 + "    region: \"450100\"\n"
                          "    items: [registration]\n    benefit: {waive: true}\n")
        assert "4501" == _load(path).rules[0].region


class TestFingerprint:
    RULE = R1 + "    items: [bed]\n    benefit: {reduce: \"50%\"}\n"

    def test_stable_across_loads(self, write_pack: WritePack) -> None:
        """Loading the same pack twice gives the same fingerprint."""
        path = write_pack(HEAD + self.RULE)
        assert _load(path).fingerprint == _load(path).fingerprint

    def test_shape(self, write_pack: WritePack) -> None:
        """A fingerprint is ``sha256:`` and 16 hex digits."""
        fingerprint = _load(write_pack(HEAD + self.RULE)).fingerprint
        assert (7 + 16, "sha256:", True) == (
            len(fingerprint), fingerprint[:7], all(c in "0123456789abcdef" for c in fingerprint[7:]))

    def test_changes_with_a_rate(self, write_pack: WritePack) -> None:
        """Changing 50% to 40% changes the fingerprint."""
        before = _load(write_pack(HEAD + self.RULE, "a/pack.yaml")).fingerprint
        after = _load(write_pack(HEAD + self.RULE.replace("50%", "40%"), "b/pack.yaml")).fingerprint
        assert False is (before == after)

    def test_changes_with_pack_region(self, write_pack: WritePack) -> None:
        """The same rules for another region are another policy."""
        everywhere = _load(write_pack(HEAD + self.RULE, "a/pack.yaml")).fingerprint
        guangxi = _load(write_pack(HEAD + "region: \"450000\"\n" + self.RULE, "b/pack.yaml")).fingerprint
        assert False is (everywhere == guangxi)

    def test_independent_of_comments_and_layout(self, write_pack: WritePack) -> None:
        """Comments, blank lines, indentation and flow vs block style do not change the fingerprint."""
        plain = write_pack(HEAD + self.RULE, "a/pack.yaml")
        styled = write_pack("""
            # Our hospital's pack
            pack: test      # the id

            title:
                zh: 测试
                en: test
            rules:
                # halve the bed fee
                -   id: r1
                    title:
                        zh: 规则
                        en: rule
                    clause: 条款
                    source: test
                    items:
                        - bed
                    benefit:
                        reduce: "50%"
            """, "b/pack.yaml")
        assert _load(plain).fingerprint == _load(styled).fingerprint

    def test_override_flag_not_in_fingerprint(self, write_pack: WritePack) -> None:
        """A rule overridden with identical content gives the same fingerprint as the original."""
        write_pack(HEAD.replace("test", "base") + self.RULE, "base.yaml")
        child = write_pack(HEAD.replace("test", "child") + "extends: base.yaml\n"
                           + self.RULE + "    override: true\n", "child.yaml")
        base = write_pack(HEAD.replace("test", "base") + self.RULE, "only/base.yaml")
        assert _load(base).fingerprint == _load(child).fingerprint


class TestRegionPrefix:
    @pytest.mark.parametrize(("code", "prefix"), [
        ("*", ""), ("450000", "45"), ("450100", "4501"), ("450102", "450102"), ("45", "45"), ("4501", "4501"),
        ("4500", "45"), ("110000", "11"),
    ])
    def test_trailing_zero_pairs_dropped(self, code: str, prefix: str) -> None:
        """A code stands for the prefix left after dropping trailing ``00`` pairs; ``*`` for all."""
        assert prefix == region_prefix(code)

    @pytest.mark.parametrize("code", ["4", "450", "45000a", "4501000", "", " 450000", "**"])
    def test_refused(self, code: str) -> None:
        """Anything but ``*`` or 2, 4 or 6 digits is a ValueError."""
        with pytest.raises(ValueError):
            region_prefix(code)

    def test_full_width_digits_refused(self) -> None:
        """Full-width digits are not a GB/T 2260 code."""
        with pytest.raises(ValueError):
            region_prefix("４５００００")


#: Nine levels of nine aliases: 396 bytes that expand to 9^9 strings (issue 14: 5.8 GB, MemoryError).
ALIAS_BOMB = "".join(f"{name}: &{name} [{', '.join([f'*{prev}'] * 9) if prev else ', '.join(['lol'] * 9)}]\n"
                     for prev, name in zip([""] + list("abcdefgh"), "abcdefghi", strict=True))


def _nested_not(depth: int) -> str:
    """A pack whose one rule's condition is ``depth`` nested ``not:``."""
    return (HEAD + R1 + "    items: [registration]\n    benefit: {reduce: \"50%\"}\n    when: "
            + "{not: " * depth + "{category: serviceman}" + "}" * depth + "\n")


def _cli(*args: str) -> Any:
    return CliRunner().invoke(main, ["--lang", "en", *args])


class TestHostileFiles:
    """Files a careless or hostile user gives: each refused with file:line, never a crash (issue 14)."""

    def test_deep_nesting_refused_at_its_line(self, write_pack: WritePack) -> None:
        """3,000 nested ``not:`` used to end in a RecursionError."""
        path = write_pack(_nested_not(3000))
        error = _policy_error(lambda: _load(path))
        assert (f"{path}:{line_of(path, 'when:')}", f"nested more than {MAX_DEPTH} levels deep") == (
            error.record, error.message.en)

    def test_nesting_up_to_the_limit_is_read(self) -> None:
        """The bound is exact: MAX_DEPTH levels read, one more refused."""
        data, _ = read_yaml("[" * MAX_DEPTH + "]" * MAX_DEPTH, "ok.yaml")
        depth = 0
        while isinstance(data, list):
            data, depth = (data[0] if data else None), depth + 1
        deeper = _policy_error(lambda: read_yaml("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "deep.yaml"))
        assert (MAX_DEPTH, "deep.yaml:1") == (depth, deeper.record)

    def test_alias_bomb_refused_fast_in_little_memory(self, write_pack: WritePack) -> None:
        path = write_pack(ALIAS_BOMB)
        tracemalloc.start()
        started = time.monotonic()
        try:
            error = _policy_error(lambda: load_reference(str(path)))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert (True, True, True) == (str(MAX_YAML_NODES) in error.message.en, peak < 20_000_000,
                                      time.monotonic() - started < 30), (error.message.en, peak)
        assert error.record.startswith(f"{path}:")

    def test_aliases_are_counted(self, write_pack: WritePack) -> None:
        """MAX_YAML_ALIASES aliases are read; one more is refused at the line of the extra one."""
        ok, _ = read_yaml("g: &g x\nall: [" + ", ".join(["*g"] * MAX_YAML_ALIASES) + "]\n", "ok.yaml")
        error = _policy_error(lambda: read_yaml(
            "g: &g x\nall:\n" + "  - *g\n" * (MAX_YAML_ALIASES + 1), "many.yaml"))
        assert (MAX_YAML_ALIASES, f"many.yaml:{MAX_YAML_ALIASES + 3}",
                f"more than {MAX_YAML_ALIASES} aliases (*name)") == (len(ok["all"]), error.record, error.message.en)

    def test_an_alias_inside_its_own_anchor_is_refused(self) -> None:
        error = _policy_error(lambda: read_yaml("a: &a [1, *a]\n", "loop.yaml"))
        assert ("loop.yaml:1", "an alias refers to a node that contains it") == (error.record, error.message.en)

    def test_an_error_inside_an_alias_is_placed_at_the_alias(self, write_pack: WritePack) -> None:
        """Aliases are not walked twice for lines; an error inside one is named where it is used."""
        path = write_pack(HEAD + R1 + "    items: [registration]\n    benefit: &b {reduce: \"50%\"}\n"
                          "  - id: r2\n    title: {zh: 规则, en: rule}\n    clause: 条款\n    source: test\n"
                          "    items: [bed]\n    benefit: *b\n    when: {category: nobody}\n")
        error = _policy_error(lambda: _load(path))
        assert (f"{path}:{line_of(path, 'category: nobody')}", "rules[1].when.category") == (error.record, error.field)

    @pytest.mark.parametrize("target", ["/dev/zero", "fifo.yaml", "folder.yaml"])
    def test_extends_something_that_is_not_a_regular_file(self, write_pack: WritePack, tmp_path: Path,
                                                           target: str) -> None:
        """``extends: /dev/zero`` used to read until killed; a FIFO would wait for a writer forever."""
        if target == "fifo.yaml":
            os.mkfifo(tmp_path / target)
        elif target == "folder.yaml":
            (tmp_path / target).mkdir()
        path = write_pack(HEAD + f"extends: [{target}]\n")
        named = target if target.startswith("/") else str(tmp_path / target)
        error = _policy_error(lambda: _load(path))
        assert (named, "a policy pack must be a regular file (not a folder, device or pipe)") == (
            error.record, error.message.en)

    def test_a_file_past_the_size_limit(self, write_pack: WritePack, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(documents, "MAX_YAML_BYTES", 100)
        fits = write_pack(HEAD + "#" * (100 - len(HEAD.encode()) - 1) + "\n", "fits.yaml")
        too_big = write_pack(HEAD + "#" * (100 - len(HEAD.encode())) + "\n", "big.yaml")
        error = _policy_error(lambda: load_reference(str(too_big)))
        assert ("test", str(too_big), "a policy pack may not exceed 100 bytes") == (
            load_reference(str(fits)).spec.pack, error.record, error.message.en)

    def test_gb18030_refused_with_line_and_byte_offset(self, tmp_path: Path) -> None:
        path = tmp_path / "gb.yaml"
        path.write_bytes("pack: gb\n# 注释\ntitle: {zh: 国家, en: national}\n".encode("gb18030"))
        error = _policy_error(lambda: load_reference(str(path)))
        assert (f"{path}:2", "a policy pack must be UTF-8: the byte at offset 13 (line 2) is not UTF-8; it reads "
                "as GB 18030: convert it with iconv -f GB18030 -t UTF-8", "政策包须为 UTF-8 编码：第 2 行字节偏移 13 处"
                "不是 UTF-8；看来是 GB 18030，可用 iconv -f GB18030 -t UTF-8 转换") == (
            error.record, error.message.en, error.message.zh)

    def test_a_utf8_bom_is_accepted(self, tmp_path: Path) -> None:
        path = tmp_path / "bom.yaml"
        path.write_bytes(codecs.BOM_UTF8 + HEAD.encode())
        assert "test" == load_reference(str(path)).spec.pack

    def test_a_lone_surrogate_is_refused(self, write_pack: WritePack) -> None:
        """``"\\ud800"`` would be read, then crash every output that encodes the title."""
        path = write_pack('pack: test\ntitle: {zh: "\\ud800", en: test}\n')
        error = _policy_error(lambda: load_reference(str(path)))
        assert (f"{path}:2", True) == (error.record, "lone surrogate" in error.message.en)

    def test_a_copy_that_kept_its_parents_id_is_not_a_cycle(self, write_pack: WritePack) -> None:
        """A city pack copied from its parent and still called like it: two packs, one id."""
        parent = write_pack("pack: same\ntitle: {zh: 甲, en: a}\n", "parent.yaml")
        child = write_pack("pack: same\ntitle: {zh: 乙, en: b}\nextends: parent.yaml\n", "child.yaml")
        error = _policy_error(lambda: _load(child))
        assert (f"{parent}:1", f"two policy packs share the id 'same' ({child}, {parent})") == (
            error.record, error.message.en)

    @pytest.mark.parametrize(("body", "name", "named"), [
        (_nested_not(3000), "deep", "deep.yaml:10"), (ALIAS_BOMB, "bomb", "bomb.yaml:"),
        (HEAD + "extends: [/dev/zero]\n", "zero", "/dev/zero"), (HEAD + "schema_version: true\n", "version",
                                                                  "version.yaml:3, field schema_version")])
    @pytest.mark.parametrize("command", [("policy", "check", "{}"), ("evaluate", "--policy", "{}", "-o", "{out}")])
    def test_the_cli_exits_2_with_file_and_line(self, write_pack: WritePack, tmp_path: Path, body: str, name: str,
                                                named: str, command: tuple[str, ...]) -> None:
        """``policy check`` and ``evaluate --policy FILE``: exit 2, the file (and line) named, nothing written."""
        path = write_pack(body, f"{name}.yaml")
        out = tmp_path / "out.json"
        visit = '{"visit_id": "V1", "date": "2026-01-05", "kind": "outpatient", "patient": {"id": "P1", ' \
                '"categories": ["serviceman"], "credentials": []}, "lines": []}'
        result = CliRunner().invoke(main, ["--lang", "en", *(a.format(str(path), out=out) for a in command)],
                                    input=visit)
        assert (2, True, False, False) == (result.exit_code, named in result.stderr, out.exists(),
                                           "Traceback" in result.output), result.output


def test_an_error_at_an_anchor_is_placed_at_its_own_line() -> None:
    """Lines are mapped in document order: the anchored original keeps its lines even when an
    alias to it comes later."""
    _, lines = read_yaml("a: &x\n  k: 1\nb: *x\n", "a.yaml")
    assert (2, 3) == (lines[("a", "k")], lines[("b",)])
