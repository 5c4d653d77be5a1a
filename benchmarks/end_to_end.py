"""Issue 18, goal 2: ``shuangyong evaluate`` against the hand-written stdlib script, CPU time and wall.

    python benchmarks/end_to_end.py [--lines 1000000] [--repeats 3] [--keep OUT.jsonl] [--same-as REF.jsonl]

Writes ``--lines`` charge lines as visits of 20 lines (benchmarks/synthetic.py), then runs the
hand-written script (benchmarks/baseline_script.py) and ``python -m shuangyong evaluate`` on them
in turns, ``--repeats`` times each, and prints the best CPU time (user + system of the child) and
the best wall time of each, with their ratios. ``--same-as`` checks the CLI's output byte for byte
against an earlier run's (kept with ``--keep``): the optimisations must not change one byte.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import synthetic  # noqa: E402


def timed(command: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system) of one child process."""
    start = time.perf_counter()
    child = subprocess.Popen(command)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"{command} exited {child.returncode}")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="copy the CLI's output here")
    parser.add_argument("--same-as", type=Path, help="fail unless the CLI's output is these bytes")
    args = parser.parse_args()
    visits = args.lines // 20
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; {visits} visits x 20 lines")
    with tempfile.TemporaryDirectory(prefix="shuangyong-e2e-") as name:
        folder = Path(name)
        source = folder / "in.jsonl"
        with source.open("w", encoding="utf-8") as handle:
            for record in synthetic.visits(visits, 20):
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        ours_out, theirs_out = folder / "ours.jsonl", folder / "theirs.jsonl"
        commands = {"script": [sys.executable, str(HERE / "baseline_script.py"), str(source), str(theirs_out)],
                    "evaluate": [sys.executable, "-m", "shuangyong", "evaluate", str(source), "-o", str(ours_out)]}
        best = {kind: (float("inf"), float("inf")) for kind in commands}
        for _ in range(args.repeats):  # in turns, so that a busy moment hurts both alike
            for kind, command in commands.items():
                wall, cpu = timed(command)
                best[kind] = (min(best[kind][0], wall), min(best[kind][1], cpu))
        with ours_out.open(encoding="utf-8") as a, theirs_out.open(encoding="utf-8") as b:
            for mine, other in zip(a, b, strict=True):
                assert json.loads(mine)["totals"] == json.loads(other)["totals"], mine[:40]
        if args.same_as is not None and ours_out.read_bytes() != args.same_as.read_bytes():
            raise SystemExit(f"the output differs from {args.same_as}")
        if args.keep is not None:
            shutil.copyfile(ours_out, args.keep)
    (script_wall, script_cpu), (ours_wall, ours_cpu) = best["script"], best["evaluate"]
    print(f"best of {args.repeats}            CPU s    wall s   µs/line CPU")
    print(f"  hand-written script  {script_cpu:7.2f}   {script_wall:7.2f}   {script_cpu / args.lines * 1e6:6.2f}")
    print(f"  shuangyong evaluate  {ours_cpu:7.2f}   {ours_wall:7.2f}   {ours_cpu / args.lines * 1e6:6.2f}"
          f"   ratio CPU {ours_cpu / script_cpu:4.2f}, wall {ours_wall / script_wall:4.2f}  (target CPU ≤ 0.9)")


if __name__ == "__main__":
    main()
