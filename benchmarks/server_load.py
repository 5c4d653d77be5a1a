"""``shuangyong serve`` under load on the loopback, then killed in the middle of it (issue 19,
"Tested for real"). A benchmark, not a test: nothing in the test suite runs it.

    python benchmarks/server_load.py [--clients 8] [--seconds 60] [--crash-after 5]
                                     [--ledger sqlite:///FILE] [--store sqlite:///FILE] [--port 0]

Why: the server's tests prove each answer right, and eight threads at once right; they say
nothing of how many 20-line visits a second it posts, how long a hospital counter waits for
one, or what a ``kill -9`` in the middle of posting leaves in the ledger. This run says all three.

1. **Load.** N client threads, each on its own keep-alive connection (``http.client``: the
   lightest client, since the load generator shares the machine's cores with the server), post
   one new 20-line visit per request to ``/v1/evaluate-and-post`` for ``--seconds``, each visit
   under its own ``Idempotency-Key`` (its visit id, unique to this run). Throughput and
   latency are wall-clock; the server's CPU time is its process's user + system time.
2. **In process**, in the same run: the same visits decided by ``Engine.evaluate`` (as
   ``run.py`` times it), and posted by the server's own ``Service.post`` (read the JSON, decide,
   post to SQLite, keep the answer) on one thread without HTTP: the ratios say what HTTP and
   the ledger cost against deciding alone.
3. **Crash**, ``--crashes`` times: load again; some ``--crash-after`` seconds later (plus up to
   one, so that each kill finds requests at another step) the server gets SIGKILL while clients
   post. It is restarted on the same ledger and store, and every visit that got no 2xx (in any
   phase) is sent again under its key, as a HIS retries. Then a sample of acknowledged visits is
   sent again (under its key: the kept answer; under a new key: the ledger's earlier rows).
   Then ``shuangyong ledger verify`` must say ok, and the ledger must hold, for every
   acknowledged visit, exactly the grants its decision asks for, once each, at the amounts its
   answer told the counter, and nothing more. PASS or FAIL; exit status 1 on FAIL.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import random
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import synthetic  # noqa: E402
from run import best_times  # noqa: E402

from shuangyong import plugins, requests_for, visit_from_dict  # noqa: E402
from shuangyong.engine import Engine  # noqa: E402

ENDPOINT = "/v1/evaluate-and-post"
LINES = 20  #: lines of every visit
POOL = 1000  #: distinct synthetic visits; post N is visit N % POOL under a visit id of its own
GrantKey = tuple[str, str]  #: (line_id, rule_id) within one visit


def shuangyong_command() -> str:
    """The ``shuangyong`` script of this interpreter's environment (else the one on PATH)."""
    beside = Path(sys.executable).with_name("shuangyong")
    found = str(beside) if beside.exists() else shutil.which("shuangyong")
    if found is None:
        raise SystemExit("no `shuangyong` command: install the project (make setup)")
    return found


SHUANGYONG = shuangyong_command()


def sqlite_file(url: str) -> Path:
    """The file of a ``sqlite:///FILE`` URL."""
    if not url.startswith("sqlite:///"):
        raise SystemExit(f"expected sqlite:///FILE, got {url!r}")
    return Path(url.removeprefix("sqlite:///"))


# -- the visits -------------------------------------------------------------------------------

class Workload:
    """The visits the clients post. Each post is a new visit (a new visit id, so a new posting),
    its lines those of one of ``POOL`` synthetic 20-line visits; a body is rebuilt from its number
    alone, so that a retry sends the very bytes the first attempt sent."""

    def __init__(self, run: str, pool: int = POOL) -> None:
        self.run = run
        self.templates = synthetic.visits(pool, LINES)
        self._numbers = itertools.count()
        self._lock = threading.Lock()

    def next_number(self) -> int:
        """A number no post of this run has had."""
        with self._lock:
            return next(self._numbers)

    def visit_id(self, number: int) -> str:
        return f"{self.run}-{number}"

    def body(self, number: int) -> bytes:
        """The visit as the HIS sends it: one compact JSON object."""
        record = {**self.templates[number % len(self.templates)], "visit_id": self.visit_id(number)}
        return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass
