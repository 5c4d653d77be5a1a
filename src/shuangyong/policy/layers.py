"""Layer packs (national → province → city → hospital) into one checked, fingerprinted rule set.

A later layer replaces a rule by id (it must say ``override: true``, so that a clash is never an
accident) or removes it (``disable: [id]``). Every id a rule mentions is checked against the
registry here, once, so that the engine never meets an unknown category at evaluation time.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

import attrs

from shuangyong.errors import PolicyError, field_path
from shuangyong.policy.loader import LoadedPack, Loc, PackReference, resolve_layers
from shuangyong.policy.regions import region_prefix
from shuangyong.policy.schema import DEFAULT_PAYER, SCHEMA_VERSION, RuleSpec, When
from shuangyong.text import Text

if TYPE_CHECKING:
    from collections.abc import Iterable

    from shuangyong.model.registry import Registry
    from shuangyong.model.vocabulary import Vocabulary


@attrs.frozen(slots=True)
class Rule:
    """A rule of the merged set: its spec, the pack that defined it, and its region prefix."""

    spec: RuleSpec
    pack: str
    where: str
    region: str  #: GB/T 2260 prefix; "" means everywhere


@attrs.frozen(slots=True)
class PolicySet:
    """The merged rules of some packs, in order, with the stacking groups' order."""

    packs: tuple[str, ...]
    rules: tuple[Rule, ...]
    groups: tuple[str, ...]
    fingerprint: str
    #: the concession payers' waterfall order after insurance (docs/settlement.md)
    payers: tuple[str, ...] = (DEFAULT_PAYER,)
    #: a payer's item-level rules on a line shut out its fee-category rules there
    item_rules_first: bool = False

    @property
    def settles(self) -> bool:
        """Some rule needs the settlement path: another payer, base, scope, benefit shape, or fee
        categories."""
        return any(rule.spec.settles for rule in self.rules)

    def rule(self, rule_id: str) -> Rule:
        """The rule with this id; ``KeyError`` when the set has none."""
        for rule in self.rules:
            if rule.spec.id == rule_id:
                return rule
        raise KeyError(rule_id)

    @classmethod
    def load(cls, references: Iterable[PackReference], registry: Registry) -> PolicySet:
        """Resolve built-in names and paths (with their ``extends``) and merge them."""
        return merge(resolve_layers(references, registry.packs), registry)


def merge(packs: list[LoadedPack], registry: Registry) -> PolicySet:
    """Merge packs in order: a later pack overrides or disables an earlier one's rules."""
    rules: dict[str, Rule] = {}
    groups: list[str] = []
    order: tuple[LoadedPack, tuple[str, ...]] | None = None  #: the latest ``settlement.payers``
    item_rules_first = False  #: the latest ``settlement.item_rules_first``
    for pack in packs:
        spec = pack.spec
        if spec.settlement is not None:
            if spec.settlement.payers is not None:
                order = pack, _declared_order(pack, spec.settlement.payers, registry)
            if "item_rules_first" in spec.settlement.model_fields_set:
                item_rules_first = spec.settlement.item_rules_first
        pack_region = _prefix(spec.region, pack, ("region",))
        for loc_index, rule_id in enumerate(spec.disable):
            if rule_id not in rules:
                raise PolicyError(Text(f"停用的规则 {rule_id!r} 不在下层政策包中",
                                       f"disabled rule {rule_id!r} is not defined by a lower layer"),
                                  record=pack.where(("disable", loc_index)), field=f"disable[{loc_index}]")
            del rules[rule_id]
        defined_here: dict[str, str] = {}
        for index, rule_spec in enumerate(spec.rules):
            loc: Loc = ("rules", index)
            if rule_spec.id in defined_here:
                first = defined_here[rule_spec.id]
                raise _rule_error(pack, loc + ("id",), rule_spec.id,
                                  Text(f"规则编号在本包中重复（另见 {first}）",
                                       f"rule id appears twice in this pack (also {first})"))
            defined_here[rule_spec.id] = pack.where(loc + ("id",))
            if rule_spec.id in rules and not rule_spec.override:
                raise _rule_error(pack, loc + ("id",), rule_spec.id, Text(
                    f"已由 {rules[rule_spec.id].pack} 定义；若要替换请写 override: true",
                    f"already defined by {rules[rule_spec.id].pack}; write override: true to replace it"))
            if rule_spec.override and rule_spec.id not in rules:
                raise _rule_error(pack, loc + ("override",), rule_spec.id,
                                  Text("override: true 但下层没有同名规则",
                                       "override: true, but no lower layer defines this rule"))
            _check_ids(rule_spec, registry, pack, loc)
            region = _prefix(rule_spec.region, pack, loc + ("region",)) if rule_spec.region else pack_region
            if not region.startswith(pack_region):
                raise _rule_error(pack, loc + ("region",), rule_spec.id, Text(
                    f"规则地区 {rule_spec.region} 不在政策包地区 {spec.region} 之内",
                    f"rule region {rule_spec.region} lies outside the pack's region {spec.region}"))
            rules[rule_spec.id] = Rule(rule_spec, spec.pack, pack.where(loc), region)
        for group in spec.groups + tuple(r.group for r in spec.rules):
            if group not in groups:
                groups.append(group)
    merged = tuple(rules.values())
    used = {rule.spec.group for rule in merged}
    ordered_groups = tuple(group for group in groups if group in used)
    default = _default_payers(merged)
    payers = default if order is None else _checked_order(order, merged, packs)
    return PolicySet(tuple(p.spec.pack for p in packs), merged, ordered_groups,
                     _fingerprint(merged, ordered_groups, None if payers == default else payers, item_rules_first),
                     payers, item_rules_first)


