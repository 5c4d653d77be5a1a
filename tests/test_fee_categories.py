"""National fee categories (医保 med_chrgitm_type) on lines, dated charge-code tables, and the
``policy check`` warning about item kinds only a line's own ``item`` reaches (issue 16 §4)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from shuangyong.cli import main
from shuangyong.engine import Engine
from shuangyong.errors import DateError, InputError, UnknownCategoryError
from shuangyong.interchange.visits import visit_from_dict
from shuangyong.model import ChargeCodeMap, ChargeLine, Registry
from shuangyong.model.registry import FEE_CATEGORY_ITEMS
from shuangyong.policy import PolicySet
from shuangyong.policy.reach import unreached_items

from .batch_support import batch_output, jsonl, row_output

ROOT = Path(__file__).resolve().parents[1]
REGISTRY = Registry.builtin()
SEED = Engine.from_packs()
EXAMPLE_CODES = ROOT / "examples" / "charge_codes.csv"


def visit(*lines: dict[str, Any], date: str = "2025-03-01", visit_id: str = "V1") -> dict[str, Any]:
    """A card holder's outpatient visit (the seed's 两免 apply to her) with these lines."""
    return {"visit_id": visit_id, "date": date, "kind": "outpatient", "region": "450100",
            "patient": {"id": "P1", "categories": ["disabled_veteran"], "disability_level": 5,
                        "credentials": [{"kind": "key_care_medical_card", "number": "桂001"}]},
            "lines": [{"line_id": str(n), "amount": "12.00", **line} for n, line in enumerate(lines, 1)]}


def run(*args: str, stdin: str | None = None, lang: str = "en") -> Any:
    return CliRunner().invoke(main, ["--lang", lang, *args], input=stdin)


def table(tmp_path: Path, text: str, name: str = "codes.csv") -> ChargeCodeMap:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return ChargeCodeMap.load(path, REGISTRY.items)


class TestVocabulary:
    def test_the_fourteen_categories_with_their_national_labels(self) -> None:
        """01–14 in order, labelled as the national dictionary writes them (docs/fee-categories.md)."""
        terms = list(REGISTRY.fee_categories)
        assert [f"{n:02d}" for n in range(1, 15)] == [t.id for t in terms]
        assert ["床位费", "诊察费", "检查费", "化验费", "治疗费", "手术费", "护理费", "卫生材料费", "西药费",
                "中药饮片费", "中成药费", "一般诊疗费", "挂号费", "其他费"] == [t.label.zh for t in terms]
        assert all(t.label.en for t in terms)

    def test_mapped_only_where_the_category_names_one_item_kind(self) -> None:
        """13 → registration and 01 → bed; 04, 05, 12 and 14 hold several kinds and map to none."""
        assert ("registration", "bed") == (FEE_CATEGORY_ITEMS["13"], FEE_CATEGORY_ITEMS["01"])
        assert not {"04", "05", "12", "14"} & set(FEE_CATEGORY_ITEMS)
        assert set(FEE_CATEGORY_ITEMS.values()) <= {t.id for t in REGISTRY.items}
        assert FEE_CATEGORY_ITEMS == {t.id: t.item for t in REGISTRY.fee_categories if t.item is not None}

    def test_a_charge_line_refuses_an_unknown_category(self) -> None:
        """The model checks the category wherever a line is built, not only in the contract."""
        with pytest.raises(InputError) as caught:
            ChargeLine("1", "bed", "1.00", fee_category="15")
        assert ("fee_category", "15") == (caught.value.field, caught.value.value)
        assert "01/02/" in caught.value.message.zh and "got '15'" in caught.value.message.en
        assert "13" == ChargeLine("1", "registration", "1.00", fee_category="13").fee_category


class TestContract:
    def test_a_category_alone_gives_the_mapped_item_and_its_concession(self) -> None:
        """A line with fee_category 13 and no item is a registration, so 两免 waives it."""
        decided = SEED.evaluate(visit_from_dict(visit({"fee_category": "13"})))
        line = decided.lines[0]
        assert ("registration", "12.00", "two-waivers.registration") == (line.item, str(line.reduction), line.rule)

    def test_a_line_with_both_keeps_its_item(self) -> None:
        """An item the HIS sends wins over its category: 05 with injection stays an injection."""
        built = visit_from_dict(visit({"fee_category": "13", "item": "drug"},
                                      {"fee_category": "05", "item": "injection"}))
        assert [("drug", "13"), ("injection", "05")] == [(ln.item, ln.fee_category) for ln in built.lines]

    def test_a_code_comes_before_the_category(self, tmp_path: Path) -> None:
        """A mapped code is finer than a category: 121100003 (小换药) in 05 is a dressing."""
        codes = ChargeCodeMap.load(EXAMPLE_CODES, REGISTRY.items)
        built = visit_from_dict(visit({"code": "121100003", "fee_category": "05"}, {"code": "X", "fee_category": "01"}),
                                codes=codes)
        assert ["dressing", "bed"] == [ln.item for ln in built.lines]

    @pytest.mark.parametrize("category", ["15", "1", "", "13 "])
    def test_an_unknown_category_names_record_and_field(self, category: str) -> None:
        """Even with an item, a category outside 01–14 is refused, naming the line's field."""
        for line in ({"fee_category": category}, {"fee_category": category, "item": "bed"}):
            with pytest.raises(InputError) as caught:
                visit_from_dict(visit({"item": "drug"}, line))
            error = caught.value
            assert ("V1", "lines[1].fee_category", category) == (error.record, error.field, error.value)
            assert "医疗收费项目类别应为" in error.message.zh and "fee category must be one of" in error.message.en

    @pytest.mark.parametrize("category", ["04", "05", "12", "14"])
    def test_a_category_of_several_kinds_needs_an_item(self, category: str) -> None:
        """04, 05, 12, 14 alone do not say the item kind: the line is refused at its item."""
        with pytest.raises(InputError) as caught:
            visit_from_dict(visit({"fee_category": category}))
        error = caught.value
        assert ("V1", "lines[0].item", category) == (error.record, error.field, error.value)
        assert f"fee category {category} maps to no single item kind" in error.message.en
        assert f"医疗收费项目类别 {category} 不对应单一的项目类别" in error.message.zh

    def test_a_category_that_is_not_a_string_is_a_shape_error(self) -> None:
        """The JSON number 13 is not the category "13"."""
        with pytest.raises(InputError) as caught:
            visit_from_dict(visit({"fee_category": 13, "item": "bed"}))
        assert "lines[0].fee_category" == caught.value.field

    def test_cli_exits_2_for_that_visit_and_decides_the_others(self) -> None:
        """An unknown category costs its own visit only: an error object in its place, exit 2."""
        records = [visit({"fee_category": "13"}, visit_id="A"), visit({"fee_category": "99"}, visit_id="B"),
                   visit({"fee_category": "01"}, visit_id="C")]
        result = run("evaluate", "-", stdin=jsonl(records).decode())
        assert 2 == result.exit_code
        answers = [json.loads(line) for line in result.stdout.splitlines()]
        assert ["A", "B", "C"] == [a["visit_id"] if "visit_id" in a else a["error"]["record"] for a in answers]
        assert ("registration", "bed") == (answers[0]["lines"][0]["item"], answers[2]["lines"][0]["item"])
        assert ("InputError", "lines[0].fee_category") == (answers[1]["error"]["type"], answers[1]["error"]["field"])

    def test_batch_gives_the_row_engines_bytes(self) -> None:
        """Lines with a category leave the columns: batch answers exactly as evaluate."""
        data = jsonl([visit({"fee_category": "13"}, visit_id="A"), visit({"fee_category": "15"}, visit_id="B"),
                      visit({"fee_category": "05", "item": "injection"}, visit_id="C"),
                      visit({"item": "bed"}, visit_id="D")])
        assert row_output(SEED, data) == batch_output(SEED, data)


