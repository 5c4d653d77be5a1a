"""What the plugin registers: the ledger backend for each database URL scheme it supports."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shuangyong import hookimpl
from shuangyong_sql.ledger import SQLLedger

if TYPE_CHECKING:
    from collections.abc import Mapping

SCHEMES = ("postgresql+psycopg", "mysql+pymysql", "mariadb+pymysql", "sqlite+pysqlite")


@hookimpl
def register_storage() -> Mapping[str, Any]:
    """The SQL ledger for each SQLAlchemy URL scheme it supports."""
    return {scheme: SQLLedger for scheme in SCHEMES}
