"""Which of a pack's item kinds a charge line reaches only by naming them (docs/fee-categories.md).

A line's item kind is its ``item``, else what a charge-code table maps its ``code`` to, else what
its national fee category maps to. A HIS that sends codes and fee categories but no item kinds
never reaches a rule on a kind that neither maps to, and nothing would say so: ``policy check``
warns about those kinds. A rule that also names fee categories (``fee_categories``) is reached
through the line's fee category, and is no cause for a warning.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shuangyong.text import Text

if TYPE_CHECKING:
    from shuangyong.model.charge_codes import ChargeCodeMap
    from shuangyong.model.registry import Registry
    from shuangyong.policy.layers import PolicySet


def unreached_items(policy: PolicySet, registry: Registry,
                    codes: ChargeCodeMap | None = None) -> dict[str, tuple[str, ...]]:
    """The item kinds the rules name that no fee category and no code of ``codes`` maps to, each
    with the ids of the rules naming it, in the registry's order of item kinds; rules naming fee
    categories are left out (a line's fee category reaches them)."""
    reached = {term.item for term in registry.fee_categories if term.item is not None}
    if codes is not None:
        reached |= codes.item_kinds()
    naming: dict[str, list[str]] = {}
    for rule in policy.rules:
        if rule.spec.fee_categories:
            continue
        for item in rule.spec.items:
            if item not in reached:
                naming.setdefault(item, []).append(rule.spec.id)
    return {item: tuple(naming[item]) for item in registry.items.order(naming)}


def unreached_warnings(policy: PolicySet, registry: Registry, codes: ChargeCodeMap | None = None) -> list[Text]:
    """One sentence per item kind of :func:`unreached_items`, saying what a HIS must send."""
    warnings = []
    for item, rules in unreached_items(policy, registry, codes).items():
        label = registry.items.get(item).label
        named = ", ".join(rules)
        table = (Text("收费编码映射表中也没有编码对应它", "no code of the charge-code table maps to it")
                 if codes is not None
                 else Text("也没有给出收费编码映射表（--codes）", "no charge-code table (--codes) was given"))
        applies = f"rule {named} applies" if len(rules) == 1 else f"rules {named} apply"
        warnings.append(Text(
            f"没有医疗收费项目类别对应项目类别 {item}（{label.zh}），{table.zh}：规则 {named} 只对写明"
            f" \"item\": \"{item}\" 的明细生效",
            f"no fee category maps to item kind {item} ({label.en}), and {table.en}: {applies} only to"
            f" lines that send \"item\": \"{item}\""))
    return warnings
