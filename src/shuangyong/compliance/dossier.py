"""Reading a dossier (JSON or YAML) into :class:`~shuangyong.compliance.records.Dossier`.

pydantic checks the shape at this edge; every error names the file, the record (its id, or its
position when it has none) and the field, in zh and en. Nothing is half-read: a dossier with one
bad record is refused whole, so a report never silently leaves a record out.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any, Literal

import attrs
from pydantic import BaseModel, BeforeValidator, Field, ValidationError, model_validator

from shuangyong.compliance.records import (
    LOCATIONS,
    RECORD_CLASSES,
    RECORD_TYPES,
    UNIT_KINDS,
    Dossier,
    Record,
    Unit,
)
from shuangyong.dates import DateWindow, parse_date
from shuangyong.documents import read_document, read_yaml
from shuangyong.errors import InputError, field_path
from shuangyong.policy.loader import validation_message
from shuangyong.policy.schema import Flag, Id, LocalText, StrictModel, Whole
from shuangyong.text import Text

SCHEMA_VERSION = 1


class DossierError(InputError):
    """A dossier that cannot be read as given; ``record`` is file and record, ``field`` the key."""


Day = Annotated[dt.date, BeforeValidator(parse_date)]
_NOUN = Text("档案", "dossier")


class _Unit(StrictModel):
    id: Id
    name: LocalText
    kind: str
    head: str | None = None
    region: str | None = None

    @model_validator(mode="after")
    def _known_kind(self) -> _Unit:
        _known(self.kind, UNIT_KINDS, "kind")
        return self


def _known(value: str, vocabulary: dict[str, Text], what: str) -> None:
    if value not in vocabulary:
        known = ", ".join(vocabulary)
        raise ValueError(f"unknown {what} {value!r} (known: {known})")


class _Record(StrictModel):
    id: Id
    type: str
    title: str | None = None
    led_by: str | None = None
    evidence: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _known_type(self) -> _Record:
        # each record kind declares its own ``kind: Literal[...]`` field, which the base cannot name
        _known(self.type, RECORD_TYPES[self.kind], f"{self.kind} type")  # type: ignore[attr-defined]
        return self


class _Dated(_Record):
    date: Day


class _Holding(_Record):
    since: Day
    until: Day | None = None

    @model_validator(mode="after")
    def _ordered(self) -> _Holding:
        if self.until is not None and self.until < self.since:
            raise ValueError(f"until {self.until} is before since {self.since}")
        return self


class _Activity(_Dated):
    kind: Literal["activity"]
    units: tuple[str, ...] = ()
    participants: Whole | None = Field(default=None, ge=0)
    partner: str | None = None


class _Document(_Dated):
    kind: Literal["document"]


class _Meeting(_Dated):
    kind: Literal["meeting"]
    attendees: Whole | None = Field(default=None, ge=0)


class _Facility(_Holding):
    kind: Literal["facility"]
    location: str | None = None

    @model_validator(mode="after")
    def _known_location(self) -> _Facility:
        if self.location is not None:
            _known(self.location, LOCATIONS, "location")
        return self


class _Pairing(_Holding):
    kind: Literal["pairing"]
    type: str = "joint_building"
    partner: str = Field(min_length=1)
    partner_name: str | None = None


class _Coverage(_Dated):
    kind: Literal["coverage"]
    reached: Whole = Field(ge=0)
    total: Whole = Field(gt=0)

    @model_validator(mode="after")
    def _reached_within_total(self) -> _Coverage:
        if self.reached > self.total:
            raise ValueError(f"reached {self.reached} is more than total {self.total}")
        return self


class _Placement(_Dated):
    kind: Literal["placement"]
    count: Whole = Field(ge=0)


class _LedgerPublication(_Dated):
    kind: Literal["ledger_publication"]
    type: str = "concession_ledger"
    complete: Flag
    published: Flag


_AnyRecord = Annotated[
    _Activity | _Document | _Meeting | _Facility | _Pairing | _Coverage | _Placement | _LedgerPublication,
    Field(discriminator="kind"),
]


class _Dossier(StrictModel):
    schema_version: Whole = SCHEMA_VERSION
    unit: _Unit
    year: Whole = Field(ge=1929, le=2099)
    records: tuple[_AnyRecord, ...] = ()


def _record(spec: BaseModel) -> Record:
    """The attrs record of a validated one: dates become a window, the rest is carried over."""
    values = spec.model_dump(exclude={"kind", "date", "since", "until"})
    if hasattr(spec, "date"):
        window = DateWindow(spec.date, spec.date)
    else:
        window = DateWindow(spec.since, spec.until)  # type: ignore[attr-defined]  # a _Holding record
    return RECORD_CLASSES[spec.kind](window=window, **values)  # type: ignore[attr-defined]  # see _known_type


def dossier_from_dict(data: Any, origin: str = "<dossier>") -> Dossier:
    """A dossier from parsed JSON or YAML; :class:`DossierError` names what is wrong and where."""
    if not isinstance(data, dict):
        raise DossierError(Text("档案应为对象（unit:, year:, records: …）",
                                "a dossier must be an object (unit:, year:, records: …)"), record=origin)
    kinds = ", ".join(RECORD_CLASSES)
    records = data.get("records")
    for index, item in enumerate(records if isinstance(records, list) else ()):  # not a list: pydantic says so
        if isinstance(item, dict) and item.get("kind") not in RECORD_CLASSES:
            raise DossierError(Text(f"未知的记录类型 {item.get('kind')!r}（可用：{kinds}）",
                                    f"unknown record kind {item.get('kind')!r} (known: {kinds})"),
                               record=_where(origin, data, index), field=f"records[{index}].kind",
                               value=item.get("kind"))
    try:
        spec = _Dossier.model_validate(data)
    except ValidationError as error:
        raise _dossier_error(error, origin, data) from None
    if spec.schema_version != SCHEMA_VERSION:
        raise DossierError(Text(f"不支持的 schema_version {spec.schema_version}（支持 {SCHEMA_VERSION}）",
                                f"unsupported schema_version {spec.schema_version} (supported: {SCHEMA_VERSION})"),
                           record=origin, field="schema_version")
    seen: dict[str, int] = {}
    for index, item in enumerate(spec.records):
        if item.id in seen:
            raise DossierError(Text(f"记录编号 {item.id!r} 重复（另见 records[{seen[item.id]}]）",
                                    f"record id {item.id!r} appears twice (also records[{seen[item.id]}])"),
                               record=f"{origin}: {item.id}", field=f"records[{index}].id", value=item.id)
        seen[item.id] = index
    unit = spec.unit
    return Dossier(Unit(unit.id, Text(unit.name.zh, unit.name.en), unit.kind, unit.head, unit.region),
                   spec.year, [_record(item) for item in spec.records])


def _where(origin: str, data: dict[str, Any], index: int) -> str:
    records = data.get("records")
    item = records[index] if isinstance(records, list) and index < len(records) else None
    name = item.get("id") if isinstance(item, dict) and item.get("id") else f"records[{index}]"
    return f"{origin}: {name}"


def _dossier_error(error: ValidationError, origin: str, data: dict[str, Any]) -> DossierError:
    """pydantic's first error as one bilingual message naming the record and the field."""
    first = error.errors(include_url=False)[0]
    loc = tuple(part for part in first["loc"]
                if not (isinstance(part, str) and (part in RECORD_CLASSES or "[" in part)))
    message = validation_message(first, loc)
    index = loc[1] if len(loc) > 1 and loc[0] == "records" else None
    record = _where(origin, data, index) if isinstance(index, int) else origin
    return DossierError(message, record=record, field=field_path(loc), value=first.get("input"))


