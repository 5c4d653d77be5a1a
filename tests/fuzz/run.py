"""The fuzzer's driver: seeds per target, worker processes with a memory limit and a watchdog,
crashes deduplicated and saved with a reproducer, and a summary with inputs per second.

Workers are forked processes, so that an input which kills its process (a C stack overflow, the
kernel's OOM killer, a hang in C code the alarm cannot interrupt) is a finding and not the end of
the run: the watchdog records the input the worker was on and starts a new worker for the rest.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import queue
import re
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from tests.fuzz.mutate import Seed, mutant
from tests.fuzz.targets import BY_NAME, REPO, TARGETS, TIMEOUT, Problem, Target, Workspace, innermost_frame

CORPUS = Path(__file__).parent / "corpus"
#: The repository's own valid inputs, mutated at the value level; the corpus adds the hostile
#: cases of issue 14 (mutated byte-wise only) and a few valid seeds named ``seed-*``.
FIXTURES = {
    "visits": ("examples/visit.json", "examples/visits.jsonl", "examples/bad_visits.jsonl"),
    "packs": ("src/shuangyong/policy/packs/seed-example.yaml", "src/shuangyong/policy/packs/cn-national.yaml",
              "examples/reform-bed-waiver.yaml", "tests/plugin_data/sample-pack.yaml"),
    "standards": ("src/shuangyong/compliance/packs/seed-standards.yaml", "tests/plugin_data/sample-standards.yaml"),
    "dossiers": ("examples/dossier.yaml",),
    "cases": ("tests/cases/test_seed_example.case.yaml", "tests/cases/test_cn_national.case.yaml",
              "tests/cases/test_charge_codes.case.yaml"),
    "codes": ("examples/charge_codes.csv",),
    "fhir": ("plugins/shuangyong-fhir/tests/fixtures/nanning-outpatient-inpatient.json",),
}
FORMATS = {".json": "json", ".jsonl": "jsonl", ".yaml": "yaml", ".csv": "csv", ".hl7": "hl7"}
#: Headroom over what a worker has mapped after its imports: past it, an allocation raises
#: MemoryError (a finding) instead of swapping a shared machine.
MEMORY_HEADROOM = 1536 * 1024 * 1024
JOB_SIZE = 250
CRASH_DIR = REPO / ".fuzz-crashes"


def seeds(kinds: Sequence[str]) -> list[Seed]:
    """Every seed of the corpus folders ``kinds``, fixtures first."""
    found = []
    for kind in kinds:
        for name in FIXTURES.get(kind, ()):
            found.append(Seed(name, (REPO / name).read_bytes(), FORMATS[Path(name).suffix]))
        for path in sorted((CORPUS / kind).iterdir()):
            found.append(Seed(str(path.relative_to(REPO)), path.read_bytes(), FORMATS.get(path.suffix, "bytes"),
                              hostile=not path.name.startswith("seed-")))
    return found


@dataclass(frozen=True)
class Job:
    """``count`` inputs of one target: the corpus as it is (``replay``) or hypothesis mutants."""

    target: str
    count: int
    seed: int
    replay: bool = False
    derandomize: bool = False


def fast_builtin_packs() -> None:
    """Parse each built-in pack once per worker: they are package data, the same on every run,
    and parsing them with the pure-Python YAML composer is most of a command's time."""
    from shuangyong.policy import loader

    parse = loader.load_builtin
    memo: dict[tuple[str, int], Any] = {}

    def load_builtin(name: str, *args: Any, **kwargs: Any) -> Any:
        key = (name, id(args[0] if args else kwargs.get("kind")))
        if key not in memo:
            memo[key] = parse(name, *args, **kwargs)
        return memo[key]

    loader.load_builtin = load_builtin  # type: ignore[assignment]


def run_job(ws: Workspace, job: Job, before: Callable[[Target, bytes], None],
            report: Callable[[str, Problem, bytes, str], None]) -> None:
    """Run one job's inputs; ``before`` marks the input in flight, ``report`` records problems."""
    target = BY_NAME[job.target]
    pool = seeds(target.corpus)

    def one(seed: Seed, data: bytes, choice: int) -> None:
        before(target, data)
        try:
            problems = target.run(ws, data, choice, seed.fmt)
        except Exception as error:  # the fuzzer's own fault: shown, and the run goes on
            problems = [Problem(target.name, f"fuzzer error {type(error).__name__}", innermost_frame(
                error.__traceback__), str(error)[:300], ())]
        for problem in problems:
            report(target.name, problem, data, seed.fmt)

    if job.replay:
        for n, seed in enumerate(pool[job.seed:job.seed + job.count]):
            one(seed, seed.data, job.seed + n)
        return

    @settings(max_examples=job.count, derandomize=job.derandomize, database=None, phases=[Phase.generate],
              deadline=None, suppress_health_check=list(HealthCheck))
    @given(mutant(pool), st.integers(0, 1 << 16))
    def mutated(pair: tuple[Seed, bytes], choice: int) -> None:
        one(*pair, choice)

    (mutated if job.derandomize else hypothesis_seed(job.seed)(mutated))()


