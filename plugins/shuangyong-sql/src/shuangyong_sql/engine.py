"""How the plugin connects to each database: one SQLAlchemy engine per URL, set up alike for
everything kept there (the ledger, and the office's dossiers of ``shuangyong-server``).

PostgreSQL and MariaDB run at READ COMMITTED, so a writer that first locks a row reads every
earlier writer's commit after it; lock waits give up after ``timeout`` seconds. MariaDB sessions
are strict (a value too long is an error, never cut), in UTC and utf8mb4. On SQLite the driver
leaves transactions to SQLAlchemy, and each one begins with the file's write lock (``BEGIN
IMMEDIATE``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


def engine(url: sa.URL, timeout: float) -> sa.Engine:
    """The engine for ``url`` (already parsed, its backend one the plugin supports)."""
    dialect = url.get_backend_name()
    if dialect == "sqlite":
        made = sa.create_engine(url, connect_args={"timeout": timeout})

        @sa.event.listens_for(made, "connect")
        def _driver_leaves_transactions_to_us(dbapi_connection: Any, record: Any) -> None:
            dbapi_connection.isolation_level = None

        @sa.event.listens_for(made, "begin")
        def _take_the_write_lock(connection: Connection) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return made
    if dialect == "postgresql":
        options = f"{url.query.get('options', '')} -c lock_timeout={int(timeout * 1000)}".strip()
        return sa.create_engine(url, isolation_level="READ COMMITTED", connect_args={"options": options})
    session = (f"SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,NO_ENGINE_SUBSTITUTION', "
               f"time_zone = '+00:00', innodb_lock_wait_timeout = {int(timeout)}")
    return sa.create_engine(url, isolation_level="READ COMMITTED",
                            connect_args={"charset": "utf8mb4", "init_command": session})


def reason(error: BaseException) -> str:
    """The driver's own message, first line only (the rest repeats the SQL)."""
    orig = getattr(error, "orig", None) or error
    return str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
