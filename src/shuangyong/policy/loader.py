"""Read policy-pack YAML into validated ``PackSpec``\\ s; every error names file, line and field.

YAML is composed into nodes first so that each value's line is known; pydantic then validates,
and its error location is mapped back to the line of the offending key.
"""

from __future__ import annotations

import codecs
import os
import re
import stat
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any, BinaryIO, Union

import attrs
import yaml
from pydantic import ValidationError

from pydantic import BaseModel

from shuangyong.errors import PolicyError, ShuangyongError, field_path
from shuangyong.limits import MAX_DEPTH, MAX_YAML_ALIASES, MAX_YAML_BYTES, MAX_YAML_NODES
from shuangyong.policy.schema import LongInteger, PackSpec
from shuangyong.text import Text

Loc = tuple[str | int, ...]


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
    folder = resources.files(kind.package) / "packs"
    return sorted(entry.name.removesuffix(".yaml") for entry in folder.iterdir()
                  if entry.name.endswith(".yaml"))


class YamlRefusal(yaml.YAMLError):
    """A document the bounded loader will not compose (too deep, too many aliases …), said in
    both languages at the mark where it happened."""

    def __init__(self, message: Text, mark: yaml.Mark) -> None:
        super().__init__(message.en)
        self.message = message
        self.problem_mark = mark


#: digits of an integer literal read as a number; a longer one stays text (:class:`LongInteger`)
_INT_DIGITS = 30
_DECIMAL_INT = re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$")
_TRUE_FALSE = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_SURROGATE = re.compile("[\ud800-\udfff]")


