"""PDF through WeasyPrint: the HTML page with a print style, set in a CJK font; a page the
core lays out itself (the notice) is printed as the core wrote it.

WeasyPrint needs pango and a font with Chinese glyphs; without the font it would print empty
boxes without a word, so the exporter checks first and says what to install. WeasyPrint is
imported only when a PDF is written, so the other formats work where it cannot be loaded.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Any, Protocol

from shuangyong import Text
from shuangyong_export.html import render_html
from shuangyong_export.tables import ExportError, Table

PRINT_STYLE = "@page { size: A4 landscape; margin: 12mm; } body { margin: 0; font-size: 8pt; }"
INSTALL_HINT = "apt-get install -y fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 (or: make setup)"


def has_cjk_font() -> bool:
    """Whether fontconfig knows a font covering Chinese (``fc-list :lang=zh``)."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return False
    found = subprocess.run([fc_list, ":lang=zh", "family"], capture_output=True, text=True, check=False)
    return bool(found.stdout.strip())


def render_pdf(tables: tuple[Table, ...], title: Text) -> bytes:
    """The tables' HTML page printed by WeasyPrint, A4 landscape."""
    return print_html(render_html(tables, title, PRINT_STYLE))


class Page(Protocol):
    """A document the core lays out as a whole page itself (``shuangyong notice``'s notice):
    its ``html(lang)`` is the page ``--format html`` writes, print style included."""

    def html(self, lang: Any = "zh") -> str:
        """The page, in ``lang``."""


def render_page(page: Page, lang: str) -> bytes:
    """The core's own page printed as it lays it out (the notice: A4 portrait), so that the PDF
    and the HTML cannot drift apart."""
    return print_html(page.html(lang))


def print_html(page: str) -> bytes:
    """An HTML page printed by WeasyPrint; refused when no font has Chinese glyphs."""
    if not has_cjk_font():
        raise ExportError(Text(f"生成 PDF 需要中文字体：{INSTALL_HINT}",
                               f"a PDF needs a font with Chinese glyphs: {INSTALL_HINT}"),
                          record="pdf", field="font")
    try:
        from weasyprint import HTML
    except OSError as error:  # pango missing: WeasyPrint cannot load its libraries
        raise ExportError(Text(f"无法加载 WeasyPrint（{error}）：{INSTALL_HINT}",
                               f"WeasyPrint cannot load ({error}): {INSTALL_HINT}"),
                          record="pdf", field="pango") from None
    return HTML(string=page).write_pdf()
