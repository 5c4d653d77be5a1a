"""What the HIS adapters and exporters cost per visit, as ratios to the JSON contract in the same run.

    python benchmarks/adapters.py [--visits 100] [--lines 20]

The same synthetic visits (benchmarks/synthetic.py) are decided four ways: through the JSON
contract (JSON text in, ``visit_from_json``, ``evaluate``, ``decision_to_json`` out: the
baseline every HIS integration pays anyway), as one FHIR R4B Bundle in and an Invoice Bundle out,
as one HL7 DFT^P03 per visit (``shuangyong_hl7.build.visit_to_dft``) answered in process, and the
same messages over an MLLP socket.
The hand-written seed-example function (benchmarks/baseline.py) is timed too, for scale. Then the
decisions are exported as JSON Lines (baseline), xlsx, HTML and PDF. Each figure is the best of
three runs; every path is checked to give the JSON contract's totals before it is timed.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import baseline  # noqa: E402
import synthetic  # noqa: E402

from shuangyong import plugins  # noqa: E402
from shuangyong.engine import Engine  # noqa: E402
from shuangyong.interchange import decision_to_dict, decision_to_json, visit_from_dict, visit_from_json  # noqa: E402
from shuangyong_fhir import exact_json, read_bundle, visits_to_bundle  # noqa: E402
from shuangyong_fhir.writer import decisions_to_bundle  # noqa: E402
from shuangyong_hl7 import Hl7Service, MllpListener, send  # noqa: E402
from shuangyong_hl7.build import visit_to_dft  # noqa: E402

ENGINE = Engine.from_packs("seed-example")


def best(run: Callable[[], Any], repeats: int = 3) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return min(times), result


def zdt_payable(reply: bytes) -> str:
    return next(s for s in reply.decode().split("\r") if s.startswith("ZDT")).split("|")[4]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--visits", type=int, default=100)
    parser.add_argument("--lines", type=int, default=20)
    args = parser.parse_args()
    visits = synthetic.visits(args.visits, args.lines)
    texts = [json.dumps(v, ensure_ascii=False) for v in visits]
    bundle = exact_json.dumps(visits_to_bundle(visits))
    messages = [visit_to_dft(v, f"B{n}").encode() for n, v in enumerate(visits)]
    expected = [decision_to_dict(ENGINE.evaluate(visit_from_dict(v)))["totals"]["payable"] for v in visits]

    def contract() -> list[str]:
        return [decision_to_json(ENGINE.evaluate(visit_from_json(t))) for t in texts]

    def fhir() -> list[dict[str, Any]]:
        decisions = [decision_to_dict(ENGINE.evaluate(visit_from_dict(v))) for v in read_bundle(bundle)]
        exact_json.dumps(decisions_to_bundle(decisions))
        return decisions

    def hl7_in_process() -> list[bytes]:
        service = Hl7Service(ENGINE)
        return [service.handle(m) for m in messages]

    def hl7_socket() -> list[bytes]:
        async def run() -> list[bytes]:
            listener = MllpListener(Hl7Service(ENGINE), port=0)
            await listener.start()
            try:
                return await send("127.0.0.1", listener.port, messages)
            finally:
                await listener.close()
        return asyncio.run(run())

    checks = {"json contract": lambda r: [json.loads(x)["totals"]["payable"] for x in r],
              "FHIR bundle → invoices": lambda r: [d["totals"]["payable"] for d in r],
              "HL7 DFT^P03, in process": lambda r: [zdt_payable(x) for x in r],
              "HL7 DFT^P03, MLLP socket": lambda r: [zdt_payable(x) for x in r]}
    runs = {"json contract": contract, "FHIR bundle → invoices": fhir, "HL7 DFT^P03, in process": hl7_in_process,
            "HL7 DFT^P03, MLLP socket": hl7_socket}
    hand, _ = best(lambda: [baseline.decide(v) for v in visits])
    print(f"python {sys.version.split()[0]}, {args.visits} visits × {args.lines} lines, seed-example")
    print(f"  {'hand-written function (no I/O)':30} {hand / args.visits * 1e6:9.1f} µs/visit")
    reference = 0.0
    for name, run in runs.items():
        seconds, result = best(run)
        assert checks[name](result) == expected, name
        reference = reference or seconds
        print(f"  {name:30} {seconds / args.visits * 1e6:9.1f} µs/visit   "
              f"ratio to json contract {seconds / reference:6.2f}")
    decisions = [decision_to_dict(ENGINE.evaluate(visit_from_dict(v))) for v in visits]
    exporters = plugins.exporters("decisions")
    print(f"exporting {args.visits} decisions")
    jsonl, _ = best(lambda: io.BytesIO("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in decisions).encode()))
    print(f"  {'JSON Lines (json.dumps)':30} {jsonl / args.visits * 1e6:9.1f} µs/visit")
    for name in ("xlsx", "html", "pdf"):
        seconds, _ = best(lambda name=name: exporters[name].write("decisions", decisions, io.BytesIO()),
                          repeats=1 if name == "pdf" else 3)
        print(f"  {name:30} {seconds / args.visits * 1e6:9.1f} µs/visit   ratio to JSON Lines {seconds / jsonl:8.1f}")


if __name__ == "__main__":
    main()
