"""YAML test cases for policy packs, and the runner behind ``shuangyong test`` and the pytest plugin.

A case file names the packs, then lists cases: a visit (the JSON contract, a JSON file beside
the case file, or a compact form) and what the engine must answer — lines, totals, priorities,
services, the rules applied, or an input error. A failing case reports a readable diff and the
engine's own explanation of each failing line, in zh or en. The format is documented in
``docs/testing.md``; the mutation script (``scripts/mutate_packs.py``) measures how many
wrong packs a set of cases catches.

Amounts are read as written: the case loader keeps ``12.30`` as the text ``"12.30"`` (YAML
would make it a float, and the library refuses floats), and dates stay text for the contract.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shuangyong import plugins
from shuangyong.engine import DEFAULT_PACKS, Decision, Engine, Explanation, RuleTrace
from shuangyong.errors import CaseError, ShuangyongError, field_path
from shuangyong.interchange.visits import visit_from_dict
from shuangyong.model import ChargeCodeMap, Registry, Visit
from shuangyong.documents import Loc, loader_without, read_document, read_yaml
from shuangyong.policy.loader import looks_like_path, validation_message
from shuangyong.policy.schema import Names, Yuan
from shuangyong.render import OUTCOMES
from shuangyong.text import Lang, Text

__all__ = ["Case", "CaseRunner", "Mismatch", "Outcome", "case_files", "compact_visit", "load_cases"]

CASE_SUFFIX = ".case.yaml"
_CaseLoader = loader_without("timestamp", "float")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LineExpect(_Strict):
    """What one line must show; keys left out are not checked (``rule: null`` is checked)."""

    reduction: Yuan | None = None
    payable: Yuan | None = None
    rule: str | None = None
    applied: dict[str, Yuan] | None = None


class TotalsExpect(_Strict):
    amount: Yuan | None = None
    reduction: Yuan | None = None
    payable: Yuan | None = None


class ErrorExpect(_Strict):
    """An input error the visit must raise: its class name, field, and a piece of its message."""

    type: str | None = None
    field: str | None = None
    message: str | None = None


class Expect(_Strict):
    lines: dict[str, LineExpect] | None = None
    totals: TotalsExpect | None = None
    priorities: Names | None = None
    services: Names | None = None
    #: exactly the rules that reduced a line or granted a priority or service
    rules: Names | None = None
    error: ErrorExpect | None = None

    @model_validator(mode="after")
    def _checks_something(self) -> Expect:
        if not self.model_fields_set:  # a case that expects nothing passes whatever the packs say
            raise ValueError("expect names nothing to check; give lines, totals, priorities, services, "
                             "rules or error")
        return self


class CaseSpec(_Strict):
    name: str = Field(min_length=1)
    packs: Names | None = None
    visit: dict[str, Any] | str
    expect: Expect


class CaseFileSpec(_Strict):
    packs: Names = DEFAULT_PACKS
    codes: str | None = None
    defaults: dict[str, Any] = {}
    cases: list[CaseSpec] = Field(min_length=1)


@attrs.frozen(slots=True)
class Case:
    """One case, ready to run: the packs, the visit record (JSON contract) and what to expect."""

    name: str
    where: str  #: file:line of the case, for every message about it
    packs: tuple[str, ...]
    record: dict[str, Any]  #: the visit as the JSON contract
    expect: Expect
    codes: Path | None


_COMPACT = {"visit_id", "date", "kind", "region", "patient", "name", "birth_date", "categories",
            "disability_level", "disability_cause", "cards", "lines"}


def compact_visit(data: Mapping[str, Any], *, visit_id: str = "V1") -> dict[str, Any]:
    """The JSON-contract record of a compact visit.

    Compact keys: ``date``, ``kind`` (default outpatient), ``region``, ``patient`` (the patient
    id, default P1), ``categories``, ``disability_level``, ``disability_cause``, ``birth_date``,
    ``name``, ``cards`` (a kind, valid whenever; or ``{kind, from, to, number}``) and ``lines``
    (``"ITEM AMOUNT [TAG …]"`` numbered from 1, or mappings of the contract's line keys, e.g.
    ``{code: "110200001", amount: "12.00"}`` when the file names a charge-code table).
    """
    unknown = sorted(set(data) - _COMPACT)
    if unknown:
        raise CaseError(Text(f"简写就诊中有未知的键 {unknown[0]!r}（可用：{', '.join(sorted(_COMPACT))}）",
                             f"unknown key {unknown[0]!r} in a compact visit (known: {', '.join(sorted(_COMPACT))})"),
                        field=f"visit.{unknown[0]}")
    patient: dict[str, Any] = {"id": str(data.get("patient", "P1"))}
    for key in ("name", "birth_date", "categories", "disability_level", "disability_cause"):
        if key in data:
            patient[key] = data[key]
    patient["credentials"] = [_card(card, n) for n, card in enumerate(_listed(data, "cards"))]
    return {"visit_id": str(data.get("visit_id", visit_id)), "date": data.get("date"),
            "kind": data.get("kind", "outpatient"), "region": data.get("region"), "patient": patient,
            "lines": [_line(line, n) for n, line in enumerate(_listed(data, "lines"))]}


def _listed(data: Mapping[str, Any], key: str) -> list[Any]:
    """``data[key]`` as a list (absent or empty: none); anything else is the case's error."""
    value = data.get(key) or []
    if not isinstance(value, list):
        raise CaseError(Text(f"简写就诊的 {key} 应为列表", f"{key} in a compact visit is a list"),
                        field=f"visit.{key}", value=value)
    return value


