"""Conditions compiled from a rule's ``when``: small frozen callables with a readable repr.

Each predicate answers fast (``pred(ctx, line) -> bool``) for the evaluation path, and says why
(``pred.explain(ctx, line, registry) -> (bool, Text)``) for the tracing path. ``LINE_LEVEL``
marks predicates that look at the charge line; all others are decided once per visit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import attrs

from shuangyong.engine.context import VisitContext, category_token, credential_token
from shuangyong.policy.regions import region_prefix
from shuangyong.text import Text

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from shuangyong.model.registry import Registry
    from shuangyong.model.visit import ChargeLine
    from shuangyong.model.vocabulary import Vocabulary
    from shuangyong.policy.schema import When


class Predicate(Protocol):
    """A compiled condition: ``pred(ctx, line)`` answers, ``pred.explain(ctx, line, registry)`` says why."""

    @property
    def LINE_LEVEL(self) -> bool:
        """Whether it looks at the charge line: a class constant on a leaf (``TagsAny`` and plugins'
        conditions), computed from the parts on ``AllOf``, ``AnyOf`` and ``NotOf``."""

    def __call__(self, ctx: VisitContext, line: ChargeLine | None) -> bool: ...

    def explain(self, ctx: VisitContext, line: ChargeLine | None,
                registry: Registry) -> tuple[bool, Text]: ...


LABELS_CACHE_SIZE = 4096
#: (vocabulary's id, ids) → (the vocabulary, kept so that its id is not reused; the labels)
_LABELLED: dict[tuple[int, tuple[str, ...]], tuple[Vocabulary, Text]] = {}


def _labels(vocabulary: Vocabulary, ids: Iterable[str]) -> Text:
    """The labels of some ids, joined, as explanations quote them (remembered: ``explain`` quotes
    the same few sets of categories and credentials for every visit)."""
    key = (id(vocabulary), tuple(ids))
    known = _LABELLED.get(key)
    if known is not None:
        return known[1]
    terms = [vocabulary.get(i) for i in key[1]]
    text = Text("、".join(t.label.zh for t in terms) or "无", ", ".join(t.id for t in terms) or "none")
    if len(_LABELLED) >= LABELS_CACHE_SIZE:
        _LABELLED.clear()
    _LABELLED[key] = (vocabulary, text)
    return text


@attrs.frozen(slots=True, repr=False)
class CategoryIn:
    """The patient is in one of some beneficiary categories (or a category below one)."""

    ids: frozenset[str]
    LINE_LEVEL: ClassVar[bool] = False

    def __call__(self, ctx: VisitContext, line: ChargeLine | None) -> bool:
        return not self.ids.isdisjoint(ctx.categories)

    def explain(self, ctx: VisitContext, line: ChargeLine | None,
                registry: Registry) -> tuple[bool, Text]:
        want = _labels(registry.categories, sorted(self.ids))
        have = _labels(registry.categories, registry.categories.order(ctx.visit.patient.categories))
        if self(ctx, line):
            return True, Text(f"患者类别（{have.zh}）属于 {want.zh}", f"patient category ({have.en}) is {want.en}")
        return False, Text(f"患者类别（{have.zh}）不属于 {want.zh}", f"patient category ({have.en}) is not {want.en}")

    def __repr__(self) -> str:
        return f"<category in {sorted(self.ids)}>"


@attrs.frozen(slots=True, repr=False)
class CredentialValid:
    """The patient holds a credential of one of some kinds, valid on the visit date."""

    kinds: frozenset[str]
    LINE_LEVEL: ClassVar[bool] = False

    def __call__(self, ctx: VisitContext, line: ChargeLine | None) -> bool:
        return not self.kinds.isdisjoint(ctx.valid_credentials)

    def explain(self, ctx: VisitContext, line: ChargeLine | None,
                registry: Registry) -> tuple[bool, Text]:
        want = _labels(registry.credentials, sorted(self.kinds))
        held = [c for c in ctx.visit.patient.credentials if c.kind in self.kinds]
        day = ctx.date
        for credential in held:
            if credential.valid_on(day):
                return True, Text(f"持有 {day} 有效的{want.zh}（{credential.number}）",
                                  f"holds a {want.en} valid on {day} ({credential.number})")
        if not held:
            return False, Text(f"未持有{want.zh}", f"holds no {want.en}")
        span = str(held[0].validity)
        return False, Text(f"{want.zh}（{held[0].number}）在 {day} 不在有效期内（{span}）",
                           f"{want.en} ({held[0].number}) is not valid on {day} (valid {span})")

    def __repr__(self) -> str:
        return f"<credential valid in {sorted(self.kinds)}>"


@attrs.frozen(slots=True, repr=False)
class RegionIn:
    """The visit's region lies under one of some GB/T 2260 prefixes."""

    prefixes: tuple[str, ...]
    LINE_LEVEL: ClassVar[bool] = False

    def __call__(self, ctx: VisitContext, line: ChargeLine | None) -> bool:
        return ctx.visit.region.startswith(self.prefixes)

    def explain(self, ctx: VisitContext, line: ChargeLine | None,
                registry: Registry) -> tuple[bool, Text]:
        want = ", ".join(p.ljust(6, "0") for p in self.prefixes)
        verb = ("属于", "lies in") if self(ctx, line) else ("不属于", "lies outside")
        return self(ctx, line), Text(f"就诊地区 {ctx.visit.region} {verb[0]} {want}",
                                     f"visit region {ctx.visit.region} {verb[1]} {want}")

    def __repr__(self) -> str:
        return f"<region in {list(self.prefixes)}>"


