"""A unit's year of 双拥 records (its dossier), as the compliance checks read them.

Each record kind is a frozen class; what they share (id, type, when it happened or held, who
led it, the evidence it points to) lives on :class:`Record`. A record's ``window`` is one day
for things that happen (a visit, a meeting) and a span for things that hold (a sign, a pairing).
Types are a closed vocabulary per kind, so that a misspelt type is an error, not a record that
silently counts for nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import attrs

from shuangyong.text import Text

if TYPE_CHECKING:
    import datetime as dt

    from shuangyong.dates import DateWindow

#: kind → type → label. Sources for what the seeds ask of each: DOMAIN.md §3.
RECORD_TYPES: dict[str, dict[str, Text]] = {
    "activity": {
        "holiday_visit": Text("节日走访慰问", "holiday visit to the troops"),
        "checkup": Text("共建部队官兵健康体检", "health checkup for the paired unit"),
        "free_clinic": Text("为驻军义诊", "free clinic for the garrison"),
        "publicity_board": Text("双拥宣传专栏（专刊）", "双拥 publicity board (issue)"),
        "sign_audit": Text("双拥标牌和“军人优先”标牌清理", "audit of 双拥 and military-priority signs"),
        "exhibit": Text("双拥工作成果展", "双拥 achievements exhibition"),
        "conscription_exam": Text("征兵体检", "conscription medical examination"),
        "training": Text("为部队培训卫生人员", "training of military medical staff"),
        "education": Text("国防教育活动", "national-defence education"),
        "forum": Text("军民座谈会", "military-civilian forum"),
        "elder_visit": Text("为“三老”功臣上门诊疗慰问", "home visit to a meritorious elder"),
    },
    "document": {
        "annual_plan": Text("年度双拥工作计划", "annual 双拥 work plan"),
        "annual_summary": Text("年度双拥工作总结", "annual 双拥 work summary"),
        "leading_group": Text("双拥工作领导小组名单", "roster of the 双拥 leading group"),
        "minutes": Text("会议纪要", "minutes"),
    },
    "meeting": {
        "leading_group": Text("双拥领导小组会议", "双拥 leading-group meeting"),
        "forum": Text("座谈会", "forum"),
    },
    "facility": {
        "priority_sign": Text("“军人优先”标牌", "military-priority sign"),
        "military_window": Text("军人窗口", "military window"),
        "military_ward": Text("军人病房（优抚病房）", "military ward"),
        "green_channel": Text("军人就医绿色通道", "green channel for servicemen"),
    },
    "pairing": {"joint_building": Text("结对共建", "pairing (结对共建)")},
    "coverage": {
        "cadres": Text("党政干部", "party and government cadres"),
        "militia": Text("民兵、预备役人员", "militia and reservists"),
        "others": Text("工人、农牧民、学生和其他人员", "workers, farmers, students and others"),
    },
    "placement": {
        "demobilized_cadre": Text("军队转业干部", "demobilised officer"),
        "retired_soldier": Text("退役士兵", "retired soldier"),
        "military_spouse": Text("随军家属", "military spouse"),
    },
    "ledger_publication": {"concession_ledger": Text("优惠减免台帐及公示", "concession ledger and notice")},
}

LOCATIONS: dict[str, Text] = {
    "registration": Text("挂号", "registration"),
    "pharmacy": Text("取药", "pharmacy"),
    "cashier": Text("收费", "cashier"),
    "consultation": Text("就诊", "consultation"),
    "emergency": Text("急诊", "emergency"),
    "inpatient": Text("住院部", "inpatient department"),
}

UNIT_KINDS: dict[str, Text] = {
    "hospital": Text("医院", "hospital"),
    "health_bureau": Text("卫生行政部门", "health bureau"),
    "township": Text("乡镇", "township"),
    "agency": Text("机关单位", "government agency"),
    "school": Text("学校", "school"),
}


@attrs.frozen(slots=True)
class Record:
    """What every record has. ``led_by`` names a person, compared with the unit's head."""

    kind: ClassVar[str] = ""
    id: str
    type: str
    window: DateWindow
    title: str | None = None
    led_by: str | None = None
    evidence: tuple[str, ...] = ()

    @property
    def start(self) -> dt.date:
        """The day it happened, or the first day it held."""
        assert self.window.start is not None
        return self.window.start

    @property
    def label(self) -> Text:
        """Its type's name, in zh and en."""
        return RECORD_TYPES[self.kind][self.type]


@attrs.frozen(slots=True)
class Activity(Record):
    """Something the unit did on a day: a holiday visit to the troops, a checkup, a free clinic, a training."""

    kind: ClassVar[str] = "activity"
    units: tuple[str, ...] = ()
    participants: int | None = None
    partner: str | None = None  #: the military unit it was for, if any


@attrs.frozen(slots=True)
class Document(Record):
    """A written document: the annual plan or summary, the leading group's roster, minutes."""

    kind: ClassVar[str] = "document"


@attrs.frozen(slots=True)
class Meeting(Record):
    """A leading-group meeting or a forum, with how many attended."""

    kind: ClassVar[str] = "meeting"
    attendees: int | None = None


@attrs.frozen(slots=True)
class Facility(Record):
    """A sign, window, ward or channel, in place from ``window.start`` (to ``window.end``)."""

    kind: ClassVar[str] = "facility"
    location: str | None = None


@attrs.frozen(slots=True)
class Pairing(Record):
    """A standing pairing with a military unit (``partner``), from ``window.start``."""

    kind: ClassVar[str] = "pairing"
    partner: str = ""
    partner_name: str | None = None


@attrs.frozen(slots=True)
class Coverage(Record):
    """Education reached ``reached`` of ``total`` people of one group (the record's type)."""

    kind: ClassVar[str] = "coverage"
    reached: int = 0
    total: int = 0


@attrs.frozen(slots=True)
class Placement(Record):
    """Demobilised officers, retired soldiers or military spouses the unit placed (``count`` people)."""

    kind: ClassVar[str] = "placement"
    count: int = 0


@attrs.frozen(slots=True)
class LedgerPublication(Record):
    """The concession ledger checked as complete and its notice as posted, on a date."""

    kind: ClassVar[str] = "ledger_publication"
    complete: bool = False
    published: bool = False


RECORD_CLASSES: dict[str, type[Record]] = {cls.kind: cls for cls in (
    Activity, Document, Meeting, Facility, Pairing, Coverage, Placement, LedgerPublication)}


@attrs.frozen(slots=True)
class Unit:
    """The unit the dossier is about; ``head`` is its 一把手, as records name people."""

    id: str
    name: Text
    kind: str
    head: str | None = None
    region: str | None = None


@attrs.frozen(slots=True)
class Dossier:
    """A unit's records for one year, sorted by (date, id) so that input order never matters."""

    unit: Unit
    year: int
    records: tuple[Record, ...] = attrs.field(
        converter=lambda records: tuple(sorted(records, key=lambda r: (r.start, r.id))))

    def up_to(self, day: dt.date) -> Dossier:
        """The records that had started by ``day``: what was known on that date."""
        return attrs.evolve(self, records=[r for r in self.records if r.start <= day])
