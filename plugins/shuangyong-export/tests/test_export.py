"""Excel, HTML and PDF exports: typed cells read back, escaping, Chinese text out of the PDF,
and every refusal leaving the target empty."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from pypdf import PdfReader

from shuangyong import plugins
from shuangyong.cli import main
from shuangyong.compliance.dossier import load_dossier
from shuangyong.compliance.report import evaluate, report_to_dict
from shuangyong.compliance.standards import StandardsSet
from shuangyong.engine import Engine
from shuangyong.errors import InputError, MoneyError
from shuangyong.interchange import decision_to_dict, visit_from_dict
from shuangyong.ledger import MemoryLedger, Posting, requests_for
from shuangyong.limits import MAX_AMOUNT
from shuangyong_export import EXPORTERS, ExportError
from shuangyong_export import pdf as pdf_module

BY_NAME = {exporter.name: exporter for exporter in EXPORTERS}
CLAUSE_START = "凭“重点优抚对象医疗证”就诊"


def visit_dict(visit_id: str = "0012", amounts: tuple[str, str] = ("12.35", "1234.50")) -> dict[str, Any]:
    return {"visit_id": visit_id, "date": "2026-03-02", "kind": "outpatient", "region": "450103",
            "patient": {"id": "P0007", "name": "黄正东", "categories": ["disabled_veteran"],
                        "credentials": [{"kind": "key_care_medical_card", "number": "桂001"}]},
            "lines": [{"line_id": "1", "item": "registration", "amount": amounts[0]},
                      {"line_id": "2", "item": "routine_test", "amount": amounts[1]}]}


def decisions(*visits: dict[str, Any]) -> list[dict[str, Any]]:
    engine = Engine.from_packs("seed-example")
    return [decision_to_dict(engine.evaluate(visit_from_dict(v))) for v in visits or (visit_dict(),)]


def postings() -> list[Posting]:
    engine = Engine.from_packs("seed-example")
    visit = visit_from_dict(visit_dict())
    return MemoryLedger("memory:").post(requests_for(visit, engine.evaluate(visit), engine.policy))


def export(name: str, subject: str, data: Any) -> bytes:
    target = io.BytesIO()
    BY_NAME[name].write(subject, data, target)
    return target.getvalue()


def sheet_xml(content: bytes, sheet: int = 1) -> str:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return archive.read(f"xl/worksheets/sheet{sheet}.xml").decode()


class TestXlsx:
    def test_ids_are_text_and_money_is_formatted_decimal(self) -> None:
        """An id like 0012 stays text; amounts are number cells with a money format, written exactly."""
        content = export("xlsx", "decisions", decisions())
        lines = load_workbook(io.BytesIO(content))["lines"]
        header = [c.value.split("\n")[1] for c in lines[1]]
        row = {key: cell for key, cell in zip(header, lines[2], strict=True)}
        assert (("s", "0012"), ("s", "1")) == ((row["visit_id"].data_type, row["visit_id"].value),
                                               (row["line_id"].data_type, row["line_id"].value))
        assert [("n", "#,##0.00")] * 3 == [(row[k].data_type, row[k].number_format)
                                           for k in ("amount", "reduction", "payable")]
        assert ("<v>12.35</v>" in sheet_xml(content), "<v>617.25</v>" in sheet_xml(content)) == (True, True)

    def test_visit_totals_sheet(self) -> None:
        """The second sheet has one row per visit with exact totals."""
        visits = load_workbook(io.BytesIO(export("xlsx", "decisions", decisions())))["visits"]
        totals = [Decimal(str(c.value)) for c in visits[2][2:5]]
        assert [Decimal("1246.85"), Decimal("629.60"), Decimal("617.25")] == totals

    def test_each_clause_once(self) -> None:
        """The rules sheet lists every rule that reduced a line once, with its clause."""
        workbook = export("xlsx", "decisions", decisions(visit_dict(), visit_dict("0013")))
        rules = load_workbook(io.BytesIO(workbook))["rules"]
        rows = [(r[0].value, r[1].value[:len(CLAUSE_START)]) for r in rules.iter_rows(min_row=2)]
        assert [("two-waivers.registration", CLAUSE_START), ("three-halves.routine-test", CLAUSE_START)] == rows

    def test_formula_looking_id_stays_text(self) -> None:
        """A visit id such as =1+1 is written as text, never as a formula Excel would run."""
        content = export("xlsx", "decisions", decisions(visit_dict(visit_id="=1+1")))
        cell = load_workbook(io.BytesIO(content))["lines"]["A2"]
        assert ("s", "=1+1", False) == (cell.data_type, cell.value, "<f>" in sheet_xml(content))

    def test_control_characters_are_written_visibly(self) -> None:
        """Characters a cell cannot hold (ESC, NUL, a lone surrogate) are shown as escapes; the row is kept."""
        decision = decisions()[0]
        decision["visit_id"] = "V\x1b[31m\x00\ud800"
        decision["lines"][0]["line_id"] = "1\tA\x0b"
        lines = load_workbook(io.BytesIO(export("xlsx", "decisions", [decision])))["lines"]
        assert [("V\\x1b[31m\\x00\\ud800", "1\tA\\x0b"), ("V\\x1b[31m\\x00\\ud800", "2")] == [
            (row[0].value, row[1].value) for row in lines.iter_rows(min_row=2)]

    def test_ledger_cells(self) -> None:
        """Ledger rows: seq an integer, the business date a date cell, money formatted."""
        sheet = load_workbook(io.BytesIO(export("xlsx", "ledger", postings())))["ledger"]
        header = [c.value.split("\n")[1] for c in sheet[1]]
        row = dict(zip(header, sheet[2], strict=True))
        assert (1, dt.datetime(2026, 3, 2), "yyyy-mm-dd", "#,##0.00", "0012") == (
            row["seq"].value, row["business_date"].value, row["business_date"].number_format,
            row["granted"].number_format, row["visit_id"].value)

    def test_reversal_row(self) -> None:
        """A reversal row: kind text, the grant it cancels an integer, the reason in Chinese."""
        ledger = MemoryLedger("memory:")
        engine = Engine.from_packs("seed-example")
        visit = visit_from_dict(visit_dict())
        ledger.post(requests_for(visit, engine.evaluate(visit), engine.policy))
        ledger.reverse(1, "重复记账")
        sheet = load_workbook(io.BytesIO(export("xlsx", "ledger", ledger.postings())))["ledger"]
        header = [c.value.split("\n")[1] for c in sheet[1]]
        row = dict(zip(header, sheet[sheet.max_row], strict=True))
        assert (("s", "reversal"), ("n", 1), "重复记账") == (
            (row["kind"].data_type, row["kind"].value), (row["reverses"].data_type, row["reverses"].value),
            row["reason"].value)

    @settings(max_examples=25, deadline=None)
    @given(st.decimals(min_value=0, max_value=MAX_AMOUNT, places=2))
    def test_money_round_trips_exactly(self, amount: Decimal) -> None:
        """Any amount the contract takes (up to limits.MAX_AMOUNT) comes back from the workbook to the fen."""
        content = export("xlsx", "decisions", decisions(visit_dict(amounts=(str(amount), "0.00"))))
        value = load_workbook(io.BytesIO(content))["lines"]["E2"].value
        assert amount == Decimal(str(value)).quantize(Decimal("0.01"))

    def test_amount_beyond_excel_precision_refused(self) -> None:
        """16 significant digits cannot be kept by Excel: since issue 14 such an amount is above
        limits.MAX_AMOUNT and is refused when read, naming visit and field; nothing is written."""
        target = io.BytesIO()
        data = decisions()  # the contract refuses such an amount as input: only a dict can carry it
        data[0]["lines"][0]["amount"] = "12345678901234.56"
        with pytest.raises(MoneyError) as caught:
            BY_NAME["xlsx"].write("decisions", data, target)
        assert ("0012", "lines[0].amount", b"") == (caught.value.record, caught.value.field, target.getvalue())
        assert "above the maximum" in str(caught.value)


class TestBadInput:
    @pytest.mark.parametrize("name", sorted(BY_NAME))
    def test_float_amount_refused_and_nothing_written(self, name: str) -> None:
        """A decision dict carrying a float amount is a MoneyError naming visit and field."""
        data = decisions()
        data[0]["lines"][1]["amount"] = 1234.5
        target = io.BytesIO()
        with pytest.raises(MoneyError) as caught:
            BY_NAME[name].write("decisions", data, target)
        assert ("0012", "lines[1].amount", b"") == (caught.value.record, caught.value.field, target.getvalue())

    def test_missing_member_named(self) -> None:
        """A decision without totals is an InputError naming the field."""
        data = decisions()
        del data[0]["totals"]
        with pytest.raises(InputError) as caught:
            export("html", "decisions", data)
        assert ("0012", "totals") == (caught.value.record, caught.value.field)

    def test_not_a_mapping_named_by_position(self) -> None:
        """Something that is not a decision object is named by its position."""
        with pytest.raises(InputError) as caught:
            export("xlsx", "decisions", [*decisions(), "oops"])
        assert ("#2", "visit_id") == (caught.value.record, caught.value.field)

    def test_unknown_subject(self) -> None:
        """Compliance reports are written as HTML by the core, not by this html: said so, by name."""
        with pytest.raises(ExportError) as caught:
            export("html", "compliance", [])
        assert ("html", "subject") == (caught.value.record, caught.value.field)


def sample_report() -> dict[str, Any]:
    dossier = load_dossier(Path(__file__).resolve().parents[3] / "examples" / "dossier.yaml")
    return report_to_dict(evaluate(dossier, StandardsSet.load(["seed-standards"]), dt.date(2026, 11, 30)))


class TestCompliance:
    def test_xlsx_has_headline_scores_and_every_standard(self) -> None:
        workbook = load_workbook(io.BytesIO(export("xlsx", "compliance", sample_report())))
        standards = [row for row in workbook["standards"].iter_rows(min_row=2, values_only=True)]
        by_id = {row[1]: row for row in standards}
        assert (6, 22, "部分达标", "第三季度尚无双拥领导小组会议记录（应于 2026-09-30 前完成）") == (
            workbook["headlines"].max_row - 1, len(standards), by_id["org.quarterly_meeting"][3],
            by_id["org.quarterly_meeting"][5])

    def test_pdf_carries_the_chinese_gaps(self) -> None:
        content = export("pdf", "compliance", sample_report())
        text = re.sub(r"\s+", "", "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages))
        assert ("双拥创建标准自查报告" in text, "就诊窗口未见“军人优先”标牌" in text) == (True, True)

    def test_a_report_missing_its_headlines_is_refused_by_name(self) -> None:
        with pytest.raises(InputError) as caught:
            export("xlsx", "compliance", {"schema": "shuangyong.compliance/1"})
        assert ("compliance", "headlines") == (caught.value.record, caught.value.field)


class TestHtml:
    def test_self_contained_and_escaped(self) -> None:
        """Markup in the data is escaped; the page loads nothing from elsewhere."""
        data = decisions(visit_dict(visit_id="<script>alert(1)</script>"))
        page = export("html", "decisions", data).decode()
        assert ("&lt;script&gt;alert(1)&lt;/script&gt;" in page, "<script" in page) == (True, False)
        assert [] == re.findall(r"(?:src|href)\s*=|@import|url\(", page)
        assert (CLAUSE_START in page, "617.25" in page, "三大常规检查费" in page) == (True, True, True)


class TestPdf:
    def test_chinese_text_comes_back(self) -> None:
        """The PDF carries the Chinese titles, clause and amounts as extractable text."""
        content = export("pdf", "decisions", decisions())
        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
        compact = re.sub(r"\s+", "", text)
        assert (content[:5], "减免明细" in compact, CLAUSE_START in compact, "617.25" in compact) == (
            b"%PDF-", True, True, True)

    def test_ledger_pdf(self) -> None:
        """The ledger prints as well, with its Chinese column titles."""
        content = export("pdf", "ledger", postings())
        text = re.sub(r"\s+", "", PdfReader(io.BytesIO(content)).pages[0].extract_text())
        assert ("优惠减免台帐" in text, "实际减免" in text) == (True, True)

    def test_missing_font_is_a_clear_error(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without a CJK font the exporter says what to install rather than print empty boxes."""
        monkeypatch.setattr(pdf_module, "has_cjk_font", lambda: False)
        target = io.BytesIO()
        with pytest.raises(ExportError) as caught:
            BY_NAME["pdf"].write("decisions", decisions(), target)
        assert ("font", True, b"") == (caught.value.field, "fonts-noto-cjk" in str(caught.value), target.getvalue())