@attrs.frozen(slots=True)
class Fact:
    """Something about the visit a predicate can read, and how to name it in an explanation."""

    read: Callable[[VisitContext], object]
    name: Text
    missing: Text
    vocabulary: str = ""  #: the Registry attribute labelling its ids, for id facts
    unit: str = ""  #: the Chinese measure word after a number ("级", "岁")


FACTS = {
    "visit_kind": Fact(lambda ctx: ctx.visit.kind, Text("就诊类型", "visit kind"),
                       Text("无就诊类型", "no visit kind"), vocabulary="visit_kinds"),
    "disability_cause": Fact(lambda ctx: ctx.visit.patient.disability_cause, Text("致残原因", "disability cause"),
                             Text("患者无致残原因", "patient has no disability cause"),
                             vocabulary="disability_causes"),
    "disability_level": Fact(lambda ctx: ctx.visit.patient.disability_level, Text("伤残等级", "disability level"),
                             Text("患者无伤残等级", "patient has no disability level"), unit="级"),
    "age": Fact(lambda ctx: ctx.age, Text("就诊日年龄", "age on the visit date"),
                Text("未提供出生日期，无法判断年龄", "no birth date given, so age is unknown"), unit="岁"),
}


@attrs.frozen(slots=True, repr=False)
class IdIn:
    """The visit's kind, or the patient's disability cause, is one of some ids."""

    fact: str
    ids: frozenset[str]
    LINE_LEVEL: ClassVar[bool] = False

    def __call__(self, ctx: VisitContext, line: ChargeLine | None) -> bool:
        return FACTS[self.fact].read(ctx) in self.ids

    def explain(self, ctx: VisitContext, line: ChargeLine | None,
                registry: Registry) -> tuple[bool, Text]:
        fact = FACTS[self.fact]
        vocabulary: Vocabulary = getattr(registry, fact.vocabulary)
        value = fact.read(ctx)
        if value is None:
            return False, fact.missing
        want = _labels(vocabulary, vocabulary.order(self.ids))
        have = vocabulary.get(str(value)).label
        verb = ("属于", "is") if self(ctx, line) else ("不属于", "is not")
        return self(ctx, line), Text(f"{fact.name.zh}{have.zh}{verb[0]}{want.zh}",
                                     f"{fact.name.en} {value} {verb[1]} {want.en}")

    def __repr__(self) -> str:
        return f"<{self.fact} in {sorted(self.ids)}>"


