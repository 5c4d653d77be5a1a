"""The fuzzer's driver: seeds per target, worker processes with a memory limit and a watchdog,
crashes deduplicated and saved with a reproducer, and a summary with inputs per second.

Workers are forked processes, so that an input which kills its process (a C stack overflow, the
kernel's OOM killer, a hang in C code the alarm cannot interrupt) is a finding and not the end of
the run: the watchdog records the input the worker was on and starts a new worker for the rest.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import io
import itertools
import multiprocessing
import os
import re
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection, wait
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
    "visits": ("examples/visit.json", "examples/visits.jsonl", "examples/bad_visits.jsonl",
               "examples/insured-visit.json"),
    "packs": ("src/shuangyong/policy/packs/seed-example.yaml", "src/shuangyong/policy/packs/cn-national.yaml",
              "examples/reform-bed-waiver.yaml", "tests/plugin_data/sample-pack.yaml", "examples/youfu-subsidy.yaml"),
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


@functools.cache
def seeds(kinds: tuple[str, ...]) -> tuple[Seed, ...]:
    """Every seed of the corpus folders ``kinds``, fixtures first; read once per process, and
    by a worker before its memory limit (a job starting after a large input must not fail to
    read its seeds)."""
    found = []
    for kind in kinds:
        for name in FIXTURES.get(kind, ()):
            found.append(Seed(name, (REPO / name).read_bytes(), FORMATS[Path(name).suffix], kind=kind))
        for path in sorted((CORPUS / kind).iterdir()):
            found.append(Seed(str(path.relative_to(REPO)), path.read_bytes(), FORMATS.get(path.suffix, "bytes"),
                              hostile=not path.name.startswith("seed-"), kind=kind))
    return tuple(found)


@dataclass(frozen=True)
class Job:
    """``count`` inputs of one target: the corpus as it is (``replay``) or hypothesis mutants."""

    target: Target
    count: int
    seed: int
    replay: bool = False
    derandomize: bool = False
    done: int = 0  #: inputs of it already run (counted by the parent, for a replaced worker)


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
            report: Callable[[str, Problem, bytes, str], None], after: Callable[[str, float], None]) -> None:
    """Run one job's inputs; ``before`` marks the input in flight, ``report`` records problems,
    ``after`` counts the input and its seconds."""
    target = job.target
    pool = seeds(target.corpus)

    def one(seed: Seed, data: bytes, choice: int) -> None:
        data = data[:target.max_bytes]
        before(target, data)
        ws.kind = seed.kind
        started = time.monotonic()
        try:
            problems = target.run(ws, data, choice, seed.fmt)
        except Exception as error:  # the fuzzer's own fault: shown, and the run goes on
            problems = [Problem(target.name, f"fuzzer error {type(error).__name__}", innermost_frame(
                error.__traceback__), str(error)[:300], ())]
        for problem in problems:
            report(target.name, problem, data, seed.fmt)
        after(target.name, time.monotonic() - started)

    if job.replay:
        for n, seed in enumerate(pool[job.seed:job.seed + job.count]):
            one(seed, seed.data, job.seed + n)
        return

    @settings(max_examples=job.count, derandomize=job.derandomize, database=None, phases=[Phase.generate],
              deadline=None, suppress_health_check=list(HealthCheck))
    @given(mutant(pool), st.integers(0, 1 << 16))
    def mutated(pair: tuple[Seed, bytes], choice: int) -> None:
        one(*pair, choice)

    try:
        (mutated if job.derandomize else hypothesis_seed(job.seed)(mutated))()
    except Exception as error:  # hypothesis gave up on the strategy: shown, and the next job runs
        report(target.name, Problem(target.name, f"fuzzer error {type(error).__name__}", innermost_frame(
            error.__traceback__), str(error)[:300], ()), b"", "bytes")


def start_arrow() -> None:
    """Start pyarrow's thread pools: their stacks and malloc arenas are reserved on first use
    (about 1 GiB of VmData here), which would otherwise count against the memory limit set after
    it, leave a worker a third of its headroom, and end it with a MemoryError on a later input."""
    import pyarrow as pa
    import pyarrow.csv
    import pyarrow.parquet as pq

    parquet = io.BytesIO()
    pq.write_table(pa.table({"a": [1]}), parquet)
    pq.read_table(io.BytesIO(parquet.getvalue()))
    pyarrow.csv.read_csv(io.BytesIO(b"a\n1\n"))


def _limit_memory() -> None:
    """RLIMIT_DATA, not RLIMIT_AS: the address space pyarrow and each thread's malloc arena
    reserve (unwritable until used) would count against RLIMIT_AS and end runs early."""
    with open("/proc/self/status") as status:
        used = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmData"))
    resource.setrlimit(resource.RLIMIT_DATA, (used + MEMORY_HEADROOM, resource.getrlimit(resource.RLIMIT_DATA)[1]))


def _worker(jobs: list[Job], results: Connection, beat: Any, inflight: Path, timeout: float) -> None:
    """A worker process: its jobs in order, every input's bytes written to ``inflight`` first."""
    fast_builtin_packs()
    for job in jobs:
        seeds(job.target.corpus)
    start_arrow()
    _limit_memory()
    ws = Workspace(Path(tempfile.mkdtemp(prefix="fuzz-", dir=inflight.parent)), timeout)

    def before(target: Target, data: bytes) -> None:
        inflight.write_bytes(target.name.encode() + b"\n" + data)
        beat.value = time.monotonic()

    def report(target: str, problem: Problem, data: bytes, fmt: str) -> None:
        results.send(("problem", problem, data, fmt))

    def after(target: str, seconds: float) -> None:
        results.send(("tried", target, seconds))

    for index, job in enumerate(jobs):
        results.send(("job", index))
        run_job(ws, job, before, report, after)
    shutil.rmtree(ws.root, ignore_errors=True)
    results.send(("done",))


