"""Loading, validating and layering policy packs: every error names file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from shuangyong.errors import PolicyError
from shuangyong.model import Registry
from shuangyong.policy import PolicySet, load_reference
from shuangyong.policy.regions import region_prefix

from .builders import write_pack

REGISTRY = Registry.builtin()
VALID = """
    pack: base
    title: {zh: 基础, en: base}
    rules:
      - id: r1
        title: {zh: 规则, en: rule}
        clause: 条款
        source: test
        when: {category: key_care}
        items: [registration]
        benefit: {reduce: "50%"}
"""


def load(*paths: Path) -> PolicySet:
    return PolicySet.load([str(p) for p in paths], REGISTRY)


def error_of(tmp_path: Path, body: str, *more: tuple[str, str]) -> PolicyError:
    for name, text in more:
        write_pack(tmp_path, name, text)
    path = write_pack(tmp_path, "pack", body)
    with pytest.raises(PolicyError) as caught:
        load(path)
    return caught.value


def test_valid_pack_loads(tmp_path: Path) -> None:
    """A minimal pack loads into one rule with its region and a fingerprint."""
    merged = load(write_pack(tmp_path, "base", VALID))
    assert (("base",), ["r1"], "") == (merged.packs, [r.spec.id for r in merged.rules], merged.rules[0].region)
    assert merged.fingerprint.startswith("sha256:") and 7 + 16 == len(merged.fingerprint)


NOT_DIGITS = "not a number written as digits with at most two decimals"


@pytest.mark.parametrize(("replace", "by", "field", "fragment"), [
    # a bool is an int in Python, Decimal reads "5_0", YAML 1.1 reads 012 as 10 and yes as true
    ("    pack: base\n", "    schema_version: true\n    pack: base\n", "schema_version",
     "must be a whole number, got true"),
    ("    pack: base\n", '    schema_version: "1"\n    pack: base\n', "schema_version",
     "must be a whole number, got '1'"),
    ('{reduce: "50%"}', '{reduce: "5_0%"}', "rules[0].benefit.reduce", 'written like "50%", got \'5_0%\''),
    ('{reduce: "50%"}', '{reduce: " 50%"}', "rules[0].benefit.reduce", 'written like "50%"'),
    ('{reduce: "50%"}', '{reduce: "5e1%"}', "rules[0].benefit.reduce", 'written like "50%"'),
    ('{reduce: "50%"}', '{reduce: "+50%"}', "rules[0].benefit.reduce", 'written like "50%"'),
    ('{reduce: "50%"}', '{reduce: "５０%"}', "rules[0].benefit.reduce", 'written like "50%"'),
    ('{reduce: "50%"}', '{fixed: "1e3"}', "rules[0].benefit.fixed", NOT_DIGITS),
    ('{reduce: "50%"}', '{fixed: "+12.00"}', "rules[0].benefit.fixed", NOT_DIGITS),
    ('{reduce: "50%"}', '{fixed: " 12.00"}', "rules[0].benefit.fixed", NOT_DIGITS),
    ('{reduce: "50%"}', '{fixed: ".5"}', "rules[0].benefit.fixed", NOT_DIGITS),
    ('{reduce: "50%"}', '{fixed: "12."}', "rules[0].benefit.fixed", NOT_DIGITS),
    ('{reduce: "50%"}', '{fixed: "1_000"}', "rules[0].benefit.fixed", NOT_DIGITS),
    ('{reduce: "50%"}', '{fixed: "10000000000.00"}', "rules[0].benefit.fixed",
     "above the maximum of 9999999999.99 yuan"),
    ('{reduce: "50%"}', "{fixed: " + "9" * 5000 + "}", "rules[0].benefit.fixed", "(5000 digits) is too large"),
    ('{reduce: "50%"}', '{reduce: "50%"}\n        caps: {per_line: "1e3"}', "rules[0].caps.per_line",
     NOT_DIGITS),
    ('{reduce: "50%"}', "{waive: 1}", "rules[0].benefit.waive", "must be true or false, got 1"),
    ('{reduce: "50%"}', '{waive: "false"}', "rules[0].benefit.waive", "must be true or false, got 'false'"),
    ("{category: key_care}", "{age: {min: 012}}", "rules[0].when.age.min", "must be a whole number, got '012'"),
    ("{category: key_care}", "{age: {min: 0x10}}", "rules[0].when.age.min", "must be a whole number, got '0x10'"),
    ("{category: key_care}", "{age: {min: 1_000}}", "rules[0].when.age.min", "must be a whole number, got '1_000'"),
    ("{category: key_care}", "{age: {max: 60.0}}", "rules[0].when.age.max", "must be a whole number, got 60.0"),
    ("{category: key_care}", "{age: {max: " + "9" * 5000 + "}}", "rules[0].when.age.max",
     "(5000 digits) is too large (at most 1000000000)"),
    ("        source: test\n", "        source: test\n        override: yes\n", "rules[0].override",
     "must be true or false, got 'yes'"),
    ("      - id: r1", "      - id: r" + "1" * 200, "rules[0].id", "at most 200 characters"),
])
def test_lenient_readings_are_refused(tmp_path: Path, replace: str, by: str, field: str, fragment: str) -> None:
    """Values Python or YAML 1.1 would read generously are refused at their line, in zh and en."""
    assert replace in VALID
    error = error_of(tmp_path, VALID.replace(replace, by))
    assert (field, True, True) == (error.field, fragment in error.message.en, bool(error.message.zh)), error.message.en
    assert error.record.startswith(f"{tmp_path / 'pack.yaml'}:")


@pytest.mark.parametrize(("replace", "by", "line", "field", "fragment"), [
    ("        benefit:", "        benfit:", 10, "rules[0].benfit", "unknown key 'benfit'"),
    ('{reduce: "50%"}', '{reduce: "150%"}', 10, "rules[0].benefit.reduce", "between 0% and 100%"),
    ('{reduce: "50%"}', '{reduce: "abc"}', 10, "rules[0].benefit.reduce", 'written like "50%"'),
    ('{reduce: "50%"}', '{reduce: "50%", waive: true}', 10, "rules[0].benefit", "exactly one of"),
    ("        when: {category: key_care}\n", "        when: {}\n", 8, "rules[0].when", "empty condition"),
    ("      - id: r1", "      - id: r 1", 4, "rules[0].id", "invalid value"),
    ("        clause: 条款\n", "", 4, "rules[0].clause", "missing required key 'clause'"),
    ("    pack: base\n", "    schema_version: 2\n    pack: base\n", 1, "schema_version", "schema_version 1"),
    ("        items: [registration]\n", "", 4, "rules[0]", "items and benefit go together"),
])
def test_schema_errors_name_line_and_field(tmp_path: Path, replace: str, by: str, line: int, field: str,
                                           fragment: str) -> None:
    """Each invalid pack is refused with file:line of the offending key and its dotted field."""
    assert replace in VALID
    error = error_of(tmp_path, VALID.replace(replace, by))
    assert (f"{tmp_path / 'pack.yaml'}:{line}", field) == (error.record, error.field)
    assert fragment in error.message.en and error.message.zh


def test_error_names_the_rule(tmp_path: Path) -> None:
    """A rule's error message names the rule id."""
    error = error_of(tmp_path, VALID.replace('"50%"', '"150%"'))
    assert error.message.en.startswith("rule r1:")


