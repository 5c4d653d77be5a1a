"""Plugins: loading, environment variables, every hook exercised, and failures named."""

from __future__ import annotations

import datetime as dt
import inspect
import io
import re
import types
from decimal import Decimal
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from click.testing import CliRunner

from shuangyong import hookspecs, plugins
from shuangyong.engine import Engine
from shuangyong.errors import LedgerError, PluginError, PolicyError
from shuangyong.ledger import MemoryLedger, requests_for

from . import sample_plugin
from .builders import visit

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = EntryPoint("sample", "tests.sample_plugin", "shuangyong")
HOOKS = sorted(name for name, _ in inspect.getmembers(hookspecs, inspect.isfunction)
               if hasattr(getattr(hookspecs, name), "shuangyong_spec"))


def manager(*entry_points: EntryPoint, **environ: str) -> plugins.PluginManager:
    return plugins.build_plugin_manager(environ, entry_points or (SAMPLE,))


@pytest.fixture
def sample(monkeypatch: pytest.MonkeyPatch) -> plugins.PluginManager:
    """The sample plugin installed as if by pip: the CLI and helpers see it."""
    built = manager()
    monkeypatch.setattr(plugins, "plugin_manager", lambda: built)
    return built


def test_every_hook_is_documented() -> None:
    """docs/hooks.md has a section for every hookspec (a new hook without docs fails here)."""
    documented = set(re.findall(r"^## `(\w+)`", (ROOT / "docs" / "hooks.md").read_text(encoding="utf-8"), re.M))
    assert (set(HOOKS), 11) == (documented, len(HOOKS))


def test_sample_plugin_implements_every_hook() -> None:
    """The test plugin covers every hook, so each one is exercised below."""
    info = next(i for i in plugins.plugin_infos(manager()) if i.name == "sample")
    assert (tuple(HOOKS), False) == (info.hooks, info.default)


class TestLoading:
    def test_defaults_and_entry_points(self) -> None:
        """The built-in plugin comes first; an entry-point plugin is listed with its hooks."""
        names = [info.name for info in plugins.plugin_infos(manager())]
        assert ["shuangyong.builtin_plugin", "sample"] == names

    def test_load_only_listed(self) -> None:
        """SHUANGYONG_LOAD_PLUGINS lists what to load: an empty list loads no entry point."""
        assert ["shuangyong.builtin_plugin"] == [i.name for i in plugins.plugin_infos(
            manager(SHUANGYONG_LOAD_PLUGINS=""))]
        assert "sample" in [i.name for i in plugins.plugin_infos(manager(SHUANGYONG_LOAD_PLUGINS="other, sample"))]

    def test_disable(self) -> None:
        """SHUANGYONG_DISABLE_PLUGINS skips entry points and default plugins alike."""
        built = manager(SHUANGYONG_DISABLE_PLUGINS="sample,shuangyong.builtin_plugin")
        assert [] == plugins.plugin_infos(built)
        with pytest.raises(LedgerError) as caught:
            plugins.open_ledger("memory:", built)
        assert "no ledger backend for 'memory:' (available: ;" in caught.value.message.en

    def test_plugin_that_fails_to_import_is_named(self) -> None:
        """A broken plugin is a PluginError with its name and entry point, not a bare traceback."""
        broken = EntryPoint("broken", "tests.no_such_module_here", "shuangyong")
        with pytest.raises(PluginError) as caught:
            manager(broken)
        assert ("broken", "tests.no_such_module_here") == (caught.value.record, caught.value.field)
        assert caught.value.message.en.startswith("plugin broken failed to load: No module named")

    def test_hook_that_raises_is_named(self) -> None:
        """An exception inside a hook names the plugin and the hook."""
        bad = types.ModuleType("bad")
        bad.register_storage = plugins.hookspecs.hookimpl(lambda: 1 / 0)  # type: ignore[attr-defined]
        built = manager()
        built.register(bad, name="bad")
        with pytest.raises(PluginError) as caught:
            plugins.open_ledger("memory:", built)
        assert ("bad", "register_storage", "plugin bad failed in register_storage: division by zero") == (
            caught.value.record, caught.value.field, caught.value.message.en)

    def test_duplicate_id_is_named(self) -> None:
        """Two plugins registering the same storage scheme: both are named."""
        twin = types.ModuleType("twin")
        twin.register_storage = plugins.hookspecs.hookimpl(lambda: {"sample": MemoryLedger})  # type: ignore[attr-defined]
        built = manager()
        built.register(twin, name="twin")
        with pytest.raises(PluginError) as caught:
            plugins.open_ledger("memory:", built)
        assert "'sample' is registered twice, by sample and twin (register_storage)" == caught.value.message.en

    def test_duplicate_check_kind_is_named(self) -> None:
        """Two plugins registering one check kind name: both are named."""
        twin = types.ModuleType("twin")
        twin.register_check_kinds = plugins.hookspecs.hookimpl(  # type: ignore[attr-defined]
            lambda: [sample_plugin.WeekdayCount()])
        built = manager()
        built.register(twin, name="twin")
        with pytest.raises(PluginError) as caught:
            plugins.check_kinds(built)
        assert ("twin", "'sample_weekday_count' is registered twice, by sample and twin (register_check_kinds)") == (
            caught.value.record, caught.value.message.en)

    def test_exporter_names_are_unique_per_subject(self) -> None:
        """One name may serve two subjects from two plugins; twice for one subject names both."""
        class Writer:
            suffix = ".x"

            def __init__(self, *subjects: str) -> None:
                self.subjects = frozenset(subjects)

            def write(self, subject: str, data: object, target: io.BytesIO) -> None:
                raise AssertionError("only looked up here")

        other = types.ModuleType("other")
        other.register_exporters = plugins.hookspecs.hookimpl(lambda: {"jsonl": Writer("compliance")})  # type: ignore[attr-defined]
        clash = types.ModuleType("clash")
        clash.register_exporters = plugins.hookspecs.hookimpl(lambda: {"csv": Writer("ledger")})  # type: ignore[attr-defined]
        built = manager()
        built.register(other, name="other")
        assert (True, True) == ("jsonl" in plugins.exporters("ledger", built),
                                "jsonl" in plugins.exporters("compliance", built))
        built.register(clash, name="clash")
        with pytest.raises(PluginError) as caught:
            plugins.exporters("ledger", built)
        assert "'csv' (ledger) is registered twice, by shuangyong.builtin_plugin and clash (register_exporters)" == (
            caught.value.message.en)

    def test_duplicate_category_is_named(self) -> None:
        """A plugin registering a built-in category id is refused, naming the plugin."""
        clash = types.ModuleType("clash")
        clash.register_categories = plugins.hookspecs.hookimpl(  # type: ignore[attr-defined]
            lambda: [sample_plugin.Term("veteran", sample_plugin.Text("退役军人", "veteran"))])
        built = manager()
        built.register(clash, name="clash")
        with pytest.raises(PluginError) as caught:
            plugins.registry(built)
        assert ("clash", "veteran") == (caught.value.record, caught.value.value)


