"""The case runner: each case's visit built and explained, and compared with what it expects."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shuangyong import plugins
from shuangyong.engine import Engine
from shuangyong.errors import ShuangyongError
from shuangyong.interchange.visits import visit_from_dict
from shuangyong.model import ChargeCodeMap, Registry
from shuangyong.testing.cases.compare import Mismatch, compare, error_mismatches
from shuangyong.testing.cases.loader import case_files, load_cases
from shuangyong.testing.cases.report import Outcome

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

    from shuangyong.testing.cases.schema import Case


class CaseRunner:
    """Runs cases, compiling each pack set and reading each code table once.

    ``registry`` decides what pack names mean (built-in, plugins' packs); mutation testing
    (:mod:`shuangyong.testing.mutation`) overrides :meth:`engine` to put a mutated pack in.
    """

    def __init__(self, registry: Registry | None = None) -> None:
        if registry is None:
            registry = plugins.registry()  # the installed plugins' categories and packs
        self.registry = registry
        self._engines: dict[tuple[str, ...], Engine] = {}
        self._codes: dict[Path, ChargeCodeMap] = {}

    def engine(self, packs: tuple[str, ...]) -> Engine:
        """The engine of these packs, compiled once per run."""
        engine = self._engines.get(packs)
        if engine is None:
            engine = self._engines[packs] = Engine.from_packs(*packs, registry=self.registry)
        return engine

    def run(self, case: Case) -> Outcome:
        """Run one case: its visit through its packs' engine, compared with what it expects."""
        try:
            engine = self.engine(case.packs)
            codes = self._table(case.codes) if case.codes is not None else None
        except ShuangyongError as error:
            return Outcome(case, (), error=error)
        wanted_error = case.expect.error
        try:
            visit = visit_from_dict(case.record, record=case.where, codes=codes)
            explanation = engine.explain(visit)
        except ShuangyongError as error:
            if wanted_error is None:
                return Outcome(case, (), error=error)
            return Outcome(case, tuple(error_mismatches(wanted_error, error)))
        if wanted_error is not None:
            return Outcome(case, (Mismatch("error", "error", wanted_error.type or "an error", "—"),),
                           visit, explanation, engine=engine)
        return Outcome(case, tuple(compare(case.expect, explanation.decision)), visit, explanation, engine=engine)

    def _table(self, path: Path) -> ChargeCodeMap:
        table = self._codes.get(path)
        if table is None:
            table = self._codes[path] = ChargeCodeMap.load(path, self.registry.items)
        return table

    def run_files(self, paths: Iterable[str | Path]) -> list[Outcome]:
        """Every case of every file (folders searched for ``*.case.yaml``), in file order."""
        return [self.run(case) for path in case_files(paths) for case in load_cases(path)]