class Outcome:
    """One request as the client saw it. ``status`` 0: no answer (``error`` names the exception)."""

    phase: str
    number: int
    visit_id: str
    key: str
    started: float  #: perf_counter when the request was sent
    latency: float  #: seconds until the whole answer was read (or the error)
    status: int
    error: str | None = None
    answer: bytes = b""
    replayed: bool = False

    @property
    def acknowledged(self) -> bool:
        return 200 <= self.status < 300


# -- the server -------------------------------------------------------------------------------

def make_token(store: str, name: str) -> str:
    """An ``his`` token in STORE, made as an administrator would (the secret is on stdout)."""
    done = subprocess.run([SHUANGYONG, "server", "token", "add", "--role", "his", "--name", name, "--store", store],
                          capture_output=True, text=True, check=True)
    return done.stdout.strip()


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of process PID: psutil when installed, else /proc/PID/stat."""
    try:
        import psutil
    except ImportError:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


class Server:
    """``shuangyong serve`` in a subprocess: started, waited for, killed, restarted."""

    def __init__(self, workdir: Path, ledger: str, store: str, port: int) -> None:
        self.workdir, self.ledger, self.store, self.port = workdir, ledger, store, port
        self.process: subprocess.Popen[bytes] | None = None
        self.host, self.bound = "127.0.0.1", 0
        self.starts = 0

    def start(self, timeout: float = 60.0) -> None:
        """Start it, read the port it printed (``listening on http://HOST:PORT`` on stderr) and wait
        until ``/v1/health`` answers."""
        self.starts += 1
        log_path = self.workdir / f"serve-{self.starts}.log"
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(
                [SHUANGYONG, "serve", "--port", str(self.port), "--ledger", self.ledger, "--store", self.store],
                stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while "listening on http://" not in (text := log_path.read_text(errors="replace")):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"shuangyong serve did not start:\n{text}")
            time.sleep(0.05)
        where = urlsplit(text.split("listening on ", 1)[1].split()[0])
        self.host, self.bound = where.hostname or "127.0.0.1", where.port or 0
        while True:
            try:
                if self.request("GET", "/v1/health")[0] == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"shuangyong serve does not answer /v1/health:\n{log_path.read_text()}")
            time.sleep(0.05)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.bound, timeout=120)

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes, http.client.HTTPResponse]:
        """One request on a connection of its own (not for the load: for health and retries)."""
        connection = self.connection()
        try:
            connection.request(method, path, body, headers or {})
            response = connection.getresponse()
            return response.status, response.read(), response
        finally:
            connection.close()

    def cpu(self) -> float:
        return process_cpu(self.pid)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, nothing the process could do about it."""
        os.kill(self.pid, signal.SIGKILL)
        assert self.process is not None
        self.process.wait()

    def stop(self) -> None:
        """A clean stop (SIGTERM), as an administrator would, before the ledger is read."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# -- the clients ------------------------------------------------------------------------------

def post(connection: http.client.HTTPConnection, token: str, workload: Workload, number: int, phase: str,
         key: str | None = None) -> Outcome:
    """Post visit NUMBER under KEY (its visit id by default) and read the whole answer."""
    visit_id = workload.visit_id(number)
    key = key or visit_id
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key, "Content-Type": "application/json"}
    body = workload.body(number)
    started = time.perf_counter()
    try:
        connection.request("POST", ENDPOINT, body, headers)
        response = connection.getresponse()
        answer = response.read()
    except (OSError, http.client.HTTPException) as error:
        connection.close()
        return Outcome(phase, number, visit_id, key, started, time.perf_counter() - started, 0, type(error).__name__)
    return Outcome(phase, number, visit_id, key, started, time.perf_counter() - started, response.status,
                   answer=answer, replayed=response.getheader("Idempotent-Replayed") == "true")


def load(server: Server, token: str, workload: Workload, clients: int, phase: str, seconds: float,
         stop: threading.Event | None = None) -> tuple[list[Outcome], float]:
    """CLIENTS threads posting new visits for SECONDS (or until STOP is set); every outcome, and the
    wall time from the first request to the last answer. After STOP, a client sends nothing new and
    a request that fails is not resent: it is left for the retry, as a HIS queues it."""
    stop = stop or threading.Event()
    outcomes: list[Outcome] = []
    lock = threading.Lock()
    gate = threading.Barrier(clients + 1)
    deadline = 0.0

    def client() -> None:
        mine: list[Outcome] = []
        connection = server.connection()
        gate.wait()
        while not stop.is_set() and time.perf_counter() < deadline:
            mine.append(post(connection, token, workload, workload.next_number(), phase))
        connection.close()
        with lock:
            outcomes.extend(mine)

    threads = [threading.Thread(target=client, name=f"client-{n}") for n in range(clients)]
    for thread in threads:
        thread.start()
    start = time.perf_counter()
    deadline = start + seconds
    gate.wait()
    for thread in threads:
        thread.join()
    return outcomes, time.perf_counter() - start


# -- figures ----------------------------------------------------------------------------------

def percentiles(latencies: list[float]) -> dict[str, float]:
    """p50, p90, p99 and the maximum, in milliseconds."""
    if len(latencies) < 2:
        return dict.fromkeys(("p50", "p90", "p99", "max"), latencies[0] * 1e3 if latencies else float("nan"))
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {"p50": cuts[49] * 1e3, "p90": cuts[89] * 1e3, "p99": cuts[98] * 1e3, "max": max(latencies) * 1e3}


def statuses(outcomes: Iterable[Outcome]) -> Counter[str]:
    return Counter(str(o.status) if o.status else f"no answer ({o.error})" for o in outcomes)


def report_load(outcomes: list[Outcome], wall: float, server_cpu: float, client_cpu: float,
                clients: int) -> dict[str, float]:
    """Print the load phase's figures; return them for the ratios."""
    ok = [o for o in outcomes if o.acknowledged]
    errors = {k: v for k, v in statuses(outcomes).items() if not k.startswith("2")}
    cuts = percentiles([o.latency for o in ok])
    figures = {"requests/s": len(outcomes) / wall, "visits/s": len(ok) / wall, "lines/s": len(ok) * LINES / wall}
    print(f"server, {clients} clients, {wall:.1f} s wall: {len(outcomes)} requests, {len(ok)} visits posted "
          f"({len(ok) * LINES} lines)")
    print(f"  throughput (wall)     {figures['requests/s']:8.1f} requests/s  {figures['visits/s']:8.1f} visits/s  "
          f"{figures['lines/s']:8.0f} lines/s")
    print(f"  latency of 2xx (wall) p50 {cuts['p50']:6.1f} ms  p90 {cuts['p90']:6.1f} ms  "
          f"p99 {cuts['p99']:6.1f} ms  max {cuts['max']:6.1f} ms")
    print(f"  errors                {sum(errors.values())}" + (f"  {dict(errors)}" if errors else ""))
    print(f"  server process CPU    {server_cpu:6.1f} s user+system = {server_cpu / wall:4.2f} cores busy; "
          f"{server_cpu / max(len(ok), 1) * 1e3:5.2f} ms CPU per visit")
    print(f"  load generator CPU    {client_cpu:6.1f} s (this process, all client threads)")
    return figures


def idle_latency(server: Server, count: int = 20) -> tuple[float, float]:
    """Median milliseconds of ``GET /v1/health`` with nothing else running: on one keep-alive
    connection, and on a new connection each time. The two differ by TCP's delayed ACK (40 ms on
    Linux) when the server's sockets leave Nagle's algorithm on and an answer is sent in two
    writes (headers, then body); a new connection is not hit, as it starts in quick-ACK mode."""
    kept, fresh = [], []
    connection = server.connection()
    for _ in range(count):
        start = time.perf_counter()
        connection.request("GET", "/v1/health")
        connection.getresponse().read()
        kept.append(time.perf_counter() - start)
        start = time.perf_counter()
        server.request("GET", "/v1/health")
        fresh.append(time.perf_counter() - start)
    connection.close()
    return statistics.median(kept) * 1e3, statistics.median(fresh) * 1e3


def in_process(engine: Engine, workload: Workload, workdir: Path, posts: int) -> dict[str, float]:
    """Visits per second in this process, one thread: ``Engine.evaluate`` of built visits (as
    run.py), and the server's ``Service.post`` of the same JSON bytes (read, decide, post to a
    scratch SQLite ledger, keep the answer under its key): the server's work without HTTP."""
    from shuangyong_server.service import Service
    from shuangyong_server.settings import ServerSettings
    from shuangyong_server.tokens import Caller

    visits = [visit_from_dict(record) for record in workload.templates]
    wall, cpu = best_times(5, lambda: [engine.evaluate(visit) for visit in visits])
    count = len(visits)
    store = f"sqlite:///{workdir / 'in-process-store.sqlite3'}"
    secret = make_token(store, "in-process")
    caller = Caller(token_id=secret.split("_", 2)[1], name="in-process", role="his")
    service = Service.start(ServerSettings(ledger=f"sqlite:///{workdir / 'in-process-ledger.sqlite3'}", store=store))
    scratch = Workload(f"{workload.run}-inproc")
    bodies = [(scratch.visit_id(n), scratch.body(n)) for n in range(posts)]
    start, start_cpu = time.perf_counter(), time.process_time()
    for visit_id, body in bodies:
        assert service.post(body, "auto", "utf-8", caller, uuid.uuid4().hex, None, visit_id).status == 200
    post_wall, post_cpu = time.perf_counter() - start, time.process_time() - start_cpu
    service.close()
    figures = {"evaluate visits/s": count / wall, "post visits/s": posts / post_wall}
    print(f"in process, one thread, the same {LINES}-line visits")
    print(f"  Engine.evaluate ({count} visits, best of 5)      {wall / count * 1e6:8.1f} µs/visit wall "
          f"{cpu / count * 1e6:8.1f} µs CPU  = {figures['evaluate visits/s']:8.0f} visits/s")
    print(f"  Service.post, no HTTP ({posts} visits, SQLite)  {post_wall / posts * 1e6:8.1f} µs/visit wall "
          f"{post_cpu / posts * 1e6:8.1f} µs CPU  = {figures['post visits/s']:8.0f} visits/s")
    return figures


# -- the crash check --------------------------------------------------------------------------

class Checks:
    """Named checks, each passed or failed with what was found."""

    def __init__(self) -> None:
        self.results: list[tuple[str, bool, str]] = []

    def check(self, name: str, ok: bool, detail: str = "") -> None:
        self.results.append((name, ok, detail))
        print(f"  [{'PASS' if ok else 'FAIL'}] {name}" + (f": {detail}" if detail else ""))

    @property
    def ok(self) -> bool:
        return all(ok for _, ok, _ in self.results)


def expected_grants(engine: Engine, workload: Workload) -> list[set[GrantKey]]:
    """The (line, rule) shares each template's decision asks the ledger to grant: what a posting of
    it must leave in the ledger (whatever the yearly caps cut it to)."""
    wanted = []
    for record in workload.templates:
        visit = visit_from_dict(record)
        wanted.append({(r.line_id, r.rule_id) for r in requests_for(visit, engine.evaluate(visit), engine.policy)})
    return wanted


def answered_grants(answer: bytes) -> tuple[str, str, dict[GrantKey, int]]:
    """What an answer told the counter: its visit id, policy, and each share's reduction in fen."""
    decision = json.loads(answer)
    shares = {(line["line_id"], share["rule"]): int(Decimal(share["reduction"]) * 100)
              for line in decision["lines"] for share in line["applied"]}
    return decision["visit_id"], decision["policy"], shares


def ledger_rows(url: str, run: str) -> list[Any]:
    """Every row of this run's visits, read through the library's ledger API."""
    with plugins.open_ledger(url, create=False) as ledger:
        return [row for row in ledger.postings() if row.visit_id.startswith(f"{run}-")]


def audited_seqs(store: str) -> set[int]:
    """The ledger rows the server's audit log names (its ``ledger.post`` entries)."""
    connection = sqlite3.connect(f"file:{sqlite_file(store)}?mode=ro", uri=True)
    try:
        details = connection.execute("SELECT detail FROM audit_log WHERE action = 'ledger.post'").fetchall()
    finally:
        connection.close()
    return {seq for (detail,) in details for visit in json.loads(detail)["visits"] for seq in visit["rows"]}


def kept_answers(store: str, keys: Iterable[str]) -> Counter[str]:
    """What the store holds for KEYS: an answer kept, reserved only, or nothing."""
    connection = sqlite3.connect(f"file:{sqlite_file(store)}?mode=ro", uri=True)
    try:
        found = Counter[str]()
        for key in keys:
            row = connection.execute("SELECT status FROM idempotency WHERE key = ?", (key,)).fetchone()
            found["no key" if row is None else "reserved, no answer" if row[0] is None else "answer kept"] += 1
        return found
    finally:
        connection.close()


def post_once(server: Server, token: str, workload: Workload, number: int, phase: str, key: str) -> Outcome:
    """One post on a connection of its own, closed afterwards."""
    connection = server.connection()
    try:
        return post(connection, token, workload, number, phase, key)
    finally:
        connection.close()


def retry(server: Server, token: str, workload: Workload, outcome: Outcome, attempts: int = 5) -> Outcome:
    """Send OUTCOME's visit again under its key until it is answered (a HIS retrying a posting)."""
    again = outcome
    for attempt in range(attempts):
        again = post_once(server, token, workload, outcome.number, "retry", outcome.key)
        if again.status and again.status < 500:
            break
        time.sleep(0.5 * (attempt + 1))
    return again


def crash(server: Server, token: str, workload: Workload, clients: int, crash_after: float,
          latest: dict[str, Outcome], label: str) -> list[Outcome]:
    """Load, SIGKILL after CRASH_AFTER seconds, restart, retry every visit of LATEST (each visit's
    last outcome, updated here) that has no 2xx. The answers acknowledged before the kill, last first."""
    stop = threading.Event()
    killed_at = 0.0

    def killer() -> None:
        nonlocal killed_at
        time.sleep(crash_after)
        stop.set()  # set first: a client sends nothing new once the server is going
        killed_at = time.perf_counter()
        server.kill()

    print(f"\n{label}: {clients} clients posting; SIGKILL to the server (pid {server.pid}) after {crash_after:.2f} s")
    assassin = threading.Thread(target=killer)
    assassin.start()
    outcomes, _ = load(server, token, workload, clients, "crash", crash_after + 60, stop)
    assassin.join()
    latest.update((o.visit_id, o) for o in outcomes)
    acknowledged = sorted((o for o in outcomes if o.acknowledged), key=lambda o: -(o.started + o.latency))
    cut_off = [o for o in outcomes if not o.acknowledged]
    late = sum(o.started + o.latency > killed_at for o in acknowledged)
    print(f"  {len(outcomes)} requests, {len(acknowledged)} acknowledged (2xx; {late} of these read after the kill "
          f"was sent, already on their way); cut off: {len(cut_off)} {dict(statuses(cut_off))}")

    server.start()
    unanswered = [o for o in latest.values() if not o.acknowledged]
    already = {row.visit_id for row in ledger_rows(server.ledger, workload.run)}
    in_ledger = sum(o.visit_id in already for o in unanswered)
    keys = kept_answers(server.store, (o.key for o in unanswered))
    print(f"  restarted (pid {server.pid}) on the same ledger and store; visits without a 2xx, all phases: "
          f"{len(unanswered)}, of which {in_ledger} already in the ledger (posted, the answer lost); "
          f"their keys in the store: {dict(keys)}")
    retried = [retry(server, token, workload, o) for o in unanswered]
    latest.update((o.visit_id, o) for o in retried)
    print(f"  retried under the same key: {dict(statuses(retried))}, "
          f"{sum(o.replayed for o in retried)} answered with the kept answer")
    return acknowledged


def check(server: Server, token: str, workload: Workload, engine: Engine, latest: dict[str, Outcome],
          last_acknowledged: list[Outcome], seed: int = 19) -> bool:
    """Re-send acknowledged visits, stop the server, verify the ledger: True when nothing
    acknowledged was lost or posted twice."""
    rng = random.Random(seed)
    acknowledged = [o for o in latest.values() if o.acknowledged]
    sample = list({o.visit_id: o for o in last_acknowledged + rng.sample(acknowledged, min(30, len(acknowledged)))
                   }.values())
    replays = [(o, post_once(server, token, workload, o.number, "replay", o.key)) for o in sample]
    renewed = [(o, post_once(server, token, workload, o.number, "new-key", f"{o.key}-again"))
               for o in rng.sample(acknowledged, min(10, len(acknowledged)))]
    server.stop()

    print("\nchecks (the server stopped)")
    checks = Checks()
    verified = subprocess.run([SHUANGYONG, "ledger", "verify", "--ledger", server.ledger, "--format", "json"],
                              capture_output=True, text=True)
    verdict = json.loads(verified.stdout) if verified.stdout.strip().startswith("{") else {}
    checks.check("shuangyong ledger verify: ok", verdict.get("ok") is True,
                 f"rows {verdict.get('rows')}, problems {verdict.get('problems')}, exit {verified.returncode}")
    retried = [o for o in latest.values() if o.phase == "retry"]
    checks.check("every visit without a 2xx answered 2xx when retried", len(acknowledged) == len(latest),
                 f"{len(latest) - len(acknowledged)} not; {len(retried)} retried")
    checks.check("acknowledged visits re-sent under their key: the kept answer, byte for byte",
                 all(a.status == o.status and a.answer == o.answer and a.replayed for o, a in replays),
                 f"{sum(a.answer == o.answer and a.replayed for o, a in replays)} of {len(replays)} replayed")
    checks.check("acknowledged visits re-sent under a new key: the same answer, from the ledger's rows",
                 all(a.status == 200 and a.answer == o.answer and not a.replayed for o, a in renewed),
                 f"{sum(a.answer == o.answer for o, a in renewed)} of {len(renewed)}")

    wanted = expected_grants(engine, workload)
    rows = ledger_rows(server.ledger, workload.run)
    by_visit: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        by_visit[row.visit_id].append(row)
    grants = Counter((row.visit_id, row.line_id, row.rule_id) for row in rows if row.kind == "grant")
    doubled = [key for key, n in grants.items() if n > 1]
    checks.check("no (visit_id, line_id, rule_id) granted twice", not doubled, f"{len(doubled)} doubled {doubled[:5]}")

    missing, wrong, policies = [], [], set()
    for outcome in acknowledged:
        answered_id, policy, told = answered_grants(outcome.answer)
        policies.add(policy)
        held = {(row.line_id, row.rule_id): row.granted_fen for row in by_visit.get(outcome.visit_id, [])}
        want = wanted[outcome.number % len(wanted)]
        if answered_id != outcome.visit_id or set(held) != want:
            missing.append(f"{outcome.visit_id}: ledger holds {sorted(held)}, decision asks {sorted(want)}")
        elif any(told.get(key) != fen for key, fen in held.items()):
            wrong.append(f"{outcome.visit_id}: answered {told}, ledger {held}")
    checks.check("the policy that answered is the one checked against", policies == {engine.policy.fingerprint},
                 f"{sorted(policies)}")
    checks.check("every acknowledged visit in the ledger, each of its grants exactly once", not missing,
                 f"{len(acknowledged)} visits ({len(acknowledged) - len(retried)} at the first try, "
                 f"{len(retried)} by a retry)" + (f"; {len(missing)} wrong, e.g. {missing[:3]}" if missing else ""))
    checks.check("each grant at the amount the answer told the counter", not wrong,
                 f"{len(wrong)} differ {wrong[:3]}" if wrong else "")
    stray = sorted(set(by_visit) - {o.visit_id for o in acknowledged})
    checks.check("nothing in the ledger that was not acknowledged", not stray, f"{len(stray)} {stray[:5]}")
    expected_rows = sum(len(wanted[o.number % len(wanted)]) for o in acknowledged)
    checks.check("ledger rows = the grants of the acknowledged and retried visits", len(rows) == expected_rows,
                 f"{len(rows)} rows, expected {expected_rows}")
    unaudited = {row.seq for row in rows} - audited_seqs(server.store)
    checks.check("every row named in the server's audit log", not unaudited,
                 f"{len(unaudited)} missing {sorted(unaudited)[:5]}" if unaudited else "")
    return checks.ok


# -- the run ----------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8, help="concurrent client threads")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the load phase")
    parser.add_argument("--warm-up", type=float, default=3.0, help="seconds of load before the measured phase")
    parser.add_argument("--crash-after", type=float, default=5.0, help="seconds of load before the SIGKILL")
    parser.add_argument("--crashes", type=int, default=5, help="kill -9, restart and retry this many times")
    parser.add_argument("--ledger", help="ledger URL (default: a SQLite file in a temporary directory)")
    parser.add_argument("--store", help="server store URL, sqlite:///FILE (default: in a temporary directory)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: any free one)")
    parser.add_argument("--in-process-posts", type=int, default=500, help="visits Service.post posts in process")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="shuangyong-load-"))
    ledger = args.ledger or f"sqlite:///{workdir / 'ledger.sqlite3'}"
    store = args.store or f"sqlite:///{workdir / 'server.sqlite3'}"
    run = f"LT{time.strftime('%H%M%S')}"
    print(f"{time.strftime('%Y-%m-%d %H:%M')}, Python {sys.version.split()[0]}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f}; ledger {ledger}; store {store}; visit ids {run}-N\n")

    engine = Engine.from_packs(registry=plugins.registry())  # the server's default: seed-example
    workload = Workload(run)
    local = in_process(engine, workload, workdir, args.in_process_posts)

    token = make_token(store, f"load {run}")
    server = Server(workdir, ledger, store, args.port)
    server.start()
    print(f"\nserver pid {server.pid} on http://{server.host}:{server.bound}; "
          f"warm-up {args.warm_up:g} s, then {args.seconds:g} s measured")
    try:
        kept, fresh = idle_latency(server)
        print(f"idle: GET /v1/health median {kept:.1f} ms on a keep-alive connection, {fresh:.1f} ms on a new "
              "connection each time")
        warm, _ = load(server, token, workload, args.clients, "warm-up", args.warm_up)
        cpu, client_cpu = server.cpu(), time.process_time()
        outcomes, wall = load(server, token, workload, args.clients, "load", args.seconds)
        cpu, client_cpu = server.cpu() - cpu, time.process_time() - client_cpu
        remote = report_load(outcomes, wall, cpu, client_cpu, args.clients)
        print(f"  load average after    {os.getloadavg()[0]:.2f}")
        print(f"ratio server / in process (visits/s, wall): {remote['visits/s'] / local['evaluate visits/s']:.4f} "
              f"of Engine.evaluate (1 in {local['evaluate visits/s'] / remote['visits/s']:.0f}), "
              f"{remote['visits/s'] / local['post visits/s']:.2f} of Service.post without HTTP")
        latest = {o.visit_id: o for o in warm + outcomes}
        rng = random.Random(args.crashes)
        last: list[Outcome] = []
        for n in range(args.crashes):  # each kill at another moment of a request's life
            after = args.crash_after + rng.uniform(0, 1)
            last = crash(server, token, workload, args.clients, after, latest, f"crash {n + 1} of {args.crashes}")
        passed = check(server, token, workload, engine, latest, last[:20])
    finally:
        server.stop()
    print(f"\n{'PASS' if passed else 'FAIL'}: after kill -9 mid-load and retries, "
          + ("nothing acknowledged was lost or posted twice" if passed else "see the failed checks above"))
    if not args.ledger and not args.store and passed:
        shutil.rmtree(workdir)
    else:
        print(f"kept: {workdir}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
