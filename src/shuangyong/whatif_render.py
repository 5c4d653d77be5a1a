"""A what-if comparison as an aligned text table, or as one self-contained HTML page with charts.

The page has no external assets (styles and charts are inline SVG) and escapes every value that
came from input or packs, so it can be mailed or opened offline as it is.
"""

from __future__ import annotations

from decimal import Decimal
from html import escape
from typing import TYPE_CHECKING

from shuangyong.money import ZERO, format_amount
from shuangyong.render import table
from shuangyong.text import Lang, Text
from shuangyong.whatif import NO_CATEGORY, Comparison, Reductions

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from shuangyong.model.registry import Registry

HEADINGS = {
    "rule": Text("按规则", "by rule"), "category": Text("按类别", "by category"),
    "item": Text("按收费项目类别", "by item kind"), "month": Text("按月份", "by month"),
    "largest": Text("变化最大的就诊", "largest changes"),
}
COLUMNS = Text("基线|改革|差额", "base|reform|difference")


def _yuan(value: Decimal, signed: bool = False) -> str:
    text = format_amount(abs(value))
    return ("+" if value > 0 else "−" if value < 0 else "±") + text if signed else text


def _label(kind: str, key: str, registry: Registry, lang: Lang) -> str:
    """A row key as a reader knows it: item and category labels, rule and month ids as they are."""
    if kind == "item" and key in registry.items:
        return registry.items.get(key).label.in_(lang)
    if kind == "category":
        if key == NO_CATEGORY:
            return "无类别" if lang == "zh" else "no category"
        return ("、" if lang == "zh" else " + ").join(
            registry.categories.get(k).label.in_(lang) if k in registry.categories else k for k in key.split("+"))
    return key


def _rows(comparison: Comparison, kind: str, registry: Registry) -> list[tuple[str, Decimal, Decimal]]:
    """A breakdown's rows: items and categories in registry order, the rest by key."""
    found: Mapping[str, Reductions] = getattr(comparison, f"by_{kind}")
    vocabulary = {"item": registry.items, "category": registry.categories}.get(kind)
    rank = {term.id: n for n, term in enumerate(vocabulary)} if vocabulary is not None else {}

    def order(key: str) -> tuple[tuple[int, ...], str]:
        """Ranks first, then the key: a combination ("a+b") sorts after its first part alone."""
        return tuple(rank.get(part, len(rank)) for part in key.split("+")) if rank else (), key

    return [(key, row.base, row.reform) for key, row in sorted(found.items(), key=lambda kv: order(kv[0]))]


def _sections(comparison: Comparison, registry: Registry,
              lang: Lang) -> list[tuple[str, list[str], list[list[str]]]]:
    """Title, header and rows of each breakdown, in the order both formats show them."""
    head = COLUMNS.in_(lang).split("|")
    sections = []
    for kind in ("rule", "category", "item", "month"):
        rows = [[_label(kind, key, registry, lang), _yuan(b), _yuan(r), _yuan(r - b, signed=True)]
                for key, b, r in _rows(comparison, kind, registry)]
        sections.append((HEADINGS[kind].in_(lang), ["", *head], rows))
    who = Text("就诊|患者|月份", "visit|patient|month").in_(lang).split("|")
    sections.append((HEADINGS["largest"].in_(lang), [*who, *head],
                     [[c.visit_id, c.patient, c.month, _yuan(c.base), _yuan(c.reform),
                       _yuan(c.difference, signed=True)] for c in comparison.largest_changes]))
    return sections


def _summary(comparison: Comparison, lang: Lang) -> list[list[str]]:
    c = comparison
    zh = lang == "zh"
    return [
        ["", *COLUMNS.in_(lang).split("|")],
        ["减免合计" if zh else "reduction", _yuan(c.base), _yuan(c.reform), _yuan(c.difference, signed=True)],
        ["应付合计" if zh else "payable", _yuan(c.amount - c.base), _yuan(c.amount - c.reform),
         _yuan(c.base - c.reform, signed=True)],
    ]


def _facts(comparison: Comparison, lang: Lang) -> str:
    c = comparison
    if lang == "zh":
        return (f"就诊 {c.visits} 次（出错 {c.errors} 条，未计入），费用合计 {_yuan(c.amount)} 元；"
                f"受影响的就诊 {c.visits_affected} 次，受影响的优抚对象 {len(c.beneficiaries)} 人")
    return (f"{c.visits} visits ({c.errors} records with errors left out), {_yuan(c.amount)} yuan billed; "
            f"{c.visits_affected} visits and {len(c.beneficiaries)} beneficiaries affected")


