"""Compare two merged rule sets: what a policy officer reviews before adopting one.

Rule by rule, by id; and the settings of the set as a whole that change decisions without
changing any rule: the stacking groups' order, and settlement's payer order and
``item_rules_first`` (docs/settlement.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from shuangyong.policy.layers import PolicySet, Rule
    from shuangyong.text import Lang

_VERBS = {"added": ("新增", "added"), "removed": ("删除", "removed"), "changed": ("修改", "changed")}
#: the set-wide settings compared, with their names in both languages
_SETTINGS = {"groups": ("叠加组顺序", "stacking groups' order"),
             "settlement.payers": ("结算付款方顺序", "settlement payers' order"),
             "settlement.item_rules_first": ("项目规则优先", "item rules first")}


def _content(rule: Rule) -> dict[str, Any]:
    data = rule.spec.model_dump(mode="json", by_alias=True, exclude={"override"}, exclude_none=True)
    data["region"] = rule.region or "*"
    return data


@attrs.frozen(slots=True)
class RuleChange:
    """A rule added, removed, or changed in some fields (old and new values given)."""

    kind: str
    rule: str
    fields: tuple[str, ...] = ()
    old: dict[str, Any] | None = None
    new: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        """The change as JSON."""
        return {"change": self.kind, "rule": self.rule, "fields": list(self.fields),
                "old": self.old, "new": self.new}

    def describe(self, lang: Lang) -> str:
        """The change as a line of text in ``lang``."""
        verb = _VERBS[self.kind][0 if lang == "zh" else 1]
        if self.kind != "changed":
            return f"{verb} {self.rule}"
        assert self.old is not None and self.new is not None
        details = "; ".join(f"{f}: {self.old.get(f)!r} → {self.new.get(f)!r}" for f in self.fields)
        return f"{verb} {self.rule}: {details}"


@attrs.frozen(slots=True)
class SettingChange:
    """A setting of the whole set changed (``setting``: a key of ``_SETTINGS``)."""

    setting: str
    old: Any
    new: Any

    def as_dict(self) -> dict[str, Any]:
        """The change as JSON."""
        return {"change": "changed", "setting": self.setting, "old": self.old, "new": self.new}

    def describe(self, lang: Lang) -> str:
        """The change as a line of text in ``lang``."""
        zh, en = _SETTINGS[self.setting]
        verb, name = (_VERBS["changed"][0], zh) if lang == "zh" else (_VERBS["changed"][1], en)
        return f"{verb} {name} ({self.setting}): {self.old!r} → {self.new!r}"


def _settings(policy: PolicySet) -> dict[str, Any]:
    return {"groups": list(policy.groups), "settlement.payers": list(policy.payers),
            "settlement.item_rules_first": policy.item_rules_first}


def diff_policies(old: PolicySet, new: PolicySet) -> list[SettingChange | RuleChange]:
    """Changes from ``old`` to ``new``: the set-wide settings first, then the rules in the order
    they appear (old first, then new ones)."""
    before_settings, after_settings = _settings(old), _settings(new)
    settings: list[SettingChange | RuleChange] = [
        SettingChange(name, before_settings[name], after_settings[name])
        for name in _SETTINGS if before_settings[name] != after_settings[name]]
    return settings + _rule_changes(old, new)


def _rule_changes(old: PolicySet, new: PolicySet) -> list[RuleChange]:
    before = {rule.spec.id: _content(rule) for rule in old.rules}
    after = {rule.spec.id: _content(rule) for rule in new.rules}
    changes = []
    for rule_id, content in before.items():
        if rule_id not in after:
            changes.append(RuleChange("removed", rule_id, old=content))
        elif after[rule_id] != content:
            fields = tuple(k for k in content if content[k] != after[rule_id].get(k))
            changes.append(RuleChange("changed", rule_id, fields,
                                      {k: content[k] for k in fields}, {k: after[rule_id][k] for k in fields}))
    changes.extend(RuleChange("added", rule_id, new=content)
                   for rule_id, content in after.items() if rule_id not in before)
    return changes
