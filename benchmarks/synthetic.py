"""Fixed-shape synthetic visits (every visit N lines, one date) and synthetic rule packs for the
engine benchmarks; the realistic generator is :mod:`shuangyong.generate` (``shuangyong generate``)."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from shuangyong.generate import PATIENTS, PRICES

CITIES = [f"{p}{c:02d}00" for p in (11, 32, 37, 44, 45, 51, 61) for c in range(1, 15)]


def visit(rng: random.Random, number: int, lines: int, region: str = "450100") -> dict[str, Any]:
    """One visit with ``lines`` charge lines; a third of them inpatient, cards mostly valid."""
    patient, card = PATIENTS[number % len(PATIENTS)]
    credentials = []
    if card is not None:
        valid_to = "2025-12-31" if number % 10 else "2025-01-31"  # one in ten has expired
        credentials.append({"kind": card, "number": f"桂{number:06d}", "valid_from": "2023-01-01",
                            "valid_to": valid_to})
    items = list(PRICES)
    return {
        "visit_id": f"V{number}", "date": "2025-06-15",
        "kind": ("outpatient", "emergency", "inpatient")[number % 3], "region": region,
        "patient": {"id": f"P{number}", **patient, "credentials": credentials},
        "lines": [{"line_id": str(n + 1), "item": (item := rng.choice(items)),
                   "amount": rng.choice(PRICES[item])} for n in range(lines)],
    }


def insured(record: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """``record`` with what 医保 settled on each line (contract 1.1): the basic pool pays a part,
    the rest is in-scope or full self-pay, cut in whole fen so that the parts add up."""
    lines = []
    for line in record["lines"]:
        fen = int(Decimal(line["amount"]) * 100)
        pool = rng.randint(0, fen)
        scope = rng.randint(0, fen - pool)
        lines.append({**line, "insurance": {
            "funds": {"basic_pool": f"{pool // 100}.{pool % 100:02d}"},
            "self_pay": {"in_scope": f"{scope // 100}.{scope % 100:02d}",
                         "full": f"{(fen - pool - scope) // 100}.{(fen - pool - scope) % 100:02d}"}}})
    return {**record, "lines": lines}


def visits(count: int, lines: int, seed: int = 2026) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [visit(rng, n, lines) for n in range(count)]


HOME = "450100"  #: the city of every benchmark visit
LOCAL_RULES = 10  #: rules written for HOME, the same at every scale


def scale_pack(rules: int, seed: int = 7, local: int = LOCAL_RULES) -> str:
    """``rules`` synthetic rules: the first ``local`` (ten) for the visits' own city, the rest
    spread over 97 other cities, as a national HIS vendor's rule set grows with every city it serves.

    The rules that apply to a visit stay the same at every scale, so what the benchmark
    measures is the cost of the rules the index should let a visit skip; with ``local=rules``,
    every rule is for the visits' city, and what it measures is the cost of rules that apply.
    """
    others = [city for city in CITIES if city != HOME]
    rng = random.Random(seed)
    items = [i for i in PRICES if i != "blood_deposit"]
    out = ["pack: scale", "title: {zh: 规模测试, en: scale test}", "rules:"]
    for n in range(rules):
        condition = rng.choice([
            "{credential: key_care_medical_card}", "{category: key_care}", "{category: serviceman}",
            "{credential: preferential_card, visit_kind: inpatient}", "{category: veteran}"])
        out += [f"  - id: synthetic-{n}",
                f"    title: {{zh: 合成规则{n}, en: synthetic rule {n}}}",
                "    clause: 合成", "    source: benchmark",
                f"    region: \"{HOME if n < local else others[n % len(others)]}\"",
                f"    when: {condition}",
                f"    items: [{rng.choice(items)}]",
                f"    benefit: {{reduce: \"{rng.choice([10, 20, 30, 50])}%\"}}",
                f"    group: g{n % 3}"]
    return "\n".join(out) + "\n"
