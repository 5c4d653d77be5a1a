"""Loading plugins and asking them for what they add, with the plugin named in every failure.

Built-in behaviour is itself a plugin (:data:`DEFAULT_PLUGINS`), so a third-party plugin plugs
into exactly the same hooks. Installed plugins are found through the ``shuangyong``
entry-point group. Two environment variables, read when the manager is built:

``SHUANGYONG_LOAD_PLUGINS``
    comma-separated entry-point or distribution names: load only these (empty: none).
``SHUANGYONG_DISABLE_PLUGINS``
    comma-separated names (entry points, distributions or default-plugin modules) to skip.

This module is also a plugin author's toolkit (``docs/api.md``): besides the manager and what it
collects, ``__all__`` re-exports the types a hook returns or receives (the exporter, HIS-adapter
and storage protocols, the ledger's base class and rows, the compliance check-kind types, the
predicate context) and the money and field-path helpers an adapter needs to answer as the core
does. ``hookimpl``, ``Term``, ``Text`` and the errors come from :mod:`shuangyong` itself.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import pluggy

from shuangyong import hookspecs
from shuangyong.engine.context import VisitContext
from shuangyong.errors import LedgerError, PluginError, ShuangyongError, field_path
from shuangyong.exporters import AdapterExporter, LedgerExporter, ReportExporter
from shuangyong.hookspecs import Exporter, HisAdapter, StorageFactory
from shuangyong.ledger import Ledger, MemoryLedger, Posting, PostingRequest, Transaction
from shuangyong.ledger.base import first_head
from shuangyong.model.registry import Registry
from shuangyong.model.vocabulary import Term
from shuangyong.money import format_amount, parse_amount
from shuangyong.text import Text

if TYPE_CHECKING:
    import click

    from shuangyong.compliance.checks import CheckKind, Context, Options, Requirement, Selector
    from shuangyong.model.visit import Visit

__all__ = [
    "AdapterExporter",
    "CheckKind",
    "Context",
    "Exporter",
    "HisAdapter",
    "Ledger",
    "LedgerExporter",
    "MemoryLedger",
    "Options",
    "PluginInfo",
    "PluginManager",
    "Posting",
    "PostingRequest",
    "ReportExporter",
    "Requirement",
    "Selector",
    "StorageFactory",
    "Transaction",
    "VisitContext",
    "build_plugin_manager",
    "check_kinds",
    "collect",
    "exporters",
    "field_path",
    "first_head",
    "format_amount",
    "open_ledger",
    "parse_amount",
    "plugin_infos",
    "plugin_manager",
    "post",
    "registry",
    "resolve_beneficiary",
]

#: the compliance check-kind types, imported on first use: every command reads the plugins, few check a dossier
_COMPLIANCE_TYPES = ("CheckKind", "Context", "Options", "Requirement", "Selector")


def __getattr__(name: str) -> Any:
    if name in _COMPLIANCE_TYPES:
        from shuangyong.compliance import checks  # here: see _COMPLIANCE_TYPES

        return getattr(checks, name)
    raise AttributeError(f"module 'shuangyong.plugins' has no attribute {name!r}")


DEFAULT_PLUGINS = ("shuangyong.builtin_plugin",)
ENTRY_POINT_GROUP = "shuangyong"


class PluginManager(pluggy.PluginManager):
    """pluggy's manager, remembering each entry-point plugin's distribution version."""

    def __init__(self) -> None:
        super().__init__("shuangyong")
        self.versions: dict[str, str | None] = {}  #: None: shuangyong itself, never installed


@attrs.frozen(slots=True)
class PluginInfo:
    """What ``shuangyong plugins`` shows for one loaded plugin."""

    name: str
    version: str | None
    hooks: tuple[str, ...]
    default: bool


def _names(value: str | None) -> set[str] | None:
    return None if value is None else {name.strip() for name in value.split(",") if name.strip()}


def build_plugin_manager(environ: Mapping[str, str] | None = None,
                         entry_points: Iterable[metadata.EntryPoint] | None = None) -> PluginManager:
    """A fresh manager with the default plugins and the installed ones the environment allows.

    A plugin that cannot be imported is a :class:`PluginError` naming it, not a bare traceback.
    """
    environ = os.environ if environ is None else environ
    only = _names(environ.get("SHUANGYONG_LOAD_PLUGINS"))
    disabled = _names(environ.get("SHUANGYONG_DISABLE_PLUGINS")) or set()
    manager = PluginManager()
    manager.add_hookspecs(hookspecs)
    for module_name in DEFAULT_PLUGINS:
        if module_name not in disabled:
            manager.register(importlib.import_module(module_name), name=module_name)
            manager.versions[module_name] = _own_version()
    found = metadata.entry_points(group=ENTRY_POINT_GROUP) if entry_points is None else entry_points
    for entry_point in found:
        names = {entry_point.name} | ({entry_point.dist.name} if entry_point.dist else set())
        if (only is not None and not names & only) or names & disabled:
            continue
        if manager.get_plugin(entry_point.name) is not None:
            continue  # the same distribution seen twice on sys.path
        try:
            plugin = entry_point.load()
            manager.register(plugin, name=entry_point.name)
        except Exception as error:
            raise PluginError(Text(f"插件 {entry_point.name} 无法加载：{error}",
                                   f"plugin {entry_point.name} failed to load: {error}"),
                              record=entry_point.name, field=entry_point.value) from error
        if entry_point.dist is not None:
            manager.versions[entry_point.name] = entry_point.dist.version
    _check_hook_names(manager)
    return manager


def _check_hook_names(manager: PluginManager) -> None:
    """A function marked ``@hookimpl`` whose name is no hook (``register_category``) would
    otherwise be ignored in silence and only show up later as "unknown category"."""
    try:
        manager.check_pending()
    except pluggy.PluginValidationError as error:
        name = manager.get_name(error.plugin) or str(error.plugin)
        hook = next((h for h in vars(manager.hook).values() if isinstance(h, pluggy.HookCaller) and not h.has_spec()
                     and any(i.plugin is error.plugin for i in h.get_hookimpls())), None)
        hook_name = hook.name if hook is not None else "?"
        close = difflib.get_close_matches(hook_name, _hook_names(), n=1)
        hint = Text(f"；是否想写 {close[0]}？", f"; did you mean {close[0]}?") if close else Text("", "")
        raise PluginError(Text(f"插件 {name} 实现了不存在的钩子 {hook_name}{hint.zh}",
                               f"plugin {name} implements {hook_name}, which is not a shuangyong hook{hint.en}"),
                          record=name, field=hook_name) from None


def _hook_names() -> list[str]:
    return [name for name in dir(hookspecs) if hasattr(getattr(hookspecs, name), "shuangyong_spec")]


def _own_version() -> str | None:
    try:
        return metadata.version("shuangyong")
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        return None


def post(ledger: Ledger, requests: list[PostingRequest], manager: PluginManager | None = None) -> list[Posting]:
    """Post through the ``ledger_append`` hook, so that plugins' wrappers (audit) see every append."""
    return (manager or plugin_manager()).hook.ledger_append(ledger=ledger, requests=requests)


