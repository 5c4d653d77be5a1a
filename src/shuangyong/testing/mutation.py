"""Mutation testing of policy packs: would the YAML cases notice if a rule were wrong?

A mutant is one small mistake a pack author could make in one rule: the rule dropped, its
condition dropped or changed (one category, card, kind, region or tag of a list left out, one
branch of ``any``/``all`` left out, an age or disability-level bound moved by one), its rate
moved a point either way (a waiver made 99 %), a fixed sum, a most-the-patient-pays, a tier's band
or a per-line or per-visit cap moved a fen (a tier's rate a point), its base swapped between the
gross amount and the patient's share, a date of effect moved a day either way. The packs are
loaded as the cases name them — built-in names, plugin packs, or FILE.yaml paths with what they
``extends`` — and each mutant takes its pack's place among the loaded layers, so a pack above it
sees the mistake too. A mutant is *killed* when a case that evaluates against its pack fails; a
*survivor* is a mistake the cases would let through. Behind ``shuangyong test --mutate``
(docs/testing.md).
"""

from __future__ import annotations

import datetime as dt
import sys
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

import attrs
from pydantic import ValidationError

from shuangyong.engine import Engine
from shuangyong.errors import CaseError, InputError, ShuangyongError, field_path
from shuangyong.model.beneficiary import DISABILITY_LEVELS
from shuangyong.policy import LoadedPack, load_reference, merge, resolve_layers
from shuangyong.policy.loader import looks_like_path
from shuangyong.policy.schema import Benefit, Effective, Range, RuleSpec, When
from shuangyong.render import table
from shuangyong.testing.cases import Case, CaseRunner, Outcome
from shuangyong.text import Lang, Text

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from shuangyong.documents import Loc
    from shuangyong.model import Registry

__all__ = ["Mutant", "MutantResult", "MutationReport", "MutationRun", "mutants"]

_FEN = Decimal("0.01")
_DROPPED = Text("删除规则", "rule dropped")
_NO_CONDITION = Text("删除条件", "condition dropped")
#: a benefit computed on the gross amount where the patient's share was meant, and the reverse
#: (mutated where the pack writes a ``base``: a pack written before settlement has none to get wrong)
_BASE_SWAPS = {"gross": "patient_share", "patient_share": "gross"}
#: the condition keys holding a list of names, any of which the visit must have
_NAME_LISTS = ("category", "credential", "disability_cause", "visit_kind", "region", "tags")
#: the values a visit can have for each range: a bound moved outside them changes nothing a case can show
_BOUNDS = {"disability_level": DISABILITY_LEVELS, "age": range(0, sys.maxsize)}


@attrs.frozen(slots=True)
class Mutant:
    """One mistake in one rule: which rule and field, the change, and the pack that has it."""

    rule: str
    field: str  #: ``rule`` when the whole rule is dropped, else the key changed (``when.any[1].category``)
    change: Text
    where: str  #: origin:line of what was changed, in the pack as written
    loaded: LoadedPack = attrs.field(eq=False, repr=False)  #: the pack with the mistake


def mutants(pack: LoadedPack) -> Iterator[Mutant]:
    """Every mutant of one pack, rule by rule in the pack's order, the same every run."""
    for index, rule in enumerate(pack.spec.rules):
        loc = ("rules", index)
        others = pack.spec.rules[:index] + pack.spec.rules[index + 1:]
        yield Mutant(rule.id, "rule", _DROPPED, pack.where(loc + ("id",)),
                     attrs.evolve(pack, spec=pack.spec.model_copy(update={"rules": others})))
        for where, change, changed in _rule_mutations(rule):
            rules = list(pack.spec.rules)
            rules[index] = changed
            yield Mutant(rule.id, field_path(where), change, pack.where(loc + where),
                         attrs.evolve(pack, spec=pack.spec.model_copy(update={"rules": tuple(rules)})))