def _declared_order(pack: LoadedPack, payers: tuple[str, ...], registry: Registry) -> tuple[str, ...]:
    """A pack's ``settlement.payers``, each a payer of concessions the registry knows."""
    for index, payer in enumerate(payers):
        problem = _payer_problem(payer, registry)
        if problem is not None:
            loc: Loc = ("settlement", "payers", index)
            raise PolicyError(problem, record=pack.where(loc), field=field_path(loc))
    return payers


def _default_payers(rules: tuple[Rule, ...]) -> tuple[str, ...]:
    """The hospital first, then every other payer in the order the merged rules first name it."""
    return tuple(dict.fromkeys((DEFAULT_PAYER, *(rule.spec.payer for rule in rules))))


def _checked_order(order: tuple[LoadedPack, tuple[str, ...]], rules: tuple[Rule, ...],
                   packs: list[LoadedPack]) -> tuple[str, ...]:
    """The latest ``settlement.payers``, which must name every payer a merged rule names."""
    declared, payers = order
    for rule in rules:
        if rule.spec.payer not in payers:
            pack = next(p for p in packs if p.spec.pack == rule.pack)
            index = next(n for n, r in enumerate(pack.spec.rules) if r.id == rule.spec.id)
            raise _rule_error(pack, ("rules", index, "payer"), rule.spec.id, Text(
                f"付款方 {rule.spec.payer!r} 不在 {declared.where(('settlement', 'payers'))} 的 "
                f"settlement.payers（{', '.join(payers)}）之中",
                f"payer {rule.spec.payer!r} is not in settlement.payers ({', '.join(payers)}) "
                f"at {declared.where(('settlement', 'payers'))}"))
    return payers


def _canonical(rule: Rule) -> dict[str, object]:
    """What a rule says, as the fingerprint hashes it. The settlement keys are left out where they
    keep their defaults, so that a pack written before them keeps its fingerprint."""
    exclude = {"override": True, **rule.spec.settlement_defaults()}
    return dict(rule.spec.model_dump(mode="json", by_alias=True, exclude=exclude), region=rule.region)