@dataclass
class Found:
    """One signature: the problem its smallest reproducer showed, how often, and where."""

    problem: Problem
    count: int = 0
    targets: set[str] = field(default_factory=set)
    reproducer: Path | None = None
    size: int = 0


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
        if crash_dir is not None and (found.reproducer is None or len(data) < found.size):
            slug = re.sub(r"[^A-Za-z0-9]+", "-", problem.signature)[:60].strip("-")
            digest = hashlib.sha1(problem.signature.encode()).hexdigest()[:8]
            folder = crash_dir / f"{slug}-{digest}"
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            found.problem, found.size = problem, len(data)
            found.reproducer = folder / f"input{_suffix(problem, fmt)}"
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
    """The corpus of every target as it is, then ``budget`` mutants split by the targets' weights,
    the targets' jobs taken in turn (so that a run cut short by ``--seconds`` reached them all)."""
    jobs = [Job(t, JOB_SIZE, start, replay=True) for t in targets if replay
            for start in range(0, len(seeds(t.corpus)), JOB_SIZE)]
    total = sum(t.weight for t in targets)
    per_target = []
    for n, t in enumerate(targets):
        count = max(3, round(budget * t.weight / total))
        per_target.append([Job(t, min(JOB_SIZE, count - start), seed + n * 1_000_003 + start, derandomize=derandomize)
                           for start in range(0, count, JOB_SIZE)])
    return jobs + [job for turn in itertools.zip_longest(*per_target) for job in turn if job is not None]


