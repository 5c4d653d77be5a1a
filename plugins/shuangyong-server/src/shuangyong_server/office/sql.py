"""The dossiers on PostgreSQL or MariaDB, connected the way ``shuangyong-sql`` connects the ledger
(its engine: READ COMMITTED, lock timeouts, MariaDB's strict UTF-8 sessions; its URLs).

Imported only when ``--dossiers`` names such a database: it needs SQLAlchemy and the SQL plugin,
which the server does not otherwise require.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
import sqlalchemy as sa

from shuangyong_server.office.dialects import BY_BACKEND, Dialect
from shuangyong_sql.engine import engine, reason

if TYPE_CHECKING:
    from collections.abc import Callable

    from shuangyong_server.office.dossiers import Connection


@attrs.frozen(slots=True)
class Connector:
    """How the store reaches one database: DB-API connections from the engine's pool, the
    database's dialect, the errors its driver raises and the driver's reason in one, and how to
    let the pool go."""

    connect: Callable[[], Connection]
    dialect: Dialect
    errors: tuple[type[BaseException], ...]
    reason: Callable[[BaseException], str]
    dispose: Callable[[], None]


def connector(url: str, timeout: float) -> Connector:
    """The connector for a ``postgresql+psycopg://`` or ``mysql+pymysql://`` URL; ``ValueError``
    for anything SQLAlchemy cannot read as one of those."""
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as error:
        raise ValueError(str(error)) from None
    dialect = BY_BACKEND.get(parsed.get_backend_name())
    if dialect is None:
        raise ValueError(parsed.get_backend_name())
    made = engine(parsed, timeout)
    return Connector(made.raw_connection, dialect, (sa.exc.DBAPIError, made.dialect.loaded_dbapi.Error), reason,
                     made.dispose)