def _rule_mutations(rule: RuleSpec) -> Iterator[tuple[Loc, Text, RuleSpec]]:
    """(where in the rule, change, the rule changed) for its condition, rate, sum, caps and dates."""
    if rule.when is not None:
        yield ("when",), _NO_CONDITION, rule.model_copy(update={"when": None})
        for where, change, when in _condition_mutations(rule.when, ("when",)):
            yield where, change, rule.model_copy(update={"when": when})
    if rule.benefit is not None:
        for key, change, benefit in _benefit_mutations(rule.benefit):
            yield ("benefit", key), change, rule.model_copy(update={"benefit": benefit})
    if "base" in rule.model_fields_set and rule.base in _BASE_SWAPS:
        swapped = _BASE_SWAPS[rule.base]
        update = {"base": swapped} if swapped != "gross" else {"base": swapped, "without_insurance": "error"}
        yield ("base",), _moved(rule.base, swapped), rule.model_copy(update=update)
    if rule.caps is not None:
        for key in ("per_line", "per_visit"):  # per_year is the ledger's to enforce, not the cases'
            cap = getattr(rule.caps, key)
            for moved in _fen_either_way(cap):
                caps = rule.caps.model_copy(update={key: moved})
                yield ("caps", key), _moved(cap, moved), rule.model_copy(update={"caps": caps})
    for end, attribute in (("from", "from_"), ("to", "to")):
        day: dt.date | None = getattr(rule.effective, attribute)
        if day is None:
            continue
        for days in (-1, 1):
            moved_day = day + dt.timedelta(days=days)
            bounds = {"from": rule.effective.from_, "to": rule.effective.to, end: moved_day}
            try:  # a window turned inside out is a pack no loader accepts, not a mistake that slips by
                effective = Effective.model_validate(bounds)
            except ValidationError:
                continue
            yield ("effective", end), _moved(day, moved_day), rule.model_copy(update={"effective": effective})


def _condition_mutations(when: When, loc: Loc) -> Iterator[tuple[Loc, Text, When]]:
    """Each way of changing one condition, however deep in ``all``/``any``/``not``: a name left
    out of a list of two or more, a bound moved by one, a branch of two or more left out (custom
    conditions are left alone: their arguments mean what the plugin says)."""
    for key in _NAME_LISTS:
        names: tuple[str, ...] = getattr(when, key) or ()
        for index, name in enumerate(names if len(names) > 1 else ()):
            yield (loc + (key,), Text(f"去掉 {name}", f"without {name}"),
                   when.model_copy(update={key: names[:index] + names[index + 1:]}))
    for key, possible in _BOUNDS.items():
        bounds: Range | None = getattr(when, key)
        if bounds is not None:
            for end, value, moved, changed in _ranges_moved(bounds):
                if moved in possible:  # a bound no visit can reach is no mistake to find
                    yield loc + (key, end), _moved(value, moved), when.model_copy(update={key: changed})
    for key in ("all", "any"):
        branches: tuple[When, ...] = getattr(when, key) or ()
        for index, branch in enumerate(branches):
            if len(branches) > 1:
                yield (loc + (key, index), _NO_CONDITION,
                       when.model_copy(update={key: branches[:index] + branches[index + 1:]}))
            for where, change, changed_branch in _condition_mutations(branch, loc + (key, index)):
                changed_branches = branches[:index] + (changed_branch,) + branches[index + 1:]
                yield where, change, when.model_copy(update={key: changed_branches})
    if when.not_ is not None:
        for where, change, negated in _condition_mutations(when.not_, loc + ("not",)):
            yield where, change, when.model_copy(update={"not_": negated})


def _ranges_moved(bounds: Range) -> Iterator[tuple[str, int, int, Range]]:
    """(end, old, new, the range changed) for each bound given, one down and one up."""
    for end in ("min", "max"):
        value: int | None = getattr(bounds, end)
        if value is None:
            continue
        for moved in (value - 1, value + 1):
            try:
                changed = Range.model_validate({**bounds.model_dump(), end: moved})
            except ValidationError:  # turned inside out: a pack the loader refuses, not a slip
                continue
            yield end, value, moved, changed


