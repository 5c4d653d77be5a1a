"""A mutation fuzzer of every entry point (issue 14): seeds from ``corpus/``, examples/ and the
test fixtures, mutated by hypothesis, fed to the CLI in process (and to shuangyong-server's API and
the office's dossier store), and judged by one oracle: exit 0 or 2 (no 5xx), never a traceback, no
half-written output, and evaluate, batch and the server agreeing byte for byte.

``tests/test_fuzz.py`` runs it at a small budget inside ``make test``; ``make fuzz`` runs
``python -m tests.fuzz`` at a large one (docs/testing.md).
"""
