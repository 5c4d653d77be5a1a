"""The 公示 (public notice) of the concessions and priorities in force in one region on one day.

The seeds ask for concessions to be posted where patients see them (公示醒目). The notice is made
from the merged policy packs, so it says what the engine grants: each rule in force that day and
in that region, its title, whom it is for and what it gives (in words), its clause and the source
the pack cites. :func:`notice_for` builds the document as data (every text in zh and en) and
:func:`notice_html` and :func:`notice_markdown` lay it out; all three are pure, so a web page
shows the same notice as ``shuangyong notice``.

Which rules are in force follows the engine: a rule's ``effective`` window holds the day (both
ends included), the region lies under the rule's region (its own, else its pack's), and the
region conditions at the top of its ``when`` (``when: {region: …}``, and in ``all``) admit it.
Everything else a condition asks is put in words for the reader.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

import attrs

from shuangyong.compliance.render import _md as markdown_text  # the one Markdown escape, as reports use it
from shuangyong.dates import DateWindow
from shuangyong.engine.explain import BASE_LABELS, NO_CONDITION
from shuangyong.engine.predicates import FACTS
from shuangyong.errors import InputError
from shuangyong.model.registry import Registry
from shuangyong.money import format_amount
from shuangyong.policy.regions import region_prefix
from shuangyong.policy.schema import DEFAULT_PAYER
from shuangyong.text import Text

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Iterable, Iterator

    from shuangyong.model.vocabulary import Vocabulary
    from shuangyong.policy.layers import PolicySet, Rule
    from shuangyong.policy.schema import Benefit, Range, RuleSpec, When
    from shuangyong.text import Lang

#: The province-level divisions of GB/T 2260 (the first two digits of every code); deeper levels
#: are not checked: the library ships no list of cities and counties.
PROVINCES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42", "43",
    "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82"})
_CODE = re.compile(r"[0-9]{6}", re.ASCII)

TITLE = Text("双拥医疗优待公示", "Public notice: military-support medical concessions")


def region_code(value: object, *, field: str = "region") -> str:
    """A region as a visit names it: six digits of GB/T 2260 whose first two are a province;
    anything else is an :class:`InputError` naming ``field`` and the value."""
    if not (isinstance(value, str) and _CODE.fullmatch(value)):
        raise InputError(Text(f"行政区划代码应为 6 位数字（GB/T 2260，如 450100），收到 {value!r}",
                              f"a region is a 6-digit GB/T 2260 code (such as 450100), got {value!r}"),
                         field=field, value=value)
    if value[:2] not in PROVINCES:
        raise InputError(Text(f"行政区划代码 {value} 不存在：{value[:2]} 不是任何省级行政区的代码",
                              f"no region has the code {value}: {value[:2]} is no province of GB/T 2260"),
                         field=field, value=value)
    return value


@attrs.frozen(slots=True)
class Entitlement:
    """One line of the notice: a rule in force, put in words."""

    rule: str  #: the rule's id
    title: Text
    who: Text  #: the rule's condition in words
    what: Text  #: the benefit, priorities and services in words
    clause: str  #: the clause the pack quotes
    source: str  #: the source the pack cites for it
    pack: str  #: the pack that defines the rule (after overrides)
    effective: DateWindow  #: the days the rule is in force, both included


@attrs.frozen(slots=True)
class Notice:
    """What is posted for ``region`` on ``day``: the entitlements in the merged set's order."""

    region: str
    day: dt.date
    packs: tuple[str, ...]
    fingerprint: str
    entitlements: tuple[Entitlement, ...]

    def html(self, lang: Lang = "zh") -> str:
        """:func:`notice_html` of this notice: what exporter plugins print (docs/cli.md)."""
        return notice_html(self, lang)


def in_force(rule: Rule, region: str, day: dt.date) -> bool:
    """Whether the engine could grant ``rule`` to a visit in ``region`` on ``day``: its window
    holds the day, its region (prefix) holds the region, and no region condition at the top of
    its ``when`` leaves the region out."""
    spec = rule.spec
    return (DateWindow(spec.effective.from_, spec.effective.to).contains(day) and region.startswith(rule.region)
            and all(region.startswith(tuple(map(region_prefix, codes))) for codes in _region_conditions(spec.when)))