def _benefit_mutations(benefit: Benefit) -> Iterator[tuple[str, Text, Benefit]]:
    """A rate one point up and one down (within 0–100 %), a waiver made 99 %, a fixed sum or a
    most-the-patient-pays ± a fen; in tiers, each band's rate and upper bound moved the same way
    (a band order the loader would refuse is no mistake that slips by)."""
    if benefit.reduce is not None:
        for moved_rate in _points_either_way(benefit.reduce):
            yield "reduce", _moved(benefit.reduce, moved_rate), Benefit(reduce=moved_rate)
    elif benefit.waive:
        yield "waive", Text("全免 → 减免 99%", "waive → reduce 99%"), Benefit(reduce="99%")
    elif benefit.fixed is not None:
        for moved in _fen_either_way(benefit.fixed):
            yield "fixed", _moved(benefit.fixed, moved), Benefit(fixed=moved)
    elif benefit.patient_pays_at_most is not None:
        for moved in _fen_either_way(benefit.patient_pays_at_most):
            yield "patient_pays_at_most", _moved(benefit.patient_pays_at_most, moved), Benefit(
                patient_pays_at_most=moved)
    elif benefit.tiers is not None:
        tiers = benefit.tiers
        for index, tier in enumerate(tiers):
            changes: list[tuple[str, object, object]] = [
                ("reduce", tier.reduce, rate) for rate in _points_either_way(tier.reduce)]
            changes += [("up_to", tier.up_to, bound) for bound in _fen_either_way(tier.up_to)]
            for key, old, new in changes:
                try:
                    changed = Benefit(tiers=(*tiers[:index], tier.model_copy(update={key: new}), *tiers[index + 1:]))
                    Benefit.model_validate(changed.model_dump())  # model_copy skips the bands' order check
                except ValidationError:
                    continue
                yield f"tiers[{index}].{key}", _moved(old, new), changed


def _points_either_way(rate: str) -> Iterator[str]:
    """A percentage one point down and one up, within 0–100 %."""
    percent = Decimal(rate.removesuffix("%"))
    yield from (f"{moved}%" for moved in (percent - 1, percent + 1) if 0 <= moved <= 100)


def _fen_either_way(amount: Decimal | None) -> Iterator[Decimal]:
    if amount is not None:
        yield from (moved for moved in (amount - _FEN, amount + _FEN) if moved >= 0)


def _moved(old: object, new: object) -> Text:
    return Text(f"{old} → {new}", f"{old} → {new}")


class _LayeredRunner(CaseRunner):
    """A case runner over layers loaded once, with at most one pack replaced by a mutant."""

    def __init__(self, registry: Registry, layers: dict[tuple[str, ...], list[LoadedPack]],
                 mutant: LoadedPack | None = None) -> None:
        super().__init__(registry)
        self._layers = layers
        self._mutant = mutant
        self._compiled: dict[tuple[str, ...], Engine] = {}

    def engine(self, packs: tuple[str, ...]) -> Engine:
        engine = self._compiled.get(packs)
        if engine is None:
            mutant = self._mutant
            layers = [mutant if mutant is not None and pack.identity == mutant.identity else pack
                      for pack in self._layers[packs]]
            engine = self._compiled[packs] = Engine(merge(layers, self.registry), self.registry)
        return engine


@attrs.frozen(slots=True)
class MutantResult:
    """One mutant and the first case that failed against it."""

    mutant: Mutant
    killed_by: Outcome | None  #: the first case that failed against the mutant; None: it survived

    @property
    def survived(self) -> bool:
        """Whether no case failed against the mutant."""
        return self.killed_by is None