def _card(card: object, index: int) -> dict[str, Any]:
    if isinstance(card, str):
        return {"kind": card, "number": f"case-{index + 1}"}
    if isinstance(card, dict) and set(card) <= {"kind", "number", "from", "to"} and "kind" in card:
        return {"kind": card["kind"], "number": str(card.get("number", f"case-{index + 1}")),
                "valid_from": card.get("from"), "valid_to": card.get("to")}
    raise CaseError(Text("证件写作类别名，或 {kind, from, to, number} 映射",
                         "a card is a kind, or a mapping {kind, from, to, number}"),
                    field=f"visit.cards[{index}]", value=card)


def _line(line: object, index: int) -> dict[str, Any]:
    if isinstance(line, dict):
        return {"line_id": str(line.get("line_id", index + 1)), **{k: v for k, v in line.items() if k != "line_id"}}
    words = line.split() if isinstance(line, str) else []
    if len(words) < 2:
        raise CaseError(Text("收费明细写作 \"项目 金额 [标签 …]\" 或映射",
                             "a line is \"ITEM AMOUNT [TAG …]\" or a mapping"),
                        field=f"visit.lines[{index}]", value=line)
    item, amount, *tags = words
    return {"line_id": str(index + 1), "item": item, "amount": amount, "tags": tags}


def load_cases(path: Path) -> list[Case]:
    """Read a case file; a file that is not a valid case file is a :class:`CaseError` naming
    file:line and field."""
    text = read_document(path, Text("用例文件", "case file"), CaseError)
    data, lines = read_yaml(text, str(path), loader=_CaseLoader, error=CaseError)
    if not isinstance(data, dict):
        raise CaseError(Text("用例文件应为 YAML 映射（packs:, cases: …）",
                             "a case file must be a YAML mapping (packs:, cases: …)"), record=str(path))
    try:
        spec = CaseFileSpec.model_validate(_text_keys(data))
    except ValidationError as error:
        raise _case_error(error, path, lines) from None
    codes = path.parent / spec.codes if spec.codes else None
    cases = []
    for index, case in enumerate(spec.cases):
        where = _where(path, lines, ("cases", index, "visit"))
        try:
            record = _record(case.visit, spec.defaults, path, f"{path.stem}#{index + 1}")
        except CaseError as error:
            raise error.located(record=where, prefix=f"cases[{index}]") from None
        packs = tuple(str(path.parent / p) if looks_like_path(p) else p for p in case.packs or spec.packs)
        cases.append(Case(case.name, _where(path, lines, ("cases", index)), packs, record, case.expect, codes))
    return cases