DATED = ("code,item,valid_from,valid_to,description\n"
         "110200001,registration,,2025-12-31,普通门诊挂号费（旧编码）\n"
         "110200001,consultation,2026-01-01,,同一旧编码在新目录中对应诊查费\n"
         "AAAA0001,registration,2026-01-01,,新编码\n"
         "G1,bed,,,不带日期\n")


class TestDatedCodeTables:
    def test_the_visit_date_picks_the_row_first_and_last_days_included(self, tmp_path: Path) -> None:
        codes = table(tmp_path, DATED)
        day = dt.date
        assert ("registration", "consultation") == (codes.item_for("110200001", day(2025, 12, 31)),
                                                    codes.item_for("110200001", day(2026, 1, 1)))
        assert (None, "registration", "registration") == (
            codes.item_for("AAAA0001", day(2025, 12, 31)), codes.item_for("AAAA0001", day(2026, 1, 1)),
            codes.item_for("AAAA0001", day(2099, 12, 31)))
        assert ("bed", "bed", None) == (codes.item_for("G1"), codes.item_for("G1", day(1900, 1, 1)),
                                        codes.item_for("ZZ", day(2026, 1, 1)))

    def test_a_closed_window_includes_both_ends_only(self, tmp_path: Path) -> None:
        codes = table(tmp_path, "code,item,valid_from,valid_to\nC1,nursing,2025-03-01,2025-03-31\n")
        found = [codes.item_for("C1", dt.date(2025, m, d)) for m, d in ((2, 28), (3, 1), (3, 31), (4, 1))]
        assert [None, "nursing", "nursing", None] == found

    def test_old_code_remapped_to_new_through_the_contract(self, tmp_path: Path) -> None:
        """The old code's last day and the new code's first day, read from visits."""
        codes = table(tmp_path, DATED)
        old = visit_from_dict(visit({"code": "110200001"}, date="2025-12-31"), codes=codes)
        new = visit_from_dict(visit({"code": "110200001"}, {"code": "AAAA0001"}, date="2026-01-01"), codes=codes)
        assert (["registration"], ["consultation", "registration"]) == ([ln.item for ln in old.lines],
                                                                         [ln.item for ln in new.lines])

    def test_a_code_with_no_row_on_the_day_is_refused_saying_so(self, tmp_path: Path) -> None:
        codes = table(tmp_path, DATED)
        with pytest.raises(InputError) as caught:
            visit_from_dict(visit({"code": "AAAA0001"}, date="2025-12-31"), codes=codes)
        error = caught.value
        assert ("V1", "lines[0].item", "AAAA0001") == (error.record, error.field, error.value)
        assert "charge code 'AAAA0001' maps to no item kind on 2025-12-31" in error.message.en
        assert "在 2025-12-31 没有有效的映射" in error.message.zh

    def test_one_argument_form_refuses_a_dated_code(self, tmp_path: Path) -> None:
        """Without the date a dated code has no answer; an undated table needs none."""
        codes = table(tmp_path, DATED)
        with pytest.raises(ValueError, match="needs the visit's date"):
            codes.item_for("110200001")
        assert ({"G1": "bed"}, {"registration", "consultation", "bed"}) == (codes.items, set(codes.item_kinds()))

    @pytest.mark.parametrize(("rows", "first", "second"), [
        ("A,drug,2025-01-01,2025-06-30\nA,bed,2025-06-30,\n", 2, 3),  # one shared day: the last of the first
        ("A,drug,,\nA,bed,2026-01-01,\n", 2, 3),  # an undated row covers every day
        ("A,drug,2025-01-01,\nB,bed,,\nA,drug,2024-01-01,2025-01-01\n", 2, 4),  # the same item still overlaps
    ])
    def test_overlapping_rows_name_both(self, tmp_path: Path, rows: str, first: int, second: int) -> None:
        path = tmp_path / "codes.csv"
        path.write_text("code,item,valid_from,valid_to\n" + rows, encoding="utf-8")
        with pytest.raises(InputError) as caught:
            ChargeCodeMap.load(path, REGISTRY.items)
        error = caught.value
        assert (f"{path}:line {second}", "code", "A") == (error.record, error.field, error.value)
        assert re.search(rf"line {first}\).*line {second}\): the periods overlap", error.message.en)
        assert f"第 {first} 行" in error.message.zh and f"第 {second} 行" in error.message.zh

    def test_adjacent_periods_and_a_repeated_row_are_fine(self, tmp_path: Path) -> None:
        codes = table(tmp_path, "code,item,valid_from,valid_to\nA,drug,,2025-06-29\nA,bed,2025-06-30,\n"
                                "A,bed,2025-06-30,\n")
        items = (codes.item_for("A", dt.date(2025, 6, 29)), codes.item_for("A", dt.date(2025, 6, 30)))
        assert (("drug", "bed"), 2) == (items, len(codes.dated["A"]))

    @pytest.mark.parametrize(("row", "field", "message"), [
        ("A,drug,2025-1-01,", "valid_from", "must be YYYY-MM-DD"),
        ("A,drug,2025-02-30,", "valid_from", "impossible"),
        ("A,drug,,2025/12/31", "valid_to", "must be YYYY-MM-DD"),
        ("A,drug,2026-01-01,2025-12-31", "valid_to", "before start date"),
    ])
    def test_bad_dates_name_the_line_and_column(self, tmp_path: Path, row: str, field: str, message: str) -> None:
        path = tmp_path / "codes.csv"
        path.write_text(f"code,item,valid_from,valid_to\nB,bed,,\n{row}\n", encoding="utf-8")
        with pytest.raises(DateError) as caught:
            ChargeCodeMap.load(path, REGISTRY.items)
        assert (f"{path}:line 3", field) == (caught.value.record, caught.value.field)
        assert message in caught.value.message.en

    def test_yaml_keeps_the_code_item_form_and_adds_dated_rows(self, tmp_path: Path) -> None:
        codes = table(tmp_path, (
            "G1: bed\n"
            "'110200001':\n"
            "  - {item: registration, valid_to: 2025-12-31}\n"
            "  - {item: consultation, valid_from: 2026-01-01, description: 新目录}\n"
            "AAAA0001: {item: registration, valid_from: 2026-01-01}\n"), "codes.yaml")
        assert ({"G1": "bed"}, "registration", "consultation", None, "registration") == (
            codes.items, codes.item_for("110200001", dt.date(2025, 12, 31)),
            codes.item_for("110200001", dt.date(2026, 1, 1)), codes.item_for("AAAA0001", dt.date(2025, 12, 31)),
            codes.item_for("AAAA0001", dt.date(2026, 1, 1)))

    def test_yaml_overlap_names_both_lines(self, tmp_path: Path) -> None:
        path = tmp_path / "codes.yaml"
        path.write_text("A:\n  - {item: drug, valid_from: 2025-01-01}\n  - {item: bed, valid_to: 2025-01-01}\n",
                        encoding="utf-8")
        with pytest.raises(InputError, match=r"line 2\) and to bed \(… – 2025-01-01, line 3\)") as caught:
            ChargeCodeMap.load(path, REGISTRY.items)
        assert f"{path}:line 3" == caught.value.record

    @pytest.mark.parametrize(("text", "line", "field"), [
        ("A:\n  - {item: drug, valid_until: 2025-01-01}\n", 2, "valid_until"),
        ("A:\n  - {item: [drug]}\n", 2, "item"),
        ("A:\n  - drug\n", 2, "code"),
        ("A: {item: teleport}\n", 1, "item"),
    ])
    def test_yaml_bad_rows_name_the_line(self, tmp_path: Path, text: str, line: int, field: str) -> None:
        path = tmp_path / "codes.yaml"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(InputError) as caught:
            ChargeCodeMap.load(path, REGISTRY.items)
        assert (f"{path}:line {line}", field) == (caught.value.record, caught.value.field)

    def test_a_bad_table_exits_2_before_any_decision(self, tmp_path: Path) -> None:
        path = tmp_path / "codes.csv"
        path.write_text("code,item,valid_from,valid_to\nA,drug,,\nA,bed,2026-01-01,\n", encoding="utf-8")
        result = run("evaluate", "--codes", str(path), "-", stdin=jsonl([visit({"item": "bed"})]).decode())
        assert (2, "") == (result.exit_code, result.stdout)
        assert f"{path}:line 3" in result.stderr and "the periods overlap" in result.stderr

    def test_the_docs_example_table_loads(self, tmp_path: Path) -> None:
        """The YAML table of docs/fee-categories.md remaps its old code on the day it says."""
        text = (ROOT / "docs" / "fee-categories.md").read_text(encoding="utf-8")
        codes = table(tmp_path, re.search(r"```yaml\n(.*?)```", text, re.S).group(1), "codes.yaml")  # type: ignore[union-attr]
        assert ("registration", "consultation") == (codes.item_for("110200001", dt.date(2025, 12, 31)),
                                                    codes.item_for("110200001", dt.date(2026, 1, 1)))