class TestCli:
    def test_ledger_export_xlsx(self, tmp_path: Path) -> None:
        """`ledger export --format xlsx` goes through the exporter registry."""
        source = tmp_path / "visits.jsonl"
        source.write_text(json.dumps(visit_dict(), ensure_ascii=False) + "\n", encoding="utf-8")
        url = f"sqlite:///{tmp_path / 'ledger.db'}"
        runner = CliRunner()
        posted = runner.invoke(main, ["evaluate", str(source), "--post", "--ledger", url])
        out = tmp_path / "ledger.xlsx"
        exported = runner.invoke(main, ["ledger", "export", "--ledger", url, "--format", "xlsx", "-o", str(out)])
        sheet = load_workbook(out)["ledger"]
        assert (0, 0, 3) == (posted.exit_code, exported.exit_code, sheet.max_row)

    @pytest.mark.parametrize("fmt", ["xlsx", "html", "pdf"])
    def test_evaluate_writes_through_exporter(self, tmp_path: Path, fmt: str) -> None:
        """`evaluate --format xlsx|html|pdf -o FILE` writes the decisions with the plugin's exporter."""
        source = tmp_path / "visits.jsonl"
        source.write_text(json.dumps(visit_dict(), ensure_ascii=False) + "\n", encoding="utf-8")
        out = tmp_path / f"decisions.{fmt}"
        result = CliRunner().invoke(main, ["evaluate", str(source), "--format", fmt, "-o", str(out)])
        text = {"xlsx": lambda: str(load_workbook(out)["visits"]["A2"].value),
                "html": lambda: out.read_text(encoding="utf-8"),
                "pdf": lambda: PdfReader(out).pages[0].extract_text()}[fmt]()
        assert (0, True, True) == (result.exit_code, "0012" in text, "617.25" in text or fmt == "xlsx")

    def test_evaluate_unknown_format(self, tmp_path: Path) -> None:
        """An unknown format exits 2 naming the formats there are, before reading anything."""
        result = CliRunner().invoke(main, ["evaluate", "-", "--format", "docx"], input="")
        assert (2, True) == (result.exit_code, "xlsx" in result.output)

    def test_listed_by_plugins(self) -> None:
        """`shuangyong plugins` lists the exporter plugin and its hook."""
        infos = {info.name: info.hooks for info in plugins.plugin_infos()}
        assert ("register_exporters",) == infos["export"]


def test_settled_decisions_of_contract_1_1_export_as_before() -> None:
    """The tables read amount, reduction and payable; the members contract 1.1 adds (insurance,
    payers, each share's payer and base) are left out, and nothing fails on them."""
    settled = decisions(visit_dict())
    for line in settled[0]["lines"]:
        line["insurance"], line["payers"] = "0.00", {"patient": line["payable"]}
        for share in line["applied"]:
            share.update(payer="hospital", base="gross")
    settled[0]["totals"].update(insurance="0.00", payers={"patient": settled[0]["totals"]["payable"]})
    for name in ("xlsx", "html"):
        assert export(name, "decisions", settled) == export(name, "decisions", decisions(visit_dict()))
