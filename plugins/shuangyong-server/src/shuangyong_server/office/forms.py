"""The add / edit form of each record kind, and what a submitted form becomes.

The inputs come from the record classes themselves (``attrs.fields`` of
:data:`~shuangyong.compliance.records.RECORD_CLASSES`), so a field the core adds shows up here
with no change. A form is turned into the record as the dossier file writes it, keeping what the
person typed as typed (a count of ``"12a"`` stays a string) so that the dossier loader, not this
module, says what is wrong: one set of rules for files and for forms.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Literal

import attrs

from shuangyong import Text
from shuangyong.compliance.records import LOCATIONS, RECORD_CLASSES, RECORD_TYPES, UNIT_KINDS

if TYPE_CHECKING:
    from collections.abc import Mapping

    from shuangyong import ShuangyongError

Widget = Literal["text", "date", "number", "lines", "flag", "choice"]

#: the kinds whose records hold from ``since`` (to ``until``) instead of happening on a ``date``,
#: as ``dossier_to_dict`` writes them (tests/test_office_dossiers.py checks the two agree)
HOLDING = frozenset({"facility", "pairing"})

KIND_LABELS: dict[str, Text] = {
    "activity": Text("活动", "activity"),
    "document": Text("文件", "document"),
    "meeting": Text("会议", "meeting"),
    "facility": Text("设施与标牌", "facility or sign"),
    "pairing": Text("结对共建", "pairing"),
    "coverage": Text("国防教育覆盖", "education coverage"),
    "placement": Text("安置", "placement"),
    "ledger_publication": Text("台帐与公示", "ledger and notice"),
}

FIELD_LABELS: dict[str, Text] = {
    "id": Text("编号", "id"),
    "type": Text("类型", "type"),
    "date": Text("日期", "date"),
    "since": Text("起始日期", "in place since"),
    "until": Text("截止日期", "until"),
    "title": Text("标题", "title"),
    "led_by": Text("带队或主持人", "led by"),
    "evidence": Text("佐证材料", "evidence"),
    "units": Text("参加单位", "units taking part"),
    "participants": Text("参加人数", "participants"),
    "partner": Text("共建部队代号", "partner unit (code)"),
    "partner_name": Text("共建部队名称", "partner unit (name)"),
    "attendees": Text("出席人数", "attendees"),
    "location": Text("位置", "location"),
    "reached": Text("已覆盖人数", "people reached"),
    "total": Text("应覆盖人数", "people in the group"),
    "count": Text("人数", "people"),
    "complete": Text("台帐完整", "ledger complete"),
    "published": Text("已公示", "notice posted"),
    "name.zh": Text("单位名称（中文）", "unit name (Chinese)"),
    "name.en": Text("单位名称（英文）", "unit name (English)"),
    "kind": Text("单位类别", "kind of unit"),
    "head": Text("一把手", "head of the unit"),
    "region": Text("行政区划代码", "region code (GB/T 2260)"),
    "year": Text("年度", "year"),
}

_HINTS: dict[Widget, Text] = {
    "date": Text("格式 YYYY-MM-DD", "as YYYY-MM-DD"),
    "lines": Text("每行一项", "one per line"),
}


@attrs.frozen(slots=True)
class FormField:
    """One input: its name (the dossier's key), label, widget and, for a choice, the choices."""

    name: str
    label: Text
    widget: Widget
    choices: tuple[tuple[str, Text], ...] = ()

    @property
    def hint(self) -> Text | None:
        """What to type, when the label alone does not say."""
        return _HINTS.get(self.widget)


def _labelled(name: str) -> Text:
    return FIELD_LABELS.get(name, Text(name, name))


def _widget(name: str, annotation: object) -> FormField:
    """The input of one record field, from its name and its annotation's text."""
    if name == "location":
        return FormField(name, _labelled(name), "choice", (("", Text("—", "—")), *LOCATIONS.items()))
    text = str(annotation)
    widget: Widget = ("lines" if text.startswith("tuple") else "number" if text.startswith("int")
                      else "flag" if text == "bool" else "text")
    return FormField(name, _labelled(name), widget)


def record_fields(kind: str) -> tuple[FormField, ...]:
    """The inputs of a record of ``kind``, in the order the dossier file writes its keys."""
    dates = ("since", "until") if kind in HOLDING else ("date",)
    fields = [FormField("id", _labelled("id"), "text"),
              FormField("type", _labelled("type"), "choice", tuple(RECORD_TYPES[kind].items())),
              *(FormField(name, _labelled(name), "date") for name in dates)]
    fields += [_widget(f.name, f.type) for f in attrs.fields(RECORD_CLASSES[kind])
               if f.name not in ("id", "type", "window")]
    return tuple(fields)


UNIT_FIELDS: tuple[FormField, ...] = (
    FormField("id", _labelled("id"), "text"),
    FormField("name.zh", _labelled("name.zh"), "text"),
    FormField("name.en", _labelled("name.en"), "text"),
    FormField("kind", _labelled("kind"), "choice", tuple(UNIT_KINDS.items())),
    FormField("head", _labelled("head"), "text"),
    FormField("region", _labelled("region"), "text"),
    FormField("year", _labelled("year"), "number"),
)


def _value(field: FormField, form: Mapping[str, str]) -> Any:
    """What the form holds for one field, as the dossier file would write it; None for nothing."""
    if field.widget == "flag":
        return field.name in form
    text = form.get(field.name, "").strip()
    if not text:
        return None
    if field.widget == "lines":
        return [line.strip() for line in text.splitlines() if line.strip()]
    if field.widget == "number" and re.fullmatch(r"[0-9]{1,12}", text):
        return int(text)
    return text  # a count like "12a" stays text: the loader refuses it, naming the field


def record_from_form(kind: str, form: Mapping[str, str]) -> dict[str, Any]:
    """The record a submitted form describes, in the dossier file's form; empty inputs are left out."""
    record: dict[str, Any] = {"kind": kind}
    for field in record_fields(kind):
        value = _value(field, form)
        if value is not None and value != []:
            record[field.name] = value
    return record


def unit_from_form(form: Mapping[str, str]) -> tuple[dict[str, Any], Any]:
    """The unit (as the dossier file writes it) and the year a create form describes."""
    values = {field.name: _value(field, form) for field in UNIT_FIELDS}
    unit = {"id": values["id"] or "", "name": {"zh": values["name.zh"] or "", "en": values["name.en"] or ""},
            "kind": values["kind"] or ""}
    unit.update({key: values[key] for key in ("head", "region") if values[key] is not None})
    return unit, values["year"]


def form_from_record(record: Mapping[str, Any]) -> dict[str, str]:
    """The inputs' values showing a stored record (the inverse of :func:`record_from_form`)."""
    shown: dict[str, str] = {}
    for key, value in record.items():
        if isinstance(value, bool):
            if value:
                shown[key] = "on"
        elif isinstance(value, list | tuple):
            shown[key] = "\n".join(str(item) for item in value)
        else:
            shown[key] = str(value)
    return shown


def input_name(error: ShuangyongError) -> str | None:
    """The input an error belongs to: ``date`` for ``date``, ``evidence`` for ``evidence[1]``,
    ``name.zh`` for ``unit.name.zh``; None for the form as a whole."""
    if not error.field:
        return None
    field = error.field.removeprefix("unit.")
    return field.split("[", 1)[0]