class TestHooks:
    def test_categories_predicates_and_packs(self, sample: plugins.PluginManager) -> None:
        """A plugin's pack, written on the plugin's category and custom condition, runs in the engine."""
        engine = Engine.from_packs("sample-pack", registry=plugins.registry())
        monday = visit([("1", "registration", "12.00")], categories=("sample_elder",), day="2026-03-02")
        sunday = visit([("1", "registration", "12.00")], categories=("sample_elder",), day="2026-03-01")
        assert (Decimal("12.00"), Decimal("0.00")) == (
            engine.evaluate(monday).lines[0].reduction, engine.evaluate(sunday).lines[0].reduction)
        trace = engine.explain(sunday).lines[0].considered
        assert "weekday 6" in next(t for t in trace if t.rule == "sample.weekday-registration").reason.en

    def test_unknown_custom_condition(self, tmp_path: Path) -> None:
        """A pack naming a custom condition no plugin registered fails when merged, at its field."""
        pack = (ROOT / "tests" / "plugin_data" / "sample-pack.yaml").read_text(encoding="utf-8")
        path = tmp_path / "p.yaml"
        path.write_text(pack.replace("category: sample_elder, ", "").replace("extends: seed-example\n", ""),
                        encoding="utf-8")
        with pytest.raises(PolicyError) as caught:
            Engine.from_packs(str(path))
        assert ("rules[0].when.custom.weekday", True) == (
            caught.value.field, caught.value.message.en.startswith(
                "rule sample.weekday-registration: unknown custom condition 'weekday'"))

    def test_standards_check_kinds_and_his_adapters(self, sample: plugins.PluginManager) -> None:
        """Registration hooks hand their answers on, keyed by id."""
        assert (ROOT / "tests" / "plugin_data" / "sample-standards.yaml") == plugins.collect(
            "register_standards")["sample-standards"]
        assert ["sample_weekday_count"] == [name for plugin, kinds in plugins.call_each("register_check_kinds")
                                            if plugin == "sample" for name in (kind.name for kind in kinds)]
        records = list(plugins.collect("register_his_adapters")["sample-his"].read(["A1|E9|12.00"]))
        assert ("A1", "12.00") == (records[0]["visit_id"], records[0]["lines"][0]["amount"])

    def test_storage_exporter_and_audit_wrapper(self, sample: plugins.PluginManager) -> None:
        """A plugin's ledger scheme and exporter work; its wrapper around ledger_append sees each append."""
        engine = Engine.from_packs("sample-pack", registry=plugins.registry())
        v = visit([("1", "registration", "12.00")], categories=("sample_elder",), day="2026-03-02")
        ledger = plugins.open_ledger("sample:")
        sample_plugin.AUDIT.clear()
        postings = plugins.post(ledger, requests_for(v, engine.evaluate(v), engine.policy))
        assert ([("sample:", 1)], 1200) == (sample_plugin.AUDIT, postings[0].granted_fen)
        out = io.BytesIO()
        plugins.exporters("ledger")["tsv"].write("ledger", ledger.postings(), out)
        assert f"1\t{v.visit_id}\t1200\n" == out.getvalue().decode()

    def test_resolve_beneficiary(self, sample: plugins.PluginManager) -> None:
        """A visit that names only a patient id is completed by the first plugin that knows them."""
        known = visit([("1", "registration", "12.00")], patient_id="E1")
        unknown = visit([("1", "registration", "12.00")], patient_id="X1")
        assert (frozenset({"sample_elder"}), unknown) == (
            plugins.resolve_beneficiary(known).patient.categories, plugins.resolve_beneficiary(unknown))

    def test_commands_and_listing(self, sample: plugins.PluginManager) -> None:
        """register_commands adds a subcommand; `shuangyong plugins` lists the plugin and its hooks."""
        from shuangyong.cli import main

        plugins.add_commands(main)
        try:
            assert "你好 from the sample plugin\n" == CliRunner().invoke(main, ["hello"]).stdout
            listing = CliRunner().invoke(main, ["plugins"]).stdout
        finally:
            main.commands.pop("hello")
        assert re.search(r"^sample\s+—\s+ledger_append, register_categories", listing, re.M)