def _limit_memory() -> None:
    with open("/proc/self/status") as status:
        mapped = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize"))
    resource.setrlimit(resource.RLIMIT_AS, (mapped + MEMORY_HEADROOM, resource.getrlimit(resource.RLIMIT_AS)[1]))


def _worker(jobs: list[Job], results: Any, beat: Any, inflight: Path, timeout: float) -> None:
    """A worker process: its jobs in order, every input's bytes written to ``inflight`` first."""
    fast_builtin_packs()
    _limit_memory()
    ws = Workspace(Path(tempfile.mkdtemp(prefix="fuzz-", dir=inflight.parent)), timeout)
    tried: dict[str, int] = {}

    def before(target: Target, data: bytes) -> None:
        inflight.write_bytes(target.name.encode() + b"\n" + data)
        beat.value = time.monotonic()
        tried[target.name] = tried.get(target.name, 0) + 1

    def report(target: str, problem: Problem, data: bytes, fmt: str) -> None:
        results.put(("problem", problem, data, fmt))

    for index, job in enumerate(jobs):
        results.put(("job", index, os.getpid()))
        started, tried = time.monotonic(), {}
        run_job(ws, job, before, report)
        results.put(("tried", job.target, tried.get(job.target, 0), time.monotonic() - started))
    results.put(("done", os.getpid()))
    shutil.rmtree(ws.root, ignore_errors=True)


@dataclass
class Found:
    """One signature: the problem its smallest reproducer showed, how often, and where."""

    problem: Problem
    count: int = 0
    targets: set[str] = field(default_factory=set)
    reproducer: Path | None = None


@dataclass
class Summary:
    """What a run tried and found: inputs and seconds per target, problems by signature."""

    tried: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    problems: dict[str, Found] = field(default_factory=dict)

    def add(self, problem: Problem, data: bytes, fmt: str, crash_dir: Path | None) -> None:
        """Count a problem under its signature; keep the smallest input that shows it."""
        found = self.problems.setdefault(problem.signature, Found(problem))
        found.count += 1
        found.targets.add(problem.target)
        if crash_dir is not None and (found.reproducer is None or len(data) < found.reproducer.stat().st_size):
            slug = re.sub(r"[^A-Za-z0-9]+", "-", problem.signature)[:60].strip("-")
            digest = hashlib.sha1(problem.signature.encode()).hexdigest()[:8]
            folder = crash_dir / f"{slug}-{digest}"
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            found.problem, found.reproducer = problem, folder / f"input{_suffix(problem, fmt)}"
            found.reproducer.write_bytes(data)
            (folder / "problem.txt").write_text(
                f"signature: {problem.signature}\nentry point: {problem.target}\ncommand: shuangyong "
                f"{' '.join(problem.args)}\ndetail: {problem.detail}\n", encoding="utf-8", errors="backslashreplace")

    def for_target(self, target: str) -> list[str]:
        """The problems ``target`` ran into, one line each with the reproducer."""
        return [f"{f.problem.signature} ({f.count}×): {f.problem.detail[:200]!r} — reproducer {f.reproducer}"
                for f in self.problems.values() if target in f.targets]

    def render(self) -> str:
        lines = [f"{'entry point':<14} {'inputs':>8} {'inputs/s':>9}"]
        for name in self.tried:
            rate = self.tried[name] / self.seconds[name] if self.seconds.get(name) else 0.0
            lines.append(f"{name:<14} {self.tried[name]:>8} {rate:>9.1f}")
        lines.append(f"{'total':<14} {sum(self.tried.values()):>8}")
        lines.append(f"\n{len(self.problems)} distinct problem(s):")
        for f in sorted(self.problems.values(), key=lambda f: (f.problem.target, f.problem.signature)):
            lines.append(f"  {f.problem.signature}  ×{f.count} in {', '.join(sorted(f.targets))}\n"
                         f"      {f.problem.detail[:160]!r}\n      reproducer: {f.reproducer}")
        return "\n".join(lines)


def _suffix(problem: Problem, fmt: str) -> str:
    source = next((a for a in problem.args if "/input" in a), "")
    return "".join(Path(source).suffixes) or {"hl7": ".hl7", "bytes": ".bin"}.get(fmt, ".txt")


def plan(budget: int, seed: int, targets: Sequence[Target], replay: bool, derandomize: bool) -> list[Job]:
    """The corpus of every target as it is, then ``budget`` mutants split by the targets' weights."""
    jobs = [Job(t.name, JOB_SIZE, start, replay=True) for t in targets if replay
            for start in range(0, len(seeds(t.corpus)), JOB_SIZE)]
    total = sum(t.weight for t in targets)
    for t in targets:
        count = max(1, round(budget * t.weight / total))
        jobs += [Job(t.name, min(JOB_SIZE, count - start), seed + start * 7919 + len(jobs), derandomize=derandomize)
                 for start in range(0, count, JOB_SIZE)]
    return jobs


