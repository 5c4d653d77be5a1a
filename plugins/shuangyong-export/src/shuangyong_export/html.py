"""A self-contained HTML page: inline style, no script, no external resource, every value escaped.

The same page, with a print style, is what the PDF exporter hands to WeasyPrint, so the two
formats cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from html import escape
from typing import TYPE_CHECKING

from shuangyong.plugins import format_amount

if TYPE_CHECKING:
    from shuangyong import Text
    from shuangyong_export.tables import Cell, Table

#: Font families for Chinese text; the PDF set-up installs Noto CJK (see docs/export.md).
CJK_FONTS = '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei", sans-serif'
STYLE = f"""
body {{ font-family: {CJK_FONTS}; font-size: 10pt; color: #111; margin: 1.5em; }}
h1 {{ font-size: 15pt; }} h2 {{ font-size: 12pt; margin-top: 1.5em; }}
table {{ border-collapse: collapse; }}
th, td {{ border: 1px solid #999; padding: 2px 6px; vertical-align: top; }}
th {{ background: #eee; text-align: left; }} th span {{ display: block; font-weight: normal; color: #555; }}
td.money, td.int {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }}
td.clause {{ max-width: 60em; }}
"""


def _format(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format_amount(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def render_html(tables: tuple[Table, ...], title: Text, extra_style: str = "") -> str:
    """The tables as one HTML page; ``extra_style`` is appended to the page's style (the PDF's print rules)."""
    parts = ['<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">',
             f"<title>{escape(title.zh)} {escape(title.en)}</title>",
             f"<style>{STYLE}{extra_style}</style></head><body>",
             f"<h1>{escape(title.zh)} <small>{escape(title.en)}</small></h1>"]
    for table in tables:
        parts.append(f"<h2>{escape(table.title.zh)} <small>{escape(table.title.en)}</small></h2><table><thead><tr>")
        parts += [f"<th>{escape(c.title.zh)}<span>{escape(c.title.en)}</span></th>" for c in table.columns]
        parts.append("</tr></thead><tbody>")
        for row in table.rows:
            cells = "".join(f'<td class="{c.kind if c.key != "clause" else "clause"}">{escape(_format(v))}</td>'
                            for c, v in zip(table.columns, row, strict=True))
            parts.append(f"<tr>{cells}</tr>")
        parts.append("</tbody></table>")
    parts.append("</body></html>\n")
    return "\n".join(parts)
