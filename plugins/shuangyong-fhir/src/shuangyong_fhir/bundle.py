"""Loading a FHIR R4B Bundle and finding its resources, with errors that name resource and element.

Bundles are read from JSON text only: decoded here with ``parse_float=Decimal``, so a FHIR decimal
becomes a ``Decimal`` straight from its digits, then validated by ``fhir.resources`` (pydantic):
an incoming bundle resource by resource (:func:`load_entries`), so that one bad resource refuses
only the visit that needs it; an Invoice bundle read back, whole (:func:`load_bundle`).
(``fhir.resources``' own JSON parsing goes through ``float``: ``12345678901234567.89`` would come
back as ``…568``.) Python data already decoded by a plain ``json.loads`` has lost that guarantee
and is refused.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import attrs
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from shuangyong import InputError, Text
from shuangyong.interchange import json_depth, json_text
from shuangyong.limits import MAX_DEPTH
from shuangyong.plugins import field_path

if TYPE_CHECKING:
    from collections.abc import Iterator

    from fhir.resources.R4B.reference import Reference
    from fhir.resources.R4B.resource import Resource

Source = str | bytes | Path | IO[str] | IO[bytes]


class FhirError(InputError):
    """A resource that lacks what a visit or decision needs, or contradicts another resource.

    ``record`` is the resource (``ChargeItem/ci-1``, or ``entry[3]`` before its id is known) and
    ``field`` the FHIR element path inside it (``priceOverride.currency``).
    """


def fail(record: str, element: str, zh: str, en: str, value: Any = None) -> FhirError:
    """A :class:`FhirError` about ``element`` of ``record``."""
    return FhirError(Text(zh, en), record=record, field=element, value=value)


def read_text(source: Source) -> str | bytes:
    """JSON text from a path, a string of JSON, bytes, or an open file."""
    if isinstance(source, Path):
        return source.read_bytes()
    if isinstance(source, str):
        return source if source.lstrip().startswith("{") else Path(source).read_bytes()
    if isinstance(source, bytes):
        return source
    if hasattr(source, "read"):
        return source.read()
    raise FhirError(Text(f"FHIR 输入应为 JSON 文本、文件或路径，收到 {type(source).__name__}",
                         f"FHIR input must be JSON text, a file or a path, got {type(source).__name__}"),
                    record="Bundle", field=None, value=type(source).__name__)


def _decoded(source: Source) -> Any:
    """The JSON data of ``source``, decimals as ``Decimal``; depth is checked before parsing."""
    text = read_text(source)
    try:  # decoded as json.loads would, so that the depth check reads the same characters
        text = json_text(text)
    except UnicodeDecodeError as error:
        raise FhirError(Text(f"不是有效的 JSON：{error}", f"invalid JSON: {error}"),
                        record="Bundle", field=None) from None
    if json_depth(text) > MAX_DEPTH:  # before json.loads, which recurses once per level
        raise FhirError(Text(f"Bundle 嵌套超过 {MAX_DEPTH} 层", f"the bundle is nested deeper than {MAX_DEPTH} levels"),
                        record="Bundle", field=None)
    try:
        return json.loads(text, parse_float=Decimal)
    except ValueError as error:
        raise FhirError(Text(f"不是有效的 JSON：{error}", f"invalid JSON: {error}"),
                        record="Bundle", field=None) from None


def _invalid(error: Exception, record: str, *, bundle: bool) -> FhirError:
    """What ``fhir.resources`` refused, named by record and the element's path."""
    if not isinstance(error, ValidationError):  # fhir.resources looking up an unknown resourceType
        return FhirError(Text(f"不是有效的 FHIR R4B 数据：{type(error).__name__} {error}",
                              f"not valid FHIR R4B: {type(error).__name__} {error}"), record=record, field=None)
    first = error.errors(include_url=False)[0]
    loc = list(first["loc"])
    if bundle and loc[:1] == ["entry"] and len(loc) > 1 and isinstance(loc[1], int):
        record, loc = f"entry[{loc[1]}]", loc[3:] if loc[2:3] == ["resource"] else loc[2:]
    return FhirError(Text(f"不是有效的 FHIR R4B 数据：{first['msg']}", f"not valid FHIR R4B: {first['msg']}"),
                     record=record, field=field_path(loc) or None, value=first.get("input"))


def load_bundle(source: Source) -> Bundle:
    """A validated R4B Bundle, all or nothing (for Invoice bundles read back); decimals stay ``Decimal``."""
    try:
        return Bundle.model_validate(_decoded(source))
    except (ValidationError, KeyError, TypeError) as error:
        raise _invalid(error, "Bundle", bundle=True) from None


