"""Issue 18 §1 and §4: what a process pays before its first decision, against a hand-written script.

    python benchmarks/startup.py [--repeats 15] [--pack-rules 10000] [--pack-repeats 3] [--from-source]

Start-up: each command runs in a fresh process with every installed plugin; wall and CPU time
(user + system, the child's own rusage) are each the best of ``--repeats`` runs, and the ratio
is against a hand-written ``python -c`` script that reads the same one-visit JSON file with the
standard library and prints it, timed in the same run. Big packs: a ``scale_pack`` pack of
``--pack-rules`` rules (0: skip) read (YAML with the line of every key) and then loaded and
compiled into an ``Engine``, in this process, best of ``--pack-repeats``, with libyaml and with
PyYAML's Python loader alone (as before issue 18). Nothing here asserts a time;
benchmarks/RESULTS.md keeps the figures.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import synthetic  # noqa: E402

from shuangyong import documents  # noqa: E402
from shuangyong.documents import read_yaml  # noqa: E402
from shuangyong.engine import Engine  # noqa: E402

VISIT = HERE.parent / "examples" / "visit.json"
BIN = Path(sys.executable).parent
HAND_WRITTEN = "import json, sys\nwith open(sys.argv[1], 'rb') as f:\n    print(json.dumps(json.load(f)))\n"


def run_once(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run of ``command`` (its output discarded; it must exit 0)."""
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {child.returncode}")
    return wall, usage.ru_utime + usage.ru_stime


def best(repeats: int, command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Best wall and best CPU over ``repeats`` runs (each minimum on its own: the least disturbed run)."""
    runs = [run_once(command, env) for _ in range(repeats)]
    return min(wall for wall, _ in runs), min(cpu for _, cpu in runs)


def start_up(repeats: int, *, compiled: bool = True) -> None:
    """Each command's start-up. ``compiled``: with every module's bytecode cached, as an installed
    package has it (pip compiles a wheel's modules; Python caches an editable install's on first
    import), whatever ``PYTHONDONTWRITEBYTECODE`` says; each command runs once untimed first. This
    machine sets ``PYTHONDONTWRITEBYTECODE=1``, under which an editable install's modules are
    compiled from source on every run (``--from-source``)."""
    dropped = {"SHUANGYONG_LOAD_PLUGINS", "SHUANGYONG_DISABLE_PLUGINS", "PYTHONDONTWRITEBYTECODE"}
    env = {key: value for key, value in os.environ.items() if key not in dropped}
    if not compiled:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    no_plugins = {**env, "SHUANGYONG_LOAD_PLUGINS": ""}
    cases: list[tuple[str, list[str], dict[str, str]]] = [
        ("hand-written stdlib json script, one visit", [sys.executable, "-c", HAND_WRITTEN, str(VISIT)], env),
        ("shuangyong --version", [str(BIN / "shuangyong"), "--version"], env),
        ("shuangyong evaluate, one visit, every plugin", [str(BIN / "shuangyong"), "evaluate", str(VISIT)], env),
        ("shuangyong evaluate, one visit, no plugin", [str(BIN / "shuangyong"), "evaluate", str(VISIT)], no_plugins),
    ]
    if compiled:
        for _, command, environ in cases:  # which caches every module's bytecode
            run_once(command, environ)
    results = [(name, *best(repeats, command, environ)) for name, command, environ in cases]
    base_wall, base_cpu = results[0][1], results[0][2]
    print(f"start-up, best of {repeats} (wall and CPU each), "
          f"{'bytecode cached' if compiled else 'modules compiled from source on every run'}:")
    print(f"{'':48} {'wall s':>7} {'× script':>9} {'CPU s':>7} {'× script':>9}")
    for name, wall, cpu in results:
        print(f"{name:48} {wall:7.3f} {wall / base_wall:9.1f} {cpu:7.3f} {cpu / base_cpu:9.1f}")


def timed(repeats: int, work: Callable[[], object]) -> float:
    """Best CPU seconds of ``repeats`` calls of ``work`` in this process."""
    times = []
    for _ in range(repeats):
        start = time.process_time()
        work()
        times.append(time.process_time() - start)
    return min(times)


def big_pack(rules: int, repeats: int) -> None:
    text = synthetic.scale_pack(rules)
    with_libyaml = documents._read_with_libyaml
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "scale.yaml"
        path.write_text(text, encoding="utf-8")
        for name, reader in (("libyaml", with_libyaml), ("Python loader only", lambda *args: None)):
            documents._read_with_libyaml = reader
            try:
                rows.append((name, timed(repeats, lambda: read_yaml(text, str(path))),
                             timed(repeats, lambda: Engine.from_packs(str(path)))))
            finally:
                documents._read_with_libyaml = with_libyaml
    print(f"\n{rules:,}-rule pack ({len(text.encode()) / 1e6:.1f} MB), best of {repeats}, CPU s:")
    print(f"{'':20} {'YAML with lines':>16} {'Engine.from_packs':>18}")
    for name, yaml_only, whole in rows:
        print(f"{name:20} {yaml_only:16.2f} {whole:18.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--pack-rules", type=int, default=10_000)
    parser.add_argument("--pack-repeats", type=int, default=3)
    parser.add_argument("--from-source", action="store_true",
                        help="with PYTHONDONTWRITEBYTECODE=1 and no bytecode cached for the source tree")
    args = parser.parse_args()
    if args.from_source:
        for tree in ("src", "plugins"):
            for cache in (HERE.parent / tree).rglob("__pycache__"):
                shutil.rmtree(cache)
    start_up(args.repeats, compiled=not args.from_source)
    if args.pack_rules:
        big_pack(args.pack_rules, args.pack_repeats)


if __name__ == "__main__":
    main()
