"""Standards packs: the 双拥 creation standards as YAML, layered like policy packs.

A pack lists headline standards (the six of seed 002) and standards under them; each standard
has a check (a registered kind and its options). Layers use the policy loader (``extends``,
lines in errors); a later pack replaces a standard only with ``override: true`` and removes one
with ``disable: [id]``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import attrs
from pydantic import BeforeValidator, Field, ValidationError, field_validator

from shuangyong.compliance.checks.kinds import BUILTIN_CHECK_KINDS
from shuangyong.compliance.records import UNIT_KINDS
from shuangyong.errors import PolicyError, field_path
from shuangyong.policy.loader import LoadedPack, PackKind, PackReference, resolve_layers, validation_message
from shuangyong.policy.schema import Flag, Id, LocalText, StrictModel, Whole, plain_decimal
from shuangyong.text import Text

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from pathlib import Path

    from shuangyong.compliance.checks.base import CheckKind, Options

SCHEMA_VERSION = 1


class HeadlineSpec(StrictModel):
    """A headline standard as a pack writes it."""

    id: Id
    title: LocalText
    clause: str = Field(min_length=1)
    source: str = Field(min_length=1)


class StandardSpec(StrictModel):
    """A checked standard as a pack writes it: the check kind and its options."""

    id: Id
    title: LocalText
    headline: str
    weight: Annotated[Decimal, BeforeValidator(plain_decimal)] = Decimal(1)
    clause: str = Field(min_length=1)
    source: str = Field(min_length=1)
    applies_to: tuple[str, ...] = ()
    override: Flag = False
    check: dict[str, Any]

    @field_validator("weight")
    @classmethod
    def _positive(cls, value: Decimal) -> Decimal:
        if not value > 0:
            raise ValueError(f"weight must be positive, got {value}")
        return value

    @field_validator("applies_to")
    @classmethod
    def _known_unit_kinds(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for kind in value:
            if kind not in UNIT_KINDS:
                raise ValueError(f"unknown unit kind {kind!r} (known: {', '.join(UNIT_KINDS)})")
        return value


class StandardsPackSpec(StrictModel):
    """A standards pack file."""

    schema_version: Whole = SCHEMA_VERSION
    pack: Id
    title: LocalText
    extends: tuple[str, ...] = ()
    disable: tuple[str, ...] = ()
    headlines: tuple[HeadlineSpec, ...] = ()
    standards: tuple[StandardSpec, ...] = ()


STANDARDS = PackKind(StandardsPackSpec, "shuangyong.compliance", Text("标准包", "standards pack"), "standards")


@attrs.frozen(slots=True)
class Headline:
    """A headline of the merged set, under which standards are grouped and scored."""

    id: str
    title: Text
    clause: str
    source: str


@attrs.frozen(slots=True)
class Standard:
    """One checked standard of the merged set; ``where`` is the file:line that defined it."""

    id: str
    title: Text
    headline: str
    weight: Decimal
    clause: str
    source: str
    applies_to: frozenset[str]
    kind: CheckKind = attrs.field(eq=False)
    options: Options
    pack: str
    where: str

    def applies(self, unit_kind: str) -> bool:
        """Whether the standard concerns a unit of this kind (all kinds when ``applies_to`` is empty)."""
        return not self.applies_to or unit_kind in self.applies_to


@attrs.frozen(slots=True)
class StandardsSet:
    """The creation standards of a layered set of standards packs, grouped under their headlines."""

    packs: tuple[str, ...]
    headlines: tuple[Headline, ...]
    standards: tuple[Standard, ...]

    @classmethod
    def load(cls, references: Iterable[PackReference], *, named: Mapping[str, Path] | None = None,
             kinds: Iterable[CheckKind] = BUILTIN_CHECK_KINDS) -> StandardsSet:
        """Resolve built-in names (``seed-standards``), plugins' names and paths, and merge them."""
        return merge_standards(resolve_layers(references, named, STANDARDS), {kind.name: kind for kind in kinds})


