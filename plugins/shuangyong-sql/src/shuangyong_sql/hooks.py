"""What the plugin registers: the ledger backend for each database URL scheme it supports.

Every ``shuangyong`` command imports this module (docs/plugins.md): SQLAlchemy and the database
drivers are imported only when a SQL ledger is opened."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shuangyong import hookimpl

if TYPE_CHECKING:
    from collections.abc import Mapping

    from shuangyong_sql.ledger import SQLLedger

SCHEMES = ("postgresql+psycopg", "mysql+pymysql", "mariadb+pymysql", "sqlite+pysqlite")


def open_sql_ledger(url: str, *, create: bool = True) -> SQLLedger:
    """The :class:`~shuangyong_sql.ledger.SQLLedger` at ``url`` (a ``StorageFactory``)."""
    from shuangyong_sql.ledger import SQLLedger  # here: SQLAlchemy only when a SQL ledger is opened

    return SQLLedger(url, create=create)


@hookimpl
def register_storage() -> Mapping[str, Any]:
    """The SQL ledger for each SQLAlchemy URL scheme it supports."""
    return dict.fromkeys(SCHEMES, open_sql_ledger)