def _region_conditions(when: When | None) -> Iterator[tuple[str, ...]]:
    """The ``region`` lists a visit must satisfy whatever else it is: at the top, and in ``all``."""
    if when is None:
        return
    if when.region:
        yield when.region
    for child in when.all or ():
        yield from _region_conditions(child)


def notice_for(policy: PolicySet, region: str, day: dt.date, registry: Registry | None = None) -> Notice:
    """The notice of ``policy``'s rules in force in ``region`` (six digits) on ``day``. The
    ``registry`` names categories, items and the rest (default: the built-in one; pass
    ``plugins.registry()`` when plugins add terms the packs use)."""
    region = region_code(region)
    terms = registry or Registry.builtin()
    return Notice(region, day, policy.packs, policy.fingerprint,
                  tuple(_entitlement(rule, terms) for rule in policy.rules if in_force(rule, region, day)))


def _entitlement(rule: Rule, registry: Registry) -> Entitlement:
    spec = rule.spec
    return Entitlement(spec.id, Text(spec.title.zh, spec.title.en), describe_condition(spec.when, registry),
                       describe_grant(spec, registry), spec.clause, spec.source, rule.pack,
                       DateWindow(spec.effective.from_, spec.effective.to))


# -- conditions and benefits in words --------------------------------------------------------------

def _or(words: list[str], comma: str, last: str) -> str:
    """``A、B或C``: a list of alternatives as a sentence says it."""
    return words[0] if len(words) == 1 else comma.join(words[:-1]) + last + words[-1]


def _either(vocabulary: Vocabulary, ids: Iterable[str]) -> Text:
    """Labels of some ids, as "A, B or C" (a condition's list holds when one of them does)."""
    labels = [vocabulary.get(i).label for i in vocabulary.order(ids)]
    return Text(_or([t.zh for t in labels], "、", "或"), _or([t.en for t in labels], ", ", " or "))


def _every(vocabulary: Vocabulary, ids: Iterable[str]) -> Text:
    """Labels of some ids, as "A, B" (a rule grants all of them)."""
    labels = [vocabulary.get(i).label for i in vocabulary.order(ids)]
    return Text("、".join(t.zh for t in labels), ", ".join(t.en for t in labels))


def _span(fact: str, bounds: Range) -> Text:
    """``伤残等级 1–6 级`` / ``disability level 1–6``; an open end reads "or more", "or less"."""
    name, unit = FACTS[fact].name, FACTS[fact].unit
    if bounds.min is not None and bounds.max is not None:
        return Text(f"{name.zh} {bounds.min}–{bounds.max} {unit}", f"{name.en} {bounds.min}–{bounds.max}")
    if bounds.min is not None:
        return Text(f"{name.zh} {bounds.min} {unit}及以上", f"{name.en} {bounds.min} or more")
    return Text(f"{name.zh} {bounds.max} {unit}及以下", f"{name.en} {bounds.max} or less")


def _joined(parts: list[Text], zh: str, en: str) -> Text:
    return Text(zh.join(p.zh for p in parts), en.join(p.en for p in parts))