@attrs.frozen(slots=True)
class MutationReport:
    """Every mutant of the packs mutated, in order, and the case that killed each."""

    packs: tuple[str, ...]
    results: tuple[MutantResult, ...]

    @property
    def survivors(self) -> tuple[MutantResult, ...]:
        """The mutants no case killed."""
        return tuple(result for result in self.results if result.survived)

    @property
    def score(self) -> Decimal | None:
        """Percentage of mutants killed, to 0.1; None when there was nothing to mutate."""
        if not self.results:
            return None
        killed = len(self.results) - len(self.survivors)
        return (Decimal(100 * killed) / len(self.results)).quantize(Decimal("0.1"), ROUND_HALF_UP)

    def summary(self) -> Text:
        """One line: mutants, killed, survived and the score, in zh and en."""
        total, survived = len(self.results), len(self.survivors)
        killed, packs = total - survived, self.packs
        score = "—" if self.score is None else f"{self.score}%"
        return Text(f"变异测试：{'、'.join(packs)} 共 {total} 个变异体，杀死 {killed}，"
                    f"存活 {survived}；变异得分 {score}",
                    f"mutation testing: {total} mutant(s) of {', '.join(packs)}: {killed} killed, "
                    f"{survived} survived; mutation score {score}")

    def table(self, lang: Lang, *, killed: bool = False) -> list[str]:
        """One row per survivor (and per killed mutant, with the case that killed it, if
        ``killed``): status, rule, field, change, and where the pack says it."""
        status = {True: Text("存活", "SURVIVED"), False: Text("已杀死", "killed")}
        rows = []
        for result in self.results:
            if result.survived or killed:
                mutant, by = result.mutant, result.killed_by
                rows.append([status[result.survived].in_(lang), mutant.rule, mutant.field, mutant.change.in_(lang),
                             mutant.where, "" if by is None else f"{by.case.where}  {by.case.name}"])
        return table(rows, right=set()) if rows else []


class MutationRun:
    """The cases, and the packs they evaluate against loaded once: built-in names, plugin packs
    and FILE.yaml paths, each with what it ``extends``.

    Loading, merging and compiling every pack set happens here, before any case runs: a pack
    that cannot be read, an unknown pack name, or a merge that fails raises a :class:`CaseError`
    naming the case (file:line) and, inside, the pack's own file:line.
    """

    def __init__(self, cases: Sequence[Case], registry: Registry) -> None:
        self.cases = tuple(cases)
        self.registry = registry
        self._layers: dict[tuple[str, ...], list[LoadedPack]] = {}
        self._unmutated = _LayeredRunner(registry, self._layers)
        for case in self.cases:
            if case.packs not in self._layers:
                try:
                    self._layers[case.packs] = resolve_layers(case.packs, registry.packs)
                    self._unmutated.engine(case.packs)
                except ShuangyongError as error:
                    raise CaseError(Text(f"用例的政策包无法加载：{error.render('zh')}",
                                         f"the case's packs cannot be loaded: {error.render('en')}"),
                                    record=case.where, field="packs") from None

    def unmutated(self) -> list[Outcome]:
        """Every case on the packs as written: mutation testing needs them all to pass first."""
        return [self._unmutated.run(case) for case in self.cases]

    def used(self) -> list[LoadedPack]:
        """Every pack the cases evaluate against, each once, in layer order as first met."""
        found: dict[str, LoadedPack] = {}
        for layers in self._layers.values():
            for pack in layers:
                found.setdefault(pack.identity, pack)
        return list(found.values())

    def choose(self, references: Sequence[str]) -> list[LoadedPack]:
        """The used packs named by id (``my-hospital``) or by file (``packs/hospital.yaml``);
        none named: all of them. A name or file the cases do not use is an :class:`InputError`."""
        used = self.used()
        if not references:
            return used
        chosen: dict[str, LoadedPack] = {}
        for reference in references:
            if looks_like_path(reference):
                identity = load_reference(reference).identity  # a missing or broken file is named here
                match = next((pack for pack in used if pack.identity == identity), None)
            else:
                match = next((pack for pack in used if pack.spec.pack == reference), None)
            if match is None:
                names = ", ".join(pack.spec.pack for pack in used)
                raise InputError(Text(f"用例未使用政策包 {reference!r}（用例使用：{names}）",
                                      f"the cases do not evaluate against the pack {reference!r} (they use: {names})"),
                                 field="--pack", value=reference)
            chosen.setdefault(match.identity, match)
        return list(chosen.values())

    def run(self, packs: Sequence[LoadedPack]) -> MutationReport:
        """Each mutant of each pack against the cases whose packs include it, until one fails."""
        results = []
        for pack in packs:
            concerned = [case for case in self.cases
                         if any(layer.identity == pack.identity for layer in self._layers[case.packs])]
            for mutant in mutants(pack):
                runner = _LayeredRunner(self.registry, self._layers, mutant.loaded)
                killer = next((outcome for outcome in map(runner.run, concerned) if not outcome.passed), None)
                results.append(MutantResult(mutant, killer))
        return MutationReport(tuple(str(pack.spec.pack) for pack in packs), tuple(results))
