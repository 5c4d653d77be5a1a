"""The shuangyong concession ledger on PostgreSQL, MariaDB/MySQL and SQLite (SQLAlchemy 2).

``SQLLedger`` is imported on first use: loading the plugin (``shuangyong_sql.hooks``, at every
``shuangyong`` command) imports this package, and must not import SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shuangyong_sql.ledger import SQLLedger

__all__ = ["SQLLedger"]


def __getattr__(name: str) -> Any:
    if name == "SQLLedger":
        from shuangyong_sql.ledger import SQLLedger  # here: SQLAlchemy only when the ledger class is wanted

        return SQLLedger
    raise AttributeError(f"module 'shuangyong_sql' has no attribute {name!r}")