def describe_condition(when: When | None, registry: Registry) -> Text:
    """Whom a rule's ``when`` is for, in words (zh and en), with the registry's labels: several
    keys must all hold, ``any`` one of its branches, ``not`` the opposite. (``explain`` says
    whether a condition holds for one visit; this says what it asks of anyone.)"""
    if when is None:
        return NO_CONDITION
    parts: list[Text] = []
    if when.category:
        parts.append(_either(registry.categories, when.category))
    if when.credential:
        held = _either(registry.credentials, when.credential)
        parts.append(Text(f"持有效的{held.zh}", f"holding a valid {held.en}"))
    if when.visit_kind:
        kinds = _either(registry.visit_kinds, when.visit_kind)
        parts.append(Text(f"{FACTS['visit_kind'].name.zh}为{kinds.zh}", f"{FACTS['visit_kind'].name.en}: {kinds.en}"))
    if when.region:
        codes = list(when.region)
        parts.append(Text(f"就诊地区属于 {_or(codes, '、', '或')}", f"visit region within {_or(codes, ', ', ' or ')}"))
    if when.disability_level:
        parts.append(_span("disability_level", when.disability_level))
    if when.disability_cause:
        causes = _either(registry.disability_causes, when.disability_cause)
        name = FACTS["disability_cause"].name
        parts.append(Text(f"{name.zh}为{causes.zh}", f"{name.en}: {causes.en}"))
    if when.age:
        parts.append(_span("age", when.age))
    if when.tags:
        tags = list(when.tags)
        parts.append(Text(f"收费明细标签含 {_or(tags, '、', '或')}", f"charge line tagged {_or(tags, ', ', ' or ')}"))
    parts += [describe_condition(child, registry) for child in when.all or ()]
    if when.any:
        branches = [describe_condition(child, registry) for child in when.any]
        parts.append(Text("满足其一：" + "；".join(f"（{b.zh}）" for b in branches),
                          "any of: " + "; ".join(f"({b.en})" for b in branches)))
    if when.not_ is not None:
        negated = describe_condition(when.not_, registry)
        parts.append(Text(f"不满足（{negated.zh}）", f"not ({negated.en})"))
    parts += [Text(f"插件条件 {name}：{argument}", f"plugin condition {name}: {argument}")
              for name, argument in (when.custom or {}).items()]
    return _joined(parts, "，且", ", and ")


def _targets(spec: RuleSpec, registry: Registry) -> Text:
    """The charges a benefit works on: item kinds, then fee categories."""
    items = [registry.items.get(i).label for i in spec.items]
    fees = [Text(f"{t.label.zh}（收费类别 {t.id}）", f"{t.label.en} (fee category {t.id})")
            for t in (registry.fee_categories.get(c) for c in spec.fee_categories)]
    return _joined(items + fees, "、", ", ")


def _benefit(benefit: Benefit, on: Text) -> Text:
    """A benefit's shape in words, on the charges ``on``."""
    if benefit.waive:
        return Text(f"免收{on.zh}", f"{on.en} waived")
    if benefit.waive_deposit:
        return Text(f"免交{on.zh}", f"{on.en} not required")
    if benefit.reduce is not None:
        return Text(f"{on.zh}减免 {benefit.reduce}", f"{on.en}: {benefit.reduce} off")
    if benefit.fixed is not None:
        amount = format_amount(benefit.fixed)
        return Text(f"{on.zh}每项减免 {amount} 元", f"{on.en}: {amount} yuan off each")
    if benefit.patient_pays_at_most is not None:
        amount = format_amount(benefit.patient_pays_at_most)
        return Text(f"{on.zh}个人最多负担 {amount} 元", f"{on.en}: the patient pays at most {amount} yuan")
    bands, below = [], None
    for tier in benefit.tiers or ():
        top = None if tier.up_to is None else format_amount(tier.up_to)
        if top is None:
            bands.append(Text(f"全部 {tier.reduce}", f"all {tier.reduce}") if below is None
                         else Text(f"{below} 元以上 {tier.reduce}", f"above {below} yuan {tier.reduce}"))
        else:
            bands.append(Text(f"{below or 0} 至 {top} 元 {tier.reduce}", f"{below or 0} to {top} yuan {tier.reduce}"))
        below = top
    listed = _joined(bands, "，", ", ")
    return Text(f"{on.zh}分段减免：{listed.zh}", f"{on.en}, reduced in bands: {listed.en}")