def as_table(comparison: Comparison, base: Sequence[str], reform: Sequence[str], registry: Registry,
             lang: Lang) -> str:
    """The comparison as aligned text: the totals, then each breakdown."""
    title = Text("假设测算", "What-if").in_(lang)
    out = [f"{title}: {' + '.join(base)} → {' + '.join(reform)}", _facts(comparison, lang), ""]
    out += ["  " + row for row in table(_summary(comparison, lang), right={1, 2, 3})]
    for heading, header, rows in _sections(comparison, registry, lang):
        out += ["", heading]
        if rows:
            money = {len(header) - 3, len(header) - 2, len(header) - 1}
            out += ["  " + row for row in table([header, *rows], right=money)]
        else:
            out.append("  " + ("无" if lang == "zh" else "none"))
    return "\n".join(out) + "\n"


def bar_chart(rows: list[tuple[str, Decimal, Decimal]], title: str, legend: tuple[str, str]) -> str:
    """Horizontal bars, base beside reform, one pair per row: an inline SVG (labels escaped)."""
    label_width, bar_width, pair_height = 160, 420, 30
    height = 40 + pair_height * len(rows) + 10
    top = max((max(b, r) for _, b, r in rows), default=ZERO) or Decimal(1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_width + bar_width + 120}" '
             f'height="{height}" role="img" aria-label="{escape(title)}">',
             f'<text x="0" y="16" class="t">{escape(title)}</text>',
             f'<rect x="{label_width}" y="24" width="10" height="10" class="b"/>'
             f'<text x="{label_width + 14}" y="33">{escape(legend[0])}</text>',
             f'<rect x="{label_width + 120}" y="24" width="10" height="10" class="r"/>'
             f'<text x="{label_width + 134}" y="33">{escape(legend[1])}</text>']
    for n, (label, base, reform) in enumerate(rows):
        y = 42 + n * pair_height
        parts.append(f'<text x="{label_width - 6}" y="{y + 15}" text-anchor="end">{escape(label)}</text>')
        for offset, value, kind in ((0, base, "b"), (12, reform, "r")):
            width = round(bar_width * value / top)
            parts.append(f'<rect x="{label_width}" y="{y + offset}" width="{width}" height="11" class="{kind}">'
                         f'<title>{escape(label)}: {_yuan(value)}</title></rect>')
        parts.append(f'<text x="{label_width + round(bar_width * max(base, reform) / top) + 6}" y="{y + 15}">'
                     f'{escape(_yuan(reform - base, signed=True))}</text>')
    parts.append("</svg>")
    return "".join(parts)


STYLE = """body{font-family:system-ui,"Noto Sans CJK SC","PingFang SC",sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{padding:.2em .8em;border-bottom:1px solid #ddd}
td.n{text-align:right;font-variant-numeric:tabular-nums}svg text{font-size:12px}svg .t{font-weight:bold}
svg .b{fill:#9aa5b1}svg .r{fill:#2b6cb0}.note{color:#555}"""


def _html_table(header: list[str], rows: list[list[str]], money_from: int) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f'<td class="n">{escape(v)}</td>' if i >= money_from else f"<td>{escape(v)}</td>"
                                    for i, v in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def as_html(comparison: Comparison, base: Sequence[str], reform: Sequence[str], registry: Registry,
            lang: Lang) -> str:
    """One HTML page: totals, charts by month and by item kind, then every breakdown."""
    zh = lang == "zh"
    title = f"{'假设测算' if zh else 'What-if'}: {' + '.join(base)} → {' + '.join(reform)}"
    legend = (("基线", "改革") if zh else ("base", "reform"))
    unit = "：减免（元）" if zh else ": reduction (yuan)"
    charts = [bar_chart([(key, b, r) for key, b, r in _rows(comparison, "month", registry)],
                        HEADINGS["month"].in_(lang) + unit, legend),
              bar_chart([(_label("item", key, registry, lang), b, r)
                         for key, b, r in _rows(comparison, "item", registry)],
                        HEADINGS["item"].in_(lang) + unit, legend)]
    sections = "".join(f"<h2>{escape(heading)}</h2>" + _html_table(header, rows, len(header) - 3)
                       for heading, header, rows in _sections(comparison, registry, lang))
    summary = _summary(comparison, lang)
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
            f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
            f"<h1>{escape(title)}</h1><p class=\"note\">{escape(_facts(comparison, lang))}</p>"
            f"{_html_table(summary[0], summary[1:], 1)}{''.join(charts)}{sections}</body></html>\n")