class BoundedLoader(yaml.SafeLoader):
    """A SafeLoader that holds a document to the limits (docs/limits.md): nesting at most
    ``MAX_DEPTH`` deep, at most ``MAX_YAML_ALIASES`` aliases, no lone surrogates (``"\\ud800"``,
    which no output can encode); integers only in plain decimal (YAML 1.1 reads ``012`` as 10,
    ``1_000`` and ``0x10`` and ``1:30`` as numbers too), none longer than a count can be, and only
    ``true``/``false`` as booleans (YAML 1.1 also reads ``yes``, ``no``, ``on``, ``off``)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_YAML_ALIASES:
                raise YamlRefusal(Text(f"别名（*name）超过 {MAX_YAML_ALIASES} 个",
                                       f"more than {MAX_YAML_ALIASES} aliases (*name)"), event.start_mark)
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        if isinstance(event, yaml.ScalarEvent) and _SURROGATE.search(event.value):
            raise YamlRefusal(Text("字符串含有孤立的代理码位（如 \\ud800），无法输出",
                                   "a string holds a lone surrogate (such as \\ud800), which no output can encode"),
                              event.start_mark)
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)) and self._depth >= MAX_DEPTH:
            raise YamlRefusal(Text(f"嵌套超过 {MAX_DEPTH} 层", f"nested more than {MAX_DEPTH} levels deep"),
                              event.start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        finally:
            self._depth -= 1

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int | str:
        text = self.construct_scalar(node)
        if len(text.lstrip("+-")) > _INT_DIGITS:
            return LongInteger(text)
        return int(text)


BoundedLoader.add_constructor("tag:yaml.org,2002:int", BoundedLoader.construct_yaml_int)
BoundedLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in found if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:bool")]
    for first, found in yaml.SafeLoader.yaml_implicit_resolvers.items()}
BoundedLoader.add_implicit_resolver("tag:yaml.org,2002:int", _DECIMAL_INT, list("-+0123456789"))
BoundedLoader.add_implicit_resolver("tag:yaml.org,2002:bool", _TRUE_FALSE, list("tTfF"))


def loader_without(*tags: str) -> type[BoundedLoader]:
    """A bounded loader that leaves the scalars of these implicit tags as text (``"timestamp"``,
    ``"float"``): the schema then reads them exactly, so ``2024-02-30`` is a clear error at its
    line instead of a ``ValueError`` from inside PyYAML, and ``12.30`` stays ``"12.30"``."""
    dropped = {f"tag:yaml.org,2002:{tag}" for tag in tags}
    resolvers = {first: [(tag, pattern) for tag, pattern in found if tag not in dropped]
                 for first, found in BoundedLoader.yaml_implicit_resolvers.items()}
    return type("TextLoader", (BoundedLoader,), {"yaml_implicit_resolvers": resolvers})


PlainDatesLoader = loader_without("timestamp")


def _measure(root: yaml.Node, origin: str, error: type[ShuangyongError]) -> None:
    """Refuse a document whose aliases expand it past ``MAX_YAML_NODES`` values or ``MAX_DEPTH``
    levels (a few hundred bytes of nested aliases make billions), or refer to themselves; each
    node is measured once, so the check itself stays linear in the file."""
    measured: dict[int, tuple[int, int]] = {}
    ancestors: set[int] = set()

    def size(node: yaml.Node) -> tuple[int, int]:
        known = measured.get(id(node))
        if known is not None:
            return known
        if id(node) in ancestors:
            raise error(Text("别名引用了包含它自身的节点", "an alias refers to a node that contains it"),
                        record=f"{origin}:{node.start_mark.line + 1}")
        ancestors.add(id(node))
        children: list[yaml.Node] = []
        if isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = node.value
        count, depth = 1, 0
        for child in children:
            child_count, child_depth = size(child)
            count, depth = count + child_count, max(depth, child_depth)
            if count > MAX_YAML_NODES:
                raise error(Text(f"展开别名后超过 {MAX_YAML_NODES} 个值", f"more than {MAX_YAML_NODES} values once "
                                 "its aliases are expanded"), record=f"{origin}:{child.start_mark.line + 1}")
        depth += isinstance(node, yaml.CollectionNode)
        if depth > MAX_DEPTH:
            raise error(Text(f"展开别名后嵌套超过 {MAX_DEPTH} 层", f"nested more than {MAX_DEPTH} levels deep once "
                             "its aliases are expanded"), record=f"{origin}:{node.start_mark.line + 1}")
        ancestors.discard(id(node))
        measured[id(node)] = count, depth
        return count, depth

    size(root)


def _line_map(root: yaml.Node, origin: str, error: type[ShuangyongError]) -> dict[Loc, int]:
    """The line of every key and list item; refuse duplicate keys (YAML keeps the last). Nodes
    are walked in document order and once each: what lies inside a node reached again through an
    alias is placed at the line of the alias's key, and a bomb of aliases costs nothing here."""
    lines: dict[Loc, int] = {}
    walked: set[int] = set()
    stack: list[tuple[yaml.Node, Loc]] = [(root, ())]
    while stack:
        node, loc = stack.pop()
        lines.setdefault(loc, node.start_mark.line + 1)
        if id(node) in walked:
            continue
        walked.add(id(node))
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            children: list[tuple[yaml.Node, Loc]] = []
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else id(key_node)
                line = key_node.start_mark.line + 1
                if key in seen:
                    raise error(Text(f"键 {key!r} 重复（第 {seen[key]} 行已有）",
                                     f"key {key!r} appears twice (also line {seen[key]})"),
                                record=f"{origin}:{line}", field=field_path(loc + (key,)))
                seen[key] = line
                lines[loc + (key,)] = line
                children.append((value_node, loc + (key,)))
            stack.extend(reversed(children))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, loc + (index,)) for index, item in reversed(list(enumerate(node.value))))
    return lines