def describe_grant(spec: RuleSpec, registry: Registry) -> Text:
    """What a rule gives, in words: the benefit on its charges (with the base it is computed on,
    who bears it and its caps, when the rule says), then its priorities and services."""
    parts: list[Text] = []
    if spec.benefit is not None:
        said = _benefit(spec.benefit, _targets(spec, registry))
        if spec.base != "gross":
            base = BASE_LABELS[spec.base]
            said = Text(f"{said.zh}（按{base.zh}计算）", f"{said.en} (on the {base.en})")
        if spec.scope == "visit":
            said = Text(f"{said.zh}（按本次就诊合计）", f"{said.en} (on the visit's total)")
        if spec.payer != DEFAULT_PAYER:
            payer = registry.payers.get(spec.payer).label
            said = Text(f"{said.zh}，由{payer.zh}负担", f"{said.en}, borne by {payer.en}")
        parts.append(said)
        caps = spec.caps
        limits = [Text(zh.format(format_amount(cap)), en.format(format_amount(cap))) for cap, zh, en in (
            (caps.per_line if caps else None, "每项最多减免 {} 元", "at most {} yuan a line"),
            (caps.per_visit if caps else None, "每次就诊最多减免 {} 元", "at most {} yuan a visit"),
            (caps.per_year if caps else None, "每人每年最多减免 {} 元", "at most {} yuan a person a year"))
            if cap is not None]
        if limits:
            parts.append(_joined(limits, "，", ", "))
    if spec.priorities:
        parts.append(_every(registry.priorities, spec.priorities))
    if spec.services:
        parts.append(_every(registry.services, spec.services))
    return _joined(parts, "；", "; ")


# -- layout ----------------------------------------------------------------------------------------

#: the headings of the notice, zh then en
WORDS = {"no": Text("序号", "No."), "title": Text("优待项目", "Concession"), "who": Text("对象", "Who"),
         "what": Text("优待内容", "What"), "basis": Text("政策依据", "Basis"), "clause": Text("条文", "Clause"),
         "source": Text("出处", "Source"), "rule": Text("规则", "rule")}


def _intro(notice: Notice) -> Text:
    return Text(f"以下优惠减免和优先项目于 {notice.day} 在本地区（行政区划代码 {notice.region}）有效，"
                "依据所列政策条文执行。",
                f"The concessions and priorities below are in force on {notice.day} in region {notice.region}, "
                "under the clauses quoted.")


def _none() -> Text:
    return Text("该日本地区没有有效的优待项目。", "No concession or priority is in force in this region on this day.")


def _footer(notice: Notice) -> Text:
    packs = " → ".join(notice.packs)
    return Text(f"政策包：{packs}；政策指纹 {notice.fingerprint}。",
                f"Policy packs: {packs}; fingerprint {notice.fingerprint}.")


def _window(effective: DateWindow) -> Text | None:
    """When a rule is in force, if its pack says: ``自 2021-08-01 起施行``."""
    if effective.start is None and effective.end is None:
        return None
    if effective.end is None:
        return Text(f"自 {effective.start} 起施行", f"in force from {effective.start}")
    return Text(f"{effective} 有效", f"in force {effective}")


#: A4 portrait, black on white, a table whose header repeats and whose rows are not split across
#: pages; the fonts are those the PDF set-up installs (docs/export.md), else the system's sans-serif.
STYLE = """
@page { size: A4 portrait; margin: 15mm 14mm; }
body { font-family: "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei", sans-serif;
       font-size: 10.5pt; color: #000; background: #fff; max-width: 182mm; margin: 1.5em auto; }
h1 { text-align: center; font-size: 20pt; letter-spacing: 0.3em; margin: 0 0 0.3em; }
h1 .en { letter-spacing: normal; font-size: 11pt; }
p.intro { margin: 0.6em 0 1em; }
table { width: 100%; border-collapse: collapse; }
thead { display: table-header-group; }
tr { break-inside: avoid; page-break-inside: avoid; }
th, td { border: 1px solid #000; padding: 4px 5px; vertical-align: top; text-align: left; }
th { background: #eee; }
col.no { width: 7%; } col.title { width: 20%; } col.who { width: 21%; } col.what { width: 21%; }
col.basis { width: 31%; }
td.no { text-align: center; }
td.basis { font-size: 9pt; }
.en { display: block; color: #333; font-size: 9pt; }
.rule { color: #555; }
p.footer { margin-top: 1em; font-size: 8.5pt; color: #333; }
@media print { body { margin: 0; max-width: none; } }
"""