@pytest.mark.parametrize(("replace", "by", "fragment", "field"), [
    ("{category: key_care}", "{category: space_cadet}", "unknown category 'space_cadet'", "rules[0].when.category"),
    ("[registration]", "[registraton]", "unknown item kind 'registraton'", "rules[0].items"),
    ('{reduce: "50%"}', "{waive_deposit: true}", "deposit items only", "rules[0].benefit"),
    ("{category: key_care}", "{credential: library_card}", "unknown credential kind", "rules[0].when.credential"),
    ("{category: key_care}", "{visit_kind: ward}", "unknown visit kind", "rules[0].when.visit_kind"),
    ("{category: key_care}", "{any: [{region: '4501x'}]}", "invalid region", "rules[0].when.any[0].region"),
])
def test_ids_checked_against_registry(tmp_path: Path, replace: str, by: str, fragment: str, field: str) -> None:
    """Ids a rule mentions must be registered; the error points at the rule's key."""
    error = error_of(tmp_path, VALID.replace(replace, by))
    assert fragment in error.message.en
    assert field == error.field
    assert error.record.startswith(f"{tmp_path / 'pack.yaml'}:")


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    """YAML would keep the last of two equal keys; the loader refuses them."""
    error = error_of(tmp_path, VALID.replace("        source: test\n", "        source: test\n        source: again\n"))
    assert ("key 'source' appears twice (also line 7)", "rules[0].source") == (error.message.en, error.field)
    assert error.record.endswith(":8")