def _fingerprint(rules: tuple[Rule, ...], groups: tuple[str, ...], payers: tuple[str, ...] | None,
                 item_rules_first: bool) -> str:
    """A hash of what decides outcomes: the rules' content, their regions, the group order, the
    payers' order where a pack sets one other than the default, and ``item_rules_first`` where
    it is true."""
    canonical: dict[str, object] = {
        "schema_version": SCHEMA_VERSION,
        "groups": list(groups),
        "rules": [_canonical(rule) for rule in rules],
    }
    settlement: dict[str, object] = {}
    if payers is not None:
        settlement["payers"] = list(payers)
    if item_rules_first:
        settlement["item_rules_first"] = True
    if settlement:
        canonical["settlement"] = settlement
    text = json.dumps(canonical, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _payer_problem(payer: str, registry: Registry) -> Text | None:
    """Why ``payer`` cannot bear a concession, or ``None``: it must be a payer of the registry
    that is not an insurance fund (a fund's part comes from the HIS)."""
    if payer not in registry.payers:
        return registry.payers.unknown(payer).message
    if registry.payers.get(payer).kind == "fund":
        return Text(f"{payer!r} 是医保基金：其支付额来自医保结算，不由规则决定",
                    f"{payer!r} is an insurance fund: what it pays comes from the 医保 settlement, "
                    "not from a rule")
    return None


def _prefix(code: str, pack: LoadedPack, loc: Loc) -> str:
    try:
        return region_prefix(code)
    except ValueError as error:
        raise PolicyError(Text(f"地区代码无效：{error}", f"invalid region: {error}"),
                          record=pack.where(loc), field=field_path(loc)) from None


def _rule_error(pack: LoadedPack, loc: Loc, rule_id: str, message: Text) -> PolicyError:
    return PolicyError(Text(f"规则 {rule_id}：{message.zh}", f"rule {rule_id}: {message.en}"),
                       record=pack.where(loc), field=field_path(loc))


def _check_known(values: Iterable[str], vocabulary: Vocabulary, pack: LoadedPack, loc: Loc,
                 rule_id: str) -> None:
    for value in values:
        if value not in vocabulary:
            error = vocabulary.unknown(value)
            raise _rule_error(pack, loc, rule_id, error.message)


def _check_ids(rule: RuleSpec, registry: Registry, pack: LoadedPack, loc: Loc) -> None:
    _check_known(rule.items, registry.items, pack, loc + ("items",), rule.id)
    _check_known(rule.fee_categories, registry.fee_categories, pack, loc + ("fee_categories",), rule.id)
    problem = _payer_problem(rule.payer, registry)
    if problem is not None:
        raise _rule_error(pack, loc + ("payer",), rule.id, problem)
    _check_known(rule.priorities, registry.priorities, pack, loc + ("priorities",), rule.id)
    _check_known(rule.services, registry.services, pack, loc + ("services",), rule.id)
    if rule.benefit is not None and rule.benefit.waive_deposit:
        fees = [item for item in rule.items if not registry.items.get(item).deposit]
        if fees:
            raise _rule_error(pack, loc + ("benefit",), rule.id, Text(
                f"waive_deposit 只适用于保证金类项目，{', '.join(fees)} 不是",
                f"waive_deposit applies to deposit items only; {', '.join(fees)} is not one"))
        if rule.fee_categories:
            raise _rule_error(pack, loc + ("benefit",), rule.id, Text(
                "waive_deposit 只适用于保证金类项目，医疗收费项目类别（fee_categories）是收费，不是保证金",
                "waive_deposit applies to deposit items only; fee categories (fee_categories) are charges, "
                "not deposits"))
    if rule.when is not None:
        _check_when(rule.when, registry, pack, loc + ("when",), rule.id)


def _check_when(when: When, registry: Registry, pack: LoadedPack, loc: Loc, rule_id: str) -> None:
    _check_known(when.category or (), registry.categories, pack, loc + ("category",), rule_id)
    _check_known(when.credential or (), registry.credentials, pack, loc + ("credential",), rule_id)
    _check_known(when.visit_kind or (), registry.visit_kinds, pack, loc + ("visit_kind",), rule_id)
    _check_known(when.disability_cause or (), registry.disability_causes, pack,
                 loc + ("disability_cause",), rule_id)
    for code in when.region or ():
        try:
            region_prefix(code)
        except ValueError as error:
            raise _rule_error(pack, loc + ("region",), rule_id, Text(f"地区代码无效：{error}",
                                                                      f"invalid region: {error}")) from None
    for name in when.custom or {}:
        if name not in registry.predicates:
            known = ", ".join(sorted(registry.predicates)) or "—"
            raise _rule_error(pack, loc + ("custom", name), rule_id, Text(
                f"未知的自定义条件 {name!r}（已注册：{known}；由插件提供）",
                f"unknown custom condition {name!r} (registered: {known}; plugins provide them)"))
    for key, children in (("all", when.all), ("any", when.any)):
        for index, child in enumerate(children or ()):
            _check_when(child, registry, pack, loc + (key, index), rule_id)
    if when.not_ is not None:
        _check_when(when.not_, registry, pack, loc + ("not",), rule_id)