def _html_text(text: Text, lang: Lang) -> str:
    """Chinese first; with ``lang`` en, the English under it."""
    zh = html.escape(text.zh)
    return zh if lang == "zh" else f'{zh}<span class="en" lang="en">{html.escape(text.en)}</span>'


def notice_html(notice: Notice, lang: Lang = "zh") -> str:
    """The notice as one self-contained HTML page for A4 paper: inline style, no script, no
    external resource, every value escaped. Chinese throughout; ``lang`` en adds the English
    under each Chinese text (the clauses and sources are quoted as the packs give them)."""
    e = html.escape
    heads = "".join(f"<th>{_html_text(WORDS[key], lang)}</th>" for key in ("no", "title", "who", "what", "basis"))
    parts = ['<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">',
             f"<title>{e(TITLE.zh)}{'' if lang == 'zh' else ' ' + e(TITLE.en)}</title>",
             f"<style>{STYLE}</style></head><body>",
             f"<h1>{_html_text(TITLE, lang)}</h1>",
             f'<p class="intro">{_html_text(_intro(notice), lang)}</p>']
    if not notice.entitlements:
        parts.append(f"<p>{_html_text(_none(), lang)}</p>")
    else:
        parts.append('<table><colgroup><col class="no"><col class="title"><col class="who"><col class="what">'
                     f'<col class="basis"></colgroup><thead><tr>{heads}</tr></thead><tbody>')
        for number, item in enumerate(notice.entitlements, 1):
            window = _window(item.effective)
            basis = (f"{e(WORDS['clause'].zh)}：{e(item.clause)}<br>{e(WORDS['source'].zh)}：{e(item.source)}"
                     + (f"<br>{_html_text(window, lang)}" if window else "")
                     + f'<br><span class="rule">{e(WORDS["rule"].in_(lang))} {e(item.rule)}</span>')
            parts.append(f'<tr><td class="no">{number}</td><td>{_html_text(item.title, lang)}</td>'
                         f"<td>{_html_text(item.who, lang)}</td><td>{_html_text(item.what, lang)}</td>"
                         f'<td class="basis">{basis}</td></tr>')
        parts.append("</tbody></table>")
    parts.append(f'<p class="footer">{_html_text(_footer(notice), lang)}</p>')
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _md_text(text: Text, lang: Lang) -> str:
    """Chinese first; with ``lang`` en, `` / `` and the English."""
    zh = markdown_text(text.zh)
    return zh if lang == "zh" else f"{zh} / {markdown_text(text.en)}"


def notice_markdown(notice: Notice, lang: Lang = "zh") -> str:
    """The notice as Markdown, an entitlement a section: the same content as :func:`notice_html`,
    every value escaped so that it shows as the text it is."""
    label = {key: (words.zh if lang == "zh" else f"{words.zh} {words.en}") for key, words in WORDS.items()}
    lines = [f"# {_md_text(TITLE, lang)}", "", _md_text(_intro(notice), lang), ""]
    if not notice.entitlements:
        lines += [_md_text(_none(), lang), ""]
    for number, item in enumerate(notice.entitlements, 1):
        window = _window(item.effective)
        lines += [f"## {number}. {_md_text(item.title, lang)}", "",
                  f"- {label['who']}：{_md_text(item.who, lang)}",
                  f"- {label['what']}：{_md_text(item.what, lang)}",
                  f"- {label['clause']}：{markdown_text(item.clause)}",
                  f"- {label['source']}：{markdown_text(item.source)}"
                  + (f"（{_md_text(window, lang)}）" if window else "")
                  + f"（{WORDS['rule'].in_(lang)} {markdown_text(item.rule)}）", ""]
    lines.append(_md_text(_footer(notice), lang))
    return "\n".join(lines) + "\n"
