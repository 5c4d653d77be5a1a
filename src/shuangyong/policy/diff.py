"""Compare two merged rule sets rule by rule: what a policy officer reviews before adopting one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from shuangyong.policy.layers import PolicySet, Rule
    from shuangyong.text import Lang

_VERBS = {"added": ("新增", "added"), "removed": ("删除", "removed"), "changed": ("修改", "changed")}


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


def diff_policies(old: PolicySet, new: PolicySet) -> list[RuleChange]:
    """Changes from ``old`` to ``new``, in the order rules appear (old first, then new ones)."""
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
