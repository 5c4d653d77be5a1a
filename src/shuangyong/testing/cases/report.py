"""What running a case gave, and the failure as a reader wants it: each mismatch, then why."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from shuangyong.render import OUTCOMES
from shuangyong.testing.cases.compare import Mismatch, rules_applied
from shuangyong.text import Lang, Text

if TYPE_CHECKING:
    from shuangyong.engine import Engine, Explanation, RuleTrace
    from shuangyong.errors import ShuangyongError
    from shuangyong.model import Visit
    from shuangyong.testing.cases.schema import Case


@attrs.frozen(slots=True)
class Outcome:
    """What running one case gave: the mismatches (none means passed) and the engine's answers."""

    case: Case
    mismatches: tuple[Mismatch, ...]
    visit: Visit | None = None
    explanation: Explanation | None = None
    error: ShuangyongError | None = None  #: an error the case did not expect
    engine: Engine | None = None

    @property
    def passed(self) -> bool:
        """Whether every expectation held and no unexpected error came."""
        return not self.mismatches and self.error is None

    @property
    def applied(self) -> frozenset[str]:
        """Rules that reduced a line or granted something (what the coverage check counts)."""
        if self.explanation is None:
            return frozenset()
        return rules_applied(self.explanation.decision)

    def report(self, lang: Lang) -> str:
        """The failure as a reader wants it: each mismatch, then why, from ``explain``."""
        zh = lang == "zh"
        head = f"{'失败' if zh else 'FAIL'} {self.case.where}  {self.case.name}"
        if self.error is not None:
            return f"{head}\n  {self.error.render(lang)}"
        out = [head]
        by_subject: dict[str, list[Mismatch]] = {}
        for mismatch in self.mismatches:
            by_subject.setdefault(mismatch.subject, []).append(mismatch)
        for subject, mismatches in by_subject.items():
            out.append("  " + self._subject(subject, lang))
            width = max(len(m.key) for m in mismatches)
            for m in mismatches:
                out.append(f"    {m.key.ljust(width)}  {'期望' if zh else 'expected'} {m.expected}  "
                           f"{'实际' if zh else 'got'} {m.got}")
            out += self._why(subject, lang)
        return "\n".join(out)

    def _subject(self, subject: str, lang: Lang) -> str:
        if subject in _VISIT_SUBJECTS or self.explanation is None:
            return _VISIT_SUBJECTS.get(subject, Text(subject, subject)).in_(lang)
        line = next((d for d in self.explanation.decision.lines if d.line_id == subject), None)
        detail = f" ({line.item} {line.amount})" if line is not None else ""
        return (f"第 {subject} 行" if lang == "zh" else f"line {subject}") + detail

    def _why(self, subject: str, lang: Lang) -> list[str]:
        """The explanation of what the mismatch is about: a line's rules, or the visit-level
        rules granting the priorities or services that differ, or the rules that differ."""
        if self.explanation is None or self.engine is None or subject in ("totals", "error"):
            return []
        differing = {name for m in self.mismatches if m.subject == subject for name in m.differing}
        traces: list[tuple[str, RuleTrace]]
        if subject in ("priorities", "services"):
            traces = [("", t) for t in self.explanation.visit
                      if differing & set(getattr(self.engine.policy.rule(t.rule).spec, subject))]
        elif subject == "rules":
            traces = [(line.line_id, t) for line in self.explanation.lines for t in line.considered
                      if t.rule in differing] + [("", t) for t in self.explanation.visit if t.rule in differing]
        else:
            traces = [("", t) for line in self.explanation.lines if line.line_id == subject for t in line.considered]
        label = "原因（explain）" if lang == "zh" else "why (explain)"
        if not traces:
            return [f"    {label}: " + ("没有规则涉及" if lang == "zh" else "no rule concerns it")]
        width = max(len(t.rule) for _, t in traces)
        on_line = "第 {} 行 " if lang == "zh" else "line {} "
        return [f"    {label}:"] + [
            f"      {on_line.format(line_id) if line_id else ''}{t.rule.ljust(width)}  "
            f"{OUTCOMES[t.outcome].in_(lang)}: {t.reason.in_(lang)}" for line_id, t in traces]


_VISIT_SUBJECTS = {"totals": Text("合计", "totals"), "priorities": Text("优先项", "priorities"),
                   "services": Text("服务", "services"), "rules": Text("适用的规则", "rules applied"),
                   "error": Text("错误", "error")}
