"""A mutation fuzzer of every entry point (issue 14): seeds from ``corpus/``, examples/ and the
test fixtures, mutated by hypothesis, fed to the CLI in process, and judged by one oracle: exit
0 or 2, never a traceback, no half-written output, and evaluate and batch agreeing byte for byte.

``tests/test_fuzz.py`` runs it at a small budget inside ``make test``; ``make fuzz`` runs
``python -m tests.fuzz`` at a large one (docs/testing.md).
"""