@attrs.frozen
class Entry:
    """One entry of a bundle read resource by resource: the validated resource, or why not."""

    number: int
    full_url: str | None
    data: dict[str, Any]  #: the resource's JSON, as sent (for modifierExtension and broken resources)
    resource: Any = None  #: the ``fhir.resources`` model, None when ``error`` says why
    error: FhirError | None = None

    @property
    def status(self) -> str | None:
        """The resource's ``status`` as sent, when it is a string (a broken resource may hold anything)."""
        status = self.data.get("status")
        return status if isinstance(status, str) else None

    @property
    def name(self) -> str:
        """How errors name the resource: ``Type/id``, else its fullUrl, else ``entry[n]``."""
        kind, rid = self.data.get("resourceType"), self.data.get("id")
        if isinstance(kind, str) and isinstance(rid, str) and rid:
            return f"{kind}/{rid}"
        return self.full_url or f"entry[{self.number}]"


def load_entries(source: Source) -> tuple[str | None, list[Entry]]:
    """The bundle's type and its entries, each resource validated on its own, so that one bad
    resource is an error for what needs it, not for the whole bundle. A single resource sent
    without a Bundle is read as a bundle of one, whose type is None."""
    data = _decoded(source)
    if not isinstance(data, dict):
        raise fail("Bundle", "resourceType", "应为 FHIR 资源（JSON 对象）",
                   "a FHIR resource (a JSON object) is expected")
    alone = data.get("resourceType") != "Bundle"
    if alone:
        data = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": data}]}
    raw = data.get("entry")
    shell = {**data, "entry": [{k: v for k, v in e.items() if k != "resource"} if isinstance(e, dict) else e
                               for e in raw]} if isinstance(raw, list) else data
    try:
        bundle = Bundle.model_validate(shell)
    except (ValidationError, KeyError, TypeError) as error:
        raise _invalid(error, "Bundle", bundle=True) from None
    entries = []
    for n, (entry, item) in enumerate(zip(bundle.entry or (), raw or (), strict=True)):
        resource = item.get("resource")
        if not isinstance(resource, dict):
            continue
        found = Entry(n, entry.fullUrl, resource)
        try:
            model = get_fhir_model_class(str(resource.get("resourceType"))).model_validate(resource)
            entries.append(attrs.evolve(found, resource=model))
        except (ValueError, KeyError, TypeError) as error:  # ValueError: a ValidationError, or no such type
            entries.append(attrs.evolve(found, error=_invalid(error, found.name, bundle=False)))
    return None if alone else str(bundle.type), entries


def key(resource: Resource) -> str:
    """``Type/id``, how a reference names a resource."""
    return f"{resource.get_resource_type()}/{resource.id}"


@attrs.define
class BundleIndex:
    """The bundle's entries by ``Type/id`` and by ``fullUrl``, in bundle order."""

    entries: list[Entry]
    by_reference: dict[str, Entry]
    owners: dict[int, Entry]  #: id(resource) → its entry

    @classmethod
    def of(cls, entries: list[Entry]) -> BundleIndex:
        """Index ``entries``; two with the same key is an error."""
        by_reference: dict[str, Entry] = {}
        owners = {}
        for entry in entries:
            kind, rid = entry.data.get("resourceType"), entry.data.get("id")
            refs = [f"{kind}/{rid}"] if isinstance(rid, str) and rid else []
            refs += [entry.full_url] if entry.full_url else []
            for ref in dict.fromkeys(refs):
                if ref in by_reference:
                    raise fail(entry.name, "id", "同一资源在 Bundle 中出现两次",
                               "the same resource appears twice in the bundle", ref)
                by_reference[ref] = entry
            if entry.resource is not None:
                owners[id(entry.resource)] = entry
        return cls(entries, by_reference, owners)

    def name(self, resource: Any) -> str:
        """How errors name ``resource`` (``Type/id``, else its fullUrl, else ``entry[n]``)."""
        return self.owners[id(resource)].name

    def of_type(self, resource_type: str) -> Iterator[Entry]:
        """The entries of one type, valid or not, in bundle order."""
        return (e for e in self.entries if e.data.get("resourceType") == resource_type)

    def resolve(self, owner: str, element: str, reference: Reference | None, resource_type: str) -> Any:
        """The resource a reference points at, which must be in the bundle, valid and of the right type."""
        if reference is None or not reference.reference:
            raise fail(owner, element, f"缺少 {element}（应指向 {resource_type}）",
                       f"{element} is missing (it must refer to a {resource_type})")
        found = self.by_reference.get(reference.reference)
        if found is None or found.data.get("resourceType") != resource_type:
            raise fail(owner, element, f"{element} 指向 {reference.reference}，但 Bundle 中没有这个 {resource_type}",
                       f"{element} refers to {reference.reference}, which is not a {resource_type} in the bundle",
                       reference.reference)
        if found.error is not None:
            raise found.error
        return found.resource

    def reference_to(self, resource: Any) -> str:
        """A reference the sender can resolve: ``Type/id``, else the entry's fullUrl."""
        entry = self.owners[id(resource)]
        return key(resource) if resource.id else entry.full_url or entry.name


def iso_date(value: object, record: str, element: str) -> str:
    """The calendar date of a FHIR date or dateTime, as written (its own time zone); a partial
    date (year, year-month) is refused: a visit needs its day."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    raise fail(record, element, f"{element} 应为完整日期（YYYY-MM-DD），收到 {value!r}",
               f"{element} must be a full date (YYYY-MM-DD), got {value!r}", value)
