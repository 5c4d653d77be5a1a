"""Loading a FHIR R4B Bundle and finding its resources, with errors that name resource and element.

Bundles are read from JSON text only: decoded here with ``parse_float=Decimal``, so a FHIR decimal
becomes a ``Decimal`` straight from its digits, then validated by ``fhir.resources`` (pydantic).
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


def load_bundle(source: Source) -> Bundle:
    """A validated R4B Bundle; decimals stay ``Decimal``, and depth is checked before parsing."""
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
        data = json.loads(text, parse_float=Decimal)
    except ValueError as error:
        raise FhirError(Text(f"不是有效的 JSON：{error}", f"invalid JSON: {error}"),
                        record="Bundle", field=None) from None
    try:
        return Bundle.model_validate(data)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        loc = list(first["loc"])
        record = "Bundle"
        if loc[:1] == ["entry"] and len(loc) > 1 and isinstance(loc[1], int):
            record, loc = f"entry[{loc[1]}]", loc[3:] if loc[2:3] == ["resource"] else loc[2:]
        element = field_path(loc) or None
        raise FhirError(Text(f"不是有效的 FHIR R4B 数据：{first['msg']}", f"not valid FHIR R4B: {first['msg']}"),
                        record=record, field=element, value=first.get("input")) from None
    except (KeyError, TypeError) as error:  # fhir.resources looking up an unknown resourceType by name
        raise FhirError(Text(f"不是有效的 FHIR R4B 数据：{type(error).__name__} {error}",
                             f"not valid FHIR R4B: {type(error).__name__} {error}"),
                        record="Bundle", field=None) from None


def key(resource: Resource) -> str:
    """``Type/id``, how a reference names a resource."""
    return f"{resource.get_resource_type()}/{resource.id}"


@attrs.define
class BundleIndex:
    """The bundle's resources by ``Type/id`` and by ``fullUrl``, in bundle order."""

    resources: list[Resource]
    by_reference: dict[str, Resource]

    @classmethod
    def of(cls, bundle: Bundle) -> BundleIndex:
        """Index ``bundle``; a resource without an id, or two with the same key, is an error."""
        resources, by_reference = [], {}
        for n, entry in enumerate(bundle.entry or ()):
            resource = entry.resource
            if resource is None:
                continue
            if not resource.id:
                raise fail(f"entry[{n}]", "id", f"{resource.get_resource_type()} 缺少 id",
                           f"{resource.get_resource_type()} has no id")
            if key(resource) in by_reference:
                raise fail(key(resource), "id", "同一资源在 Bundle 中出现两次",
                           "the same resource appears twice in the bundle")
            resources.append(resource)
            by_reference[key(resource)] = resource
            if entry.fullUrl:
                by_reference[entry.fullUrl] = resource
        return cls(resources, by_reference)

    def of_type(self, resource_type: str) -> Iterator[Any]:
        """The resources of one type, in bundle order."""
        return (r for r in self.resources if r.get_resource_type() == resource_type)

    def resolve(self, owner: str, element: str, reference: Reference | None, resource_type: str) -> Any:
        """The resource a reference points at, which must be in the bundle and of the right type."""
        if reference is None or not reference.reference:
            raise fail(owner, element, f"缺少 {element}（应指向 {resource_type}）",
                       f"{element} is missing (it must refer to a {resource_type})")
        found = self.by_reference.get(reference.reference)
        if found is None or found.get_resource_type() != resource_type:
            raise fail(owner, element, f"{element} 指向 {reference.reference}，但 Bundle 中没有这个 {resource_type}",
                       f"{element} refers to {reference.reference}, which is not a {resource_type} in the bundle",
                       reference.reference)
        return found


def iso_date(value: object, record: str, element: str) -> str:
    """The calendar date of a FHIR date or dateTime, as written (its own time zone); a partial
    date (year, year-month) is refused: a visit needs its day."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    raise fail(record, element, f"{element} 应为完整日期（YYYY-MM-DD），收到 {value!r}",
               f"{element} must be a full date (YYYY-MM-DD), got {value!r}", value)