def merge_standards(packs: list[LoadedPack], kinds: Mapping[str, CheckKind]) -> StandardsSet:
    """Merge packs in order: a later pack overrides or disables an earlier one's standards."""
    headlines: dict[str, Headline] = {}
    standards: dict[str, Standard] = {}
    for pack in packs:
        spec: StandardsPackSpec = pack.spec
        if spec.schema_version != SCHEMA_VERSION:
            raise PolicyError(Text(f"不支持的 schema_version {spec.schema_version}",
                                   f"unsupported schema_version {spec.schema_version}"),
                              record=pack.where(("schema_version",)), field="schema_version")
        for index, target in enumerate(spec.disable):
            if standards.pop(target, None) is None:
                raise PolicyError(Text(f"disable 的标准 {target!r} 在下层包中不存在",
                                       f"disable names {target!r}, which no lower pack defines"),
                                  record=pack.where(("disable", index)), field=f"disable[{index}]")
        _once(spec.headlines, "headlines", pack, Text("总体标准", "headline"))
        _once(spec.standards, "standards", pack, Text("标准", "standard"))
        for headline in spec.headlines:
            headlines[headline.id] = Headline(headline.id, Text(headline.title.zh, headline.title.en),
                                              headline.clause, headline.source)
        for index, item in enumerate(spec.standards):
            loc = ("standards", index)
            if item.id in standards and not item.override:
                earlier = standards[item.id].pack
                raise PolicyError(Text(f"标准 {item.id!r} 已在 {earlier} 中定义；替换须写 override: true",
                                       f"standard {item.id!r} is already defined in {earlier}; "
                                       "write override: true to replace it"),
                                  record=pack.where(loc + ("id",)), field=field_path(loc + ("id",)))
            if item.headline not in headlines:
                raise PolicyError(Text(f"标准 {item.id}：未知的总体标准 {item.headline!r}",
                                       f"standard {item.id}: unknown headline {item.headline!r}"),
                                  record=pack.where(loc + ("headline",)), field=field_path(loc + ("headline",)))
            kind, options = _check(item, kinds, pack, loc)
            standards[item.id] = Standard(item.id, Text(item.title.zh, item.title.en), item.headline, item.weight,
                                          item.clause, item.source, frozenset(item.applies_to), kind, options,
                                          spec.pack, pack.where(loc))
    return StandardsSet(tuple(p.spec.pack for p in packs), tuple(headlines.values()), tuple(standards.values()))


def _once(entries: Sequence[HeadlineSpec | StandardSpec], key: str, pack: LoadedPack,
          noun: Text) -> None:
    """Refuse an id defined twice in one pack: the second would silently replace the first."""
    first: dict[str, int] = {}
    for index, entry in enumerate(entries):
        if entry.id in first:
            earlier = pack.where((key, first[entry.id], "id"))
            raise PolicyError(Text(f"{noun.zh}编号 {entry.id!r} 在本包中重复（另见 {earlier}）",
                                   f"{noun.en} id {entry.id!r} appears twice in this pack (also {earlier})"),
                              record=pack.where((key, index, "id")), field=field_path((key, index, "id")))
        first[entry.id] = index


def _check(item: StandardSpec, kinds: Mapping[str, CheckKind], pack: LoadedPack,
           loc: tuple[str | int, ...]) -> tuple[CheckKind, Options]:
    """The standard's check kind and its validated options; errors at the line of the bad key."""
    name = item.check.get("kind")
    kind = kinds.get(name) if isinstance(name, str) else None
    if kind is None:
        raise PolicyError(Text(f"标准 {item.id}：未知的检查类型 {name!r}（可用：{', '.join(sorted(kinds))}）",
                               f"standard {item.id}: unknown check kind {name!r} (known: {', '.join(sorted(kinds))})"),
                          record=pack.where(loc + ("check", "kind")), field=field_path(loc + ("check", "kind")))
    try:
        options = kind.options.model_validate({k: v for k, v in item.check.items() if k != "kind"})
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        inner = loc + ("check",) + tuple(first["loc"])
        detail = validation_message(first, tuple(first["loc"]))
        raise PolicyError(Text(f"标准 {item.id}：检查 {name} 的选项无效：{detail.zh}",
                               f"standard {item.id}: invalid options for check {name}: {detail.en}"),
                          record=pack.where(inner), field=field_path(inner)) from None
    return kind, options

