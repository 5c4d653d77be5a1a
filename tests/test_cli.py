"""The ``shuangyong`` command: contract in and out, exit codes, and every bad-input path."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from shuangyong.cli import main


def good_visit(visit_id: str = "V1") -> dict[str, Any]:
    return {
        "visit_id": visit_id, "date": "2025-03-01", "kind": "outpatient", "region": "450100",
        "patient": {"id": "P1", "categories": ["disabled_veteran"], "disability_level": 5,
                    "credentials": [{"kind": "key_care_medical_card", "number": "桂001",
                                     "valid_from": "2024-01-01", "valid_to": "2025-03-01"}]},
        "lines": [{"line_id": "1", "item": "registration", "amount": "12.00"},
                  {"line_id": "2", "item": "drug", "amount": "37.85"}],
    }


def run(*args: str, stdin: str | bytes | None = None) -> Any:
    return CliRunner().invoke(main, ["--lang", "en", *args], input=stdin)


def jsonl(*records: object) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def outputs(result: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


class TestEvaluate:
    def test_jsonl_in_jsonl_out(self) -> None:
        """JSON Lines in gives one decision per line, in input order, amounts as strings."""
        result = run("evaluate", "-", stdin=jsonl(good_visit("A"), good_visit("B")))
        assert 0 == result.exit_code, result.output
        decisions = outputs(result)
        assert ["A", "B"] == [d["visit_id"] for d in decisions]
        line = decisions[0]["lines"][0]
        assert ("12.00", "12.00", "0.00", "two-waivers.registration") == (
            line["amount"], line["reduction"], line["payable"], line["rule"])
        assert {"amount": "49.85", "reduction": "12.00", "payable": "37.85"} == decisions[0]["totals"]

    def test_single_object_gives_single_object(self) -> None:
        """A pretty-printed JSON object in gives one JSON object out."""
        result = run("evaluate", "-", stdin=json.dumps(good_visit(), indent=2))
        assert 0 == result.exit_code, result.output
        assert "V1" == json.loads(result.stdout)["visit_id"]

    def test_array_gives_array(self) -> None:
        """A JSON array in gives a JSON array out, in the same order."""
        result = run("evaluate", "-", stdin=json.dumps([good_visit("A"), good_visit("B")], indent=1))
        assert 0 == result.exit_code, result.output
        assert ["A", "B"] == [d["visit_id"] for d in json.loads(result.stdout)]

    def test_format_json_on_jsonl_input_gives_array(self) -> None:
        """--format json turns a JSON Lines stream into one JSON array."""
        result = run("evaluate", "--format", "json", "-", stdin=jsonl(good_visit("A"), good_visit("B")))
        assert ["A", "B"] == [d["visit_id"] for d in json.loads(result.stdout)]

    def test_table_in_chinese(self) -> None:
        """The table shows Chinese item names, rule titles and totals with --lang zh."""
        result = CliRunner().invoke(main, ["--lang", "zh", "evaluate", "--format", "table", "-"],
                                    input=jsonl(good_visit()))
        assert 0 == result.exit_code, result.output
        assert "挂号费" in result.stdout and "“两免”：免交挂号费" in result.stdout
        assert "合计" in result.stdout and "49.85" in result.stdout

    def test_output_file_written_whole(self, tmp_path: Path) -> None:
        """-o writes the decisions to the file and nothing to stdout."""
        target = tmp_path / "out.jsonl"
        result = run("evaluate", "-o", str(target), "-", stdin=jsonl(good_visit()))
        assert 0 == result.exit_code, result.output
        assert "" == result.stdout
        assert "V1" == json.loads(target.read_text(encoding="utf-8"))["visit_id"]
        assert [target] == list(tmp_path.iterdir())

    def test_bad_policy_leaves_no_output_file(self, tmp_path: Path) -> None:
        """A policy that fails to load exits 2 before any output file is created."""
        target = tmp_path / "out.jsonl"
        result = run("evaluate", "-p", "no-such-pack", "-o", str(target), "-", stdin=jsonl(good_visit()))
        assert 2 == result.exit_code
        assert "no policy pack named 'no-such-pack'" in result.stderr
        assert [] == list(tmp_path.iterdir())

    def test_charge_codes_map_lines_without_item(self, tmp_path: Path) -> None:
        """--codes resolves a line that sends only the hospital's charge code."""
        codes = tmp_path / "codes.csv"
        codes.write_text("code,item,description\n110200001,registration,普通门诊挂号费\n", encoding="utf-8")
        visit = good_visit()
        visit["lines"] = [{"line_id": "1", "code": "110200001", "amount": "6.00"}]
        result = run("evaluate", "--codes", str(codes), "-", stdin=jsonl(visit))
        assert 0 == result.exit_code, result.output
        assert ("registration", "6.00") == (outputs(result)[0]["lines"][0]["item"],
                                            outputs(result)[0]["lines"][0]["reduction"])

    def test_strict_refuses_unknown_item(self) -> None:
        """--strict turns an unknown item kind into an error for that record only."""
        visit = good_visit()
        visit["lines"][1]["item"] = "acupuncture"
        lenient = run("evaluate", "-", stdin=jsonl(visit))
        assert (0, "0.00") == (lenient.exit_code, outputs(lenient)[0]["lines"][1]["reduction"])
        strict = run("evaluate", "--strict", "-", stdin=jsonl(visit))
        assert 2 == strict.exit_code
        assert "UnknownItemError" == outputs(strict)[0]["error"]["type"]


