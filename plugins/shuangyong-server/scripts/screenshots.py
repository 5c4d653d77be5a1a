"""Take the screenshots of docs/office.md: the office pages of the sample server (the example
dossier and ledger, on 30 November 2026) in Debian's headless Chromium. Run from the repository root:

    .venv/bin/python plugins/shuangyong-server/scripts/screenshots.py

Needs Chromium at /usr/bin/chromium (make setup) and Playwright for Python (a dependency of
shuangyong-server); writes docs/_static/office-*.png.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from shuangyong_server.office.testing import UNIT, YEAR, running, sample_server

ROOT = Path(__file__).resolve().parents[3]
STATIC = ROOT / "docs" / "_static"
DOSSIER = f"unit={UNIT}&year={YEAR}"
WIDTH, HEIGHT = 1200, 860


def shoot(page: Page, name: str, *, full: bool = False) -> None:
    page.screenshot(path=str(STATIC / f"office-{name}.png"), full_page=full)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        sample = sample_server(Path(folder), ROOT / "examples")
        with running(sample.app) as base, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT}, device_scale_factor=1)
            page.goto(f"{base}/office/")
            page.fill("#in-token", "sy_…")
            shoot(page, "login")
            page.fill("#in-token", sample.tokens["office"])
            page.click("form[action='/office/login'] button[type=submit]")

            page.goto(f"{base}/office/dossier?{DOSSIER}")
            shoot(page, "dossier")
            page.goto(f"{base}/office/record/new?{DOSSIER}&kind=meeting")
            page.fill("#in-id", "lg-q3")
            page.fill("#in-date", "2026-09-31")
            page.fill("#in-led_by", "王建国")
            page.fill("#in-attendees", "9")
            page.click("#record-form button[type=submit]")
            shoot(page, "field-error")
            page.goto(f"{base}/office/report?{DOSSIER}")
            shoot(page, "report")
            page.goto(f"{base}/office/notice?{DOSSIER}")
            page.emulate_media(media="print")  # as it prints: the page's own controls hidden
            page.set_viewport_size({"width": 900, "height": HEIGHT})
            shoot(page, "notice")
            browser.close()

            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT}, device_scale_factor=1)
            page.goto(f"{base}/office/login")
            page.fill("#in-token", sample.tokens["auditor"])
            page.click("form[action='/office/login'] button[type=submit]")
            page.goto(f"{base}/office/ledger?month=2025-03")
            shoot(page, "ledger", full=True)
            browser.close()
    print("wrote", *sorted(p.name for p in STATIC.glob("office-*.png")), file=sys.stderr)


if __name__ == "__main__":
    main()