@attrs.frozen(slots=True, repr=False)
class NumberIn:
    """The disability level, or the age on the visit date, lies within inclusive bounds."""

    fact: str
    low: int | None
    high: int | None
    LINE_LEVEL: ClassVar[bool] = False

    def __call__(self, ctx: VisitContext, line: ChargeLine | None) -> bool:
        value = FACTS[self.fact].read(ctx)
        return (isinstance(value, int) and (self.low is None or value >= self.low)
                and (self.high is None or value <= self.high))

    def explain(self, ctx: VisitContext, line: ChargeLine | None,
                registry: Registry) -> tuple[bool, Text]:
        fact = FACTS[self.fact]
        value = fact.read(ctx)
        if value is None:
            return False, fact.missing
        span = f"{'' if self.low is None else self.low}–{'' if self.high is None else self.high}"
        verb = ("在", "is within") if self(ctx, line) else ("不在", "is outside")
        return self(ctx, line), Text(f"{fact.name.zh} {value} {fact.unit}{verb[0]} {span} {fact.unit}之内",
                                     f"{fact.name.en} {value} {verb[1]} {span}")

    def __repr__(self) -> str:
        return f"<{self.fact} {self.low}..{self.high}>"


@attrs.frozen(slots=True, repr=False)
class TagsAny:
    """The charge line carries one of some tags (the only line-level leaf)."""

    tags: frozenset[str]
    LINE_LEVEL: ClassVar[bool] = True

    def __call__(self, ctx: VisitContext, line: ChargeLine | None) -> bool:
        return line is not None and not self.tags.isdisjoint(line.tags)

    def explain(self, ctx: VisitContext, line: ChargeLine | None,
                registry: Registry) -> tuple[bool, Text]:
        have = ", ".join(sorted(line.tags)) if line is not None and line.tags else "—"
        want = ", ".join(sorted(self.tags))
        verb = ("含有", "carries") if self(ctx, line) else ("不含", "lacks")
        return self(ctx, line), Text(f"收费明细标签（{have}）{verb[0]} {want}",
                                     f"line tags ({have}) {verb[1]} {want}")

    def __repr__(self) -> str:
        return f"<tags any {sorted(self.tags)}>"


@attrs.frozen(slots=True, repr=False)
class AllOf:
    """Every part holds; the explanation gives the first that does not."""

    parts: tuple[Predicate, ...]

    @property
    def LINE_LEVEL(self) -> bool:
        return any(part.LINE_LEVEL for part in self.parts)

    def __call__(self, ctx: VisitContext, line: ChargeLine | None) -> bool:
        return all(part(ctx, line) for part in self.parts)

    def explain(self, ctx: VisitContext, line: ChargeLine | None,
                registry: Registry) -> tuple[bool, Text]:
        reasons = []
        for part in self.parts:
            holds, reason = part.explain(ctx, line, registry)
            if not holds:
                return False, reason
            reasons.append(reason)
        return True, Text("；".join(r.zh for r in reasons), "; ".join(r.en for r in reasons))

    def __repr__(self) -> str:
        return "<all " + " ".join(map(repr, self.parts)) + ">"


@attrs.frozen(slots=True, repr=False)
class AnyOf:
    """Some part holds; the explanation gives the first that does."""

    parts: tuple[Predicate, ...]

    @property
    def LINE_LEVEL(self) -> bool:
        return any(part.LINE_LEVEL for part in self.parts)

    def __call__(self, ctx: VisitContext, line: ChargeLine | None) -> bool:
        return any(part(ctx, line) for part in self.parts)

    def explain(self, ctx: VisitContext, line: ChargeLine | None,
                registry: Registry) -> tuple[bool, Text]:
        reasons = []
        for part in self.parts:
            holds, reason = part.explain(ctx, line, registry)
            if holds:
                return True, reason
            reasons.append(reason)
        return False, Text("；".join(r.zh for r in reasons), "; ".join(r.en for r in reasons))

    def __repr__(self) -> str:
        return "<any " + " ".join(map(repr, self.parts)) + ">"