def fuzz(budget: int, *, seed: int = 14, workers: int = 2, targets: Sequence[Target] = TARGETS,
         replay: bool = True, derandomize: bool = False, crash_dir: Path | None = CRASH_DIR,
         timeout: float = TIMEOUT) -> Summary:
    """Run the corpus and ``budget`` mutants over ``targets`` in ``workers`` processes."""
    jobs = plan(budget, seed, targets, replay, derandomize)
    summary = Summary()
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    scratch = Path(tempfile.mkdtemp(prefix="shuangyong-fuzz-"))
    pending = [jobs[n::workers] for n in range(workers)]
    running: dict[int, tuple[Any, Any, list[Job], list[int]]] = {}

    def start(slot: int, own: list[Job]) -> None:
        beat = context.Value("d", time.monotonic())
        process = context.Process(target=_worker, args=(own, results, beat, scratch / f"inflight-{slot}", timeout),
                                  daemon=True)
        process.start()
        running[slot] = (process, beat, own, [0])

    for slot, own in enumerate(pending):
        if own:
            start(slot, own)
    done: set[int] = set()
    try:
        while len(done) < len(running):
            try:
                message = results.get(timeout=1)
            except queue.Empty:
                message = None
            if message:
                _record(message, summary, running, done, crash_dir)
            for slot, (process, beat, own, at) in list(running.items()):
                stale = time.monotonic() - beat.value > 3 * timeout
                if slot in done or (process.is_alive() and not stale):
                    continue
                while (message := _drain(results)) is not None:
                    _record(message, summary, running, done, crash_dir)
                if slot in done:
                    continue
                process.kill()
                process.join()
                _lost_worker(summary, scratch / f"inflight-{slot}", process.exitcode, stale, crash_dir)
                job = own[at[0]]
                rest = [replace(job, count=job.count - 1, seed=job.seed + 1 if job.replay else job.seed + 104729)]
                start(slot, [j for j in rest if j.count > 0] + own[at[0] + 1:])
    finally:
        for process, *_ in running.values():
            process.kill()
        shutil.rmtree(scratch, ignore_errors=True)
    return summary


def _drain(results: Any) -> Any:
    try:
        return results.get(timeout=0.2)
    except queue.Empty:
        return None


def _record(message: tuple[Any, ...], summary: Summary, running: dict[int, Any], done: set[int],
            crash_dir: Path | None) -> None:
    kind = message[0]
    if kind == "problem":
        summary.add(*message[1:], crash_dir)
    elif kind == "tried":
        _, target, count, seconds = message
        summary.tried[target] = summary.tried.get(target, 0) + count
        summary.seconds[target] = summary.seconds.get(target, 0.0) + seconds
    else:  # ("job", index, pid) and ("done", pid): the sender is found by its process id
        for slot, (process, _, _, at) in running.items():
            if process.pid == message[-1]:
                if kind == "job":
                    at[0] = message[1]
                else:
                    done.add(slot)


def _lost_worker(summary: Summary, inflight: Path, exitcode: int | None, stale: bool, crash_dir: Path | None) -> None:
    """A worker that died or stopped beating: its input in flight is the reproducer."""
    target, _, data = inflight.read_bytes().partition(b"\n") if inflight.exists() else (b"?", b"", b"")
    kind = "hang (watchdog)" if stale else f"worker died (exit {exitcode})"
    summary.add(Problem(target.decode(), kind, "process", f"{len(data)} bytes in flight", ()), data, "bytes", crash_dir)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__)
    parser.add_argument("--budget", type=int, default=int(os.environ.get("FUZZ_BUDGET", 100_000)),
                        help="mutants across all entry points (default $FUZZ_BUDGET or 100000)")
    parser.add_argument("--seed", type=int, default=int(os.environ.get("FUZZ_SEED", time.time_ns() % 10**6)))
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--target", action="append", choices=sorted(BY_NAME), help="only these entry points")
    parser.add_argument("--crash-dir", type=Path, default=CRASH_DIR)
    parser.add_argument("--timeout", type=float, default=TIMEOUT, help="seconds per input before it is a hang")
    parser.add_argument("--no-replay", dest="replay", action="store_false", help="mutants only, not the corpus as it is")
    options = parser.parse_args(argv)
    targets = [BY_NAME[name] for name in options.target] if options.target else TARGETS
    print(f"fuzzing {len(targets)} entry points: budget {options.budget}, seed {options.seed}, "
          f"{options.workers} workers; reproducers in {options.crash_dir}", flush=True)
    started = time.monotonic()
    summary = fuzz(options.budget, seed=options.seed, workers=options.workers, targets=targets,
                   crash_dir=options.crash_dir, timeout=options.timeout, replay=options.replay)
    print(summary.render())
    print(f"\n{time.monotonic() - started:.0f} s wall clock")
    return 1 if summary.problems else 0


if __name__ == "__main__":
    sys.exit(main())
