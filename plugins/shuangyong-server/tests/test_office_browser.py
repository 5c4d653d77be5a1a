"""The office pages in a real browser (Debian's Chromium, driven by Playwright) against a real
server (uvicorn on a loopback port, the app ``shuangyong serve`` builds): log in, add a meeting and
see its quarter's gap leave the report, a bad date refused at its input, the 公示 printed on A4,
the auditor's month view, and each role kept to its pages."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from shuangyong import plugins
from shuangyong.ledger.report import month_report
from shuangyong.money import format_amount, from_fen
from shuangyong.testing.prerequisites import import_or_missing, missing
from shuangyong_server.office.dossiers import NotFound
from shuangyong_server.office.testing import TODAY, UNIT, YEAR, Sample, running, sample_server

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parents[3]
CHROMIUM = Path("/usr/bin/chromium")
DOSSIER = f"unit={UNIT}&year={YEAR}"
Q3_GAP = "第三季度尚无双拥领导小组会议记录"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium from Debian's package (``make setup``); no browser is downloaded."""
    sync_api = import_or_missing("playwright.sync_api")
    if not CHROMIUM.exists() and shutil.which("chromium") is None:
        missing(f"Chromium is not installed at {CHROMIUM} (make setup installs Debian's chromium)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM if CHROMIUM.exists() else
                                                                  shutil.which("chromium")), args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Sample, str]]:
    """A fresh sample server, serving, and its base URL."""
    sample = sample_server(tmp_path, ROOT / "examples")
    with running(sample.app) as base:
        yield sample, base


def logged_in(browser: Any, base: str, token: str, start: str = "/office/") -> Any:
    """A page of a new browser context (its own cookies), logged in through the login form."""
    page = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
    page.goto(base + start)
    assert "/office/login" in page.url
    page.fill("#in-token", token)
    page.click("form[action='/office/login'] button[type=submit]")
    assert "/office/login" not in page.url, page.content()
    return page


def standard_row(page: Any, standard: str) -> Any:
    """The report's row of one standard (its id has a dot, which a CSS selector escapes)."""
    escaped = standard.replace(".", "\\.")
    return page.locator(f"#standard-{escaped}")


def test_a_meeting_added_closes_its_quarters_gap_and_a_bad_date_is_refused_at_its_input(
        browser: Any, server: tuple[Sample, str]) -> None:
    sample, base = server
    page = logged_in(browser, base, sample.tokens["office"], f"/office/report?{DOSSIER}")
    assert f"{base}/office/report?{DOSSIER}" == page.url  # back where the login page was asked for
    row = standard_row(page, "org.quarterly_meeting")
    assert "partial" == row.get_attribute("data-status")
    assert Q3_GAP in row.inner_text()

    page.goto(f"{base}/office/dossier?{DOSSIER}")
    page.click("a[href*='kind=meeting']")
    page.fill("#in-id", "lg-q3")
    page.select_option("#in-type", "leading_group")
    page.fill("#in-date", "2026-09-31")
    page.fill("#in-attendees", "9")
    page.click("#record-form button[type=submit]")
    error = page.locator("#field-date .error")
    assert "日期 2026-09-31 不存在" in error.inner_text()
    assert "invalid" in (page.locator("#field-date").get_attribute("class") or "")
    assert "lg-q3" == page.input_value("#in-id")  # what was typed is kept
    assert "9" == page.input_value("#in-attendees")
    with pytest.raises(NotFound):
        sample.store.history(UNIT, YEAR, "lg-q3")  # nothing was written

    page.fill("#in-date", "2026-09-18")
    page.click("#record-form button[type=submit]")
    assert "已保存记录 lg-q3" in page.locator(".flash").inner_text()
    assert "2026-09-18" in page.locator("#record-lg-q3").inner_text()

    page.goto(f"{base}/office/report?{DOSSIER}")
    row = standard_row(page, "org.quarterly_meeting")
    assert "met" == row.get_attribute("data-status")
    assert Q3_GAP not in page.content()

    page.goto(f"{base}/office/record?{DOSSIER}&id=lg-q3")
    page.fill("#in-attendees", "12")
    page.click("#record-form button[type=submit]")
    page.goto(f"{base}/office/record?{DOSSIER}&id=lg-q3")
    history = page.locator("#history + table tbody tr")
    assert 2 == history.count()
    assert "出席人数" in history.nth(1).inner_text()  # the field version 2 changed
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#retire")
    assert "已停用记录 lg-q3" in page.locator(".flash").inner_text()
    page.goto(f"{base}/office/report?{DOSSIER}")
    assert Q3_GAP in standard_row(page, "org.quarterly_meeting").inner_text()  # retired: the gap is back
    assert [(1, False, "王芳"), (2, False, "王芳"), (3, True, "王芳")] == \
        [(v.version, v.retired, v.author) for v in sample.store.history(UNIT, YEAR, "lg-q3")]


