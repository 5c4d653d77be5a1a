"""YAML and JSON documents that are not visits (packs, standards packs, dossiers, case files,
charge-code tables), read within the limits of docs/limits.md, with the line of every key.

One reader for all of them, so that a hostile file (deep nesting, an alias bomb, a device, a
non-UTF-8 file, a duplicate key) is refused the same way, at its line, wherever it is given.
"""

from __future__ import annotations

import codecs
import os
import re
import stat
from typing import TYPE_CHECKING, Any, BinaryIO

import yaml
from typing_extensions import override

from shuangyong.errors import PolicyError, ShuangyongError, field_path
from shuangyong.limits import MAX_DEPTH, MAX_YAML_ALIASES, MAX_YAML_BYTES, MAX_YAML_NODES
from shuangyong.text import Text

if TYPE_CHECKING:
    from pathlib import Path

Loc = tuple[str | int, ...]


class LongInteger(str):
    """An integer literal too long to be read as a number (Python refuses past 4,300 digits):
    the YAML loader keeps it as text so that the schema refuses it naming the record and field."""


class YamlRefusal(yaml.YAMLError):
    """A document the bounded loader will not compose (too deep, too many aliases …), said in
    both languages, with the (1-based) line of the event where it happened."""

    def __init__(self, message: Text, event: yaml.Event) -> None:
        super().__init__(message.en)
        self.message = message
        assert event.start_mark is not None  # the parser marks every event it makes
        self.line = event.start_mark.line + 1


#: digits of an integer literal read as a number; a longer one stays text (:class:`LongInteger`)
_INT_DIGITS = 30
_DECIMAL_INT = re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$")
_TRUE_FALSE = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_SURROGATE = re.compile("[\ud800-\udfff]")
_STR = "tag:yaml.org,2002:str"
_CONSTRUCT_STR = yaml.SafeLoader.yaml_constructors[_STR]
_TOO_MANY_ALIASES = Text(f"别名（*name）超过 {MAX_YAML_ALIASES} 个", f"more than {MAX_YAML_ALIASES} aliases (*name)")


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

    @override
    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_YAML_ALIASES:
                raise YamlRefusal(_TOO_MANY_ALIASES, event)
            return super().compose_node(parent, index)
        if isinstance(event, yaml.ScalarEvent) and _SURROGATE.search(event.value):
            raise YamlRefusal(Text("字符串含有孤立的代理码位（如 \\ud800），无法输出",
                                   "a string holds a lone surrogate (such as \\ud800), which no output can encode"),
                              event)
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)) and self._depth >= MAX_DEPTH:
            raise YamlRefusal(Text(f"嵌套超过 {MAX_DEPTH} 层", f"nested more than {MAX_DEPTH} levels deep"),
                              event)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    @override
    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """A plain string, most of a pack's values, without PyYAML's bookkeeping for objects
        (which a ``str`` needs none of): a third of the constructor's time on a big pack."""
        if node.tag == _STR and isinstance(node, yaml.ScalarNode) and self.yaml_constructors[_STR] is _CONSTRUCT_STR:
            return node.value
        return super().construct_object(node, deep)

    def construct_bounded_int(self, node: yaml.ScalarNode) -> int | str:
        """A plain decimal integer; one longer than ``_INT_DIGITS`` stays text (:class:`LongInteger`)."""
        text = self.construct_scalar(node)
        if len(text.lstrip("+-")) > _INT_DIGITS:
            return LongInteger(text)
        return int(text)