def _record(visit: dict[str, Any] | str, defaults: dict[str, Any], path: Path, visit_id: str) -> dict[str, Any]:
    if isinstance(visit, str):
        source = path.parent / visit
        try:
            text = read_document(source, Text(f"就诊文件 {visit}", f"visit file {visit}"), CaseError)
        except CaseError as error:
            raise error.located(prefix="visit") from None
        try:
            return json.loads(text, object_pairs_hook=_unique_keys)  # type: ignore[no-any-return]
        except RecursionError:
            raise CaseError(Text(f"就诊文件 {visit} 嵌套过深", f"the visit file {visit} is nested too deep"),
                            record=str(source), field="visit") from None
        except ValueError as error:
            raise CaseError(Text(f"无法读取就诊文件 {visit}：{error}", f"cannot read the visit file {visit}: {error}"),
                            record=str(source), field="visit") from None
    if isinstance(visit.get("patient"), dict):
        return visit
    return compact_visit({**defaults, **visit}, visit_id=visit_id)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are all different (``json`` would keep the last of two)."""
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise ValueError(f"key {key!r} appears twice")
        found[key] = value
    return found


def _text_keys(value: Any) -> Any:
    """Mapping keys as text: a line id written ``1:`` is the line ``"1"``."""
    if isinstance(value, dict):
        return {str(k): _text_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_text_keys(v) for v in value]
    return value


def _where(path: Path, lines: dict[Loc, int], loc: Loc) -> str:
    for end in range(len(loc), -1, -1):
        line = lines.get(loc[:end])
        if line is not None:
            return f"{path}:{line}"
    return str(path)


def _case_error(error: ValidationError, path: Path, lines: dict[Loc, int]) -> CaseError:
    # a misspelt key is also a missing one: name the misspelling, which is what the reader typed
    first = min(error.errors(include_url=False), key=lambda e: e["type"] != "extra_forbidden")
    loc = tuple(part for part in first["loc"] if not (isinstance(part, str) and "[" in part))
    message = validation_message(first, loc)
    return CaseError(message, record=_where(path, lines, loc), field=field_path(loc), value=first.get("input"))


def case_files(paths: Iterable[str | Path]) -> list[Path]:
    """The case files named, and every ``*.case.yaml`` under the folders named, sorted."""
    found: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found += sorted(path.rglob(f"*{CASE_SUFFIX}"))
        elif path.is_file():
            found.append(path)
        else:
            raise CaseError(Text("找不到用例文件或目录", "no such case file or folder"), record=str(path))
    return found


@attrs.frozen(slots=True)
class Mismatch:
    """One expectation not met: ``subject`` is a line id or ``totals``/``priorities``/… ."""

    subject: str
    key: str
    expected: str
    got: str
    #: for priorities, services and rules: the names in one answer and not the other
    differing: frozenset[str] = frozenset()


@attrs.frozen(slots=True)
class Outcome:
    """What running one case gave: the mismatches (none means passed) and the engine's answers."""

    case: Case
    mismatches: tuple[Mismatch, ...]
    visit: Visit | None = None
    explanation: Explanation | None = None
    error: ShuangyongError | None = None  #: an error the case did not expect
    engine: Engine | None = None

    @property
    def passed(self) -> bool:
        return not self.mismatches and self.error is None

    @property
    def applied(self) -> frozenset[str]:
        """Rules that reduced a line or granted something (what the coverage check counts)."""
        if self.explanation is None:
            return frozenset()
        return _rules(self.explanation.decision)

    def report(self, lang: Lang) -> str:
        """The failure as a reader wants it: each mismatch, then why, from ``explain``."""
        zh = lang == "zh"
        head = f"{'失败' if zh else 'FAIL'} {self.case.where}  {self.case.name}"
        if self.error is not None:
            return f"{head}\n  {self.error.render(lang)}"
        out = [head]
        by_subject: dict[str, list[Mismatch]] = {}
        for mismatch in self.mismatches:
            by_subject.setdefault(mismatch.subject, []).append(mismatch)
        for subject, mismatches in by_subject.items():
            out.append("  " + self._subject(subject, lang))
            width = max(len(m.key) for m in mismatches)
            for m in mismatches:
                out.append(f"    {m.key.ljust(width)}  {'期望' if zh else 'expected'} {m.expected}  "
                           f"{'实际' if zh else 'got'} {m.got}")
            out += self._why(subject, lang)
        return "\n".join(out)

    def _subject(self, subject: str, lang: Lang) -> str:
        if subject in _VISIT_SUBJECTS or self.explanation is None:
            return _VISIT_SUBJECTS.get(subject, Text(subject, subject)).in_(lang)
        line = next((d for d in self.explanation.decision.lines if d.line_id == subject), None)
        detail = f" ({line.item} {line.amount})" if line is not None else ""
        return (f"第 {subject} 行" if lang == "zh" else f"line {subject}") + detail

    def _why(self, subject: str, lang: Lang) -> list[str]:
        """The explanation of what the mismatch is about: a line's rules, or the visit-level
        rules granting the priorities or services that differ, or the rules that differ."""
        if self.explanation is None or self.engine is None or subject in ("totals", "error"):
            return []
        differing = {name for m in self.mismatches if m.subject == subject for name in m.differing}
        traces: list[tuple[str, RuleTrace]]
        if subject in ("priorities", "services"):
            traces = [("", t) for t in self.explanation.visit
                      if differing & set(getattr(self.engine.policy.rule(t.rule).spec, subject))]
        elif subject == "rules":
            traces = [(line.line_id, t) for line in self.explanation.lines for t in line.considered
                      if t.rule in differing] + [("", t) for t in self.explanation.visit if t.rule in differing]
        else:
            traces = [("", t) for line in self.explanation.lines if line.line_id == subject for t in line.considered]
        label = "原因（explain）" if lang == "zh" else "why (explain)"
        if not traces:
            return [f"    {label}: " + ("没有规则涉及" if lang == "zh" else "no rule concerns it")]
        width = max(len(t.rule) for _, t in traces)
        on_line = "第 {} 行 " if lang == "zh" else "line {} "
        return [f"    {label}:"] + [
            f"      {on_line.format(line_id) if line_id else ''}{t.rule.ljust(width)}  "
            f"{OUTCOMES[t.outcome].in_(lang)}: {t.reason.in_(lang)}" for line_id, t in traces]


