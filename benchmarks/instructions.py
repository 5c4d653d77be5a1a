"""Instructions, not seconds: what `Engine.evaluate` executes per line, counted by valgrind.

    python benchmarks/instructions.py [--visits 300] [--passes 5] [--lines 20] [--rules 100 1000]

Timings on this shared two-core machine move by ±0.15 in a ratio from one run to the next
(benchmarks/RESULTS.md, "Settlement (issue 16)"); an instruction count does not move at all. Each
figure is valgrind's count (``cachegrind``, no cache simulation) of a child process that builds
the visits, decides them once and then ``--passes`` times, minus the count of the same process
that stops after the first time, divided by the lines decided: what deciding a visit costs once
the engine's plans for such visits are built. It says how much work a path does, not what the
memory traffic of its larger objects costs: read it beside the timed figures of ``run.py``.
Needs valgrind (Debian package ``valgrind``).
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import synthetic  # noqa: E402

from shuangyong.engine import Engine  # noqa: E402
from shuangyong.interchange import visit_from_dict  # noqa: E402
from shuangyong.model import Registry  # noqa: E402
from shuangyong.policy import merge, parse_pack  # noqa: E402

KINDS = {"bare": "without insurance data (fast loop)", "insured": "with insurance data (settlement)"}


def child(kind: str, visits: int, passes: int, lines: int) -> None:
    """Build the visits of ``kind`` and decide each once (which builds the engine's plans and
    fills its caches); then decide them ``passes`` times more. ``kind`` ``rules:N``: visits without
    insurance data under N synthetic rules all written for their city."""
    if kind.startswith("rules:"):
        rules = int(kind.partition(":")[2])
        registry = Registry.builtin()
        engine = Engine(merge([parse_pack(synthetic.scale_pack(rules, local=rules), f"scale-{rules}.yaml")],
                              registry), registry)
    else:
        engine = Engine.from_packs("seed-example")
    rng = random.Random(16)
    raw = synthetic.visits(visits, lines)
    built = [visit_from_dict(synthetic.insured(record, rng) if kind == "insured" else record) for record in raw]
    for visit in built:
        engine.evaluate(visit)
    gc.collect()
    gc.freeze()
    for _ in range(passes):
        for visit in built:
            engine.evaluate(visit)


def instructions(kind: str, visits: int, passes: int, lines: int) -> int:
    """valgrind's instruction count of a child run (with ``PYTHONHASHSEED=0``, so that it is the
    same on every run)."""
    done = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
                           sys.executable, __file__, "--child", kind, "--visits", str(visits),
                           "--passes", str(passes), "--lines", str(lines)],
                          capture_output=True, text=True, check=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    if found is None:
        raise SystemExit(f"no instruction count in valgrind's output:\n{done.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=300, help="visits of 20 lines (default 300)")
    parser.add_argument("--passes", type=int, default=5, help="times each visit is decided (default 5)")
    parser.add_argument("--lines", type=int, default=20, help="lines a visit (default 20)")
    parser.add_argument("--rules", type=int, nargs="*", default=[],
                        help="instead: visits without insurance data under 10 and under each N synthetic rules that "
                        "all apply (issue 18 §3: 1,000 rules ≤ 2× 10)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.visits, args.passes, args.lines)
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    lines = args.visits * args.lines * args.passes
    if args.rules:
        count = {rules: (instructions(f"rules:{rules}", args.visits, args.passes, args.lines)
                         - instructions(f"rules:{rules}", args.visits, 0, args.lines)) / lines
                 for rules in (10, *args.rules)}
        print(f"Engine.evaluate, rules that all apply, {args.visits} visits x {args.lines} lines, {args.passes} "
              "passes; instructions per line (valgrind)")
        for rules, per_line in count.items():
            print(f"  {rules:6d} rules {per_line:8.0f}   vs 10 rules {per_line / count[10]:5.2f}")
        return
    per_line = {kind: (instructions(kind, args.visits, args.passes, args.lines)
                       - instructions(kind, args.visits, 0, args.lines)) / lines for kind in KINDS}
    print(f"Engine.evaluate under seed-example, {args.visits} visits x {args.lines} lines, {args.passes} passes; "
          "instructions per line (valgrind)")
    for kind, label in KINDS.items():
        print(f"  {label:36s} {per_line[kind]:8.0f}")
    print(f"  ratio {per_line['insured'] / per_line['bare']:.2f}  (target for the time: ≤ 1.3)")


if __name__ == "__main__":
    main()
