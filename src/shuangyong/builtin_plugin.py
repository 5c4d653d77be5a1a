"""The library's own behaviour, registered through the same hooks a third-party plugin uses.

Imported by every command, like any plugin's hooks (docs/plugins.md): the compliance modules
(check kinds, report renderers) are imported only by the hooks and exporters that need them."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

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


def _markdown(report: dict[str, Any], lang: Lang) -> str:
    from shuangyong.compliance.render import to_markdown  # here: the compliance modules only for a report

    return to_markdown(report, lang)


def _html(report: dict[str, Any], lang: Lang) -> str:
    from shuangyong.compliance.render import to_html  # here: the compliance modules only for a report

    return to_html(report, lang)


@hookimpl
def register_check_kinds() -> Iterable[CheckKind]:
    """The check kinds of docs/compliance.md."""
    from shuangyong.compliance.checks.kinds import BUILTIN_CHECK_KINDS  # here: only for a compliance command

    return BUILTIN_CHECK_KINDS


@hookimpl
def register_storage() -> Mapping[str, Any]:
    """``memory://`` and ``sqlite:///path`` ledgers."""
    return {"memory": MemoryLedger, "sqlite": SQLiteLedger}


@hookimpl
def register_exporters() -> Mapping[str, Any]:
    """Ledger exports (JSON Lines, CSV) and compliance reports (JSON, Markdown, HTML)."""
    return {"jsonl": LedgerExporter(write_jsonl, ".jsonl"), "csv": LedgerExporter(write_csv, ".csv"),
            "json": ReportExporter(_json_text, ".json"), "md": ReportExporter(_markdown, ".md"),
            "html": ReportExporter(_html, ".html")}


@hookimpl
def ledger_append(ledger: Ledger, requests: list[PostingRequest]) -> list[Posting]:
    """Post the requests; a plugin wraps this to audit, mirror or refuse them."""
    return ledger.post(requests)
