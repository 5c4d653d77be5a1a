"""Compliance reports as Markdown and as one self-contained HTML page.

Both render the JSON form (:func:`~shuangyong.compliance.report.report_to_dict`), the same data an
exporter plugin receives, so that every output says the same thing. Every value that came from
a dossier or a pack is escaped: in HTML as HTML, in Markdown so that it shows as the text it is
(no raw HTML, link, image or table cell break gets through from a dossier).
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING, Any

from shuangyong.compliance.report import STATUS_LABELS, Status

if TYPE_CHECKING:
    from shuangyong.text import Lang

_HEADINGS = {
    "zh": {"title": "双拥创建标准自查报告", "as_of": "截至", "score": "总得分", "standard": "标准",
           "status": "状态", "points": "得分", "gaps": "差距", "evidence": "依据记录", "next": "即将到期",
           "clause": "条文", "none": "无"},
    "en": {"title": "双拥 creation standards report", "as_of": "as of", "score": "overall score",
           "standard": "standard", "status": "status", "points": "score", "gaps": "gaps", "evidence": "evidence",
           "next": "coming due", "clause": "clause", "none": "none"},
}


def _pct(value: str | None) -> str:
    return "—" if value is None else f"{value}%"


def _status(value: str, lang: Lang) -> str:
    return STATUS_LABELS[Status(value)].in_(lang)


#: Markdown's characters that start markup inline (code, emphasis, links and images, table cells),
#: and the backslash that escapes them; ``<`` and ``&`` are written as HTML entities.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|])")


def _md(value: object) -> str:
    """A value from a dossier or pack as Markdown that shows exactly that text on one line."""
    text = html.escape(str(value), quote=False)
    return _MARKDOWN_SPECIAL.sub(r"\\\1", re.sub(r"\s*[\r\n]+\s*", " ", text))


def to_markdown(report: dict[str, Any], lang: Lang = "zh") -> str:
    """The report (``report_to_dict``'s form) as Markdown, in one language."""
    words = _HEADINGS[lang]
    unit = report["unit"]
    lines = [f"# {_md(unit['name'][lang])} · {_md(report['year'])} · {words['title']}", "",
             f"{words['as_of']} {_md(report['as_of'])} · {words['score']} **{_pct(report['score'])}** · "
             + " · ".join(f"{_status(k, lang)} {v}" for k, v in report["counts"].items()), ""]
    for headline in report["headlines"]:
        lines += [f"## {_md(headline['title'][lang])} ({_pct(headline['score'])})", "",
                  f"| {words['standard']} | {words['status']} | {words['points']} | {words['gaps']} |",
                  "|---|---|---|---|"]
        for standard in headline["standards"]:
            gaps = "<br>".join(_md(gap[lang]) for gap in standard["gaps"]) or "—"
            lines.append(f"| {_md(standard['title'][lang])} | {_status(standard['status'], lang)} | "
                         f"{_pct(standard['score'])} | {gaps} |")
        lines.append("")
    if report["next_due"]:
        lines += [f"## {words['next']}", ""]
        lines += [f"- {_md(item['due'])}: {_md(item['gap'][lang])}" for item in report["next_due"]]
        lines.append("")
    return "\n".join(lines)


_STYLE = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei","PingFang SC",sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;width:100%;margin-bottom:1.5rem}th,td{border:1px solid #ccc;padding:.4rem;
vertical-align:top;text-align:left}th{background:#f3f3f3}.met{color:#17663a}.partial{color:#9a6700}
.missing{color:#b42318;font-weight:bold}.not_yet_due{color:#555}.not_applicable{color:#999}
small{color:#666}.met,.partial,.missing,.not_yet_due,.not_applicable,.score{white-space:nowrap}
"""


def to_html(report: dict[str, Any], lang: Lang = "zh") -> str:
    """One page, no external assets; labels in ``lang`` (Chinese by default)."""
    words = _HEADINGS[lang]
    e = html.escape
    unit = report["unit"]
    title = f"{unit['name'][lang]} · {report['year']} · {words['title']}"
    parts = [f'<!DOCTYPE html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">',
             f"<title>{e(title)}</title><style>{_STYLE}</style></head><body>",
             f"<h1>{e(title)}</h1>",
             f"<p>{words['as_of']} {e(report['as_of'])} · {words['score']} <strong>{_pct(report['score'])}</strong> · "
             + " · ".join(f'<span class="{e(k)}">{_status(k, lang)} {v}</span>' for k, v in report["counts"].items())
             + "</p>"]
    for headline in report["headlines"]:
        parts.append(f"<h2>{e(headline['title'][lang])} ({_pct(headline['score'])})</h2><table><tr>"
                     f"<th>{words['standard']}</th><th>{words['status']}</th><th>{words['points']}</th>"
                     f"<th>{words['gaps']}</th><th>{words['evidence']}</th></tr>")
        for standard in headline["standards"]:
            gaps = "<br>".join(e(gap[lang]) for gap in standard["gaps"]) or "—"
            evidence = ", ".join(e(item) for item in standard["evidence"]) or "—"
            parts.append(f"<tr><td>{e(standard['title'][lang])}<br><small>{words['clause']}："
                         f"{e(standard['clause'])}（{e(standard['source'])}）</small></td>"
                         f'<td class="{e(standard["status"])}">{_status(standard["status"], lang)}</td>'
                         f"<td class=\"score\">{_pct(standard['score'])}</td><td>{gaps}</td><td>{evidence}</td></tr>")
        parts.append("</table>")
    if report["next_due"]:
        parts.append(f"<h2>{words['next']}</h2><ul>")
        parts += [f"<li>{e(item['due'])}: {e(item['gap'][lang])}</li>" for item in report["next_due"]]
        parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts)
