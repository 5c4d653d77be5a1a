"""``register_exporters``: xlsx, html and pdf for decisions, ledger postings and the monthly
ledger report; xlsx and pdf for compliance reports too (the core writes their HTML); pdf for the
notice (``shuangyong notice``), printed from the page the core writes.

Every ``shuangyong`` command imports this module (docs/plugins.md): openpyxl (which brings numpy)
and WeasyPrint are imported only when a workbook or a PDF is written."""

from __future__ import annotations

from typing import IO, TYPE_CHECKING, Any

import attrs

from shuangyong import Text, hookimpl
from shuangyong_export.html import render_html
from shuangyong_export.pdf import render_page, render_pdf  # WeasyPrint itself: only when a PDF is written
from shuangyong_export.tables import SUBJECTS, WITH_COMPLIANCE, Table, tables_for

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

TITLES = {"decisions": Text("双拥医疗优待决定", "Military-support medical concessions: decisions"),
          "ledger": Text("优惠减免台帐", "Concession ledger"),
          "compliance": Text("双拥创建标准自查报告", "双拥 creation standards report"),
          "ledger_report": Text("优惠减免台帐月报", "Concession ledger: monthly report")}


@attrs.frozen(slots=True)
class TableExporter:
    """An exporter (see docs/hooks.md): turns the subject into tables, then renders them whole.

    Rendering to bytes before writing means a bad record leaves the target empty. ``pages`` are
    the subjects the core lays out as whole pages (the notice), each with how this format renders
    one, in the language the command chose.
    """

    name: str
    suffix: str
    render: Callable[[tuple[Table, ...], Text], bytes]
    subjects: frozenset[str]
    pages: Mapping[str, Callable[[Any, str], bytes]] = attrs.field(factory=dict)

    def write(self, subject: str, data: Any, target: IO[bytes], lang: str = "zh") -> None:
        """Render ``subject`` (its tables, or its page in ``lang``) and write it in one piece."""
        if subject in self.pages:
            content = self.pages[subject](data, lang)
        else:
            content = self.render(tables_for(subject, data, self.subjects, self.name), TITLES[subject])
        target.write(content)


def render_xlsx(tables: tuple[Table, ...], title: Text) -> bytes:
    """The workbook's bytes (:func:`shuangyong_export.xlsx.render_xlsx`)."""
    from shuangyong_export.xlsx import render_xlsx  # here: openpyxl and numpy only when a workbook is written

    return render_xlsx(tables, title)


EXPORTERS = (
    TableExporter("xlsx", ".xlsx", render_xlsx, WITH_COMPLIANCE),
    TableExporter("html", ".html", lambda tables, title: render_html(tables, title).encode(), SUBJECTS),
    TableExporter("pdf", ".pdf", render_pdf, WITH_COMPLIANCE | {"notice"}, {"notice": render_page}),
)


@hookimpl
def register_exporters() -> Mapping[str, Any]:
    """The ``xlsx``, ``html`` and ``pdf`` exporters."""
    return {exporter.name: exporter for exporter in EXPORTERS}