BoundedLoader.add_constructor("tag:yaml.org,2002:int", BoundedLoader.construct_bounded_int)
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
    node is measured once, so the check itself stays linear in the file. A node met again is an
    alias: past ``MAX_YAML_ALIASES`` of them is refused too (the Python loader refuses them while
    composing, libyaml does not)."""
    measured: dict[int, tuple[int, int]] = {}
    ancestors: set[int] = set()
    aliases = 0

    def size(node: yaml.Node) -> tuple[int, int]:
        nonlocal aliases
        known = measured.get(id(node))
        if known is not None:
            aliases += 1
            if aliases > MAX_YAML_ALIASES:
                raise error(_TOO_MANY_ALIASES, record=f"{origin}:{node.start_mark.line + 1}")
            return known
        if isinstance(node, yaml.ScalarNode):  # most nodes: one value, nothing inside, never an ancestor
            measured[id(node)] = 1, 0
            return 1, 0
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
                if not isinstance(value_node, yaml.ScalarNode):  # a scalar's line is its key's, set here
                    children.append((value_node, loc + (key,)))
            stack.extend(reversed(children))
        elif isinstance(node, yaml.SequenceNode):
            items: list[tuple[yaml.Node, Loc]] = []
            for index, item in enumerate(node.value):
                if isinstance(item, yaml.ScalarNode):  # nothing inside: its line is all there is
                    lines.setdefault(loc + (index,), item.start_mark.line + 1)
                else:
                    items.append((item, loc + (index,)))
            stack.extend(reversed(items))
    return lines


def read_document(path: Path, noun: Text, error: type[ShuangyongError] = PolicyError) -> str:
    """The text of a YAML or JSON file (pack, dossier, case file), read within the limits: a
    regular file only (``/dev/zero`` or a FIFO would be read until killed), at most
    ``MAX_YAML_BYTES``, and UTF-8 (a BOM is allowed and dropped)."""
    if "\0" in str(path):  # no file system has such a name; os.open would raise ValueError
        raise error(Text(f"无法读取{noun.zh}：路径含有空字符",
                         f"cannot read the {noun.en}: the path holds a NUL character"), record=repr(str(path)))
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


_LIBYAML_LOADERS: dict[type[BoundedLoader], type[BoundedLoader] | None] = {}


def _libyaml_loader(loader: type[BoundedLoader]) -> type[BoundedLoader] | None:
    """``loader`` with libyaml's parser and composer (``yaml._yaml.CParser``, several times faster
    on a big pack), keeping its constructors and resolvers; None when PyYAML has no libyaml."""
    if loader not in _LIBYAML_LOADERS:
        try:
            from yaml._yaml import CParser
        except ImportError:  # PyYAML built without libyaml: the Python loader reads everything
            _LIBYAML_LOADERS[loader] = None
        else:
            def init(self: Any, stream: str) -> None:
                CParser.__init__(self, stream)
                yaml.constructor.SafeConstructor.__init__(self)
                yaml.resolver.Resolver.__init__(self)

            _LIBYAML_LOADERS[loader] = type(f"C{loader.__name__}", (CParser, loader), {"__init__": init})
    return _LIBYAML_LOADERS[loader]


def _read_with_libyaml(text: str, origin: str, loader: type[BoundedLoader],
                       error: type[ShuangyongError]) -> tuple[Any, dict[Loc, int]] | None:
    """:func:`read_yaml`'s answer through libyaml, or None when the Python loader must give it:
    no libyaml, an empty document, or any refusal at all. libyaml's messages and marks differ
    from PyYAML's (no snippet of the line), so a document refused here is read again by the
    Python loader, whose message, at its line, is the one users know. What the Python loader
    checks while composing, :func:`_measure` checks here: a collection ``MAX_DEPTH`` deep is
    also nested past ``MAX_DEPTH`` once expanded, aliases are counted, and a lone surrogate
    never gets this far (libyaml refuses its escape)."""
    fast = _libyaml_loader(loader)
    if fast is None:
        return None
    try:
        parser = fast(text)
        try:
            node = parser.get_single_node()
            if node is None:
                return None
            _measure(node, origin, error)
            data = parser.construct_document(node)
        finally:
            parser.dispose()
        return data, _line_map(node, origin, error)
    except Exception:  # whatever it is, the Python loader below raises it as it always has
        return None


def read_yaml(text: str, origin: str, *, loader: type[BoundedLoader] = PlainDatesLoader,
              error: type[ShuangyongError] = PolicyError) -> tuple[Any, dict[Loc, int]]:
    """One YAML (or JSON) document's data and the line of every key and item in it; broken YAML,
    duplicate keys and documents past the limits raise ``error`` with ``origin:line``.

    Read by libyaml when PyYAML has it; by PyYAML's Python loader otherwise, and for every
    document libyaml refuses, so that each refusal says what it always said."""
    fast = _read_with_libyaml(text, origin, loader, error)
    if fast is not None:
        return fast
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
        raise error(refusal.message, record=f"{origin}:{refusal.line}") from None
    except yaml.YAMLError as failure:
        mark = getattr(failure, "problem_mark", None)
        where = f"{origin}:{mark.line + 1}" if mark else origin
        raise error(Text(f"YAML 语法错误：{failure}", f"invalid YAML: {failure}"), record=where) from None
    return data, _line_map(node, origin, error) if node is not None else {}