def test_invalid_yaml_syntax(tmp_path: Path) -> None:
    """Broken YAML is reported with its line."""
    error = error_of(tmp_path, VALID.replace("title: {zh: 基础, en: base}", "title: {zh: 基础, en: base"))
    assert "invalid YAML" in error.message.en


def test_not_a_mapping(tmp_path: Path) -> None:
    """A pack must be a mapping."""
    assert "must be a YAML mapping" in error_of(tmp_path, "- a\n- b\n").message.en


def test_effective_to_before_from(tmp_path: Path) -> None:
    """An effective window ending before it starts is refused."""
    backwards = "        effective: {from: 2025-02-01, to: 2025-01-31}\n        when:"
    error = error_of(tmp_path, VALID.replace("        when:", backwards))
    assert "before 'from'" in error.message.en and "rules[0].effective" == error.field


BASE = VALID.replace("pack: base", "pack: base")
CHILD = """
    pack: child
    title: {zh: 子, en: child}
    extends: base.yaml
    rules:
      - id: r1
        title: {zh: 规则, en: rule}
        clause: 条款
        source: test
        items: [registration]
        benefit: {reduce: "50%"}
"""


class TestLayering:
    def test_clash_without_override(self, tmp_path: Path) -> None:
        """Redefining a lower layer's rule without override: true is an error naming the pack."""
        error = error_of(tmp_path, CHILD, ("base", BASE))
        assert "already defined by base; write override: true" in error.message.en

    def test_override_without_target(self, tmp_path: Path) -> None:
        """override: true with nothing to replace is an error (it catches misspelt ids)."""
        error = error_of(tmp_path, CHILD.replace("    extends: base.yaml\n", "").replace(
            "        source: test\n", "        source: test\n        override: true\n"))
        assert "no lower layer defines this rule" in error.message.en

    def test_override_replaces_in_place(self, tmp_path: Path) -> None:
        """An override keeps the rule's position and takes the new content."""
        write_pack(tmp_path, "base", BASE.replace("    rules:\n", "    rules:\n      - id: r0\n"
                                                  "        title: {zh: 规则, en: rule}\n"
                                                  "        clause: 条款\n        source: test\n        items: [drug]\n"
                                                  "        benefit: {waive: true}\n"))
        child = write_pack(tmp_path, "child", CHILD.replace(
            "        source: test\n", "        source: test\n        override: true\n").replace('"50%"', '"20%"'))
        merged = load(child)
        assert (("base", "child"), ["r0", "r1"], "20%") == (
            merged.packs, [r.spec.id for r in merged.rules], merged.rules[1].spec.benefit.reduce)  # type: ignore[union-attr]

    def test_disable(self, tmp_path: Path) -> None:
        """disable removes a lower layer's rule; an unknown id is an error."""
        write_pack(tmp_path, "base", BASE)
        child = CHILD.replace("    rules:\n", "    disable: [r1]\n    rules: []\n").split("      - id")[0]
        assert [] == list(load(write_pack(tmp_path, "child", child)).rules)
        error = error_of(tmp_path, child.replace("[r1]", "[r9]"), ("base", BASE))
        assert "disabled rule 'r9'" in error.message.en and "disable[0]" == error.field

    def test_cycle(self, tmp_path: Path) -> None:
        """Packs extending each other in a cycle are refused, naming the cycle."""
        write_pack(tmp_path, "a", "pack: a\ntitle: {zh: 甲, en: a}\nextends: b.yaml\n")
        write_pack(tmp_path, "b", "pack: b\ntitle: {zh: 乙, en: b}\nextends: a.yaml\n")
        with pytest.raises(PolicyError, match="cycle: a → b → a"):
            load(tmp_path / "a.yaml")

    def test_two_files_one_name(self, tmp_path: Path) -> None:
        """Two different files may not both call themselves the same pack."""
        write_pack(tmp_path, "one", "pack: same\ntitle: {zh: 甲, en: a}\n")
        write_pack(tmp_path, "two", "pack: same\ntitle: {zh: 乙, en: b}\n")
        with pytest.raises(PolicyError, match="two policy packs share the id 'same'"):
            load(tmp_path / "one.yaml", tmp_path / "two.yaml")

    def test_rule_region_inside_pack_region(self, tmp_path: Path) -> None:
        """A rule cannot reach outside its pack's region."""
        error = error_of(tmp_path, VALID.replace("    rules:", '    region: "450000"\n    rules:').replace(
            "        when:", '        region: "370100"\n        when:'))
        assert "lies outside the pack's region" in error.message.en

    def test_unknown_builtin(self) -> None:
        """An unknown built-in name lists what is available."""
        with pytest.raises(PolicyError, match="available: cn-national, seed-example"):
            load_reference("no-such-pack")

    def test_extends_resolves_relative_to_the_pack(self, tmp_path: Path) -> None:
        """extends paths are read relative to the file that names them."""
        (tmp_path / "sub").mkdir()
        write_pack(tmp_path / "sub", "base", BASE)
        write_pack(tmp_path, "top", "pack: top\ntitle: {zh: 顶, en: top}\nextends: sub/base.yaml\n")
        assert ("base", "top") == load(tmp_path / "top.yaml").packs


