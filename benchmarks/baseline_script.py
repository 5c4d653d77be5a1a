"""The end-to-end baseline: read visits as JSON Lines, apply seed-example by hand, write JSON Lines.

Usage: python baseline_script.py IN.jsonl OUT.jsonl
"""

from __future__ import annotations

import json
import sys

from baseline import decide

MONEY = ("amount", "reduction", "payable")


def main(source: str, target: str) -> None:
    with open(source, encoding="utf-8") as reader, open(target, "w", encoding="utf-8") as writer:
        for text in reader:
            decision = decide(json.loads(text))
            for line in decision["lines"]:
                for key in MONEY:
                    line[key] = str(line[key])
            decision["totals"] = {key: str(value) for key, value in decision["totals"].items()}
            writer.write(json.dumps(decision, ensure_ascii=False, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
