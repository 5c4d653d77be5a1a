"""Read policy-pack YAML into validated ``PackSpec``\\ s; every error names file, line and field.

YAML is composed into nodes first so that each value's line is known; pydantic then validates,
and its error location is mapped back to the line of the offending key.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import attrs
from pydantic import BaseModel, ValidationError

from shuangyong.documents import Loc, read_document, read_yaml
from shuangyong.errors import PolicyError, ShuangyongError, field_path
from shuangyong.policy.schema import PackSpec
from shuangyong.text import Text

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping


@attrs.frozen(slots=True)
class PackKind:
    """What sort of pack a loader reads: policy packs and standards packs share this loader
    (YAML with lines, ``extends`` layering) and differ in schema, built-in folder and noun."""

    spec: type[BaseModel]
    package: str  #: the package whose ``packs/`` folder holds the built-in ones
    noun: Text
    items: str  #: the list of entries with ids, named in errors (``rules``, ``standards``)


POLICY = PackKind(PackSpec, "shuangyong.policy", Text("政策包", "policy pack"), "rules")


@attrs.frozen(slots=True)
class LoadedPack:
    """A validated pack and where it came from (``origin`` is a path or ``builtin:NAME``)."""

    spec: Any  #: the kind's schema: a ``PackSpec`` for policy packs
    origin: str
    directory: Path | None
    lines: dict[Loc, int] = attrs.field(eq=False, repr=False)

    def where(self, loc: Loc) -> str:
        """``origin:line`` of the deepest known key on the path ``loc``."""
        for end in range(len(loc), -1, -1):
            line = self.lines.get(loc[:end])
            if line is not None:
                return f"{self.origin}:{line}"
        return self.origin

    @property
    def identity(self) -> str:
        """The same pack reached by two spellings of its path (``a/../b.yaml``) is one pack."""
        if self.origin.startswith("builtin:"):
            return self.origin
        return str(Path(self.origin).resolve())


def builtin_pack_names(kind: PackKind = POLICY) -> list[str]:
    """The built-in packs of this kind, by name."""
    folder = resources.files(kind.package) / "packs"
    return sorted(entry.name.removesuffix(".yaml") for entry in folder.iterdir()
                  if entry.name.endswith(".yaml"))


def parse_pack(text: str, origin: str, directory: Path | None = None, kind: PackKind = POLICY) -> LoadedPack:
    """Validate one pack's YAML text; ``origin`` names it in errors."""
    data, lines = read_yaml(text, origin, error=PolicyError)
    if not isinstance(data, dict):
        raise PolicyError(Text(f"{kind.noun.zh}应为 YAML 映射（pack:, title:, {kind.items}: …）",
                               f"a {kind.noun.en} must be a YAML mapping (pack:, title:, {kind.items}: …)"),
                          record=origin)
    pack = LoadedPack(kind.spec.model_construct(), origin, directory, lines)
    try:
        spec = kind.spec.model_validate(data)
    except ValidationError as error:
        raise _policy_error(error, pack, data, kind) from None
    return attrs.evolve(pack, spec=spec)


def validation_message(first: Mapping[str, Any], loc: Loc) -> Text:
    """One pydantic error (an item of ``errors()``) as a bilingual message; errors our own
    validators raise already speak both languages and keep their wording."""
    problem = first["type"]
    # the key as pydantic saw it: ``loc`` may have lost it, when it was filtered of pydantic's
    # own "[…]" tags and the key itself holds a bracket
    key = first["loc"][-1] if first["loc"] else loc[-1] if loc else "?"
    if problem == "extra_forbidden":
        return Text(f"未知的键 {key!r}", f"unknown key {key!r}")
    if problem == "missing":
        return Text(f"缺少必填项 {key!r}", f"missing required key {key!r}")
    cause = first.get("ctx", {}).get("error")
    if isinstance(cause, ShuangyongError):
        detail = cause.message
    else:
        english = first["msg"].removeprefix("Value error, ")
        detail = Text(english, english)
    return Text(f"取值无效：{detail.zh}", f"invalid value: {detail.en}")


