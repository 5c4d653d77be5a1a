"""Compliance reports per second for synthetic dossiers, and how the time grows with records.

    python benchmarks/compliance.py [--dossiers 1000] [--records 60]

Each dossier is a hospital's year: ``--records`` records drawn (seeded) from the record kinds
the seed-standards pack reads, dated across the year. Three timings in one run:

* baseline: reading the dossiers (pydantic validation into records), the work any report needs;
* report: reading plus ``evaluate`` against seed-standards, as of the year's end;
* scale: the same report on dossiers with 10× the records; the growth ratio should stay ≤ 12×.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import time
from typing import Any

from shuangyong.compliance.dossier import dossier_from_dict
from shuangyong.compliance.report import evaluate
from shuangyong.compliance.standards import StandardsSet

STANDARDS = StandardsSet.load(["seed-standards"])
NEEDED = sorted({pair for s in STANDARDS.standards for pair in s.kind.needs(s.options)})
LOCATIONS = ["registration", "pharmacy", "cashier", "consultation", "emergency", "inpatient"]


def synthetic(number: int, records: int, rng: random.Random) -> dict[str, Any]:
    items = []
    for index in range(records):
        kind, type_ = rng.choice(NEEDED)
        day = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(365))
        item: dict[str, Any] = {"id": f"r{index}", "kind": kind, "type": type_}
        if kind == "facility":
            item |= {"since": f"{rng.randrange(2015, 2027)}-01-01", "location": rng.choice(LOCATIONS)}
        elif kind == "pairing":
            item |= {"since": "2020-01-01", "partner": "PAP-1"}
        elif kind == "coverage":
            item |= {"date": day.isoformat(), "reached": 9, "total": 10}
        elif kind == "ledger_publication":
            item |= {"date": day.isoformat(), "complete": True, "published": rng.random() < 0.8}
        else:
            item |= {"date": day.isoformat(), "led_by": rng.choice(["王建国", "李红"])}
            if kind == "activity":
                item["partner"] = "PAP-1"
        items.append(item)
    return {"unit": {"id": f"H{number}", "name": {"zh": "医院", "en": "Hospital"}, "kind": "hospital",
                     "head": "王建国"}, "year": 2026, "records": items}


def timed(documents: list[dict[str, Any]], report: bool) -> float:
    as_of = dt.date(2026, 12, 31)
    start = time.perf_counter()
    for document in documents:
        dossier = dossier_from_dict(document)
        if report:
            evaluate(dossier, STANDARDS, as_of)
    return time.perf_counter() - start


def best(documents: list[dict[str, Any]], report: bool, repeat: int = 3) -> float:
    return min(timed(documents, report) for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=1000)
    parser.add_argument("--records", type=int, default=60)
    args = parser.parse_args()
    rng = random.Random(2026)
    small = [synthetic(n, args.records, rng) for n in range(args.dossiers)]
    large = [synthetic(n, args.records * 10, rng) for n in range(args.dossiers // 10)]
    read, report = best(small, False), best(small, True)
    large_report = best(large, True) * 10  # scaled to the same number of dossiers
    print(f"{args.dossiers} dossiers × {args.records} records, seed-standards ({len(STANDARDS.standards)} standards)")
    print(f"read only (baseline)  {args.dossiers / read:8.0f} dossiers/s")
    print(f"read + report         {args.dossiers / report:8.0f} dossiers/s   ratio {report / read:5.2f}× the baseline")
    print(f"10× records per dossier: {large_report / report:5.2f}× the time per dossier (target ≤ 12×)")


if __name__ == "__main__":
    main()
