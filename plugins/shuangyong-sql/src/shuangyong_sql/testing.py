"""Throwaway ledger databases for tests: a fresh PostgreSQL schema or MariaDB database per test,
dropped afterwards, so tests never see each other's rows and can run beside real data.

The servers come from ``SHUANGYONG_TEST_POSTGRES_URL`` and ``SHUANGYONG_TEST_MARIADB_URL``. A
server that is not configured or cannot be reached skips the test, except in CI (any truthy
``CI``, see :mod:`shuangyong.testing.prerequisites`), where it fails it: CI has both servers, so a
skip there would hide a broken set-up.
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from typing import TYPE_CHECKING

import sqlalchemy as sa

from shuangyong.testing import missing

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

SERVER_VARIABLES = {"postgresql": "SHUANGYONG_TEST_POSTGRES_URL", "mariadb": "SHUANGYONG_TEST_MARIADB_URL"}
KINDS = ("sqlite", "postgresql", "mariadb")


@contextmanager
def scratch_url(kind: str, directory: Path) -> Iterator[str]:
    """A ledger URL on an empty namespace of ``kind`` (``sqlite``, ``postgresql``, ``mariadb``)."""
    if kind == "sqlite":
        yield f"sqlite+pysqlite:///{directory / 'ledger.db'}"
        return
    variable = SERVER_VARIABLES[kind]
    base = os.environ.get(variable)
    if not base:
        missing(f"{variable} is not set")
    url = sa.make_url(base)
    name = f"sy_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"CREATE {'SCHEMA' if kind == 'postgresql' else 'DATABASE'} {name}")
    except sa.exc.OperationalError as error:
        admin.dispose()
        missing(f"{kind} at {url.render_as_string()} cannot be reached: {error.orig}")
    scratch = (url.update_query_dict({"options": f"-csearch_path={name}"}) if kind == "postgresql"
               else url.set(database=name))
    try:
        yield scratch.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP {'SCHEMA' if kind == 'postgresql' else 'DATABASE'} {name}"
                                       f"{' CASCADE' if kind == 'postgresql' else ''}")
        admin.dispose()