class TestFingerprint:
    def test_stable_and_blind_to_comments(self, tmp_path: Path) -> None:
        """Loading twice, or with comments and spacing changed, gives the same fingerprint."""
        first = load(write_pack(tmp_path, "a", VALID)).fingerprint
        spaced = "# a comment\n" + VALID.replace("{category: key_care}", "{ category:   key_care }")
        again = load(write_pack(tmp_path, "b", spaced)).fingerprint
        assert first == again

    def test_changes_with_a_rate(self, tmp_path: Path) -> None:
        """Changing a rate changes the fingerprint."""
        first = load(write_pack(tmp_path, "a", VALID)).fingerprint
        assert first != load(write_pack(tmp_path, "b", VALID.replace('"50%"', '"51%"'))).fingerprint


@pytest.mark.parametrize(("code", "prefix"), [("*", ""), ("450000", "45"), ("450100", "4501"), ("450103", "450103"),
                                              ("45", "45"), ("4501", "4501")])
def test_region_prefix(code: str, prefix: str) -> None:
    """GB/T 2260 codes become prefixes by dropping trailing 00 pairs."""
    assert prefix == region_prefix(code)


@pytest.mark.parametrize("code", ["4", "45000a", "4500000", ""])
def test_bad_region(code: str) -> None:
    """Codes that are not 2, 4 or 6 digits are refused."""
    with pytest.raises(ValueError):
        region_prefix(code)