@functools.lru_cache(maxsize=1)
def plugin_manager() -> PluginManager:
    """The process's manager, built on first use (``plugin_manager.cache_clear()`` to rebuild)."""
    return build_plugin_manager()


def call_each(hook_name: str, manager: PluginManager | None = None,
              **arguments: Any) -> list[tuple[str, Any]]:
    """Call every implementation of a hook, oldest registration first, as (plugin name, answer).

    Calling one by one is what lets an error, or a duplicate id, name the plugin behind it.
    """
    manager = manager or plugin_manager()
    answers = []
    for implementation in getattr(manager.hook, hook_name).get_hookimpls():
        try:
            answer = implementation.function(**{name: arguments[name] for name in implementation.argnames})
        except ShuangyongError:
            raise
        except Exception as error:
            raise PluginError(Text(f"插件 {implementation.plugin_name} 在 {hook_name} 中出错：{error}",
                                   f"plugin {implementation.plugin_name} failed in {hook_name}: {error}"),
                              record=implementation.plugin_name, field=hook_name) from error
        if answer is not None:
            answers.append((implementation.plugin_name, answer))
    return answers


def _bad_answer(plugin: str, hook: str, problem: Text, key: object = None) -> PluginError:
    return PluginError(Text(f"插件 {plugin} 的 {hook} 返回值有误：{problem.zh}",
                            f"plugin {plugin} returned a bad answer from {hook}: {problem.en}"),
                       record=plugin, field=hook, value=key)


def _pack_file(value: Any) -> Any:
    """A pack's file: a Path (or a str or path-like, made a Path) to a file that exists."""
    if isinstance(value, (str, os.PathLike)) and not isinstance(value, bytes):
        path = Path(value)
        return path if path.is_file() else Text(f"文件 {path} 不存在", f"no file at {path}")
    return Text(f"应为 YAML 文件路径（Path），收到 {type(value).__name__}",
                f"expected the YAML file's Path, got {type(value).__name__}")


