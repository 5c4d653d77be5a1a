"""YAML test cases for policy packs, and the runner behind ``shuangyong test`` and the pytest plugin.

A case file names the packs, then lists cases: a visit (the JSON contract, a JSON file beside
the case file, or a compact form) and what the engine must answer — lines, totals, priorities,
services, the rules applied, or an input error. A failing case reports a readable diff and the
engine's own explanation of each failing line, in zh or en. The format is documented in
``docs/testing.md``; ``shuangyong test --mutate`` (:mod:`shuangyong.testing.mutation`) measures
how many wrong packs a set of cases catches.

Five modules, each importing only those before it: ``schema`` (what a case file may say, and a
case ready to run), ``loader`` (case files read into cases), ``compare`` (a decision against what
a case expects), ``report`` (an outcome as a reader wants it) and ``runner``.
"""

from shuangyong.testing.cases.compare import Mismatch
from shuangyong.testing.cases.loader import case_files, compact_visit, load_cases
from shuangyong.testing.cases.report import Outcome
from shuangyong.testing.cases.runner import CaseRunner
from shuangyong.testing.cases.schema import Case

__all__ = ["Case", "CaseRunner", "Mismatch", "Outcome", "case_files", "compact_visit", "load_cases"]
