"""`make demo`: evaluate the bundled sample visits under the built-in policy, then explain one.

Runs the real command line, exactly as a user would type it, so the demo cannot drift from it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
VISITS = HERE / "visits.jsonl"
EXPLAINED = HERE / "visit.json"


def shuangyong(*args: str) -> int:
    command = [sys.executable, "-m", "shuangyong", "--lang", "zh", *args]
    print("$ shuangyong " + " ".join(args[:-1] + (Path(args[-1]).relative_to(HERE.parent).as_posix(),)),
          flush=True)
    return subprocess.run(command, check=False).returncode


def main() -> int:
    status = shuangyong("evaluate", "--format", "table", "--codes", str(HERE / "charge_codes.csv"), str(VISITS))
    print(flush=True)
    return status or shuangyong("explain", str(EXPLAINED))


if __name__ == "__main__":
    sys.exit(main())