def test_yearly_cap_from_a_plugin_pack(sample: plugins.PluginManager) -> None:
    """The pack's per_year cap (20.00) holds across visits: 12.00, then 8.00, then nothing."""
    engine = Engine.from_packs("sample-pack", registry=plugins.registry())
    ledger = plugins.open_ledger("memory:")
    granted = []
    for n, day in enumerate(["2026-03-02", "2026-03-03", "2026-03-04"]):
        v = visit([("1", "registration", "12.00")], categories=("sample_elder",), day=day, visit_id=f"V{n}")
        granted.append(plugins.post(ledger, requests_for(v, engine.evaluate(v), engine.policy))[0].granted_fen)
    assert [1200, 800, 0] == granted
    assert dt.date(2026, 3, 4) == list(ledger.postings())[-1].business_date


class TestExporterNames:
    """Exporter names are unique per subject, so a plugin's `html` for decisions can sit beside the
    built-in `html` for compliance reports."""

    @staticmethod
    def _with(*exporters: tuple[str, frozenset[str]]) -> plugins.PluginManager:
        built = manager()
        for n, (name, subjects) in enumerate(exporters):
            module = types.ModuleType(f"exporter_plugin_{n}")
            answer = {name: types.SimpleNamespace(subjects=subjects, suffix=".x", write=print)}
            module.register_exporters = hookspecs.hookimpl(lambda answer=answer: answer)  # type: ignore[attr-defined]
            built.register(module, name=f"exporters-{n}")
        return built

    def test_same_name_for_different_subjects(self) -> None:
        built = self._with(("tsv", frozenset({"decisions"})))
        assert ({"decisions"}, {"ledger"}) == (set(plugins.exporters("decisions", built)["tsv"].subjects),
                                               set(plugins.exporters("ledger", built)["tsv"].subjects))

    def test_same_name_for_the_same_subject_is_refused(self) -> None:
        built = self._with(("csv", frozenset({"ledger", "decisions"})))
        with pytest.raises(PluginError) as caught:
            plugins.exporters("ledger", built)
        assert ("exporters-0", "register_exporters", "csv") == (
            caught.value.record, caught.value.field, caught.value.value)
        assert "tsv" not in plugins.exporters("decisions", built)  # the other subject is unaffected


def _plugin(**hooks: object) -> types.ModuleType:
    """A plugin module whose hooks return the given answers."""
    module = types.ModuleType("odd")
    for name, answer in hooks.items():
        setattr(module, name, hookspecs.hookimpl(lambda answer=answer: answer))
    return module


