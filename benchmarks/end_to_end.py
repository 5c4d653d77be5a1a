"""Issue 18, goal 2: ``shuangyong evaluate`` against the hand-written stdlib script, CPU time and wall.

    python benchmarks/end_to_end.py [--lines 1000000] [--repeats 3] [--before SRC] [--keep OUT] [--same-as REF]

Writes ``--lines`` charge lines as visits of 20 lines (benchmarks/synthetic.py), then runs the
hand-written script (benchmarks/baseline_script.py) and ``python -m shuangyong evaluate`` on them
in turns, ``--repeats`` times each, and prints the best CPU time (user + system of the child) and
the best wall time of each, with their ratios. ``--same-as`` checks the CLI's output byte for byte
against an earlier run's (kept with ``--keep``): the optimisations must not change one byte.
``--before SRC`` also times the package found in SRC (an older checkout's ``src``, on PYTHONPATH
ahead of the installed one) in the same turns, and checks that its output is the same bytes.
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

NAMES = {"script": "hand-written script", "evaluate": "shuangyong evaluate", "before": "shuangyong evaluate (before)"}


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall and CPU seconds (user + system) of one child process."""
    start = time.perf_counter()
    child = subprocess.Popen(command, env=env)
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
    parser.add_argument("--before", type=Path, help="also time the shuangyong package in this src folder")
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
        envs: dict[str, dict[str, str] | None] = dict.fromkeys(commands)
        if args.before is not None:
            before_out = folder / "before.jsonl"
            commands["before"] = [*commands["evaluate"][:-1], str(before_out)]
            envs["before"] = {**os.environ, "PYTHONPATH": str(args.before.resolve())}
        best = {kind: (float("inf"), float("inf")) for kind in commands}
        for _ in range(args.repeats):  # in turns, so that a busy moment hurts all alike
            for kind, command in commands.items():
                wall, cpu = timed(command, envs[kind])
                best[kind] = (min(best[kind][0], wall), min(best[kind][1], cpu))
        if args.before is not None and before_out.read_bytes() != ours_out.read_bytes():
            raise SystemExit(f"the output differs from that of {args.before}")
        with ours_out.open(encoding="utf-8") as a, theirs_out.open(encoding="utf-8") as b:
            for mine, other in zip(a, b, strict=True):
                assert json.loads(mine)["totals"] == json.loads(other)["totals"], mine[:40]
        if args.same_as is not None and ours_out.read_bytes() != args.same_as.read_bytes():
            raise SystemExit(f"the output differs from {args.same_as}")
        if args.keep is not None:
            shutil.copyfile(ours_out, args.keep)
    script_wall, script_cpu = best.pop("script")
    if args.before is not None:
        print(f"before: the package in {args.before}")
    print(f"best of {args.repeats}                       CPU s    wall s   µs/line CPU")
    for kind, (wall, cpu) in {"script": (script_wall, script_cpu), **best}.items():
        name = NAMES[kind]
        ratios = "" if kind == "script" else (f"   ratio CPU {cpu / script_cpu:4.2f}, wall {wall / script_wall:4.2f}"
                                              "  (target CPU ≤ 0.9)")
        print(f"  {name:28s} {cpu:7.2f}   {wall:7.2f}   {cpu / args.lines * 1e6:6.2f}{ratios}")

if __name__ == "__main__":
    main()