def fuzz(budget: int, *, seed: int = 14, workers: int = 2, targets: Sequence[Target] = TARGETS,
         replay: bool = True, derandomize: bool = False, crash_dir: Path | None = CRASH_DIR,
         timeout: float = TIMEOUT, seconds: float | None = None) -> Summary:
    """Run the corpus and ``budget`` mutants over ``targets`` in ``workers`` processes (for at
    most ``seconds`` when given: then the summary counts what ran).

    Each worker reports through its own pipe (no lock shared with a process that may die
    mid-write); a worker that dies or stops beating is replaced, and goes on after the input
    that stopped it.
    """
    summary = Summary()
    context = multiprocessing.get_context("fork")
    scratch = Path(tempfile.mkdtemp(prefix="shuangyong-fuzz-"))
    jobs = plan(budget, seed, targets, replay, derandomize)
    running: dict[Any, Worker] = {}

    def start(slot: int, own: list[Job]) -> None:
        reader, writer = context.Pipe(duplex=False)
        beat = context.Value("d", time.monotonic())
        inflight = scratch / f"inflight-{slot}"
        process = context.Process(target=_worker, args=(own, writer, beat, inflight, timeout), daemon=True)
        process.start()
        writer.close()
        running[reader] = Worker(slot, process, beat, inflight, own)

    for slot in range(workers):
        if jobs[slot::workers]:
            start(slot, jobs[slot::workers])
    stop = time.monotonic() + seconds if seconds else float("inf")
    try:
        while running and time.monotonic() < stop:
            for reader in wait(list(running), timeout=1):
                worker = running[reader]
                try:
                    message = reader.recv()
                except (EOFError, OSError):
                    message = ("died",)
                if message[0] in ("died", "done"):
                    del running[reader]
                    reader.close()
                    worker.process.join()
                    if message[0] == "died":
                        _lost_worker(summary, worker, stale=False, crash_dir=crash_dir)
                        start(worker.slot, worker.rest())
                else:
                    worker.record(message, summary, crash_dir)
            for reader, worker in list(running.items()):
                if time.monotonic() - worker.beat.value > 3 * timeout:
                    worker.process.kill()
                    worker.process.join()
                    del running[reader]
                    _lost_worker(summary, worker, stale=True, crash_dir=crash_dir)
                    start(worker.slot, worker.rest())
    finally:
        for worker in running.values():
            worker.process.kill()
        shutil.rmtree(scratch, ignore_errors=True)
    return summary


@dataclass
class Worker:
    """A worker process, its jobs, and the job it is on."""

    slot: int
    process: Any
    beat: Any
    inflight: Path
    jobs: list[Job]
    at: int = 0

    def record(self, message: tuple[Any, ...], summary: Summary, crash_dir: Path | None) -> None:
        kind = message[0]
        if kind == "job":
            self.at = message[1]
        elif kind == "problem":
            summary.add(*message[1:], crash_dir)
        else:  # ("tried", target, seconds)
            summary.tried[message[1]] = summary.tried.get(message[1], 0) + 1
            summary.seconds[message[1]] = summary.seconds.get(message[1], 0.0) + message[2]
            if self.jobs[self.at].target.name == message[1]:
                self.jobs[self.at] = replace(self.jobs[self.at], done=self.jobs[self.at].done + 1)

    def rest(self) -> list[Job]:
        """The jobs left after the input in flight: a replay skips past it; mutants go on with
        another hypothesis seed."""
        job = self.jobs[self.at]
        left = replace(job, count=job.count - job.done - 1, done=0,
                       seed=job.seed + job.done + 1 if job.replay else job.seed + 104729)
        return ([left] if left.count > 0 else []) + self.jobs[self.at + 1:]


def _lost_worker(summary: Summary, worker: Worker, stale: bool, crash_dir: Path | None) -> None:
    """A worker that died or stopped beating: its input in flight is the reproducer."""
    inflight = worker.inflight
    target, _, data = inflight.read_bytes().partition(b"\n") if inflight.exists() else (b"?", b"", b"")
    kind = "hang (watchdog)" if stale else f"worker died (exit {worker.process.exitcode})"
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
    parser.add_argument("--seconds", type=float, help="stop after this long and summarise what ran")
    parser.add_argument("--no-replay", dest="replay", action="store_false",
                        help="mutants only, not the corpus as it is")
    options = parser.parse_args(argv)
    targets = [BY_NAME[name] for name in options.target] if options.target else TARGETS
    print(f"fuzzing {len(targets)} entry points: budget {options.budget}, seed {options.seed}, "
          f"{options.workers} workers; reproducers in {options.crash_dir}", flush=True)
    started = time.monotonic()
    summary = fuzz(options.budget, seed=options.seed, workers=options.workers, targets=targets,
                   crash_dir=options.crash_dir, timeout=options.timeout, replay=options.replay,
                   seconds=options.seconds)
    print(summary.render())
    print(f"\n{time.monotonic() - started:.0f} s wall clock")
    return 1 if summary.problems else 0


if __name__ == "__main__":
    sys.exit(main())
