"""Ready-made exporters (the objects ``register_exporters`` returns): wrap a writing function
once here, so that the built-ins and plugins do not each restate the exporter protocol
(``subjects``, ``suffix``, ``write(subject, data, target)``; docs/hooks.md).

Internal module: the exporters are public from :mod:`shuangyong.plugins` (docs/api.md).
"""

from __future__ import annotations

from typing import IO, TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from shuangyong.ledger import Posting
    from shuangyong.text import Lang


@attrs.frozen(slots=True)
class LedgerExporter:
    """Writes ledger postings; ``subjects`` says it takes nothing else."""

    write_postings: Callable[[Iterable[Posting], IO[bytes]], None]
    suffix: str
    subjects: frozenset[str] = frozenset({"ledger"})

    def write(self, subject: str, data: Iterable[Posting], target: IO[bytes]) -> None:
        """Write the ledger's rows."""
        self.write_postings(data, target)


@attrs.frozen(slots=True)
class ReportExporter:
    """Writes a compliance report (its JSON form) as text: JSON, Markdown or HTML, in UTF-8."""

    render: Callable[[dict[str, Any], Lang], str]
    suffix: str
    subjects: frozenset[str] = frozenset({"compliance"})

    def write(self, subject: str, data: dict[str, Any], target: IO[bytes], lang: Lang = "zh") -> None:
        """Write the compliance report in ``lang``."""
        target.write(self.render(data, lang).encode("utf-8"))


@attrs.frozen(slots=True)
class AdapterExporter:
    """A HIS adapter's ``write(decisions, target)`` offered as a decisions exporter, so that
    ``evaluate --format fhir`` answers in the hospital system's own format."""

    adapter: Any
    suffix: str
    subjects: frozenset[str] = frozenset({"decisions"})

    def write(self, subject: str, data: Iterable[Mapping[str, Any]], target: IO[bytes]) -> None:
        """Write the decisions in the HIS's own format."""
        self.adapter.write(data, target)
