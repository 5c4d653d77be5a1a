"""The two new subjects: the notice printed to PDF as the core lays it out (A4 portrait, its
Chinese text extractable), and the monthly ledger report as a workbook, an HTML page and a PDF,
its amounts read back to the fen; refusals leave the target empty."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from pypdf import PdfReader

from shuangyong import Engine, PolicySet, plugins, visit_from_dict
from shuangyong.cli import main
from shuangyong.errors import InputError, MoneyError
from shuangyong.ledger import MemoryLedger, requests_for
from shuangyong.ledger.report import month_report
from shuangyong.notice import notice_for
from shuangyong_export import EXPORTERS, ExportError
from shuangyong_export import pdf as pdf_module

BY_NAME = {exporter.name: exporter for exporter in EXPORTERS}
A4_PORTRAIT = (595, 842)  #: points, rounded


def compact(content: bytes) -> str:
    return re.sub(r"\s+", "", "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages))


def page_size(content: bytes) -> tuple[int, int]:
    box = PdfReader(io.BytesIO(content)).pages[0].mediabox
    return round(float(box.width)), round(float(box.height))


@pytest.fixture(scope="module")
def notice() -> Any:
    return notice_for(PolicySet.load(["seed-example"], plugins.registry()), "450103", dt.date(2026, 3, 1))


class TestNotice:
    def test_only_the_pdf_exporter_takes_it(self) -> None:
        """The core writes the notice's HTML and Markdown; of this plugin, pdf alone prints it."""
        exporters = plugins.exporters("notice")
        assert (["pdf"], True) == (sorted(exporters), exporters["pdf"] is BY_NAME["pdf"])

    def test_pdf_is_the_core_s_page_on_a4_portrait(self, notice: Any) -> None:
        target = io.BytesIO()
        BY_NAME["pdf"].write("notice", notice, target, lang="zh")
        content = target.getvalue()
        text = compact(content)
        titles = [item.title.zh for item in notice.entitlements]
        assert (b"%PDF-", A4_PORTRAIT, [], "Publicnotice" in text) == (
            content[:5], page_size(content), [t for t in titles if re.sub(r"\s+", "", t) not in text], False)
        assert ("双拥医疗优待公示" in text, "002_b06d056b9a71bf23.txt" in text, "持有效的重点优抚对象医疗证" in text) \
            == (True, True, True)

    def test_english_under_the_chinese(self, notice: Any) -> None:
        target = io.BytesIO()
        BY_NAME["pdf"].write("notice", notice, target, lang="en")
        text = compact(target.getvalue())
        order = [text.index(words) for words in ("双拥医疗优待公示", "Publicnotice", "“两免”：免交挂号费",
                                                 "Twowaivers:registrationfeewaived")]
        assert sorted(order) == order

    def test_missing_font_writes_nothing(self, notice: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(pdf_module, "has_cjk_font", lambda: False)
        target = io.BytesIO()
        with pytest.raises(ExportError) as caught:
            BY_NAME["pdf"].write("notice", notice, target)
        assert ("font", b"") == (caught.value.field, target.getvalue())

    def test_the_table_exporters_refuse_it_by_name(self, notice: Any) -> None:
        with pytest.raises(ExportError) as caught:
            BY_NAME["xlsx"].write("notice", notice, io.BytesIO())
        assert ("xlsx", "notice") == (caught.value.record, caught.value.value)

    def test_command_writes_the_pdf(self, tmp_path: Path) -> None:
        out = tmp_path / "公示.pdf"
        result = CliRunner().invoke(main, ["--lang", "zh", "notice", "--region", "450103", "--date", "2020-12-31",
                                           "--format", "pdf", "-o", str(out)])
        text = compact(out.read_bytes())
        national = "公立医疗机构为军人就医提供优待服务"  # in force from 2021-08-01: not on the notice
        assert (0, A4_PORTRAIT, True, False) == (result.exit_code, page_size(out.read_bytes()),
                                                 "“两免”：免交挂号费" in text, national in text)

    def test_command_without_a_font_exits_2_and_writes_nothing(self, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(pdf_module, "has_cjk_font", lambda: False)
        out = tmp_path / "公示.pdf"
        result = CliRunner().invoke(main, ["notice", "--region", "450103", "--date", "2026-03-01", "--format", "pdf",
                                           "-o", str(out)])
        assert (2, True, False, []) == (result.exit_code, "fonts-noto-cjk" in result.output, out.exists(),
                                        list(tmp_path.iterdir()))


PACK = """\
schema_version: 1
pack: test-subsidy
title: {zh: 测试优抚补助, en: Test subsidy}
extends: seed-example
rules:
  - id: subsidy.drug
    title: {zh: 药品费优抚补助, en: Drugs from the subsidy}
    clause: "测试条文"
    source: "测试出处"
    when: {category: key_care}
    items: [drug]
    benefit: {reduce: "10%"}
    payer: youfu_medical_subsidy
    group: subsidy
"""


#: P1 a disabled veteran, P2 a martyr's survivor
CATEGORIES = {"P1": "disabled_veteran", "P2": "martyr_family"}


def visit(visit_id: str, day: str, patient: str) -> dict[str, Any]:
    return {"visit_id": visit_id, "date": day, "kind": "outpatient", "region": "450103",
            "patient": {"id": patient, "categories": [CATEGORIES[patient]],
                        "credentials": [{"kind": "key_care_medical_card", "number": "桂001"}]},
            "lines": [{"line_id": "1", "item": "registration", "amount": "12.00"},
                      {"line_id": "2", "item": "drug", "amount": "37.85"}]}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """March 2026: two visits of P1 and one of P2, each 12.00 (hospital) and 3.79 (subsidy); P2's
    registration reversed."""
    pack = tmp_path_factory.mktemp("pack") / "subsidy.yaml"
    pack.write_text(PACK, encoding="utf-8")
    engine = Engine.from_packs(str(pack), registry=plugins.registry())
    ledger = MemoryLedger("memory:")
    for visit_id, day, patient in (("A", "2026-03-01", "P1"), ("B", "2026-03-31", "P1"), ("C", "2026-03-09", "P2"),
                                   ("D", "2026-04-01", "P2")):
        parsed = visit_from_dict(visit(visit_id, day, patient))
        ledger.post(requests_for(parsed, engine.evaluate(parsed), engine.policy))
    ledger.reverse(5, "挂错号")
    return month_report(ledger.postings(), 2026, 3).as_dict()


def sheet_rows(book: Any, key: str) -> list[tuple[Any, ...]]:
    """A grouping's sheet as (id, label, visits, persons, granted, reversed, net), amounts as text."""
    sheet = book[f"by_{key}"]
    head = [c.value.split("\n")[1] for c in sheet[1]]
    rows = [dict(zip(head, (c.value for c in row), strict=True)) for row in sheet.iter_rows(min_row=2)]
    return [(r[key] or "", r[f"{key}_label"], r["visits"], r["persons"],
             *(str(Decimal(str(r[k])).quantize(Decimal("0.01"))) for k in ("granted", "reversed", "net")))
            for r in rows]


def export(name: str, data: Any) -> bytes:
    target = io.BytesIO()
    BY_NAME[name].write("ledger_report", data, target)
    return target.getvalue()


class TestLedgerReport:
    def test_the_json_form_is_what_the_tables_read(self, report: dict[str, Any]) -> None:
        assert ({"visits": 3, "persons": 2, "granted": "47.37", "reversed": "12.00", "net": "35.37"},
                ["hospital", "youfu_medical_subsidy"]) == (report["total"], [p["payer"] for p in report["by_payer"]])

    def test_xlsx_sheets_and_exact_amounts(self, report: dict[str, Any]) -> None:
        book = load_workbook(io.BytesIO(export("xlsx", report)))
        assert ["total", "by_rule", "by_category", "by_item", "by_payer"] == book.sheetnames
        assert [("hospital", "医院负担", 3, 2, "36.00", "12.00", "24.00"),
                ("youfu_medical_subsidy", "优抚医疗补助", 3, 2, "11.37", "0.00", "11.37")] == sheet_rows(book, "payer")
        assert [("disabled_veteran", "残疾军人（革命伤残军人）", 2, 1, "31.58", "0.00", "31.58"),
                ("martyr_family", "烈士遗属", 1, 1, "15.79", "12.00", "3.79")] == sheet_rows(book, "category")
        total = [c.value for c in book["total"][2]]
        assert ["2026-03", dt.datetime(2026, 3, 1), dt.datetime(2026, 3, 31), 7, 9, 3, 2] == total[:7]
        assert "#,##0.00" == book["by_rule"]["E2"].number_format

    def test_categories_not_recorded_or_none_and_a_report_from_before_categories(
            self, report: dict[str, Any]) -> None:
        """A category not recorded (rows from before categories) and none are labelled by what
        they mean; a report written before categories has no category sheet, and the rest as before."""
        data = json.loads(json.dumps(report))
        data["by_category"] = [{**data["by_category"][0], "category": ""},
                               {**data["by_category"][1], "category": "none"}]
        labelled = load_workbook(io.BytesIO(export("xlsx", data)))
        del data["by_category"]
        older = load_workbook(io.BytesIO(export("xlsx", data)))
        assert [("", "（未记录类别）"), ("none", "无优抚类别")] == [row[:2] for row in sheet_rows(labelled, "category")]
        assert (["total", "by_rule", "by_item", "by_payer"], sheet_rows(labelled, "payer")) == (
            older.sheetnames, sheet_rows(older, "payer"))

    def test_html_and_pdf_carry_the_month_and_amounts(self, report: dict[str, Any]) -> None:
        page = export("html", report).decode()
        text = compact(export("pdf", report))
        assert ("2026-03 按负担方" in page, "优抚医疗补助" in page, "35.37" in page) == (True, True, True)
        assert ("优惠减免台帐月报" in text, "2026-03按规则" in text, "subsidy.drug" in text, "11.37" in text) \
            == (True, True, True, True)

    def test_a_float_amount_is_refused_and_nothing_written(self, report: dict[str, Any]) -> None:
        data = json.loads(json.dumps(report))
        data["by_item"][0]["granted"] = 36.0
        target = io.BytesIO()
        with pytest.raises(MoneyError) as caught:
            BY_NAME["xlsx"].write("ledger_report", data, target)
        assert ("ledger_report", "by_item[0].granted", b"") == (caught.value.record, caught.value.field,
                                                               target.getvalue())

    def test_a_missing_member_is_named(self, report: dict[str, Any]) -> None:
        data = dict(report)
        del data["by_payer"]
        with pytest.raises(InputError) as caught:
            export("pdf", data)
        assert ("ledger_report", "by_payer") == (caught.value.record, caught.value.field)

    def test_a_count_that_is_no_whole_number_is_refused(self, report: dict[str, Any]) -> None:
        data = json.loads(json.dumps(report))
        data["total"]["visits"] = "3"
        with pytest.raises(InputError) as caught:
            export("html", data)
        assert "total.visits" == caught.value.field

    @pytest.mark.parametrize("fmt", ["xlsx", "pdf"])
    def test_command(self, tmp_path: Path, fmt: str) -> None:
        """`ledger report --format xlsx|pdf -o FILE` goes through this plugin's exporters."""
        source = tmp_path / "visits.jsonl"
        source.write_text(json.dumps(visit("A", "2026-03-02", "P1"), ensure_ascii=False) + "\n", encoding="utf-8")
        url = f"sqlite:///{tmp_path / 'ledger.db'}"
        runner = CliRunner()
        posted = runner.invoke(main, ["evaluate", str(source), "--post", "--ledger", url])
        out = tmp_path / f"2026-03.{fmt}"
        made = runner.invoke(main, ["ledger", "report", "--ledger", url, "--month", "2026-03", "--format", fmt,
                                    "-o", str(out)])
        shown = (str(load_workbook(out)["by_rule"]["A2"].value) if fmt == "xlsx" else compact(out.read_bytes()))
        assert (0, 0, True) == (posted.exit_code, made.exit_code, "two-waivers.registration" in shown)