def read_document(path: Path, noun: Text, error: type[ShuangyongError] = PolicyError) -> str:
    """The text of a YAML or JSON file (pack, dossier, case file), read within the limits: a
    regular file only (``/dev/zero`` or a FIFO would be read until killed), at most
    ``MAX_YAML_BYTES``, and UTF-8 (a BOM is allowed and dropped)."""
    try:  # O_NONBLOCK: opening a FIFO must not wait for a writer before we can refuse it
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as failure:
        raise error(Text(f"无法读取{noun.zh}：{failure.strerror}", f"cannot read the {noun.en}: {failure.strerror}"),
                    record=str(path)) from None
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise error(Text(f"{noun.zh}必须是普通文件（不是目录、设备或管道）",
                         f"a {noun.en} must be a regular file (not a folder, device or pipe)"), record=str(path))
    with os.fdopen(descriptor, "rb") as handle:
        data = _read_at_most(handle, MAX_YAML_BYTES + 1)
    if len(data) > MAX_YAML_BYTES:
        raise error(Text(f"{noun.zh}超过 {MAX_YAML_BYTES} 字节", f"a {noun.en} may not exceed {MAX_YAML_BYTES} bytes"),
                    record=str(path))
    return decode_utf8(data, str(path), noun, error)


def _read_at_most(handle: BinaryIO, limit: int) -> bytes:
    """Up to ``limit`` bytes, in pieces: one ``read(16 MiB)`` would allocate 16 MiB for every pack."""
    pieces: list[bytes] = []
    left = limit
    while left > 0:
        piece = handle.read(min(left, 1 << 20))
        if not piece:
            break
        pieces.append(piece)
        left -= len(piece)
    return b"".join(pieces)


def decode_utf8(data: bytes, origin: str, noun: Text, error: type[ShuangyongError] = PolicyError) -> str:
    """UTF-8 text of a file, without its BOM; anything else is refused at its line and byte."""
    start = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        return data[start:].decode("utf-8")
    except UnicodeDecodeError as failure:
        offset = start + failure.start
        line = data.count(b"\n", 0, offset) + 1
        hint = Text("", "")
        try:
            data.decode("gb18030")
            hint = Text("；看来是 GB 18030，可用 iconv -f GB18030 -t UTF-8 转换",
                        "; it reads as GB 18030: convert it with iconv -f GB18030 -t UTF-8")
        except UnicodeDecodeError:
            pass
        raise error(Text(f"{noun.zh}须为 UTF-8 编码：第 {line} 行字节偏移 {offset} 处不是 UTF-8{hint.zh}",
                         f"a {noun.en} must be UTF-8: the byte at offset {offset} (line {line}) is not UTF-8{hint.en}"),
                    record=f"{origin}:{line}") from None


def read_yaml(text: str, origin: str, *, loader: type[BoundedLoader] = PlainDatesLoader,
              error: type[ShuangyongError] = PolicyError) -> tuple[Any, dict[Loc, int]]:
    """One YAML (or JSON) document's data and the line of every key and item in it; broken YAML,
    duplicate keys and documents past the limits raise ``error`` with ``origin:line``."""
    try:
        parser = loader(text)
        try:
            node = parser.get_single_node()
            if node is not None:
                _measure(node, origin, error)
            data = parser.construct_document(node) if node is not None else None
        finally:
            parser.dispose()
    except YamlRefusal as refusal:
        raise error(refusal.message, record=f"{origin}:{refusal.problem_mark.line + 1}") from None
    except yaml.YAMLError as failure:
        mark = getattr(failure, "problem_mark", None)
        where = f"{origin}:{mark.line + 1}" if mark else origin
        raise error(Text(f"YAML 语法错误：{failure}", f"invalid YAML: {failure}"), record=where) from None
    return data, _line_map(node, origin, error) if node is not None else {}


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
    if problem == "extra_forbidden":
        return Text(f"未知的键 {loc[-1]!r}", f"unknown key {loc[-1]!r}")
    if problem == "missing":
        return Text(f"缺少必填项 {loc[-1]!r}", f"missing required key {loc[-1]!r}")
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
    return parse_pack(read_document(path, kind.noun), str(path), path.parent, kind)


def load_builtin(name: str, kind: PackKind = POLICY) -> LoadedPack:
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
