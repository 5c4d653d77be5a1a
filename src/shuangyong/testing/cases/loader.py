"""Case files read into cases: the YAML, the visit (inline, a JSON file beside the case file, or
the compact form), and every error named by file:line and field.

Amounts are read as written: the case loader keeps ``12.30`` as the text ``"12.30"`` (YAML
would make it a float, and the library refuses floats), and dates stay text for the contract.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from shuangyong.documents import Loc, loader_without, read_document, read_yaml
from shuangyong.errors import CaseError, field_path
from shuangyong.policy.loader import looks_like_path, validation_message
from shuangyong.testing.cases.schema import Case, CaseFileSpec
from shuangyong.text import Text

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

CASE_SUFFIX = ".case.yaml"
_CaseLoader = loader_without("timestamp", "float")

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
            return json.loads(text, object_pairs_hook=_unique_keys)
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
