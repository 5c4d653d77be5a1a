"""Synthetic visits in the JSON contract, for benchmarks and demonstrations, deterministic for a seed.

The mix is illustrative, not statistics of any real hospital: it is chosen so that every rule of
the built-in packs gets work (beneficiaries of every category, credentials valid, expired and not
yet valid, every item kind, every month of a year), and so that the same patient comes back on
several visits, as real patients do (what-if counts beneficiaries as well as visits).

A visit depends only on ``(seed, its number)`` and a patient only on ``(seed, their number)``, so
any slice of a run can be regenerated on its own and two runs with one seed are byte-identical.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

#: Prices in yuan by item kind (typical list prices of a city hospital; synthetic).
PRICES = {
    "registration": ["6.00", "12.00", "25.00", "50.00"], "injection": ["3.50", "12.00", "15.00"],
    "bed": ["40.00", "80.00", "12.35", "120.00"], "routine_test": ["20.00", "10.00", "8.00"],
    "dressing": ["15.00", "35.50", "60.00"], "drug": ["37.85", "128.46", "9.99", "256.10"],
    "consultation": ["10.00", "20.00"], "exam": ["150.00", "380.00"], "treatment": ["45.60"],
    "nursing": ["24.00"], "material": ["13.27"], "blood_deposit": ["1000.00"],
}
#: Fixed patient profiles with the card each usually holds (``benchmarks/synthetic.py`` cycles them).
PATIENTS = [
    ({"categories": ["disabled_veteran"], "disability_level": 4, "disability_cause": "war"}, "key_care_medical_card"),
    ({"categories": ["martyr_family"]}, "key_care_medical_card"),
    ({"categories": ["serviceman"]}, "military_id"),
    ({"categories": ["military_family"]}, None),
    ({"categories": ["veteran"]}, "preferential_card"),
    ({"categories": []}, None),
]

#: (category, weight, card most of them hold, youngest, oldest age)
CATEGORY_MIX = [
    ("", 30, None, 1, 90),
    ("veteran", 18, "preferential_card", 22, 95),
    ("military_family", 14, None, 1, 85),
    ("serviceman", 10, "military_id", 18, 55),
    ("disabled_veteran", 9, "key_care_medical_card", 22, 95),
    ("martyr_family", 5, "key_care_medical_card", 30, 95),
    ("sacrificed_family", 3, "key_care_medical_card", 30, 95),
    ("deceased_family", 3, "key_care_medical_card", 30, 95),
    ("demobilized_veteran", 3, "key_care_medical_card", 60, 98),
    ("ill_returned_veteran", 3, "key_care_medical_card", 40, 90),
    ("war_test_veteran", 2, "key_care_medical_card", 55, 95),
]
VISIT_KINDS = [("outpatient", 70), ("emergency", 12), ("inpatient", 18)]
REGIONS = ["450100", "450200", "450300", "370100", "320100", "110100"]
#: What each kind of visit is charged for: (item, chance of a line, most lines of it)
LINE_MIX = {
    "outpatient": [("registration", 1.0, 1), ("consultation", 0.8, 1), ("drug", 0.7, 4), ("routine_test", 0.35, 2),
                   ("exam", 0.25, 2), ("injection", 0.2, 2), ("dressing", 0.08, 1), ("treatment", 0.15, 2),
                   ("material", 0.15, 2)],
    "emergency": [("registration", 1.0, 1), ("consultation", 1.0, 1), ("injection", 0.6, 3), ("drug", 0.8, 4),
                  ("exam", 0.5, 3), ("routine_test", 0.5, 3), ("treatment", 0.4, 2), ("dressing", 0.2, 2),
                  ("material", 0.3, 2), ("blood_deposit", 0.03, 1)],
    "inpatient": [("bed", 1.0, 12), ("nursing", 0.9, 6), ("drug", 0.9, 8), ("exam", 0.7, 4),
                  ("routine_test", 0.7, 3), ("injection", 0.5, 4), ("surgery", 0.25, 1), ("treatment", 0.6, 4),
                  ("dressing", 0.3, 3), ("material", 0.6, 4), ("blood_deposit", 0.08, 1)],
}
SURGERY_PRICES = ["800.00", "2350.00", "5600.00"]
PATIENTS_PER_VISIT = 4  #: on average a patient comes back four times a year


def _weighted(rng: random.Random, options: list[tuple[Any, int]]) -> Any:
    return rng.choices([o for o, _ in options], [w for _, w in options])[0]


def _window(rng: random.Random, year: int) -> dict[str, str]:
    """Mostly valid all year; one in ten expires during it, one in twenty starts during it."""
    roll = rng.random()
    start, end = dt.date(year - rng.randint(1, 8), 1, 1), dt.date(year + rng.randint(1, 5), 12, 31)
    if roll < 0.10:
        end = dt.date(year, 1, 1) + dt.timedelta(days=rng.randint(0, 364))
    elif roll < 0.15:
        start = dt.date(year, 1, 1) + dt.timedelta(days=rng.randint(0, 364))
    return {"valid_from": start.isoformat(), "valid_to": end.isoformat()}


def patient(seed: int, number: int, year: int = 2025) -> dict[str, Any]:
    """Patient ``number`` of a run: category, credentials, disability and birth date."""
    rng = random.Random(f"{seed}:patient:{number}")
    category, _, card, youngest, oldest = rng.choices(CATEGORY_MIX, [row[1] for row in CATEGORY_MIX])[0]
    birth = dt.date(year - rng.randint(youngest, oldest), 1, 1) + dt.timedelta(days=rng.randint(0, 364))
    record: dict[str, Any] = {"id": f"P{number:07d}", "birth_date": birth.isoformat(),
                              "categories": [category] if category else []}
    if category == "disabled_veteran":
        record["disability_level"] = rng.randint(1, 10)
        record["disability_cause"] = _weighted(rng, [("war", 3), ("duty", 5), ("illness", 2)])
    credentials = []
    if card is not None and rng.random() < 0.85:
        credentials.append({"kind": card, "number": f"C{number:07d}", **_window(rng, year)})
    if category == "disabled_veteran" and rng.random() < 0.7:
        credentials.append({"kind": "disability_card", "number": f"D{number:07d}", **_window(rng, year)})
    record["credentials"] = credentials
    return record


def _amount(rng: random.Random, item: str) -> str:
    if item == "drug":  # drugs are priced to the fen
        return _fen(rng.randint(150, 60000))
    if item == "surgery":
        return rng.choice(SURGERY_PRICES)
    return rng.choice(PRICES[item])


def _fen(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def visit(seed: int, number: int, patients: int, year: int = 2025) -> dict[str, Any]:
    """Visit ``number`` of a run drawing its patient from ``patients`` of them."""
    rng = random.Random(f"{seed}:visit:{number}")
    who = rng.randrange(patients)
    kind = _weighted(rng, VISIT_KINDS)
    lines: list[dict[str, Any]] = []
    for item, chance, most in LINE_MIX[kind]:
        if rng.random() < chance:
            for _ in range(rng.randint(1, most)):
                lines.append({"line_id": str(len(lines) + 1), "item": item, "amount": _amount(rng, item)})
    if kind != "outpatient" and rng.random() < 0.3 and lines:
        lines[-1]["tags"] = ["surgical"]
    day = dt.date(year, 1, 1) + dt.timedelta(days=rng.randint(0, 364))
    return {"visit_id": f"V{number:08d}", "date": day.isoformat(), "kind": kind,
            "region": REGIONS[who % len(REGIONS)], "patient": patient(seed, who, year), "lines": lines}


def visits(count: int, seed: int = 2026, year: int = 2025) -> Iterator[dict[str, Any]]:
    """``count`` visits, about one patient for every four visits."""
    patients = max(count // PATIENTS_PER_VISIT, 1)
    for number in range(count):
        yield visit(seed, number, patients, year)


def write_json_lines(records: Iterator[dict[str, Any]], out: IO[str]) -> int:
    """Write records as JSON Lines (UTF-8 text, Chinese kept as is); returns the number of lines."""
    written = 0
    for record in records:
        out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        written += 1
    return written