def test_the_notice_is_printed_on_a4(browser: Any, server: tuple[Sample, str]) -> None:
    sample, base = server
    page = logged_in(browser, base, sample.tokens["office"], f"/office/notice?{DOSSIER}")
    sheet = page.locator("#notice")
    assert "双拥医疗优待公示" == page.inner_text("#notice h1")
    assert "450300" in sheet.inner_text() and str(TODAY) in sheet.inner_text()
    assert page.locator("#notice tbody tr").count() >= 3
    page.emulate_media(media="print")
    assert not page.locator("header.bar").is_visible()
    assert not page.locator("form.filter").is_visible()
    assert sheet.is_visible()
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    assert pdf.startswith(b"%PDF-")
    boxes = {tuple(round(float(n)) for n in box.split()) for box in
             re.findall(rb"/MediaBox\s*\[\s*([0-9.\s]+?)\s*\]", pdf)}
    assert boxes == {(0, 0, 595, 842)}, boxes  # A4 portrait, in points, on every page


def test_a_bad_notice_date_is_shown_at_its_input(browser: Any, server: tuple[Sample, str]) -> None:
    sample, base = server
    page = logged_in(browser, base, sample.tokens["office"], f"/office/notice?{DOSSIER}&on=2026-02-30")
    assert "2026-02-30" in page.locator("#field-on .error").inner_text()
    assert 0 == page.locator("#notice").count()


def test_the_auditor_sees_the_month_and_not_the_dossier(browser: Any, server: tuple[Sample, str]) -> None:
    sample, base = server
    page = logged_in(browser, base, sample.tokens["auditor"], "/office/ledger?month=2025-03")
    with plugins.open_ledger(sample.ledger_url, create=False) as ledger:
        expected = month_report(ledger.postings(), 2025, 3)
    assert format_amount(from_fen(expected.total.net_fen)) == page.inner_text("#total-net")
    assert expected.total.reversed_fen > 0 and format_amount(from_fen(expected.total.reversed_fen)) in \
        page.inner_text("#totals")
    tables = page.locator("table.ledger")
    assert 4 == tables.count()  # by rule, by beneficiary category, by item kind, by payer
    assert ("残疾军人" in tables.nth(1).inner_text() and "挂号费" in tables.nth(2).inner_text()
            and "医院" in tables.nth(3).inner_text())
    page.fill("#in-month", "2025-13")
    page.click("form.filter button[type=submit]")
    assert "2025-13" in page.inner_text("#field-month .error")

    page.goto(f"{base}/office/report?{DOSSIER}")
    assert standard_row(page, "org.quarterly_meeting").is_visible()  # reports: yes
    response = page.goto(f"{base}/office/dossier?{DOSSIER}")
    assert 403 == response.status  # the dossier: no
    assert "“审计”角色不能查看此页面" in page.inner_text("main")
    page.goto(f"{base}/office/")
    assert 0 == page.locator("form[action='/office/dossiers']").count()


