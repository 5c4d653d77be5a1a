"""What ``shuangyong serve`` is started with: one frozen object the app factory reads, so that a
test, a WSGI/ASGI host or the office pages build the same app the command does."""

from __future__ import annotations

import os
import re

import attrs

from shuangyong import InputError, Text

#: the server's own database when neither ``--store`` nor $SHUANGYONG_SERVER_STORE names one
DEFAULT_STORE = "sqlite:///shuangyong-server.sqlite3"
STORE_VARIABLE = "SHUANGYONG_SERVER_STORE"
#: where the office's dossiers live when ``--dossiers`` names no database (unset: the server's store)
DOSSIERS_VARIABLE = "SHUANGYONG_SERVER_DOSSIERS"
MIB = 1024 * 1024
DEFAULT_MAX_BODY = 10 * MIB
DEFAULT_TIMEOUT = 60.0

_SIZE = re.compile(r"\s*([0-9]+)\s*([KMG]i?B?|B)?\s*", re.IGNORECASE)
_UNITS = {"": 1, "B": 1, "K": 1024, "M": MIB, "G": 1024 * MIB}


def parse_size(text: str) -> int:
    """``10M``, ``10MiB``, ``512K`` or bytes as a number (units are binary: 1K is 1024 bytes)."""
    match = _SIZE.fullmatch(text)
    if match is None or int(match[1]) <= 0:
        raise InputError(Text(f"大小应写作正整数加可选单位 K、M、G（如 10M），收到 {text!r}",
                              f"a size is a positive whole number with an optional unit K, M or G (10M), "
                              f"got {text!r}"), field="--max-body", value=text)
    return int(match[1]) * _UNITS[(match[2] or "")[:1].upper()]


def default_store() -> str:
    """$SHUANGYONG_SERVER_STORE, else a SQLite file in the working directory."""
    return os.environ.get(STORE_VARIABLE) or DEFAULT_STORE


def default_dossiers() -> str | None:
    """$SHUANGYONG_SERVER_DOSSIERS, else None: the dossiers beside the server's own tables."""
    return os.environ.get(DOSSIERS_VARIABLE) or None


@attrs.frozen(slots=True)
class ServerSettings:
    """How the server decides, where it keeps its state, and its bounds.

    ``policies``, ``codes`` and ``strict`` are ``evaluate``'s options, fixed for the server's
    life (its engine is compiled once, at start-up); ``ledger`` is a ledger URL (None: the
    ledger endpoints answer 404); ``store`` the server's own database; ``dossiers`` where the
    office's dossiers live (None: in ``store``, their changes audited in the same transaction;
    ``sqlite:///FILE`` or a PostgreSQL or MariaDB URL otherwise). A body longer than
    ``max_body`` bytes is refused (413), one that takes longer than ``timeout`` seconds to
    arrive too (408), and work that takes longer is answered 503 (a posting may still complete:
    retry with the same ``Idempotency-Key``).
    """

    policies: tuple[str, ...] = ()
    ledger: str | None = None
    store: str = attrs.field(factory=default_store)
    dossiers: str | None = attrs.field(factory=default_dossiers)
    codes: str | None = None
    strict: bool = False
    pseudonymise: bool = False
    max_body: int = DEFAULT_MAX_BODY
    timeout: float = DEFAULT_TIMEOUT
