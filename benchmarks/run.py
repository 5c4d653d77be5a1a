"""`make bench`: every figure is a ratio against a hand-written baseline timed in the same run.

    python benchmarks/run.py [--visits 2000] [--e2e-visits 20000] [--stream-lines 1000000]

Machines here are noisy, so each timing is the best of several repeats, and what matters is the
ratio printed beside it. Nothing here asserts a time; RESULTS.md keeps the figures.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import baseline  # noqa: E402
import synthetic  # noqa: E402

from shuangyong import generate  # noqa: E402
from shuangyong.engine import Engine  # noqa: E402
from shuangyong.interchange import decision_to_json, visit_from_dict, visit_from_json  # noqa: E402
from shuangyong.model import Registry  # noqa: E402
from shuangyong.policy import merge, parse_pack  # noqa: E402


def best_of(repeats: int, work: Callable[[], object]) -> float:
    return best_times(repeats, work)[0]


def best_times(repeats: int, work: Callable[[], object]) -> tuple[float, float]:
    """The best wall-clock time and the best CPU time (``time.process_time``) of ``repeats`` runs:
    on a shared machine CPU time is the steadier of the two."""
    wall = cpu = float("inf")
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        work()
        wall, cpu = min(wall, time.perf_counter() - start), min(cpu, time.process_time() - start_cpu)
    return wall, cpu


def check_agreement(engine: Engine, raw: list[dict[str, Any]], visits: list[Any]) -> None:
    """The baseline is only a fair yardstick if it computes the same thing."""
    for record, visit in zip(raw, visits, strict=True):
        ours, theirs = engine.evaluate(visit), baseline.decide(record)
        assert [(ln.line_id, ln.reduction, ln.rule) for ln in ours.lines] == \
            [(ln["line_id"], ln["reduction"], ln["rule"]) for ln in theirs["lines"]], record["visit_id"]
        assert (list(ours.priorities), list(ours.services)) == (theirs["priorities"], theirs["services"])


def engine_vs_baseline(count: int) -> dict[str, float]:
    raw = synthetic.visits(count, 20)
    visits = [visit_from_dict(record) for record in raw]
    engine = Engine.from_packs("seed-example")
    check_agreement(engine, raw, visits)
    lines = count * 20
    base = best_of(7, lambda: [baseline.decide(r) for r in raw]) / lines * 1e6
    ours = best_of(7, lambda: [engine.evaluate(v) for v in visits]) / lines * 1e6
    sample = visits[: max(count // 10, 1)]
    explain = best_of(3, lambda: [engine.explain(v) for v in sample]) / (len(sample) * 20) * 1e6
    print(f"seed-example, {count} visits × 20 lines")
    print(f"  baseline (hand-written, Decimal) {base:7.2f} µs/line")
    print(f"  engine.evaluate                  {ours:7.2f} µs/line   ratio {ours / base:5.2f}  (target ≤ 1.5)")
    print(f"  engine.explain                   {explain:7.2f} µs/line   ratio {explain / base:5.2f}  (target ≤ 10)")
    return {"baseline": base, "engine": ours, "explain": explain}


def insured_vs_bare(count: int) -> dict[str, float]:
    """The same visits with and without 医保's figures on their lines, under seed-example: the
    settlement path (docs/settlement.md) against the fast loop. Twice: ``count`` visits of 20
    lines, and ten times as many of the generator's (``shuangyong generate``, 8.7 lines each).

    Two ways, CPU time, the two sides taking turns (9 rounds), each side's best and the median of
    the rounds' ratios printed. *As read* (the headline): each eight visits decided right after
    they are built, as ``shuangyong evaluate`` or a HIS decides a visit it has just received;
    nothing else is held, and only the deciding is timed. *Held*: every visit built first, then
    all decided, with the garbage collector's view of them frozen (``gc.freeze``); the insured
    visits then take 27 MB against 6 MB, and reading an insured line's figures is a wait on
    memory, which the last row measures alone (RESULTS.md, "Settlement, fourth session")."""
    engine = Engine.from_packs("seed-example")
    figures = {}
    for name, raw in ((f"{count} visits x 20 lines", synthetic.visits(count, 20)),
                      (f"{count * 10} generated visits", list(generate.visits(count * 10)))):
        rng = random.Random(16)
        records = {"bare": raw, "insured": [synthetic.insured(record, rng) for record in raw]}
        lines = sum(len(record["lines"]) for record in raw)
        rounds: dict[str, list[dict[str, float]]] = {"read": [], "held": [], "fields": []}
        for _ in range(9):
            rounds["read"].append({kind: _as_read(engine, chosen) for kind, chosen in records.items()})
        held = {kind: [visit_from_dict(record) for record in chosen] for kind, chosen in records.items()}
        gc.collect()
        gc.freeze()
        for _ in range(9):
            rounds["held"].append({kind: _deciding(engine, visits) for kind, visits in held.items()})
            rounds["fields"].append({kind: _reading_fields(visits) for kind, visits in held.items()})
        del held
        gc.unfreeze()
        print(f"settlement, seed-example, {name} ({lines} lines); µs/line, CPU, best of 9 rounds; "
              "ratio: median of the rounds'")
        for way, label, target in (("read", "each decided as read", "  (target ≤ 1.3)"),
                                   ("held", "visits held, collector frozen", ""),
                                   ("fields", "held, reading the line's figures", "")):
            fast, settled = (min(times[kind] for times in rounds[way]) / lines * 1e6 for kind in ("bare", "insured"))
            ratio = statistics.median(times["insured"] / times["bare"] for times in rounds[way])
            print(f"  {label:34s} without {fast:5.2f}  with insurance data {settled:5.2f}   "
                  f"ratio {ratio:5.2f}{target}")
            figures.update({f"{name} {way} bare": fast, f"{name} {way} insured": settled, f"{name} {way}": ratio})
    return figures


def _deciding(engine: Engine, visits: list[Any]) -> float:
    """CPU seconds ``engine`` takes to decide ``visits``."""
    start = time.process_time()
    for visit in visits:
        engine.evaluate(visit)
    return time.process_time() - start


def _reading_fields(visits: list[Any]) -> float:
    """CPU seconds to read what a decision copies from each line: its amount and id, and, of an
    insured line, its self-pay, what the funds paid and its payer breakdown (no deciding)."""
    start = time.process_time()
    for visit in visits:
        for line in visit.lines:
            line.amount, line.line_id  # noqa: B018
            if line.insurance is not None:
                line.insurance.self_pay, line.insurance.fund_total, line.insurance.payers  # noqa: B018
    return time.process_time() - start


def _as_read(engine: Engine, records: list[dict[str, Any]], chunk: int = 8) -> float:
    """CPU seconds ``engine`` takes to decide ``records``, each ``chunk`` of them decided right
    after they are built (building them not counted)."""
    seconds = 0.0
    for start in range(0, len(records), chunk):
        seconds += _deciding(engine, [visit_from_dict(record) for record in records[start:start + chunk]])
    return seconds


def settlement_end_to_end(count: int, folder: Path) -> dict[str, float]:
    """``shuangyong evaluate`` on ``count`` visits of 20 lines, with and without insurance data:
    reading the JSON (the insurance figures checked), deciding, writing the payer breakdowns."""
    rng = random.Random(16)
    raw = synthetic.visits(count, 20)
    sources = {"bare": folder / "settle-bare.jsonl", "insured": folder / "settle-insured.jsonl"}
    for kind, path in sources.items():
        with path.open("w", encoding="utf-8") as handle:
            for record in raw:
                handle.write(json.dumps(synthetic.insured(record, rng) if kind == "insured" else record,
                                        ensure_ascii=False) + "\n")
    out = folder / "settle-out.jsonl"
    seconds = {kind: min(_run([sys.executable, "-m", "shuangyong", "evaluate", str(path), "-o", str(out)])
                         for _ in range(3))
               for kind, path in sources.items()}
    print(f"settlement end to end, {count} visits x 20 lines as JSON Lines (parse, check, evaluate, write)")
    print(f"  without insurance data  {seconds['bare']:6.2f} s")
    print(f"  with insurance data     {seconds['insured']:6.2f} s   ratio {seconds['insured'] / seconds['bare']:5.2f}")
    return seconds


def settlement_pieces(count: int, chunk: int = 8) -> dict[str, float]:
    """Where ``shuangyong evaluate``'s extra time with insurance data goes, in process: reading a
    JSON Lines line (``visit_from_json``: pydantic-core, the checks, the ``Insurance`` of each
    line), deciding, and writing the decision; ``count`` visits of 20 lines, each ``chunk`` of
    them read, decided and written before the next is read, as the command goes (nothing held,
    so that the collector does not walk what a command would have let go). µs a line, CPU, best
    of five rounds."""
    engine = Engine.from_packs("seed-example")
    rng = random.Random(16)
    raw = synthetic.visits(count, 20)
    lines = count * 20
    print(f"settlement end to end in pieces, {count} visits x 20 lines; µs/line, CPU, best of 5")
    figures: dict[str, float] = {}
    for kind, records in (("without insurance data", raw),
                          ("with insurance data", [synthetic.insured(record, rng) for record in raw])):
        texts = [json.dumps(record, ensure_ascii=False).encode() for record in records]
        best = {"read": float("inf"), "evaluate": float("inf"), "write": float("inf")}
        for _ in range(5):
            spent = dict.fromkeys(best, 0.0)
            for start in range(0, len(texts), chunk):
                began = time.process_time()
                visits = [visit_from_json(text) for text in texts[start:start + chunk]]
                read = time.process_time()
                decisions = [engine.evaluate(visit) for visit in visits]
                decided = time.process_time()
                for decision in decisions:
                    decision_to_json(decision)
                spent["read"] += read - began
                spent["evaluate"] += decided - read
                spent["write"] += time.process_time() - decided
            best = {piece: min(best[piece], spent[piece]) for piece in best}
        print(f"  {kind:24s}" + "".join(f"  {piece} {seconds / lines * 1e6:5.2f}" for piece, seconds in best.items()))
        figures.update({f"{kind} {piece}": seconds / lines * 1e6 for piece, seconds in best.items()})
    return figures


def rule_scaling(count: int) -> dict[int, float]:
    registry = Registry.builtin()
    raw = synthetic.visits(count, 20)
    visits = [visit_from_dict(record) for record in raw]
    base = best_of(7, lambda: [baseline.decide(r) for r in raw]) / (count * 20) * 1e6
    cost = {}
    print(f"rule scaling: {synthetic.LOCAL_RULES} rules for the visits' city {synthetic.HOME}, "
          f"the rest over {len(synthetic.CITIES) - 1} other cities")
    for rules in (10, 100, 1000):
        pack = parse_pack(synthetic.scale_pack(rules), f"scale-{rules}.yaml")
        engine = Engine(merge([pack], registry), registry)
        cost[rules] = best_of(7, lambda engine=engine: [engine.evaluate(v) for v in visits]) / (count * 20) * 1e6
        print(f"  {rules:5d} rules  {cost[rules]:6.2f} µs/line   vs baseline {cost[rules] / base:5.2f}"
              f"   vs 10 rules {cost[rules] / cost[10]:5.2f}  (target at 1000 ≤ 1.5)")
    return cost


def _run(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - start


def end_to_end(count: int, folder: Path) -> dict[str, float]:
    source = folder / "e2e.jsonl"
    with source.open("w", encoding="utf-8") as handle:
        for record in synthetic.visits(count, 20):
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    ours_out, theirs_out = folder / "ours.jsonl", folder / "theirs.jsonl"
    theirs = min(_run([sys.executable, str(HERE / "baseline_script.py"), str(source), str(theirs_out)])
                 for _ in range(3))
    ours = min(_run([sys.executable, "-m", "shuangyong", "evaluate", str(source), "-o", str(ours_out)])
               for _ in range(3))
    with ours_out.open(encoding="utf-8") as a, theirs_out.open(encoding="utf-8") as b:
        for mine, other in zip(a, b, strict=True):
            mine_d, other_d = json.loads(mine), json.loads(other)
            assert mine_d["totals"] == other_d["totals"], mine_d["visit_id"]
    print(f"end to end, {count} visits × 20 lines as JSON Lines (parse, validate, evaluate, write)")
    print(f"  hand-written script   {theirs:6.2f} s   {count / theirs:8.0f} visits/s")
    print(f"  shuangyong evaluate   {ours:6.2f} s   {count / ours:8.0f} visits/s   ratio {ours / theirs:5.2f}"
          "  (target ≤ 1.5)")
    return {"script": theirs, "cli": ours}


def streaming(lines: int, folder: Path) -> dict[str, float]:
    """Stream many JSON Lines through the CLI; report peak RSS of the child and throughput."""
    source = folder / "stream.jsonl"
    with source.open("w", encoding="utf-8") as handle:
        chunk = [json.dumps(r, ensure_ascii=False) + "\n" for r in synthetic.visits(1000, 3)]
        for start in range(0, lines, len(chunk)):
            handle.writelines(chunk[: min(len(chunk), lines - start)])
    with open(os.devnull, "w") as sink:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "shuangyong", "evaluate", str(source)], stdout=sink, check=True)
        seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(f"streaming {lines} JSON Lines (visits of 3 charge lines) through shuangyong evaluate")
    print(f"  {seconds:6.1f} s   {lines / seconds:8.0f} lines/s   peak RSS {peak_kib / 1024:6.1f} MB"
          "  (target < 150 MB)")
    return {"seconds": seconds, "peak_mb": peak_kib / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=2000)
    parser.add_argument("--e2e-visits", type=int, default=20000)
    parser.add_argument("--stream-lines", type=int, default=1_000_000)
    parser.add_argument("--only", choices=["settlement"], help="run one part: settlement, the insured_vs_bare "
                        "figures, settlement end to end in pieces (on --visits // 2 visits) and as a command "
                        "(on --e2e-visits // 4 visits)")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    if args.only == "settlement":
        insured_vs_bare(args.visits)
        settlement_pieces(args.visits // 2)
        if args.e2e_visits:
            with tempfile.TemporaryDirectory(prefix="shuangyong-bench-") as folder:
                settlement_end_to_end(args.e2e_visits // 4, Path(folder))
        return
    engine_vs_baseline(args.visits)
    insured_vs_bare(args.visits)
    rule_scaling(args.visits)
    with tempfile.TemporaryDirectory(prefix="shuangyong-bench-") as folder:
        if args.stream_lines:  # first: RUSAGE_CHILDREN reports the peak of all children so far
            streaming(args.stream_lines, Path(folder))
        end_to_end(args.e2e_visits, Path(folder))
        settlement_end_to_end(args.e2e_visits // 4, Path(folder))


if __name__ == "__main__":
    main()
