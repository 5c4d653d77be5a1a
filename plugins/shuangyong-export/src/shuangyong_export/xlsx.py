"""Excel workbooks through openpyxl: one sheet per table, typed cells, never a float.

Ids are written as text cells even when they look like numbers or formulas (``"0012"``,
``"=1+1"``): a spreadsheet must not drop leading zeros or run an HIS's data as a formula. Money
is written from ``Decimal`` as a number cell with the ``#,##0.00`` format, so Excel can sum it.
An Excel number is a double with 15 significant digits, so an amount that needs more is refused
rather than silently rounded. A control character the file format cannot hold (ESC, NUL: all of
C0 but tab, line feed and carriage return) is written visibly as its escape, ``\\x1b``, so that the
row is kept and the character can be seen; Excel could not have shown it anyway.
"""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from shuangyong import Text
from shuangyong_export.tables import ExportError, Table

if TYPE_CHECKING:
    from decimal import Decimal

MONEY_FORMAT = "#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"
EXCEL_DIGITS = 15
WRAPPED = Alignment(wrap_text=True, vertical="top")
WIDTHS = {"clause": 60, "rule": 26, "policy": 22, "priorities": 40, "services": 40, "hash": 20, "prev_hash": 20}


#: What an xlsx cell cannot hold: the C0 controls but tab, line feed and carriage return (XML 1.0
#: forbids them; openpyxl would raise IllegalCharacterError), and lone surrogates (not UTF-8).
UNWRITABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


def cell_text(value: str) -> str:
    """VALUE with every character a cell cannot hold written as its escape (``\\x1b``, ``\\ud800``)."""
    return UNWRITABLE.sub(lambda found: ascii(found.group())[1:-1], value)


def header(column_title: Text) -> str:
    """A header cell: the Chinese title above the English one."""
    return f"{column_title.zh}\n{column_title.en}"


def _money(value: Decimal, table: Table, row: int, key: str) -> Decimal:
    if len(value.as_tuple().digits) > EXCEL_DIGITS:
        raise ExportError(Text(f"金额 {value} 超过 Excel 可精确保存的 15 位有效数字",
                               f"amount {value} has more than the 15 significant digits Excel keeps exactly"),
                          record=f"{table.name} row {row}", field=key, value=value)
    return value


def render_xlsx(tables: tuple[Table, ...], title: Text) -> bytes:
    """The whole workbook, built in memory: a failure leaves the caller's stream untouched."""
    book = Workbook()
    book.remove(book.worksheets[0])  # the empty sheet a new workbook has
    book.properties.title = f"{title.zh} {title.en}"
    for table in tables:
        sheet = book.create_sheet(table.name)
        sheet.append([header(c.title) for c in table.columns])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
            cell.alignment = WRAPPED
        for number, values in enumerate(table.rows, 1):
            for index, (column, value) in enumerate(zip(table.columns, values, strict=True), 1):
                cell = sheet.cell(row=number + 1, column=index)
                if value is None:
                    continue
                if column.kind == "money":
                    cell.value = _money(value, table, number, column.key)  # type: ignore[arg-type]  # money cells are Decimal
                    cell.number_format = MONEY_FORMAT
                elif column.kind == "date":
                    cell.value = value
                    cell.number_format = DATE_FORMAT
                elif column.kind == "int":
                    cell.value = value
                else:
                    cell.value = cell_text(str(value))
                    cell.data_type = "s"  # never a formula, never a number
                    if column.key == "clause":
                        cell.alignment = WRAPPED
        sheet.freeze_panes = "A2"
        sheet.row_dimensions[1].height = 30  # the two-line (zh, en) header
        sheet.page_setup.orientation = "landscape"  # printed: every column on one page's width
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
        sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
        for index, column in enumerate(table.columns, 1):
            sheet.column_dimensions[get_column_letter(index)].width = WIDTHS.get(column.key, 16)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
