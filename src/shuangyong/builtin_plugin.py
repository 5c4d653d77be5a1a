"""The library's own behaviour, registered through the same hooks a third-party plugin uses."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from shuangyong.compliance.checks.kinds import BUILTIN_CHECK_KINDS
from shuangyong.compliance.render import to_html, to_markdown
from shuangyong.exporters import LedgerExporter, ReportExporter
from shuangyong.hookspecs import hookimpl
from shuangyong.ledger import Ledger, MemoryLedger, Posting, PostingRequest, SQLiteLedger
from shuangyong.ledger.export import write_csv, write_jsonl

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from shuangyong.compliance.checks.base import CheckKind
    from shuangyong.text import Lang


def _json_text(report: dict[str, Any], lang: Lang) -> str:
    return json.dumps(report, ensure_ascii=False, indent=2) + "\n"


@hookimpl
def register_check_kinds() -> Iterable[CheckKind]:
    """The check kinds of docs/compliance.md."""
    return BUILTIN_CHECK_KINDS


@hookimpl
def register_storage() -> Mapping[str, Any]:
    """``memory://`` and ``sqlite:///path`` ledgers."""
    return {"memory": MemoryLedger, "sqlite": SQLiteLedger}


@hookimpl
def register_exporters() -> Mapping[str, Any]:
    """Ledger exports (JSON Lines, CSV) and compliance reports (JSON, Markdown, HTML)."""
    return {"jsonl": LedgerExporter(write_jsonl, ".jsonl"), "csv": LedgerExporter(write_csv, ".csv"),
            "json": ReportExporter(_json_text, ".json"), "md": ReportExporter(to_markdown, ".md"),
            "html": ReportExporter(to_html, ".html")}


@hookimpl
def ledger_append(ledger: Ledger, requests: list[PostingRequest]) -> list[Posting]:
    """Post the requests; a plugin wraps this to audit, mirror or refuse them."""
    return ledger.post(requests)