def _has(*members: str, kind: Text) -> Callable[[Any], Any]:
    """A check that the value has these members (callable where they are methods)."""
    def check(value: Any) -> Any:
        missing = [m for m in members if not hasattr(value, m)
                   or (m in ("read", "write", "requirements") and not callable(getattr(value, m)))]
        if missing:
            return Text(f"{type(value).__name__} 不是{kind.zh}：缺少 {', '.join(missing)}",
                        f"{type(value).__name__} is not {kind.en}: it lacks {', '.join(missing)}")
        return value
    return check


def _callable(kind: Text) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        return value if callable(value) else Text(f"应为{kind.zh}（可调用对象），收到 {type(value).__name__}",
                                                  f"expected {kind.en} (a callable), got {type(value).__name__}")
    return check


#: What each registration hook's values must be (docs/hooks.md); a check returns the value to
#: keep, or a Text saying what is wrong.
_VALUE_CHECKS: dict[str, Callable[[Any], Any]] = {
    "register_policy_packs": _pack_file,
    "register_standards": _pack_file,
    "register_predicates": _callable(Text("条件工厂", "a condition factory")),
    "register_storage": _callable(Text("账本工厂", "a ledger factory")),
    "register_his_adapters": _has("read", kind=Text("HIS 适配器", "a HIS adapter")),
    "register_exporters": _has("subjects", "suffix", "write", kind=Text("导出器", "an exporter")),
    "register_check_kinds": _has("name", "title", "options", "requirements", kind=Text("检查类型", "a check kind")),
}


def _entries(plugin: str, hook: str, answer: Any) -> Iterator[tuple[str, Any]]:
    """(id, value) pairs of one plugin's answer, each checked: a mapping of non-empty string
    names, or for check kinds a list of kinds keyed by their ``name``."""
    check = _VALUE_CHECKS.get(hook, lambda value: value)
    if hook == "register_check_kinds":
        if isinstance(answer, (str, bytes, Mapping)) or not isinstance(answer, Iterable):
            raise _bad_answer(plugin, hook, Text(f"应返回检查类型的列表，却返回了 {type(answer).__name__}",
                                                 f"expected a list of check kinds, got {type(answer).__name__}"))
        pairs: Iterable[tuple[Any, Any]] = ((getattr(kind, "name", None), kind) for kind in answer)
    elif isinstance(answer, Mapping):
        pairs = answer.items()
    else:
        raise _bad_answer(plugin, hook, Text(f"应返回名称到对象的映射（dict），却返回了 {type(answer).__name__}",
                                             f"expected a mapping of names (a dict), got {type(answer).__name__}"))
    for key, value in pairs:
        if not isinstance(key, str) or not key:
            raise _bad_answer(plugin, hook, Text(f"名称应为非空字符串，收到 {key!r}",
                                                 f"names must be non-empty strings, got {key!r}"), key)
        checked = check(value)
        if isinstance(checked, Text):
            raise _bad_answer(plugin, hook, Text(f"{key}：{checked.zh}", f"{key}: {checked.en}"), key)
        yield key, checked


def _merge(hook_name: str, manager: PluginManager | None, keep: Callable[[Any], bool] = lambda value: True,
           what: str = "") -> dict[str, Any]:
    """Merge the (id, value) pairs of every plugin's checked answer that ``keep`` keeps; an id two
    plugins register is an error naming both (``what`` says where ids must be unique, e.g. a subject)."""
    merged: dict[str, Any] = {}
    owner: dict[str, str] = {}
    for plugin_name, answer in call_each(hook_name, manager):
        for key, value in _entries(plugin_name, hook_name, answer):
            if not keep(value):
                continue
            if key in merged:
                raise PluginError(Text(f"{key!r}{what} 被插件 {owner[key]} 和 {plugin_name} 重复注册（{hook_name}）",
                                       f"{key!r}{what} is registered twice, by {owner[key]} and {plugin_name} "
                                       f"({hook_name})"), record=plugin_name, field=hook_name, value=key)
            merged[key] = value
            owner[key] = plugin_name
    return merged


def collect(hook_name: str, manager: PluginManager | None = None) -> dict[str, Any]:
    """Merge the mappings a registration hook returns; one id registered twice is an error."""
    return _merge(hook_name, manager)


