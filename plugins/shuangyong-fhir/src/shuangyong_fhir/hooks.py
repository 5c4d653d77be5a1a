"""``register_his_adapters``: the ``fhir`` adapter (FHIR R4B bundles in, Invoice bundles out); and
``register_exporters``: ``fhir``, the same Invoice bundle as an output format for decisions
(``shuangyong evaluate bundle.json --his fhir --format fhir``).

Every ``shuangyong`` command imports this module (docs/plugins.md): the reader and the writer,
which import fhir.resources and its pydantic models, are imported when a bundle is read or written."""

from __future__ import annotations

from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from shuangyong import InputError, hookimpl
from shuangyong.plugins import AdapterExporter
from shuangyong_fhir import exact_json

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

    from shuangyong_fhir.bundle import Source
    from shuangyong_fhir.reader import VisitContext


class FhirAdapter:
    """A HIS adapter (docs/hooks.md): ``read`` a Bundle into visits, ``write`` decisions as Invoices.

    It remembers what the last bundle it read says about each visit (the Patient and ChargeItem
    references, the serviceProvider, the charges not decided), so that the Invoices it writes for
    those visits refer to them; decisions of other visits get Invoices without them.
    """

    def __init__(self) -> None:
        self.contexts: dict[str, VisitContext] = {}

    def read(self, source: Source, *, region: str | None = None) -> Iterator[dict[str, Any]]:
        """The visits of the bundle, as JSON-contract records; the first refused one raises.
        ``region``: the GB/T 2260 code of visits whose resources give none."""
        for visit in self.read_each(source, region=region):
            if isinstance(visit, InputError):
                raise visit
            yield visit

    def read_each(self, source: Source, *, region: str | None = None) -> Iterator[dict[str, Any] | InputError]:
        """Each visit, or the error refusing it in its place: one bad Encounter or ChargeItem does
        not stop the others (``evaluate --his fhir`` reports it and exits 2)."""
        self.contexts = {}
        from shuangyong_fhir import reader  # here: fhir.resources only when a bundle is read

        return reader.read_each(source, region=region, contexts=self.contexts)

    def write(self, decisions: Iterable[Mapping[str, Any]], target: IO[bytes] | Path | str) -> None:
        """The whole Invoice bundle is built before anything is written: a bad decision leaves
        the target untouched."""
        from shuangyong_fhir.writer import decisions_to_bundle  # here: fhir.resources only when a bundle is written

        content = exact_json.dumps(decisions_to_bundle(decisions, self.contexts)).encode()
        if isinstance(target, (str, Path)):
            Path(target).write_bytes(content)
        else:
            target.write(content)


ADAPTER = FhirAdapter()  #: one for reading and writing, so that Invoices refer to what was read


@hookimpl
def register_his_adapters() -> Mapping[str, Any]:
    """``--his fhir``: Bundles of Patient, Encounter and ChargeItem in."""
    return {"fhir": ADAPTER}


@hookimpl
def register_exporters() -> Mapping[str, Any]:
    """``--format fhir``: decisions out as an Invoice bundle."""
    return {"fhir": AdapterExporter(ADAPTER, ".json")}  # an Invoice bundle
