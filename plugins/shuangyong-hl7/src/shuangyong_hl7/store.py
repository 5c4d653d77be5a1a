"""Registrations that survive a restart: the patients of ADT and BAR messages, kept in SQLite.

A charge for a patient registered before the listener restarted must not be refused as unknown
(AE 204), so ``shuangyong hl7 listen`` keeps what it registers in a SQLite file
(``sqlite:///FILE``; ``memory:`` keeps it in memory only). Each registration is written and
committed before its ACK is sent. The listener's worker threads share one connection, behind a
lock.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, MutableMapping
from typing import Any

from shuangyong import InputError, Text


class PatientStore(MutableMapping[str, dict[str, Any]]):
    """Registered patients by id, as the JSON contract's ``patient`` objects, in SQLite."""

    def __init__(self, url: str) -> None:
        if url == "memory:":
            path = ":memory:"
        elif url.startswith("sqlite:///") and len(url) > len("sqlite:///"):
            path = url[len("sqlite:///"):]
        else:
            raise InputError(Text(f"登记库地址应为 sqlite:///文件 或 memory:，收到 {url!r}",
                                  f"the registrations URL must be sqlite:///FILE or memory:, got {url!r}"),
                             field="--registrations", value=url)
        self.url = url
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(path, check_same_thread=False)
            self._db.execute("CREATE TABLE IF NOT EXISTS hl7_patients (id TEXT PRIMARY KEY, patient TEXT NOT NULL)")
            self._db.commit()
        except sqlite3.Error as error:
            raise InputError(Text(f"无法打开登记库 {url}：{error}", f"cannot open the registrations at {url}: {error}"),
                             field="--registrations", value=url) from None

    def __getitem__(self, patient_id: str) -> dict[str, Any]:
        with self._lock:
            row = self._db.execute("SELECT patient FROM hl7_patients WHERE id = ?", (patient_id,)).fetchone()
        if row is None:
            raise KeyError(patient_id)
        patient: dict[str, Any] = json.loads(row[0])
        return patient

    def __setitem__(self, patient_id: str, patient: dict[str, Any]) -> None:
        with self._lock, self._db:
            self._db.execute("INSERT INTO hl7_patients (id, patient) VALUES (?, ?) "
                             "ON CONFLICT (id) DO UPDATE SET patient = excluded.patient",
                             (patient_id, json.dumps(patient, ensure_ascii=False)))

    def __delitem__(self, patient_id: str) -> None:
        with self._lock, self._db:
            if self._db.execute("DELETE FROM hl7_patients WHERE id = ?", (patient_id,)).rowcount == 0:
                raise KeyError(patient_id)

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            ids = [row[0] for row in self._db.execute("SELECT id FROM hl7_patients ORDER BY id")]
        return iter(ids)

    def __len__(self) -> int:
        with self._lock:
            count: int = self._db.execute("SELECT count(*) FROM hl7_patients").fetchone()[0]
        return count

    def close(self) -> None:
        """Close the database (what was registered is already committed)."""
        self._db.close()