class TestPolicyCheckWarning:
    SEED_UNREACHED = ["injection", "routine_test", "dressing", "blood_deposit"]

    def test_without_a_table_the_kinds_no_category_maps_are_named(self) -> None:
        """seed-example: registration (13) and bed (01) are reached; four kinds are not."""
        result = run("policy", "check", "seed-example")
        assert 0 == result.exit_code and result.stdout.startswith("ok: cn-national → seed-example")
        warnings = result.stderr.splitlines()
        assert self.SEED_UNREACHED == [re.search(r"item kind (\S+)", w).group(1) for w in warnings]  # type: ignore[union-attr]
        assert all(w.startswith("warning: no fee category maps to item kind") for w in warnings)
        assert "no charge-code table (--codes) was given: rule two-waivers.injection applies only to lines that " \
               'send "item": "injection"' in warnings[0]

    def test_in_chinese(self) -> None:
        result = run("policy", "check", "seed-example", lang="zh")
        assert 4 == len(result.stderr.splitlines())
        assert result.stderr.startswith("警告：没有医疗收费项目类别对应项目类别 injection（注射费），"
                                        "也没有给出收费编码映射表")

    def test_the_example_table_reaches_every_kind(self) -> None:
        result = run("policy", "check", "seed-example", "--codes", str(EXAMPLE_CODES))
        assert (0, "") == (result.exit_code, result.stderr)
        assert result.stdout.startswith("ok: cn-national → seed-example")

    def test_a_table_that_maps_some_kinds_leaves_the_others(self, tmp_path: Path) -> None:
        """A table mapping injection and a dressing code only in 2026 still reaches both."""
        path = tmp_path / "codes.csv"
        path.write_text("code,item,valid_from,valid_to\nZ1,injection,,\nH1,dressing,2026-01-01,\n", encoding="utf-8")
        result = run("policy", "check", "seed-example", "--codes", str(path))
        warnings = result.stderr.splitlines()
        assert ["routine_test", "blood_deposit"] == [re.search(r"item kind (\S+)", w).group(1) for w in warnings]  # type: ignore[union-attr]
        assert "no code of the charge-code table maps to it" in warnings[0]

    def test_a_bad_table_exits_2(self, tmp_path: Path) -> None:
        path = tmp_path / "codes.csv"
        path.write_text("code,item\nZ1,teleport\n", encoding="utf-8")
        result = run("policy", "check", "seed-example", "--codes", str(path))
        assert (2, "") == (result.exit_code, result.stdout)
        assert f"{path}:line 2" in result.stderr and "teleport" in result.stderr

    def test_rules_are_listed_per_kind_in_vocabulary_order(self) -> None:
        merged = PolicySet.load(["seed-example"], REGISTRY)
        assert {"injection": ("two-waivers.injection",), "routine_test": ("three-halves.routine-test",),
                "dressing": ("three-halves.dressing",), "blood_deposit": ("blood-deposit-waiver",)} == \
            unreached_items(merged, REGISTRY)
        assert {} == unreached_items(merged, REGISTRY, ChargeCodeMap.load(EXAMPLE_CODES, REGISTRY.items))


def test_unknown_item_in_a_dated_row_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "codes.csv"
    path.write_text("code,item,valid_from,valid_to\nA,teleport,2025-01-01,\n", encoding="utf-8")
    with pytest.raises(UnknownCategoryError) as caught:
        ChargeCodeMap.load(path, REGISTRY.items)
    assert (f"{path}:line 2", "item") == (caught.value.record, caught.value.field)
