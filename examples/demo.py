"""`make demo`: evaluate the bundled sample visits under the built-in policy, explain one, show
who pays each line of a visit with insurance data under a hypothetical subsidy pack, then report
on the sample hospital's 双拥 dossier against the built-in creation standards.

Runs the real command line, exactly as a user would type it, so the demo cannot drift from it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def shuangyong(*args: str) -> int:
    print("$ shuangyong --lang zh " + " ".join(args), flush=True)
    command = [sys.executable, "-m", "shuangyong", "--lang", "zh", *args]
    return subprocess.run(command, cwd=ROOT, check=False).returncode


def main() -> int:
    status = shuangyong("evaluate", "--format", "table", "--codes", "examples/charge_codes.csv",
                        "examples/visits.jsonl")
    print(flush=True)
    status = status or shuangyong("explain", "examples/visit.json")
    print(flush=True)
    status = status or shuangyong("evaluate", "--format", "table", "-p", "examples/youfu-subsidy.yaml",
                                  "examples/insured-visit.json")
    print(flush=True)
    return status or shuangyong("compliance", "examples/dossier.yaml", "--as-of", "2026-11-30")


if __name__ == "__main__":
    sys.exit(main())
