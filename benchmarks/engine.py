"""The engine alone (issue 18, goal 3): its fixed cost per visit, rules that all apply, explain.

    python benchmarks/engine.py [--visits 1000] [--repeats 7]

- **Fixed cost per visit**: ``Engine.evaluate`` on visits of 1 and of 20 charge lines; a straight
  line through the two gives the cost of a visit with no lines (fixed) and of one more line. The
  hand-written baseline (benchmarks/baseline.py) is timed the same way in the same run.
- **Rules that all apply**: packs of 10, 100 and 1,000 synthetic rules all written for the
  visits' own city (``synthetic.scale_pack(n, local=n)``), per line, against 10 rules.
- **Explain** against evaluate on the same visits.

Every timing is the best of ``--repeats`` runs, CPU time (``time.process_time``) and wall, with
the garbage collector frozen (the inputs moved out of its reach) and off while timing, for the
baseline as for the engine. Nothing here asserts a time; RESULTS.md keeps the figures.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import baseline  # noqa: E402
import synthetic  # noqa: E402

from shuangyong.engine import Engine  # noqa: E402
from shuangyong.interchange import visit_from_dict  # noqa: E402
from shuangyong.model import Registry  # noqa: E402
from shuangyong.policy import merge, parse_pack  # noqa: E402


def best_times(repeats: int, work: Callable[[], object]) -> tuple[float, float]:
    """The best CPU time and the best wall time of ``repeats`` runs, the collector off."""
    cpu = wall = float("inf")
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        for _ in range(repeats):
            start, start_cpu = time.perf_counter(), time.process_time()
            work()
            cpu, wall = min(cpu, time.process_time() - start_cpu), min(wall, time.perf_counter() - start)
    finally:
        gc.enable()
        gc.unfreeze()
    return cpu, wall


def per_visit(repeats: int, items: list[Any], decide: Callable[[Any], object]) -> tuple[float, float]:
    """µs per visit, CPU and wall."""
    cpu, wall = best_times(repeats, lambda: [decide(item) for item in items])
    return cpu / len(items) * 1e6, wall / len(items) * 1e6


def fixed_cost(count: int, repeats: int) -> None:
    engine = Engine.from_packs("seed-example")
    print(f"fixed cost: seed-example, {count} visits of 1 and of 20 lines; µs, CPU (wall)")
    print(f"  {'':28s} {'1 line':>15s} {'20 lines':>15s} {'fixed':>15s} {'per line':>15s}")
    rows = {}
    for name, make in (("baseline (hand-written)", lambda raw: raw),
                       ("engine.evaluate", visit_from_dict)):
        decide = baseline.decide if make is not visit_from_dict else engine.evaluate
        one = [make(r) for r in synthetic.visits(count, 1)]
        twenty = [make(r) for r in synthetic.visits(count, 20)]
        t1, t20 = per_visit(repeats, one, decide), per_visit(repeats, twenty, decide)
        line = tuple((b - a) / 19 for a, b in zip(t1, t20, strict=True))
        fixed = tuple(a - b for a, b in zip(t1, line, strict=True))
        rows[name] = fixed, line
        print(f"  {name:28s} " + " ".join(f"{c:6.2f} ({w:6.2f})" for c, w in (t1, t20, fixed, line)))
    (bf, bl), (ef, el) = rows["baseline (hand-written)"], rows["engine.evaluate"]
    print(f"  engine / baseline: fixed {ef[0] / bf[0]:5.2f}, per line {el[0] / bl[0]:5.2f} (CPU)"
          "   target: engine fixed ≤ 3 µs")


def all_apply(count: int, repeats: int) -> None:
    registry = Registry.builtin()
    raw = synthetic.visits(count, 20)
    visits = [visit_from_dict(record) for record in raw]
    base = per_visit(repeats, raw, baseline.decide)[0] / 20
    print(f"rules that all apply: every rule written for {synthetic.HOME}, {count} visits × 20 lines; "
          "µs/line, CPU (wall)")
    print(f"  baseline (hand-written, seed-example)  {base:6.2f}")
    cost: dict[int, tuple[float, float]] = {}
    for rules in (10, 100, 1000):
        pack = parse_pack(synthetic.scale_pack(rules, local=rules), f"scale-{rules}.yaml")
        engine = Engine(merge([pack], registry), registry)
        cpu, wall = per_visit(repeats, visits, engine.evaluate)
        cost[rules] = cpu / 20, wall / 20
        explain = per_visit(max(repeats // 3, 1), visits[: max(count // 10, 1)], cold(engine))[0] / 20
        print(f"  {rules:5d} rules  {cost[rules][0]:6.2f} ({cost[rules][1]:6.2f})"
              f"   vs 10 rules {cost[rules][0] / cost[10][0]:5.2f}   vs baseline {cost[rules][0] / base:5.2f}"
              f"   explain {explain:7.2f}, {explain / cost[rules][0]:5.1f}× evaluate")
    print("  target: 1000 rules ≤ 2× 10 rules; explain ≤ 10× evaluate")


def cold(engine: Engine) -> Callable[[Any], object]:
    """``engine.explain`` with what it keeps of earlier visits forgotten at each repeat's first
    visit (``Engine.explained``; absent before issue 18): no visit is explained twice warm."""
    first: list[Any] = []

    def explain(visit: Any) -> object:
        if not first:
            first.append(visit)
        if visit is first[0]:
            getattr(engine, "explained", {}).clear()
        return engine.explain(visit)

    return explain


def explain_ratio(count: int, repeats: int) -> None:
    engine = Engine.from_packs("seed-example")
    visits = [visit_from_dict(record) for record in synthetic.visits(count, 20)]
    ours = per_visit(repeats, visits, engine.evaluate)[0] / 20
    sample = visits[: max(count // 10, 1)]
    explain = per_visit(max(repeats // 3, 1), sample, cold(engine))[0] / 20
    print(f"explain: seed-example, {count} visits × 20 lines; µs/line, CPU")
    print(f"  evaluate {ours:6.2f}   explain {explain:6.2f}   ratio {explain / ours:5.1f}  (target ≤ 10)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--only", choices=["fixed", "rules", "explain"])
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    if args.only in (None, "fixed"):
        fixed_cost(args.visits, args.repeats)
    if args.only in (None, "rules"):
        all_apply(args.visits, args.repeats)
    if args.only in (None, "explain"):
        explain_ratio(args.visits, args.repeats)


if __name__ == "__main__":
    main()
