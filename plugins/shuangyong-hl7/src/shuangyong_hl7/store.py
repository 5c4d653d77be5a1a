"""Registrations that survive a restart: the patients of ADT and BAR messages, kept in a database.

A charge for a patient registered before the listener restarted must not be refused as unknown
(AE 204), so ``shuangyong hl7 listen`` keeps what it registers in a table ``hl7_patients``
(patient id → the contract's ``patient`` object as JSON). The URL is a SQLAlchemy one, as for the
ledger: ``sqlite:///FILE`` (the default), ``memory:`` (in memory only), or the servers the
shuangyong-sql plugin speaks (``postgresql+psycopg://…``, ``mysql+pymysql://…``). Each
registration is committed before its ACK is sent; the listener's worker threads share the pool.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, MutableMapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

from shuangyong import InputError, Text
from shuangyong.limits import MAX_ID_LENGTH

_METADATA = sa.MetaData()
_PATIENTS = sa.Table("hl7_patients", _METADATA, sa.Column("id", sa.String(MAX_ID_LENGTH), primary_key=True),
                     sa.Column("patient", sa.Text, nullable=False))


def _engine(url: str) -> sa.Engine:
    if url == "memory:":  # one connection shared by the worker threads, or each would see its own empty database
        return sa.create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    return sa.create_engine(url)


class PatientStore(MutableMapping[str, dict[str, Any]]):
    """Registered patients by id, as the JSON contract's ``patient`` objects, in a database."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self._engine = _engine(url)
            _METADATA.create_all(self._engine)
        except (sa.exc.ArgumentError, sa.exc.DBAPIError, ImportError) as error:
            raise InputError(Text(f"无法打开登记库 {url!r}：{error}",
                                  f"cannot open the registrations at {url!r}: {error}"),
                             field="--registrations", value=url) from None

    def __getitem__(self, patient_id: str) -> dict[str, Any]:
        with self._engine.connect() as connection:
            text = connection.scalar(sa.select(_PATIENTS.c.patient).where(_PATIENTS.c.id == patient_id))
        if text is None:
            raise KeyError(patient_id)
        patient: dict[str, Any] = json.loads(text)
        return patient

    def __setitem__(self, patient_id: str, patient: dict[str, Any]) -> None:
        text = json.dumps(patient, ensure_ascii=False)
        with self._engine.begin() as connection:
            updated = connection.execute(_PATIENTS.update().where(_PATIENTS.c.id == patient_id).values(patient=text))
            if updated.rowcount == 0:
                connection.execute(_PATIENTS.insert().values(id=patient_id, patient=text))

    def __delitem__(self, patient_id: str) -> None:
        with self._engine.begin() as connection:
            if connection.execute(_PATIENTS.delete().where(_PATIENTS.c.id == patient_id)).rowcount == 0:
                raise KeyError(patient_id)

    def __iter__(self) -> Iterator[str]:
        with self._engine.connect() as connection:
            return iter(list(connection.scalars(sa.select(_PATIENTS.c.id).order_by(_PATIENTS.c.id))))

    def __len__(self) -> int:
        with self._engine.connect() as connection:
            return connection.scalar(sa.select(sa.func.count()).select_from(_PATIENTS)) or 0

    def close(self) -> None:
        """Release the connections (what was registered is already committed)."""
        self._engine.dispose()