def parse_dossier(text: str, origin: str = "<dossier>") -> Dossier:
    """A dossier from JSON or YAML text, read by the packs' bounded loader (depth, aliases,
    duplicate keys refused at file:line; YAML dates are read as text, then checked as ISO dates)."""
    data, _ = read_yaml(text, origin, error=DossierError)
    return dossier_from_dict(data, origin)


def load_dossier(path: str | Path) -> Dossier:
    """A unit's year of records from a YAML or JSON file; a bad one is a ``DossierError`` at file:line."""
    path = Path(path)
    return parse_dossier(read_document(path, _NOUN, DossierError), str(path))


def dossier_to_dict(dossier: Dossier) -> dict[str, Any]:
    """The file form of a dossier (used by ``compliance template`` and by tests that round-trip)."""
    records = []
    for record in dossier.records:
        item: dict[str, Any] = {"id": record.id, "kind": record.kind, "type": record.type}
        if record.kind in ("facility", "pairing"):
            item["since"] = record.start.isoformat()
            if record.window.end is not None:
                item["until"] = record.window.end.isoformat()
        else:
            item["date"] = record.start.isoformat()
        for name, value in _own_fields(record).items():
            if value not in (None, ()):
                item[name] = list(value) if isinstance(value, tuple) else value
        records.append(item)
    unit = dossier.unit
    return {"schema_version": SCHEMA_VERSION,
            "unit": {key: value for key, value in {"id": unit.id, "name": unit.name.as_dict(), "kind": unit.kind,
                                                   "head": unit.head, "region": unit.region}.items() if value},
            "year": dossier.year, "records": records}


def _own_fields(record: Record) -> dict[str, Any]:
    return {field.name: getattr(record, field.name) for field in attrs.fields(type(record))
            if field.name not in ("id", "type", "window")}

