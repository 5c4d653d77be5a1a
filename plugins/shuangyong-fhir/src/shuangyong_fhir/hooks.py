"""``register_his_adapters``: the ``fhir`` adapter (FHIR R4B bundles in, Invoice bundles out); and
``register_exporters``: ``fhir``, the same Invoice bundle as an output format for decisions
(``shuangyong evaluate bundle.json --his fhir --format fhir``)."""

from __future__ import annotations

from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from shuangyong import hookimpl
from shuangyong.plugins import AdapterExporter
from shuangyong_fhir import exact_json
from shuangyong_fhir.reader import read_bundle
from shuangyong_fhir.writer import decisions_to_bundle

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

    from shuangyong_fhir.bundle import Source


class FhirAdapter:
    """A HIS adapter (docs/hooks.md): ``read`` a Bundle into visits, ``write`` decisions as Invoices."""

    def read(self, source: Source) -> Iterator[dict[str, Any]]:
        """The visits of the bundle, as JSON-contract records."""
        return read_bundle(source)

    def write(self, decisions: Iterable[Mapping[str, Any]], target: IO[bytes] | Path | str) -> None:
        """The whole Invoice bundle is built before anything is written: a bad decision leaves
        the target untouched."""
        content = exact_json.dumps(decisions_to_bundle(decisions)).encode()
        if isinstance(target, (str, Path)):
            Path(target).write_bytes(content)
        else:
            target.write(content)


@hookimpl
def register_his_adapters() -> Mapping[str, Any]:
    """``--his fhir``: Bundles of Patient, Encounter and ChargeItem in."""
    return {"fhir": FhirAdapter()}


@hookimpl
def register_exporters() -> Mapping[str, Any]:
    """``--format fhir``: decisions out as an Invoice bundle."""
    return {"fhir": AdapterExporter(FhirAdapter(), ".json")}  # an Invoice bundle
