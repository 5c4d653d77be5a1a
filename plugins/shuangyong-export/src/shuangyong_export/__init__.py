"""Excel, HTML and PDF exports of shuangyong decisions and ledger postings (``register_exporters``)."""

from shuangyong_export.hooks import EXPORTERS, TableExporter
from shuangyong_export.tables import ExportError, Table, tables_for

__all__ = ["EXPORTERS", "ExportError", "Table", "TableExporter", "tables_for"]