@attrs.frozen(slots=True, repr=False)
class NotOf:
    """The part does not hold."""

    part: Predicate

    @property
    def LINE_LEVEL(self) -> bool:
        return self.part.LINE_LEVEL

    def __call__(self, ctx: VisitContext, line: ChargeLine | None) -> bool:
        return not self.part(ctx, line)

    def explain(self, ctx: VisitContext, line: ChargeLine | None,
                registry: Registry) -> tuple[bool, Text]:
        holds, reason = self.part.explain(ctx, line, registry)
        return not holds, Text(f"（取反）{reason.zh}", f"(negated) {reason.en}")

    def __repr__(self) -> str:
        return f"<not {self.part!r}>"


def compile_when(when: When, custom: Mapping[str, Callable[[Any], Predicate]] | None = None) -> Predicate:
    """Build the predicate for one ``when`` mapping; several keys are joined with *all*.

    ``custom`` holds the conditions plugins registered (``Registry.predicates``).
    """
    parts: list[Predicate] = []
    if when.category:
        parts.append(CategoryIn(frozenset(when.category)))
    if when.credential:
        parts.append(CredentialValid(frozenset(when.credential)))
    if when.visit_kind:
        parts.append(IdIn("visit_kind", frozenset(when.visit_kind)))
    if when.region:
        parts.append(RegionIn(tuple(region_prefix(code) for code in when.region)))
    if when.disability_level:
        parts.append(NumberIn("disability_level", when.disability_level.min, when.disability_level.max))
    if when.disability_cause:
        parts.append(IdIn("disability_cause", frozenset(when.disability_cause)))
    if when.age:
        parts.append(NumberIn("age", when.age.min, when.age.max))
    if when.tags:
        parts.append(TagsAny(frozenset(when.tags)))
    if when.all:
        parts.extend(compile_when(child, custom) for child in when.all)
    if when.any:
        parts.append(AnyOf(tuple(compile_when(child, custom) for child in when.any)))
    if when.not_ is not None:
        parts.append(NotOf(compile_when(when.not_, custom)))
    for name, argument in (when.custom or {}).items():
        parts.append((custom or {})[name](argument))  # names were checked when the packs were merged
    return parts[0] if len(parts) == 1 else AllOf(tuple(parts))


def conjuncts(predicate: Predicate) -> tuple[Predicate, ...]:
    """The parts that must all hold (a flattened top-level *all*)."""
    if isinstance(predicate, AllOf):
        return tuple(p for part in predicate.parts for p in conjuncts(part))
    return (predicate,)


def index_tokens(predicate: Predicate) -> frozenset[str] | None:
    """Keys under which a rule is filed: one of them must be among the visit's tokens.

    The narrowest required category or credential test is chosen; ``None`` when the rule needs
    neither (it is then looked at for every visit).
    """
    options = []
    for part in conjuncts(predicate):
        if isinstance(part, CategoryIn):
            options.append(frozenset(map(category_token, part.ids)))
        elif isinstance(part, CredentialValid):
            options.append(frozenset(map(credential_token, part.kinds)))
    return min(options, key=len) if options else None


def visit_facts(predicate: Predicate) -> frozenset[str] | None:
    """What of the visit a built-in predicate reads (``"categories"``, ``"credentials"``,
    ``"region"``, or a ``FACTS`` key; the line's tags are not the visit's), or ``None`` when
    it holds a plugin's condition, which may read anything."""
    if isinstance(predicate, CategoryIn):
        return frozenset({"categories"})
    if isinstance(predicate, CredentialValid):
        return frozenset({"credentials"})
    if isinstance(predicate, RegionIn):
        return frozenset({"region"})
    if isinstance(predicate, IdIn | NumberIn):
        return frozenset({predicate.fact})
    if isinstance(predicate, TagsAny):
        return frozenset()
    parts = (predicate.part,) if isinstance(predicate, NotOf) else (
        predicate.parts if isinstance(predicate, AllOf | AnyOf) else None)
    if parts is None:
        return None
    found: frozenset[str] = frozenset()
    for part in parts:
        facts = visit_facts(part)
        if facts is None:
            return None
        found |= facts
    return found
