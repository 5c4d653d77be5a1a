"""The built-in vocabularies (DESIGN §4). Ids are the JSON contract; labels ship in zh and en.

``Registry`` bundles them so that an engine, and later a plugin manager, can own its own copy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from shuangyong.model.vocabulary import Term, Vocabulary
from shuangyong.text import Text

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

#: (id, zh, en, parents). Sources: DESIGN §4, DOMAIN.md §1. ``meritorious_elder`` is local and is
#: registered by region plugins, not here. The three veteran kinds under ``key_care`` are also
#: veterans (退役军人, 保障法 §2), so they have ``veteran`` as a second parent.
CATEGORIES: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("serviceman", "现役军人（含武警）", "Serviceman on active duty (incl. armed police)", ()),
    ("military_family", "现役军人家属（直系亲属）", "Serviceman's family (direct relatives)", ()),
    ("key_care", "重点优抚对象", "Key care recipient", ()),
    ("disabled_veteran", "残疾军人（革命伤残军人）", "Disabled serviceman or veteran", ("key_care",)),
    ("martyr_family", "烈士遗属", "Martyr's survivor", ("key_care",)),
    ("sacrificed_family", "因公牺牲军人遗属", "Survivor of a serviceman who died on duty", ("key_care",)),
    ("deceased_family", "病故军人遗属", "Survivor of a serviceman who died of illness", ("key_care",)),
    ("veteran", "退役军人", "Veteran", ()),
    ("demobilized_veteran", "在乡复员军人", "Demobilised veteran living in the countryside", ("key_care", "veteran")),
    ("ill_returned_veteran", "带病回乡退伍军人", "Veteran discharged with an illness", ("key_care", "veteran")),
    ("war_test_veteran", "参战参试退役军人", "Veteran of combat or weapons tests", ("key_care", "veteran")),
)

CREDENTIALS: tuple[tuple[str, str, str], ...] = (
    ("key_care_medical_card", "重点优抚对象医疗证", "Key care recipient's medical card"),
    ("preferential_card", "优待证", "Preferential treatment card"),
    ("military_id", "军官证/士兵证", "Military identity card"),
    ("disability_card", "残疾军人证", "Disabled serviceman's card"),
)

#: Charge item kinds; ``True`` marks a deposit (a sum held, not a fee).
ITEMS: tuple[tuple[str, str, str, bool], ...] = (
    ("registration", "挂号费", "Registration fee", False),
    ("consultation", "诊查费", "Consultation fee", False),
    ("injection", "注射费", "Injection fee", False),
    ("bed", "床位费", "Bed fee", False),
    ("routine_test", "三大常规检查费", "Routine blood, urine and stool tests", False),
    ("dressing", "外科换药费", "Surgical dressing change", False),
    ("blood_deposit", "用血保证金", "Blood-use deposit", True),
    ("drug", "药品费", "Drugs", False),
    ("exam", "检查费", "Examination", False),
    ("treatment", "治疗费", "Treatment", False),
    ("surgery", "手术费", "Surgery", False),
    ("nursing", "护理费", "Nursing", False),
    ("material", "卫生材料费", "Medical materials", False),
)

#: The national 医保 医疗收费项目类别 (``med_chrgitm_type``, docs/fee-categories.md for the sources):
#: (id, zh, en, the item kind every line of the category is, or ``None`` where the category holds
#: several: 04 has the routine tests and other laboratory tests, 05 injections, dressings and other
#: treatment, 12 is a bundle of registration, consultation and injection, 14 is anything else).
FEE_CATEGORIES: tuple[tuple[str, str, str, str | None], ...] = (
    ("01", "床位费", "Bed fee", "bed"),
    ("02", "诊察费", "Consultation fee", "consultation"),
    ("03", "检查费", "Examination fee", "exam"),
    ("04", "化验费", "Laboratory test fee", None),
    ("05", "治疗费", "Treatment fee", None),
    ("06", "手术费", "Surgery fee", "surgery"),
    ("07", "护理费", "Nursing fee", "nursing"),
    ("08", "卫生材料费", "Medical materials fee", "material"),
    ("09", "西药费", "Western medicines", "drug"),
    ("10", "中药饮片费", "Chinese herbal decoction pieces", "drug"),
    ("11", "中成药费", "Chinese patent medicines", "drug"),
    ("12", "一般诊疗费", "General medical service fee (primary care)", None),
    ("13", "挂号费", "Registration fee", "registration"),
    ("14", "其他费", "Other fees", None),
)
#: fee category → item kind, where the category says which (a line's ``item`` or code comes first)
FEE_CATEGORY_ITEMS: dict[str, str] = {row[0]: row[3] for row in FEE_CATEGORIES if row[3] is not None}

PRIORITIES: tuple[tuple[str, str, str], ...] = (
    ("registration", "优先挂号", "Priority registration"),
    ("consultation", "优先就诊", "Priority consultation"),
    ("exam", "优先检查", "Priority examination"),
    ("payment", "优先缴费", "Priority payment"),
    ("pharmacy", "优先取药", "Priority at the pharmacy"),
    ("admission", "优先住院", "Priority admission"),
)

SERVICES: tuple[tuple[str, str, str], ...] = (
    ("preferential_service", "优待服务", "Preferential service"),
    ("medical_preference", "医疗优待", "Medical preferential treatment"),
    ("medical_concession", "医疗优惠（按规定）", "Medical concession (as regulations provide)"),
    ("military_window", "军人窗口", "Military window"),
    ("green_channel", "绿色通道", "Green channel"),
    ("military_ward", "军人病房", "Military ward"),
    ("treat_first_settle_later", "先治疗后结帐", "Treat first, settle the bill later"),
)

VISIT_KINDS: tuple[tuple[str, str, str], ...] = (
    ("outpatient", "门诊", "Outpatient"),
    ("emergency", "急诊", "Emergency"),
    ("inpatient", "住院", "Inpatient"),
)

DISABILITY_CAUSES: tuple[tuple[str, str, str], ...] = (
    ("war", "因战", "In combat"),
    ("duty", "因公", "On duty"),
    ("illness", "因病", "Through illness"),
)


#: Who pays part of a charge line (docs/settlement.md). ``fund``: an insurance fund, whose amounts
#: the HIS sends back from 医保 settlement (the national settlement field each one stands for is in
#: docs/json-contract.md); ``subsidy``: a payer that bears concessions after insurance, the
#: hospital (医院负担, the default: what a concession meant before settlement) or a subsidy fund.
#: Funds come first, in this order: the order the contract's output lists them in.
PAYER_KINDS = ("fund", "subsidy")
PAYERS: tuple[tuple[str, str, str, str], ...] = (
    ("basic_pool", "基本医疗保险统筹基金", "Basic medical insurance pooled fund", "fund"),
    ("critical_illness", "大病保险", "Critical illness insurance", "fund"),
    ("large_amount", "大额医疗费用补助", "Large medical expenses subsidy", "fund"),
    ("medical_assistance", "医疗救助基金", "Medical assistance fund", "fund"),
    ("disabled_servicemen", "伤残人员医疗保障基金", "Medical security fund for disabled servicemen", "fund"),
    ("other_fund", "其他基金", "Other fund", "fund"),
    ("hospital", "医院负担", "Borne by the hospital", "subsidy"),
    ("youfu_medical_subsidy", "优抚医疗补助", "Medical subsidy for entitled groups (优抚)", "subsidy"),
)
#: What the patient still owes: named in every payer breakdown, so no payer may take the id.
PATIENT = "patient"
#: the built-in funds, in registry order
BUILTIN_FUNDS = tuple(payer_id for payer_id, _, _, kind in PAYERS if kind == "fund")
#: ids no fund may take whatever the registry: what the patient owes, and the built-in payers of
#: concessions (a fund with one of these ids would be counted twice in the payer breakdown)
NOT_FUNDS = frozenset({PATIENT, *(payer_id for payer_id, _, _, kind in PAYERS if kind != "fund")})


def _vocabulary(name: Text, rows: tuple[tuple[str, str, str], ...]) -> Vocabulary:
    vocabulary = Vocabulary(name)
    for term_id, zh, en in rows:
        vocabulary.register(Term(term_id, Text(zh, en)))
    return vocabulary


@attrs.define(slots=True)
class Registry:
    """Every vocabulary the engine checks input against. ``Registry.builtin()`` for the defaults."""

    categories: Vocabulary
    credentials: Vocabulary
    items: Vocabulary
    priorities: Vocabulary
    services: Vocabulary
    visit_kinds: Vocabulary
    disability_causes: Vocabulary
    #: the national fee categories (01–14); each term's ``item`` is the item kind it maps to, if any
    fee_categories: Vocabulary
    #: insurance funds and concession payers (``Term.kind``: ``fund`` or ``subsidy``)
    payers: Vocabulary
    #: policy packs added by plugins: name → YAML file (the built-in ones ship in the package)
    packs: dict[str, Path] = attrs.field(factory=dict)
    #: conditions added by plugins for ``when: {custom: {NAME: ARGUMENT}}``: NAME → factory
    predicates: dict[str, Callable[[Any], Any]] = attrs.field(factory=dict)

    @classmethod
    def builtin(cls) -> Registry:
        """The built-in vocabularies (categories, credentials, items, priorities, services, visit kinds,
        disability causes), without any plugin's."""
        categories = Vocabulary(Text("类别", "category"))
        for term_id, zh, en, parents in CATEGORIES:
            categories.register(Term(term_id, Text(zh, en), parents))
        items = Vocabulary(Text("收费项目类别", "item kind"))
        for term_id, zh, en, deposit in ITEMS:
            items.register(Term(term_id, Text(zh, en), deposit=deposit))
        fee_categories = Vocabulary(Text("医疗收费项目类别", "fee category"))
        for term_id, zh, en, item in FEE_CATEGORIES:
            fee_categories.register(Term(term_id, Text(zh, en), item=item))
        built = cls(
            categories=categories,
            credentials=_vocabulary(Text("证件类别", "credential kind"), CREDENTIALS),
            items=items,
            priorities=_vocabulary(Text("优先项", "priority"), PRIORITIES),
            services=_vocabulary(Text("服务", "service"), SERVICES),
            visit_kinds=_vocabulary(Text("就诊类型", "visit kind"), VISIT_KINDS),
            disability_causes=_vocabulary(Text("致残原因", "disability cause"), DISABILITY_CAUSES),
            fee_categories=fee_categories,
            payers=Vocabulary(Text("支付方", "payer")),
        )
        for term_id, zh, en, kind in PAYERS:
            built.register_payer(Term(term_id, Text(zh, en), kind=kind))
        return built

    def register_payer(self, term: Term) -> None:
        """Add a fund or a subsidy; the kind, the reserved id ``patient`` and flatness are checked here
        so that a plugin's mistake is refused as it registers, not when a visit meets it."""
        if term.kind not in PAYER_KINDS:
            raise ValueError(f"payer {term.id!r}: kind must be one of {', '.join(PAYER_KINDS)}, got {term.kind!r}")
        if term.id == PATIENT:
            raise ValueError(f"payer {PATIENT!r} is reserved: it names what the patient still owes")
        if term.parents:
            raise ValueError(f"payer {term.id!r}: payers have no parents")
        self.payers.register(term)

    def payer_ids(self, kind: str) -> tuple[str, ...]:
        """The ids of one kind (``fund`` or ``subsidy``), in registration order."""
        return tuple(term.id for term in self.payers if term.kind == kind)