def test_the_office_cannot_see_the_month_and_his_cannot_log_in(browser: Any, server: tuple[Sample, str]) -> None:
    sample, base = server
    page = logged_in(browser, base, sample.tokens["office"])
    assert 0 == page.locator("a[href='/office/ledger']").count()
    response = page.goto(f"{base}/office/ledger?month=2025-03")
    assert 403 == response.status
    assert "“双拥办”角色不能查看此页面" in page.inner_text("main")
    assert 0 == page.locator("#total-net").count()

    his = browser.new_context().new_page()
    his.goto(f"{base}/office/login")
    his.fill("#in-token", sample.tokens["his"])
    his.click("form[action='/office/login'] button[type=submit]")
    assert "“his”角色的令牌不能登录双拥办页面" in his.inner_text(".form-error")
    his.fill("#in-token", "sy_0000000000000000_" + "x" * 43)
    his.click("form[action='/office/login'] button[type=submit]")
    assert "令牌无效或已撤销" in his.inner_text(".form-error")
    assert [] == his.context.cookies()

    page.click("header.bar button.link")  # log out
    page.goto(f"{base}/office/dossier?{DOSSIER}")
    assert "/office/login" in page.url


def test_english_is_one_click_and_stays(browser: Any, server: tuple[Sample, str]) -> None:
    sample, base = server
    page = logged_in(browser, base, sample.tokens["admin"], f"/office/report?{DOSSIER}")
    page.click("text=English")
    assert "双拥 creation standards: self-check" in page.inner_text("h1")
    assert "Q3: no 双拥 leading-group meeting recorded" in standard_row(page, "org.quarterly_meeting").inner_text()
    page.goto(f"{base}/office/dossier?{DOSSIER}")
    assert "Recent changes" in page.inner_text("main")
    page.click("text=中文")
    assert "最近的修改" in page.inner_text("main")


def test_imports_exports_and_downloads(browser: Any, server: tuple[Sample, str], tmp_path: Path) -> None:
    sample, base = server
    page = logged_in(browser, base, sample.tokens["office"])
    exported = page.context.request.get(f"{base}/office/export?{DOSSIER}&format=yaml")
    assert "attachment" in exported.headers["content-disposition"]
    data = yaml.safe_load(exported.body())
    assert sample.store.export(UNIT, YEAR) == data

    data["records"].append({"id": "board-2", "kind": "activity", "type": "publicity_board", "date": "2026-10-20"})
    data["records"] = [r for r in data["records"] if r["id"] != "exhibit-bayi"]
    edited = tmp_path / "edited.yaml"
    edited.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    page.set_input_files("#in-file", str(edited))
    page.click("form[action='/office/import'] button[type=submit]")
    assert "导入完成：新增 1 条，修改 0 条，停用 1 条。" in page.inner_text(".flash")
    assert sample.store.history(UNIT, YEAR, "exhibit-bayi")[-1].retired

    broken = tmp_path / "broken.yaml"
    broken.write_text(edited.read_text(encoding="utf-8").replace("2026-10-20", "2026-10-32"), encoding="utf-8")
    before = sample.store.export(UNIT, YEAR)
    page.goto(f"{base}/office/")
    page.set_input_files("#in-file", str(broken))
    page.click("form[action='/office/import'] button[type=submit]")
    assert "broken.yaml: board-2" in page.inner_text("#import-error")
    assert "2026-10-32" in page.inner_text("#import-error")
    assert before == sample.store.export(UNIT, YEAR)

    for fmt, magic, media in (("pdf", b"%PDF-", "application/pdf"), ("xlsx", b"PK", "spreadsheetml"),
                              ("json", b"{", "application/json")):
        answer = page.context.request.get(f"{base}/office/report/download?{DOSSIER}&as_of=2026-11-30&format={fmt}")
        assert 200 == answer.status, answer.text()
        assert answer.body().startswith(magic) and media in answer.headers["content-type"]
    assert '"schema": "shuangyong.compliance/1"' in page.context.request.get(
        f"{base}/office/report/download?{DOSSIER}&format=json").text()


def test_a_form_without_its_csrf_value_is_refused(browser: Any, server: tuple[Sample, str]) -> None:
    sample, base = server
    page = logged_in(browser, base, sample.tokens["office"])
    answer = page.context.request.post(f"{base}/office/record/new", form={
        "unit": UNIT, "year": str(YEAR), "kind": "meeting", "id": "lg-q3", "type": "leading_group",
        "date": "2026-09-18"})
    assert 403 == answer.status
    assert "表单已过期" in answer.text()
    with pytest.raises(NotFound):
        sample.store.history(UNIT, YEAR, "lg-q3")