def _set(path: str, value: object) -> Any:
    """A mutation that sets a dotted path (``lines.0.amount``) of a visit to ``value``."""
    def mutate(visit: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = visit
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if value is _DELETE:
            del target[last]
        else:
            target[int(last) if last.isdigit() else last] = value
    return mutate


_DELETE = object()

BAD_RECORDS = {
    "float amount": (_set("lines.0.amount", 12.5), "MoneyError", "lines[0].amount", "float"),
    "negative amount": (_set("lines.0.amount", "-3.00"), "MoneyError", "lines[0].amount", "negative"),
    "three decimals": (_set("lines.0.amount", "1.005"), "MoneyError", "lines[0].amount", "more than two decimals"),
    "missing date": (_set("date", _DELETE), "InputError", "date", "missing required field"),
    "unknown category": (_set("patient.categories", ["space_cadet"]), "UnknownCategoryError",
                         "patient.categories", "unknown category 'space_cadet'"),
    "unknown credential": (_set("patient.credentials.0.kind", "library_card"), "UnknownCategoryError",
                           "patient.credentials[0].kind", "unknown credential kind 'library_card'"),
    "disability level 11": (_set("patient.disability_level", 11), "InputError",
                            "patient.disability_level", "disability level must be 1 to 10"),
    "impossible date": (_set("date", "2025-02-30"), "DateError", "date", "impossible"),
    "malformed date": (_set("date", "2025/03/01"), "DateError", "date", "YYYY-MM-DD"),
    "valid_to before valid_from": (_set("patient.credentials.0.valid_to", "2023-01-01"), "DateError",
                                   "patient.credentials[0].valid_to", "before start date"),
    "duplicate line_id": (_set("lines.1.line_id", "1"), "InputError", "lines[1].line_id", "appears twice"),
    "unknown field": (_set("lines.0.ammount", "1.00"), "InputError", "lines[0].ammount", "unknown field"),
    # issue 14 (15): what the contract refuses but was accepted
    **{f"amount {text!r}": (_set("lines.0.amount", text), "MoneyError", "lines[0].amount",
                            "is not a number written as digits") for text in (" 12.00", "+12.00", "1e3", ".5", "12.")},
    **{f"disability level {value!r}": (_set("patient.disability_level", value), "InputError",
                                       "patient.disability_level", "valid integer") for value in (True, "5", 5.0)},
    # issue 14 (4): amounts past the maximum
    "amount past 28 digits": (_set("lines.0.amount", "1" + "0" * 28), "MoneyError", "lines[0].amount",
                              "above the maximum of 9999999999.99 yuan"),
    "amount past the maximum": (_set("lines.0.amount", "10000000000.00"), "MoneyError", "lines[0].amount",
                                "above the maximum"),
    "int amount past the maximum": (_set("lines.0.amount", 10**30), "MoneyError", "lines[0].amount",
                                    "above the maximum"),
    # issue 14 (5): bounded ids and text
    "line_id of 5000 digits": (_set("lines.0.line_id", "7" * 5000), "InputError", "lines[0].line_id",
                               "longer than 200 characters"),
    **{f"{path} too long": (_set(path, "x" * 201), "InputError", field, "longer than 200 characters")
       for path, field in (
           ("patient.id", "patient.id"), ("patient.credentials.0.number", "patient.credentials[0].number"),
           ("patient.credentials.0.kind", "patient.credentials[0].kind"), ("lines.0.item", "lines[0].item"),
           ("lines.0.code", "lines[0].code"), ("region", "region"),
           ("patient.disability_cause", "patient.disability_cause"))},
    "tag too long": (_set("lines.0.tags", ["ok", "t" * 201]), "InputError", "lines[0].tags[1]", "longer than 200"),
    "category too long": (_set("patient.categories", ["c" * 201]), "InputError", "patient.categories[0]",
                          "longer than 200"),
    "description too long": (_set("lines.0.description", "药" * 2001), "InputError", "lines[0].description",
                             "longer than 2000 characters"),
    "name too long": (_set("patient.name", "名" * 2001), "InputError", "patient.name", "longer than 2000"),
}


@pytest.mark.parametrize("name", BAD_RECORDS)
def test_bad_record_is_reported_and_nothing_is_lost(name: str) -> None:
    """A bad record between two good ones: exit 2, its error in place, both neighbours decided."""
    mutate, error_type, field, fragment = BAD_RECORDS[name]
    bad = copy.deepcopy(good_visit("BAD"))
    mutate(bad)
    result = run("evaluate", "-", stdin=jsonl(good_visit("A"), bad, good_visit("B")))
    assert 2 == result.exit_code, result.output
    records = outputs(result)
    assert ["A", "BAD", "B"] == [r["visit_id"] for r in records]
    error = records[1]["error"]
    assert (error_type, "BAD", field) == (error["type"], error["record"], error["field"])
    assert fragment in error["message"]["en"]
    assert error["message"]["zh"]  # every message also carries Chinese
    assert "decision" not in records[1] and "lines" in records[0] and "lines" in records[2]


def test_invalid_json_line_is_reported_in_place() -> None:
    """A line that is not JSON gets an error naming its line; the lines around it are decided."""
    text = jsonl(good_visit("A")) + '{"visit_id": "X", \n' + jsonl(good_visit("B"))
    result = run("evaluate", "-", stdin=text)
    assert 2 == result.exit_code
    records = outputs(result)
    assert ["A", None, "B"] == [r["visit_id"] for r in records]
    assert ("line 2", "invalid JSON") == (records[1]["error"]["record"], records[1]["error"]["message"]["en"][:12])


def test_invalid_json_document() -> None:
    """A multi-line document that is not JSON exits 2 with a message on stderr."""
    result = run("evaluate", "-", stdin='{\n "visit_id": \n')
    assert 2 == result.exit_code
    assert "invalid JSON" in result.stderr


@pytest.mark.parametrize("text", ["", "\n\n", "[]"])
def test_empty_input(text: str) -> None:
    """An empty file (or empty array) exits 2 and says there are no records."""
    result = run("evaluate", "-", stdin=text)
    assert 2 == result.exit_code
    assert "no visit records" in result.stderr
    assert "" == result.stdout


@pytest.mark.parametrize(("yaml_body", "fragment", "line"), [
    ("    benfit: {reduce: '50%'}\n", "unknown key 'benfit'", 9),
    ("    benefit: {reduce: '150%'}\n", "between 0% and 100%", 9),
    ("    benefit: {reduce: 'half'}\n", "is written like", 9),
])
def test_bad_policy_yaml(tmp_path: Path, yaml_body: str, fragment: str, line: int) -> None:
    """A pack with an unknown key or a bad percentage: exit 2, file:line and the field named."""
    pack = tmp_path / "bad.yaml"
    pack.write_text(
        "pack: bad\n"
        "title: {zh: 坏, en: bad}\n"
        "rules:\n"
        "  - id: r1\n"
        "    title: {zh: 规则, en: rule}\n"
        "    clause: 条款\n"
        "    source: test\n"
        "    items: [registration]\n" + yaml_body, encoding="utf-8")
    for command in (["policy", "check", str(pack)], ["evaluate", "-p", str(pack), "-"]):
        result = run(*command, stdin=jsonl(good_visit()))
        assert 2 == result.exit_code, result.output
        assert f"{pack}:{line}" in result.stderr and fragment in result.stderr
        assert "" == result.stdout


class TestExplain:
    def test_text_names_rules_and_reasons(self) -> None:
        """explain prints the applied rule, the unmet ones with reasons, and the clauses."""
        result = run("explain", "-", stdin=jsonl(good_visit()))
        assert 0 == result.exit_code, result.output
        assert "[applied −12.00] two-waivers.registration" in result.stdout
        assert "[not eligible] military-window" in result.stdout
        assert "凭“重点优抚对象医疗证”就诊" in result.stdout

    def test_expired_card_reason(self) -> None:
        """For a card that expired the day before, explain says it is not valid on the date."""
        visit = good_visit()
        visit["patient"]["credentials"][0]["valid_to"] = "2025-02-28"
        result = run("explain", "--format", "json", "-", stdin=jsonl(visit))
        considered = json.loads(result.stdout)["lines"][0]["considered"][0]
        assert ("two-waivers.registration", "not_eligible") == (considered["rule"], considered["outcome"])
        assert "not valid on 2025-03-01" in considered["reason"]["en"]


class TestPolicyCommands:
    def test_list(self) -> None:
        """policy list shows both built-in packs."""
        result = run("policy", "list")
        assert "seed-example" in result.stdout and "cn-national" in result.stdout

    def test_show_json_has_fingerprint_and_rules(self) -> None:
        """policy show --format json gives the merged rules, their pack and the fingerprint."""
        shown = json.loads(run("policy", "show", "--format", "json").stdout)
        assert ["cn-national", "seed-example"] == shown["packs"]
        assert shown["fingerprint"].startswith("sha256:")
        assert "two-waivers.registration" in {r["id"] for r in shown["rules"]}

    def test_check_ok(self) -> None:
        """policy check reports the rule count and fingerprint and exits 0."""
        result = run("policy", "check", "seed-example")
        assert 0 == result.exit_code
        assert result.stdout.startswith("ok: cn-national → seed-example")

    def test_check_compiles(self, tmp_path: Path) -> None:
        """policy check finds what only compiling finds: a tag test on a rule that grants priorities."""
        pack = tmp_path / "tagged.yaml"
        pack.write_text(
            "pack: tagged\ntitle: {zh: 标签, en: tagged}\nrules:\n"
            "  - id: relapse\n    title: {zh: 旧伤复发, en: relapse}\n    clause: 假设\n    source: test\n"
            "    when: {tags: old_injury_relapse}\n    items: [drug]\n    benefit: {reduce: \"50%\"}\n"
            "    priorities: [pharmacy]\n", encoding="utf-8")
        result = run("policy", "check", str(pack))
        assert (2, "") == (result.exit_code, result.stdout)
        assert "rule relapse tests charge-line tags" in result.stderr

    def test_diff(self, tmp_path: Path) -> None:
        """policy diff names a changed rate, an added rule and a disabled one."""
        reform = tmp_path / "reform.yaml"
        reform.write_text(
            "pack: reform\n"
            "title: {zh: 改革, en: reform}\n"
            "extends: seed-example\n"
            "disable: [green-channel]\n"
            "rules:\n"
            "  - id: three-halves.bed\n"
            "    override: true\n"
            "    title: {zh: 床位费全免, en: bed fee waived}\n"
            "    clause: 假设\n"
            "    source: what-if\n"
            "    when: {credential: key_care_medical_card}\n"
            "    items: [bed]\n"
            "    benefit: {waive: true}\n"
            "    group: fee\n", encoding="utf-8")
        result = run("policy", "diff", "--format", "json", "seed-example", str(reform))
        assert 0 == result.exit_code, result.output
        changes = {c["rule"]: c for c in json.loads(result.stdout)}
        assert "removed" == changes["green-channel"]["change"]
        assert "changed" == changes["three-halves.bed"]["change"]
        assert ({"reduce": "50%"}, {"waive": True}) == (
            changes["three-halves.bed"]["old"]["benefit"], changes["three-halves.bed"]["new"]["benefit"])


    def test_diff_names_set_wide_settings(self, tmp_path: Path) -> None:
        """A pack that changes no rule of seed-example but its payer order and item_rules_first
        decides otherwise: policy diff says so, before any rule, in text and JSON."""
        reorder = tmp_path / "reorder.yaml"
        reorder.write_text(
            "pack: reorder\n"
            "title: {zh: 调整, en: reorder}\n"
            "extends: seed-example\n"
            "settlement: {payers: [youfu_medical_subsidy, hospital], item_rules_first: true}\n"
            "rules: []\n", encoding="utf-8")
        changes = json.loads(run("policy", "diff", "--format", "json", "seed-example", str(reorder)).stdout)
        assert [{"change": "changed", "setting": "settlement.payers", "old": ["hospital"],
                 "new": ["youfu_medical_subsidy", "hospital"]},
                {"change": "changed", "setting": "settlement.item_rules_first", "old": False, "new": True}] == changes
        text = run("--lang", "zh", "policy", "diff", "seed-example", str(reorder))
        assert (0, "修改 结算付款方顺序 (settlement.payers): ['hospital'] → ['youfu_medical_subsidy', 'hospital']\n"
                   "修改 项目规则优先 (settlement.item_rules_first): False → True\n") == (text.exit_code, text.stdout)
        assert "the two rule sets are the same" in run("policy", "diff", str(reorder), str(reorder)).stdout


def test_version() -> None:
    """--version prints the package version."""
    assert "shuangyong, version" in run("--version").stdout


def test_messages_follow_lang() -> None:
    """--lang zh gives Chinese messages."""
    result = CliRunner().invoke(main, ["--lang", "zh", "evaluate", "-"], input="")
    assert "输入为空" in result.stderr


def test_bug_exits_1_and_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An unexpected exception is a bug: exit 1, and -o leaves no half-written file behind."""
    from shuangyong.engine import Engine

    def broken(self: Engine, visit: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(Engine, "evaluate", broken)
    target = tmp_path / "out.jsonl"
    result = run("evaluate", "-o", str(target), "-", stdin=jsonl(good_visit("A"), good_visit("B")))
    assert 1 == result.exit_code
    assert isinstance(result.exception, RuntimeError)
    assert [] == list(tmp_path.iterdir())


def test_bad_records_still_written_whole_to_output_file(tmp_path: Path) -> None:
    """With -o, a bad record's error object is in the file, between the decisions around it."""
    bad = good_visit("BAD")
    bad["lines"][0]["amount"] = 1.5
    target = tmp_path / "out.jsonl"
    result = run("evaluate", "-o", str(target), "-", stdin=jsonl(good_visit("A"), bad, good_visit("B")))
    assert 2 == result.exit_code
    written = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert [("A", False), ("BAD", True), ("B", False)] == [(r["visit_id"], "error" in r) for r in written]


def test_explain_reports_bad_record_and_goes_on() -> None:
    """explain --format json gives an error object for a bad record and explains the rest."""
    bad = good_visit("BAD")
    bad["patient"]["categories"] = ["space_cadet"]
    result = run("explain", "--format", "json", "-", stdin=jsonl(bad, good_visit("B")))
    assert 2 == result.exit_code
    first, second = outputs(result)
    assert ("BAD", "UnknownCategoryError") == (first["visit_id"], first["error"]["type"])
    assert "B" == second["decision"]["visit_id"]


def test_line_numbers_count_leading_blank_lines() -> None:
    """Errors in JSON Lines name the real line number, blank lines included."""
    result = run("evaluate", "-", stdin="\n\n" + jsonl(good_visit("A")) + "not json\n")
    assert 2 == result.exit_code
    assert "line 4" == outputs(result)[1]["error"]["record"]


def test_records_that_are_not_objects() -> None:
    """An array item or a JSON Lines line that is not an object gets an error in its place."""
    array = run("evaluate", "-", stdin=json.dumps([1, good_visit("B")]))
    assert 2 == array.exit_code
    first, second = json.loads(array.stdout)
    assert ("#1", "a record must be a JSON object", "B") == (
        first["error"]["record"], first["error"]["message"]["en"], second["visit_id"])
    lines = run("evaluate", "-", stdin=jsonl(good_visit("A")) + "[1, 2]\n")
    assert "a record must be a JSON object" == outputs(lines)[1]["error"]["message"]["en"]


def test_explain_text_sends_bad_records_to_stderr() -> None:
    """In text form the explanation goes to stdout and the bad record's error to stderr."""
    bad = good_visit("BAD")
    bad["patient"]["categories"] = ["space_cadet"]
    result = run("explain", "-", stdin=jsonl(bad, good_visit("B")))
    assert (2, True, False) == (result.exit_code, "space_cadet" in result.stderr, "space_cadet" in result.stdout)
    assert "B" in result.stdout


def _line_text(visit_id: str, line_id: str = "1", extra: str = "") -> str:
    """A visit as raw JSON text, so that tests can write what json.dumps will not (duplicate keys,
    escaped lone surrogates)."""
    return ('{"visit_id": "' + visit_id + '", "date": "2025-03-01", "kind": "outpatient", "region": "450100", '
            + extra + '"patient": {"id": "P1", "categories": ["disabled_veteran"]}, '
            '"lines": [{"line_id": "' + line_id + '", "item": "registration", "amount": "12.00"}]}')


def _around(bad: str) -> str:
    """A bad record between two good ones, as JSON Lines."""
    return jsonl(good_visit("A")) + bad + "\n" + jsonl(good_visit("B"))


def _decided_around(result: Any) -> dict[str, Any]:
    """The error of the middle record, after checking exit 2 and that both neighbours were decided."""
    assert 2 == result.exit_code, result.output
    first, middle, last = outputs(result)
    assert ("A", "B", "12.00") == (first["visit_id"], last["visit_id"], last["totals"]["reduction"])
    return middle  # type: ignore[no-any-return]


class TestHostileInput:
    """Issue 14: each of these ended in a traceback, a stopped stream or a wrong answer."""

    @pytest.mark.parametrize("bad", ["[" * 100_000, '{"a":' * 100_000, "[" * 100_000 + "]" * 100_000,
                                     _line_text("D", extra='"x": ' + "[" * 65 + "]" * 65 + ", ")],
                             ids=["arrays", "objects", "closed arrays", "65 deep"])
    def test_deep_jsonl_record_refused_and_stream_goes_on(self, bad: str) -> None:
        """(1) A record nested deeper than 64 is an error naming its line; the next is decided."""
        error = _decided_around(run("evaluate", "-", stdin=_around(bad)))["error"]
        assert ("line 2", None, "nested deeper than 64 levels") == (
            error["record"], error["field"], error["message"]["en"])

    def test_nesting_at_the_bound_is_not_called_deep(self) -> None:
        """64 levels are within the bound: the record is refused for what it is (an unknown key)."""
        bad = _line_text("D", extra='"x": ' + "[" * 63 + "]" * 63 + ", ")
        error = _decided_around(run("evaluate", "-", stdin=_around(bad)))["error"]
        assert ("D", "x", "unknown field x") == (error["record"], error["field"], error["message"]["en"])

    def test_deep_element_of_an_array_refused_and_others_decided(self) -> None:
        """(1) In a JSON array, the element too deep for Python's json is #N; the others are decided."""
        text = "[" + json.dumps(good_visit("A")) + ", " + "[" * 100_000 + "]" * 100_000 + ", " + json.dumps(
            good_visit("B")) + "]"
        result = run("evaluate", "-", stdin=text)
        assert 2 == result.exit_code, result.output
        first, middle, last = json.loads(result.stdout)
        assert ("A", "#2", "nested deeper than 64 levels", "B") == (
            first["visit_id"], middle["error"]["record"], middle["error"]["message"]["en"], last["visit_id"])

    def test_deep_single_document_refused(self) -> None:
        """(1) One document nested far too deeply: an error object for #1 and exit 2."""
        result = run("evaluate", "-", stdin="{\n" + '"a":{' * 100_000)
        assert 2 == result.exit_code
        assert "nested deeper than 64 levels" in result.output and "Traceback" not in result.output

    @pytest.mark.parametrize(("text", "field"), [
        (_line_text("D", extra='"visit_id": "E", '), "visit_id"),
        (_line_text("D").replace('"amount": "12.00"', '"amount": "12.00", "amount": "1200.00"'), "lines[0].amount"),
        (_line_text("D").replace('"id": "P1"', '"id": "P1", "id": "P2"'), "patient.id"),
    ], ids=["visit_id", "amount", "patient id"])
    def test_duplicate_key_refused(self, text: str, field: str) -> None:
        """(15) A key written twice in one object was last-wins (even visit_id); now the record is an
        error naming the key, with no visit_id guessed, and the stream goes on."""
        middle = _decided_around(run("evaluate", "-", stdin=_around(text)))
        assert (None, "line 2", field) == (middle["visit_id"], middle["error"]["record"], middle["error"]["field"])
        assert "appears twice in one object" in middle["error"]["message"]["en"]

    def test_duplicate_key_in_an_array_document(self) -> None:
        """(15) The same in a JSON array: the element is #N, the others are decided."""
        text = "[" + json.dumps(good_visit("A")) + ",\n" + _line_text("D", extra='"visit_id": "E", ') + "]"
        result = run("evaluate", "-", stdin=text)
        assert 2 == result.exit_code
        first, second = json.loads(result.stdout)
        assert ("A", "#2", "visit_id") == (first["visit_id"], second["error"]["record"], second["error"]["field"])

    @pytest.mark.parametrize(("text", "field"), [
        (_line_text("\\ud800"), "visit_id"),
        (_line_text("D", line_id="\\udfff"), "lines[0].line_id"),
        (_line_text("D").replace('"P1"', '"P\\ud83d"'), "patient.id"),
        (_line_text("D").replace('"registration"', '"\\ud800x"'), "lines[0].item"),
    ], ids=["visit_id", "line_id", "patient id", "item"])
    @pytest.mark.parametrize("shape", ["lines", "array"])
    def test_lone_surrogate_refused_naming_the_field(self, text: str, field: str, shape: str) -> None:
        """(3) An escaped lone surrogate crashed the output; it is now an input error naming the field."""
        if shape == "lines":
            middle = _decided_around(run("evaluate", "-", stdin=_around(text)))
        else:
            result = run("evaluate", "-", stdin="[" + json.dumps(good_visit("A")) + ",\n" + text + "]")
            assert 2 == result.exit_code, result.output
            middle = json.loads(result.stdout)[1]
        assert (field, "InputError", True) == (middle["error"]["field"], middle["error"]["type"],
                                               "lone surrogate" in middle["error"]["message"]["en"])

    def test_surrogate_pair_is_accepted(self) -> None:
        """An escaped pair (an emoji) is Unicode and stays accepted."""
        result = run("evaluate", "-", stdin=_line_text("\\ud83d\\ude00") + "\n")
        assert (0, "\U0001F600") == (result.exit_code, outputs(result)[0]["visit_id"])

    def test_key_that_is_a_lone_surrogate(self) -> None:
        """A key no output can encode is refused, and the error object is written."""
        middle = _decided_around(run("evaluate", "-", stdin=_around(_line_text("D", extra='"\\ud800": 1, '))))
        assert ("D", None, "a key holds a lone surrogate") == (
            middle["error"]["record"], middle["error"]["field"], middle["error"]["message"]["en"][:28])

    def test_explain_json_never_crashes(self) -> None:
        """explain --format json writes an error object for each hostile record and explains the rest."""
        text = _around("[" * 100_000) + _line_text("\\ud800") + "\n" + _line_text("D", extra='"visit_id": "E", ') + "\n"
        result = run("explain", "--format", "json", "-", stdin=text)
        assert 2 == result.exit_code, result.output
        records = outputs(result)
        assert (5, "A", "B") == (len(records), records[0]["decision"]["visit_id"], records[2]["decision"]["visit_id"])
        assert ["line 2", "line 4", "line 5"] == [records[n]["error"]["record"] for n in (1, 3, 4)]

    def test_strict_error_names_the_line_id(self) -> None:
        """(17) The strict-mode error says which line_id, not only which position."""
        visit = good_visit("S")
        visit["lines"][1].update(line_id="L-9", item="acupuncture")
        error = outputs(run("evaluate", "--strict", "-", stdin=jsonl(visit)))[0]["error"]
        assert ("lines[1].item", True) == (error["field"], "line_id 'L-9'" in error["message"]["en"])


def _gb18030_visit(visit_id: str) -> bytes:
    visit = good_visit(visit_id)
    visit["patient"]["name"] = "张三"
    return (json.dumps(visit, ensure_ascii=False) + "\n").encode("gb18030")


class TestEncoding:
    """Issue 14 (2): GB 18030 input, byte-order marks, and bytes that are not the input's encoding."""

    def test_only_one_byte_order_mark_is_dropped(self) -> None:
        """A second UTF-8 BOM is a U+FEFF before the record, not JSON: batch said so, evaluate
        dropped both (found by the fuzzer)."""
        bom = "\ufeff".encode("utf-8")
        once, twice = run("evaluate", "-", stdin=bom + jsonl(good_visit("A")).encode("utf-8")), run(
            "evaluate", "-", stdin=bom + bom + jsonl(good_visit("A")).encode("utf-8"))
        assert (0, 2, "", True) == (once.exit_code, twice.exit_code, twice.stdout,
                                    "record #1: invalid JSON" in twice.stderr)

    def test_gb18030_line_is_an_error_naming_line_and_offset(self) -> None:
        """Without --encoding a GB 18030 line is an error naming its line, the file offset of its
        first bad byte and --encoding gb18030; the UTF-8 lines around it are decided."""
        good = jsonl(good_visit("A")).encode("utf-8")
        data = good + _gb18030_visit("G") + jsonl(good_visit("B")).encode("utf-8")
        result = run("evaluate", "-", stdin=data)
        middle = _decided_around(result)
        gb = _gb18030_visit("G")
        offset = len(good) + next(n for n, byte in enumerate(gb) if byte >= 0x80)  # "桂", the first non-ASCII
        assert (None, "line 2") == (middle["visit_id"], middle["error"]["record"])
        message = middle["error"]["message"]
        assert (True, True, True) == (f"offset {offset} of the file" in message["en"],
                                      "--encoding gb18030" in message["en"], "--encoding gb18030" in message["zh"])

    @pytest.mark.parametrize("command", ["evaluate", "explain"])
    def test_encoding_gb18030_reads_it(self, command: str) -> None:
        """--encoding gb18030 reads the same file, names and all."""
        result = run(command, "--encoding", "gb18030", "--format", "json", "-",
                     stdin=_gb18030_visit("G") + _gb18030_visit("H"))
        assert 0 == result.exit_code, result.output
        decisions = json.loads(result.stdout) if command == "evaluate" else [r["decision"] for r in outputs(result)]
        assert ["G", "H"] == [d["visit_id"] for d in decisions]

    @pytest.mark.parametrize("encoding", [None, "gb18030"])
    @pytest.mark.parametrize("pretty", [False, True])
    def test_utf8_bom_is_accepted(self, encoding: str | None, pretty: bool) -> None:
        """A UTF-8 byte-order mark no longer refuses the whole file, and it means UTF-8 even when
        --encoding says otherwise (GB 18030 would read the Chinese text as other characters)."""
        visit = good_visit("甲")
        text = json.dumps(visit, ensure_ascii=False, indent=2 if pretty else None) + "\n"
        options = ["--encoding", encoding] if encoding else []
        result = run("evaluate", *options, "--format", "jsonl", "-", stdin=b"\xef\xbb\xbf" + text.encode("utf-8"))
        assert (0, "甲") == (result.exit_code, outputs(result)[0]["visit_id"]), result.output

    def test_bad_byte_in_a_document_refuses_it_whole(self, tmp_path: Path) -> None:
        """In a JSON document (read whole) a bad byte stops the run before anything is written."""
        target = tmp_path / "out.json"
        data = json.dumps([good_visit("A"), good_visit("B")], indent=1).encode("utf-8").replace(b'"B"', b'"\xff"')
        result = run("evaluate", "-o", str(target), "-", stdin=data)
        assert (2, [], True) == (result.exit_code, list(tmp_path.iterdir()), "is not valid utf-8" in result.stderr)
        assert "line 2" not in result.stderr and "Traceback" not in result.output

    def test_unknown_encoding_is_a_usage_error(self) -> None:
        """Only the encodings of limits.ENCODINGS are offered."""
        result = run("evaluate", "--encoding", "latin-1", "-", stdin=jsonl(good_visit()))
        assert (2, True) == (result.exit_code, "gb18030" in result.output)


def test_deep_fhir_bundle_exits_2() -> None:
    """(1) A FHIR bundle nested 100,000 deep gave a RecursionError; now exit 2 naming the bundle."""
    bundle = '{"resourceType": "Bundle", "type": "collection", "entry": ' + "[" * 100_000 + "]" * 100_000 + "}"
    result = run("evaluate", "--his", "fhir", "-", stdin=bundle)
    assert (2, "", True) == (result.exit_code, result.stdout, "nested deeper than 64 levels" in result.stderr)


@pytest.mark.parametrize("table", ["A2: " + "[" * 100_000 + "]" * 100_000 + "\n",
                                   "A2:" + "".join("\n" + "  " * n + "k:" for n in range(1, 3000)) + " x\n",
                                   "a: &a [x]\n" + "".join(f"k{n}: *a\n" for n in range(1001))],
                         ids=["flow", "block", "aliases"])
def test_hostile_code_table_exits_2(tmp_path: Path, table: str) -> None:
    """(1) --codes with a YAML table nested 100,000 (or 3,000) deep, or with 1,001 aliases: exit 2
    naming the table, nothing decided."""
    codes = tmp_path / "codes.yaml"
    codes.write_text("A1: registration\n" + table, encoding="utf-8")
    result = run("evaluate", "--codes", str(codes), "-", stdin=jsonl(good_visit()))
    assert (2, "") == (result.exit_code, result.stdout)
    assert str(codes) in result.stderr and ("more than 64 levels" in result.stderr or "1000 aliases" in result.stderr)
