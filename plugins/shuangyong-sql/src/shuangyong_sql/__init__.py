"""The shuangyong concession ledger on PostgreSQL, MariaDB/MySQL and SQLite (SQLAlchemy 2)."""

from shuangyong_sql.ledger import SQLLedger

__all__ = ["SQLLedger"]
