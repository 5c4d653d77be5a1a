"""Run one docs page's blocks in order in the current directory: ``python -c SOURCE PLAN RESULTS``.

tests/test_docs.py passes this file's text to ``python -c``, so the page runs as a reader's
Python session would: the working directory first on ``sys.path``, nothing of the test suite
imported. Python blocks share one namespace; shell blocks run in bash, and each command of a
transcript is followed by a separator carrying its exit status, so that ``echo $?`` in the next
command still sees it. Each step's output (and a Python block's traceback, or a shell block's
status) goes to RESULTS as JSON. The first Python block that raises, or shell block that fails,
ends the page: what follows builds on it.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import subprocess
import sys
import traceback
from typing import Any

SEPARATOR = "\x1e"
TIMEOUT = 300  # seconds for one shell block


def run_python(step: dict[str, Any], namespace: dict[str, Any]) -> dict[str, Any]:
    """Execute the block with its lines numbered as in the page, so a traceback points there."""
    printed = io.StringIO()
    code = compile("\n" * (step["line"] - 1) + step["code"], step["page"], "exec")
    try:
        with contextlib.redirect_stdout(printed):
            exec(code, namespace)  # noqa: S102 - the docs' own examples, run as a reader runs them
    except BaseException:  # noqa: BLE001 - SystemExit and all: reported as the block's failure
        return {"output": printed.getvalue(), "error": traceback.format_exc()}
    return {"output": printed.getvalue(), "error": None}


def run_bash(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          check=False, timeout=TIMEOUT)


def run_shell(step: dict[str, Any]) -> dict[str, Any]:
    """A block of commands: every one must succeed (``set -e``, also inside pipes)."""
    result = run_bash("set -e -o pipefail\n" + step["code"])
    return {"output": result.stdout, "error": None if result.returncode == 0 else f"exit status {result.returncode}"}


def run_transcript(step: dict[str, Any]) -> dict[str, Any]:
    """Each ``$`` command, its output (standard output and error as a terminal interleaves them)."""
    script = "".join(f"{command}\n__status=$?; printf '{SEPARATOR}%d{SEPARATOR}' $__status; (exit $__status)\n"
                     for command in step["commands"])
    printed = re.split(f"{SEPARATOR}(\\d+){SEPARATOR}", run_bash(script).stdout)
    outputs = printed[0:-1:2]
    return {"outputs": outputs, "statuses": [int(status) for status in printed[1::2]], "error": None}


RUNNERS = {"shell": run_shell, "transcript": run_transcript}


def main(plan_path: str, results_path: str) -> None:
    with open(plan_path, encoding="utf-8") as plan:
        steps = json.load(plan)
    namespace: dict[str, Any] = {"__name__": "__main__"}
    results = []
    for step in steps:
        result = run_python(step, namespace) if step["kind"] == "python" else RUNNERS[step["kind"]](step)
        results.append(result)
        if result["error"] is not None:
            break
    with open(results_path, "w", encoding="utf-8") as out:
        json.dump(results, out)


if __name__ == "__main__":
    main(*sys.argv[1:])