def _policy_error(error: ValidationError, pack: LoadedPack, data: dict[str, Any], kind: PackKind) -> PolicyError:
    """Turn pydantic's first error into one bilingual message with file:line and field."""
    first = error.errors(include_url=False)[0]
    loc = tuple(part for part in first["loc"] if not (isinstance(part, str) and "[" in part))
    message = validation_message(first, loc)
    entries = data.get(kind.items)
    if len(loc) > 1 and loc[0] == kind.items and isinstance(loc[1], int) and isinstance(entries, list):
        entry = entries[loc[1]] if loc[1] < len(entries) else None
        if isinstance(entry, dict) and "id" in entry:
            noun = "规则" if kind.items == "rules" else "标准"
            label = kind.items.removesuffix("s")
            message = Text(f"{noun} {entry['id']}：{message.zh}", f"{label} {entry['id']}: {message.en}")
    return PolicyError(message, record=pack.where(loc), field=field_path(loc), value=first.get("input"))


def load_pack_file(path: Path, kind: PackKind = POLICY) -> LoadedPack:
    """Read and check a pack file."""
    return parse_pack(read_document(path, kind.noun), str(path), path.parent, kind)


def load_builtin(name: str, kind: PackKind = POLICY) -> LoadedPack:
    """Read and check a built-in pack."""
    resource = resources.files(kind.package) / "packs" / f"{name}.yaml"
    return parse_pack(resource.read_text(encoding="utf-8"), f"builtin:{name}", kind=kind)


PackReference = Union[str, "os.PathLike[str]"]


def looks_like_path(reference: str) -> bool:
    """A reference naming a file (``*.yaml``, ``*.yml``, or with a slash) rather than a pack name."""
    return reference.endswith((".yaml", ".yml")) or "/" in reference or "\\" in reference


def load_reference(reference: PackReference, relative_to: Path | None = None,
                   named: Mapping[str, Path] | None = None, kind: PackKind = POLICY) -> LoadedPack:
    """A pack by name (built-in, or one of ``named``: plugins' packs) or by path
    (``packs/city.yaml`` or a ``Path``)."""
    if isinstance(reference, os.PathLike):
        return load_pack_file(Path(reference) if relative_to is None else relative_to / reference, kind)
    if not looks_like_path(reference):
        if named and reference in named:
            return load_pack_file(named[reference], kind)
        if reference in builtin_pack_names(kind):
            return load_builtin(reference, kind)
        available = ", ".join(sorted({*builtin_pack_names(kind), *(named or {})}))
        raise PolicyError(Text(f"没有名为 {reference!r} 的{kind.noun.zh}（可用：{available}）",
                               f"no {kind.noun.en} named {reference!r} (available: {available})"), record=reference)
    path = Path(reference)
    if relative_to is not None and not path.is_absolute():
        path = relative_to / path
    return load_pack_file(path, kind)


def resolve_layers(references: Iterable[PackReference],
                   named: Mapping[str, Path] | None = None, kind: PackKind = POLICY) -> list[LoadedPack]:
    """Packs in layer order: each pack after everything it ``extends``, each pack once."""
    ordered: dict[str, LoadedPack] = {}

    def clash(name: str, first: LoadedPack, second: LoadedPack) -> PolicyError:
        return PolicyError(Text(f"两个{kind.noun.zh}使用同一编号 {name!r}（{first.origin}，{second.origin}）",
                                f"two {kind.noun.en}s share the id {name!r} ({first.origin}, {second.origin})"),
                           record=second.where(("pack",)), field="pack")

    def visit(pack: LoadedPack, chain: tuple[LoadedPack, ...]) -> None:
        name = pack.spec.pack
        for earlier in chain:
            if earlier.spec.pack == name:
                if earlier.identity != pack.identity:  # a copy that kept its parent's id
                    raise clash(name, earlier, pack)
                cycle = " → ".join(p.spec.pack for p in chain + (pack,))
                raise PolicyError(Text(f"{kind.noun.zh}继承成环：{cycle}",
                                       f"{kind.noun.en}s extend each other in a cycle: {cycle}"),
                                  record=pack.where(("extends",)), field="extends")
        known = ordered.get(name)
        if known is not None:
            if known.identity != pack.identity:
                raise clash(name, known, pack)
            return
        for parent in pack.spec.extends:
            visit(load_reference(parent, pack.directory, named, kind), chain + (pack,))
        ordered[name] = pack

    for reference in references:
        visit(load_reference(reference, named=named, kind=kind), ())
    return list(ordered.values())