def exporters(subject: str, manager: PluginManager | None = None) -> dict[str, Any]:
    """The exporters that write ``subject`` (``decisions``, ``ledger``, ``compliance``), by name.

    A name is unique per subject, not overall: the built-in ``html`` writes compliance reports and
    shuangyong-export's ``html`` writes decisions and the ledger, so ``--format html`` means the
    one for what is being exported. Two exporters of one name for the same subject are an error.
    """
    return _merge("register_exporters", manager, lambda exporter: subject in exporter.subjects, f" ({subject})")


def _register_terms(hook: str, register: Callable[[Term], None], what: Text,
                    manager: PluginManager | None) -> None:
    """Register every plugin's Terms from a vocabulary hook, naming the plugin in any refusal."""
    for plugin_name, terms in call_each(hook, manager):
        if isinstance(terms, (str, bytes, Mapping)) or not isinstance(terms, Iterable):
            raise _bad_answer(plugin_name, hook, Text(
                f"应返回 Term 的列表，却返回了 {type(terms).__name__}",
                f"expected a list of Terms, got {type(terms).__name__}"))
        for term in terms:
            if not isinstance(term, Term):
                raise _bad_answer(plugin_name, hook, Text(
                    f"应为 Term，收到 {term!r}", f"expected a Term, got {term!r}"), term)
            try:
                register(term)
            except ValueError as error:
                raise PluginError(Text(f"插件 {plugin_name} 注册{what.zh}失败：{error}",
                                       f"plugin {plugin_name} could not register {what.en}: {error}"),
                                  record=plugin_name, field=hook, value=term.id) from None


def registry(manager: PluginManager | None = None) -> Registry:
    """The built-in registry plus every plugin's categories, payers, predicates and policy packs."""
    built = Registry.builtin()
    _register_terms("register_categories", built.categories.register, Text("类别", "a category"), manager)
    _register_terms("register_payers", built.register_payer, Text("支付方", "a payer"), manager)
    built.predicates.update(collect("register_predicates", manager))
    built.packs.update(collect("register_policy_packs", manager))
    return built


def check_kinds(manager: PluginManager | None = None) -> list[Any]:
    """Every compliance check kind, built-in and from plugins; one name registered twice is an error."""
    return list(_merge("register_check_kinds", manager).values())


def open_ledger(url: str, manager: PluginManager | None = None, *, create: bool = True) -> Ledger:
    """A ledger by URL; the scheme (``sqlite``, ``memory``, ``postgresql+psycopg``…) picks the backend.
    ``create=False`` refuses a ledger that does not exist yet instead of making an empty one."""
    backends: dict[str, hookspecs.StorageFactory] = collect("register_storage", manager)
    scheme = url.split(":", 1)[0] if ":" in url else ""
    if scheme not in backends:
        known = ", ".join(sorted(backends))
        raise LedgerError(Text(f"不认识账本地址 {url!r} 的类型（可用：{known}；SQL 数据库需安装 shuangyong-sql）",
                               f"no ledger backend for {url!r} (available: {known}; "
                               "SQL servers need the shuangyong-sql plugin)"), record=url, field="ledger")
    return backends[scheme](url) if create else backends[scheme](url, create=False)


def resolve_beneficiary(visit: Visit, manager: PluginManager | None = None) -> Visit:
    """A visit that names only its patient's id gets the patient from the first plugin that knows
    them (an HIS, a registry of beneficiaries); any other visit is returned as it is."""
    patient = visit.patient
    if patient.categories or patient.credentials:
        return visit
    found = (manager or plugin_manager()).hook.resolve_beneficiary(patient_id=patient.id, date=visit.date)
    return visit if found is None else attrs.evolve(visit, patient=found)


def add_commands(cli: click.Group, manager: PluginManager | None = None) -> None:
    """Let each plugin add its commands to the ``shuangyong`` group."""
    call_each("register_commands", manager, cli=cli)


def plugin_infos(manager: PluginManager | None = None) -> list[PluginInfo]:
    """What loaded, default plugins first: name, version and hooks (``shuangyong plugins``)."""
    manager = manager or plugin_manager()
    infos = []
    for name, plugin in manager.list_name_plugin():
        hooks = sorted(caller.name for caller in manager.get_hookcallers(plugin) or ())
        infos.append(PluginInfo(name, manager.versions.get(name), tuple(hooks), name in DEFAULT_PLUGINS))
    return sorted(infos, key=lambda info: (not info.default, info.name))
