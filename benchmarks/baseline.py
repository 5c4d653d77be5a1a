"""The hand-written baseline: the seed-example policy as one plain Python function, with Decimal.

It is what a careful HIS developer would write without the library (no packs, no index, no
explanations), and it must agree with the engine on every visit: the benchmark checks that.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

FEN = Decimal("0.01")
HALF = Decimal("0.5")
ZERO = Decimal("0.00")
CARD = "key_care_medical_card"
WAIVED = {"registration": "two-waivers.registration", "injection": "two-waivers.injection"}
HALVED = {"routine_test": "three-halves.routine-test", "dressing": "three-halves.dressing"}
SEED_002 = ("凭“重点优抚对象医疗证”就诊，可享受“四优先”（优先挂号、就诊、取药、住院）、“两免”（免交挂号费、注射费）、"
            "“三减半”（减半住院床位费、三大常规检查费、外科换药费）等优惠待遇。")
BLOOD = "落实现役军人及其直系亲属临床用血免交用血保证金制度。"
VETERANS = {"veteran", "demobilized_veteran", "ill_returned_veteran", "war_test_veteran"}
SURVIVORS = {"martyr_family", "sacrificed_family", "deceased_family"}
STATUS_LAW = dt.date(2021, 8, 1)
VETERANS_LAW = dt.date(2021, 1, 1)
REGULATION_2024 = dt.date(2024, 10, 1)


def _national_services(categories: set[str], day: dt.date) -> set[str]:
    """cn-national: 地位法 §51, 保障法 §52, 条例2024 §44 (visit-level services only)."""
    services = set()
    veteran = bool(categories & VETERANS)
    combat_or_disabled = "war_test_veteran" in categories or ("disabled_veteran" in categories and veteran)
    if day >= STATUS_LAW and "serviceman" in categories:
        services.add("preferential_service")
    if day >= STATUS_LAW and categories & (SURVIVORS | {"military_family"}):
        services.add("medical_preference")
    if day >= VETERANS_LAW and veteran:
        services.add("preferential_service")
    if day >= VETERANS_LAW and combat_or_disabled:
        services.add("medical_concession")
    if day >= REGULATION_2024:
        if categories & (SURVIVORS | VETERANS | {"serviceman", "disabled_veteran", "military_family"}):
            services.add("preferential_service")
        if categories & {"war_test_veteran", "disabled_veteran"}:
            services.add("medical_concession")
    return services


SERVICE_ORDER = ["preferential_service", "medical_preference", "medical_concession", "military_window",
                 "green_channel", "military_ward", "treat_first_settle_later"]


def _card_valid(patient: dict[str, Any], day: dt.date) -> bool:
    for card in patient.get("credentials", ()):
        if card["kind"] == CARD:
            start = dt.date.fromisoformat(card["valid_from"]) if card.get("valid_from") else None
            end = dt.date.fromisoformat(card["valid_to"]) if card.get("valid_to") else None
            if (start is None or start <= day) and (end is None or day <= end):
                return True
    return False


def decide(visit: dict[str, Any]) -> dict[str, Any]:
    """Contract-v1 output for the seed-example policy (amounts as Decimal; the caller formats)."""
    day = dt.date.fromisoformat(visit["date"])
    patient = visit["patient"]
    categories = set(patient.get("categories", ()))
    card = _card_valid(patient, day)
    serviceman = "serviceman" in categories
    blood = serviceman or "military_family" in categories
    inpatient = visit["kind"] == "inpatient"
    acute = visit["kind"] in ("emergency", "inpatient")
    lines = []
    total = reduced = ZERO
    for line in sorted(visit["lines"], key=lambda ln: int(ln["line_id"])):
        amount = Decimal(line["amount"])
        item = line["item"]
        rule = clause = None
        reduction = ZERO
        if card and item in WAIVED:
            rule, clause, reduction = WAIVED[item], SEED_002, amount
        elif card and (item in HALVED or (item == "bed" and inpatient)):
            rule = HALVED.get(item, "three-halves.bed")
            clause, reduction = SEED_002, (amount * HALF).quantize(FEN, rounding=ROUND_HALF_UP)
        elif blood and item == "blood_deposit":
            rule, clause, reduction = "blood-deposit-waiver", BLOOD, amount
        lines.append({"line_id": line["line_id"], "item": item, "amount": amount,
                      "reduction": reduction, "payable": amount - reduction, "rule": rule, "clause": clause})
        total += amount
        reduced += reduction
    priorities = ["registration", "consultation", "pharmacy", "admission"] if card else (
        ["consultation"] if serviceman else [])
    services = _national_services(categories, day)
    if serviceman:
        services |= {"military_window", "green_channel"}
        if acute:
            services |= {"military_ward", "treat_first_settle_later"}
    return {"visit_id": visit["visit_id"], "lines": lines, "priorities": priorities,
            "services": [s for s in SERVICE_ORDER if s in services],
            "totals": {"amount": total, "reduction": reduced, "payable": total - reduced}}