_VISIT_SUBJECTS = {"totals": Text("合计", "totals"), "priorities": Text("优先项", "priorities"),
                   "services": Text("服务", "services"), "rules": Text("适用的规则", "rules applied"),
                   "error": Text("错误", "error")}


def _rules(decision: Decision) -> frozenset[str]:
    return frozenset({a.rule for line in decision.lines for a in line.applied} | {e.rule for e in decision.entitlements})


def _amount(value: Decimal | None) -> str:
    return "—" if value is None else str(value)


def _names(values: Iterable[str]) -> str:
    return ", ".join(sorted(values)) or "—"


def _compare(expect: Expect, decision: Decision) -> Iterator[Mismatch]:
    got_lines = {line.line_id: line for line in decision.lines}
    for line_id, wanted in (expect.lines or {}).items():
        line = got_lines.get(line_id)
        if line is None:
            yield Mismatch(line_id, "line", line_id, Text("无此行", "no such line").en)
            continue
        for key in ("reduction", "payable"):
            value = getattr(wanted, key)
            if value is not None and value != getattr(line, key):
                yield Mismatch(line_id, key, str(value), str(getattr(line, key)))
        if "rule" in wanted.model_fields_set and wanted.rule != line.rule:
            yield Mismatch(line_id, "rule", wanted.rule or "—", line.rule or "—")
        if wanted.applied is not None:
            shares = {a.rule: a.reduction for a in line.applied}
            if shares != wanted.applied:
                yield Mismatch(line_id, "applied", _shares(wanted.applied), _shares(shares))
    if expect.totals is not None:
        for key in ("amount", "reduction", "payable"):
            value = getattr(expect.totals, key)
            if value is not None and value != getattr(decision.totals, key):
                yield Mismatch("totals", key, str(value), str(getattr(decision.totals, key)))
    for key, got in (("priorities", decision.priorities), ("services", decision.services),
                     ("rules", _rules(decision))):
        wanted_names = getattr(expect, key)
        if wanted_names is not None and set(wanted_names) != set(got):
            yield Mismatch(key, key, _names(wanted_names), _names(got), frozenset(wanted_names) ^ frozenset(got))


def _shares(shares: Mapping[str, Decimal]) -> str:
    return ", ".join(f"{rule} {amount}" for rule, amount in sorted(shares.items())) or "—"


def _error_mismatches(expected: ErrorExpect, error: ShuangyongError) -> Iterator[Mismatch]:
    if expected.type is not None and expected.type != type(error).__name__:
        yield Mismatch("error", "type", expected.type, type(error).__name__)
    if expected.field is not None and expected.field != error.field:
        yield Mismatch("error", "field", expected.field, error.field or "—")
    if expected.message is not None and not (expected.message in error.message.en or expected.message in error.message.zh):
        yield Mismatch("error", "message", f"…{expected.message}…", error.message.en)


class CaseRunner:
    """Runs cases, compiling each pack set and reading each code table once.

    ``registry`` decides what pack names mean: the mutation script passes one whose ``packs``
    point the built-in names at mutated files.
    """

    def __init__(self, registry: Registry | None = None) -> None:
        if registry is None:
            registry = plugins.registry()  # the installed plugins' categories and packs
        self.registry = registry
        self._engines: dict[tuple[str, ...], Engine] = {}
        self._codes: dict[Path, ChargeCodeMap] = {}

    def engine(self, packs: tuple[str, ...]) -> Engine:
        engine = self._engines.get(packs)
        if engine is None:
            engine = self._engines[packs] = Engine.from_packs(*packs, registry=self.registry)
        return engine

    def run(self, case: Case) -> Outcome:
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
            return Outcome(case, tuple(_error_mismatches(wanted_error, error)))
        if wanted_error is not None:
            return Outcome(case, (Mismatch("error", "error", wanted_error.type or "an error", "—"),),
                           visit, explanation, engine=engine)
        return Outcome(case, tuple(_compare(case.expect, explanation.decision)), visit, explanation, engine=engine)

    def _table(self, path: Path) -> ChargeCodeMap:
        table = self._codes.get(path)
        if table is None:
            table = self._codes[path] = ChargeCodeMap.load(path, self.registry.items)
        return table

    def run_files(self, paths: Iterable[str | Path]) -> list[Outcome]:
        """Every case of every file (folders searched for ``*.case.yaml``), in file order."""
        return [self.run(case) for path in case_files(paths) for case in load_cases(path)]