class TestBadAnswers:
    """Issue 15 §6: whatever a plugin returns, the failure names the plugin and the hook."""

    @pytest.mark.parametrize(("hooks", "call", "says"), [
        ({"register_policy_packs": {"elders": "/nonexistent/elders.yaml"}}, lambda m: plugins.registry(m),
         "register_policy_packs: elders: no file at /nonexistent/elders.yaml"),
        ({"register_policy_packs": {1: Path("x.yaml")}}, lambda m: plugins.registry(m),
         "register_policy_packs: names must be non-empty strings, got 1"),
        ({"register_policy_packs": ["elders.yaml"]}, lambda m: plugins.registry(m),
         "register_policy_packs: expected a mapping of names (a dict), got list"),
        ({"register_categories": ["sample_elder"]}, lambda m: plugins.registry(m),
         "register_categories: expected a Term, got 'sample_elder'"),
        ({"register_storage": {"odd": "not a class"}}, lambda m: plugins.open_ledger("odd:", m),
         "register_storage: odd: expected a ledger factory (a callable), got str"),
        ({"register_his_adapters": {"odd": object()}}, lambda m: plugins.collect("register_his_adapters", m),
         "register_his_adapters: odd: object is not a HIS adapter: it lacks read"),
        ({"register_exporters": {"odd": types.SimpleNamespace(suffix=".x")}}, lambda m: plugins.exporters("ledger", m),
         "register_exporters: odd: SimpleNamespace is not an exporter: it lacks subjects, write"),
        ({"register_check_kinds": "weekday"}, lambda m: plugins.check_kinds(m),
         "register_check_kinds: expected a list of check kinds, got str"),
    ])
    def test_a_bad_answer_is_a_plugin_error(self, hooks: dict, call: object, says: str) -> None:
        built = manager(SHUANGYONG_LOAD_PLUGINS="")
        built.register(_plugin(**hooks), name="odd")
        with pytest.raises(PluginError) as caught:
            call(built)  # type: ignore[operator]
        assert ("odd", f"plugin odd returned a bad answer from {says}") == (
            caught.value.record, caught.value.message.en)

    def test_a_str_path_to_a_pack_is_taken(self) -> None:
        built = manager(SHUANGYONG_LOAD_PLUGINS="")
        pack = ROOT / "tests" / "plugin_data" / "sample-pack.yaml"
        built.register(_plugin(register_policy_packs={"sample-pack": str(pack)}), name="odd")
        assert pack == plugins.registry(built).packs["sample-pack"]

    def test_a_misspelled_hook_is_refused_when_loaded(self) -> None:
        misspelled = EntryPoint("misspelled", "tests.plugin_data.misspelled", "shuangyong")
        with pytest.raises(PluginError) as caught:
            manager(misspelled)
        assert ("misspelled", "register_category") == (caught.value.record, caught.value.field)
        assert caught.value.message.en == ("plugin misspelled implements register_category, which is not a "
                                           "shuangyong hook; did you mean register_categories?")

    @pytest.mark.parametrize("args", [["policy", "list"], ["evaluate", "examples/visit.json"]])
    def test_the_command_line_exits_2_naming_the_plugin(self, monkeypatch: pytest.MonkeyPatch, args: list[str]) -> None:
        built = manager(SHUANGYONG_LOAD_PLUGINS="")
        built.register(_plugin(register_policy_packs={"elders": "elders.yaml"}), name="odd")
        monkeypatch.setattr(plugins, "plugin_manager", lambda: built)
        monkeypatch.chdir(ROOT)
        from shuangyong.cli import main

        result = CliRunner().invoke(main, ["--lang", "en", *args])
        assert (2, "error: record odd, field register_policy_packs: plugin odd returned a bad answer from "
                   "register_policy_packs: elders: no file at elders.yaml\n") == (result.exit_code, result.stderr)

    def test_a_plugin_that_fails_to_load_makes_every_command_exit_2(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import shuangyong.cli as cli

        def broken() -> plugins.PluginManager:
            return manager(EntryPoint("misspelled", "tests.plugin_data.misspelled", "shuangyong"))

        working = plugins.plugin_manager
        monkeypatch.setattr(cli.main, "callback", cli.main.callback)
        monkeypatch.setattr(plugins, "plugin_manager", broken)
        result = CliRunner().invoke(cli.main, ["--lang", "en", "policy", "list"])
        assert (2, True) == (result.exit_code, "plugin misspelled implements register_category" in result.stderr)
        monkeypatch.setattr(plugins, "plugin_manager", working)  # the plugins are read at each run
        result = CliRunner().invoke(cli.main, ["--lang", "en", "policy", "list"])
        assert (0, "") == (result.exit_code, result.stderr)
